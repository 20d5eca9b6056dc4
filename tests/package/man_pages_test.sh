#!/usr/bin/env bash
# Every command in `cryo --help` has its man page (cryo-COMMAND.1; cryo.1 for cryo itself), each page
# has the usual sections, names every option its command's --help lists in its OPTIONS section, and
# renders without groff warnings; cryo.1 names every command. An option added to the CLI without its man page line fails
# here.
#   man_pages_test.sh CRYO_BINARY MAN_BUILD_DIR
set -euo pipefail
cryo=$1 mandir=$2
source "$(dirname "$0")/help_options.sh"
failures=0

# The page's text as roff source, without font changes and escapes, so "\fB--tree\fR" reads --tree.
page_text() { sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' -e 's/\\&//g' "$1"; }

check_page() {
  local page=$1
  shift
  if [[ ! -s $page ]]; then
    fail "$(basename "$page") is missing (add man/$(basename "$page").scd)"
    return
  fi
  local text
  text=$(page_text "$page")
  for section in NAME SYNOPSIS DESCRIPTION OPTIONS 'EXIT STATUS' EXAMPLES 'SEE ALSO'; do
    grep -q "^\.SH \"\?$section\"\?$" <<<"$text" || fail "$(basename "$page") has no $section section"
  done
  # An option is documented where the page's OPTIONS section names it (not only in an example).
  local options_section option count=0
  options_section=$(awk '/^\.SH / { in_options = ($0 ~ /^\.SH "?OPTIONS"?$/) } in_options' <<<"$text")
  while read -r option; do
    count=$((count + 1))
    grep -qE -- "(^|[^-A-Za-z0-9])${option}([^-A-Za-z0-9]|$)" <<<"$options_section" ||
      fail "the OPTIONS of $(basename "$page") do not name option $option of 'cryo $* --help'"
  done < <(help_options "$cryo" "$@")
  ((count > 0)) || fail "'cryo $* --help' lists no options (has its layout changed?)"
  local warnings
  warnings=$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$page" 2>&1) || true
  [[ -z $warnings ]] || fail "$(basename "$page"): groff warns: $warnings"
}

check_page "$mandir/cryo.1"
commands=$(help_commands "$cryo")
[[ -n $commands ]] || fail "'cryo --help' lists no subcommands"
# Read once into a variable: `grep -q` in a pipe may exit before the page is all written, and
# pipefail then takes sed's SIGPIPE for a missing command.
cryo_page=$(page_text "$mandir/cryo.1")
for command in $commands; do
  check_page "$mandir/cryo-$command.1" "$command"
  grep -qx "$command" <<<"$cryo_page" ||
    fail "cryo.1 does not list command $command under COMMANDS"
done
((failures == 0)) || { echo "$failures problem(s)" >&2; exit 1; }
echo "man pages: cryo.1 and $(wc -w <<<"$commands") command pages name every option of --help"
