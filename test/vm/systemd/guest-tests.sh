#!/bin/bash
# Runs in the systemd guest (Debian, systemd as PID 1, cgroup v2 only) from the
# repository's 9p share, as vmtest.service. Same protocol as ../guest-tests.sh:
#   VMTEST ok|fail|skip NAME[: why]   and   VMTEST done P passed, F failed, S skipped
# Each check runs against dx-runtime and, beside it, against runc (the reference).
# Environment (kernel command line): vmtest_only=GROUP runs only the groups whose name
# contains GROUP.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
SHARE=/vmtest
CG=/sys/fs/cgroup
B=/tmp/sdt
mkdir -p "$B"
PASS=0 FAIL=0 SKIP=0
ONLY=
for a in $(cat /proc/cmdline); do case "$a" in vmtest_only=*) ONLY="${a#vmtest_only=}" ;; esac; done
# Kernel messages on the console could split a VMTEST line.
echo 1 >/proc/sys/kernel/printk

oneline() { tr '\n\t' '  ' | sed 's/  */ /g; s/^ //; s/ $//' | cut -c1-600; }
ok() { echo "VMTEST ok $1"; PASS=$((PASS + 1)); }
fail() { echo "VMTEST fail $1: $(echo "$2" | oneline)"; FAIL=$((FAIL + 1)); }
expect() {
  if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "got '$2', want '$3'"; fi
}
# rtc RUNTIME ARGS...: a runtime command that cannot hang the suite. Its output goes
# through a file: a container inherits the runtime's stdio, and a command substitution
# reading a pipe would wait for the container to exit.
rtc() {
  timeout -s KILL "${CMD_TIMEOUT:-90}" "$@" </dev/null >$B/.out 2>&1
  local rc=$?
  cat $B/.out
  return $rc
}
# diag WHAT: what the guest looks like when a step went wrong.
diag() {
  echo "# --- $1"
  { systemctl list-units --no-legend --plain 'dxt-*' 'libpod-*' 'cri-*' 2>&1
    ps -eo pid,ppid,stat,cgroup:60,args --forest 2>&1 | grep -v ' \[' | tail -25
    journalctl -b --no-pager -n 15 2>&1; } | sed 's/^/# /'
}
want() { [ -z "$ONLY" ] || case "$1" in *"$ONLY"*) return 0 ;; *) return 1 ;; esac; }
up() { cut -d' ' -f1 /proc/uptime; }
# prop UNIT PROPERTY: systemctl show's value
prop() { systemctl show "$1" -p "$2" --value 2>/dev/null; }
finish() {
  echo "VMTEST done $PASS passed, $FAIL failed, $SKIP skipped"
  # The disk is a throwaway snapshot: power off at once, nothing to stop cleanly.
  sync
  systemctl poweroff --force --force
  exit 0
}

echo "# kernel $(uname -r), systemd $(systemctl --version | head -1 | cut -d' ' -f2), up $(up) s"
expect boot-pid1-is-systemd "$(cat /proc/1/comm)" systemd
if [ "$ONLY" = legacy ]; then
  expect boot-cgroup-v1 "$(stat -f -c %T $CG/memory)" cgroupfs
else
  expect boot-cgroup2-only "$(stat -f -c %T $CG)" cgroup2fs
fi
state=$(timeout 300 systemctl is-system-running --wait 2>&1 | head -1)
[ "$state" = running ] && ok boot-system-running || fail boot-system-running "$state: $(systemctl --failed --no-legend --plain | head -5)"
echo "# boot finished at $(up) s"

# The binaries under test come from the share; copies run from the guest's own disk.
cp "$SHARE/dist/dx-runtime" /usr/local/bin/dx-runtime || { fail boot-copy-runtime "no $SHARE/dist/dx-runtime"; finish; }
mkdir -p /mnt/tools
mount -t 9p -o trans=virtio,version=9p2000.L,ro vmtools /mnt/tools && cp /mnt/tools/bun /usr/local/bin/bun \
  || fail boot-copy-bun "no bun on the vmtools share"
echo "# binaries copied at $(up) s"

# The container rootfs: busybox-static.
ROOTFS=$B/rootfs
mkdir -p "$ROOTFS"/{bin,etc,proc,sys,dev,tmp,out,root}
cp /bin/busybox "$ROOTFS/bin/busybox"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$ROOTFS/bin/$a"; done
ln -sf bin "$ROOTFS/sbin"
echo "root:x:0:0:root:/root:/bin/sh" >"$ROOTFS/etc/passwd"
echo "root:x:0:" >"$ROOTFS/etc/group"

# mkbundle DIR ARGS_JSON CGROUPS_PATH RESOURCES_JSON
mkbundle() {
  mkdir -p "$1"
  cat >"$1/config.json" <<EOJ
{"ociVersion":"1.0.2","root":{"path":"$ROOTFS"},"hostname":"t",
 "process":{"args":$2,"cwd":"/","env":["PATH=/bin"],"user":{"uid":0,"gid":0},"noNewPrivileges":true},
 "mounts":[{"destination":"/proc","type":"proc","source":"proc"},
  {"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","mode=755"]},
  {"destination":"/sys","type":"sysfs","source":"sysfs","options":["nosuid","noexec","nodev","ro"]},
  {"destination":"/sys/fs/cgroup","type":"cgroup","source":"cgroup","options":["nosuid","noexec","nodev","ro"]}],
 "linux":{"cgroupsPath":"$3","resources":$4,
  "namespaces":[{"type":"pid"},{"type":"mount"},{"type":"ipc"},{"type":"uts"},{"type":"cgroup"}]}}
EOJ
}

# The runtime directly, with --systemd-cgroup: create, limits as unit properties,
# update, pause/resume, delete, for RT in dx-runtime and runc.
t_direct() {
  local rt=$1 n=$2 RT="/usr/local/bin/$1" root=$B/root-$1
  [ "$rt" = runc ] && RT=/usr/bin/runc
  local id=sd-$n unit=dxt-sd-$n.scope slice=vmt-$n.slice
  local bundle=$B/b-$id
  mkbundle "$bundle" '["sleep","1000"]' "$slice:dxt:$id" \
    '{"memory":{"limit":67108864},"pids":{"limit":20},"cpu":{"quota":20000,"period":100000,"shares":512,"cpus":"0"}}'
  local out
  out=$(rtc "$RT" --root "$root" --systemd-cgroup --debug create --bundle "$bundle" "$id" 2>&1) \
    || { fail "$rt-systemd-create" "$out"; diag "$rt create"; rtc "$RT" --root "$root" delete -f "$id"; return; }
  ok "$rt-systemd-create"
  expect "$rt-systemd-unit-active" "$(prop $unit ActiveState)" active
  expect "$rt-systemd-unit-slice" "$(prop $unit Slice)" "$slice"
  expect "$rt-systemd-unit-cgroup" "$(prop $unit ControlGroup)" "/vmt.slice/$slice/$unit"
  expect "$rt-systemd-unit-delegate" "$(prop $unit Delegate)" yes
  expect "$rt-systemd-unit-memorymax" "$(prop $unit MemoryMax)" 67108864
  expect "$rt-systemd-unit-tasksmax" "$(prop $unit TasksMax)" 20
  expect "$rt-systemd-unit-cpuquota" "$(prop $unit CPUQuotaPerSecUSec)" 200ms
  expect "$rt-systemd-unit-allowedcpus" "$(prop $unit AllowedCPUs)" 0
  local dir=$CG/vmt.slice/$slice/$unit
  expect "$rt-systemd-memory.max" "$(cat $dir/memory.max 2>&1)" 67108864
  expect "$rt-systemd-pids.max" "$(cat $dir/pids.max 2>&1)" 20
  expect "$rt-systemd-cpu.max" "$(cat $dir/cpu.max 2>&1)" "20000 100000"
  # Only the container's init is in the scope: the process that started it left.
  local pid
  pid=$(rtc "$RT" --root "$root" state "$id" | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
  expect "$rt-systemd-procs-only-init" "$(cat $dir/cgroup.procs | tr '\n' ' ')" "$pid "
  rtc "$RT" --root "$root" start "$id"
  out=$(rtc "$RT" --root "$root" update --memory 134217728 --pids-limit 30 "$id" 2>&1) || fail "$rt-systemd-update" "$out"
  expect "$rt-systemd-update-memorymax" "$(prop $unit MemoryMax)" 134217728
  expect "$rt-systemd-update-tasksmax" "$(prop $unit TasksMax)" 30
  expect "$rt-systemd-update-memory.max" "$(cat $dir/memory.max 2>&1)" 134217728
  rtc "$RT" --root "$root" pause "$id"
  expect "$rt-systemd-pause" "$(cat $dir/cgroup.freeze)" 1
  rtc "$RT" --root "$root" resume "$id"
  expect "$rt-systemd-resume" "$(cat $dir/cgroup.freeze)" 0
  out=$(rtc "$RT" --root "$root" exec "$id" cat /proc/self/cgroup 2>&1)
  expect "$rt-systemd-exec-cgroupns" "$out" "0::/"
  rtc "$RT" --root "$root" kill "$id" KILL
  sleep 0.5
  out=$(rtc "$RT" --root "$root" delete -f "$id" 2>&1) || fail "$rt-systemd-delete" "$out"
  expect "$rt-systemd-unit-gone" "$(prop $unit LoadState)" not-found
  expect "$rt-systemd-cgroup-gone" "$([ -e "$dir" ] && echo present || echo gone)" gone
}

# cgroup v1 under systemd (booted with --legacy): the unit holds the v1 directories
# systemd manages, the runtime makes the others; limits as properties and in the files.
t_legacy() {
  local rt=$1 RT="/usr/local/bin/$1" root=$B/root-legacy-$1
  [ "$rt" = runc ] && RT=/usr/bin/runc
  local id=lg-$rt unit=dxt-lg-$rt.scope bundle=$B/b-lg-$rt out
  mkbundle "$bundle" '["sleep","1000"]' "vmt-lg.slice:dxt:$id" '{"memory":{"limit":67108864},"pids":{"limit":20},"cpu":{"shares":512}}'
  out=$(rtc "$RT" --root "$root" --systemd-cgroup create --bundle "$bundle" "$id" 2>&1) \
    || { fail "legacy-$rt-create" "$out"; echo "# state: $(cat $root/$id/state.json 2>&1 | grep -o '"cgroup":{[^}]*}')"
      echo "# pid1: $(cat /proc/1/cgroup | tr '\n' ' ')"; rtc "$RT" --root "$root" delete -f "$id"; return; }
  ok "legacy-$rt-create"
  local rel=/vmt.slice/vmt-lg.slice/$unit
  expect "legacy-$rt-unit-active" "$(prop $unit ActiveState)" active
  expect "legacy-$rt-unit-cgroup" "$(prop $unit ControlGroup)" "$rel"
  expect "legacy-$rt-memory.limit_in_bytes" "$(cat $CG/memory$rel/memory.limit_in_bytes 2>&1)" 67108864
  expect "legacy-$rt-pids.max" "$(cat $CG/pids$rel/pids.max 2>&1)" 20
  local pid
  pid=$(rtc "$RT" --root "$root" state "$id" | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
  expect "legacy-$rt-init-in-cpuset" "$(grep -c ":cpuset:$rel\$" /proc/$pid/cgroup 2>&1)" 1
  expect "legacy-$rt-init-in-memory" "$(grep -c ":memory:$rel\$" /proc/$pid/cgroup 2>&1)" 1
  # systemd is given the v1 limits by their v1 names, as runc gives them.
  expect "legacy-$rt-unit-cpushares" "$(prop $unit CPUShares)" 512
  expect "legacy-$rt-unit-tasksmax" "$(prop $unit TasksMax)" 20
  expect "legacy-$rt-cpu.shares" "$(cat $CG/cpu$rel/cpu.shares 2>&1)" 512
  rtc "$RT" --root "$root" start "$id"
  # Co-mounted hierarchies (cpu,cpuacct) are mounted whole in the cgroup namespace,
  # each controller's name a link to them.
  out=$(rtc "$RT" --root "$root" exec "$id" cat /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpu,cpuacct/cpu.shares /sys/fs/cgroup/net_prio/net_cls.classid 2>&1)
  expect "legacy-$rt-exec-comounted" "$(echo $out)" "512 512 0"
  out=$(rtc "$RT" --root "$root" update --memory 134217728 "$id" 2>&1) || fail "legacy-$rt-update" "$out"
  expect "legacy-$rt-update-memory" "$(cat $CG/memory$rel/memory.limit_in_bytes 2>&1)" 134217728
  rtc "$RT" --root "$root" pause "$id"
  expect "legacy-$rt-pause" "$(cat $CG/freezer$rel/freezer.state 2>&1):$(rtc "$RT" --root "$root" state "$id" | grep -o '"status": *"[a-z]*"' | tr -d ' ')" 'FROZEN:"status":"paused"'
  rtc "$RT" --root "$root" resume "$id"
  expect "legacy-$rt-resume" "$(cat $CG/freezer$rel/freezer.state 2>&1):$(rtc "$RT" --root "$root" state "$id" | grep -o '"status": *"[a-z]*"' | tr -d ' ')" 'THAWED:"status":"running"'
  rtc "$RT" --root "$root" delete -f "$id" >/dev/null
  expect "legacy-$rt-unit-gone" "$(prop $unit LoadState)" not-found
  expect "legacy-$rt-dirs-gone" "$(ls -d $CG/*$rel 2>/dev/null | wc -l)" 0
  # run in the foreground: the process that waits for the init leaves the unit, in the
  # v1 hierarchies and the hybrid unified one.
  id=lgfg-$rt unit=dxt-lgfg-$rt.scope bundle=$B/b-lgfg-$rt rel=/vmt.slice/vmt-lg.slice/dxt-lgfg-$rt.scope
  # Counted by the shell's builtins alone, so the count is the shell in each hierarchy
  # (a `cat | wc` pipeline raced: wc was not always forked when cat read).
  mkbundle "$bundle" '["sh","-c","n=0; for f in systemd memory; do while read -r p; do n=$((n+1)); done </sys/fs/cgroup/$f/cgroup.procs; done; echo $n; sleep 3"]' "vmt-lg.slice:dxt:$id" '{}'
  # Once the sleep runs (the shell execs it), it is all the unified cgroup holds.
  ( for i in $(seq 80); do
      comms=$(for p in $(cat $CG/unified$rel/cgroup.procs 2>/dev/null); do cat /proc/$p/comm; done | sort | tr '\n' ' ')
      case "$comms" in *sleep*) break ;; esac; sleep 0.1
    done; echo "$comms" >$B/lgfg-unified ) &
  out=$(cd "$bundle" && timeout 60 "$RT" --root "$root" --systemd-cgroup run "$id" 2>&1 </dev/null)
  wait
  expect "legacy-$rt-run-foreground" "$(echo "$out" | tail -1 | tr -d ' ')" 2
  expect "legacy-$rt-run-foreground-unified" "$(cat $B/lgfg-unified)" "sleep "
  "$RT" --root "$root" delete -f "$id" >/dev/null 2>&1
  expect "legacy-$rt-run-unit-gone" "$(prop $unit LoadState)" not-found
  expect "legacy-$rt-run-dirs-gone" "$(ls -d $CG/*$rel 2>/dev/null | wc -l)" 0
}

# A cgroupsPath whose name ends in ".slice": the container's unit is that slice, not a
# scope (runc 1.1: Wants= its parent slice, no Slice= nor Delegate=, and the init's pid
# in PIDs, which systemd takes for no slice: it refuses the unit). Both refuse the
# container alike and leave nothing behind.
t_slice_unit() {
  local rt=$1 RT="/usr/local/bin/$1" root=$B/root-slice-$1
  [ "$rt" = runc ] && RT=/usr/bin/runc
  local id=sl-$rt unit bundle=$B/b-sl-$rt out rc
  unit=vmt-sl$(echo "$rt" | tr -d '-').slice
  mkbundle "$bundle" '["sleep","1000"]' "vmt.slice:dxt:$unit" '{"memory":{"limit":67108864}}'
  out=$(rtc "$RT" --root "$root" --systemd-cgroup create --bundle "$bundle" "$id" 2>&1); rc=$?
  case "$rc:$out" in
    0:*) fail "$rt-systemd-slice-refused" "created: systemd took PIDs for a slice" ;;
    *"Cannot set property PIDs"*) ok "$rt-systemd-slice-refused" ;;
    *) fail "$rt-systemd-slice-refused" "$out" ;;
  esac
  local left
  left="$(rtc "$RT" --root "$root" state "$id" >/dev/null 2>&1 && echo state) $(prop $unit ActiveState) $(ls -d $CG/vmt.slice/$unit $CG/$unit 2>/dev/null)"
  expect "$rt-systemd-slice-nothing-left" "$left" " inactive "
  rtc "$RT" --root "$root" delete -f "$id" >/dev/null
}

# linux.resources.unified keys systemd has properties for are given as properties
# (runc's unifiedResToSystemdProps), after and over the translated limits; the others
# (io.weight) reach only the files.
t_unified_props() {
  local rt=$1 RT="/usr/local/bin/$1" root=$B/root-uni-$1
  [ "$rt" = runc ] && RT=/usr/bin/runc
  local id=un-$rt unit=dxt-un-$rt.scope bundle=$B/b-un-$rt out
  mkbundle "$bundle" '["sleep","1000"]' "vmt.slice:dxt:$id" \
    '{"memory":{"limit":67108864},"pids":{"limit":20},"unified":{"memory.max":"100000000","memory.high":"50000000","memory.low":"4096","cpu.weight":"300","cpu.max":"30000 100000","pids.max":"7","cpuset.cpus":"1","io.weight":"200"}}'
  out=$(rtc "$RT" --root "$root" --systemd-cgroup create --bundle "$bundle" "$id" 2>&1) \
    || { fail "$rt-systemd-unified-create" "$out"; rtc "$RT" --root "$root" delete -f "$id"; return; }
  local p
  for p in MemoryMax=100000000 MemoryHigh=50000000 MemoryLow=4096 CPUWeight=300 CPUQuotaPerSecUSec=300ms TasksMax=7 AllowedCPUs=1; do
    expect "$rt-systemd-unified-${p%%=*}" "$(prop $unit ${p%%=*})" "${p#*=}"
  done
  expect "$rt-systemd-unified-IOWeight" "$(prop $unit IOWeight)" "[not set]"
  local dir=$CG/vmt.slice/$unit
  expect "$rt-systemd-unified-files" "$(cd $dir && cat memory.max memory.high cpu.weight cpu.max pids.max cpuset.cpus io.weight 2>&1 | tr '\n' ' ')" \
    "99999744 49999872 300 30000 100000 7 1 default 200 "
  rtc "$RT" --root "$root" delete -f "$id" >/dev/null
  expect "$rt-systemd-unified-unit-gone" "$(prop $unit LoadState)" not-found
}

# run in the foreground: the stub waits for the init outside the scope.
t_foreground() {
  local rt=$1 RT="/usr/local/bin/$1"
  [ "$rt" = runc ] && RT=/usr/bin/runc
  local id=fg-$rt bundle=$B/b-fg-$rt
  # The shell alone, counting with its builtins: the process that waits for the init
  # is not in the scope.
  mkbundle "$bundle" '["sh","-c","n=0; while read -r p; do n=$((n+1)); done </sys/fs/cgroup/cgroup.procs; echo $n"]' "system.slice:dxt:$id" '{}'
  local out
  out=$(cd "$bundle" && timeout 60 "$RT" --root "$B/root-$rt" --systemd-cgroup run "$id" 2>&1 </dev/null)
  # (runc warns on stderr about devices systemd cannot name: the count is the last line.)
  expect "$rt-systemd-run-foreground" "$(echo "$out" | tail -1 | tr -d ' ')" 1
  "$RT" --root "$B/root-$rt" delete -f "$id" >/dev/null 2>&1
  expect "$rt-systemd-run-unit-gone" "$(prop dxt-$id.scope LoadState)" not-found
}

# A busybox image for the engines, through podman (which also hands it to containerd).
IMAGE=localhost/vmtest:latest
make_image() {
  [ -n "$IMAGE_DONE" ] && return 0
  tar -C "$ROOTFS" -cf $B/rootfs.tar . || return 1
  podman import --change 'CMD ["/bin/sleep","2147483647"]' $B/rootfs.tar $IMAGE >/dev/null 2>&1 || return 1
  IMAGE_DONE=1
}

t_podman() {
  local rt=$1 RT="/usr/local/bin/$1"
  [ "$rt" = runc ] && RT=/usr/bin/runc
  make_image || { fail "podman-$rt-image" "podman import failed"; return; }
  local out id
  out=$(podman --runtime "$RT" --cgroup-manager systemd run -d --network none --name p-$rt \
    --memory 64m --pids-limit 50 $IMAGE sleep 1000 2>&1) || { fail "podman-$rt-run" "$out"; return; }
  id=$(podman inspect -f '{{.Id}}' p-$rt)
  ok "podman-$rt-run"
  local unit=libpod-$id.scope
  expect "podman-$rt-unit-active" "$(prop $unit ActiveState)" active
  expect "podman-$rt-unit-memorymax" "$(prop $unit MemoryMax)" 67108864
  expect "podman-$rt-unit-tasksmax" "$(prop $unit TasksMax)" 50
  expect "podman-$rt-unit-slice" "$(prop $unit Slice)" machine.slice
  out=$(podman exec p-$rt sh -c 'echo in; exit 5' 2>&1)
  expect "podman-$rt-exec" "$out:$?" "in:5"
  out=$(podman stop -t 2 p-$rt 2>&1) || fail "podman-$rt-stop" "$out"
  out=$(podman rm p-$rt 2>&1) || fail "podman-$rt-rm" "$out"
  expect "podman-$rt-unit-gone" "$(prop $unit LoadState)" not-found
}

# Rootless podman: the user's own systemd manager (lingering, with its cgroup delegated).
as_user() {
  runuser -u vmuser -- env HOME=/home/vmuser XDG_RUNTIME_DIR=/run/user/1000 \
    DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1000/bus PATH="$PATH" "$@"
}
t_rootless_podman() {
  local rt=$1 RT="/usr/local/bin/$1"
  [ "$rt" = runc ] && RT=/usr/bin/runc
  local out id
  if [ -z "$USER_IMAGE_DONE" ]; then
    chmod 755 $B && chmod 644 $B/rootfs.tar 2>/dev/null
    out=$(as_user podman import --change 'CMD ["/bin/sleep","2147483647"]' $B/rootfs.tar $IMAGE 2>&1) \
      || { fail "rootless-podman-$rt-image" "$out"; return; }
    USER_IMAGE_DONE=1
  fi
  out=$(as_user podman --runtime "$RT" --cgroup-manager systemd run -d --network none --name rp-$rt \
    --memory 64m $IMAGE sleep 1000 2>&1) || { fail "rootless-podman-$rt-run" "$out"; return; }
  ok "rootless-podman-$rt-run"
  id=$(as_user podman inspect -f '{{.Id}}' rp-$rt)
  local unit=libpod-$id.scope
  expect "rootless-podman-$rt-unit-active" "$(as_user systemctl --user show $unit -p ActiveState --value)" active
  expect "rootless-podman-$rt-unit-memorymax" "$(as_user systemctl --user show $unit -p MemoryMax --value)" 67108864
  local cg
  cg=$(as_user systemctl --user show $unit -p ControlGroup --value)
  expect "rootless-podman-$rt-memory.max" "$(cat $CG$cg/memory.max 2>&1)" 67108864
  out=$(as_user podman exec rp-$rt sh -c 'echo in' 2>&1)
  expect "rootless-podman-$rt-exec" "$out" in
  out=$(as_user podman rm -f -t 2 rp-$rt 2>&1) || fail "rootless-podman-$rt-rm" "$out"
  expect "rootless-podman-$rt-unit-gone" "$(as_user systemctl --user show $unit -p LoadState --value)" not-found
}

# The cgroup v2 checks of the busybox guest (../guest-tests.sh), here under systemd:
# plain cgroupsPath containers beside systemd's own tree, and its systemd_path check
# now against a real systemd. Reported with a "v2-" prefix.
t_v2_suite() {
  local rt=$1
  modprobe brd rd_nr=1 rd_size=8192 || echo "# modprobe brd failed"
  # systemd enables only the controllers its units use at the root.
  for c in $(cat $CG/cgroup.controllers); do echo "+$c" >$CG/cgroup.subtree_control 2>/dev/null; done
  echo "# root cgroup.subtree_control: $(cat $CG/cgroup.subtree_control)"
  mkdir -p $B/bb && /bin/busybox --install -s $B/bb
  # The runtime's own checkpoint groups are proven in the busybox guest; here
  # checkpoint/restore goes through the engines (checkpoint-engines).
  PATH=$B/bb:/usr/local/bin:$PATH RUNTIME=$rt ROOTFS=$ROOTFS ONLY= EXCEPT=checkpoint \
    timeout 900 /bin/busybox sh "$SHARE/test/vm/guest-tests.sh" >$B/v2-$rt.out 2>&1
  sed -n "s/^VMTEST \(ok\|fail\|skip\) /VMTEST \1 v2-$rt-/p" $B/v2-$rt.out
  PASS=$((PASS + $(grep -c '^VMTEST ok' $B/v2-$rt.out)))
  FAIL=$((FAIL + $(grep -c '^VMTEST fail' $B/v2-$rt.out)))
  SKIP=$((SKIP + $(grep -c '^VMTEST skip' $B/v2-$rt.out)))
  grep -q '^VMTEST done' $B/v2-$rt.out || fail "v2-$rt-suite" "no summary: $(tail -5 $B/v2-$rt.out)"
}

t_cri() {
  make_image || { fail "cri-image" "podman import failed"; return; }
  mkdir -p /etc/containerd
  cat >/etc/containerd/config.toml <<EOT
version = 2
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$IMAGE"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.dx-runtime]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.dx-runtime.options]
      BinaryName = "/usr/local/bin/dx-runtime"
      SystemdCgroup = true
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
      BinaryName = "/usr/bin/runc"
      SystemdCgroup = true
EOT
  systemctl unmask containerd.service >/dev/null 2>&1
  systemctl start containerd.service || { fail cri-containerd-start "$(journalctl -u containerd -n 20 --no-pager)"; return; }
  podman save --format docker-archive -o $B/image.tar $IMAGE >/dev/null 2>&1 \
    && ctr -n k8s.io images import $B/image.tar >/dev/null 2>&1 \
    || { fail cri-image-import "podman save / ctr import failed"; return; }
  for h in dx-runtime runc; do
    timeout 300 bun "$SHARE/test/vm/systemd/cri-guest.ts" "$h" "/usr/local/bin/$h" "$IMAGE" >$B/cri-$h.out 2>&1
    grep '^VMTEST ' $B/cri-$h.out
    PASS=$((PASS + $(grep -c '^VMTEST ok' $B/cri-$h.out)))
    FAIL=$((FAIL + $(grep -c '^VMTEST fail' $B/cri-$h.out)))
    grep -q '^VMTEST ' $B/cri-$h.out || fail "cri-$h" "$(tail -5 $B/cri-$h.out)"
  done
}

# --- checkpoint / restore through the engines ----------------------------------------
# podman's checkpoint/restore and containerd's, each with the runtime under test behind
# it: a busybox loop appends an increasing number to /tmp/seq (and to stdout), and a
# restored container must go on from the number it was checkpointed at, not from 1.
# The runtime is a wrapper of the same name that logs each argv the engine passes.
CK_LOOP='i=0; while :; do i=$((i+1)); echo $i; echo $i >>/tmp/seq; sleep 0.2; done'
ck_wrap() {
  local rt=$1 real=/usr/local/bin/$1
  [ "$rt" = runc ] && real=/usr/bin/runc
  mkdir -p $B/wrap-$rt
  printf '#!/bin/sh\necho "$*" >>%s\nexec %s "$@"\n' "$B/argv-$rt.log" "$real" >$B/wrap-$rt/$rt
  chmod 755 $B/wrap-$rt/$rt
  echo $B/wrap-$rt/$rt
}
# ck_seq FILE: "LAST ok" when the file counts 1, 2, 3... without a gap or a restart,
# else "LAST broken at LINE".
ck_seq() {
  awk 'NR != $1 { if (!b) b = NR } { l = $1 } END { print (l ? l : 0) " " (b ? "broken at " b : "ok") }' "$1" 2>/dev/null
}
# ck_wait_above FILE N: until the count passes N (60 s).
ck_wait_above() {
  local i=0
  while [ $i -lt 300 ]; do
    [ "$(ck_seq "$1" | cut -d' ' -f1)" -gt "$2" ] 2>/dev/null && return 0
    sleep 0.2; i=$((i + 1))
  done
  return 1
}
# What CRIU said, when a step failed: the newest dump/restore log under DIRS.
ck_criu_log() {
  local f
  f=$(ls -t $(find "$@" -name 'dump.log' -o -name 'restore.log' 2>/dev/null) 2>/dev/null | head -1)
  [ -n "$f" ] || return 0
  echo "# criu $f:"
  { grep -E 'Error|error|Warn' "$f" | head -8; tail -5 "$f"; } | sed 's/^/# criu /' | cut -c1-300
}
ck_argv() {
  echo "# argv of $1 ($2):"
  grep -E "^(.* )?(checkpoint|restore) " $B/argv-$1.log 2>/dev/null | tail -4 | sed 's/^/#   /' | cut -c1-400
}
ck_since() { awk -v a="$(up)" -v b="$1" 'BEGIN { printf "%.0f", a - b }'; }
# ck_in_unit PID UNIT: the process is in the unit's cgroup
ck_in_unit() {
  local cg
  cg=$(prop "$2" ControlGroup)
  [ -n "$cg" ] && grep -qx "0::$cg" /proc/$1/cgroup 2>/dev/null
}

# ck_counts_on NAME FILE C: the count in FILE goes past C with no gap and no restart
ck_counts_on() {
  ck_wait_above "$2" "$3"
  local out
  out=$(ck_seq "$2")
  case "$out" in *" ok") [ "${out%% *}" -gt "$3" ] && ok "$1" || fail "$1" "count $out, was $3" ;;
    *) fail "$1" "count $out (was $3)" ;; esac
}

t_ck_podman() {
  local rt=$1 W name=ckp-$1 out id unit c P="timeout 180 podman" t0=$(up)
  W=$(ck_wrap $rt)
  make_image || { fail "ck-podman-$rt-image" "podman import failed"; return; }
  P="$P --runtime $W --cgroup-manager systemd"
  out=$($P run -d --network none --name $name $IMAGE sh -c "$CK_LOOP" 2>&1) || { fail "ck-podman-$rt-run" "$out"; return; }
  id=$(podman inspect -f '{{.Id}}' $name) unit=libpod-$id.scope
  # The count is read through the init's root: a podman exec each time is slow under TCG.
  local seq
  ck_pid() { seq=/proc/$(podman inspect -f '{{.State.Pid}}' $name 2>/dev/null)/root/tmp/seq; }
  ck_abort() { ck_argv $rt "$1"; ck_criu_log /var/lib/containers/storage/overlay-containers; podman rm -f -t 1 $name >/dev/null 2>&1; }
  ck_pid
  ck_wait_above $seq 2
  expect "ck-podman-$rt-counts" "$(ck_seq $seq | cut -d' ' -f2)" ok

  # checkpoint, then restore in place
  out=$($P container checkpoint $name 2>&1) || { fail "ck-podman-$rt-checkpoint" "$out"; ck_abort checkpoint; return; }
  ok "ck-podman-$rt-checkpoint"
  expect "ck-podman-$rt-checkpoint-exited" "$(podman inspect -f '{{.State.Status}}' $name 2>&1)" exited
  expect "ck-podman-$rt-checkpoint-unit-gone" "$(prop $unit LoadState)" not-found
  c=$(podman logs $name 2>/dev/null | tail -1)
  out=$($P container restore $name 2>&1) || { fail "ck-podman-$rt-restore" "$out"; ck_abort restore; return; }
  ok "ck-podman-$rt-restore"
  expect "ck-podman-$rt-restore-running" "$(podman inspect -f '{{.State.Status}}' $name 2>&1)" running
  expect "ck-podman-$rt-restore-unit-active" "$(prop $unit ActiveState)" active
  ck_pid
  local pid=${seq#/proc/}; pid=${pid%%/*}
  if ck_in_unit "$pid" $unit; then ok "ck-podman-$rt-restore-in-scope"; else
    fail "ck-podman-$rt-restore-in-scope" "pid $pid: $(cat /proc/$pid/cgroup 2>&1), unit: $(prop $unit ControlGroup)"; fi
  ck_counts_on "ck-podman-$rt-restore-counts-on" $seq "${c:-0}"
  # stdout through the restored conmon: the log goes on too
  podman logs $name 2>/dev/null >$B/ck-$name.log
  ck_counts_on "ck-podman-$rt-restore-log-counts-on" $B/ck-$name.log "${c:-0}"
  out=$(podman exec $name cat /tmp/seq 2>&1 | tail -1)
  [ "$out" -gt "${c:-0}" ] 2>/dev/null && ok "ck-podman-$rt-restore-exec" || fail "ck-podman-$rt-restore-exec" "$out"

  # --leave-running
  out=$($P container checkpoint -R $name 2>&1) || { fail "ck-podman-$rt-leave-running" "$out"; ck_abort checkpoint; return; }
  ok "ck-podman-$rt-leave-running"
  expect "ck-podman-$rt-leave-running-running" "$(podman inspect -f '{{.State.Status}}' $name 2>&1)" running
  expect "ck-podman-$rt-leave-running-unit-active" "$(prop $unit ActiveState)" active
  ck_counts_on "ck-podman-$rt-leave-running-counts" $seq "$(ck_seq $seq | cut -d' ' -f1)"

  # --export / rm / --import
  rm -f $B/ck-$rt.tar.gz
  out=$($P container checkpoint -e $B/ck-$rt.tar.gz $name 2>&1)
  [ $? = 0 ] && [ -s $B/ck-$rt.tar.gz ] || { fail "ck-podman-$rt-export" "$out"; ck_abort checkpoint; return; }
  ok "ck-podman-$rt-export"
  c=$(podman logs $name 2>/dev/null | tail -1)
  out=$(podman rm $name 2>&1) || fail "ck-podman-$rt-export-rm" "$out"
  expect "ck-podman-$rt-export-rm-unit-gone" "$(prop $unit LoadState)" not-found
  out=$($P container restore -i $B/ck-$rt.tar.gz 2>&1) || { fail "ck-podman-$rt-import" "$out"; ck_abort restore; return; }
  ok "ck-podman-$rt-import"
  expect "ck-podman-$rt-import-running" "$(podman inspect -f '{{.State.Status}}' $name 2>&1)" running
  id=$(podman inspect -f '{{.Id}}' $name 2>/dev/null) unit=libpod-$id.scope
  expect "ck-podman-$rt-import-unit-active" "$(prop $unit ActiveState)" active
  ck_pid
  ck_counts_on "ck-podman-$rt-import-counts-on" $seq "${c:-0}"

  # nothing left behind
  local root
  root=$(sed -n 's/.*--root \([^ ]*\) .*/\1/p' $B/argv-$rt.log | head -1)
  out=$(podman rm -f -t 1 $name 2>&1) || fail "ck-podman-$rt-rm" "$out"
  expect "ck-podman-$rt-rm-unit-gone" "$(prop $unit LoadState)" not-found
  expect "ck-podman-$rt-rm-conmon-unit-gone" "$(prop libpod-conmon-$id.scope LoadState)" not-found
  # podman names no --root for checkpoint: the runtime's default, or the one it gave
  expect "ck-podman-$rt-rm-state-gone" "$(ls -d /run/$rt/$id ${root:+$root/$id} 2>/dev/null | wc -l)" 0
  echo "# ck-podman-$rt restore argv: $(grep -m1 ' restore ' $B/argv-$rt.log | cut -c1-400)"
  expect "ck-podman-$rt-rm-no-process" "$(pgrep -f 'echo \$i >>/tmp/seq' | wc -l)" 0
  echo "# ck-podman-$rt took $(ck_since $t0) s"
}

# containerd 1.6's ctr: `task checkpoint` (criu images to a path, the task left running
# or exited) and `container checkpoint --task --rw` / `container restore --live --rw`
# (a checkpoint image, the only restore ctr 1.6 has).
ck_containerd() {
  [ -n "$CK_CTRD" ] && return 0
  if ! systemctl is-active -q containerd.service; then
    systemctl unmask containerd.service >/dev/null 2>&1
    systemctl start containerd.service || return 1
  fi
  podman save --format docker-archive -o $B/ck-image.tar $IMAGE >/dev/null 2>&1 || return 1
  ctr -n ck images import $B/ck-image.tar >/dev/null 2>&1 || return 1
  CK_CTRD=1
}
t_ck_ctr() {
  local rt=$1 W id=ckc-$1 out c pid C="timeout 180 ctr -n ck" t0=$(up)
  local unit=ctrck-ckc-$rt.scope seq=/run/containerd/io.containerd.runtime.v2.task/ck/ckc-$rt/rootfs/tmp/seq
  W=$(ck_wrap $rt)
  make_image && ck_containerd || { fail "ck-ctr-$rt-setup" "containerd or the image: $(journalctl -u containerd -n 5 --no-pager 2>&1)"; return; }
  # ctr_status: the task's status column
  ctr_status() { ctr -n ck task ls 2>/dev/null | awk -v id=$id '$1 == id { print $3 }'; }
  ck_abort() {
    ck_argv $rt "$1"; ck_criu_log $B/ck-ctr-$rt /run/containerd/io.containerd.runtime.v2.task/ck/$id
    $C task kill -s KILL $id >/dev/null 2>&1; sleep 1; $C task rm -f $id >/dev/null 2>&1; $C container rm $id >/dev/null 2>&1
    $C images rm ck/$id:1 >/dev/null 2>&1
  }
  out=$($C run -d --null-io --runc-binary $W --runc-systemd-cgroup --cgroup system.slice:ctrck:$id \
    $IMAGE $id sh -c "$CK_LOOP" 2>&1) || { fail "ck-ctr-$rt-run" "$out"; ck_abort create; return; }
  ck_wait_above $seq 2
  expect "ck-ctr-$rt-counts" "$(ck_seq $seq | cut -d' ' -f2)" ok
  expect "ck-ctr-$rt-unit-active" "$(prop $unit ActiveState)" active

  # task checkpoint to a path, the task left running
  rm -rf $B/ck-ctr-$rt; mkdir -p $B/ck-ctr-$rt
  out=$($C task checkpoint --image-path $B/ck-ctr-$rt/img --work-path $B/ck-ctr-$rt/work $id 2>&1)
  [ $? = 0 ] && [ -e $B/ck-ctr-$rt/img/inventory.img ] \
    || { fail "ck-ctr-$rt-task-checkpoint" "$out $(ls $B/ck-ctr-$rt/img 2>&1 | head -3)"; ck_abort checkpoint; return; }
  ok "ck-ctr-$rt-task-checkpoint"
  expect "ck-ctr-$rt-task-checkpoint-running" "$(ctr_status)" RUNNING
  ck_counts_on "ck-ctr-$rt-task-checkpoint-counts" $seq "$(ck_seq $seq | cut -d' ' -f1)"

  # container checkpoint (pause, dump leaving it running, resume) into an image
  c=$(ck_seq $seq | cut -d' ' -f1)
  out=$($C container checkpoint --task --rw $id ck/$id:1 2>&1) || { fail "ck-ctr-$rt-container-checkpoint" "$out"; ck_abort checkpoint; return; }
  ok "ck-ctr-$rt-container-checkpoint"
  expect "ck-ctr-$rt-container-checkpoint-running" "$(ctr_status)" RUNNING
  # gone, then back from the image
  $C task kill -s KILL $id >/dev/null 2>&1
  local i=0; while [ $i -lt 50 ] && [ "$(ctr_status)" = RUNNING ]; do sleep 0.2; i=$((i + 1)); done
  out=$($C task rm $id 2>&1) || fail "ck-ctr-$rt-kill-rm" "$out"
  $C container rm $id >/dev/null 2>&1
  expect "ck-ctr-$rt-kill-unit-gone" "$(prop $unit LoadState)" not-found
  out=$($C container restore --live --rw $id ck/$id:1 2>&1) || { fail "ck-ctr-$rt-container-restore" "$out"; ck_abort restore; return; }
  ok "ck-ctr-$rt-container-restore"
  expect "ck-ctr-$rt-restore-running" "$(ctr_status)" RUNNING
  expect "ck-ctr-$rt-restore-unit-active" "$(prop $unit ActiveState)" active
  pid=$(ctr -n ck task ls 2>/dev/null | awk -v id=$id '$1 == id { print $2 }')
  if ck_in_unit "$pid" $unit; then ok "ck-ctr-$rt-restore-in-scope"; else
    fail "ck-ctr-$rt-restore-in-scope" "pid $pid: $(cat /proc/$pid/cgroup 2>&1), unit: $(prop $unit ControlGroup)"; fi
  ck_counts_on "ck-ctr-$rt-restore-counts-on" $seq "$c"

  # task checkpoint --exit
  out=$($C task checkpoint --exit --image-path $B/ck-ctr-$rt/img2 --work-path $B/ck-ctr-$rt/work2 $id 2>&1)
  [ $? = 0 ] && [ -e $B/ck-ctr-$rt/img2/inventory.img ] || { fail "ck-ctr-$rt-task-checkpoint-exit" "$out"; ck_abort checkpoint; return; }
  ok "ck-ctr-$rt-task-checkpoint-exit"
  expect "ck-ctr-$rt-task-checkpoint-exit-stopped" "$(ctr_status)" STOPPED
  expect "ck-ctr-$rt-task-checkpoint-exit-unit-gone" "$(prop $unit LoadState)" not-found

  # nothing left behind
  $C task rm -f $id >/dev/null 2>&1
  out=$($C container rm $id 2>&1) || fail "ck-ctr-$rt-rm" "$out"
  $C images rm ck/$id:1 >/dev/null 2>&1
  expect "ck-ctr-$rt-rm-unit-gone" "$(prop $unit LoadState)" not-found
  expect "ck-ctr-$rt-rm-state-gone" "$(ls -d /run/containerd/runc/ck/$id 2>/dev/null | wc -l)" 0
  expect "ck-ctr-$rt-rm-cgroup-gone" "$(ls -d $CG/system.slice/$unit 2>/dev/null | wc -l)" 0
  expect "ck-ctr-$rt-rm-no-process" "$(pgrep -f 'echo \$i >>/tmp/seq' | wc -l)" 0
  echo "# ck-ctr-$rt took $(ck_since $t0) s"
}

[ -x /usr/local/bin/runc ] || ln -sf /usr/bin/runc /usr/local/bin/runc

if [ "$ONLY" = legacy ]; then
  for rt in dx-runtime runc; do t_legacy $rt; done
  finish
fi
n=0
for rt in dx-runtime runc; do
  n=$((n + 1))
  want direct && t_direct $rt $n
  want foreground && t_foreground $rt
  want podman && t_podman $rt
  want sdslice && t_slice_unit $rt
  want sdunified && t_unified_props $rt
done
echo "# runtime checks done at $(up) s"
for rt in dx-runtime runc; do
  want rootless && make_image && t_rootless_podman $rt
done
want cri && t_cri
for rt in runc dx-runtime; do
  want checkpoint-engines && t_ck_podman $rt
  want checkpoint-engines && t_ck_ctr $rt
done
echo "# checkpoint-engines done at $(up) s"
want v2 && t_v2_suite dx-runtime
echo "# v2 checks done at $(up) s"
echo "# engines done at $(up) s"
finish
