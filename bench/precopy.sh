#!/usr/bin/env bash
# Measures the frozen time of `cryo dump --leave-running` with and without --pre-copy, on a tree
# that keeps writing while it is dumped: tests/workloads/cr_precopy, which rewrites --pages-per-ms
# random pages of its memory every millisecond (2 by default: about 7 MB/s, with its sleeps).
#
#   bench/precopy.sh [--runs N] [--sizes "512 2048"] [--pages-per-ms N] [--build-dir DIR]
#
# For each size, one workload is started and dumped 2*N times, alternating a plain --leave-running
# dump and a --pre-copy one (interleaved, so that both see the same state of the machine). Each
# dump's frozen_ms and total time come from its --stats-json; medians are printed. After the last
# dump the tree checks its own memory (PASS), and is killed. Needs root. Every process it starts is
# killed by PID and its temp dir removed on exit, also on failure.
set -euo pipefail

runs=3
sizes="512 2048"
per_ms=2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build="$root/build"

usage() {
  echo "usage: bench/precopy.sh [--runs N] [--sizes \"512 2048\"] [--pages-per-ms N] [--build-dir DIR]" >&2
  exit 2
}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) [[ $# -ge 2 ]] || usage; runs=$2; shift 2 ;;
    --sizes) [[ $# -ge 2 ]] || usage; sizes=$2; shift 2 ;;
    --pages-per-ms) [[ $# -ge 2 ]] || usage; per_ms=$2; shift 2 ;;
    --build-dir) [[ $# -ge 2 ]] || usage; build=$2; shift 2 ;;
    -h|--help) usage ;;
    *) echo "bench/precopy.sh: unknown argument '$1'" >&2; usage ;;
  esac
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "bench/precopy.sh: --runs must be a positive integer" >&2; exit 2; }
[[ "$per_ms" =~ ^[1-9][0-9]*$ ]] || { echo "bench/precopy.sh: --pages-per-ms must be a positive integer" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "bench/precopy.sh: must run as root (cryo needs it)" >&2; exit 1; }

bench_name=bench/precopy.sh
# shellcheck source=bench/lib.sh
source "$here/lib.sh"

bench_build
cryo="$build/cryo"
bench_workdir cryo-bench-precopy

# A number field of a stats JSON file.
field() { sed -n "s/^ *\"$2\": \([0-9.]*\).*/\1/p" "$1" | head -1; }

# One dump of $pid; sets r_frozen and r_total (ms). $1: tag, $2: plain or pre-copy.
one() {
  local img="$work/images-$1" stats="$work/stats-$1.json" extra=(--leave-running)
  [[ "$2" == pre-copy ]] && extra+=(--pre-copy)
  "$cryo" dump -t "$pid" -D "$img" -q "${extra[@]}" --stats-json "$stats" >"$work/dump-$1.out" 2>&1 ||
    die "cryo dump ${extra[*]} failed: $(cat "$work/dump-$1.out")"
  r_frozen=$(field "$stats" frozen_ms)
  r_total=$(field "$stats" total_ms)
  rm -rf -- "$img" "$stats"
}

echo "cryo pre-copy bench: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'), kernel $(uname -r), $(nproc) CPUs"
echo "workload: cr_precopy rewriting $per_ms pages a millisecond; $runs run(s) per mode; loadavg: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s | %-34s | %-34s\n' size "--leave-running: frozen / total" "--leave-running --pre-copy: frozen / total"
for mib in $sizes; do
  log="$work/workload-$mib.log"
  pid=$("$cryo" run --detach --log "$log" -- "$build/workloads/cr_precopy" --mib="$mib" --pages-per-ms="$per_ms" --tag="$work") ||
    die "cryo run failed"
  [[ "$pid" =~ ^[0-9]+$ ]] || die "cryo run printed '$pid', not a PID"
  live[$pid]=1
  wait_for_line "$log" '^READY' 1 300 || die "workload $pid did not print READY (log: $(cat "$log"))"
  one "warm-$mib" plain
  declare -a pf=() pt=() cf=() ct=()
  for ((r = 1; r <= runs; r++)); do
    one "$mib-$r-plain" plain; pf+=("$r_frozen"); pt+=("$r_total")
    one "$mib-$r-pre" pre-copy; cf+=("$r_frozen"); ct+=("$r_total")
  done
  kill -USR1 "$pid"
  wait_for_line "$log" '^\(PASS\|FAIL\)' 1 120 || die "workload $pid did not answer the check"
  grep -q '^PASS' "$log" || die "the dumped tree's memory is wrong: $(grep '^FAIL' "$log")"
  unset "live[$pid]"
  wait_gone "$pid" || kill_tree "$pid"
  printf '%-8s | %-34s | %-34s\n' "$mib MiB" "$(median "${pf[@]}") ms / $(median "${pt[@]}") ms" \
    "$(median "${cf[@]}") ms / $(median "${ct[@]}") ms"
done
