#!/usr/bin/env bash
# Installs what the image fuzzer needs (clang, libFuzzer and the sanitizer runtimes), only when
# missing. Kept apart from install-deps.sh: cryo itself builds with g++ alone.
set -euo pipefail
packages=(clang-16 libfuzzer-16-dev libclang-rt-16-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
