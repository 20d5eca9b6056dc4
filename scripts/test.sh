#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, and runs every test through CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
cd build
# Two at a time, as many as this machine kind has cores: the suite takes about half as long as one at a time.
if ! ctest --output-on-failure --timeout 300 -j2; then
  # A failed test runs once more, alone. Two e2e tests at a time on two cores sometimes miss a
  # deadline; one that passes alone is named below as flaky (a bug still, of the test or of cryo,
  # to be found from the failure printed above). One that fails again fails the run.
  failed=$(cat Testing/Temporary/LastTestsFailed.log)
  echo "== running the failed tests again, one at a time =="
  ctest --rerun-failed --output-on-failure --timeout 300
  echo "FLAKY: failed once, passed alone (see their first failure above):"
  echo "$failed" | sed 's/^/FLAKY:   /'
fi
# Fuzz smoke run (issue 5): builds the image fuzzer with clang in build-fuzz/ and fuzzes for 30 s from
# the committed corpus; a crash, sanitizer report or broken invariant fails the run.
bash ../scripts/fuzz.sh 30
