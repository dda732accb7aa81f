#!/bin/sh
# PID 1 of the test VM (busybox sh).
#
# Stage 1 runs on the initramfs itself. pivot_root(2) refuses to move the initial
# rootfs, so containers could not pivot there: copy the tree onto a tmpfs and
# switch_root into it. Stage 2 sets up a cgroup v2-only machine, runs the guest tests
# and powers off; the serial console carries everything the host parses.
export PATH=/bin:/usr/local/bin
export HOME=/root

if [ ! -e /.stage2 ]; then
  mount -t proc proc /proc
  mkdir -p /newroot
  mount -t tmpfs -o mode=0755 root /newroot
  for e in /*; do
    case "$e" in /newroot | /proc | /sys | /dev) continue ;; esac
    cp -a "$e" /newroot/
  done
  mkdir -p /newroot/proc /newroot/sys /newroot/dev
  : >/newroot/.stage2
  umount /proc
  exec switch_root /newroot /init
  echo "VMTEST fail boot: switch_root failed"
  poweroff -f
fi

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm /run /tmp
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
# CRIU probes TCP repair over loopback before any dump or restore.
ip link set lo up 2>/dev/null || echo "# cannot bring lo up"
exec </dev/console >/dev/console 2>&1
# Kernel messages on the console could split a VMTEST line; keep only emergencies.
echo 1 >/proc/sys/kernel/printk

fatal() {
  echo "VMTEST fail boot: $*"
  echo "VMTEST done 0 passed, 1 failed, 0 skipped"
  poweroff -f
}

mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup || fatal "mount cgroup2 at /sys/fs/cgroup failed"
if grep -q ' cgroup ' /proc/mounts; then fatal "a cgroup v1 hierarchy is mounted"; fi
for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
  echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || echo "# cannot enable controller $c"
done
echo "# controllers: $(cat /sys/fs/cgroup/cgroup.subtree_control)"

for m in /lib/modules/*.ko; do
  [ -e "$m" ] || continue
  case "$m" in
    *-brd.ko) insmod "$m" rd_nr=1 rd_size=8192 || echo "# insmod $m failed" ;;
    *) insmod "$m" || echo "# insmod $m failed" ;;
  esac
done

RUNTIME=dx-runtime
ONLY=
for a in $(cat /proc/cmdline); do
  case "$a" in
    vmtest_runtime=*) RUNTIME="${a#vmtest_runtime=}" ;;
    vmtest_only=*) ONLY="${a#vmtest_only=}" ;;
  esac
done
echo "# kernel $(uname -r), runtime $RUNTIME, up $(cut -d' ' -f1 /proc/uptime) s"
RUNTIME="$RUNTIME" ONLY="$ONLY" sh /vmtest/guest-tests.sh
echo "# guest-tests.sh exited with $? at $(cut -d' ' -f1 /proc/uptime) s"
sync
poweroff -f
