#!/usr/bin/env bash
# Set up everything the tests need on a fresh machine, then run them:
#   Chromium and nginx (Debian packages) for the real-browser and proxy tests, a virtual environment
#   (.venv, made with $PYTHON, default python3) with the pinned requirements and nnviz installed
#   editable, the MNIST files in the data root, and pytest. Everything after it runs with .venv's
#   python: PYTHON is exported as that, for scripts/fetch_data.sh and the tests' own scripts.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
# Debian packages, each installed only when missing: Chromium for the browser tests, nginx for the
# test of several app processes behind a proxy (tests/test_proxy.py).
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium fonts-dejavu-core)
PATH=$PATH:/usr/sbin command -v nginx >/dev/null 2>&1 || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]} (Debian packages) for the browser and proxy tests"
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi

if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$PYTHON" -m venv .venv
fi
export PYTHON=$PWD/.venv/bin/python
echo "== installing requirements-dev.txt (nnviz itself editable: requirements.txt's -e .)"
"$PYTHON" -m pip install -q --disable-pip-version-check -r requirements-dev.txt

# Data: the data root ($NNVIZ_DATA_DIR or ./data) is filled from a local copy of the official
# files when one is given (machines without internet), otherwise torchvision downloads them.
bash scripts/fetch_data.sh

echo "== running the tests"
exec "$PYTHON" -m pytest "$@"
