#!/usr/bin/env bash
# Mutation testing of the restore (not part of CI: it takes minutes). Each tests/mutants/*.patch
# switches off one dump or restore step; its "# tests:" line names the end-to-end tests of that
# kind of state. For each patch, in one scratch copy of the sources under /tmp (removed afterwards):
# apply it, rebuild (ccache), run its tests; then run them again with restore's --no-verify, which
# tells the mutants that only verification (the fingerprint comparison before the release) catches.
# Prints a table; exits non-zero if any mutant survived.
#   scripts/mutants.sh [tests/mutants/NN-name.patch ...]
#   scripts/mutants.sh --check   (CTest runs this: every patch still applies and names its tests)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
if [ "${1:-}" = --check ]; then
  bad=0
  for p in tests/mutants/*.patch; do
    grep -q '^# tests: ' "$p" || { echo "$p: no '# tests:' line"; bad=1; }
    patch -p1 --dry-run -s -f <"$p" >/dev/null 2>&1 || { echo "$p: no longer applies to the sources; make it again"; bad=1; }
  done
  exit $bad
fi
patches=("$@")
[ ${#patches[@]} -gt 0 ] || patches=(tests/mutants/*.patch)

# The scratch copy builds in src/build, as a checkout does: ccache (with base_dir above both) then
# finds the checkout's objects for every file the patch does not touch.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/cryo-mutants.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
mkdir "$scratch/src"
tar -C "$repo" --exclude=./build --exclude=./.git -cf - . | tar -C "$scratch/src" -xf -
ln -s src/build "$scratch/build"
cmake -S "$scratch/src" -B "$scratch/src/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache >/dev/null
echo "building the unmutated copy in $scratch ..." >&2
nice cmake --build "$scratch/build" -j2 >"$scratch/build.log" 2>&1 || { tail -20 "$scratch/build.log"; exit 1; }

# Runs the patch's tests; prints "killed" or "survived".
run_tests() {
  local filter=$1 log=$2
  if (cd "$scratch/build" && timeout 600 nice tests/cryo_e2e_tests --gtest_filter="$filter" >"$log" 2>&1); then
    echo survived
  else
    echo killed
  fi
}

rows=()
survivors=0
for patch in "${patches[@]}"; do
  name=$(basename "$patch" .patch)
  filter=$(sed -n 's/^# tests: //p' "$patch")
  (cd "$scratch/src" && patch -p1 -s <"$repo/$patch")
  if ! nice cmake --build "$scratch/build" -j2 >"$scratch/build.log" 2>&1; then
    rows+=("$(printf '%-28s %-10s %-22s %s' "$name" "no build" "-" "$filter")")
    tail -15 "$scratch/build.log" | sed "s/^/$name: /" >&2
    survivors=$((survivors + 1))
  else
    verdict=$(run_tests "$filter" "$scratch/$name.log")
    how="-"
    if [ "$verdict" = killed ]; then
      if grep -q "restored tree differs from the dump" "$scratch/$name.log"; then how="verification"; else how="workload"; fi
      if [ "$how" = verification ]; then
        # Does the workload's own check see it, once verification is off?
        without=$(CRYO_TEST_RESTORE_ARG=--no-verify run_tests "$filter" "$scratch/$name.noverify.log")
        [ "$without" = survived ] && how="verification only" || how="verification+workload"
      fi
    else
      survivors=$((survivors + 1))
    fi
    rows+=("$(printf '%-28s %-10s %-22s %s' "$name" "$verdict" "$how" "$filter")")
  fi
  (cd "$scratch/src" && patch -p1 -R -s <"$repo/$patch")
  echo "${rows[-1]}" >&2
done

printf '\n%-28s %-10s %-22s %s\n' mutant verdict "killed by" tests
printf '%s\n' "${rows[@]}"
echo "$(( ${#patches[@]} - survivors )) of ${#patches[@]} killed"
[ "$survivors" -eq 0 ]
