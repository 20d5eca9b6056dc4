# Shared by the bench scripts (bench/run.sh, bench/scale.sh): sourced, not run. The script sets
# `bench_name` (for its messages), `root` and `build` first, then calls bench_build and
# bench_workdir PREFIX, which makes $work and the traps that kill every tree init in `live` (host
# PIDs the script started and has not seen die) and remove $work on exit, also on failure.

die() {
  echo "$bench_name: error: $*" >&2
  exit 1
}

# Configures (once) and builds the tree at $root into $build.
bench_build() {
  if [[ ! -f "$build/CMakeCache.txt" ]]; then
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || die "cmake configure failed"
  fi
  cmake --build "$build" -j2 >/dev/null || die "build failed"
}

# True while PID exists and is not a zombie.
alive() {
  local state
  state=$(awk '{ sub(/.*\) /, ""); print substr($0, 1, 1) }' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ "$state" != Z ]]
}

wait_gone() {
  local pid=$1 i
  for ((i = 0; i < 1000; i++)); do
    alive "$pid" || return 0
    sleep 0.01
  done
  return 1
}

kill_tree() {
  local pid=$1
  # The init of a PID namespace: SIGKILL to it takes the whole namespace down.
  kill -KILL "$pid" 2>/dev/null || true
  wait_gone "$pid" || echo "$bench_name: warning: PID $pid did not go away after SIGKILL" >&2
  unset "live[$pid]"
}

bench_cleanup() {
  local status=$?
  trap - EXIT INT TERM
  for pid in "${!live[@]}"; do kill_tree "$pid"; done
  rm -rf -- "$work"
  exit "$status"
}

# Makes the temp dir $work ($TMPDIR or /var/tmp, named PREFIX.XXXXXX) and sets the traps.
declare -A live=()
bench_workdir() {
  local tmp_base="${TMPDIR:-/var/tmp}"
  work=$(mktemp -d "$tmp_base/$1.XXXXXX") || die "mktemp -d in $tmp_base failed"
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# Seconds between two $EPOCHREALTIME readings (microsecond resolution, no fork).
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", b - a }'; }

median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Waits until FILE has at least COUNT lines matching PATTERN, or fails after SECONDS.
wait_for_line() {
  local file=$1 pattern=$2 count=$3 seconds=$4 i
  for ((i = 0; i < seconds * 100; i++)); do
    if [[ -f "$file" ]] && (($(grep -c -- "$pattern" "$file" || true) >= count)); then return 0; fi
    sleep 0.01
  done
  return 1
}
