# Shared by the bench scripts (bench/run.sh, bench/compress.sh, bench/scale.sh): sourced, not run.
# The script sets `bench_name` (for its messages), `bench_usage` (its usage line), `root` and
# `build` first, then calls bench_parse_args "$@", bench_build and bench_workdir PREFIX, which
# makes $work and the traps that kill every tree init in `live` (host PIDs the script started and
# has not seen die) and remove $work on exit, also on failure.

die() {
  echo "$bench_name: error: $*" >&2
  exit 1
}

usage() {
  echo "usage: $bench_usage" >&2
  exit 2
}

# Parses the options every bench script takes into globals: --runs N (runs, default 3), --warmup N
# (warmup, default 1), --build-dir DIR (build) and --no-prime (prime=0; default 1). Any other word
# goes to the script's own function bench_option, called with all the words left, which sets
# `taken` to how many it used (1 for a flag, 2 for an option with a value), or leaves it 0 for an
# unknown one. bench_option may check its value with need_value.
runs=${runs:-3}
warmup=${warmup:-1}
prime=${prime:-1}
bench_parse_args() {
  while [[ $# -gt 0 ]]; do
    taken=0
    case "$1" in
      --runs) need_value "$@"; runs=$2; taken=2 ;;
      --warmup) need_value "$@"; warmup=$2; taken=2 ;;
      --build-dir) need_value "$@"; build=$2; taken=2 ;;
      --no-prime) prime=0; taken=1 ;;
      -h|--help) usage ;;
      *) if declare -F bench_option >/dev/null; then bench_option "$@"; fi ;;
    esac
    ((taken > 0)) || { echo "$bench_name: unknown argument '$1'" >&2; usage; }
    shift "$taken"
  done
  [[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "$bench_name: --runs must be a positive integer" >&2; exit 2; }
  [[ "$warmup" =~ ^[0-9]+$ ]] || { echo "$bench_name: --warmup must be a non-negative integer" >&2; exit 2; }
  [[ $(id -u) -eq 0 ]] || { echo "$bench_name: must run as root (cryo needs it)" >&2; exit 1; }
}

# For an option that takes a value: fails with the usage line when it has none.
need_value() { [[ $# -ge 2 ]] || usage; }

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
