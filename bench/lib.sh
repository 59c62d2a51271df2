# Sourced by the data-plane benchmarks (proxy.sh, ab.sh, counts.sh): one way to start KnoxCall and its routes.

# bench_serve BINARY API_PORT PROXY_PORT LOG: `knoxcall serve` pinned to core 1, in the background, with the Live API
# and data plane on the given ports and Test on the next ones; KNOXCALL_HOME says where its data lives. Waits until
# both data planes listen and sets BENCH_SERVE_PID; fails with the server's log when it does not start.
bench_serve() {
  taskset -c 1 "$1" serve --live-api "127.0.0.1:$2" --test-api "127.0.0.1:$(($2 + 1))" \
    --live-proxy "127.0.0.1:$3" --test-proxy "127.0.0.1:$(($3 + 1))" --log-level warning > "$4" 2>&1 &
  BENCH_SERVE_PID=$!
  for _ in $(seq 1 100); do
    grep -q "Test data plane" "$4" 2>/dev/null && return 0
    kill -0 "$BENCH_SERVE_PID" 2>/dev/null || break  # it exited: no need to wait out the 10 s
    sleep 0.1
  done
  echo "knoxcall serve did not start; its log ($4):" >&2
  cat "$4" >&2
  return 1
}

# bench_routes API_URL KEY UPSTREAM_URL: the benchmark's secret and its two routes to UPSTREAM_URL: `plain`, and
# `featured` (the secret injected into a header, and a rate limit too high to trigger).
bench_routes() {
  local post=(curl -sf -X POST -H "Authorization: Bearer $2" -H "Content-Type: application/json")
  "${post[@]}" "$1/v1/secrets" -d '{"name":"BENCH_TOKEN","value":"bench-secret-value"}' >/dev/null \
    && "${post[@]}" "$1/v1/routes" -d "{\"name\":\"plain\",\"target_base_url\":\"$3\"}" >/dev/null \
    && "${post[@]}" "$1/v1/routes" -d "{\"name\":\"featured\",\"target_base_url\":\"$3\",\"inject_headers_json\":{\"Authorization\":\"Bearer {{secret:BENCH_TOKEN}}\"},\"rate_limit_enabled\":true,\"rate_limit_requests\":100000000,\"rate_limit_window_sec\":1}" >/dev/null \
    || { echo "cannot create the benchmark's secret and routes through $1" >&2; return 1; }
}
