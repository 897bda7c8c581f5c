#!/usr/bin/env bash
# Set up HandDigit and run it. Until the drawing app lands, this runs tinycnn's self-check:
# the reference network's summary, the kernels compiled, and a live gradient check.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m tinycnn "$@"
