#!/usr/bin/env bash
# Fills a template's @NAME@ placeholders and prints the result.
#   render-template.sh TEMPLATE NAME=VALUE...
# Fails, printing nothing, when a placeholder is left without a value.
set -euo pipefail

if [ $# -lt 1 ] || [ ! -f "$1" ]; then
  echo "usage: $(basename "$0") TEMPLATE NAME=VALUE..." >&2
  exit 2
fi
template=$1
shift
text=$(cat "$template"; printf x)   # the x keeps trailing newlines through $( )
text=${text%x}

# Bash 5.2 would otherwise read "&" in a value as "the matched text".
shopt -u patsub_replacement 2>/dev/null || true
for pair in "$@"; do
  name=${pair%%=*}
  value=${pair#*=}
  if [ "$name" = "$pair" ] || [[ ! $name =~ ^[A-Z][A-Z0-9_]*$ ]]; then
    echo "$(basename "$0"): expected NAME=VALUE, got: $pair" >&2
    exit 2
  fi
  text=${text//@"$name"@/$value}
done

left=$(grep -oE '@[A-Z][A-Z0-9_]*@' <<<"$text" | sort -u | tr '\n' ' ' || true)
if [ -n "$left" ]; then
  echo "$(basename "$0"): no value for ${left% } in $template" >&2
  exit 1
fi
printf '%s' "$text"
