#!/bin/bash
# Builds the systemd guest: Debian bookworm with systemd as PID 1 on a pure cgroup v2
# hierarchy, and the engines (containerd, podman) with runc and crun beside the runtime
# under test. The image holds no project file: the runtime and the guest scripts come
# in at boot through a read-only 9p share of the repository, so a rebuilt binary never
# rebuilds the image.
#
# The result is cached outside the repository, keyed by this script (which holds the
# package list and the guest configuration):
#   $VM_CACHE/<key>/{vmlinuz,initrd.img,rootfs.img}   (VM_CACHE=/var/cache/dx-runtime/vm)
# Output (stdout, last lines): KERNEL=, INITRD=, ROOTFS=.
# Environment: VM_CACHE, VM_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${VM_CACHE:-/var/cache/dx-runtime/vm}"
MIRROR="${VM_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
PACKAGES=(
  systemd systemd-sysv dbus udev kmod libpam-systemd dbus-user-session
  linux-image-amd64 initramfs-tools
  containerd runc podman conmon crun golang-github-containers-common
  netavark uidmap busybox-static libseccomp2 procps iproute2 util-linux
  criu iptables tar
)

log() { echo "build-image.sh: $*" >&2; }
die() { log "$*"; exit 1; }

key="$( { echo "$SUITE ${PACKAGES[*]}"; cat "${BASH_SOURCE[0]}"; } | sha256sum | cut -c1-16)"
OUT="$CACHE/$key"
if [ -s "$OUT/rootfs.img" ] && [ -s "$OUT/vmlinuz" ] && [ -s "$OUT/initrd.img" ]; then
  log "image $OUT is current"
  echo "KERNEL=$OUT/vmlinuz"
  echo "INITRD=$OUT/initrd.img"
  echo "ROOTFS=$OUT/rootfs.img"
  exit 0
fi

[ "$(id -u)" = 0 ] || die "building the image needs root (debootstrap, device nodes)"
for c in debootstrap:debootstrap mkfs.ext4:e2fsprogs qemu-system-x86_64:qemu-system-x86; do
  command -v "${c%%:*}" >/dev/null 2>&1 && continue
  log "installing ${c#*:}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${c#*:}" >&2 || die "apt-get install ${c#*:} failed"
done

mkdir -p "$CACHE"
T="$CACHE/build.$$"
trap 'umount -R "$T/tree/proc" "$T/tree/sys" "$T/tree/dev" 2>/dev/null || true; rm -rf "$T"' EXIT
mkdir -p "$T"
R="$T/tree"
t0=$(date +%s)
log "debootstrap $SUITE into $R"
inc="$(IFS=,; echo "${PACKAGES[*]}")"
# Two stages, so that the initramfs settings are in place before the kernel's postinst
# builds it (once, small) in the second.
mkdir -p "$CACHE/debs"
debootstrap --foreign --variant=minbase --cache-dir="$CACHE/debs" --include="$inc" "$SUITE" "$R" "$MIRROR" >"$T/debootstrap.log" 2>&1 \
  || { tail -30 "$T/debootstrap.log" >&2; die "debootstrap (first stage) failed (log above)"; }
# A small initramfs: the drivers for a virtio root disk and nothing else.
mkdir -p "$R/etc/initramfs-tools/conf.d"
printf 'MODULES=list\nCOMPRESS=gzip\n' >"$R/etc/initramfs-tools/conf.d/vmtest.conf"
printf 'virtio_pci\nvirtio_blk\next4\n' >"$R/etc/initramfs-tools/modules"
chroot "$R" /debootstrap/debootstrap --second-stage >>"$T/debootstrap.log" 2>&1 \
  || { tail -30 "$T/debootstrap.log" >&2; die "debootstrap (second stage) failed (log above)"; }
log "debootstrap took $(( $(date +%s) - t0 ))s"

# --- guest configuration ------------------------------------------------------------
echo vmtest >"$R/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 vmtest\n' >"$R/etc/hosts"
: >"$R/etc/fstab"
# A throwaway user for rootless podman, with subordinate ids and a lingering manager.
chroot "$R" useradd -m -u 1000 -s /bin/bash vmuser
echo "vmuser:100000:65536" >"$R/etc/subuid"
echo "vmuser:100000:65536" >"$R/etc/subgid"
mkdir -p "$R/var/lib/systemd/linger" && : >"$R/var/lib/systemd/linger/vmuser"
# The user manager gets every controller delegated (systemd's default is cpu memory pids).
mkdir -p "$R/etc/systemd/system/user@.service.d"
printf '[Service]\nDelegate=yes\n' >"$R/etc/systemd/system/user@.service.d/delegate.conf"

# CRIU (the checkpoint-engines group) misses a socket, the conntrack table or the
# network lock without an error of its own when one of these is not loaded: each
# sock_diag family it asks for, nf_conntrack_netlink, and the netfilter its
# iptables-restore lock uses.
mkdir -p "$R/etc/modules-load.d"
cat >"$R/etc/modules-load.d/criu.conf" <<'EOS'
unix_diag
inet_diag
tcp_diag
udp_diag
raw_diag
af_packet_diag
netlink_diag
nf_conntrack_netlink
nf_tables
nft_compat
x_tables
xt_mark
EOS

# Only what the tests need starts at boot.
for u in serial-getty@ttyS0.service getty@tty1.service systemd-timesyncd.service apt-daily.timer \
  apt-daily-upgrade.timer man-db.timer e2scrub_all.timer fstrim.timer dpkg-db-backup.timer \
  systemd-networkd-wait-online.service containerd.service podman.service podman.socket \
  podman-restart.service podman-auto-update.timer podman-auto-update.service \
  podman-clean-transient.service e2scrub_reap.service; do
  ln -sf /dev/null "$R/etc/systemd/system/$u"
done
# The test unit: mounts the repository share and runs the guest suite on the console;
# the machine powers off when it ends, however it ends.
mkdir -p "$R/usr/local/sbin" "$R/vmtest"
cat >"$R/usr/local/sbin/vmtest-run" <<'EOS'
#!/bin/bash
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 vmtest /vmtest \
  || { echo "VMTEST fail boot: mount 9p share failed"; echo "VMTEST done 0 passed, 1 failed, 0 skipped"; exit 1; }
exec bash /vmtest/test/vm/systemd/guest-tests.sh
EOS
chmod 755 "$R/usr/local/sbin/vmtest-run"
cat >"$R/etc/systemd/system/vmtest.service" <<'EOS'
[Unit]
Description=dx-runtime guest suite
After=dbus.service systemd-logind.service systemd-user-sessions.service
Wants=dbus.service
SuccessAction=poweroff-force
FailureAction=poweroff-force
[Service]
# simple, not oneshot: the boot finishes without waiting for the suite, which
# waits for the boot (systemctl is-system-running --wait) itself.
Type=simple
ExecStart=/usr/local/sbin/vmtest-run
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
TTYReset=no
TTYVHangup=no
Environment=HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
TimeoutStartSec=infinity
[Install]
WantedBy=multi-user.target
EOS
ln -sf /etc/systemd/system/vmtest.service "$R/etc/systemd/system/multi-user.target.wants/vmtest.service"

kver="$(ls "$R/lib/modules" | head -1)"
[ -s "$R/boot/initrd.img-$kver" ] || die "no initramfs for $kver"

mkdir -p "$T/out"
cp "$R/boot/vmlinuz-$kver" "$T/out/vmlinuz"
cp "$R/boot/initrd.img-$kver" "$T/out/initrd.img"
log "mkfs.ext4 -d (tree $(du -sh "$R" | cut -f1))"
truncate -s 6G "$T/out/rootfs.img"
mkfs.ext4 -q -F -L vmroot -E root_owner=0:0 -d "$R" "$T/out/rootfs.img" >&2 || die "mkfs.ext4 -d failed"
rm -rf "$OUT"
mv "$T/out" "$OUT"
log "built $OUT in $(( $(date +%s) - t0 ))s"
echo "KERNEL=$OUT/vmlinuz"
echo "INITRD=$OUT/initrd.img"
echo "ROOTFS=$OUT/rootfs.img"
