#!/usr/bin/env bash
# The README's demo: installs what is missing, builds, then checkpoints and restores a real workload:
# a counter started by `cryo run --uptime 49d` is dumped (and so killed), restored, and carries on
# with the same PID, its counter and its clocks continuing from where they stopped. Before that it
# shows what `cryo run` gives a workload: PID 1 of its own tree, its own clocks and hostname.
# Runs without a terminal; exits non-zero if anything is not as shown.
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
$cryo check | tail -n 1

step "/proc/uptime on the host, then inside 'cryo run --uptime 49d'"
cut -d' ' -f1 /proc/uptime | days
inside=$($cryo run --uptime 49d -- cat /proc/uptime)
echo "$inside" | days
awk '{ exit !($1 >= 49 * 86400 && $1 < 49 * 86400 + 60) }' <<<"$inside" || die "uptime inside is $inside"

step "ps inside: the workload is PID 1 and sees only its own tree (and its own hostname)"
ps_out=$($cryo run --hostname demo-box -- sh -c 'echo "hostname: $(hostname)"; ps -o pid,ppid,comm')
echo "$ps_out"
grep -q 'hostname: demo-box' <<<"$ps_out" || die "hostname not set"
[[ $(awk 'NR > 2' <<<"$ps_out" | wc -l) -eq 2 ]] || die "ps saw more than sh and itself"

step "clock_gettime inside 'cryo run --boottime 36h --monotonic -1m' (CLOCK_REALTIME is never shifted)"
$cryo run --boottime 36h --monotonic -1m -- python3 -c 'import time
for name in ("BOOTTIME", "MONOTONIC", "REALTIME"):
    print("CLOCK_%-9s %14.1f s" % (name, time.clock_gettime(getattr(time, "CLOCK_" + name))))'

# The checkpoint/restore part works in a private directory that is removed at the end, and kills
# only the PIDs it started.
work=$(mktemp -d /var/tmp/cryo-demo.XXXXXX)
pid=''
cleanup() {
  [[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
log=$work/counter.log
last_tick() { awk '/^tick/ { n = $2 } END { print n + 0 }' "$log"; }

step "start a counter with 49 days of uptime: cryo run --detach --uptime 49d"
pid=$($cryo run --detach --log "$log" --uptime 49d -- "$PWD/build/workloads/demo_counter")
echo "init host PID: $pid ($(grep NSpid "/proc/$pid/status" | tr '\t' ' '))"
sleep 3.5
tail -n 2 "$log"

step "checkpoint it: cryo dump -t $pid -D $work/image"
$cryo dump -t "$pid" -D "$work/image"
for _ in $(seq 100); do [[ -d /proc/$pid ]] || break; sleep 0.05; done
[[ -d /proc/$pid ]] && die "the tree is still running after the dump"
pid=''
ticks_at_dump=$(last_tick)
echo "the tree is gone; its image:"
ls -l "$work/image" | awk 'NR > 1 { printf "  %s %8s  %s\n", $1, $5, $9 }'
# The tree's own clocks at the freeze, as `cryo show` decodes them from namespaces.img.
$cryo show -D "$work/image" | sed -n '/^== namespaces.img/,/^==/p' | grep -A2 clocks_inside | awk '/_ns:/ { sub("_ns:", "", $1); printf "  %s inside at the freeze: %.4f days\n", $1, $2 / 86400e9 }'

sleep 2

step "restore it: cryo restore -D $work/image --detach"
pid=$($cryo restore -D "$work/image" --detach)
echo "restored init host PID: $pid ($(grep NSpid "/proc/$pid/status" | tr '\t' ' '))"
sleep 3.5
tail -n 3 "$log"
after=$(last_tick)
(( after > ticks_at_dump )) || die "the counter did not carry on (last tick $after, at dump $ticks_at_dump)"
grep -q "^tick $((ticks_at_dump + 1)) pid=1 " "$log" || die "tick $((ticks_at_dump + 1)) is missing or not from PID 1"
[[ $(grep -c '^tick 1 ' "$log") -eq 1 ]] || die "the counter started over instead of continuing"
# Clock policy freeze: the uptime right after restore continues from the last reading before the dump
# (at most 1 s on, one tick), not from the host's time.
awk -v n="$ticks_at_dump" '$1 == "tick" && ($2 == n || $2 == n + 1) { sub("uptime=", "", $4); u[$2] = $4 + 0 }
  END { d = u[n + 1] - u[n]; if (d < 0 || d > 1.5) { print "uptime jumped by " d " s"; exit 1 } }' "$log" \
  || die "the clocks did not continue from the checkpoint"
echo "same PID 1, counter went on from tick $ticks_at_dump to $after, uptime continued from 49 days"
kill -KILL "$pid"
pid=''

step "demo finished"
