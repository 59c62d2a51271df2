#!/usr/bin/env bash
# schemathesis (from PyPI) against a real `knoxcall serve`, both modes, every check, every phase (stateful included).
#   scripts/schemathesis.sh                 the bounded run of `make test`: a fixed seed, then a random one (printed)
#   scripts/schemathesis.sh --long [SECS]   bench/-style long run for humans: random seeds until SECS (default 1800)
# Exit status: non-zero when schemathesis reports any failure of any check in either mode.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bin="${KNOXCALL_BIN:-$(swift build --show-bin-path)/knoxcall}"
venv=.venv-schemathesis
if [ ! -x "$venv/bin/st" ]; then python3 -m venv "$venv"; fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/api_contract/requirements.txt

long=0
budget=1800
if [ "${1:-}" = "--long" ]; then long=1; budget="${2:-1800}"; fi
# Examples per operation in the fuzzing phase and steps in the stateful phase (the bounded run stays within minutes).
examples="${SCHEMATHESIS_EXAMPLES:-40}"

work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  keep_for_leak_scan
  rm -rf "$work"
}
# With $KNOXCALL_CAPTURE_DIR set (make test), this run's part of the whole-suite leak scan (scripts/leak-scan.py):
# both keys planted, their one-time display, the server's output, its data directory and schemathesis's HAR report.
keep_for_leak_scan() {
  local root="${KNOXCALL_CAPTURE_DIR:-}"
  [ -n "$root" ] && [ -d "$work/data" ] || return 0
  mkdir -p "$root/planted" "$root/shown-once" "$root/schemathesis" "$root/data"
  local f
  for f in live test; do
    [ -s "$work/$f.key" ] || continue
    printf 'api_key\t%s\n' "$(head -c 1000 "$work/$f.key" | tr -d '\n' | sed 's/^[^_]*_[^_]*_[^_]*_//' | od -An -tx1 | tr -d ' \n')" \
      >> "$root/planted/schemathesis.tsv"
    cp "$work/$f.key" "$root/shown-once/schemathesis-$f.key"
  done
  cp "$work/serve.out" "$root/schemathesis/serve.out" 2>/dev/null || true
  cp "$work/serve.err" "$root/schemathesis/serve.err" 2>/dev/null || true
  cp -r "$work/data" "$root/data/schemathesis"
}
trap cleanup EXIT

data="$work/data"
mkdir -m 700 "$data"
# Every generated request is a real one: the management rate limit is raised so none of them is answered 429.
cat > "$data/config.toml" <<'TOML'
[management]
rate_limit_requests = 1000000
rate_limit_window_sec = 60
TOML
env -u KNOXCALL_MASTER_KEY -u KNOXCALL_HOME "$bin" keys create --name schemathesis-live --data-dir "$data" > "$work/live.key"
env -u KNOXCALL_MASTER_KEY -u KNOXCALL_HOME "$bin" keys create --name schemathesis-test --test --data-dir "$data" > "$work/test.key"
env -u KNOXCALL_MASTER_KEY -u KNOXCALL_HOME "$bin" serve --data-dir "$data" --live-api 127.0.0.1:0 --test-api 127.0.0.1:0 \
  --live-proxy 127.0.0.1:0 --test-proxy 127.0.0.1:0 > "$work/serve.out" 2> "$work/serve.err" &
server=$!
for _ in $(seq 300); do
  if grep -q "Test management API" "$work/serve.out" 2>/dev/null; then break; fi
  if ! kill -0 "$server" 2>/dev/null; then cat "$work/serve.err" >&2; exit 1; fi
  sleep 0.1
done
live_url=$(sed -n 's/.*Live management API: \(http:[^ ]*\).*/\1/p' "$work/serve.out")
test_url=$(sed -n 's/.*Test management API: \(http:[^ ]*\).*/\1/p' "$work/serve.out")
[ -n "$live_url" ] && [ -n "$test_url" ] || { echo "knoxcall serve did not start" >&2; cat "$work/serve.err" >&2; exit 1; }

key_id() { # url key → the id of that key
  curl -sf -H "x-api-key: $2" "$1/v1/api-keys?per_page=100" | "$venv/bin/python" -c '
import json, sys
rows = json.load(sys.stdin)["data"]
print(next(r["id"] for r in rows if r["name"].startswith("schemathesis-")))'
}
export SCHEMATHESIS_OWN_KEY_IDS="$(key_id "$live_url" "$(cat "$work/live.key")"),$(key_id "$test_url" "$(cat "$work/test.key")")"
export SCHEMATHESIS_HOOKS=knox_hooks
export PYTHONPATH="$root/tests/api_contract${PYTHONPATH:+:$PYTHONPATH}"

run() { # mode url key seed [max-time]
  local mode=$1 url=$2 key=$3 seed=$4
  echo "== schemathesis: $mode mode ($url), seed $seed"
  local extra=() report=()
  if [ -n "${KNOXCALL_CAPTURE_DIR:-}" ]; then
    report=(--report har --report-dir "$KNOXCALL_CAPTURE_DIR/schemathesis/$mode-$seed")
  fi
  if [ $# -ge 5 ]; then extra+=(--max-time "$5"); fi
  SCHEMATHESIS_KEY="$key" "$venv/bin/st" --config-file tests/api_contract/schemathesis.toml run "$url/v1/openapi.json" \
    --url "$url" --phases examples,coverage,fuzzing,stateful \
    --max-examples "$examples" --seed "$seed" --workers 2 --request-timeout 10 \
    "${extra[@]}" "${report[@]}" --no-color
}

status=0
if [ $long -eq 0 ]; then
  random_seed=$(( (RANDOM << 15) | RANDOM ))
  echo "schemathesis seeds: fixed 20261203, random $random_seed (rerun one with SCHEMATHESIS_SEED)"
  for seed in ${SCHEMATHESIS_SEED:-20261203 $random_seed}; do
    run live "$live_url" "$(cat "$work/live.key")" "$seed" || status=1
    run test "$test_url" "$(cat "$work/test.key")" "$seed" || status=1
  done
else
  end=$(( $(date +%s) + budget ))
  while [ "$(date +%s)" -lt "$end" ]; do
    seed=$(( (RANDOM << 15) | RANDOM ))
    run live "$live_url" "$(cat "$work/live.key")" "$seed" 600 || status=1
    run test "$test_url" "$(cat "$work/test.key")" "$seed" 600 || status=1
  done
fi
# The server survived every request.
kill -0 "$server" || { echo "knoxcall serve died during the run" >&2; status=1; }
exit $status
