# shellcheck shell=bash
# Helpers shared by install.sh and update-model.sh (sourced, not run).

# say MESSAGE: progress for the operator.
say() { printf '%s: %s\n' "${0##*/}" "$*"; }

# warn MESSAGE: something the operator should know, on stderr.
warn() { printf '%s: warning: %s\n' "${0##*/}" "$*" >&2; }

# die MESSAGE: one clear line on stderr, then exit 1.
die() { printf '%s: error: %s\n' "${0##*/}" "$*" >&2; exit 1; }

# env_value FILE NAME: NAME's value in a systemd EnvironmentFile (the last line wins, quotes
# stripped), or nothing. Read line by line rather than sourced: the file holds secrets and
# systemd's syntax is not the shell's.
env_value() {
  local line value=""
  [ -r "$1" ] || return 0
  while IFS= read -r line || [ -n "$line" ]; do
    case $line in
      "$2="*) value=${line#"$2="} ;;
    esac
  done <"$1"
  case $value in
    \"*\") value=${value:1:-1} ;;
    \'*\') value=${value:1:-1} ;;
  esac
  printf '%s' "$value"
}

# systemd_running: true when this host was booted with systemd (not merely has systemctl).
systemd_running() { [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }
