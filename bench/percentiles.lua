-- wrk script: prints requests/s and the whole latency distribution (p50 … p99.99, max) in one line, for comparing the
-- shape of two arms' tails (wrk --latency prints only p50, p75, p90 and p99). Usage:
--   taskset -c 0 wrk -t1 -c32 -d8s -s bench/percentiles.lua -H "x-knoxcall-key: $KEY" -H "x-knoxcall-route: featured" \
--     http://127.0.0.1:8800/
done = function(summary, latency, requests)
  local out = {}
  for _, p in ipairs({50, 75, 90, 95, 97, 98, 99, 99.5, 99.9, 99.99}) do
    out[#out + 1] = string.format("p%s=%.2fms", p, latency:percentile(p) / 1000)
  end
  io.write(string.format("requests/s=%.0f max=%.2fms ", summary.requests / (summary.duration / 1e6), latency.max / 1000),
    table.concat(out, " "), "\n")
end
