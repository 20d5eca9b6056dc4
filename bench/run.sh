#!/usr/bin/env bash
# Measures cryo dump and restore against the physical reference, measured in the same run.
#
#   bench/run.sh [--runs N] [--sizes "64 1024"] [--warmup N] [--build-dir DIR] [--no-prime]
#
# For each size S (MiB) it runs --warmup untimed rounds and then --runs timed rounds; every round
# runs, one after the other (interleaved, so that all of them see the same state of the machine):
#   1. bench/memcpy_reference: memcpy of S MiB between warm buffers, into fresh memory, and write(2)
#      of S MiB to a new file in the temp dir, with and without fsync (see memcpy_reference.c);
#   2. cryo run --detach bench_memory S: a PID-namespace init with S MiB of non-zero data; waits
#      for its READY line;
#   3. memcpy_reference --prime (writes S MiB to a file and deletes it: the same warm-up of the
#      page cache as the reference write had; --no-prime skips it), then
#      cryo dump -t PID -D DIR (wall time; frozen time from the summary line in DIR/dump.log);
#   4. cryo restore -D DIR --detach (wall time: until it returns, i.e. the restored tree runs);
#   5. SIGUSR1 to the restored init, which re-checks all of its memory and must print PASS
#      (outside the timed part), then SIGKILL.
# It prints the medians per size as a table. Throughput is S MiB / time in GB/s (10^9 bytes/s).
#
# The reference write is write + fsync, because cryo dump fsyncs every image file when it commits
# (src/image/image_dir.cc, ImageDirWriter::commit); write without fsync is shown for comparison.
# All temp dirs (the images and the reference's file) are made under ${TMPDIR:-/var/tmp}, so that
# the reference writes to the same filesystem as the images. Every process it starts is killed by
# PID and every temp dir removed on exit, also on failure. Needs root (cryo does). Exit status is
# non-zero on any failure.
set -euo pipefail

runs=3
sizes="64 1024"
warmup=1
prime=1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build="$root/build"

usage() {
  echo "usage: bench/run.sh [--runs N] [--sizes \"64 1024\"] [--warmup N] [--build-dir DIR] [--no-prime]" >&2
  exit 2
}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) [[ $# -ge 2 ]] || usage; runs=$2; shift 2 ;;
    --sizes) [[ $# -ge 2 ]] || usage; sizes=$2; shift 2 ;;
    --warmup) [[ $# -ge 2 ]] || usage; warmup=$2; shift 2 ;;
    --build-dir) [[ $# -ge 2 ]] || usage; build=$2; shift 2 ;;
    --no-prime) prime=0; shift ;;
    -h|--help) usage ;;
    *) echo "bench/run.sh: unknown argument '$1'" >&2; usage ;;
  esac
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "bench/run.sh: --runs must be a positive integer" >&2; exit 2; }
[[ "$warmup" =~ ^[0-9]+$ ]] || { echo "bench/run.sh: --warmup must be a non-negative integer" >&2; exit 2; }
for s in $sizes; do
  [[ "$s" =~ ^[1-9][0-9]*$ ]] || { echo "bench/run.sh: sizes are positive integers (MiB), not '$s'" >&2; exit 2; }
done
[[ -n "$sizes" ]] || usage
[[ $(id -u) -eq 0 ]] || { echo "bench/run.sh: must run as root (cryo needs it)" >&2; exit 1; }

bench_name=bench/run.sh
# shellcheck source=bench/lib.sh
source "$here/lib.sh"

# --- Build -------------------------------------------------------------------------------------
bench_build
cryo="$build/cryo"
workload="$build/bench/bench_memory"
reference="$build/bench/memcpy_reference"
bench_workdir cryo-bench

key() { sed -n "s/^$1=//p" "$2"; }

# --- One round ---------------------------------------------------------------------------------
# Sets the globals r_* for size $1 (MiB), round $2.
round() {
  local mib=$1 tag="$1-$2"
  local ref="$work/reference-$tag.txt" log="$work/workload-$tag.log" img="$work/images-$tag"

  "$reference" --mib "$mib" --dir "$work" --reps 1 >"$ref" || die "memcpy_reference --mib $mib failed"
  r_memcpy=$(key memcpy_warm_s "$ref")
  r_memcpy_fresh=$(key memcpy_fresh_s "$ref")
  r_write=$(key write_s "$ref")
  r_write_fsync=$(key write_fsync_s "$ref")
  r_first_write=$(key first_write_fsync_s "$ref")

  local pid
  pid=$("$cryo" run --detach --log "$log" -- "$workload" "$mib") || die "cryo run failed"
  [[ "$pid" =~ ^[0-9]+$ ]] || die "cryo run printed '$pid', not a PID"
  live[$pid]=1
  wait_for_line "$log" '^READY' 1 300 || die "workload $pid did not print READY (log: $(cat "$log"))"
  r_rss_kib=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")

  # The same warm-up as the reference's write had: see memcpy_reference.c.
  if ((prime)); then "$reference" --mib "$mib" --dir "$work" --prime || die "memcpy_reference --prime failed"; fi

  local t0 t1
  t0=$EPOCHREALTIME
  "$cryo" dump -t "$pid" -D "$img" >"$work/dump-$tag.out" 2>&1 || die "cryo dump failed: $(cat "$work/dump-$tag.out")"
  t1=$EPOCHREALTIME
  r_dump=$(elapsed "$t0" "$t1")
  # cryo dump kills the tree once the image is committed.
  wait_gone "$pid" || die "the dumped tree $pid is still alive"
  unset "live[$pid]"
  local frozen_ms
  frozen_ms=$(sed -n 's/.*dumped .* in [0-9.]* ms (frozen \([0-9.]*\) ms).*/\1/p' "$img/dump.log" | tail -n 1)
  [[ -n "$frozen_ms" ]] || die "no frozen time in $img/dump.log"
  r_frozen=$(awk -v ms="$frozen_ms" 'BEGIN { printf "%.6f", ms / 1000 }')
  r_image_bytes=$(du -sb "$img" | cut -f1)
  # Where the dump's time went, from its own log (ms since the dump started).
  r_phases="pages at $(sed -n 's/.*pid 1: pages after \([0-9.]*\) ms.*/\1/p' "$img/dump.log" | head -n 1) ms, committed at $(sed -n 's/.*image committed to .* after \([0-9.]*\) ms.*/\1/p' "$img/dump.log") ms"

  local rpid
  t0=$EPOCHREALTIME
  rpid=$("$cryo" restore -D "$img" --detach 2>"$work/restore-$tag.err") ||
    die "cryo restore failed: $(cat "$work/restore-$tag.err")"
  t1=$EPOCHREALTIME
  r_restore=$(elapsed "$t0" "$t1")
  [[ "$rpid" =~ ^[0-9]+$ ]] || die "cryo restore printed '$rpid', not a PID"
  live[$rpid]=1

  # Not timed: the restored init checks every word of its memory.
  kill -USR1 "$rpid" || die "restored init $rpid is gone"
  wait_for_line "$log" '^\(PASS\|FAIL\)' 1 300 || die "restored init $rpid did not answer the memory check"
  grep -q '^PASS' "$log" || die "restored memory is wrong: $(grep '^FAIL' "$log")"
  kill_tree "$rpid"
  rm -rf -- "$img" "$log" "$ref"
}

# --- Run ---------------------------------------------------------------------------------------
gb() { awk -v mib="$1" -v s="$2" 'BEGIN { printf "%.2f", mib * 1048576 / 1e9 / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", a / b }'; }

echo "cryo bench: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet 2>/dev/null || echo '+dirty'), kernel $(uname -r), $(nproc) CPUs"
echo "temp dir: $work ($(df --output=fstype "$work" | tail -n 1), same filesystem as the images); THP: $(cat /sys/kernel/mm/transparent_hugepage/enabled)"
echo "sizes: $sizes MiB; $runs timed run(s) after $warmup warm-up round(s) per size; page cache primed before each dump: $( ((prime)) && echo yes || echo no); loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

declare -A out=()
for mib in $sizes; do
  for ((w = 1; w <= warmup; w++)); do round "$mib" "w$w"; done
  declare -a memcpy=() memcpy_fresh=() write=() write_fsync=() first_write=() dump=() frozen=() restore=() rss=() image=()
  for ((r = 1; r <= runs; r++)); do
    round "$mib" "$r"
    memcpy+=("$r_memcpy"); memcpy_fresh+=("$r_memcpy_fresh"); write+=("$r_write"); write_fsync+=("$r_write_fsync"); first_write+=("$r_first_write")
    dump+=("$r_dump"); frozen+=("$r_frozen"); restore+=("$r_restore"); rss+=("$r_rss_kib"); image+=("$r_image_bytes")
    printf 'run %s MiB #%d: memcpy %.4f s, memcpy fresh %.4f s, write %.4f s, write+fsync %.4f s (first write %.4f s), dump %.4f s (frozen %.4f s), restore %.4f s, RSS %d KiB, image %d bytes; dump log: %s\n' \
      "$mib" "$r" "$r_memcpy" "$r_memcpy_fresh" "$r_write" "$r_write_fsync" "$r_first_write" "$r_dump" "$r_frozen" "$r_restore" "$r_rss_kib" "$r_image_bytes" "$r_phases"
  done
  m_memcpy=$(median "${memcpy[@]}"); m_fresh=$(median "${memcpy_fresh[@]}")
  m_write=$(median "${write[@]}"); m_fsync=$(median "${write_fsync[@]}")
  m_first=$(median "${first_write[@]}")
  m_dump=$(median "${dump[@]}"); m_frozen=$(median "${frozen[@]}"); m_restore=$(median "${restore[@]}")
  m_rss=$(median "${rss[@]}"); m_image=$(median "${image[@]}")
  out[$mib,rss]=$(awk -v k="$m_rss" 'BEGIN { printf "%.1f MiB", k / 1024 }')
  out[$mib,image]=$(awk -v b="$m_image" -v k="$m_rss" 'BEGIN { printf "%.1f MiB (%.3f x RSS)", b / 1048576, b / (k * 1024) }')
  for name in memcpy fresh write fsync first dump frozen restore; do
    v="m_$name"
    out[$mib,$name]=$(printf '%.3f s  %s GB/s' "${!v}" "$(gb "$mib" "${!v}")")
  done
  out[$mib,dump_memcpy]=$(ratio "$m_dump" "$m_memcpy")
  out[$mib,dump_fsync]=$(ratio "$m_dump" "$m_fsync")
  out[$mib,restore_memcpy]=$(ratio "$m_restore" "$m_memcpy")
  out[$mib,restore_fresh]=$(ratio "$m_restore" "$m_fresh")
  echo
done

echo "Medians of $runs run(s); GB/s = size / time (10^9 bytes/s); loadavg at end: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-34s' ""
for mib in $sizes; do printf ' | %-26s' "$mib MiB"; done
echo
rows=("rss:RSS of the workload"
      "image:image size"
      "memcpy:memcpy (warm, in-process)"
      "fresh:memcpy into fresh memory"
      "write:write (no fsync)"
      "fsync:write + fsync (reference)"
      "first:write + fsync, first of round"
      "dump:cryo dump wall"
      "frozen:cryo dump frozen"
      "restore:cryo restore --detach wall"
      "dump_memcpy:dump / memcpy"
      "dump_fsync:dump / write+fsync"
      "restore_memcpy:restore / memcpy"
      "restore_fresh:restore / memcpy fresh")
for row in "${rows[@]}"; do
  printf '%-34s' "${row#*:}"
  for mib in $sizes; do printf ' | %-26s' "${out[$mib,${row%%:*}]}"; done
  echo
done
