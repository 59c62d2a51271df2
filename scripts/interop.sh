#!/usr/bin/env bash
# The interoperability suite: the published KnoxCall Python SDK (knoxcall==1.2.0) against a real `knoxcall serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-interop
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/interop/requirements.txt
KNOXCALL_BIN="${KNOXCALL_BIN:-$(swift build --show-bin-path)/knoxcall}" \
  "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/interop "$@"
