#!/usr/bin/env bash
# Swaps in a newly trained model without dropping a request:
#   sudo /opt/petclf/app/deploy/update-model.sh [--no-reload] NEW.h5 [NEW.json]
#
# 1. Copies NEW.h5 and its card (default: NEW.json beside it) into a new release folder, with
#    its runtime (NEW.tflite, NEW.runtime.json) when that is beside it.
# 2. Checks it with the installation's Python exactly as the services load it (valid card,
#    made for this very .h5, fast runtime built and cached) and classifies a probe image.
# 3. Switches the `current` link to the release with one rename: readers see the old model
#    or the new one, never a mix.
# 4. Reloads gunicorn (HUP: fresh workers load the new model while the old ones finish their
#    requests), restarts the TCP server (SIGTERM lets it finish its requests; the bot retries
#    meanwhile), and waits until the web app serves the new card.
# 5. Keeps the last few releases for rollback: update again from releases/<older>/<name>.h5.
# A model that fails a check is refused and the live one keeps serving.
#
# Environment (the defaults fit install.sh's layout):
#   PETCLF_ENV_FILE       settings to read PETCLF_MODEL from (/etc/petclf/petclf.env)
#   PETCLF_MODEL          the live model: <models>/current/<name>.h5
#   PETCLF_PYTHON         Python with petclf's requirements (default: the installation's venv)
#   PETCLF_USER           owner of the model files when run as root (petclf)
#   PETCLF_RELOAD_WEB     command that reloads gunicorn; empty: don't
#                         (default with systemd: systemctl reload-or-restart petclf-web)
#   PETCLF_RESTART_TCP    command that restarts the TCP server; empty: don't
#                         (default with systemd: systemctl restart petclf-tcp)
#   PETCLF_WEB_URL        where to see the new model served (http://127.0.0.1:8000); empty: don't
#   PETCLF_RELOAD_TIMEOUT seconds to wait for that (120)
#   PETCLF_KEEP_RELEASES  releases kept, the live one included (3)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
app_dir=$(dirname "$here")
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$here/lib.sh"

usage() {  # the comment block at the top of this file
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
}

reload=1
positional=()
while [ $# -gt 0 ]; do
  case $1 in
    --no-reload) reload=0 ;;
    -h | --help) usage; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) positional+=("$1") ;;
  esac
  shift
done
if [ ${#positional[@]} -lt 1 ] || [ ${#positional[@]} -gt 2 ]; then
  usage >&2
  exit 2
fi
new_h5=${positional[0]}
new_card=${positional[1]:-${new_h5%.*}.json}
[ -f "$new_h5" ] || die "no such model file: $new_h5"
[ -f "$new_card" ] || die "no model card for $new_h5: expected $new_card (or pass it as the second argument)"

env_file=${PETCLF_ENV_FILE:-/etc/petclf/petclf.env}
live_model=${PETCLF_MODEL:-$(env_value "$env_file" PETCLF_MODEL)}
[ -n "$live_model" ] || die "PETCLF_MODEL is set neither in the environment nor in $env_file"
[[ $live_model == /*/*.h5 ]] || die "PETCLF_MODEL must be the absolute path of an .h5 file, not: $live_model"
current_link=$(dirname "$live_model")
models_dir=$(dirname "$current_link")
name=$(basename "$live_model" .h5)
[ -d "$models_dir" ] || die "the models folder $models_dir does not exist (run install.sh first)"
[ -w "$models_dir" ] || die "can't write to $models_dir (run with sudo)"
if [ -e "$current_link" ] && [ ! -L "$current_link" ]; then
  die "$current_link is a folder; this script manages it as a link (move the folder away, then update from its .h5)"
fi

python=${PETCLF_PYTHON:-}
for candidate in "$app_dir/../venv/bin/python" "$app_dir/.venv/bin/python"; do
  if [ -z "$python" ] && [ -x "$candidate" ]; then python=$candidate; fi
done
[ -n "$python" ] || die "no Python with petclf's requirements next to $app_dir: set PETCLF_PYTHON"

# One update at a time.
exec 9>"$models_dir/.update.lock"
if command -v flock >/dev/null 2>&1; then
  flock -n 9 || die "another model update is running"
fi

releases=$models_dir/releases
mkdir -p "$releases"
release=$(mktemp -d "$releases/$(date -u +%Y%m%dT%H%M%SZ).XXXXXX")
trap 'rm -rf "$release"' EXIT   # dropped once the release goes live
cp "$new_h5" "$release/$name.h5"
cp "$new_card" "$release/$name.json"
chmod 755 "$release"
chmod 644 "$release/$name.h5" "$release/$name.json"
# An int8 runtime built beside it (petclf train --int8-photos) can't be rebuilt here without the
# training photos, so it travels with the model; one that doesn't match the .h5 is rebuilt, in float.
for suffix in tflite runtime.json; do
  if [ -f "${new_h5%.*}.$suffix" ]; then
    cp "${new_h5%.*}.$suffix" "$release/$name.$suffix"
    chmod 644 "$release/$name.$suffix"
  fi
done

say "checking $new_h5"
if ! PYTHONPATH="$app_dir${PYTHONPATH:+:$PYTHONPATH}" "$python" "$here/modelcheck.py" \
  verify "$release/$name.h5" --current "$live_model" --origin "$new_h5" "$new_card"; then
  die "refused $new_h5; the live model is unchanged"
fi
service_user=${PETCLF_USER:-petclf}
if [ "$(id -u)" -eq 0 ] && id -u "$service_user" >/dev/null 2>&1; then
  chown -R "$service_user:" "$release"   # the services may rebuild the runtime cache there
fi

# The switch: a relative link (the tree can be moved or restored from backup), renamed over
# the old one in a single step.
ln -sfn "releases/${release##*/}" "$models_dir/.current.new"
mv -Tf "$models_dir/.current.new" "$current_link"
trap - EXIT
say "the live model is now ${release#"$models_dir"/}"

run_control() {  # WHAT COMMAND: run a service-control command given as one string
  [ -n "$2" ] || return 0
  say "$1: $2"
  bash -c "$2" || die "$1 failed ($2); the new model is in place but may not be serving"
}

if [ "$reload" -eq 1 ]; then
  web_command=${PETCLF_RELOAD_WEB-}
  tcp_command=${PETCLF_RESTART_TCP-}
  if systemd_running; then
    if [ -z "${PETCLF_RELOAD_WEB+set}" ] && systemctl is-enabled --quiet petclf-web.service 2>/dev/null; then
      web_command="systemctl reload-or-restart petclf-web.service"
    fi
    if [ -z "${PETCLF_RESTART_TCP+set}" ] && systemctl is-enabled --quiet petclf-tcp.service 2>/dev/null; then
      tcp_command="systemctl restart petclf-tcp.service"
    fi
  elif [ -z "${PETCLF_RELOAD_WEB+set}${PETCLF_RESTART_TCP+set}" ]; then
    warn "no systemd here: send HUP to the gunicorn master and restart the TCP server yourself"
  fi
  run_control "reloading the web workers" "$web_command"
  run_control "restarting the TCP server" "$tcp_command"

  web_url=${PETCLF_WEB_URL-http://127.0.0.1:8000}
  if [ -n "$web_command" ] && [ -n "$web_url" ]; then
    sha=$(sha256sum "$current_link/$name.h5" | cut -d' ' -f1)
    timeout=${PETCLF_RELOAD_TIMEOUT:-120}
    status=0
    "$python" "$here/modelcheck.py" wait-served "$web_url" "$sha" --timeout "$timeout" || status=$?
    case $status in
      0) say "the web app serves the new model" ;;
      2) warn "the web app at $web_url did not answer; check: journalctl -u petclf-web" ;;
      *) die "the web app still serves another model after ${timeout}s; check: journalctl -u petclf-web" ;;
    esac
  fi
fi

# Keep the newest releases (names sort by time), and always the live one.
keep=${PETCLF_KEEP_RELEASES:-3}
live_release=$(readlink "$current_link")
mapfile -t all_releases < <(find "$releases" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort)
for ((i = 0; i < ${#all_releases[@]} - keep; i++)); do
  old=${all_releases[i]}
  [ "releases/$old" = "$live_release" ] || rm -rf "${releases:?}/$old"
done
