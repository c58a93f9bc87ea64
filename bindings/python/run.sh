#!/usr/bin/env bash
# The Python binding tests: generate the bindings, make sure pytest is in the
# project's own venv (target/py-venv, never the user's or the system's site
# packages), and run bindings/python/tests against a real gridwork-server.
#
#   bash bindings/python/run.sh              # from any directory
#   bash bindings/python/run.sh -k sync -x   # extra arguments go to pytest
#
# Needs only python3 (with venv/ensurepip) and a reachable PyPI on the first run.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

bash bindings/generate.sh
# The test server uses the dev-profile gridwork-server.
cargo build -q -p gridwork-server

venv="$root/target/py-venv"
python="$venv/bin/python"
if [ ! -x "$python" ]; then
  python3 -m venv "$venv"
fi
if ! "$python" -c 'import pytest' >/dev/null 2>&1; then
  "$python" -m pip install -q --disable-pip-version-check 'pytest>=8,<9'
fi

export PYTHONPATH="$root/target/bindings/python${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1
exec bash bindings/with-test-server.sh \
  "$python" -m pytest -q -p no:cacheprovider --basetemp="$root/target/py-tmp" \
  bindings/python/tests "$@"
