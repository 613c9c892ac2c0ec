#!/usr/bin/env bash
# Makes the Python virtualenv that checks the deployment files (scripts/check-deploy.py):
# kubernetes-validate (the Kubernetes JSON schemas), botocore (AWS's service models) and
# dockerfile (Docker's own parser). Idempotent; prints the venv's python.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=".build-venv/deploy-check"
if ! "$venv/bin/python" -c 'import kubernetes_validate, botocore, dockerfile' 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'kubernetes-validate>=1.33' botocore dockerfile >&2
fi
echo "$PWD/$venv/bin/python"
