#!/bin/bash
# Builds a kernel + initramfs pair that boots a pure cgroup v2 machine and runs
# test/vm/guest-tests.sh against the compiled dx-runtime.
#
# Everything lands in test/.work/vm/. The kernel comes from Debian's linux-image
# package, unpacked with dpkg-deb so the host's /boot and initramfs hooks are never
# touched. The initramfs is assembled here from busybox-static, the binaries under
# test and the shared libraries they load. Running it again only redoes what changed.
#
# Output (stdout, last lines): KERNEL=<path> and INITRD=<path>.
# Environment: DX_RUNTIME (binary to test, default dist/dx-runtime), VM_WORK (cache
# dir), VM_REBUILD_DX=1 (run `npm run build` first when src/ or native/ is newer).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
WORK="${VM_WORK:-$REPO/test/.work/vm}"
DX="${DX_RUNTIME:-$REPO/dist/dx-runtime}"
BUSYBOX=/bin/busybox

log() { echo "build.sh: $*" >&2; }
die() { log "$*"; exit 1; }

mkdir -p "$WORK"

# --- host tools -------------------------------------------------------------------
need_pkg() { # command package
  command -v "$1" >/dev/null 2>&1 && return 0
  log "installing $2"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$2" >&2 \
    || die "apt-get install $2 failed"
}
need_pkg qemu-system-x86_64 qemu-system-x86
[ -x "$BUSYBOX" ] || need_pkg busybox busybox-static
[ -x "$BUSYBOX" ] || die "$BUSYBOX missing (busybox-static)"

# --- kernel -----------------------------------------------------------------------
# The version is cached so later runs do not ask apt at all.
KVER_FILE="$WORK/kernel.version"
if [ ! -s "$KVER_FILE" ]; then
  pkg="$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ && !found {print $2; found = 1}')"
  [ -n "$pkg" ] || die "cannot resolve linux-image-amd64 to a versioned package (apt-get update?)"
  echo "${pkg#linux-image-}" >"$KVER_FILE"
fi
KVER="$(cat "$KVER_FILE")"
KDIR="$WORK/kernel/$KVER"
# Only the few modules the guest loads are kept from the package; brd gives the guest
# a block device (/dev/ram0, 1:0) for the io controller and device filter tests.
# nf_tables (after what it needs) and the sock_diag modules: CRIU probes netfilter and
# collects sockets through them, as on a real host. A dump fails without a word of its
# own when one is missing: a sock_diag family (raw, packet) the kernel does not know
# fails the socket collection, and without nf_conntrack_netlink the conntrack dump of
# the container's network namespace gets EINVAL from nfnetlink.
KMODS="drivers/block/brd.ko net/netfilter/nfnetlink.ko crypto/crc32c_generic.ko lib/libcrc32c.ko net/netfilter/nf_tables.ko net/ipv4/netfilter/nf_defrag_ipv4.ko net/ipv6/netfilter/nf_defrag_ipv6.ko net/netfilter/nf_conntrack.ko net/netfilter/nf_conntrack_netlink.ko net/unix/unix_diag.ko net/ipv4/inet_diag.ko net/ipv4/tcp_diag.ko net/ipv4/udp_diag.ko net/ipv4/raw_diag.ko net/packet/af_packet_diag.ko net/netlink/netlink_diag.ko net/netfilter/x_tables.ko net/netfilter/nft_compat.ko net/netfilter/xt_mark.ko"
kmods_missing() {
  for m in $KMODS; do [ -f "$KDIR/modules/$(basename "$m")" ] || return 0; done
  return 1
}
if [ ! -f "$KDIR/vmlinuz" ] || kmods_missing; then
  mkdir -p "$WORK/debs"
  if ! ls "$WORK/debs"/linux-image-"$KVER"_*.deb >/dev/null 2>&1; then
    log "downloading linux-image-$KVER"
    (cd "$WORK/debs" && apt-get download "linux-image-$KVER" >&2) || die "apt-get download linux-image-$KVER failed"
  fi
  x="$WORK/kernel/extract.$$"
  rm -rf "$x" "$KDIR"
  mkdir -p "$x" "$KDIR/modules"
  dpkg-deb -x "$(ls "$WORK/debs"/linux-image-"$KVER"_*.deb | head -1)" "$x"
  for m in $KMODS; do
    cp "$x/lib/modules/$KVER/kernel/$m" "$KDIR/modules/" || die "module $m missing from linux-image-$KVER"
  done
  cp "$x/boot/config-$KVER" "$KDIR/config"
  cp "$x/boot/vmlinuz-$KVER" "$KDIR/vmlinuz.tmp"
  mv "$KDIR/vmlinuz.tmp" "$KDIR/vmlinuz"
  rm -rf "$x" "$WORK/debs"
fi
KERNEL="$KDIR/vmlinuz"
MODULES=()
for m in $KMODS; do MODULES+=("$KDIR/modules/$(basename "$m")"); done
for m in "${MODULES[@]}"; do [ -f "$m" ] || die "module $m missing from linux-image-$KVER"; done

# --- the binary under test --------------------------------------------------------
if [ ! -x "$DX" ]; then
  log "$DX missing: building it"
  (cd "$REPO" && npm run build >&2) || die "npm run build failed"
fi
if [ -n "$(find "$REPO/src" "$REPO/native" -newer "$DX" -type f \( -name '*.ts' -o -name '*.c' -o -name '*.js' \) 2>/dev/null | head -1)" ]; then
  if [ "${VM_REBUILD_DX:-0}" = 1 ]; then
    log "sources are newer than $DX: rebuilding"
    (cd "$REPO" && npm run build >&2) || die "npm run build failed"
  else
    log "warning: sources are newer than $DX (VM_REBUILD_DX=1 rebuilds it first)"
  fi
fi
RUNC="$(command -v runc || true)"
# CRIU for the checkpoint/restore checks (the host's kernel may be one it cannot dump on).
CRIU="$(command -v criu || true)"
[ -n "$CRIU" ] || log "criu not found: the checkpoint checks will fail (apt-get install criu)"

# --- is the initramfs current? ----------------------------------------------------
INITRD="$WORK/initrd.cpio"
inputs=("$HERE/build.sh" "$HERE/init.sh" "$HERE/guest-tests.sh" "$HERE/recvtty.c" "$HERE/crtool.c" "$DX" "$BUSYBOX" "${MODULES[@]}")
[ -n "$RUNC" ] && inputs+=("$RUNC")
[ -n "$CRIU" ] && inputs+=("$CRIU")
# The host tools copied into the guest for CRIU.
for tool in xtables-nft-multi tar ip; do
  p="$(command -v "$tool" || true)"
  [ -n "$p" ] && inputs+=("$p")
done
stamp="$(stat -L -c '%n %s %Y' "${inputs[@]}" | md5sum | cut -d' ' -f1)"
if [ -f "$INITRD" ] && [ "$(cat "$WORK/initrd.stamp" 2>/dev/null)" = "$stamp" ]; then
  log "initramfs up to date"
  echo "KERNEL=$KERNEL"
  echo "INITRD=$INITRD"
  exit 0
fi

# --- initramfs tree ---------------------------------------------------------------
T="$WORK/tree"
rm -rf "$T"
mkdir -p "$T"/{bin,sbin,etc,proc,sys,dev,tmp,run,root,lib/modules,usr/local/bin,vmtest}
chmod 1777 "$T/tmp"
# The kernel opens /dev/console of the initramfs for PID 1's stdio before /init runs.
mknod -m 600 "$T/dev/console" c 5 1
cp "$BUSYBOX" "$T/bin/busybox"
for a in $("$BUSYBOX" --list); do
  [ "$a" = busybox ] || ln -sf busybox "$T/bin/$a"
done
ln -sf ../bin "$T/usr/bin"
ln -sf ../bin "$T/usr/sbin"
cp "$DX" "$T/usr/local/bin/dx-runtime"
[ -n "$RUNC" ] && cp "$RUNC" "$T/usr/local/bin/runc"
[ -n "$CRIU" ] && cp "$CRIU" "$T/usr/local/bin/criu"
# A console socket receiver: the guest has no python to run test/lib's.
cc -static -O2 -o "$T/usr/local/bin/recvtty" "$HERE/recvtty.c" || die "cannot build recvtty.c (cc -static)"
# flock, a pty, a unix datagram socket: what busybox lacks for the checkpoint checks.
cc -static -O2 -o "$T/usr/local/bin/crtool" "$HERE/crtool.c" || die "cannot build crtool.c (cc -static)"
# Numbered: init.sh loads them in this order, each after the ones it depends on.
i=10
for m in "${MODULES[@]}"; do
  cp "$m" "$T/lib/modules/$i-$(basename "$m")"
  i=$((i + 1))
done

# Shared libraries at their host paths: the bun executable and runc link glibc, koffi's
# native addon (unpacked by bun at run time) needs libstdc++, and the runtime dlopens
# libseccomp. ldd of each gives the closure.
copy_lib() {
  local f="$1"
  [ -e "$f" ] || return 0
  mkdir -p "$T$(dirname "$f")"
  cp -L "$f" "$T$f"
}
libs_of() {
  ldd "$1" 2>/dev/null | awk '/=>/ && $3 ~ /^\// {print $3} $1 ~ /^\/.*ld-linux/ {print $1}'
}
koffi_node="$(ls "$REPO"/node_modules/koffi/build/koffi/linux_x64/koffi.node 2>/dev/null | head -1)"
# awk reads to the end: exiting at the first match could SIGPIPE ldconfig, which
# pipefail and set -e turn into this script's exit (status 141).
seccomp_lib="$(ldconfig -p | awk '/libseccomp\.so\.2 .*x86-64/ && !found {print $NF; found = 1}')"
[ -n "$seccomp_lib" ] || die "libseccomp.so.2 not found (apt-get install libseccomp2)"
{
  libs_of "$DX"
  [ -n "$RUNC" ] && libs_of "$RUNC"
  [ -n "$CRIU" ] && libs_of "$CRIU"
  [ -n "$koffi_node" ] && libs_of "$koffi_node"
  echo "$seccomp_lib"
  libs_of "$seccomp_lib"
} | sort -u | while read -r lib; do
  copy_lib "$lib"
done
# dlopen("libc.so.6") from koffi goes through the loader's cache.
mkdir -p "$T/etc/ld.so.conf.d"
echo "include /etc/ld.so.conf.d/*.conf" >"$T/etc/ld.so.conf"
printf '/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu\n' >"$T/etc/ld.so.conf.d/x86_64-linux-gnu.conf"
ldconfig -r "$T" 2>/dev/null || log "warning: ldconfig -r failed"

# CRIU locks a container's network during a dump with iptables-restore: the nf_tables
# flavour, with the extensions its rules load.
XT="$(command -v xtables-nft-multi || true)"
if [ -n "$CRIU" ] && [ -n "$XT" ]; then
  cp "$XT" "$T/usr/local/bin/xtables-nft-multi"
  for n in iptables-restore ip6tables-restore iptables-save ip6tables-save iptables ip6tables; do ln -sf xtables-nft-multi "$T/usr/local/bin/$n"; done
  libs_of "$XT" | while read -r lib; do copy_lib "$lib"; done
  mkdir -p "$T/usr/lib/x86_64-linux-gnu/xtables"
  cp /usr/lib/x86_64-linux-gnu/xtables/libxt_{mark,standard,MARK}.so /usr/lib/x86_64-linux-gnu/xtables/libip{,6}t_*.so "$T/usr/lib/x86_64-linux-gnu/xtables/" 2>/dev/null || true
elif [ -n "$CRIU" ]; then
  log "xtables-nft-multi not found: CRIU cannot lock the network (apt-get install iptables)"
fi

# CRIU saves and restores the content of a container's tmpfs mounts with GNU tar
# (options busybox's lacks): it replaces busybox's applet in the guest.
GTAR="$(command -v tar || true)"
if [ -n "$CRIU" ] && [ -n "$GTAR" ] && "$GTAR" --version 2>/dev/null | grep -q "GNU tar"; then
  rm -f "$T/bin/tar"
  cp "$GTAR" "$T/bin/tar"
  libs_of "$GTAR" | while read -r lib; do copy_lib "$lib"; done
elif [ -n "$CRIU" ]; then
  log "GNU tar not found: CRIU cannot dump a tmpfs (apt-get install tar)"
fi

# CRIU saves a network namespace's addresses, routes and rules with iproute2's
# `ip ... save` (busybox's ip has no save): it replaces busybox's applet too.
IPR="$(command -v ip || true)"
if [ -n "$CRIU" ] && [ -n "$IPR" ] && "$IPR" -V 2>/dev/null | grep -q iproute2; then
  rm -f "$T/bin/ip"
  cp "$IPR" "$T/bin/ip"
  libs_of "$IPR" | while read -r lib; do copy_lib "$lib"; done
elif [ -n "$CRIU" ]; then
  log "iproute2's ip not found: CRIU cannot dump a network namespace (apt-get install iproute2)"
fi

echo "root:x:0:0:root:/root:/bin/sh" >"$T/etc/passwd"
echo "root:x:0:" >"$T/etc/group"

# The container rootfs: busybox again, shared read-only by every test bundle.
R="$T/vmtest/rootfs"
mkdir -p "$R"/{bin,etc,proc,sys,dev,tmp,out,root}
chmod 1777 "$R/tmp"
cp "$BUSYBOX" "$R/bin/busybox"
cp "$T/usr/local/bin/crtool" "$R/bin/crtool"
for a in $("$BUSYBOX" --list); do
  [ "$a" = busybox ] || ln -sf busybox "$R/bin/$a"
done
ln -s bin "$R/sbin"
echo "root:x:0:0:root:/root:/bin/sh" >"$R/etc/passwd"
echo "root:x:0:" >"$R/etc/group"

cp "$HERE/init.sh" "$T/init"
cp "$HERE/guest-tests.sh" "$T/vmtest/guest-tests.sh"
chmod 755 "$T/init" "$T/vmtest/guest-tests.sh"

# --- cpio (newc), uncompressed: qemu loads it directly and the kernel skips inflating.
log "writing $INITRD"
(cd "$T" && find . -mindepth 1 | LC_ALL=C sort | "$BUSYBOX" cpio -o -H newc 2>/dev/null) >"$INITRD.tmp"
mv "$INITRD.tmp" "$INITRD"
echo "$stamp" >"$WORK/initrd.stamp"
rm -rf "$T"

echo "KERNEL=$KERNEL"
echo "INITRD=$INITRD"
