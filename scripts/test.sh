#!/usr/bin/env bash
# Set up everything the test suite needs (Python packages, PyTorch CPU as the oracle, ONNX export, Debian's
# Chromium for the browser tests when run as root) and run it. Extra arguments go to pytest,
# e.g. scripts/test.sh -k conv
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev,peers,export,keras-weights
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test: installing Debian's Chromium for the browser tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
  else
    echo "test: /usr/bin/chromium is missing and this is not root: the browser tests will skip"
  fi
fi
exec .venv/bin/python -m pytest "$@"
