#!/usr/bin/env bash
# The README's demo: installs what is missing, builds, then shows `cryo run` giving a workload its own
# PID namespace (it is PID 1 and `ps` sees only its tree) and its own clocks (/proc/uptime and
# clock_gettime shifted). Runs without a terminal; exits non-zero if anything is not as shown.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh >/dev/null
cryo=build/cryo

if [[ -t 1 ]]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
die() { echo "demo: FAILED: $*" >&2; exit 1; }
days() { awk '{ printf "%.2f days\n", $1 / 86400 }'; }

step "cryo check: what this machine offers checkpoint/restore"
$cryo check | tail -n 3

step "/proc/uptime on the host, then inside 'cryo run --uptime 49d'"
cut -d' ' -f1 /proc/uptime | days
inside=$($cryo run --uptime 49d -- cat /proc/uptime)
echo "$inside" | days
awk '{ exit !($1 >= 49 * 86400 && $1 < 49 * 86400 + 60) }' <<<"$inside" || die "uptime inside is $inside"

step "ps inside: the workload is PID 1 and sees only its own tree (and its own hostname)"
$cryo run --hostname demo-box -- sh -c 'echo "hostname: $(hostname)"; ps -o pid,ppid,comm' | tee /tmp/cryo-demo-ps.$$
grep -q 'hostname: demo-box' /tmp/cryo-demo-ps.$$ || die "hostname not set"
[[ $(awk 'NR > 2' /tmp/cryo-demo-ps.$$ | wc -l) -eq 2 ]] || die "ps saw more than sh and itself"
rm -f /tmp/cryo-demo-ps.$$

step "clock_gettime: host, then inside 'cryo run --boottime 36h --monotonic -1m'"
clocks='import time
print("CLOCK_BOOTTIME  %12.1f s" % time.clock_gettime(time.CLOCK_BOOTTIME))
print("CLOCK_MONOTONIC %12.1f s" % time.clock_gettime(time.CLOCK_MONOTONIC))
print("CLOCK_REALTIME  %12.1f s (never shifted: the kernel does not virtualize it)" % time.clock_gettime(time.CLOCK_REALTIME))'
python3 -c "$clocks"
$cryo run --boottime 36h --monotonic -1m -- python3 -c "$clocks"

step "an offset the kernel refuses is named: cryo run --monotonic -100000d"
if $cryo run --monotonic -100000d -- true; then die "a negative CLOCK_MONOTONIC was accepted"; fi

step "--detach: cryo prints the init's host PID and returns; the tree runs on"
log=$(mktemp)
pid=$($cryo run --detach --log "$log" --uptime 7d -- sh -c 'cat /proc/uptime; exec sleep 600')
trap 'kill -KILL "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
echo "init host PID: $pid"
grep NSpid "/proc/$pid/status"
for _ in $(seq 100); do [[ -s $log ]] && break; sleep 0.05; done
echo "its log: $(days <"$log")"
kill -KILL "$pid"
trap 'rm -f "$log"' EXIT

step "demo finished"
