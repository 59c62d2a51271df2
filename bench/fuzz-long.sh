#!/usr/bin/env bash
# The long fuzz run, for humans: every target for SECONDS each (default 3600), then the executions per target.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fuzz.sh "${1:-3600}" "${@:2}"
