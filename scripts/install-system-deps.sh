#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages the test suite drives for real: a headless browser
# for the upload page, nginx, shellcheck and systemd-analyze for the deploy checks, and
# redis-server and PostgreSQL, which the tests start on free ports in temporary folders. Skips
# what is present.
set -euo pipefail

declare -A package_for=(
  [chromium]=chromium
  [nginx]=nginx
  [shellcheck]=shellcheck
  [systemd-analyze]=systemd
  [redis-server]=redis-server
)

missing=()
for command in "${!package_for[@]}"; do
  if ! command -v "$command" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$command" ]; then
    missing+=("${package_for[$command]}")
  fi
done
# Debian keeps PostgreSQL's server programs off PATH, in one folder per major version.
postgres_found=0
for bin in /usr/lib/postgresql/*/bin; do
  if [ -x "$bin/initdb" ] && [ -x "$bin/pg_ctl" ]; then postgres_found=1; fi
done
[ "$postgres_found" -eq 1 ] || missing+=(postgresql)
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "Please install these packages with your system's package manager: ${missing[*]}" >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "Installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
