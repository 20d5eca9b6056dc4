#!/usr/bin/env bash
# Measures how cryo dump and restore scale with the number of processes and of fds.
#
#   bench/scale.sh [--runs N] [--warmup N] [--procs "100 1000"] [--eventfds "300 3000"]
#                  [--threads "100 1000"] [--fds "1000 10000"] [--build-dir DIR] [--cryo BIN]...
#
# Cases: a tree of P processes (bench_scale P 0: an init and P-1 sleeping children with 64 KiB
# each), for each P of --procs; one process with E eventfd fds (bench_scale 1 E: a third of them
# dups, so the dump must find the shared ones among E fds of one anonymous inode), for each E of
# --eventfds; one process with T threads waiting on condition variables (bench_scale 1 0 T), for
# each T of --threads; one process with F fds of which 30% are eventfds (bench_scale 1 0.3F 1 0.7F:
# the rest its executable at positions of their own, /dev/null, pipes and dups), for each F of
# --fds. An empty list ("") leaves a kind out. Every round runs every case once with every binary, one after the other
# (interleaved, so all see the same state of the machine; each round starts with the next binary),
# after --warmup untimed rounds:
#   1. cryo run --detach bench_scale ...; waits for its READY line;
#   2. memcpy_reference --prime --mib 64 (the same warm-up of the page cache as bench/run.sh);
#   3. cryo dump -t PID -D DIR (wall time; frozen time from the summary line in DIR/dump.log);
#   4. cryo restore -D DIR --detach (wall time: until it returns, i.e. the restored tree runs);
#   5. SIGUSR1 to the restored init, which checks every eventfd and every child and must print
#      PASS (outside the timed part), then SIGKILL.
# It prints the medians per case, the cost per process or per fd, and the growth of that cost
# from the smallest case to the largest (1.0x is linear). --cryo BIN (repeatable) times other
# binaries than the build's, e.g. one built from main, for a before/after in one run; every
# binary uses the workloads of --build-dir.
# Every process it starts is killed by PID and every temp dir removed on exit, also on failure.
# Needs root (cryo does). Exit status is non-zero on any failure.
set -euo pipefail

runs=3
warmup=1
procs_list="100 1000"
eventfds_list="300 3000"
threads_list="100 1000"
fds_list="1000 10000"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build="$root/build"
binaries=()

usage() {
  echo "usage: bench/scale.sh [--runs N] [--warmup N] [--procs \"100 1000\"] [--eventfds \"300 3000\"] [--threads \"100 1000\"] [--fds \"1000 10000\"] [--build-dir DIR] [--cryo BIN]..." >&2
  exit 2
}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) [[ $# -ge 2 ]] || usage; runs=$2; shift 2 ;;
    --warmup) [[ $# -ge 2 ]] || usage; warmup=$2; shift 2 ;;
    --procs) [[ $# -ge 2 ]] || usage; procs_list=$2; shift 2 ;;
    --eventfds) [[ $# -ge 2 ]] || usage; eventfds_list=$2; shift 2 ;;
    --threads) [[ $# -ge 2 ]] || usage; threads_list=$2; shift 2 ;;
    --fds) [[ $# -ge 2 ]] || usage; fds_list=$2; shift 2 ;;
    --build-dir) [[ $# -ge 2 ]] || usage; build=$2; shift 2 ;;
    --cryo) [[ $# -ge 2 ]] || usage; binaries+=("$2"); shift 2 ;;
    -h|--help) usage ;;
    *) echo "bench/scale.sh: unknown argument '$1'" >&2; usage ;;
  esac
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "bench/scale.sh: --runs must be a positive integer" >&2; exit 2; }
[[ "$warmup" =~ ^[0-9]+$ ]] || { echo "bench/scale.sh: --warmup must be a non-negative integer" >&2; exit 2; }
for n in $procs_list $eventfds_list $threads_list $fds_list; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "bench/scale.sh: counts are positive integers, not '$n'" >&2; exit 2; }
done
[[ -n "$procs_list$eventfds_list$threads_list$fds_list" ]] || usage
[[ $(id -u) -eq 0 ]] || { echo "bench/scale.sh: must run as root (cryo needs it)" >&2; exit 1; }

bench_name=bench/scale.sh
# shellcheck source=bench/lib.sh
source "$here/lib.sh"

# --- Build -------------------------------------------------------------------------------------
bench_build
((${#binaries[@]})) || binaries=("$build/cryo")
for b in "${binaries[@]}"; do [[ -x "$b" ]] || die "--cryo $b is not an executable"; done
workload="$build/bench/bench_scale"
reference="$build/bench/memcpy_reference"
bench_workdir cryo-scale

# --- One case ----------------------------------------------------------------------------------
# Sets r_dump, r_frozen, r_restore for binary $1, workload arguments $2 (procs eventfds threads
# files), tag $3.
one_case() {
  local cryo=$1 tag=$3
  local -a args
  read -r -a args <<<"$2"
  local log="$work/workload-$tag.log" img="$work/images-$tag"
  local pid
  pid=$("$cryo" run --detach --log "$log" -- "$workload" "${args[@]}") || die "cryo run failed"
  [[ "$pid" =~ ^[0-9]+$ ]] || die "cryo run printed '$pid', not a PID"
  live[$pid]=1
  wait_for_line "$log" '^READY' 1 300 || die "workload $pid did not print READY (log: $(cat "$log"))"
  "$reference" --mib 64 --dir "$work" --prime || die "memcpy_reference --prime failed"

  local t0 t1
  t0=$EPOCHREALTIME
  "$cryo" dump -t "$pid" -D "$img" >"$work/dump-$tag.out" 2>&1 || die "cryo dump failed: $(cat "$work/dump-$tag.out")"
  t1=$EPOCHREALTIME
  r_dump=$(elapsed "$t0" "$t1")
  wait_gone "$pid" || die "the dumped tree $pid is still alive"
  unset "live[$pid]"
  local frozen_ms
  frozen_ms=$(sed -n 's/.*dumped .* in [0-9.]* ms (frozen \([0-9.]*\) ms).*/\1/p' "$img/dump.log" | tail -n 1)
  [[ -n "$frozen_ms" ]] || die "no frozen time in $img/dump.log"
  r_frozen=$(awk -v ms="$frozen_ms" 'BEGIN { printf "%.6f", ms / 1000 }')

  local rpid
  t0=$EPOCHREALTIME
  rpid=$("$cryo" restore -D "$img" --detach 2>"$work/restore-$tag.err") ||
    die "cryo restore failed: $(cat "$work/restore-$tag.err")"
  t1=$EPOCHREALTIME
  r_restore=$(elapsed "$t0" "$t1")
  [[ "$rpid" =~ ^[0-9]+$ ]] || die "cryo restore printed '$rpid', not a PID"
  live[$rpid]=1

  # Not timed: the restored init checks its eventfds, files, threads and children.
  kill -USR1 "$rpid" || die "restored init $rpid is gone"
  wait_for_line "$log" '^\(PASS\|FAIL\)' 1 300 || die "restored init $rpid did not answer the check"
  grep -q '^PASS' "$log" || die "restored tree is wrong: $(grep '^FAIL' "$log")"
  kill_tree "$rpid"
  rm -rf -- "$img" "$log"
}

# --- Run ---------------------------------------------------------------------------------------
# A case is kind:units:workload arguments; a unit is a process, an eventfd, a thread or an fd.
cases=()
for p in $procs_list; do cases+=("proc:$p:$p 0"); done
for e in $eventfds_list; do cases+=("eventfd:$e:1 $e"); done
for t in $threads_list; do cases+=("thread:$t:1 0 $t"); done
for f in $fds_list; do cases+=("fd:$f:1 $((f * 3 / 10)) 1 $((f - f * 3 / 10))"); done

echo "cryo scale bench: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet 2>/dev/null || echo '+dirty'), kernel $(uname -r), $(nproc) CPUs"
echo "binaries: ${binaries[*]}"
echo "$runs timed run(s) after $warmup warm-up round(s); loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

declare -A samples=()
for ((r = 1 - warmup; r <= runs; r++)); do
  for c in "${cases[@]}"; do
    # Each round starts with another binary: on ext4 without a journal, a dump that follows the
    # removal of a large image pays for it (see README, Speed), so no binary may always come second.
    for ((i = 0; i < ${#binaries[@]}; i++)); do
      b=$(((i + r + warmup) % ${#binaries[@]}))
      kind=${c%%:*} rest=${c#*:}
      one_case "${binaries[$b]}" "${rest#*:}" "$b-$kind-${rest%%:*}-$r"
      ((r >= 1)) || continue
      samples[$b,$c,dump]+="$r_dump "; samples[$b,$c,frozen]+="$r_frozen "; samples[$b,$c,restore]+="$r_restore "
      printf 'run #%d, %s, %s %s: dump %.4f s (frozen %.4f s), restore %.4f s\n' \
        "$r" "${binaries[$b]}" "${rest%%:*}" "${kind}s" "$r_dump" "$r_frozen" "$r_restore"
    done
  done
done

echo
echo "Medians of $runs run(s); loadavg at end: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-10s %-9s %-9s | %-10s %-10s %-10s | %s\n' binary units kind dump frozen restore "per unit (dump / frozen / restore)"
# Growth of the cost per unit from the first to the last case of a kind: 1.0x is linear.
for ((b = 0; b < ${#binaries[@]}; b++)); do
  declare -A first=()
  for c in "${cases[@]}"; do
    kind=${c%%:*} rest=${c#*:}
    units=${rest%%:*}
    # shellcheck disable=SC2086
    d=$(median ${samples[$b,$c,dump]}); f=$(median ${samples[$b,$c,frozen]}); s=$(median ${samples[$b,$c,restore]})
    per=$(awk -v d="$d" -v f="$f" -v s="$s" -v n="$units" 'BEGIN { printf "%.3f / %.3f / %.3f ms", d * 1000 / n, f * 1000 / n, s * 1000 / n }')
    growth=""
    if [[ -z "${first[$kind]:-}" ]]; then
      first[$kind]="$d $f $s $units"
    else
      growth=$(awk -v a="${first[$kind]}" -v d="$d" -v f="$f" -v s="$s" -v n="$units" 'BEGIN {
        split(a, x, " "); printf "   growth per %s: %.1fx / %.1fx / %.1fx", "unit", (d / n) / (x[1] / x[4]), (f / n) / (x[2] / x[4]), (s / n) / (x[3] / x[4]) }')
    fi
    printf '%-10s %-9s %-9s | %-10s %-10s %-10s | %s%s\n' "#$b" "$units" "$kind" "$(printf '%.3f s' "$d")" "$(printf '%.3f s' "$f")" \
      "$(printf '%.3f s' "$s")" "$per" "$growth"
  done
  unset first
done
for ((b = 0; b < ${#binaries[@]}; b++)); do echo "#$b = ${binaries[$b]}"; done
