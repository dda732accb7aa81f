#!/usr/bin/env bash
# Where dx-runtime's time goes, per operation: a syscall-timestamped trace (strace -f -r),
# a syscall summary (strace -c), and a CPU profile of the same op run from source
# (bun --cpu-prof). Output: bench/results/profile/. Usage: bench/profile.sh [RUNTIME_BIN]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$repo/dist/dx-runtime}
out=$repo/bench/results/profile
export PATH=$repo/node_modules/.bin:$repo/node_modules/@oven/bun-linux-x64/bin:$PATH
mkdir -p "$out"
tmp=$(mktemp -d /tmp/dx-profile-XXXXXX)
root=$tmp/root
id=prof$$
cleanup() {
  "$bin" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
  "$bin" --root "$root" delete --force "${id}src" >/dev/null 2>&1 || true
  "$bin" --root "$root" delete --force "${id}r" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
bash "$repo/examples/make-bundle.sh" "$tmp/bundle" "$bin" sleep 100000 >/dev/null

trace() { # name, argv...
  local name=$1; shift
  strace -f --detach-on=execve -r -T -o "$out/$name.strace" "$@" >/dev/null 2>&1 || echo "profile: $name exited $?" >&2
}
summary() { # name, argv...
  local name=$1; shift
  strace -f --detach-on=execve -c -o "$out/$name.count" "$@" >/dev/null 2>&1 || true
}

x=("$bin" --root "$root")
trace create "${x[@]}" create --bundle "$tmp/bundle" "$id"
trace state "${x[@]}" state "$id"
trace start "${x[@]}" start "$id"
trace kill "${x[@]}" kill "$id" KILL
sleep 0.2
trace delete "${x[@]}" delete "$id"
trace version "$bin" --version
summary create-count "${x[@]}" create --bundle "$tmp/bundle" "$id"
summary state-count "${x[@]}" state "$id"
summary start-count "${x[@]}" start "$id"
"${x[@]}" kill "$id" KILL; sleep 0.2
summary delete-count "${x[@]}" delete "$id"

# The same ops from source, with Bun's sampling profiler.
src=(bun --cpu-prof --cpu-prof-dir="$out/cpu" "$repo/src/main.ts" --root "$root")
rm -rf "$out/cpu"
"${src[@]}" create --bundle "$tmp/bundle" "${id}src" >/dev/null
"${src[@]}" state "${id}src" >/dev/null
"${src[@]}" start "${id}src" >/dev/null
"${src[@]}" kill "${id}src" KILL; sleep 0.2
"${src[@]}" delete "${id}src"

# Coarse timeline per op: time to the first openat of the state dir, time spent loading
# native code (koffi), and total.
for f in "$out"/*.strace; do
  awk -v name="$(basename "$f" .strace)" '
    { t += $2 }
    /koffi|\.node/ && !k { k = t; kl = $0 }
    /execve\(/ && !e { e = t }
    END { printf "%-8s total %.1f ms, first koffi/.node syscall at %.1f ms\n", name, t * 1000, k * 1000 }
  ' "$f"
done | tee "$out/summary.txt"
echo "profiles in $out"
