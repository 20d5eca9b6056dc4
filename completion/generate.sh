#!/usr/bin/env bash
# Writes cryo's bash completion from the built binary's own --help (CLI11's layout), so that every
# command and option the CLI has is offered, a new one as soon as it is added.
#   generate.sh CRYO_BINARY OUTPUT
# What an option's value completes to comes from its help: an enumeration's values (CLI11 prints
# "ENUM:value in {a->0,b->1}"), else the kind named in value_kind() below by option name, else
# file names (bash's own default). Options that take no value (flags) complete nothing after them.
set -euo pipefail
cryo=$1 out=$2

# Prints "NAMES<TAB>TYPE" for each option of one --help text: NAMES comma-separated as printed
# ("-D,--images-dir"), TYPE the value's type (TEXT, INT, ENUM:...) or empty for a flag. The option
# part of a line is what comes before the first run of two spaces, where the description starts.
options_of() {
  awk '
    /^[A-Za-z].*:$/ { section = $0; next }
    section == "Options:" && /^  -/ {
      line = substr($0, 3)
      split(line, parts, /  +/)
      n = split(parts[1], fields, " ")
      names = fields[1]
      sub(/\{.*$/, "", names)  # CLI11 prints a negated flag with its default: --no-verify{false}
      type = (n >= 2 && fields[2] ~ /^[A-Z]+(:|$)/) ? fields[2] : ""
      if (type ~ /^ENUM:/) { type = parts[1]; sub(/^[^ ]+ /, "", type) }
      print names "\t" type
    }'
}

# Subcommands, from the top-level --help: "  NAME   description" under "Subcommands:".
commands_of() {
  awk '/^[A-Za-z].*:$/ { section = $0; next } section == "Subcommands:" && /^  [a-z]/ { print $1 }'
}

# The kind of value an option takes when its help does not say (no enumeration).
value_kind() {
  case $1 in
    -D | --images-dir) echo dirs ;;
    -t | --tree) echo pids ;;
    --boottime | --monotonic | --uptime | --shift | --hostname) echo none ;;
    *) echo files ;;
  esac
}

top_help=$("$cryo" --help)
commands=$(commands_of <<<"$top_help" | tr '\n' ' ')
[[ -n $commands ]] || { echo "generate.sh: no subcommands in '$cryo --help'" >&2; exit 1; }
top_options=$(options_of <<<"$top_help" | cut -f1 | tr ',\n' '  ')

options_case='' values_case=''
for command in $commands; do
  help=$("$cryo" "$command" --help)
  all=''
  while IFS=$'\t' read -r names type; do
    all+="${names//,/ } "
    [[ -n $type ]] || continue
    if [[ $type == ENUM:* ]]; then
      # "ENUM:value in {elapsed->1,freeze->0} OR {1,0}": the names before "->" in the first braces.
      enum=${type#*\{}
      enum=${enum%%\}*}
      words=$(tr ',' '\n' <<<"$enum" | sed 's/->.*//' | sort | tr '\n' ' ')
      kind="words ${words% }"
    elif [[ $type == *:DIR* ]]; then
      kind=dirs  # CLI11's ExistingDirectory check prints TEXT:DIR
    elif [[ $type == *:FILE* || $type == *:PATH* ]]; then
      kind=files
    else
      kind=$(value_kind "${names##*,}")
    fi
    for name in ${names//,/ }; do values_case+="    '$command $name') echo '$kind' ;;"$'\n'; done
  done < <(options_of <<<"$help")
  grep -q '^Positionals:' <<<"$help" && all+='-- '
  options_case+="    $command) echo '${all% }' ;;"$'\n'
done

tmp=$(mktemp "$out.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat >"$tmp" <<EOF
# bash completion for cryo. Generated from \`cryo --help\` by completion/generate.sh: do not edit.

# Every option of COMMAND (the empty command: cryo's own).
_cryo_options() {
  case \$1 in
    '') echo '${top_options% }' ;;
$options_case  esac
}

# What the value of option OPTION of COMMAND completes to: "words W...", dirs, files, pids or none.
# Nothing printed: OPTION takes no value.
_cryo_value_kind() {
  case "\$1 \$2" in
$values_case  esac
}

_cryo() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD - 1]}
  local i command='' kind
  COMPREPLY=()
  # "--opt=value": bash splits at '=', so the option is two words back.
  if [[ \$cur == '=' ]]; then
    prev=\${COMP_WORDS[COMP_CWORD - 1]} cur=''
  elif [[ \$prev == '=' ]] && ((COMP_CWORD >= 2)); then
    prev=\${COMP_WORDS[COMP_CWORD - 2]}
  fi
  for ((i = 1; i < COMP_CWORD; i++)); do
    case \${COMP_WORDS[i]} in
      -*) ;;
      *) command=\${COMP_WORDS[i]}; break ;;
    esac
  done
  if [[ -z \$command ]]; then
    if [[ \$cur == -* ]]; then
      mapfile -t COMPREPLY < <(compgen -W "\$(_cryo_options '')" -- "\$cur")
    else
      mapfile -t COMPREPLY < <(compgen -W '${commands% }' -- "\$cur")
    fi
    return 0
  fi
  # After "--" (cryo run -- CMD ARG...): a command, then its arguments as file names.
  for ((i = i + 1; i < COMP_CWORD; i++)); do
    [[ \${COMP_WORDS[i]} == -- ]] || continue
    if ((i + 1 == COMP_CWORD)); then
      mapfile -t COMPREPLY < <(compgen -c -- "\$cur")
    else
      mapfile -t COMPREPLY < <(compgen -f -- "\$cur")
    fi
    return 0
  done
  kind=\$(_cryo_value_kind "\$command" "\$prev")
  case \$kind in
    words\ *) mapfile -t COMPREPLY < <(compgen -W "\${kind#words }" -- "\$cur"); return 0 ;;
    dirs) mapfile -t COMPREPLY < <(compgen -d -- "\$cur"); compopt -o filenames 2>/dev/null; return 0 ;;
    files) mapfile -t COMPREPLY < <(compgen -f -- "\$cur"); compopt -o filenames 2>/dev/null; return 0 ;;
    pids) mapfile -t COMPREPLY < <(compgen -W "\$(cd /proc && compgen -G '[1-9]*')" -- "\$cur"); return 0 ;;
    none) return 0 ;;
  esac
  # Options; a word that is not one (a further --include PATH, a command without "--") is a file name.
  if [[ -z \$cur || \$cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "\$(_cryo_options "\$command")" -- "\$cur")
  else
    mapfile -t COMPREPLY < <(compgen -f -- "\$cur")
    compopt -o filenames 2>/dev/null
  fi
  return 0
}
complete -F _cryo cryo
EOF
bash -n "$tmp"
chmod 0644 "$tmp"
mv "$tmp" "$out"
trap - EXIT
