#!/usr/bin/env bash
# `cmake --install` puts every file in its usual place, under DESTDIR with --prefix /usr (as a
# package build does) and under a plain --prefix: cryo in bin/, the cryo-core it execs for every
# command but run in libexec/cryo/, cryo.1 and a page per command
# of `cryo --help` in share/man/man1/, the bash completion in share/bash-completion/completions/,
# where bash-completion's loader finds it; the installed binary runs and man finds its pages.
#   install_test.sh CRYO_BINARY BUILD_DIR
set -euo pipefail
cryo=$1 build=$2
source "$(dirname "$0")/help_options.sh"
failures=0
scratch=$(mktemp -d /var/tmp/cryo-install-test.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
commands=$(help_commands "$cryo")
version=$("$cryo" --version)

check_tree() {  # check_tree PREFIX-ON-DISK
  local prefix=$1
  [[ -x $prefix/bin/cryo ]] || fail "no executable $prefix/bin/cryo"
  [[ -x $prefix/libexec/cryo/cryo-core ]] || fail "no executable $prefix/libexec/cryo/cryo-core"
  [[ $("$prefix/bin/cryo" --version) == "$version" ]] || fail "$prefix/bin/cryo --version is not '$version'"
  for page in cryo $(printf 'cryo-%s ' $commands); do
    [[ -f $prefix/share/man/man1/$page.1.gz ]] || fail "no $prefix/share/man/man1/$page.1.gz"
  done
  [[ $(MANPATH=$prefix/share/man man -w cryo-restore 2>/dev/null) == "$prefix/share/man/man1/cryo-restore.1.gz" ]] ||
    fail "man -w cryo-restore does not find the page under $prefix/share/man"
  [[ -f $prefix/share/bash-completion/completions/cryo ]] || fail "no $prefix/share/bash-completion/completions/cryo"
  [[ -f $prefix/share/doc/cryo/README.md ]] || fail "no $prefix/share/doc/cryo/README.md"
  # bash-completion's on-demand loader, given this prefix's share/, loads the completion for cryo.
  if [[ -f /usr/share/bash-completion/bash_completion ]]; then
    local loaded
    loaded=$(XDG_DATA_DIRS=$prefix/share HOME=$scratch bash --norc -c \
      'source /usr/share/bash-completion/bash_completion; __load_completion cryo && complete -p cryo' 2>&1) || true
    [[ $loaded == *'-F _cryo cryo'* ]] || fail "bash-completion does not load the completion from $prefix/share: $loaded"
  else
    fail "bash-completion is not installed (scripts/install-deps.sh installs it)"
  fi
}

DESTDIR=$scratch/destdir cmake --install "$build" --prefix /usr >"$scratch/install.log" 2>&1 ||
  { cat "$scratch/install.log" >&2; fail "DESTDIR=... cmake --install --prefix /usr failed"; }
check_tree "$scratch/destdir/usr"
# Nothing is installed outside the prefix.
outside=$(cd "$scratch/destdir" && find . -mindepth 1 -maxdepth 1 ! -name usr)
[[ -z $outside ]] || fail "installed outside /usr: $outside"

cmake --install "$build" --prefix "$scratch/prefix" >"$scratch/install.log" 2>&1 ||
  { cat "$scratch/install.log" >&2; fail "cmake --install --prefix $scratch/prefix failed"; }
check_tree "$scratch/prefix"

((failures == 0)) || { echo "$failures problem(s)" >&2; exit 1; }
echo "install: bin/cryo, $(($(wc -w <<<"$commands") + 1)) man pages, the completion and docs, with DESTDIR and with --prefix"
