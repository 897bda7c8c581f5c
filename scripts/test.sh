#!/usr/bin/env bash
# Set up everything the test suite needs (Python packages, PyTorch CPU as the oracle) and run it.
# Extra arguments go to pytest, e.g. scripts/test.sh -k conv
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev,peers
exec .venv/bin/python -m pytest "$@"
