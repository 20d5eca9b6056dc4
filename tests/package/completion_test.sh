#!/usr/bin/env bash
# The bash completion, run the way bash runs it (COMP_WORDS, COMP_CWORD, then _cryo), offers every
# command of `cryo --help` and every option of each command's --help, the values of enumerated
# options, directories for -D, PIDs for -t, and a command after `cryo run --`.
#   completion_test.sh CRYO_BINARY COMPLETION_FILE
set -euo pipefail
cryo=$1 completion=$2
source "$(dirname "$0")/help_options.sh"
failures=0
[[ -s $completion ]] || { echo "FAIL: no completion file $completion" >&2; exit 1; }
# shellcheck disable=SC1090
source "$completion"
[[ $(complete -p cryo) == *'-F _cryo'* ]] || fail "the completion does not register _cryo for cryo"

# Prints what bash would offer for the command line "$@" (the last word is the one being completed).
offered() {
  COMP_WORDS=("$@")
  COMP_CWORD=$(($# - 1))
  COMPREPLY=()
  _cryo cryo "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
  printf '%s\n' "${COMPREPLY[@]}"
}

expect() {  # expect WORD COMMAND-LINE...: WORD is among the offers
  local word=$1
  shift
  local offers
  offers=$(offered "$@")
  grep -qxF -- "$word" <<<"$offers" || fail "'$*<TAB>' does not offer $word (offers: $(tr '\n' ' ' <<<"$offers"))"
}

commands=$(help_commands "$cryo")
[[ -n $commands ]] || fail "'cryo --help' lists no subcommands"
for command in $commands; do expect "$command" cryo ''; done
while read -r option; do expect "$option" cryo -; done < <(help_options "$cryo")
checked=0
for command in $commands; do
  while read -r option; do
    expect "$option" cryo "$command" -
    checked=$((checked + 1))
  done < <(help_options "$cryo" "$command")
done
# Options come after other options and values too.
expect --leave-running cryo dump -t 1 -D /tmp/x --le

expect freeze cryo restore -D img --clock ''
expect elapsed cryo restore --clock e
expect ns_last_pid cryo restore --pid-method n
grep -q -- '^-' <<<"$(offered cryo restore --clock '')" && fail "values of --clock include options"

scratch=$(mktemp -d /tmp/cryo-completion.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
mkdir "$scratch/image-dir"
touch "$scratch/image-file" "$scratch/key"
expect "$scratch/image-dir" cryo restore -D "$scratch/ima"
grep -qxF "$scratch/image-file" <<<"$(offered cryo restore -D "$scratch/ima")" && fail "-D offers a file, not only directories"
expect "$scratch/key" cryo dump -t 1 --sign "$scratch/k"
expect "$$" cryo dump -t "$$"
expect bash cryo run --uptime 1d -- bas
expect "$scratch/key" cryo run -- cat "$scratch/k"
[[ -z $(offered cryo run --uptime '') ]] || fail "--uptime DUR offers something"

((failures == 0)) || { echo "$failures problem(s)" >&2; exit 1; }
echo "completion: $(wc -w <<<"$commands") commands and $checked options of --help offered"
