#!/usr/bin/env bash
# Measures cryo restore --lazy against the eager restore of the same image, in the same run.
#
#   bench/lazy.sh [--runs N] [--sizes "512 2048"] [--build-dir DIR]
#
# For each size S (MiB), each round: bench_memory holds S MiB of non-zero data and is dumped; the
# image is restored, interleaved, with
#   1. cryo restore --detach (eager: wall time until it returns, i.e. the tree runs);
#   2. cryo restore --lazy --detach: wall time until it returns (the tree runs), and until every
#      page is in place (the page server's "lazy: every page in place N ms after the release" line
#      in restore.log, added to the time of the release);
# and after each, SIGUSR1 makes the restored init check every word of its memory (PASS), and it is
# killed. Prints
# medians of --runs rounds and the ratio eager / lazy of the time until the tree runs.
set -euo pipefail

runs=3
sizes="512 2048"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build="$root/build"
bench_name=bench/lazy.sh

usage() {
  echo "usage: bench/lazy.sh [--runs N] [--sizes \"512 2048\"] [--build-dir DIR]" >&2
  exit 2
}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) [[ $# -ge 2 ]] || usage; runs=$2; shift 2 ;;
    --sizes) [[ $# -ge 2 ]] || usage; sizes=$2; shift 2 ;;
    --build-dir) [[ $# -ge 2 ]] || usage; build=$2; shift 2 ;;
    -h|--help) usage ;;
    *) echo "bench/lazy.sh: unknown argument '$1'" >&2; usage ;;
  esac
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "bench/lazy.sh: --runs must be a positive integer" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "bench/lazy.sh: must run as root (cryo needs it)" >&2; exit 1; }

# shellcheck source=bench/lib.sh
source "$here/lib.sh"
bench_build
cryo="$build/cryo"
workload="$build/bench/bench_memory"
bench_workdir cryo-bench-lazy

# Restores $1 (image) with the options after it; sets r_run (s until the tree runs) and r_all (s
# until every page is in place: the same as r_run when eager); checks the memory, expecting the
# log to hold $3 verdicts then.
restore_once() {
  local img=$1 log=$2 checks=$3
  shift 3
  local t0 t1 rpid
  t0=$EPOCHREALTIME
  rpid=$("$cryo" restore -q -D "$img" --detach "$@" 2>"$work/restore.err") || die "cryo restore $* failed: $(cat "$work/restore.err")"
  t1=$EPOCHREALTIME
  [[ "$rpid" =~ ^[0-9]+$ ]] || die "cryo restore printed '$rpid', not a PID"
  live[$rpid]=1
  r_run=$(elapsed "$t0" "$t1")
  r_all=$r_run
  if [[ " $* " == *" --lazy "* ]]; then
    wait_for_line "$img/restore.log" 'lazy: every page in place' 1 120 || die "the page server did not finish"
    local after_ms
    after_ms=$(sed -n 's/.*lazy: every page in place \([0-9.]*\) ms after the release.*/\1/p' "$img/restore.log" | tail -n 1)
    r_all=$(awk -v run="$r_run" -v ms="$after_ms" 'BEGIN { printf "%.6f", run + ms / 1000 }')
  fi
  kill -USR1 "$rpid"
  wait_for_line "$log" '^\(PASS\|FAIL\)' "$checks" 300 || die "restored init $rpid did not answer the memory check"
  ! grep -q '^FAIL' "$log" || die "restored memory is wrong: $(grep '^FAIL' "$log")"
  kill_tree "$rpid"
}

printf '| size | eager restore (tree runs) | --lazy: tree runs | --lazy: all pages in | eager / lazy |\n|---|---|---|---|---|\n' >"$work/table"
for mib in $sizes; do
  declare -a eager=() lazy_run=() lazy_all=()
  for ((r = 1; r <= runs; r++)); do
    log="$work/workload-$mib-$r.log" img="$work/images-$mib-$r"
    pid=$("$cryo" run --detach --log "$log" -- "$workload" "$mib") || die "cryo run failed"
    live[$pid]=1
    wait_for_line "$log" '^READY' 1 300 || die "workload $pid did not print READY"
    "$cryo" dump -q -t "$pid" -D "$img" >/dev/null || die "cryo dump failed"
    wait_gone "$pid" || die "the dumped tree $pid is still alive"
    unset "live[$pid]"
    # Every restored copy appends to the workload's log (which restore wants as the dump left it):
    # each check waits for one more verdict.
    restore_once "$img" "$log" 1
    eager+=("$r_run")
    restore_once "$img" "$log" 2 --lazy
    lazy_run+=("$r_run")
    lazy_all+=("$r_all")
    printf 'run %s MiB #%d: eager %.4f s; lazy: runs after %.4f s, all pages in after %.4f s\n' "$mib" "$r" "${eager[-1]}" "$r_run" "$r_all"
    rm -rf -- "$img"
  done
  m_eager=$(median "${eager[@]}") m_run=$(median "${lazy_run[@]}") m_all=$(median "${lazy_all[@]}")
  printf '| %s MiB | %.3f s | %.1f ms | %.3f s | %.0fx |\n' "$mib" "$m_eager" "$(awk -v s="$m_run" 'BEGIN { print s * 1000 }')" "$m_all" \
    "$(awk -v a="$m_eager" -v b="$m_run" 'BEGIN { print a / b }')" >>"$work/table"
done
echo
cat "$work/table"
