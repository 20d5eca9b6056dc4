# Sourced by the package tests: what cryo's own --help lists, read independently of
# completion/generate.sh (a plain grep of the option names, not its parser).

# The subcommands in `cryo --help`.
help_commands() {
  "$1" --help | awk '/^[A-Za-z].*:$/ { s = $0; next } s == "Subcommands:" && /^  [a-z]/ { print $1 }'
}

# Every option name in `cryo [COMMAND] --help`, one a line (-D and --images-dir both).
help_options() {
  local cryo=$1
  shift
  "$cryo" "$@" --help | awk '/^[A-Za-z].*:$/ { s = $0; next } s == "Options:" && /^  -/ { print $1 }' |
    sed 's/{.*//' | tr ',' '\n'
}

fail() {
  echo "FAIL: $*" >&2
  failures=$((${failures:-0} + 1))
}
