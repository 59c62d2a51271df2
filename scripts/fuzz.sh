#!/usr/bin/env bash
# libFuzzer over KnoxCall's parsers of untrusted input (fuzz/README.md).
#   scripts/fuzz.sh [SECONDS] [TARGET…]   every target (or those named) for SECONDS each (default 30)
# Builds knoxcall-fuzz with -sanitize=fuzzer,address into .build-fuzz (a build of its own), runs each target from its
# committed seeds (fuzz/corpus/<target>) and past findings, and fails on the first crash, trap or broken property.
# New inputs that reach new code are kept in .build-fuzz/corpus/<target> (not committed); a crashing input is saved
# as fuzz/findings/<target>/crash-… — commit it with the fix and a unit test.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(http-request http-response json template cidr path signature config theme)
fi
swift build --scratch-path .build-fuzz --product knoxcall-fuzz \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -enable-testing -Xswiftc -DKNOX_LIBFUZZER \
  2>&1 | grep -v "Cannot export local symbol" || true
bin="$(swift build --scratch-path .build-fuzz --show-bin-path)/knoxcall-fuzz"
[ -x "$bin" ] || { echo "fuzz build failed" >&2; exit 1; }
status=0
for target in "${targets[@]}"; do
  corpus=".build-fuzz/corpus/$target"
  mkdir -p "$corpus" "fuzz/findings/$target"
  echo "== fuzz $target for ${seconds}s"
  if ! KNOX_FUZZ_TARGET="$target" ASAN_OPTIONS="detect_leaks=0" SWIFT_BACKTRACE="enable=no" "$bin" "$corpus" "fuzz/corpus/$target" "fuzz/findings/$target" \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=70000 -print_final_stats=1 \
      -artifact_prefix="fuzz/findings/$target/" 2> ".build-fuzz/$target.log"; then
    tail -40 ".build-fuzz/$target.log" >&2
    echo "fuzz $target: FINDING (saved under fuzz/findings/$target/)" >&2
    status=1
  fi
  grep -E "stat::number_of_executed_units|stat::new_units_added|cov: " ".build-fuzz/$target.log" | tail -3 || true
done
exit $status
