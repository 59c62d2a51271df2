#!/usr/bin/env bash
# Per-request counts of Swift runtime calls on the data plane's event loop, for changes too small for wall-clock
# figures on this VM (whose speed drifts by ±15% and whose steal can halve it). Counted with uprobes, so the figures
# do not move with the VM: each run of the same binary gives the same counts to within ~1% (the flush batching per
# loop turn varies a little). Needs root (uprobes) and perf; the probes slow the process ~50×, so only counts are
# meaningful here, never speed.
#
#   bench/counts.sh BINARY [ROUTE]       ROUTE=plain|featured (default featured); SECONDS_PER_RUN=4
#
# Prints, per proxied request: swift_retain, swift_release, swift_bridgeObjectRetain (strings and arrays),
# swift_allocObject, malloc and swift_beginAccess (dynamic exclusivity checks), for the event loop and for the other
# threads together (the log writer).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
[ $# -ge 1 ] || { echo "usage: bench/counts.sh BINARY [plain|featured]" >&2; exit 2; }
BIN=$1; ROUTE=${2:-featured}; SECONDS_PER_RUN=${SECONDS_PER_RUN:-4}
command -v nginx >/dev/null && command -v wrk >/dev/null && command -v perf >/dev/null \
  || { echo "needs nginx, wrk and perf (bench/proxy.sh installs the first two; perf is Debian's linux-perf)" >&2; exit 1; }
SWIFT_CORE=$(ldd "$BIN" | awk '/libswiftCore.so/ {print $3}')
LIBC=$(ldd "$BIN" | awk '/libc.so.6/ {print $3}')
[ -n "$SWIFT_CORE" ] && [ -n "$LIBC" ] || { echo "$BIN does not link libswiftCore.so and libc dynamically" >&2; exit 1; }
WORK=$(mktemp -d /tmp/knoxcall-counts.XXXXXX)
PROBES=()
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null
  for p in "${PROBES[@]}"; do perf probe -q -d "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
for fn in swift_retain swift_release swift_bridgeObjectRetain swift_allocObject swift_beginAccess; do
  perf probe -q -x "$SWIFT_CORE" -a "kc_$fn=$fn" && PROBES+=("probe_libswiftCore:kc_$fn")
done
perf probe -q -x "$LIBC" -a "kc_malloc=malloc" && PROBES+=("probe_libc:kc_malloc")

cat > "$WORK/nginx.conf" <<NGINX
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/body; proxy_temp_path $WORK/proxy; fastcgi_temp_path $WORK/fcgi;
  uwsgi_temp_path $WORK/uwsgi; scgi_temp_path $WORK/scgi;
  server { listen 127.0.0.1:19800; location / { default_type application/json; return 200 '{"ok":true,"service":"bench-upstream"}'; } }
}
NGINX
taskset -c 0 nginx -c "$WORK/nginx.conf"
export KNOXCALL_HOME="$WORK/data"
KEY=$("$BIN" keys create --name bench 2>/dev/null)
bench_serve "$BIN" 19810 19820 "$WORK/serve.log"
PID=$BENCH_SERVE_PID
bench_routes http://127.0.0.1:19810 "$KEY" http://127.0.0.1:19800
load() { taskset -c 0 wrk -t1 -c32 -d"$1s" -H "x-knoxcall-key: $KEY" -H "x-knoxcall-route: $ROUTE" http://127.0.0.1:19820/; }
load 2 > /dev/null  # warm: connections pooled, snapshot and caches built
events=$(IFS=,; echo "${PROBES[*]}")
perf stat --per-thread -x, -e "$events" -p "$PID" -o "$WORK/stat.csv" &
STAT=$!
sleep 0.5
requests=$(load "$SECONDS_PER_RUN" | awk '/requests in/ {print $1}')
sleep 0.3
kill -INT "$STAT"; wait "$STAT" 2>/dev/null || true
python3 - "$WORK/stat.csv" "$requests" "$ROUTE" <<'PY'
import collections, sys
path, requests, route = sys.argv[1], int(sys.argv[2]), sys.argv[3]
counts = collections.defaultdict(lambda: collections.Counter())
for line in open(path):
    parts = line.strip().split(",")
    if len(parts) < 4 or not parts[1].replace(".", "").isdigit():
        continue
    thread, value, event = parts[0], float(parts[1]), parts[3]
    counts["event loop" if "NIO-ELT" in thread else "other threads"][event.split(":kc_")[-1]] += value
print(f"route {route}: {requests} requests counted")
names = ["swift_retain", "swift_release", "swift_bridgeObjectRetain", "swift_allocObject", "malloc", "swift_beginAccess"]
print(f"{'per request':14}" + "".join(f"{n.replace('swift_', ''):>20}" for n in names))
for side in ("event loop", "other threads"):
    print(f"{side:14}" + "".join(f"{counts[side][n] / max(requests, 1):20.1f}" for n in names))
PY
