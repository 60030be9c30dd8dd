#!/usr/bin/env bash
# The one test command: installs what the tests need, then runs the whole suite.
#   bash tests/run.sh [pytest args...]
# Python packages come from pyproject.toml ([test] extra); system programs the tests drive
# (Chromium for the HTML tests, Virtuoso for the remote-store tests) from tests/system-deps.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'
if [ -x tests/system-deps.sh ]; then
  bash tests/system-deps.sh
fi
exec python3 -m pytest "$@"
