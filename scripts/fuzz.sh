#!/usr/bin/env bash
# Builds the image fuzzer (clang, libFuzzer, ASan+UBSan) in build-fuzz/ and runs it for SECONDS
# (default 60) on one core, starting from the committed seed corpus and every past crash.
#   scripts/fuzz.sh [SECONDS]
# Fails on any crash, sanitizer report, leak, input slower than 10 s or use of more than 2 GB; the
# offending input is then in build-fuzz/fuzz-run/artifacts/. To keep it as a regression test, copy it
# to tests/fuzz/regressions/ (tests/unit/fuzz_regression_test.cc replays that directory).
# New inputs the fuzzer finds go to build-fuzz/fuzz-run/corpus/, never into the committed corpus.
set -euo pipefail
seconds=${1:-60}
root=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
bash "$root/scripts/fuzz-deps.sh"
CC=clang-16 CXX=clang++-16 cmake -S "$root" -B "$root/build-fuzz" -DCRYO_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$root/build-fuzz" --target image_fuzzer -j"$(nproc)"

run=$root/build-fuzz/fuzz-run
mkdir -p "$run/corpus" "$run/artifacts"
# Directory inputs write small image directories on every run: on tmpfs that is about 2.5 times faster
# than on disk. The scratch directory is removed even when the fuzzer crashes.
scratch=$(mktemp -d "$( [[ -d /dev/shm && -w /dev/shm ]] && echo /dev/shm || echo "${TMPDIR:-/tmp}")/cryo-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
cd "$run"
# One process on one core; UBSan findings abort so libFuzzer records them.
TMPDIR="$scratch" UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  "$root/build-fuzz/tests/fuzz/image_fuzzer" corpus "$root/tests/fuzz/corpus" "$root/tests/fuzz/regressions" \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$run/artifacts/" \
  -print_final_stats=1
