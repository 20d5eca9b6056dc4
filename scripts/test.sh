#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, and runs every test through CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
cd build
# Two at a time, as many as this machine kind has cores: the suite takes about half as long as one at a time.
ctest --output-on-failure --timeout 300 -j2
# Fuzz smoke run (issue 5): builds the image fuzzer with clang in build-fuzz/ and fuzzes for 30 s from
# the committed corpus; a crash, sanitizer report or broken invariant fails the run.
bash ../scripts/fuzz.sh 30
