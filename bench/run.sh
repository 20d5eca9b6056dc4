#!/usr/bin/env bash
# Measures cryo dump and restore against the physical reference, measured in the same run.
#
#   bench/run.sh [--runs N] [--sizes "64 512 2048"] [--modes "primed cold"] [--warmup N] [--build-dir DIR] [--no-prime]
#
# For each size S (MiB) it runs --warmup untimed rounds and then --runs timed rounds of each mode
# (taking turns); every round runs, one after the other (interleaved, so that all of them see the
# same state of the machine):
#   1. bench/memcpy_reference: memcpy of S MiB between warm buffers, into fresh memory, and write(2)
#      of S MiB to a new file in the temp dir, with and without fsync (see memcpy_reference.c);
#   2. cryo run --detach bench_memory S: a PID-namespace init with S MiB of non-zero data; waits
#      for its READY line;
#   3. in mode primed, memcpy_reference --prime (writes S MiB to a file and deletes it: the same
#      warm-up of the page cache as the reference write had); mode cold (--no-prime: only it)
#      skips that, then
#      cryo dump -t PID -D DIR (wall time; frozen time from the summary line in DIR/dump.log);
#   4. cryo restore -D DIR --detach (wall time: until it returns, i.e. the restored tree runs);
#   5. SIGUSR1 to the restored init, which re-checks all of its memory and must print PASS
#      (outside the timed part), then SIGKILL.
# It prints the medians per size and mode as a table, with the ratios of issue 12's targets to the
# references measured in the same rounds (dump / warm write+fsync, restore / memcpy into fresh
# memory, each <= 1.1x). Throughput is S MiB / time in GB/s (10^9 bytes/s).
#
# The reference write is write + fsync, because cryo dump fsyncs every image file when it commits
# (src/image/image_dir.cc, ImageDirWriter::commit); write without fsync is shown for comparison.
# All temp dirs (the images and the reference's file) are made under ${TMPDIR:-/var/tmp}, so that
# the reference writes to the same filesystem as the images. Every process it starts is killed by
# PID and every temp dir removed on exit, also on failure. Needs root (cryo does). Exit status is
# non-zero on any failure.
set -euo pipefail

sizes="64 512 2048"
modes="primed cold"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build="$root/build"

bench_name=bench/run.sh
bench_usage='bench/run.sh [--runs N] [--sizes "64 512 2048"] [--modes "primed cold"] [--warmup N] [--build-dir DIR] [--no-prime]'
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
bench_option() {
  case "$1" in
    --sizes) need_value "$@"; sizes=$2; taken=2 ;;
    --modes) need_value "$@"; modes=$2; taken=2 ;;
  esac
}
bench_parse_args "$@"
((prime)) || modes=cold
[[ -n "$sizes" && -n "$modes" ]] || usage
for s in $sizes; do
  [[ "$s" =~ ^[1-9][0-9]*$ ]] || { echo "bench/run.sh: sizes are positive integers (MiB), not '$s'" >&2; exit 2; }
done
for m in $modes; do
  [[ "$m" == primed || "$m" == cold ]] || { echo "bench/run.sh: modes are 'primed' and 'cold', not '$m'" >&2; exit 2; }
done

# --- Build -------------------------------------------------------------------------------------
bench_build
cryo="$build/cryo"
workload="$build/bench/bench_memory"
reference="$build/bench/memcpy_reference"
bench_workdir cryo-bench

key() { sed -n "s/^$1=//p" "$2"; }

# --- One round ---------------------------------------------------------------------------------
# Sets the globals r_* for size $1 (MiB), round $2, mode $3 (primed or cold).
round() {
  local mib=$1 tag="$1-$2-$3" mode=$3
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
  if [[ "$mode" == primed ]]; then "$reference" --mib "$mib" --dir "$work" --prime || die "memcpy_reference --prime failed"; fi

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
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
# A ratio against its target: "1.05x (<= 1.1x: met)".
target() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { r = a / b; printf "%.2fx (<= %.1fx: %s)", r, t, r <= t ? "met" : "not met" }'; }

echo "cryo bench: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet 2>/dev/null || echo '+dirty'), kernel $(uname -r), $(nproc) CPUs"
echo "temp dir: $work ($(df --output=fstype "$work" | tail -n 1), same filesystem as the images); THP: $(cat /sys/kernel/mm/transparent_hugepage/enabled)"
echo "sizes: $sizes MiB; modes: $modes (primed: the page cache is primed before each dump; cold: it is not); $runs timed run(s) after $warmup warm-up round(s) per size; loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

declare -A out=()
for mib in $sizes; do
  for ((w = 1; w <= warmup; w++)); do for mode in $modes; do round "$mib" "w$w" "$mode"; done; done
  declare -a memcpy=() memcpy_fresh=() write=() write_fsync=() first_write=() rss=() image=()
  declare -A dump=() frozen=() restore=()
  for ((r = 1; r <= runs; r++)); do
    # The modes take turns within a round, so that both see the same state of the machine.
    for mode in $modes; do
      round "$mib" "$r" "$mode"
      memcpy+=("$r_memcpy"); memcpy_fresh+=("$r_memcpy_fresh"); write+=("$r_write"); write_fsync+=("$r_write_fsync"); first_write+=("$r_first_write")
      dump[$mode]+=" $r_dump"; frozen[$mode]+=" $r_frozen"; restore[$mode]+=" $r_restore"; rss+=("$r_rss_kib"); image+=("$r_image_bytes")
      printf 'run %s MiB #%d %s: memcpy %.4f s, memcpy fresh %.4f s, write %.4f s, write+fsync %.4f s (first write %.4f s), dump %.4f s (frozen %.4f s), restore %.4f s, RSS %d KiB, image %d bytes; dump log: %s\n' \
        "$mib" "$r" "$mode" "$r_memcpy" "$r_memcpy_fresh" "$r_write" "$r_write_fsync" "$r_first_write" "$r_dump" "$r_frozen" "$r_restore" "$r_rss_kib" "$r_image_bytes" "$r_phases"
    done
  done
  m_memcpy=$(median "${memcpy[@]}"); m_fresh=$(median "${memcpy_fresh[@]}")
  m_write=$(median "${write[@]}"); m_fsync=$(median "${write_fsync[@]}")
  m_first=$(median "${first_write[@]}")
  m_rss=$(median "${rss[@]}"); m_image=$(median "${image[@]}")
  out[$mib,rss]=$(awk -v k="$m_rss" 'BEGIN { printf "%.1f MiB", k / 1024 }')
  out[$mib,image]=$(awk -v b="$m_image" -v k="$m_rss" 'BEGIN { printf "%.1f MiB (%.3f x RSS)", b / 1048576, b / (k * 1024) }')
  for name in memcpy fresh write fsync first; do
    v="m_$name"
    out[$mib,$name]=$(printf '%.3f s  %s GB/s' "${!v}" "$(gb "$mib" "${!v}")")
  done
  for mode in $modes; do
    # shellcheck disable=SC2086 # The lists are words.
    m_dump=$(median ${dump[$mode]}); m_frozen=$(median ${frozen[$mode]}); m_restore=$(median ${restore[$mode]})
    out[$mib,dump_$mode]=$(printf '%.3f s  %s GB/s' "$m_dump" "$(gb "$mib" "$m_dump")")
    out[$mib,frozen_$mode]=$(printf '%.3f s' "$m_frozen")
    out[$mib,restore_$mode]=$(printf '%.3f s  %s GB/s' "$m_restore" "$(gb "$mib" "$m_restore")")
    # Issue 12's targets: 1, a durable dump within 1.1x of a warm write + fsync of the same bytes;
    # 3, an eager restore within 1.1x of a memcpy of the same bytes into fresh memory.
    out[$mib,dump_fsync_$mode]=$(target "$m_dump" "$m_fsync" 1.1)
    out[$mib,restore_fresh_$mode]=$(target "$m_restore" "$m_fresh" 1.1)
    out[$mib,dump_memcpy_$mode]=$(ratio "$m_dump" "$m_memcpy")
  done
  unset dump frozen restore
  echo
done

echo "Medians of $runs run(s) per mode; GB/s = size / time (10^9 bytes/s); loadavg at end: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-40s' ""
for mib in $sizes; do printf ' | %-28s' "$mib MiB"; done
echo
rows=("rss:RSS of the workload"
      "image:image size"
      "memcpy:memcpy (warm, in-process)"
      "fresh:memcpy into fresh memory (reference)"
      "write:write (no fsync)"
      "fsync:write + fsync (reference)"
      "first:write + fsync, first of round")
for mode in $modes; do
  rows+=("dump_$mode:cryo dump wall, $mode"
         "frozen_$mode:cryo dump frozen, $mode"
         "restore_$mode:cryo restore --detach, $mode")
done
for mode in $modes; do
  rows+=("dump_fsync_$mode:target 1: dump / write+fsync, $mode"
         "restore_fresh_$mode:target 3: restore / fresh memcpy, $mode"
         "dump_memcpy_$mode:dump / memcpy, $mode")
done
for row in "${rows[@]}"; do
  printf '%-40s' "${row#*:}"
  for mib in $sizes; do printf ' | %-28s' "${out[$mib,${row%%:*}]}"; done
  echo
done
