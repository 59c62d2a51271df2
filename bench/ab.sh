#!/usr/bin/env bash
# A/B of two knoxcall builds on the data plane, for changes too small to see through this machine's run-to-run noise
# (nginx's own figure swings by ±15% between runs of bench/proxy.sh). Both builds run at once, pinned to core 1, and
# wrk (core 0) alternates between them, so drift hits both alike. Prints each build's median requests/s and median CPU
# time per request (the whole process: event loop plus log writer, from /proc), the steadier of the two figures.
#
#   bench/ab.sh OLD_BINARY NEW_BINARY        ROUNDS=6 SECONDS_PER_RUN=5 ROUTE=plain|featured CONNECTIONS=32
#
# Typical use: copy .build/release/knoxcall aside, change the code, rebuild, then compare the copy with the new build.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
[ $# -eq 2 ] || { echo "usage: bench/ab.sh OLD_BINARY NEW_BINARY" >&2; exit 2; }
ROUNDS=${ROUNDS:-6}; SECONDS_PER_RUN=${SECONDS_PER_RUN:-5}; ROUTE=${ROUTE:-plain}; CONNECTIONS=${CONNECTIONS:-32}
command -v nginx >/dev/null && command -v wrk >/dev/null || { echo "needs nginx and wrk (bench/proxy.sh installs them)" >&2; exit 1; }
WORK=$(mktemp -d /tmp/knoxcall-ab.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null; rm -rf "$WORK"' EXIT
cat > "$WORK/nginx.conf" <<NGINX
worker_processes 2;
pid $WORK/nginx.pid;
error_log $WORK/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/body; proxy_temp_path $WORK/proxy; fastcgi_temp_path $WORK/fcgi;
  uwsgi_temp_path $WORK/uwsgi; scgi_temp_path $WORK/scgi;
  server { listen 127.0.0.1:19600; location / { default_type application/json; return 200 '{"ok":true,"service":"bench-upstream"}'; } }
}
NGINX
taskset -c 0 nginx -c "$WORK/nginx.conf"

start() { # side binary api-port proxy-port
  local dir="$WORK/$1"
  mkdir -p "$dir"
  local key
  key=$(KNOXCALL_HOME="$dir/data" "$2" keys create --name bench 2>/dev/null)
  echo "$key" > "$dir/key"
  KNOXCALL_HOME="$dir/data" bench_serve "$2" "$3" "$4" "$dir/serve.log"
  echo "$BENCH_SERVE_PID" > "$dir/pid"
  bench_routes "http://127.0.0.1:$3" "$key" http://127.0.0.1:19600
  echo "$4" > "$dir/port"
}
start old "$1" 19610 19620
start new "$2" 19710 19720

cpu_ticks() { # user + system ticks of every thread of a process
  local total=0 f fields
  for f in /proc/"$1"/task/*/stat; do
    read -r -a fields < <(sed 's/.*) //' "$f")
    total=$((total + fields[11] + fields[12]))
  done
  echo "$total"
}
for round in $(seq 1 "$ROUNDS"); do
  for side in old new; do
    dir="$WORK/$side"; pid=$(cat "$dir/pid")
    before=$(cpu_ticks "$pid")
    out=$(taskset -c 0 wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" -H "x-knoxcall-key: $(cat "$dir/key")" \
      -H "x-knoxcall-route: $ROUTE" "http://127.0.0.1:$(cat "$dir/port")/")
    sleep 0.3
    after=$(cpu_ticks "$pid")
    echo "$side $(echo "$out" | awk '/Requests\/sec/ {print $2}') $(echo "$out" | awk '/requests in/ {print $1}') $((after - before))"
  done
done > "$WORK/runs.txt"
python3 - "$WORK/runs.txt" "$(getconf CLK_TCK)" <<'PY'
import statistics, sys
runs, tick = {"old": ([], []), "new": ([], [])}, 1e6 / int(sys.argv[2])
for line in open(sys.argv[1]):
    side, rps, n, ticks = line.split()
    runs[side][0].append(float(rps)); runs[side][1].append(int(ticks) * tick / int(n))
for side in ("old", "new"):
    rps, cpu = runs[side]
    print(f"{side}: median {statistics.median(rps):8.0f} requests/s, median {statistics.median(cpu):5.1f} µs CPU per request"
          f"  (runs: {', '.join(f'{c:.1f}' for c in cpu)})")
o, n = (statistics.median(runs[s][1]) for s in ("old", "new"))
print(f"new / old CPU per request: {n / o:.2f}")
PY
