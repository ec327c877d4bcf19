#!/usr/bin/env bash
# The test suite: ./run_tests.sh [pytest args]. Sets up .venv on first use (see scripts/bootstrap.sh).
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh
export JUPYTER_PATH="$PWD/.venv/share/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
exec .venv/bin/python -m pytest -q --durations=15 "$@"  # the slowest tests named at the end (CI time)
