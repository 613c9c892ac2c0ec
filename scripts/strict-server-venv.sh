#!/usr/bin/env bash
# Makes the Python virtualenv for the test server that we did not write on top of ours: a
# ShieldConex-shaped server on the `websockets` library 15.x (Tests/Fixtures/websockets-server),
# with its default handshake checks. Idempotent; prints the venv's python.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=".build-venv/strict-server"
if ! "$venv/bin/python" -c 'import websockets, sys; sys.exit(0 if websockets.__version__.startswith("15.") else 1)' 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'websockets>=15,<16' >&2
fi
echo "$PWD/$venv/bin/python"
