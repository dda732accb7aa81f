#!/bin/sh
# Runs inside the test VM (busybox sh, cgroup2 only at /sys/fs/cgroup) against the
# compiled runtime. One line per check on stdout:
#   VMTEST ok <name>
#   VMTEST fail <name>: <why>
#   VMTEST skip <name>: <why>
#   VMTEST done <P> passed, <F> failed, <S> skipped
# Lines starting with "# " are diagnostics. A feature that is missing fails with the
# runtime's own error message: it is never skipped, so the summary shows what is left.
#
# Environment: RUNTIME (dx-runtime or runc, looked up under /usr/local/bin),
# ONLY (a substring: run only the groups whose name contains it).

RUNTIME="${RUNTIME:-dx-runtime}"
RT="/usr/local/bin/$RUNTIME"
CG=/sys/fs/cgroup
PARENT=vmt
B=/tmp/vmt
ROOTFS="${ROOTFS:-/vmtest/rootfs}"
mkdir -p "$B"

CMD_TIMEOUT="${CMD_TIMEOUT:-60}"
PASS=0
FAIL=0
SKIP=0

oneline() { tr '\n\t' '  ' | sed 's/  */ /g; s/^ //; s/ $//' | cut -c1-600; }
ok() { echo "VMTEST ok $1"; PASS=$((PASS + 1)); }
fail() { echo "VMTEST fail $1: $(echo "$2" | oneline)"; FAIL=$((FAIL + 1)); }
skip() { echo "VMTEST skip $1: $(echo "$2" | oneline)"; SKIP=$((SKIP + 1)); }

# expect NAME ACTUAL WANTED [WANTED2]: ACTUAL equals one of the wanted values.
expect() {
  if [ "$2" = "$3" ] || { [ -n "${4:-}" ] && [ "$2" = "$4" ]; }; then ok "$1"; else
    fail "$1" "got '$2', want '$3'${4:+ or '$4'}"
  fi
}

# rt ARGS...: runs the runtime, output (stdout+stderr) in $OUT, status in $RC.
# Through a file, not a pipe: the container inherits the runtime's stdio, and a
# command substitution would wait for it to exit. A runtime that hangs is killed.
rt() {
  timeout -s KILL "$CMD_TIMEOUT" "$RT" "$@" >"$B/.rt-out" 2>&1 </dev/null
  RC=$?
  OUT="$(cat "$B/.rt-out")"
  [ $RC -eq 137 ] && OUT="killed after ${CMD_TIMEOUT}s: $OUT"
  return $RC
}

cgdir() { echo "$CG/$PARENT/$1"; }
# cgfile ID FILE: the file's content on one line, or "<missing FILE>".
cgfile() {
  if [ -e "$(cgdir "$1")/$2" ]; then oneline <"$(cgdir "$1")/$2"; else echo "<missing $2>"; fi
}

status_of() { rt state "$1" && echo "$OUT" | sed -n 's/.*"status": *"\([a-z]*\)".*/\1/p'; }
pid_of() { rt state "$1" && echo "$OUT" | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p'; }

# wait_for COND_CMD...: polls for up to 5 s.
wait_for() {
  i=0
  while [ $i -lt 50 ]; do
    "$@" && return 0
    sleep 0.1
    i=$((i + 1))
  done
  return 1
}
is_status() { [ "$(status_of "$1")" = "$2" ]; }
has_file() { [ -s "$1" ]; }

CAPS='["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"]'

# mkbundle ID ARGS_JSON [RESOURCES_JSON] [EXTRA_LINUX_JSON] [CGROUPS_PATH]
# EXTRA_LINUX_JSON is spliced into "linux" (must start with a comma when given).
# CGROUPS_PATH: default /vmt/ID; "-" leaves cgroupsPath out.
mkbundle() {
  id=$1
  d="$B/$id"
  rm -rf "$d"
  mkdir -p "$d/out"
  cgp="${5:-/$PARENT/$id}"
  if [ "$cgp" = "-" ]; then cgline=""; else cgline="\"cgroupsPath\": \"$cgp\","; fi
  res="${3:-}"
  [ -n "$res" ] || res='{}'
  cat >"$d/config.json" <<EOF
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false,
    "user": {"uid": 0, "gid": 0},
    "args": $2,
    "env": ["PATH=/bin:/sbin"],
    "cwd": "/",
    "capabilities": {"bounding": $CAPS, "effective": $CAPS, "permitted": $CAPS},
    "noNewPrivileges": true
  },
  "root": {"path": "$ROOTFS", "readonly": true},
  "hostname": "vmt",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
    {"destination": "/out", "type": "bind", "source": "$d/out", "options": ["rbind", "rw"]}
  ],
  "linux": {
    $cgline
    "resources": $res,
    "namespaces": ${NAMESPACES:-$ALL_NS},
    "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
    ${4:-}
  }
}
EOF
}

# up NAME ID ARGS_JSON [RESOURCES] [EXTRA] [CGROUPS_PATH]: create + start. On failure
# reports NAME as failed with the runtime's message and returns 1.
up() {
  name=$1
  shift
  mkbundle "$@"
  if ! rt create --bundle "$B/$1" "$1"; then
    fail "$name" "create failed (rc $RC): $OUT"
    return 1
  fi
  if ! rt start "$1"; then
    fail "$name" "start failed (rc $RC): $OUT"
    return 1
  fi
  return 0
}

down() { rt delete -f "$1" || { rt kill "$1" KILL; rt delete -f "$1"; }; true; }

want() { [ -z "$ONLY" ] || case "$1" in *"$ONLY"*) return 0 ;; *) return 1 ;; esac; }

SLEEP='["sleep","1000"]'
ALL_NS='[{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}]'
NAMESPACES=

# --- lifecycle: create / state / start / kill / delete ----------------------------
t_lifecycle() {
  id=life
  mkbundle $id "$SLEEP"
  if rt create --bundle "$B/$id" $id; then ok lifecycle-create; else
    fail lifecycle-create "rc $RC: $OUT"
    down $id
    return
  fi
  expect lifecycle-state-created "$(status_of $id)" created
  pid="$(pid_of $id)"
  if [ -n "$pid" ] && [ -d "/proc/$pid" ]; then ok lifecycle-state-pid; else fail lifecycle-state-pid "state pid '$pid' is not a live process"; fi
  if [ -d "$(cgdir $id)" ]; then ok lifecycle-cgroup-created; else fail lifecycle-cgroup-created "$(cgdir $id) does not exist after create"; fi
  if grep -qx "$pid" "$(cgdir $id)/cgroup.procs" 2>/dev/null; then ok lifecycle-pid-in-cgroup; else
    fail lifecycle-pid-in-cgroup "pid $pid not in $(cgdir $id)/cgroup.procs; /proc/$pid/cgroup: $(cat /proc/$pid/cgroup 2>&1)"
  fi
  if rt start $id; then ok lifecycle-start; else fail lifecycle-start "rc $RC: $OUT"; fi
  expect lifecycle-state-running "$(status_of $id)" running
  if rt kill $id KILL; then ok lifecycle-kill; else fail lifecycle-kill "rc $RC: $OUT"; fi
  if wait_for is_status $id stopped; then ok lifecycle-state-stopped; else fail lifecycle-state-stopped "status '$(status_of $id)' 5 s after SIGKILL"; fi
  if rt delete $id; then ok lifecycle-delete; else fail lifecycle-delete "rc $RC: $OUT"; fi
  if rt state $id; then fail lifecycle-state-after-delete "state still answers: $OUT"; else ok lifecycle-state-after-delete; fi
  if [ -d "$(cgdir $id)" ]; then fail delete-removes-cgroup "$(cgdir $id) still exists after delete"; else ok delete-removes-cgroup; fi
  down $id
}

# --- what the container sees at /sys/fs/cgroup -------------------------------------
t_inside() {
  id=inside
  up inside-cgroup2 $id '["sh","-c","awk '"'"'$2==\"/sys/fs/cgroup\" {print $3}'"'"' /proc/self/mounts > /out/fstype.t; cat /proc/self/cgroup > /out/self; cat /sys/fs/cgroup/cgroup.controllers > /out/ctrl; mv /out/fstype.t /out/fstype; exec sleep 1000"]' || { down $id; return; }
  if ! wait_for has_file "$B/$id/out/fstype"; then
    fail inside-cgroup2 "the container wrote nothing to /out within 5 s"
    down $id
    return
  fi
  expect inside-cgroup2 "$(oneline <"$B/$id/out/fstype")" cgroup2
  expect inside-cgroupns-root "$(oneline <"$B/$id/out/self")" "0::/"
  ctrl="$(oneline <"$B/$id/out/ctrl")"
  case " $ctrl " in *" memory "*" pids "* | *" pids "*" memory "*) ok inside-controllers ;; *) fail inside-controllers "cgroup.controllers inside: '$ctrl'" ;; esac
  down $id
}

# --- linux.resources, read back from the container's cgroup ------------------------
t_memory() {
  id=mem
  up res-memory $id "$SLEEP" '{"memory": {"limit": 268435456, "reservation": 134217728, "swap": 536870912}}' || { down $id; return; }
  expect res-memory.max "$(cgfile $id memory.max)" 268435456
  expect res-memory.low "$(cgfile $id memory.low)" 134217728
  # The spec's swap is memory+swap; v2's memory.swap.max is the swap alone.
  expect res-memory.swap.max "$(cgfile $id memory.swap.max)" 268435456
  down $id
}

t_cpu() {
  id=cpu
  up res-cpu $id "$SLEEP" '{"cpu": {"shares": 2048, "quota": 50000, "period": 100000}}' || { down $id; return; }
  # shares 2048: 174 on the log-quadratic curve (crun, runc >= 1.3), 79 on runc 1.1's line.
  expect res-cpu.weight "$(cgfile $id cpu.weight)" 174 79
  expect res-cpu.max "$(cgfile $id cpu.max)" "50000 100000"
  down $id
}

t_cpuset() {
  id=cpuset
  up res-cpuset $id "$SLEEP" '{"cpu": {"cpus": "1", "mems": "0"}}' || { down $id; return; }
  expect res-cpuset.cpus "$(cgfile $id cpuset.cpus)" 1
  expect res-cpuset.mems "$(cgfile $id cpuset.mems)" 0
  expect res-cpuset.cpus.effective "$(cgfile $id cpuset.cpus.effective)" 1
  down $id
}

t_pids() {
  id=pids
  up res-pids $id "$SLEEP" '{"pids": {"limit": 100}}' || { down $id; return; }
  expect res-pids.max "$(cgfile $id pids.max)" 100
  down $id
}

RAMDEV=
[ -e /sys/block/ram0/dev ] && RAMDEV="$(cat /sys/block/ram0/dev)"

t_io() {
  if [ -z "$RAMDEV" ]; then
    skip res-io "no block device in the VM (/sys/block/ram0 missing: brd not loaded)"
    return
  fi
  if ! grep -qw io $CG/cgroup.subtree_control; then
    fail res-io "the io controller is not enabled at the root: $(cat $CG/cgroup.subtree_control)"
    return
  fi
  maj=${RAMDEV%:*}
  min=${RAMDEV#*:}
  id=io
  up res-io $id "$SLEEP" '{"blockIO": {"weight": 500, "throttleReadBpsDevice": [{"major": '"$maj"', "minor": '"$min"', "rate": 1048576}], "throttleWriteIOPSDevice": [{"major": '"$maj"', "minor": '"$min"', "rate": 100}]}}' || { down $id; return; }
  # BFQ takes the blkio weight as is; io.weight is the 1..10000 scale (500 -> 4950).
  if [ -e "$(cgdir $id)/io.bfq.weight" ] && [ "$(cgfile $id io.bfq.weight)" != "default 100" ]; then
    expect res-io.weight "$(cgfile $id io.bfq.weight)" "default 500"
  else
    expect res-io.weight "$(cgfile $id io.weight)" "default 4950"
  fi
  line="$(grep "^$RAMDEV " "$(cgdir $id)/io.max" 2>/dev/null)"
  expect res-io.max "$line" "$RAMDEV rbps=1048576 wbps=max riops=max wiops=100"
  down $id
}

t_hugetlb() {
  id=huge
  if ! grep -qw hugetlb $CG/cgroup.controllers; then
    fail res-hugetlb "no hugetlb controller in this kernel: $(cat $CG/cgroup.controllers)"
    return
  fi
  up res-hugetlb $id "$SLEEP" '{"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}' || { down $id; return; }
  expect res-hugetlb.2MB.max "$(cgfile $id hugetlb.2MB.max)" 4194304
  down $id
}

t_unified() {
  id=unified
  up res-unified $id "$SLEEP" '{"unified": {"memory.high": "209715200", "pids.max": "42"}}' || { down $id; return; }
  expect res-unified.memory.high "$(cgfile $id memory.high)" 209715200
  expect res-unified.pids.max "$(cgfile $id pids.max)" 42
  down $id
}

t_default_path() {
  id=nopath
  up cgroup-default-path $id "$SLEEP" '{}' "" "-" || { down $id; return; }
  pid="$(pid_of $id)"
  rel="$(sed -n 's/^0:://p' /proc/$pid/cgroup 2>/dev/null)"
  if [ -n "$rel" ] && [ "$rel" != "/" ] && [ -d "$CG$rel" ]; then ok cgroup-default-path; else
    fail cgroup-default-path "without cgroupsPath the container's init is in '$rel'"
  fi
  down $id
  if [ -n "$rel" ] && [ "$rel" != "/" ] && [ -d "$CG$rel" ]; then
    fail cgroup-default-path-removed "$CG$rel still exists after delete"
  else ok cgroup-default-path-removed; fi
}

# --- update ------------------------------------------------------------------------
t_update() {
  id=upd
  up update $id "$SLEEP" '{"memory": {"limit": 268435456}, "pids": {"limit": 100}, "cpu": {"quota": 50000, "period": 100000}}' || { down $id; return; }
  if rt update --memory 314572800 --pids-limit 50 --cpu-quota 30000 $id; then ok update-flags; else fail update-flags "rc $RC: $OUT"; fi
  expect update-memory.max "$(cgfile $id memory.max)" 314572800
  expect update-pids.max "$(cgfile $id pids.max)" 50
  expect update-cpu.max "$(cgfile $id cpu.max)" "30000 100000"
  echo '{"pids": {"limit": 77}, "cpu": {"shares": 2048}}' >"$B/$id/update.json"
  if rt update -r "$B/$id/update.json" $id; then ok update-resources-file; else fail update-resources-file "rc $RC: $OUT"; fi
  expect update-resources-file-pids.max "$(cgfile $id pids.max)" 77
  expect update-resources-file-cpu.weight "$(cgfile $id cpu.weight)" 174 79
  down $id
}

# --- pause / resume through cgroup.freeze -------------------------------------------
frozen() { sed -n 's/^frozen //p' "$(cgdir "$1")/cgroup.events" 2>/dev/null; }
is_frozen() { [ "$(frozen "$1")" = "$2" ]; }

t_pause() {
  id=pause
  up pause $id "$SLEEP" || { down $id; return; }
  if rt pause $id; then ok pause; else fail pause "rc $RC: $OUT"; fi
  expect pause-cgroup.freeze "$(cgfile $id cgroup.freeze)" 1
  wait_for is_frozen $id 1
  expect pause-events-frozen "$(frozen $id)" 1
  expect pause-state-paused "$(status_of $id)" paused
  pid="$(pid_of $id)"
  st="$(sed -n 's/^State:[[:space:]]*//p' /proc/$pid/status 2>/dev/null)"
  echo "# paused init: State $st"
  if rt resume $id; then ok resume; else fail resume "rc $RC: $OUT"; fi
  expect resume-cgroup.freeze "$(cgfile $id cgroup.freeze)" 0
  wait_for is_frozen $id 0
  expect resume-events-frozen "$(frozen $id)" 0
  expect resume-state-running "$(status_of $id)" running
  down $id
}

# --- events --stats and ps ------------------------------------------------------------
t_events_ps() {
  id=stats
  up events-stats $id "$SLEEP" '{"memory": {"limit": 268435456}, "pids": {"limit": 100}}' || { down $id; return; }
  if rt events --stats $id; then
    s="$(echo "$OUT" | tr '\n' ' ')"
    miss=
    for k in '"type": *"stats"' '"id": *"stats"' '"data": *{' '"cpu": *{' '"memory": *{' '"pids": *{' '"current": *[1-9]' '"usage": *{' '"limit": *268435456'; do
      echo "$s" | grep -q "$k" || miss="$miss $k"
    done
    if [ -z "$miss" ]; then ok events-stats; else fail events-stats "missing$miss in: $(echo "$s" | cut -c1-300)"; fi
  else
    fail events-stats "rc $RC: $OUT"
  fi
  pid="$(pid_of $id)"
  if rt ps --format json $id; then
    s="$(echo "$OUT" | oneline)"
    if echo "$s" | grep -Eq "^\[ *([0-9]+ *, *)*$pid( *, *[0-9]+)* *\]$"; then ok ps-json; else
      fail ps-json "want a JSON array holding $pid, got: $s"
    fi
  else
    fail ps-json "rc $RC: $OUT"
  fi
  down $id
}

# --- devices: the v2 eBPF device filter ---------------------------------------------
# probe script: for each of null/zero/ram, whether read and write open succeed.
PROBE='for f in null zero vmtram; do [ -e /dev/$f ] || { echo "$f absent" >> /out/r; continue; }; if head -c 1 /dev/$f > /dev/zero 2>/dev/zero; then r=ok; else r=denied; fi; if (echo x > /dev/$f) 2>/dev/zero; then w=ok; else w=denied; fi; echo "$f r=$r w=$w" >> /out/r; done; mv /out/r /out/result; exec sleep 1000'
# /dev/zero is the sink above: /dev/null is the device under test.

dev_probe() { # NAME ID RESOURCES [EXTRA_LINUX]
  up "$1" "$2" "[\"sh\",\"-c\",\"$(echo "$PROBE" | sed 's/"/\\"/g')\"]" "$3" "${4:-}" || { down "$2"; return 1; }
  if ! wait_for has_file "$B/$2/out/result"; then
    fail "$1" "the probe wrote nothing within 5 s"
    down "$2"
    return 1
  fi
  RESULT="$(oneline <"$B/$2/out/result")"
  echo "# $1: $RESULT"
  down "$2"
  return 0
}
result_has() { case " $RESULT " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

t_devices() {
  # runc appends its default allow list (null, zero, full, tty, ...) after the config's
  # rules and the last matching rule wins, so a config cannot take /dev/null away; the
  # runtime's devices.ts keeps that order. What must hold: the filter is loaded and the
  # defaults are honoured past a deny-all.
  if dev_probe devices-dev-null devnull '{"devices": [{"allow": false, "access": "rwm"}, {"allow": false, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]}'; then
    if result_has "null r=ok w=ok"; then ok devices-dev-null-default-wins; else
      fail devices-dev-null-default-wins "deny c 1:3 followed by the default allow list: want /dev/null usable as runc leaves it: $RESULT"
    fi
    if result_has "zero r=ok w=ok"; then ok devices-default-allow-zero; else
      fail devices-default-allow-zero "/dev/zero should stay usable (default allow list): $RESULT"
    fi
  fi
  if [ -z "$RAMDEV" ]; then
    skip devices-block "no block device in the VM (brd not loaded)"
    return
  fi
  maj=${RAMDEV%:*}
  min=${RAMDEV#*:}
  extra=', "devices": [{"path": "/dev/vmtram", "type": "b", "major": '"$maj"', "minor": '"$min"', "fileMode": 438, "uid": 0, "gid": 0}]'
  if dev_probe devices-deny-unlisted devdeny '{"devices": [{"allow": false, "access": "rwm"}]}' "$extra"; then
    if result_has "vmtram r=denied w=denied"; then ok devices-deny-unlisted; else
      fail devices-deny-unlisted "b $RAMDEV is not in the allow list yet was usable: $RESULT"
    fi
  fi
  if dev_probe devices-allow-read devallow '{"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "b", "major": '"$maj"', "minor": '"$min"', "access": "r"}]}' "$extra"; then
    if result_has "vmtram r=ok w=denied"; then ok devices-allow-read; else
      fail devices-allow-read "allow b $RAMDEV r: want read ok, write denied: $RESULT"
    fi
  fi
}

# --- more of the v2 driver: exec, enforcement, kill --all, paths ------------------
t_exec() {
  id=exec
  up exec-joins-cgroup $id "$SLEEP" '{"pids": {"limit": 20}}' || { down $id; return; }
  if rt exec $id cat /proc/self/cgroup; then
    # In the container's cgroup namespace its own cgroup is the root.
    expect exec-joins-cgroup "$(echo "$OUT" | oneline)" "0::/"
  else
    fail exec-joins-cgroup "rc $RC: $OUT"
  fi
  down $id
}

# Without a cgroup namespace, exec's stub joins by cloning into the cgroup (clone3) and
# goes back: the container's cgroup holds the init and the exec'd processes only.
t_exec_host_cgroupns() {
  id=exech
  NAMESPACES='[{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]'
  up exec-host-cgroupns $id "$SLEEP" '{"pids": {"limit": 20}}' || { NAMESPACES=; down $id; return; }
  NAMESPACES=
  if rt exec $id cat /proc/self/cgroup; then
    expect exec-host-cgroupns "$(echo "$OUT" | oneline)" "0::/$PARENT/$id"
  else
    fail exec-host-cgroupns "rc $RC: $OUT"
  fi
  if rt exec --detach $id sleep 1000; then
    expect exec-host-cgroupns-detach "$(wc -l <"$(cgdir $id)/cgroup.procs" | tr -d ' ')" 2
  else
    fail exec-host-cgroupns-detach "rc $RC: $OUT"
  fi
  down $id
}

pids_hit() { [ "$(sed -n 's/^max //p' "$(cgdir "$1")/pids.events" 2>/dev/null)" -gt 0 ] 2>/dev/null; }

t_pids_enforced() {
  id=pidsmax
  up pids-enforced $id '["sh","-c","i=0; while [ $i -lt 12 ]; do sleep 1000 & i=$((i+1)); done; exec sleep 1000"]' '{"pids": {"limit": 5}}' || { down $id; return; }
  if wait_for pids_hit $id; then
    cur="$(cgfile $id pids.current)"
    if [ "$cur" -le 5 ] 2>/dev/null; then ok pids-enforced; else fail pids-enforced "pids.current $cur above pids.max 5"; fi
  else
    fail pids-enforced "no fork was refused with pids.max 5: pids.events '$(cgfile $id pids.events)', pids.current $(cgfile $id pids.current)"
  fi
  down $id
}

oom_killed() { [ "$(sed -n 's/^oom_kill //p' "$(cgdir "$1")/memory.events" 2>/dev/null)" -gt 0 ] 2>/dev/null; }

t_oom() {
  id=oom
  # tail keeps the endless "line" of /dev/zero in memory until the limit stops it.
  up memory-oom-kill $id '["tail","/dev/zero"]' '{"memory": {"limit": 33554432, "swap": 33554432}}' || { down $id; return; }
  if wait_for oom_killed $id; then ok memory-oom-kill; else
    fail memory-oom-kill "no oom_kill within 5 s at memory.max 32M: memory.events '$(cgfile $id memory.events)', memory.current $(cgfile $id memory.current)"
  fi
  if wait_for is_status $id stopped; then ok memory-oom-stopped; else fail memory-oom-stopped "status '$(status_of $id)' after the OOM kill"; fi
  down $id
}

procs_empty() { [ -z "$(cat "$(cgdir "$1")/cgroup.procs" 2>/dev/null)" ]; }

t_kill_all() {
  id=killall
  up kill-all $id '["sh","-c","sleep 1000 & sleep 1000 & exec sleep 1000"]' || { down $id; return; }
  sleep 1
  if rt kill --all $id KILL; then
    if wait_for procs_empty $id; then ok kill-all; else fail kill-all "cgroup.procs still holds: $(cgfile $id cgroup.procs)"; fi
  else
    fail kill-all "rc $RC: $OUT"
  fi
  down $id
}

t_delete_force() {
  id=delf
  up delete-force-running $id '["sh","-c","sleep 1000 & exec sleep 1000"]' || { down $id; return; }
  pid="$(pid_of $id)"
  if rt delete -f $id; then
    if [ -d "$(cgdir $id)" ]; then fail delete-force-running "$(cgdir $id) left behind"
    elif [ -d "/proc/$pid" ] && ! grep -q '^State:.*Z' /proc/$pid/status 2>/dev/null; then fail delete-force-running "init $pid still alive"
    else ok delete-force-running; fi
  else
    fail delete-force-running "rc $RC: $OUT"
  fi
  down $id
}

t_relative_path() {
  id=rel
  # Relative paths hang under the parent of the runtime's own cgroup (runc's rule):
  # the root on the busybox guest, system.slice in the systemd guest's test unit.
  base=$(dirname "$(sed -n 's/^0:://p' /proc/self/cgroup)")
  [ "$base" = / ] && base=
  dir=$CG$base/vmt-rel/$id
  up cgroup-relative-path $id "$SLEEP" '{"pids": {"limit": 9}}' "" "vmt-rel/$id" || { down $id; return; }
  expect cgroup-relative-path "$(oneline <$dir/pids.max 2>&1)" 9
  down $id
  if [ -d "$dir" ]; then fail cgroup-relative-path-removed "$dir left behind"; else ok cgroup-relative-path-removed; fi
}

t_systemd_path() {
  id=sd
  # slice:prefix:name maps to <slice path>/<prefix>-<name>.scope without a systemd.
  mkbundle $id "$SLEEP" '{"pids": {"limit": 11}}' "" "vmt.slice:dxt:$id"
  want_dir="$CG/vmt.slice/dxt-$id.scope"
  if rt --systemd-cgroup create --bundle "$B/$id" $id && rt --systemd-cgroup start $id; then
    expect cgroup-systemd-path "$(oneline <"$want_dir/pids.max" 2>&1)" 11
  else
    fail cgroup-systemd-path "rc $RC: $OUT"
  fi
  rt --systemd-cgroup delete -f $id
  if [ -d "$want_dir" ]; then fail cgroup-systemd-path-removed "$want_dir left behind"; else ok cgroup-systemd-path-removed; fi
}

rt --version
echo "# runtime: $RT ($(echo "$OUT" | head -1))"
echo "# root cgroup.subtree_control: $(cat $CG/cgroup.subtree_control)"
for t in lifecycle inside memory cpu cpuset pids io hugetlb unified default_path update pause events_ps devices exec exec_host_cgroupns pids_enforced oom kill_all delete_force relative_path systemd_path; do
  want "$t" || continue
  start=$(date +%s)
  "t_$t"
  echo "# $t took $(($(date +%s) - start)) s"
done
echo "VMTEST done $PASS passed, $FAIL failed, $SKIP skipped"
