#!/usr/bin/env bash
# Set up HandDigit and run the drawing app in the browser (extra arguments go to `handdigit app`,
# e.g. scripts/run.sh --port 0 --no-browser).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/handdigit app "$@"
