#!/usr/bin/env bash
# The release build, with the flags every release build of this repository uses (`make release`, `make run`, the
# benchmarks, the screenshots): `scripts/release-build.sh --product knoxcall`. Extra arguments go to `swift build`.
#
# -enforce-exclusivity=unchecked, for every module including the dependencies: Swift checks at run time that no two
# accesses to a class's stored property overlap, and in SwiftNIO those checks ran ~60 times per proxied request and
# kept the optimizer from moving code across them; without them the event loop spent 12–14% less CPU per request
# (docs/DECISIONS.md, "Release builds"). Debug builds, which the tests run, keep every check.
set -euo pipefail
cd "$(dirname "$0")/.."
exec swift build -c release -Xswiftc -enforce-exclusivity=unchecked "$@"
