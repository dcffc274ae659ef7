#!/usr/bin/env bash
# Create the project's virtual environment; on a fresh Debian, install python3-venv first.
set -euo pipefail
python=$1 venv=$2
[ -x "$venv/bin/python" ] && exit 0
if ! "$python" -m venv "$venv" 2>/dev/null; then
  rm -rf "$venv"
  echo "python3 -m venv failed; installing Debian's python3-venv" >&2
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq python3-venv >/dev/null
  "$python" -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
