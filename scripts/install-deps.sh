#!/usr/bin/env bash
# Installs what cryo needs to build and test on Debian 12, only when something is missing.
set -euo pipefail
packages=(g++ cmake make pkg-config protobuf-compiler libprotobuf-dev libcap-dev libspdlog-dev libfmt-dev
          libcli11-dev nlohmann-json3-dev libxxhash-dev libzstd-dev libsodium-dev libgtest-dev python3 perl bash procps patch
          openjdk-17-jdk-headless nginx-light postgresql-15 stress-ng erlang-base
          # The man pages (scdoc), the .deb (dpkg-shlibdeps computes its Depends) and their tests.
          scdoc dpkg-dev file binutils man-db groff-base bash-completion)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
