#!/usr/bin/env bash
# Measures `cryo dump --compress` against a plain dump of the same kind of tree: a python3 process
# holding a typical heap (bench/python_heap.py: a dict of N small strings to ints and a list of N
# short strings; N = 1,500,000 by default, about 250 MiB of RSS).
#
#   bench/compress.sh [--runs N] [--entries N] [--random MIB] [--warmup N] [--build-dir DIR] [--no-prime]
#
# --random MIB measures the worst case instead: bench_memory's MIB MiB of xorshift data, which does
# not compress at all (the dump then pays the compression for nothing).
# Every round starts the workload twice, once per mode (plain, then --compress: interleaved, so
# that both see the same state of the machine), and for each: waits for READY, primes the page
# cache as bench/run.sh does (memcpy_reference --prime of the image's size), times
# `cryo dump -t PID -D DIR` and `cryo restore -D DIR --detach`, then has the restored process
# check every entry (PASS, outside the timed part) and kills it. It prints the medians and the
# ratios compressed / plain of image size, dump time and restore time. Needs root. Every process
# it starts is killed by PID and its temp dir removed on exit, also on failure.
set -euo pipefail

entries=1500000
random_mib=
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build="$root/build"

bench_name=bench/compress.sh
bench_usage='bench/compress.sh [--runs N] [--entries N] [--random MIB] [--warmup N] [--build-dir DIR] [--no-prime]'
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
bench_option() {
  case "$1" in
    --entries) need_value "$@"; entries=$2; taken=2 ;;
    --random) need_value "$@"; random_mib=$2; taken=2 ;;
  esac
}
bench_parse_args "$@"
[[ "$entries" =~ ^[1-9][0-9]*$ ]] || { echo "bench/compress.sh: --entries must be a positive integer" >&2; exit 2; }
[[ -z "$random_mib" || "$random_mib" =~ ^[1-9][0-9]*$ ]] || { echo "bench/compress.sh: --random takes a positive integer (MiB)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "bench/compress.sh: needs python3" >&2; exit 1; }

bench_build
cryo="$build/cryo"
reference="$build/bench/memcpy_reference"
bench_workdir cryo-bench-compress
if [[ -n "$random_mib" ]]; then
  command=("$build/bench/bench_memory" "$random_mib")
  what="bench_memory: $random_mib MiB of xorshift data (incompressible)"
else
  command=(python3 "$here/python_heap.py" "$entries")
  what="python3 heap of $entries dict entries (str -> int) and $entries short strings"
fi

# One dump and restore of a fresh workload; sets r_dump, r_restore, r_image (bytes), r_rss (KiB).
# $1: round tag, $2: plain or compress.
one() {
  local tag="$1-$2" mode=$2
  local log="$work/workload-$tag.log" img="$work/images-$tag"
  local pid rpid t0 t1
  pid=$("$cryo" run --detach --log "$log" -- "${command[@]}") || die "cryo run failed"
  [[ "$pid" =~ ^[0-9]+$ ]] || die "cryo run printed '$pid', not a PID"
  live[$pid]=1
  wait_for_line "$log" '^READY' 1 300 || die "workload $pid did not print READY (log: $(cat "$log"))"
  r_rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
  if ((prime)); then "$reference" --mib $((r_rss / 1024 + 1)) --dir "$work" --prime || die "memcpy_reference --prime failed"; fi
  local extra=()
  [[ "$mode" == compress ]] && extra=(--compress)
  t0=$EPOCHREALTIME
  "$cryo" dump -t "$pid" -D "$img" "${extra[@]}" >"$work/dump-$tag.out" 2>&1 || die "cryo dump failed: $(cat "$work/dump-$tag.out")"
  t1=$EPOCHREALTIME
  r_dump=$(elapsed "$t0" "$t1")
  wait_gone "$pid" || die "the dumped tree $pid is still alive"
  unset "live[$pid]"
  r_image=$(du -sb --exclude='*.log' --exclude='*.json' "$img" | cut -f1)
  t0=$EPOCHREALTIME
  rpid=$("$cryo" restore -D "$img" --detach 2>"$work/restore-$tag.err") || die "cryo restore failed: $(cat "$work/restore-$tag.err")"
  t1=$EPOCHREALTIME
  r_restore=$(elapsed "$t0" "$t1")
  [[ "$rpid" =~ ^[0-9]+$ ]] || die "cryo restore printed '$rpid', not a PID"
  live[$rpid]=1
  kill -USR1 "$rpid" || die "restored init $rpid is gone"
  wait_for_line "$log" '^\(PASS\|FAIL\)' 1 300 || die "restored workload $rpid did not answer the check"
  grep -q '^PASS' "$log" || die "restored heap is wrong ($mode): $(grep '^FAIL' "$log")"
  kill_tree "$rpid"
  rm -rf -- "$img" "$log"
}

echo "cryo compress bench: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'), kernel $(uname -r), $(nproc) CPUs"
echo "workload: $what; $runs run(s) after $warmup warm-up round(s); primed: $( ((prime)) && echo yes || echo no); loadavg: $(cut -d' ' -f1-3 /proc/loadavg)"

for ((w = 1; w <= warmup; w++)); do one "w$w" plain; one "w$w" compress; done
declare -a pd=() pr=() pi=() cd=() cr=() ci=() rss=()
for ((r = 1; r <= runs; r++)); do
  one "$r" plain; pd+=("$r_dump"); pr+=("$r_restore"); pi+=("$r_image"); rss+=("$r_rss")
  one "$r" compress; cd+=("$r_dump"); cr+=("$r_restore"); ci+=("$r_image")
  printf 'run #%d: plain dump %.3f s, restore %.3f s, image %d bytes | --compress dump %.3f s, restore %.3f s, image %d bytes\n' \
    "$r" "${pd[-1]}" "${pr[-1]}" "${pi[-1]}" "${cd[-1]}" "${cr[-1]}" "${ci[-1]}"
done
m() { median "$@"; }
mpd=$(m "${pd[@]}") mpr=$(m "${pr[@]}") mpi=$(m "${pi[@]}") mcd=$(m "${cd[@]}") mcr=$(m "${cr[@]}") mci=$(m "${ci[@]}") mrss=$(m "${rss[@]}")
echo
echo "Medians of $runs run(s); workload RSS $(awk -v k="$mrss" 'BEGIN { printf "%.1f MiB", k / 1024 }')"
printf '%-22s | %-14s | %-14s | %s\n' "" plain "--compress" "compressed / plain"
printf '%-22s | %-14s | %-14s | %s\n' "image size" "$(awk -v b="$mpi" 'BEGIN { printf "%.1f MiB", b / 1048576 }')" \
  "$(awk -v b="$mci" 'BEGIN { printf "%.1f MiB", b / 1048576 }')" "$(awk -v a="$mci" -v b="$mpi" 'BEGIN { printf "%.3f (%.1fx smaller)", a / b, b / a }')"
printf '%-22s | %-14s | %-14s | %s\n' "dump wall" "$(printf '%.3f s' "$mpd")" "$(printf '%.3f s' "$mcd")" "$(awk -v a="$mcd" -v b="$mpd" 'BEGIN { printf "%.2f", a / b }')"
printf '%-22s | %-14s | %-14s | %s\n' "restore --detach wall" "$(printf '%.3f s' "$mpr")" "$(printf '%.3f s' "$mcr")" "$(awk -v a="$mcr" -v b="$mpr" 'BEGIN { printf "%.2f", a / b }')"
