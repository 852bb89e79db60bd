#!/usr/bin/env bash
# Installs petclf on a Debian/Ubuntu server and starts it: the upload page behind nginx, the
# job worker, the TCP classification server and the Telegram bot, kept running by systemd.
#   sudo deploy/install.sh [options]
# Safe to run again: it updates the code and the units, keeps /etc/petclf/petclf.env (your
# secrets), the live model and the stored state in /var/lib/petclf. See deploy/README.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_dir=$(dirname "$here")
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$here/lib.sh"

usage() {
  cat <<EOF
usage: $(basename "$0") [options]

Installs petclf from this checkout: the app in /opt/petclf (own virtualenv from
requirements.txt), the model in /var/lib/petclf/models, settings in /etc/petclf/petclf.env
(written once with a new admin token, never overwritten), the systemd units petclf-web,
petclf-worker, petclf-tcp, petclf-bot and the nginx site; then enables and starts them.

options:
  --prefix DIR        install under DIR instead of / (DIR/opt/petclf, DIR/etc/petclf, ...);
                      the files are written but no service is touched
  --no-systemd        for hosts without systemd: write everything, start nothing, and print
                      the commands that run the services
  --model FILE.h5     the model to serve (its card FILE.json beside it); default: the live
                      model stays, or models/pets.h5 from this checkout on a first install
  --user NAME         run the services as NAME (default: petclf, created as a system user)
  --server-name NAME  the site's domain for nginx and certbot (default: _, any name)
  --python PYTHON     the Python 3.11+ that builds the virtualenv (default: python3)
  --venv DIR          use this virtualenv, which already has requirements.txt installed,
                      instead of building one (it is linked as /opt/petclf/venv)
  -h, --help          this help
EOF
}

prefix=""
manage_services=1
model=""
service_user=petclf
server_name=_
python=python3
given_venv=""
while [ $# -gt 0 ]; do
  case $1 in
    --prefix) prefix=${2:?--prefix needs a folder}; shift ;;
    --no-systemd) manage_services=0 ;;
    --model) model=${2:?--model needs a file}; shift ;;
    --user) service_user=${2:?--user needs a name}; shift ;;
    --server-name) server_name=${2:?--server-name needs a name}; shift ;;
    --python) python=${2:?--python needs a command}; shift ;;
    --venv) given_venv=${2:?--venv needs a folder}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
  shift
done

# --- where things go -------------------------------------------------------------------------
if [ -n "$prefix" ]; then
  [[ $prefix == /* ]] || die "--prefix must be an absolute path, not $prefix"
  [[ $prefix =~ ^[A-Za-z0-9._/-]+$ ]] || die "--prefix may only use letters, digits and . _ - /"
  prefix=${prefix%/}
  if [ -n "$prefix" ] && [ "$manage_services" -eq 1 ]; then
    say "--prefix $prefix: writing the files only; no service is touched"
    manage_services=0
  fi
fi
app_root=$prefix/opt/petclf
app_dir=$app_root/app
venv_dir=$app_root/venv
state_dir=$prefix/var/lib/petclf
conf_dir=$prefix/etc/petclf
env_file=$conf_dir/petclf.env
unit_dir=$prefix/etc/systemd/system
nginx_dir=$prefix/etc/nginx
log_dir=$prefix/var/log/nginx

# --- prerequisites ---------------------------------------------------------------------------
is_root=0
[ "$(id -u)" -eq 0 ] && is_root=1
if [ -z "$prefix" ] && [ "$is_root" -eq 0 ]; then
  die "run as root: sudo $0 $*"
fi
for file in requirements.txt deploy/gunicorn.conf.py deploy/petclf.env.example petclf/__main__.py; do
  [ -f "$source_dir/$file" ] || die "$source_dir is not a complete petclf checkout ($file is missing)"
done
for tool in tar sha256sum find; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is required (it comes with coreutils/tar)"
done
if [ -n "$given_venv" ]; then
  [ -x "$given_venv/bin/python" ] || die "--venv $given_venv is not a virtualenv (no bin/python)"
  python=$given_venv/bin/python
fi
command -v "$python" >/dev/null 2>&1 ||
  die "$python not found: install Python 3.11 or newer (sudo apt-get install python3 python3-venv)"
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
  die "$python is $("$python" -V 2>&1); petclf needs Python 3.11 or newer (use --python)"
if [ -z "$prefix" ]; then
  real_python=$(readlink -f "$(command -v "$python")")
  case $real_python in
    /root/* | /home/*)
      die "$real_python is under /root or /home, which the services can't read (they run as $service_user with ProtectHome): use a system Python, e.g. --python /usr/bin/python3" ;;
  esac
fi
if [ -z "$given_venv" ]; then
  "$python" -c 'import ensurepip, venv' 2>/dev/null ||
    die "$python can't make virtualenvs: sudo apt-get install python3-venv"
fi
if [ "$manage_services" -eq 1 ]; then
  systemd_running || die "systemd is not running on this host: rerun with --no-systemd"
  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] ||
    die "nginx is required: sudo apt-get install nginx"
fi
if ! id -u "$service_user" >/dev/null 2>&1; then
  [ "$is_root" -eq 1 ] || die "user $service_user does not exist: run as root to create it, or pass --user"
  command -v useradd >/dev/null 2>&1 || die "useradd is required to create the user $service_user"
fi

# --- user and folders ------------------------------------------------------------------------
if ! id -u "$service_user" >/dev/null 2>&1; then
  say "creating the system user $service_user"
  useradd --system --user-group --home-dir "$state_dir" --no-create-home \
    --shell /usr/sbin/nologin "$service_user"
fi
service_group=$(id -gn "$service_user")

mkdir -p "$app_root" "$state_dir/models" "$conf_dir" "$unit_dir" "$log_dir"
chmod 755 "$app_root"
if [ "$is_root" -eq 1 ]; then
  chown "$service_user:$service_group" "$state_dir" "$state_dir/models"
  chmod 750 "$state_dir"
fi

# --- virtualenv: rebuilt only when requirements.txt changes ----------------------------------
requirements_sha=$(sha256sum "$source_dir/requirements.txt" | cut -d' ' -f1)
requirements_changed=0
if [ -n "$given_venv" ]; then
  if [ -e "$venv_dir" ] && [ ! -L "$venv_dir" ]; then
    die "$venv_dir already holds a virtualenv; remove it or drop --venv"
  fi
  say "using the virtualenv $given_venv"
  ln -sfn "$(cd "$given_venv" && pwd)" "$venv_dir"
else
  if [ -L "$venv_dir" ]; then rm "$venv_dir"; fi
  if [ ! -x "$venv_dir/bin/python" ]; then
    say "creating the virtualenv $venv_dir"
    "$python" -m venv "$venv_dir"
  fi
  stamp=$venv_dir/.petclf-requirements.sha256
  if [ "$(cat "$stamp" 2>/dev/null)" != "$requirements_sha" ]; then
    requirements_changed=1
    say "installing requirements.txt into $venv_dir (TensorFlow is large: a few minutes)"
    "$venv_dir/bin/python" -m pip install --quiet --upgrade pip
    "$venv_dir/bin/python" -m pip install --quiet -r "$source_dir/requirements.txt"
    echo "$requirements_sha" >"$stamp"
  fi
fi
# Whatever built it, the virtualenv must hold exactly the pinned versions.
"$venv_dir/bin/python" - "$source_dir/requirements.txt" <<'PY' || die "the virtualenv $venv_dir doesn't match requirements.txt"
import sys
from importlib import metadata

wrong = []
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if "==" not in line:
        continue
    name, wanted = (part.strip() for part in line.split("==", 1))
    name = name.split("[")[0]  # psycopg[binary]: the version is the package's, extras aside
    try:
        found = metadata.version(name)
    except metadata.PackageNotFoundError:
        found = "missing"
    if found != wanted:
        wrong.append(f"{name} {found} (want {wanted})")
if wrong:
    sys.exit("not as pinned: " + ", ".join(wrong))
PY

# --- the app: copied whole, then swapped in ----------------------------------------------------
say "installing the app into $app_dir"
parts=()
for part in petclf preprocessing scraping classifier training webapp bot store jobs projects \
  library deploy requirements.txt pyproject.toml README.md LICENSE; do
  [ -e "$source_dir/$part" ] && parts+=("$part")
done
staging=$(mktemp -d "$app_root/.app.XXXXXX")
tar -C "$source_dir" --exclude=__pycache__ --exclude='*.pyc' -cf - "${parts[@]}" | tar -C "$staging" -xf -
chmod -R u=rwX,go=rX "$staging"
"$venv_dir/bin/python" -m compileall -q "$staging" >/dev/null || warn "some files did not byte-compile"
rm -rf "$app_root/.app.old"
if [ -d "$app_dir" ]; then mv "$app_dir" "$app_root/.app.old"; fi
mv "$staging" "$app_dir"
rm -rf "$app_root/.app.old"

# `petclf` for the units and for the operator: the install's Python with the app on its path.
mkdir -p "$app_root/bin"
cat >"$app_root/bin/petclf" <<EOF
#!/bin/sh
# petclf from $app_dir with the virtualenv $venv_dir (written by install.sh)
PYTHONPATH="$app_dir\${PYTHONPATH:+:\$PYTHONPATH}" exec "$venv_dir/bin/python" -m petclf "\$@"
EOF
chmod 755 "$app_root/bin" "$app_root/bin/petclf"

# Paths in the units and the settings name the default layout: move them to this one.
relocate() {
  sed -e "s|/opt/petclf|$app_root|g" -e "s|/var/lib/petclf|$state_dir|g" -e "s|/etc/petclf|$conf_dir|g" \
    -e "s|^User=petclf\$|User=$service_user|" -e "s|^Group=petclf\$|Group=$service_group|" "$@"
}

# --- settings: written once ---------------------------------------------------------------------
if [ -e "$env_file" ]; then
  say "keeping your settings in $env_file"
  [ -n "$(env_value "$env_file" PETCLF_ADMIN_TOKEN)" ] ||
    warn "$env_file sets no PETCLF_ADMIN_TOKEN, so the web app generates the token for uploading and training into PETCLF_HOME/admin_token (see deploy/petclf.env.example)"
else
  say "writing $env_file with a new admin token (edit it to set TELEGRAM_TOKEN)"
  # Private from the first byte; the token is made inside Python, never on a command line.
  (
    umask 077
    relocate "$source_dir/deploy/petclf.env.example" | "$venv_dir/bin/python" -c '
import secrets, sys
for line in sys.stdin:
    if line == "PETCLF_ADMIN_TOKEN=\n":
        line = f"PETCLF_ADMIN_TOKEN={secrets.token_urlsafe(32)}\n"
    sys.stdout.write(line)' >"$env_file"
  )
fi
chmod 640 "$env_file"
if [ "$is_root" -eq 1 ]; then
  chown "root:$service_group" "$conf_dir" "$env_file"
  chmod 750 "$conf_dir"
fi

# --- the model ------------------------------------------------------------------------------
live_model=$(env_value "$env_file" PETCLF_MODEL)
[ -n "$live_model" ] || die "$env_file does not set PETCLF_MODEL"
if [ -z "$model" ] && [ ! -f "$live_model" ] && [ -f "$source_dir/models/pets.h5" ]; then
  model=$source_dir/models/pets.h5
fi
if [ -n "$model" ]; then
  say "installing the model $model"
  PETCLF_ENV_FILE=$env_file PETCLF_MODEL=$live_model PETCLF_USER=$service_user \
    "$app_dir/deploy/update-model.sh" --no-reload "$model"
fi
have_model=0
if [ -f "$live_model" ]; then
  have_model=1
else
  warn "no model yet: train one (petclf train), then: sudo $app_dir/deploy/update-model.sh models/pets.h5"
fi

# --- systemd units --------------------------------------------------------------------------
units=(petclf-web.service petclf-worker.service petclf-tcp.service petclf-bot.service)
for unit in "${units[@]}"; do
  relocate "$source_dir/deploy/$unit" >"$unit_dir/$unit"
  chmod 644 "$unit_dir/$unit"
done

# --- nginx site ------------------------------------------------------------------------------
max_upload_mb=$(env_value "$env_file" PETCLF_MAX_UPLOAD_MB)
max_upload_mb=${max_upload_mb:-10}
[[ $max_upload_mb =~ ^[0-9]+([.][0-9]+)?$ ]] || die "PETCLF_MAX_UPLOAD_MB in $env_file must be a number of MB"
max_upload_kb=$(awk -v mb="$max_upload_mb" 'BEGIN { printf "%d", mb * 1024 }')   # nginx sizes are whole
[ "$max_upload_kb" -gt 0 ] || die "PETCLF_MAX_UPLOAD_MB in $env_file must be above 0"
if [ -z "$prefix" ] && [ ! -d "$nginx_dir/sites-available" ] && [ -d "$nginx_dir/conf.d" ]; then
  site=$nginx_dir/conf.d/petclf.conf   # nginx packages without sites-available
else
  mkdir -p "$nginx_dir/sites-available" "$nginx_dir/sites-enabled"
  site=$nginx_dir/sites-available/petclf
fi
"$here/render-template.sh" "$source_dir/deploy/nginx-petclf.conf" \
  LISTEN=80 SERVER_NAME="$server_name" UPSTREAM=127.0.0.1:8000 LOG_DIR="$log_dir" \
  MAX_UPLOAD_KB="$max_upload_kb" STATIC_DIR="$app_dir/webapp/static" >"$site.new"
mv "$site.new" "$site"
chmod 644 "$site"
if [ "$site" = "$nginx_dir/sites-available/petclf" ]; then
  ln -sfn "$site" "$nginx_dir/sites-enabled/petclf"
  if [ -L "$nginx_dir/sites-enabled/default" ]; then
    say "disabling nginx's default site (it would answer on port 80 instead of petclf)"
    rm "$nginx_dir/sites-enabled/default"
  fi
fi

# --- start -----------------------------------------------------------------------------------
if [ "$manage_services" -eq 0 ]; then
  cat <<EOF

Installed under ${prefix:-/} without touching any service. To run petclf by hand:
  set -a; . $env_file; set +a
  cd $state_dir
  PYTHONPATH=$app_dir $venv_dir/bin/gunicorn -c $app_dir/deploy/gunicorn.conf.py 'webapp:create_app()'
  $app_root/bin/petclf worker
  $app_root/bin/petclf tcp-server
  $app_root/bin/petclf bot          # once TELEGRAM_TOKEN is set
and have nginx include $site.
EOF
  exit 0
fi

say "starting the services"
systemctl daemon-reload
systemctl enable --quiet "${units[@]}"
# The worker needs no model. A training it was running is stopped and marked as such.
systemctl restart petclf-worker.service
if [ "$have_model" -eq 1 ]; then
  if [ "$requirements_changed" -eq 1 ]; then
    systemctl restart petclf-web.service   # new libraries, gunicorn's own included
  else
    systemctl reload-or-restart petclf-web.service   # running: graceful reload onto the new code
  fi
  systemctl restart petclf-tcp.service
  if [ -n "$(env_value "$env_file" TELEGRAM_TOKEN)" ]; then
    systemctl restart petclf-bot.service
  else
    systemctl stop petclf-bot.service   # its unit skips it anyway until a token is set
  fi
fi
nginx -t -q || die "nginx rejects its configuration (see above); petclf's site is $site"
systemctl enable --quiet nginx.service
systemctl reload-or-restart nginx.service

address=""
if command -v curl >/dev/null 2>&1; then  # the public address, on EC2 (IMDSv2)
  token=$(curl -fsS -m 2 -X PUT http://169.254.169.254/latest/api/token \
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' 2>/dev/null || true)
  if [ -n "$token" ]; then
    address=$(curl -fsS -m 2 -H "X-aws-ec2-metadata-token: $token" \
      http://169.254.169.254/latest/meta-data/public-ipv4 2>/dev/null || true)
  fi
fi
[ -n "$address" ] || address=$(hostname -I 2>/dev/null | cut -d' ' -f1)
[ "$server_name" = _ ] || address=$server_name
cat <<EOF

petclf is running. The upload page: http://${address:-<this server>}/
  API:     curl -F file=@cat.jpg http://${address:-<this server>}/api/v1/predict
  status:  systemctl status 'petclf-*'      logs: journalctl -u 'petclf-*' -f
  admin:   the token for uploading and training is PETCLF_ADMIN_TOKEN in $env_file
  bot:     set TELEGRAM_TOKEN in $env_file, then: sudo systemctl restart petclf-bot
EOF
if [ "$have_model" -eq 0 ]; then
  warn "the web and TCP services wait for a model (see above)"
fi
