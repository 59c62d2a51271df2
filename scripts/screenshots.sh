#!/usr/bin/env bash
# Makes screenshots/*.png: every console pane in Live and in Test, from real tmux captures with their colours.
# The console runs the whole engine on a throwaway data dir filled through the management API and the data plane;
# scripts/ansi_to_png.py draws each `tmux capture-pane -e` capture with DejaVu Sans Mono.
# Usage: scripts/screenshots.sh [THEME]   (default dark; the pictures land in screenshots/)
set -euo pipefail
cd "$(dirname "$0")/.."
THEME=${1:-dark}
OUT=screenshots
COLS=120
ROWS=34

need=()
command -v tmux >/dev/null || need+=(tmux)
command -v curl >/dev/null || need+=(curl)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf ] || need+=(fonts-dejavu-core)
python3 -c 'import venv' 2>/dev/null || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ ! -x .venv-shots/bin/python ]; then
  python3 -m venv .venv-shots
  .venv-shots/bin/pip install -q "Pillow>=10,<12"
fi
scripts/release-build.sh --product knoxcall >/dev/null
BIN=$(swift build -c release --show-bin-path)/knoxcall

WORK=$(mktemp -d /tmp/knoxcall-shots.XXXXXX)
SOCK="knoxcall-shots-$$"
cleanup() {
  set +e
  tmux -L "$SOCK" kill-server 2>/dev/null
  [ -n "${UPSTREAM_PID:-}" ] && kill "$UPSTREAM_PID" 2>/dev/null
  rm -rf "$WORK"
  return 0
}
trap cleanup EXIT

# A small upstream on loopback: JSON for most paths, 404 under /missing, 500 under /fail.
python3 - <<'PY' &
import http.server, json
class Upstream(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        status = 404 if "/missing" in self.path else 500 if "/fail" in self.path else 200
        body = json.dumps({"ok": status == 200, "path": self.path}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = do_POST = do_PUT = do_DELETE = answer
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", 19700), Upstream).serve_forever()
PY
UPSTREAM_PID=$!

# The data dir is ~/.knoxcall of a throwaway HOME, so the header shows what an operator sees by default.
export KNOXCALL_HOME="$WORK/.knoxcall"
LIVE_KEY=$("$BIN" keys create --name operator 2>/dev/null)
TEST_KEY=$("$BIN" keys create --name sandbox --test 2>/dev/null)
"$BIN" keys create --name "ci-deploy" --role read-only >/dev/null
CLI_KEY=$("$BIN" keys create --name "CLI login" --redirect-uri http://127.0.0.1:8976/callback 2>/dev/null)
tmux -L "$SOCK" -f /dev/null new-session -d -s kc -x "$COLS" -y "$ROWS" -e TERM=tmux-256color -e LANG=C.UTF-8 \
  -e HOME="$WORK" -e KNOXCALL_HOME="$KNOXCALL_HOME" "$BIN" console --theme "$THEME" --live-api 127.0.0.1:19710 \
  --test-api 127.0.0.1:19711 --live-proxy 127.0.0.1:19720 --test-proxy 127.0.0.1:19721
for _ in $(seq 1 100); do tmux -L "$SOCK" capture-pane -p -t kc | grep -q "1 Routes" && break; sleep 0.1; done

api() { # api PORT KEY METHOD PATH [JSON]
  curl -sf -X "$3" "http://127.0.0.1:$1$4" -H "Authorization: Bearer $2" -H "Content-Type: application/json" \
    ${5:+-d "$5"} >/dev/null
}
call() { # call PORT KEY ROUTE METHOD PATH
  curl -s -o /dev/null -X "$4" "http://127.0.0.1:$1$5" -H "x-knoxcall-key: $2" -H "x-knoxcall-route: $3" || true
}

# Live: what a small production tenant looks like.
api 19710 "$LIVE_KEY" POST /v1/secrets '{"name":"Stripe API Key","value":"sk_live_screenshot_only"}'
api 19710 "$LIVE_KEY" POST /v1/secrets '{"name":"OpenAI Key","value":"sk-screenshot-only"}'
api 19710 "$LIVE_KEY" POST /v1/secrets '{"name":"Twilio Auth","value":"AC0000:screenshot"}'
api 19710 "$LIVE_KEY" POST /v1/environments '{"name":"staging"}'
api 19710 "$LIVE_KEY" POST /v1/routes '{"name":"Payment Gateway","target_base_url":"http://127.0.0.1:19700/v1",
  "inject_headers_json":{"Authorization":"Bearer {{secret:STRIPE_API_KEY}}"},"allowed_methods":["GET","POST"],
  "rate_limit_enabled":true,"rate_limit_requests":600,"rate_limit_window_sec":60}'
api 19710 "$LIVE_KEY" POST /v1/routes '{"name":"OpenAI","target_base_url":"http://127.0.0.1:19700/openai",
  "inject_headers_json":{"Authorization":"Bearer {{secret:OPENAI_KEY}}"}}'
api 19710 "$LIVE_KEY" POST /v1/routes '{"name":"SMS","target_base_url":"http://127.0.0.1:19700/sms",
  "inject_headers_json":{"Authorization":"Basic {{secret:TWILIO_AUTH}}"},"enabled":false}'
api 19710 "$LIVE_KEY" POST /v1/clients '{"name":"Office VPN","ip_address":"203.0.113.0/24"}'
api 19710 "$LIVE_KEY" POST /v1/clients '{"name":"Build server","ip_address":"198.51.100.7"}'
api 19710 "$LIVE_KEY" POST /v1/clients '{"name":"Loopback","ip_address":"127.0.0.1"}'
for i in $(seq 1 14); do
  call 19720 "$LIVE_KEY" payment-gateway GET "/charges?limit=$i"
  [ $((i % 3)) -eq 0 ] && call 19720 "$LIVE_KEY" openai POST /chat/completions
  [ $((i % 5)) -eq 0 ] && call 19720 "$LIVE_KEY" payment-gateway GET /missing/charge
  [ $((i % 7)) -eq 0 ] && call 19720 "$LIVE_KEY" payment-gateway DELETE /customers/42
done
call 19720 "$LIVE_KEY" openai GET /fail/models
call 19720 "$LIVE_KEY" sms POST /messages
call 19720 "not-a-key" payment-gateway GET /charges

# An OAuth authorization request waiting for the operator (listed in the API keys pane).
curl -s -o /dev/null "http://127.0.0.1:19710/oauth/authorize?response_type=code&client_id=${CLI_KEY%_*}&redirect_uri=http%3A%2F%2F127.0.0.1%3A8976%2Fcallback&state=s&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&scope=routes%3Aread"

# Test: the sandbox has its own, different configuration.
api 19711 "$TEST_KEY" POST /v1/secrets '{"name":"Stripe API Key","value":"sk_test_screenshot_only"}'
api 19711 "$TEST_KEY" POST /v1/routes '{"name":"Payment Gateway","target_base_url":"http://127.0.0.1:19700/sandbox",
  "inject_headers_json":{"Authorization":"Bearer {{secret:STRIPE_API_KEY}}"}}'
api 19711 "$TEST_KEY" POST /v1/clients '{"name":"Developer laptop","ip_address":"192.0.2.10"}'
for i in $(seq 1 5); do call 19721 "$TEST_KEY" payment-gateway POST "/charges"; done
call 19721 "$LIVE_KEY" payment-gateway GET /charges
sleep 1.5

capture() { # capture NAME
  sleep 0.6
  tmux -L "$SOCK" capture-pane -e -N -p -t kc > "$WORK/$1.ans"
  SHOTS+=("$WORK/$1.ans")
}
keys() { tmux -L "$SOCK" send-keys -t kc "$@"; }
SHOTS=()
names=(routes secrets clients logs environments apikeys audit)
for mode in live test; do
  for n in 1 2 3 4 5 6 7; do
    keys "$n"
    capture "$mode-$n-${names[$((n - 1))]}"
  done
  if [ "$mode" = live ]; then
    keys 1 G Enter; capture "live-route-detail"; keys Escape
    keys 4 g Enter; capture "live-log-detail"; keys Escape
    keys '?'; capture "live-help"; keys Escape
    keys t
    sleep 4.5   # let the "Test mode" notice give the hint line back
  fi
done
keys t
keys q
mkdir -p "$OUT"
.venv-shots/bin/python scripts/ansi_to_png.py --out "$OUT" --columns "$COLS" --rows "$ROWS" "${SHOTS[@]}"
if grep -l -e sk_live_screenshot_only -e sk_test_screenshot_only -e sk-screenshot-only -e "$LIVE_KEY" "${SHOTS[@]}"; then
  echo "a secret value or key reached the screen" >&2
  exit 1
fi
ls -1 "$OUT"
