#!/usr/bin/env bash
# Makes a runnable bundle at $1: a busybox rootfs (from Debian's busybox-static) and a
# config.json from `dx-runtime spec`, set to print one line and exit, or to run the
# command given after the runtime.
set -euo pipefail
dest=${1:?usage: make-bundle.sh DIR [RUNTIME [COMMAND ARG...]]}
runtime=${2:-dx-runtime}
shift $(($# < 2 ? $# : 2))
busybox=$(command -v busybox || true)
[ -x /bin/busybox ] && busybox=/bin/busybox
[ -n "$busybox" ] || { echo "busybox not found: apt-get install busybox-static" >&2; exit 1; }
file -L "$busybox" 2>/dev/null | grep -q 'dynamically' && { echo "$busybox is not static: apt-get install busybox-static" >&2; exit 1; }

rm -rf "$dest"
mkdir -p "$dest/rootfs"/{bin,etc,proc,sys,dev,tmp,root}
cp "$busybox" "$dest/rootfs/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$dest/rootfs/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$dest/rootfs/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\n' > "$dest/rootfs/etc/group"
chmod 1777 "$dest/rootfs/tmp"

(cd "$dest" && "$runtime" spec)
node -e '
const fs = require("fs");
const f = process.argv[1];
const c = JSON.parse(fs.readFileSync(f, "utf8"));
c.process.terminal = false;
const args = process.argv.slice(2);
c.process.args = args.length ? args : ["sh", "-c", "echo hello from $(hostname), pid $$, as $(id -un)"];
c.hostname = "dx-example";
fs.writeFileSync(f, JSON.stringify(c, null, "\t") + "\n");
' "$dest/config.json" "$@"
echo "bundle ready: $dest"
