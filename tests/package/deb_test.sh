#!/usr/bin/env bash
# Builds the .deb with CPack into a scratch directory and checks it as a user would meet it:
#  - its control fields (name, version from the project, architecture, section, maintainer,
#    description) and its files (cryo, the cryo-core it execs, cryo.1 and a page per command of `cryo --help`, the
#    bash completion);
#  - its Depends: each shared library cryo-core needs (cryo itself is static) (ELF NEEDED, found with ldd) belongs to a
#    package that Depends names, and Depends names no package that provides none of them;
#  - unpacked with dpkg-deb -x, the binary runs: --version, and `cryo check` with the built binary's
#    verdict; the man pages render and the completion parses;
#  - `apt-get install --simulate` resolves it here, and a real `apt-get install ./cryo_*.deb` into a
#    copy-on-write overlay of this machine's root (in a private mount namespace, so the host is left
#    as it was) puts cryo on PATH, where `cryo check` runs and `man -w` finds its pages.
#   deb_test.sh CRYO_BINARY BUILD_DIR
set -euo pipefail
cryo=$1 build=$2
source "$(dirname "$0")/help_options.sh"
failures=0
scratch=$(mktemp -d /var/tmp/cryo-deb-test.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

if ! cpack -G DEB --config "$build/CPackConfig.cmake" -B "$scratch/out" >"$scratch/cpack.log" 2>&1; then
  cat "$scratch/cpack.log" >&2
  echo "FAIL: cpack -G DEB failed" >&2
  exit 1
fi
debs=("$scratch"/out/cryo_*.deb)
[[ ${#debs[@]} -eq 1 && -f ${debs[0]} ]] || { echo "FAIL: cpack made no single cryo_*.deb: ${debs[*]}" >&2; exit 1; }
deb=${debs[0]}
version=$("$cryo" --version)
version=${version#cryo }
arch=$(dpkg --print-architecture)
[[ $(basename "$deb") == "cryo_${version}_${arch}.deb" ]] || fail "package file is $(basename "$deb"), not cryo_${version}_${arch}.deb"

# Control fields.
field() { dpkg-deb -f "$deb" "$1"; }
[[ $(field Package) == cryo ]] || fail "Package is '$(field Package)'"
[[ $(field Version) == "$version" ]] || fail "Version is '$(field Version)', cryo --version says $version"
[[ $(field Architecture) == "$arch" ]] || fail "Architecture is '$(field Architecture)'"
[[ $(field Section) == admin ]] || fail "Section is '$(field Section)'"
[[ $(field Maintainer) =~ ^[^\<]+\ \<[^@\>]+@[^\>]+\>$ ]] || fail "Maintainer '$(field Maintainer)' is not 'Name <address>'"
description=$(field Description)
[[ $(wc -l <<<"$description") -ge 3 && -n $(head -n 1 <<<"$description") ]] ||
  fail "Description has no summary and extended text: $description"
dpkg-deb -I "$deb" >/dev/null || fail "dpkg-deb -I cannot read the control archive"

# Files.
contents=$(dpkg-deb -c "$deb" | awk '{ print $1, $NF }')
has_file() {  # has_file PATH MODE-PATTERN
  grep -qE "^$2 \./${1//./\\.}$" <<<"$contents" || fail "the package has no $1 (mode $2)"
}
has_file usr/bin/cryo '-rwxr-xr-x'
has_file usr/libexec/cryo/cryo-core '-rwxr-xr-x'
has_file usr/share/bash-completion/completions/cryo '-rw-r--r--'
has_file usr/share/man/man1/cryo.1.gz '-rw-r--r--'
commands=$(help_commands "$cryo")
for command in $commands; do has_file "usr/share/man/man1/cryo-$command.1.gz" '-rw-r--r--'; done
has_file usr/share/doc/cryo/README.md '-rw-r--r--'

# Unpacked: the binary, its libraries and Depends.
dpkg-deb -x "$deb" "$scratch/root"
packaged=$scratch/root/usr/bin/cryo
packaged_core=$scratch/root/usr/libexec/cryo/cryo-core
file -b "$packaged" | grep -q 'not stripped' && fail "usr/bin/cryo is not stripped"
file -b "$packaged_core" | grep -q 'not stripped' && fail "usr/libexec/cryo/cryo-core is not stripped"
objdump -p "$packaged" | grep -q NEEDED && fail "usr/bin/cryo needs shared libraries: it should be static"
depends=$(field Depends)
# The package names in Depends, without versions, one a line.
depend_names=$(tr ',|' '\n\n' <<<"$depends" | sed 's/([^)]*)//; s/^ *//; s/ *$//' | grep .)
mapfile -t needed < <(objdump -p "$packaged_core" | awk '$1 == "NEEDED" { print $2 }')
((${#needed[@]} >= 5)) || fail "objdump finds only ${#needed[@]} NEEDED libraries: ${needed[*]}"
# Each library's package, and the names it answers to: itself and what it Provides (a shlibs file
# may name a virtual package, such as libspdlog1.10-fmt9 of libspdlog1.10).
owners=() answers=''
for lib in "${needed[@]}"; do
  path=$(ldd "$packaged_core" | awk -v lib="$lib" '$1 == lib { print $3 }')
  [[ -n $path && -e $path ]] || { fail "ldd does not resolve $lib"; continue; }
  owner=''
  # With merged /usr a library is registered under /lib or /usr/lib, whichever its package used.
  for candidate in "$path" "$(readlink -f "$path")" "/usr${path#/usr}" "${path#/usr}"; do
    owner=$(dpkg-query -S "$candidate" 2>/dev/null | head -n 1 | cut -d: -f1) && [[ -n $owner ]] && break
  done
  [[ -n $owner ]] || { fail "no installed package owns $path ($lib)"; continue; }
  owners+=("$owner")
  names=$(printf '%s\n' "$owner"; dpkg-query -W -f '${Provides}\n' "$owner" | tr ',' '\n' | sed 's/([^)]*)//; s/^ *//; s/ *$//' | grep . || true)
  answers+="$names"$'\n'
  grep -qxF -f <(printf '%s\n' "$names") <<<"$depend_names" ||
    fail "Depends does not name $owner (or what it provides), which has $lib: $depends"
done
while read -r package; do
  grep -qxF -- "$package" <<<"$answers" ||
    fail "Depends names $package, which provides none of the libraries cryo needs (${needed[*]})"
done <<<"$depend_names"

[[ $("$packaged" --version) == "cryo $version" ]] || fail "the packaged cryo --version says '$("$packaged" --version)'"
verdict() {
  local out status=0
  out=$("$1" check) || status=$?
  echo "$status $(grep '^checkpoint/restore:' <<<"$out")"
}
packaged_verdict=$(verdict "$packaged")
[[ $packaged_verdict == *'checkpoint/restore:'* ]] || fail "the packaged cryo check prints no verdict: $packaged_verdict"
[[ $packaged_verdict == "$(verdict "$cryo")" ]] ||
  fail "the packaged cryo check says '$packaged_verdict', the built one '$(verdict "$cryo")'"
bash -n "$scratch/root/usr/share/bash-completion/completions/cryo" || fail "the packaged completion does not parse"
for command in $commands; do
  MANWIDTH=100 man -l "$scratch/root/usr/share/man/man1/cryo-$command.1.gz" 2>/dev/null | grep -q "^NAME" ||
    fail "man -l cannot render cryo-$command.1.gz"
done

# apt resolves the package's dependencies on this machine.
simulated=$(apt-get install --simulate "$deb" 2>&1) || fail "apt-get install --simulate failed: $simulated"
grep -q '^Inst cryo ' <<<"$simulated" || fail "apt-get install --simulate would not install cryo: $simulated"

# A real install into an overlay of /, in a mount namespace of its own that ends with this test.
# man-db's trigger (rebuilding its index) is switched off in the overlay: it takes most of the time.
mkdir "$scratch/layers" "$scratch/merged" "$scratch/pkg"
cp "$deb" "$scratch/pkg/"
cp "$packaged" "$scratch/pkg/cryo.unpacked"
cp "$packaged_core" "$scratch/pkg/cryo-core.unpacked"
host_cryo_before=$(stat -c '%i %Y' /usr/bin/cryo 2>/dev/null || echo absent)
cat >"$scratch/install.sh" <<'EOF'
set -euo pipefail
scratch=$1 deb=$2
root=$scratch/merged
mount -t tmpfs tmpfs "$scratch/layers"
mkdir "$scratch/layers/upper" "$scratch/layers/work"
mount -t overlay overlay -o "lowerdir=/,upperdir=$scratch/layers/upper,workdir=$scratch/layers/work" "$root"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
for dir in run tmp; do mount -t tmpfs tmpfs "$root/$dir"; done
mkdir -p "$root/pkg"
mount --bind "$scratch/pkg" "$root/pkg"
rm -f "$root/var/lib/man-db/auto-update"
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "/pkg/$deb" \
  >"$scratch/apt.log" 2>&1 || { cat "$scratch/apt.log" >&2; echo "FAIL: apt-get install ./$deb failed" >&2; exit 1; }
chroot "$root" env PATH=/usr/sbin:/usr/bin:/sbin:/bin sh -ec '
  [ "$(command -v cryo)" = /usr/bin/cryo ] || { echo "FAIL: cryo is not on PATH after the install" >&2; exit 1; }
  cmp -s /usr/bin/cryo /pkg/cryo.unpacked || { echo "FAIL: /usr/bin/cryo is not the packaged binary" >&2; exit 1; }
  cmp -s /usr/libexec/cryo/cryo-core /pkg/cryo-core.unpacked ||
    { echo "FAIL: /usr/libexec/cryo/cryo-core is not the packaged binary" >&2; exit 1; }
  dpkg-query -W -f "\${Status}\n" cryo | grep -q "install ok installed" || { echo "FAIL: dpkg does not list cryo" >&2; exit 1; }
  cryo check >/dev/null || [ $? -eq 1 ] || { echo "FAIL: the installed cryo check failed to run" >&2; exit 1; }
  for page in cryo cryo-dump cryo-restore; do
    man -w "$page" >/dev/null || { echo "FAIL: man -w $page finds no page" >&2; exit 1; }
  done'
EOF
unshare --mount --propagation private bash "$scratch/install.sh" "$scratch" "$(basename "$deb")" || fail "the installed package"
[[ $(stat -c '%i %Y' /usr/bin/cryo 2>/dev/null || echo absent) == "$host_cryo_before" ]] ||
  fail "the host's /usr/bin/cryo changed (the overlay install leaked)"

((failures == 0)) || { echo "$failures problem(s)" >&2; exit 1; }
echo "package: $(basename "$deb"), ${#needed[@]} libraries from ${#owners[@]} packages in Depends, installs with apt"
