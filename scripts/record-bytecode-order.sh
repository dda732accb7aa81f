#!/usr/bin/env bash
# Records which functions each command runs, for `npm run build` to lay that bytecode out
# together at the front of the executable (`bun build --bytecode-order`): a command then
# faults in fewer pages of it. Run as root after a build; writes bytecode-order/*.txt.
# The commands go in the order engines call them most, and each file keeps only what
# the ones before it lack (package.json's build lists them in that order). A profile
# recorded from an older build still applies, so this needs running again only when a
# command's code has changed much.
#
#   scripts/record-bytecode-order.sh [BINARY]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$repo/dist/dx-runtime}
out=$repo/bytecode-order
tmp=$(mktemp -d /tmp/dx-order-XXXXXX)
root=$tmp/root
trap '"$bin" --root "$root" delete --force ord >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
bash "$repo/examples/make-bundle.sh" "$tmp/bundle" "$bin" sleep 1000 >/dev/null

rec() { # name, argv...
  local name=$1; shift
  BUN_BYTECODE_ORDER_OUT="$tmp/$name.txt" "$@" </dev/null >/dev/null 2>&1 || true
}
x=("$bin" --root "$root" --log "$tmp/log.json" --log-format json)
rec state-missing "${x[@]}" state ord
rec create "${x[@]}" create --bundle "$tmp/bundle" ord
rec state "${x[@]}" state ord
rec start "${x[@]}" start ord
rec exec "${x[@]}" exec ord true
rec kill "${x[@]}" kill ord KILL
sleep 0.3
rec delete "${x[@]}" delete ord
rec delete-gone "${x[@]}" delete --force ord
(cd "$tmp/bundle" && rec run "${x[@]}" run -d ord2)
"$bin" --root "$root" delete -f ord2 >/dev/null 2>&1 || true

# Most called first: the short commands, then create, exec and run.
rm -rf "$out"; mkdir -p "$out"
: >"$tmp/seen"
i=0
for n in state-missing state start kill delete delete-gone create exec run; do
  f=$tmp/$n.txt
  [ -s "$f" ] || { echo "record-bytecode-order: $n recorded nothing" >&2; exit 1; }
  i=$((i + 1))
  { head -1 "$f"; tail -n +2 "$f" | awk 'FILENAME != "-" { seen[$0]; next } !($0 in seen)' "$tmp/seen" -; } >"$out/$i-$n.txt"
  tail -n +2 "$f" >>"$tmp/seen"
done
wc -l "$out"/*.txt
