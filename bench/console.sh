#!/usr/bin/env bash
# Console under load (issue 5): the console runs the engine in-process in a real terminal (tmux) while a paced
# client sends RATE requests/s through its data plane for DURATION seconds. Measures, in the same run:
#   - the achieved request rate;
#   - key-to-screen latency seen from outside (tmux send-keys -> capture shows the change), p50/p95/max;
#   - the console's own figures (frames drawn, most frames in one second, key-to-frame latency);
#   - rows: requests answered vs rows in the database vs rows in the console's log pane.
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-2000}
FILTER=${FILTER:-}
DURATION=${DURATION:-20}
need=()
command -v nginx >/dev/null || need+=(nginx)
command -v tmux >/dev/null || need+=(tmux)
command -v sqlite3 >/dev/null || need+=(sqlite3)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
scripts/release-build.sh --product knoxcall >/dev/null
BIN=$(swift build -c release --show-bin-path)/knoxcall
WORK=$(mktemp -d /tmp/knoxcall-console-bench.XXXXXX)
SOCK="knoxcall-bench-$$"
cleanup() {
  set +e
  tmux -L "$SOCK" kill-server 2>/dev/null
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null
  rm -rf "$WORK"
  return 0
}
trap cleanup EXIT

cat > "$WORK/nginx.conf" <<NGINX
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/body; proxy_temp_path $WORK/proxy; fastcgi_temp_path $WORK/fcgi;
  uwsgi_temp_path $WORK/uwsgi; scgi_temp_path $WORK/scgi;
  server { listen 127.0.0.1:19600; location / { default_type application/json; return 200 '{"ok":true}'; } }
}
NGINX
nginx -c "$WORK/nginx.conf"

export KNOXCALL_HOME="$WORK/data"
KEY=$("$BIN" keys create --name bench 2>/dev/null)
tmux -L "$SOCK" -f /dev/null new-session -d -s kc -x 120 -y 40 -e TERM=tmux-256color -e LANG=C.UTF-8 \
  -e KNOXCALL_HOME="$KNOXCALL_HOME" "$BIN" console --live-api 127.0.0.1:19610 --test-api 127.0.0.1:19611 \
  --live-proxy 127.0.0.1:19620 --test-proxy 127.0.0.1:19621
for _ in $(seq 1 100); do tmux -L "$SOCK" capture-pane -p -t kc | grep -q "1 Routes" && break; sleep 0.1; done
curl -sf -X POST http://127.0.0.1:19610/v1/routes -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" \
  -d '{"name":"bench","target_base_url":"http://127.0.0.1:19600"}' >/dev/null
tmux -L "$SOCK" send-keys -t kc 4
# FILTER=text runs the load with a free-text log filter typed in (every row is matched against it).
if [ -n "${FILTER:-}" ]; then tmux -L "$SOCK" send-keys -t kc / "$FILTER" Enter; fi

python3 - "$SOCK" "$KEY" "$RATE" "$DURATION" "$WORK" <<'PY'
import asyncio, subprocess, sys, threading, time, statistics, sqlite3, re
sock, key, rate, duration, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]

def tmux(*args):
    return subprocess.run(["tmux", "-L", sock, *args], capture_output=True, text=True).stdout

def screen():
    return tmux("capture-pane", "-p", "-t", "kc")

request = (f"GET /bench HTTP/1.1\r\nHost: 127.0.0.1\r\nx-knoxcall-key: {key}\r\n"
           f"x-knoxcall-route: bench\r\n\r\n").encode()
answered = 0
failed = 0

async def connection(index, count, start):
    global answered, failed
    reader, writer = await asyncio.open_connection("127.0.0.1", 19620)
    period = count / rate
    for n in range(int(duration * rate / count)):
        due = start + index / rate + n * period
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
        await reader.readexactly(length)
        if head.startswith(b"HTTP/1.1 200"):
            answered += 1
        else:
            failed += 1
    writer.close()

async def load():
    start = time.monotonic() + 0.2
    count = 32
    await asyncio.gather(*(connection(i, count, start) for i in range(count)))
    return time.monotonic() - start

# Key-to-screen latency from outside, while the load runs: toggle follow (f) and wait for the title to change.
latencies = []
def probe(stop):
    state = "following" if "following" in screen() else "paused"
    while not stop.is_set():
        want = "paused" if state == "following" else "following"
        t0 = time.monotonic()
        tmux("send-keys", "-t", "kc", "f")
        while want not in screen().split("\n")[3]:
            if time.monotonic() - t0 > 5:
                break
        latencies.append(time.monotonic() - t0)
        state = want
        time.sleep(0.2)

stop = threading.Event()
prober = threading.Thread(target=probe, args=(stop,))
prober.start()
elapsed = asyncio.run(load())
stop.set()
prober.join()
tmux("send-keys", "-t", "kc", "G")
time.sleep(2.5)
title = screen().split("\n")[3]
shown = int(re.search(r"Logs (\d+)", title).group(1))
rows = sqlite3.connect(f"{work}/data/live.sqlite").execute("select coalesce(sum(row_count), 0) from request_log_chunks").fetchone()[0]
tmux("send-keys", "-t", "kc", "q")
time.sleep(1.5)
frames = next((l.strip() for l in open(f"{work}/data/knoxcall.log") if "console frames" in l), "(no frame line)")
lat = sorted(latencies)
def pct(p): return lat[min(len(lat) - 1, int(len(lat) * p))] * 1000
print(f"load:        {answered + failed} requests in {elapsed:.1f} s = {(answered + failed) / elapsed:.0f}/s "
      f"(target {rate}/s), non-200: {failed}")
print(f"keys:        {len(lat)} follow toggles under load, key to screen (tmux, incl. capture cost) "
      f"p50 {pct(0.5):.1f} ms, p95 {pct(0.95):.1f} ms, max {lat[-1] * 1000:.1f} ms")
print(f"console:     {frames.split('console frames: ')[-1]}")
print(f"rows:        answered {answered + failed}, in the database {rows}, in the log pane {shown} "
      f"-> {'no row lost' if rows == answered + failed == shown else 'MISMATCH'}")
sys.exit(0 if rows == answered + failed == shown else 1)
PY
