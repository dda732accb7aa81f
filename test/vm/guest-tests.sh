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
# ONLY (substrings, comma-separated: run only the groups whose name contains one), EXCEPT (a substring:
# leave out the groups whose name contains it; for a guest that lacks what they need).

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

want() {
  if [ -n "$EXCEPT" ]; then case "$1" in *"$EXCEPT"*) return 1 ;; esac; fi
  [ -n "$ONLY" ] || return 0
  for o in $(echo "$ONLY" | tr ',' ' '); do
    case "$1" in *"$o"*) return 0 ;; esac
  done
  return 1
}

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

# --- rootless: an unprivileged user, with and without a delegated cgroup subtree ------
# The delegation is systemd's for user@.service: root enables controllers in the parent
# (rl.slice) and hands the user one directory (rl-deleg: the dir, cgroup.procs,
# cgroup.subtree_control, cgroup.threads); the user's processes run in a leaf below it
# (shell), so rl-deleg can enable controllers for its other children. A rootless
# runtime moves processes only between cgroups it owns, below a common ancestor it owns:
# it must itself run inside the subtree.
RLUID=1000
RLUSER=dxu
RLXDG=/run/user/$RLUID
RLSLICE=$CG/rl.slice
RLDELEG=$RLSLICE/rl-deleg
RLSHELL=$RLDELEG/shell
RLNODELEG=$CG/rl-nodeleg
# A user namespace mapping the user's own ids alone: no newuidmap, no /etc/subuid.
RL_NS='[{"type": "user"}, {"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}]'
RL_MAPS=', "uidMappings": [{"containerID": 0, "hostID": '$RLUID', "size": 1}], "gidMappings": [{"containerID": 0, "hostID": '$RLUID', "size": 1}]'

rl_user() {
  if ! grep -q "^$RLUSER:" /etc/passwd; then
    echo "$RLUSER:x:$RLUID:$RLUID:$RLUSER:/tmp/$RLUSER:/bin/sh" >>/etc/passwd
    echo "$RLUSER:x:$RLUID:" >>/etc/group
  fi
  grep -qx /bin/sh /etc/shells 2>/dev/null || echo /bin/sh >>/etc/shells
  mkdir -p "/tmp/$RLUSER" "$RLXDG"
  chown "$RLUID:$RLUID" "/tmp/$RLUSER" "$RLXDG"
  chmod 700 "$RLXDG"
}

# rtu CGDIR ARGS...: rt as $RLUSER, the runtime started in cgroup CGDIR. Root moves the
# shell there first (as a session manager places a login); busybox su execs, so the
# pid that moved is the runtime's. "--" keeps su from reading the runtime's flags.
rtu() {
  rtu_cg=$1
  shift
  XDG_RUNTIME_DIR=$RLXDG timeout -s KILL "$CMD_TIMEOUT" sh -c 'echo $$ >"$0/cgroup.procs" || exit 125; exec su -s /bin/sh -c '"'"'exec "$0" "$@"'"'"' -- '"$RLUSER"' "$@"' "$rtu_cg" "$RT" "$@" >"$B/.rt-out" 2>&1 </dev/null
  RC=$?
  OUT="$(cat "$B/.rt-out")"
  [ $RC -eq 137 ] && OUT="killed after ${CMD_TIMEOUT}s: $OUT"
  return $RC
}

# mkbundle_rl ID ARGS_JSON [RESOURCES_JSON] [CGROUPS_PATH]: a bundle for $RLUSER, its
# /out writable by the user (root of the container maps to it).
mkbundle_rl() {
  NAMESPACES=$RL_NS
  mkbundle "$1" "$2" "${3:-}" "$RL_MAPS" "${4:-}"
  NAMESPACES=
  chown -R "$RLUID:$RLUID" "$B/$1/out"
}

# upu CGDIR NAME ID ARGS_JSON [RESOURCES_JSON] [CGROUPS_PATH]: create + start as the user.
upu() {
  upu_cg=$1
  name=$2
  shift 2
  mkbundle_rl "$@"
  if ! rtu "$upu_cg" create --bundle "$B/$1" "$1"; then
    fail "$name" "create failed (rc $RC): $OUT"
    return 1
  fi
  if ! rtu "$upu_cg" start "$1"; then
    fail "$name" "start failed (rc $RC): $OUT"
    return 1
  fi
  return 0
}

rl_status() { rtu "$1" state "$2" && echo "$OUT" | sed -n 's/.*"status": *"\([a-z]*\)".*/\1/p'; }
rl_pid() { rtu "$1" state "$2" && echo "$OUT" | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p'; }
rl_frozen() { [ "$(sed -n 's/^frozen //p' "$1/cgroup.events" 2>/dev/null)" = "$2" ]; }
rl_is_status() { [ "$(rl_status "$1" "$2")" = "$3" ]; }
rl_down() { rtu "$1" delete -f "$2" || { rtu "$1" kill "$2" KILL; rtu "$1" delete -f "$2"; }; true; }
# cgf DIR FILE: a cgroup file on one line, or "<missing FILE>".
cgf() { if [ -e "$1/$2" ]; then oneline <"$1/$2"; else echo "<missing $2>"; fi; }
# Whatever is still in a cgroup (a test that failed half way) is killed, then the dirs go.
rl_sweep() {
  for d in $(find "$1" -depth -type d 2>/dev/null); do
    [ -e "$d/cgroup.kill" ] && echo 1 >"$d/cgroup.kill" 2>/dev/null
  done
  sleep 0.2
  for d in $(find "$1" -depth -type d 2>/dev/null); do rmdir "$d" 2>/dev/null; done
}

rl_delegate() {
  mkdir -p "$RLSLICE" || return 1
  # What systemd delegates to a user by default.
  echo "+cpu +cpuset +io +memory +pids" >"$RLSLICE/cgroup.subtree_control" || return 1
  mkdir -p "$RLDELEG" || return 1
  chown "$RLUID:$RLUID" "$RLDELEG" "$RLDELEG/cgroup.procs" "$RLDELEG/cgroup.subtree_control" "$RLDELEG/cgroup.threads" || return 1
  # The user makes its own leaf and moves into it, as its service manager does; from
  # there on its processes start in the leaf.
  rtu_setup_out="$(sh -c 'echo $$ >"$0/cgroup.procs" && exec su -s /bin/sh -c "mkdir \"\$0/shell\" && echo \$\$ >\"\$0/shell/cgroup.procs\"" -- '"$RLUSER"' "$0"' "$RLDELEG" 2>&1)" || {
    echo "# delegation setup as $RLUSER: $rtu_setup_out"
    return 1
  }
  [ "$(stat -c %u "$RLSHELL")" = "$RLUID" ]
}

t_rootless_delegated() {
  rl_user
  rl_sweep "$RLSLICE"
  if ! rl_delegate; then
    fail rootless-deleg-setup "could not delegate $RLDELEG to $RLUSER: $(ls -ln "$RLDELEG" 2>&1 | head -3)"
    rl_sweep "$RLSLICE"
    return
  fi
  ok rootless-deleg-setup
  id=rldeleg
  cgd=$RLDELEG/$id
  # No cgroupsPath: the id, below the parent of the runtime's own cgroup (rl-deleg).
  upu "$RLSHELL" rootless-deleg-run $id '["sh","-c","cat /sys/fs/cgroup/memory.max > /out/memory.max; cat /sys/fs/cgroup/pids.max > /out/pids.max; cat /proc/self/cgroup > /out/self.t; mv /out/self.t /out/self; exec sleep 1000"]' '{"memory": {"limit": 268435456}, "pids": {"limit": 100}}' "-" || {
    rl_down "$RLSHELL" $id
    rl_sweep "$RLSLICE"
    return
  }
  ok rootless-deleg-run
  pid="$(rl_pid "$RLSHELL" $id)"
  expect rootless-deleg-cgroup "$(sed -n 's/^0:://p' /proc/$pid/cgroup 2>/dev/null)" "${cgd#$CG}"
  expect rootless-deleg-cgroup-owner "$(stat -c %u "$cgd" 2>&1)" $RLUID
  expect rootless-deleg-memory.max "$(cgf "$cgd" memory.max)" 268435456
  expect rootless-deleg-pids.max "$(cgf "$cgd" pids.max)" 100
  if wait_for has_file "$B/$id/out/self"; then
    expect rootless-deleg-inside-cgroupns "$(oneline <"$B/$id/out/self")" "0::/"
    expect rootless-deleg-inside-memory.max "$(oneline <"$B/$id/out/memory.max" 2>&1)" 268435456
    expect rootless-deleg-inside-pids.max "$(oneline <"$B/$id/out/pids.max" 2>&1)" 100
  else
    fail rootless-deleg-inside-cgroupns "the container wrote nothing to /out within 5 s"
  fi
  if rtu "$RLSHELL" exec $id cat /proc/self/cgroup; then
    expect rootless-deleg-exec-joins "$(echo "$OUT" | oneline)" "0::/"
  else fail rootless-deleg-exec-joins "rc $RC: $OUT"; fi

  if rtu "$RLSHELL" update --memory 314572800 --pids-limit 50 $id; then ok rootless-deleg-update; else fail rootless-deleg-update "rc $RC: $OUT"; fi
  expect rootless-deleg-update-memory.max "$(cgf "$cgd" memory.max)" 314572800
  expect rootless-deleg-update-pids.max "$(cgf "$cgd" pids.max)" 50
  if rtu "$RLSHELL" exec $id cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max; then
    expect rootless-deleg-update-inside "$(echo "$OUT" | oneline)" "314572800 50"
  else fail rootless-deleg-update-inside "rc $RC: $OUT"; fi

  if rtu "$RLSHELL" pause $id; then ok rootless-deleg-pause; else fail rootless-deleg-pause "rc $RC: $OUT"; fi
  expect rootless-deleg-pause-cgroup.freeze "$(cgf "$cgd" cgroup.freeze)" 1
  wait_for rl_frozen "$cgd" 1
  expect rootless-deleg-pause-events-frozen "$(sed -n 's/^frozen //p' "$cgd/cgroup.events" 2>&1)" 1
  expect rootless-deleg-pause-state "$(rl_status "$RLSHELL" $id)" paused
  if rtu "$RLSHELL" resume $id; then ok rootless-deleg-resume; else fail rootless-deleg-resume "rc $RC: $OUT"; fi
  expect rootless-deleg-resume-cgroup.freeze "$(cgf "$cgd" cgroup.freeze)" 0
  expect rootless-deleg-resume-state "$(rl_status "$RLSHELL" $id)" running

  rtu "$RLSHELL" kill $id KILL
  wait_for rl_is_status "$RLSHELL" $id stopped
  if rtu "$RLSHELL" delete $id; then ok rootless-deleg-delete; else fail rootless-deleg-delete "rc $RC: $OUT"; fi
  if [ -d "$cgd" ]; then fail rootless-deleg-delete-cgroup "$cgd still exists after delete"; else ok rootless-deleg-delete-cgroup; fi
  left="$(find "$RLDELEG" -mindepth 1 -type d; ls "$RLXDG/$RUNTIME" 2>/dev/null)"
  expect rootless-deleg-nothing-left "$(echo "$left" | oneline)" "$RLSHELL"
  rl_down "$RLSHELL" $id

  # A controller the parent does not delegate (hugetlb): refused in one line, and the
  # cgroup the user could make is gone again.
  id=rlhuge
  mkbundle_rl $id "$SLEEP" '{"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}' "-"
  if rtu "$RLSHELL" run -d --bundle "$B/$id" $id; then
    fail rootless-deleg-undelegated-controller "hugepageLimits accepted though hugetlb is not delegated: $(ls "$RLDELEG/$id" 2>&1 | grep hugetlb | head -3 | oneline)"
  else
    echo "# $RUNTIME with an undelegated controller: $OUT"
    n="$(printf '%s\n' "$OUT" | grep -c .)"
    if [ "$n" = 1 ]; then ok rootless-deleg-undelegated-controller; else fail rootless-deleg-undelegated-controller "want one line, got $n (rc $RC): $OUT"; fi
  fi
  left="$(find "$RLDELEG" -mindepth 1 -type d; ls "$RLXDG/$RUNTIME" 2>/dev/null; cat "$RLSHELL/cgroup.procs")"
  expect rootless-deleg-undelegated-controller-nothing-left "$(echo "$left" | oneline)" "$RLSHELL"
  rl_down "$RLSHELL" $id

  # The runtime outside the subtree (in root's rl-nodeleg): the user may make a cgroup in
  # the subtree, but not move the container there (no common ancestor of its own).
  mkdir -p "$RLNODELEG"
  id=rlout
  mkbundle_rl $id "$SLEEP" '{"pids": {"limit": 33}}' "${RLDELEG#$CG}/$id"
  if rtu "$RLNODELEG" run -d --bundle "$B/$id" $id; then
    fail rootless-outside-subtree-refused "ran though the runtime in $RLNODELEG may not move it into $RLDELEG/$id"
  else
    echo "# $RUNTIME outside the delegated subtree: $OUT"
    n="$(printf '%s\n' "$OUT" | grep -c .)"
    if [ "$n" = 1 ]; then ok rootless-outside-subtree-refused; else fail rootless-outside-subtree-refused "want one line, got $n (rc $RC): $OUT"; fi
    if [ "$RUNTIME" = dx-runtime ]; then
      case "$OUT" in *linux.resources.pids.limit*"common ancestor"*) ok rootless-outside-subtree-named ;; *) fail rootless-outside-subtree-named "the error does not say why: $OUT" ;; esac
    fi
  fi
  left="$(find "$RLDELEG" -mindepth 1 -type d; ls "$RLXDG/$RUNTIME" 2>/dev/null; cat "$RLNODELEG/cgroup.procs")"
  expect rootless-outside-subtree-nothing-left "$(echo "$left" | oneline)" "$RLSHELL"
  rl_down "$RLNODELEG" $id
  # Asking no limits, dx-runtime runs it in its own cgroup, as where none can be made
  # (runc 1.1.5 fails on the cgroup.procs write).
  if [ "$RUNTIME" = dx-runtime ]; then
    id=rlout0
    if upu "$RLNODELEG" rootless-outside-subtree-no-limits $id "$SLEEP" '{}' "${RLDELEG#$CG}/$id"; then
      pid="$(rl_pid "$RLNODELEG" $id)"
      expect rootless-outside-subtree-no-limits "$(sed -n 's/^0:://p' /proc/$pid/cgroup 2>/dev/null)" "${RLNODELEG#$CG}"
      if [ -d "$RLDELEG/$id" ]; then fail rootless-outside-subtree-no-limits-no-cgroup "$RLDELEG/$id was left for a container that is not in it"; else ok rootless-outside-subtree-no-limits-no-cgroup; fi
    fi
    rl_down "$RLNODELEG" $id
  fi
  rl_sweep "$RLNODELEG"
  rl_sweep "$RLSLICE"
}

t_rootless_undelegated() {
  rl_user
  rl_sweep "$RLNODELEG"
  # Root's cgroup, nothing in it the user may write.
  mkdir -p "$RLNODELEG"
  id=rlnd
  if upu "$RLNODELEG" rootless-nodeleg-run $id "$SLEEP" '{}' "-"; then
    expect rootless-nodeleg-run "$(rl_status "$RLNODELEG" $id)" running
    pid="$(rl_pid "$RLNODELEG" $id)"
    expect rootless-nodeleg-runtime-cgroup "$(sed -n 's/^0:://p' /proc/$pid/cgroup 2>/dev/null)" "${RLNODELEG#$CG}"
    if rtu "$RLNODELEG" delete -f $id; then ok rootless-nodeleg-delete; else fail rootless-nodeleg-delete "rc $RC: $OUT"; fi
  fi
  rl_down "$RLNODELEG" $id

  id=rlndmem
  mkbundle_rl $id "$SLEEP" '{"memory": {"limit": 268435456}}' "-"
  if rtu "$RLNODELEG" run -d --bundle "$B/$id" $id; then
    fail rootless-nodeleg-limit-refused "a memory limit was accepted with no cgroup to hold it: $(cgf "$CG/$id" memory.max)"
  else
    n="$(printf '%s\n' "$OUT" | grep -c .)"
    if [ "$n" = 1 ]; then ok rootless-nodeleg-limit-refused; else fail rootless-nodeleg-limit-refused "want one line, got $n (rc $RC): $OUT"; fi
    echo "# $RUNTIME without a delegated cgroup: $OUT"
    if [ "$RUNTIME" = dx-runtime ]; then
      case "$OUT" in *linux.resources.memory.limit*) ok rootless-nodeleg-limit-named ;; *) fail rootless-nodeleg-limit-named "the error does not name the limit: $OUT" ;; esac
    fi
  fi
  left="$(ls -d "$RLXDG/$RUNTIME/$id" "$CG/$id" "$RLNODELEG"/*/ 2>/dev/null; cat "$RLNODELEG/cgroup.procs")"
  expect rootless-nodeleg-nothing-left "$(echo "$left" | oneline)" ""
  rl_down "$RLNODELEG" $id
  rl_sweep "$RLNODELEG"
}

# --- an existing cgroup: frozen is refused, non-empty is shared (runc 1.1) ----------
t_frozen_cgroup() {
  id=frozen
  mkdir -p "$(cgdir $id)"
  echo 1 >"$(cgdir $id)/cgroup.freeze"
  mkbundle $id "$SLEEP"
  # A runtime that hangs here is the failure: it is cut short sooner than others.
  saved=$CMD_TIMEOUT
  CMD_TIMEOUT=20
  rt run -d --bundle "$B/$id" $id
  CMD_TIMEOUT=$saved
  case "$RC:$OUT" in
    1:*"container's cgroup unexpectedly frozen"*) ok frozen-cgroup-refused ;;
    *) fail frozen-cgroup-refused "rc $RC: $OUT" ;;
  esac
  if rt state $id; then fail frozen-cgroup-nothing-left "state answers: $OUT"; else ok frozen-cgroup-nothing-left; fi
  expect frozen-cgroup-left-frozen "$(cgfile $id cgroup.freeze)" 1
  echo 0 >"$(cgdir $id)/cgroup.freeze"
  down $id
  rmdir "$(cgdir $id)" 2>/dev/null
}

alive() { [ -d "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

t_shared_cgroup() {
  up shared-cgroup-first share1 "$SLEEP" '{}' "" "/$PARENT/shared" || { down share1; return; }
  mkbundle share2 "$SLEEP" '{}' "" "/$PARENT/shared"
  if rt run -d --bundle "$B/share2" share2; then
    case "$OUT" in
      *"container's cgroup is not empty: 1 process(es) found"*) ok shared-cgroup-warns ;;
      *) fail shared-cgroup-warns "no warning: $OUT" ;;
    esac
  else
    fail shared-cgroup-warns "rc $RC: $OUT"
  fi
  p1="$(pid_of share1)"
  p2="$(pid_of share2)"
  rt delete -f share1
  if alive "$p2" && [ "$(status_of share2)" = running ]; then ok shared-cgroup-delete-spares-other; else
    fail shared-cgroup-delete-spares-other "deleting share1 took share2's init $p2 too"
  fi
  if alive "$p1"; then fail shared-cgroup-delete-own "share1's init $p1 still alive"; else ok shared-cgroup-delete-own; fi
  down share2
  if [ -d "$CG/$PARENT/shared" ]; then fail shared-cgroup-removed-last "$CG/$PARENT/shared left behind"; else ok shared-cgroup-removed-last; fi
  down share1
}

# --- events: an OOM kill in memory.events is an oom event --------------------------
has_oom_event() { grep -q "{\"type\":\"oom\",\"id\":\"$1\"}" "$B/$1/events.log" 2>/dev/null; }

t_events_oom() {
  id=evoom
  up events-oom $id "$SLEEP" '{"memory": {"limit": 33554432, "swap": 33554432}}' || { down $id; return; }
  timeout -s KILL 60 "$RT" events $id >"$B/$id/events.log" 2>&1 </dev/null &
  evpid=$!
  wait_for has_file "$B/$id/events.log"
  rt exec -d $id sh -c 'x=$(yes)' || fail events-oom-exec "rc $RC: $OUT"
  # Filling 32M takes a while under emulation on a busy host.
  # (wait_for counts in $i.)
  n=0
  while [ $n -lt 6 ] && ! wait_for has_oom_event $id; do n=$((n + 1)); done
  if has_oom_event $id; then ok events-oom; else
    fail events-oom "no oom line: memory.events '$(cgfile $id memory.events)'; events: $(head -c 300 "$B/$id/events.log")"
  fi
  down $id
  wait $evpid 2>/dev/null
}

# --- exec --cgroup: a sub-cgroup of the container's --------------------------------
t_exec_subcgroup() {
  id=execsub
  up exec-subcgroup $id "$SLEEP" || { down $id; return; }
  rt exec --cgroup .. $id true
  case "$RC:$OUT" in
    0:*) fail exec-subcgroup-parent "exec --cgroup .. succeeded" ;;
    *" .. is not a sub cgroup path"*) ok exec-subcgroup-parent ;;
    *) fail exec-subcgroup-parent "rc $RC: $OUT" ;;
  esac
  rt exec --cgroup nonexistent $id true
  case "$RC:$OUT" in
    0:*) fail exec-subcgroup-missing "exec --cgroup nonexistent succeeded" ;;
    *" adding pid "*"/nonexistent/cgroup.procs: no such file "*) ok exec-subcgroup-missing ;;
    *) fail exec-subcgroup-missing "rc $RC: $OUT" ;;
  esac
  mkdir "$(cgdir $id)/sub"
  if rt exec --cgroup sub $id cat /proc/self/cgroup; then
    expect exec-subcgroup-joins "$(echo "$OUT" | oneline)" "0::/sub"
  else
    fail exec-subcgroup-joins "rc $RC: $OUT"
  fi
  down $id
  if [ -d "$(cgdir $id)" ]; then fail exec-subcgroup-removed "$(cgdir $id) left behind"; else ok exec-subcgroup-removed; fi
}

# With a domain controller handed down from the container's cgroup, the kernel takes no
# process there: exec joins the init's cgroup below it instead, unless --cgroup says.
t_exec_init_fallback() {
  id=execfb
  up exec-init-fallback $id "$SLEEP" || { down $id; return; }
  pid="$(pid_of $id)"
  mkdir "$(cgdir $id)/foo"
  echo "$pid" >"$(cgdir $id)/foo/cgroup.procs"
  if rt exec $id cat /proc/self/cgroup; then
    expect exec-init-fallback-no-controller "$(echo "$OUT" | oneline)" "0::/"
  else
    fail exec-init-fallback-no-controller "rc $RC: $OUT"
  fi
  echo +memory >"$(cgdir $id)/cgroup.subtree_control"
  if rt exec $id cat /proc/self/cgroup; then
    expect exec-init-fallback "$(echo "$OUT" | oneline)" "0::/foo"
  else
    fail exec-init-fallback "rc $RC: $OUT"
  fi
  rt exec --cgroup / $id true
  case "$RC:$OUT" in
    0:*) fail exec-init-fallback-cgroup-root "exec --cgroup / succeeded" ;;
    *" adding pid "*" to cgroups"*"/cgroup.procs: device or resource busy"*) ok exec-init-fallback-cgroup-root ;;
    *) fail exec-init-fallback-cgroup-root "rc $RC: $OUT" ;;
  esac
  echo -memory >"$(cgdir $id)/cgroup.subtree_control"
  down $id
  if [ -d "$(cgdir $id)" ]; then fail exec-init-fallback-removed "$(cgdir $id) left behind"; else ok exec-init-fallback-removed; fi
}

# --- checkpoint / restore through CRIU ----------------------------------------------
# A container that counts into /out (an external bind mount); its stdio is its own
# /dev/null, so CRIU finds no host file open in it.
COUNTER='["sh","-c","exec </dev/null >/dev/null 2>&1; i=0; while :; do i=$((i+1)); echo $i > /out/count.t; mv /out/count.t /out/count; sleep 0.2; done"]'
count() { cat "$B/$1/out/count" 2>/dev/null || echo 0; }
count_above() { [ "$(count "$1")" -gt "$2" ] 2>/dev/null; }
gone() { ! rt state "$1"; }
# criu_log LOG: CRIU's errors and warnings, then the log's last lines: some failures
# (a kernel request refused, a helper tool missing) leave no "Error" line of their own.
criu_log() {
  grep -h "Error (\|Warn" "$@" 2>/dev/null | grep -v "Diag module\|tun.c\|veth\|libnetlink" | tail -12 | cut -c1-200 | sed "s/^/# criu: /" >&2
  tail -n 15 "$@" 2>/dev/null | cut -c1-200 | sed "s/^/# criu log: /" >&2
}

# cr_restore NAME ID [ARGS...]: restore -d from $B/ID/img; checks running, counting on,
# in its cgroup, and exec.
cr_restore() {
  name=$1
  id=$2
  shift 2
  if ! rt restore -d --bundle "$B/$id" --image-path "$B/$id/img" --work-path "$B/$id/work" "$@" $id; then
    fail "$name" "restore (rc $RC): $OUT $(criu_log "$B/$id/work/restore.log")"
    return 1
  fi
  expect "$name-running" "$(status_of $id)" running
  c=$(count $id)
  if wait_for count_above $id "$c"; then ok "$name-counts-on"; else fail "$name-counts-on" "count stayed at $c after restore"; fi
  pid="$(pid_of $id)"
  if grep -qx "$pid" "$(cgdir $id)/cgroup.procs" 2>/dev/null; then ok "$name-cgroup"; else
    fail "$name-cgroup" "pid $pid not in $(cgdir $id)/cgroup.procs: $(cat /proc/$pid/cgroup 2>&1)"
  fi
  if rt exec $id echo ok && [ "$OUT" = ok ]; then ok "$name-exec"; else fail "$name-exec" "rc $RC: $OUT"; fi
  return 0
}

t_checkpoint() {
  id=cr
  up checkpoint $id "$COUNTER" '{"pids": {"limit": 100}}' || { down $id; return; }
  wait_for count_above $id 2 || { fail checkpoint "the container did not count: $(count $id)"; down $id; return; }
  masked_before $id
  start=$(date +%s)
  if rt checkpoint --image-path "$B/$id/img" --work-path "$B/$id/work" $id; then ok checkpoint; else
    fail checkpoint "rc $RC: $OUT $(criu_log "$B/$id/work/dump.log")"
    down $id
    return
  fi
  echo "# checkpoint took $(($(date +%s) - start)) s"
  if gone $id; then ok checkpoint-container-gone; else fail checkpoint-container-gone "state after checkpoint: $OUT"; fi
  if [ -d "$(cgdir $id)" ]; then fail checkpoint-cgroup-removed "$(cgdir $id) left"; else ok checkpoint-cgroup-removed; fi
  c=$(count $id)
  sleep 1
  expect checkpoint-stopped-counting "$(count $id)" "$c"
  start=$(date +%s)
  cr_restore restore $id && echo "# restore took $(($(date +%s) - start)) s"
  masked_after $id
  expect restore-pids-limit "$(cgfile $id pids.max)" 100
  # Twice, as runc's checkpoint.bats does: a restored container checkpoints again.
  if rt checkpoint --image-path "$B/$id/img2" --work-path "$B/$id/work" $id; then ok checkpoint-again; else
    fail checkpoint-again "rc $RC: $OUT $(criu_log "$B/$id/work/dump.log")"
  fi
  rm -rf "$B/$id/img" && mv "$B/$id/img2" "$B/$id/img"
  cr_restore restore-again $id
  down $id
}

t_checkpoint_leave_running() {
  id=crl
  up checkpoint-leave-running $id "$COUNTER" || { down $id; return; }
  wait_for count_above $id 2
  if rt checkpoint --leave-running --image-path "$B/$id/img" --work-path "$B/$id/work" $id; then ok checkpoint-leave-running; else
    fail checkpoint-leave-running "rc $RC: $OUT $(criu_log "$B/$id/work/dump.log")"
  fi
  expect checkpoint-leave-running-state "$(status_of $id)" running
  c=$(count $id)
  if wait_for count_above $id "$c"; then ok checkpoint-leave-running-counts; else fail checkpoint-leave-running-counts "count stayed at $c"; fi
  down $id
  # The images restore a container of the same name once the first is gone; restore
  # runs the prestart and createRuntime hooks with the restored pid, as runc does.
  hk() { echo "{\"path\": \"/bin/sh\", \"args\": [\"sh\", \"-c\", \"cat > $B/$id/hook.$1\"]}"; }
  sed -i "s|\"ociVersion\": \"1.0.2\",|&\n  \"hooks\": {\"prestart\": [$(hk prestart)], \"createRuntime\": [$(hk createRuntime)]},|" "$B/$id/config.json"
  rm -f "$B/$id"/hook.*
  cr_restore restore-after-leave-running $id
  pid="$(pid_of $id)"
  for h in prestart createRuntime; do
    if grep -q "\"pid\": *$pid[,}]" "$B/$id/hook.$h" 2>/dev/null; then ok "restore-hook-$h"; else
      fail "restore-hook-$h" "pid $pid not in the hook's state: $(cat "$B/$id/hook.$h" 2>&1)"
    fi
  done
  down $id
}

t_checkpoint_predump() {
  id=crp
  up checkpoint-pre-dump $id "$COUNTER" || { down $id; return; }
  wait_for count_above $id 2
  mkdir -p "$B/$id/parent"
  if rt checkpoint --pre-dump --image-path "$B/$id/parent" $id; then ok checkpoint-pre-dump; else
    fail checkpoint-pre-dump "rc $RC: $OUT $(criu_log "$B/$id/parent/dump.log")"
  fi
  expect checkpoint-pre-dump-running "$(status_of $id)" running
  if rt checkpoint --parent-path ../parent --image-path "$B/$id/img" --work-path "$B/$id/work" $id; then ok checkpoint-parent-path; else
    fail checkpoint-parent-path "rc $RC: $OUT $(criu_log "$B/$id/work/dump.log")"
  fi
  if [ -e "$B/$id/img/parent" ]; then ok checkpoint-parent-link; else fail checkpoint-parent-link "no $B/$id/img/parent"; fi
  if gone $id; then ok checkpoint-parent-gone; else fail checkpoint-parent-gone "state: $OUT"; fi
  cr_restore restore-from-pre-dump $id
  # A parent path that is absolute or missing is refused before CRIU runs.
  rt checkpoint --parent-path /abs --image-path "$B/$id/img3" $id
  case "$OUT" in *--parent-path*) ok checkpoint-parent-path-absolute ;; *) fail checkpoint-parent-path-absolute "rc $RC: $OUT" ;; esac
  rt checkpoint --parent-path ./nope --image-path "$B/$id/img3" $id
  case "$RC:$OUT" in 0:*) fail checkpoint-parent-path-missing "accepted" ;; *--parent-path*) ok checkpoint-parent-path-missing ;; *) fail checkpoint-parent-path-missing "rc $RC: $OUT" ;; esac
  expect checkpoint-parent-path-bad-still-running "$(status_of $id)" running
  down $id
}

tty_lines() { grep -c tick "$1" 2>/dev/null || echo 0; }
tty_above() { [ "$(tty_lines "$1")" -gt "$2" ]; }

t_checkpoint_tty() {
  id=crt
  mkbundle $id '["sh","-c","i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.2; done"]'
  sed -i 's/"terminal": false/"terminal": true/' "$B/$id/config.json"
  sock="$B/$id.sock"
  log="$B/$id/tty.log"
  recvtty "$sock" "$log" &
  rpid=$!
  wait_for test -S "$sock"
  if ! rt run -d --console-socket "$sock" --bundle "$B/$id" $id; then
    fail checkpoint-tty "run (rc $RC): $OUT"
    kill $rpid
    down $id
    return
  fi
  wait_for tty_above "$log" 2
  if rt checkpoint --image-path "$B/$id/img" --work-path "$B/$id/work" $id; then ok checkpoint-tty; else
    fail checkpoint-tty "rc $RC: $OUT $(criu_log "$B/$id/work/dump.log")"
    kill $rpid
    down $id
    return
  fi
  n=$(tty_lines "$log")
  if rt restore -d --console-socket "$sock" --bundle "$B/$id" --image-path "$B/$id/img" --work-path "$B/$id/work" $id; then ok restore-tty; else
    fail restore-tty "rc $RC: $OUT $(criu_log "$B/$id/work/restore.log")"
  fi
  expect restore-tty-running "$(status_of $id)" running
  if wait_for tty_above "$log" "$n"; then ok restore-tty-output; else fail restore-tty-output "no new output on the new pty master after $n lines"; fi
  kill $rpid
  down $id
}

t_checkpoint_errors() {
  id=cre
  mkbundle $id "$COUNTER"
  if rt create --bundle "$B/$id" $id; then
    rt checkpoint --image-path "$B/$id/img" $id
    case "$RC:$OUT" in 0:*) fail checkpoint-created-refused "accepted" ;; *created*) ok checkpoint-created-refused ;; *) fail checkpoint-created-refused "rc $RC: $OUT" ;; esac
  else fail checkpoint-created-refused "create: $OUT"; fi
  down $id
  rt restore -d --bundle "$B/$id" --image-path "$B/$id/none" $id
  if [ $RC -ne 0 ] && gone $id && [ ! -d "$(cgdir $id)" ]; then ok restore-no-images-nothing-left; else fail restore-no-images-nothing-left "rc $RC: $OUT"; fi
  down $id
}

# --- what a checkpoint keeps, and CRIU's dump options ---------------------------------
# wait_long COND_CMD...: polls for up to 60 s (a CRIU run under TCG takes several).
wait_long() {
  i=0
  while [ $i -lt 300 ]; do
    "$@" && return 0
    sleep 0.2
    i=$((i + 1))
  done
  return 1
}
# cr_cycle NAME ID DUMP_ARGS -- RESTORE_ARGS: checkpoint, then cr_restore; 1 if either fails.
cr_cycle() {
  name=$1
  id=$2
  shift 2
  dargs=
  while [ $# -gt 0 ] && [ "$1" != -- ]; do dargs="$dargs $1"; shift; done
  [ "${1:-}" = -- ] && shift
  # shellcheck disable=SC2086
  cr_dump "$name" $id $dargs || return 1
  cr_restore "$name-restore" $id "$@"
}
# cr_dump NAME ID ARG...: a checkpoint with ARGs into $B/ID/img, ok or failed as NAME.
cr_dump() {
  name=$1
  id=$2
  shift 2
  rm -rf "$B/$id/img"
  if rt checkpoint "$@" --image-path "$B/$id/img" --work-path "$B/$id/work" $id; then ok "$name"; else
    fail "$name" "rc $RC: $OUT $(criu_log "$B/$id/work/dump.log")"
    return 1
  fi
}
# dump_refused NAME ID WHAT: a checkpoint without an option fails with CRIU naming WHAT
# in its log, and leaves the container running.
dump_refused() {
  rm -rf "$B/$2/img" "$B/$2/work"
  if rt checkpoint --image-path "$B/$2/img" --work-path "$B/$2/work" $2; then fail "$1" "dumped without the option"; return; fi
  if grep -q -e "$3" "$B/$2/work/dump.log" && is_status $2 running; then ok "$1"; else
    fail "$1" "rc $RC: $OUT; state $(status_of $2); $(grep -h "Error" "$B/$2/work/dump.log" 2>/dev/null | tail -3)"
  fi
}
ns_ino() { stat -L -c %i "$1" 2>/dev/null; }
# mknetns NAME CHECK: a network namespace at /run/netns/NAME, loopback up; else fails
# CHECK. iproute2's ip by path: busybox's sh runs its own applet for a bare `ip`.
mknetns() {
  /bin/ip netns del $1 2>/dev/null
  if ! out="$(/bin/ip netns add $1 2>&1 && nsenter --net=/run/netns/$1 /bin/ip link set lo up 2>&1)"; then
    fail "$2" "ip netns add $1: $out"
    return 1
  fi
}

# A network namespace joined by path is external to the dump: the restored init is back
# in that very namespace, each time (runc's "in external network namespace").
t_checkpoint_netns() {
  id=crn
  mknetns crn checkpoint-netns || return
  ino=$(ns_ino /run/netns/crn)
  NAMESPACES='[{"type": "pid"}, {"type": "network", "path": "/run/netns/crn"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}]'
  up checkpoint-netns $id "$COUNTER" || { NAMESPACES=; down $id; /bin/ip netns del crn; return; }
  NAMESPACES=
  wait_for count_above $id 2
  expect checkpoint-netns-joined "$(ns_ino /proc/$(pid_of $id)/ns/net)" "$ino"
  for n in 1 2; do
    cr_cycle checkpoint-netns-$n $id || break
    expect checkpoint-netns-$n-same-ns "$(ns_ino /proc/$(pid_of $id)/ns/net)" "$ino"
  done
  down $id
  /bin/ip netns del crn
}

# The mount table as the container sees it, without what a new mount changes (ids,
# device numbers, the order of siblings): root, mount point, options, type, source,
# super options.
mounts_of() {
  rt exec $1 sh -c 'sed "s/^[^ ]* [^ ]* [^ ]* \([^ ]*\) \([^ ]*\) \([^ ]*\).* - /\1 \2 \3 /" /proc/self/mountinfo | sort' && echo "$OUT" | sed 's/,nsdelegate$//'
}
# Left out of the comparison: the root (checked on its own), the masked files, which a
# restore binds from the host's /dev/null as runc does, not the container's, and the
# cgroup2 mount's nsdelegate, which it lists no more after a restore by either runtime.
OTHER_MOUNTS="^$ROOTFS / \|^/null "
masked_state() {
  rt exec $1 sh -c 'echo kcore $(wc -c </proc/kcore) timer_list $(wc -c </proc/timer_list) firmware $(ls -A /sys/firmware | wc -l); echo vmt 2>&1 >/proc/sys/kernel/hostname || true'
  echo "$OUT" | oneline
}
# Masked and read-only paths are still so after a restore, a read-only root too, the
# other mounts as they were: masked_before ID before the checkpoint, masked_after ID
# after the restore.
WANT_MASKED="kcore 0 timer_list 0 firmware 0 sh: can't create /proc/sys/kernel/hostname: Read-only file system"
masked_before() {
  echo "# host /sys/firmware: $(ls /sys/firmware | oneline)"
  expect checkpoint-masked-before "$(masked_state $1)" "$WANT_MASKED"
  mounts_of $1 | grep -v "$OTHER_MOUNTS" >"$B/$1/mounts.before"
}
masked_after() {
  expect checkpoint-masked-after "$(masked_state $1)" "$WANT_MASKED"
  root="$(mounts_of $1 | grep "^$ROOTFS / ")"
  case "$root" in
    *" / ro,"*) ok checkpoint-masked-root-readonly ;;
    # runc 1.1.5 gives CRIU its rootfs bind mounted read-write, and CRIU keeps the root as given.
    *) if [ "$RUNTIME" = runc ]; then skip checkpoint-masked-root-readonly "runc 1.1.5 restores the root read-write: $root"; else fail checkpoint-masked-root-readonly "$root"; fi ;;
  esac
  mounts_of $1 | grep -v "$OTHER_MOUNTS" >"$B/$1/mounts.after"
  if [ -s "$B/$1/mounts.before" ] && cmp -s "$B/$1/mounts.before" "$B/$1/mounts.after"; then ok checkpoint-masked-mounts; else
    fail checkpoint-masked-mounts "$(diff "$B/$1/mounts.before" "$B/$1/mounts.after" | grep '^[-+][^-+]')"
  fi
}

# --tcp-established: a connection on loopback, between two of the container's
# processes, carries on after a restore. The namespace is one joined by path, whose
# loopback is up: CRIU restores a namespace of the container's own empty (--empty-ns
# network, always), and the connection back would find no route.
recv_lines() { cat "$B/$1/out/recv" 2>/dev/null | wc -l; }
recv_above() { [ "$(recv_lines "$1")" -gt "$2" ]; }
t_checkpoint_tcp() {
  id=crtcp
  mknetns crtcp checkpoint-tcp || return
  NAMESPACES='[{"type": "pid"}, {"type": "network", "path": "/run/netns/crtcp"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}]'
  up checkpoint-tcp $id '["sh","-c","exec </dev/null >/dev/null 2>&1; sleep 1000000 | nc -l -p 5000 >/out/recv & sleep 1; i=0; while :; do i=$((i+1)); echo $i; sleep 0.2; done | nc 127.0.0.1 5000"]' || { NAMESPACES=; down $id; /bin/ip netns del crtcp; return; }
  NAMESPACES=
  wait_for recv_above $id 2 || { fail checkpoint-tcp "no data over the connection: $(recv_lines $id) lines"; down $id; /bin/ip netns del crtcp; return; }
  dump_refused checkpoint-tcp-needs-option $id "tcp-established"
  rm -rf "$B/$id/img"
  if rt checkpoint --tcp-established --image-path "$B/$id/img" --work-path "$B/$id/work" $id; then ok checkpoint-tcp; else
    fail checkpoint-tcp "rc $RC: $OUT $(criu_log "$B/$id/work/dump.log")"
    down $id
    /bin/ip netns del crtcp
    return
  fi
  n=$(recv_lines $id)
  if rt restore -d --tcp-established --bundle "$B/$id" --image-path "$B/$id/img" --work-path "$B/$id/work" $id; then ok checkpoint-tcp-restore; else
    fail checkpoint-tcp-restore "rc $RC: $OUT $(criu_log "$B/$id/work/restore.log")"
    down $id
    /bin/ip netns del crtcp
    return
  fi
  # CRIU 3.17 leaves its network lock (a CRIU chain that drops all but its own packets)
  # in a namespace it did not restore itself, for runc as for dx-runtime: lifted here.
  if nsenter --net=/run/netns/crtcp iptables-save 2>/dev/null | grep -q -- "-A CRIU -j DROP"; then
    printf '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n' | nsenter --net=/run/netns/crtcp iptables-restore
  fi
  if wait_long recv_above $id "$n"; then ok checkpoint-tcp-connection-carries-on; else
    fail checkpoint-tcp-connection-carries-on "stayed at $n lines; $(nsenter --net=/run/netns/crtcp iptables-save 2>&1 | oneline); $(nsenter --net=/run/netns/crtcp netstat -tn 2>&1 | oneline)"
  fi
  down $id
  /bin/ip netns del crtcp
}

# --ext-unix-sk: a datagram socket connected to a host socket (syslog's case) is
# connected again after a restore. CRIU finds a socket's peer through sock_diag, which
# sees one network namespace: the container joins the receiver's by path.
dgrams() { cat "$B/$1/dgrams" 2>/dev/null || echo 0; }
dgrams_above() { [ "$(dgrams "$1")" -gt "$2" ]; }
t_checkpoint_unix() {
  id=cru
  mknetns cru checkpoint-ext-unix-sk || return
  NAMESPACES='[{"type": "pid"}, {"type": "network", "path": "/run/netns/cru"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}]'
  mkbundle $id '["sh","-c","exec </dev/null >/dev/null 2>&1; exec crtool dgram-send /run/cru/log.sock"]'
  NAMESPACES=
  # CRIU connects again to the name the peer has in its own mount namespace: the
  # container sees the socket at the same path.
  mkdir -p /run/cru
  sed -i 's|{"destination": "/out"|{"destination": "/run/cru", "type": "bind", "source": "/run/cru", "options": ["rbind", "rw"]},\n    &|' "$B/$id/config.json"
  nsenter --net=/run/netns/cru crtool dgram-recv /run/cru/log.sock "$B/$id/dgrams" &
  rpid=$!
  wait_for test -S /run/cru/log.sock
  if ! rt run -d --bundle "$B/$id" $id; then fail checkpoint-ext-unix-sk "run (rc $RC): $OUT"; kill $rpid; down $id; return; fi
  wait_for dgrams_above $id 2 || { fail checkpoint-ext-unix-sk "no datagrams: $(dgrams $id)"; kill $rpid; down $id; return; }
  dump_refused checkpoint-ext-unix-sk-needs-option $id "ext-unix-sk"
  rm -rf "$B/$id/img"
  if rt checkpoint --ext-unix-sk --image-path "$B/$id/img" --work-path "$B/$id/work" $id; then ok checkpoint-ext-unix-sk; else
    fail checkpoint-ext-unix-sk "rc $RC: $OUT $(criu_log "$B/$id/work/dump.log")"
    kill $rpid
    down $id
    return
  fi
  n=$(dgrams $id)
  if rt restore -d --ext-unix-sk --bundle "$B/$id" --image-path "$B/$id/img" --work-path "$B/$id/work" $id; then ok checkpoint-ext-unix-sk-restore; else
    fail checkpoint-ext-unix-sk-restore "rc $RC: $OUT $(criu_log "$B/$id/work/restore.log")"
  fi
  if wait_for dgrams_above $id "$n"; then ok checkpoint-ext-unix-sk-sends-on; else fail checkpoint-ext-unix-sk-sends-on "stayed at $n datagrams"; fi
  kill $rpid
  down $id
  /bin/ip netns del cru
  rm -rf /run/cru
}

# --shell-job: the container's stdio is a tty from outside it (a pty whose master the
# test holds). CRIU 3.17 looks the pts up by the mount it comes from, which is not in the
# container's mount namespace: the dump fails, with --shell-job or without, for runc as
# for dx-runtime (an outside tty wants `--external tty[rdev:dev]` and an inherited fd on
# restore, which runc 1.1 does not pass). The container runs on.
t_checkpoint_shell_job() {
  id=crsj
  mkbundle $id '["sh","-c","i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.2; done"]'
  crtool pty "$B/$id/tty.log" "$RT" run -d --bundle "$B/$id" $id &
  p1=$!
  if ! wait_for tty_above "$B/$id/tty.log" 2; then fail checkpoint-shell-job "no output on the pty: $(oneline <"$B/$id/tty.log")"; kill $p1; down $id; return; fi
  for o in "" --shell-job; do
    n=checkpoint${o#-}-outside-tty-refused
    rm -rf "$B/$id/img" "$B/$id/work"
    # shellcheck disable=SC2086
    if rt checkpoint $o --image-path "$B/$id/img" --work-path "$B/$id/work" $id; then fail $n "dumped"; continue; fi
    if grep -q "Can't lookup mount=[0-9]* for fd=0 path=/dev/pts/" "$B/$id/work/dump.log" && is_status $id running; then ok $n; else
      fail $n "rc $RC: $OUT; state $(status_of $id); $(grep -h Error "$B/$id/work/dump.log" 2>/dev/null | tail -3)"
    fi
  done
  down $id
  kill $p1
}

# --page-server: the pages go to a `criu page-server`, the rest to the image dir; the
# restore reads both, put together.
t_checkpoint_page_server() {
  id=crps
  up checkpoint-page-server $id "$COUNTER" || { down $id; return; }
  wait_for count_above $id 2
  mkdir -p "$B/$id/pages"
  criu page-server --images-dir "$B/$id/pages" --port 27271 -o "$B/$id/pages/ps.log" -v4 &
  pspid=$!
  sleep 0.5
  if rt checkpoint --page-server 127.0.0.1:27271 --image-path "$B/$id/img" --work-path "$B/$id/work" $id; then ok checkpoint-page-server; else
    fail checkpoint-page-server "rc $RC: $OUT $(criu_log "$B/$id/work/dump.log" "$B/$id/pages/ps.log")"
    kill $pspid
    down $id
    return
  fi
  wait $pspid
  if ls "$B/$id/pages"/pages-*.img >/dev/null 2>&1 && ! ls "$B/$id/img"/pages-*.img >/dev/null 2>&1; then ok checkpoint-page-server-pages-there; else
    fail checkpoint-page-server-pages-there "server: $(ls "$B/$id/pages" | oneline); images: $(ls "$B/$id/img" | oneline)"
  fi
  cp "$B/$id/pages"/*.img "$B/$id/img/"
  cr_restore checkpoint-page-server-restore $id
  down $id
}

# --lazy-pages with --status-fd: the dump serves the pages from a page server once the
# status fd says so; `criu lazy-pages` feeds them to a restore as the memory is touched.
t_checkpoint_lazy() {
  id=crz
  if criu check --feature uffd-noncoop >"$B/.uffd" 2>&1; then echo "# criu: uffd-noncoop supported"; else echo "# criu: uffd-noncoop: $(oneline <"$B/.uffd")"; fi
  up checkpoint-lazy-pages $id "$COUNTER" || { down $id; return; }
  wait_for count_above $id 2
  mkfifo "$B/$id/status"
  # Write-only, as runc's checkpoint.bats passes it: runc 1.1 takes O_RDWR for "not writable".
  exec 7<>"$B/$id/status" 8>"$B/$id/status"
  timeout -s KILL 120 "$RT" checkpoint --lazy-pages --page-server 0.0.0.0:27272 --status-fd 8 --image-path "$B/$id/img" --work-path "$B/$id/work" $id </dev/null >"$B/$id/cpt.out" 2>&1 &
  cpid=$!
  exec 8>&-
  st="$(timeout 60 dd bs=1 count=1 <&7 2>/dev/null | od -An -tx1 | tr -d ' ')"
  exec 7>&-
  if [ "$st" = 00 ]; then ok checkpoint-lazy-pages-status-fd; else
    wait $cpid
    fail checkpoint-lazy-pages-status-fd "read '$st'; checkpoint: $(oneline <"$B/$id/cpt.out") $(criu_log "$B/$id/work/dump.log")"
    down $id
    return
  fi
  # The daemon's socket is in its work dir, which the restore's must be too.
  timeout -s KILL 120 criu lazy-pages --page-server --address 127.0.0.1 --port 27272 -D "$B/$id/img" -o lazy.log -v4 &
  lpid=$!
  # The dumped container lives on until its last page is served: the restore is another.
  r=${id}r
  mkdir -p "$B/$r"
  sed "s|\"/$PARENT/$id\"|\"/$PARENT/$r\"|" "$B/$id/config.json" >"$B/$r/config.json"
  if rt restore -d --lazy-pages --bundle "$B/$r" --image-path "$B/$id/img" --work-path "$B/$id/img" $r; then ok checkpoint-lazy-pages-restore; else
    fail checkpoint-lazy-pages-restore "rc $RC: $OUT $(criu_log "$B/$id/img/restore.log" "$B/$id/img/lazy.log")"
    kill $cpid $lpid
  fi
  wait $cpid
  rc=$?
  if [ $rc = 0 ]; then ok checkpoint-lazy-pages-dump-done; else fail checkpoint-lazy-pages-dump-done "rc $rc: $(oneline <"$B/$id/cpt.out")"; fi
  wait $lpid
  if gone $id; then ok checkpoint-lazy-pages-source-gone; else fail checkpoint-lazy-pages-source-gone "state: $OUT"; fi
  expect checkpoint-lazy-pages-running "$(status_of $r)" running
  c=$(count $id)
  if wait_for count_above $id "$c"; then ok checkpoint-lazy-pages-counts-on; else fail checkpoint-lazy-pages-counts-on "count stayed at $c"; fi
  down $r
  down $id
}

# --file-locks: a flock held by the container is dropped with it and held again after
# the restore.
t_checkpoint_file_locks() {
  id=crfl
  up checkpoint-file-locks $id '["crtool","flock","/out/lock","sh","-c","exec </dev/null >/dev/null 2>&1; i=0; while :; do i=$((i+1)); echo $i > /out/count.t; mv /out/count.t /out/count; sleep 0.2; done"]' || { down $id; return; }
  wait_for count_above $id 2
  if crtool trylock "$B/$id/out/lock"; then fail checkpoint-file-locks-held "the container holds no lock"; else ok checkpoint-file-locks-held; fi
  dump_refused checkpoint-file-locks-needs-option $id "file-locks"
  cr_cycle checkpoint-file-locks $id --file-locks -- --file-locks || { down $id; return; }
  if crtool trylock "$B/$id/out/lock"; then fail checkpoint-file-locks-held-again "the lock is free after the restore"; else ok checkpoint-file-locks-held-again; fi
  down $id
}

# --auto-dedup: a restore frees the pages it has read from the images (holes punched);
# --status-fd without --lazy-pages is accepted and left alone, as runc does.
img_kb() { du -k "$1"/pages-*.img 2>/dev/null | awk '{s += $1} END {print s + 0}'; }
t_checkpoint_dedup() {
  id=crd
  up checkpoint-auto-dedup $id "$COUNTER" || { down $id; return; }
  wait_for count_above $id 2
  : >"$B/$id/status"
  cr_dump checkpoint-auto-dedup $id --auto-dedup --status-fd 5 5>"$B/$id/status" || { down $id; return; }
  if [ -s "$B/$id/status" ]; then fail checkpoint-status-fd-alone "wrote: $(od -c "$B/$id/status" | oneline)"; else ok checkpoint-status-fd-alone; fi
  kb=$(img_kb "$B/$id/img")
  cr_restore checkpoint-auto-dedup-restore $id --auto-dedup
  kb2=$(img_kb "$B/$id/img")
  if [ "$kb" -gt 0 ] && [ "$kb2" -lt "$kb" ]; then ok checkpoint-auto-dedup-punched; else fail checkpoint-auto-dedup-punched "pages images: $kb KiB before the restore, $kb2 KiB after"; fi
  down $id
}

# --manage-cgroups-mode: each of runc's three modes dumps and restores (the limits
# back in place). runc 1.1 reads the flag on checkpoint only, where it knows no
# "ignore"; a restore takes any value and leaves CRIU's default (soft), so a "strict"
# one does not trip over the cgroup the runtime made for it.
t_checkpoint_cgroups_mode() {
  id=crcg
  up checkpoint-cgroups-mode $id "$COUNTER" '{"pids": {"limit": 90}}' || { down $id; return; }
  wait_for count_above $id 2
  rt checkpoint --manage-cgroups-mode ignore --image-path "$B/$id/img" $id
  case "$RC:$OUT" in 0:*) fail checkpoint-cgroups-mode-ignore "accepted" ;; *"Invalid manage cgroups mode"*) ok checkpoint-cgroups-mode-ignore ;; *) fail checkpoint-cgroups-mode-ignore "rc $RC: $OUT" ;; esac
  expect checkpoint-cgroups-mode-ignore-running "$(status_of $id)" running
  for m in soft full strict; do
    cr_cycle checkpoint-cgroups-mode-$m $id --manage-cgroups-mode $m -- --manage-cgroups-mode $m || break
    expect checkpoint-cgroups-mode-$m-pids-max "$(cgfile $id pids.max)" 90
  done
  down $id
  cr_restore restore-cgroups-mode-ignore $id --manage-cgroups-mode ignore
  expect restore-cgroups-mode-ignore-pids-max "$(cgfile $id pids.max)" 90
  down $id
}

rt --version
echo "# runtime: $RT ($(echo "$OUT" | head -1))"
echo "# root cgroup.subtree_control: $(cat $CG/cgroup.subtree_control)"
for t in lifecycle inside memory cpu cpuset pids io hugetlb unified default_path update pause events_ps devices exec exec_host_cgroupns pids_enforced oom kill_all delete_force relative_path systemd_path rootless_delegated rootless_undelegated frozen_cgroup shared_cgroup events_oom exec_subcgroup exec_init_fallback checkpoint checkpoint_leave_running checkpoint_predump checkpoint_tty checkpoint_errors checkpoint_netns checkpoint_tcp checkpoint_unix checkpoint_shell_job checkpoint_page_server checkpoint_lazy checkpoint_file_locks checkpoint_dedup checkpoint_cgroups_mode; do
  want "$t" || continue
  start=$(date +%s)
  "t_$t"
  echo "# $t took $(($(date +%s) - start)) s"
done
echo "VMTEST done $PASS passed, $FAIL failed, $SKIP skipped"
