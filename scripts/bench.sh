#!/usr/bin/env bash
# make bench: a release build of hanet, then tools/bench.py (figures side by side in one run).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "make bench needs root (network namespaces)"; exit 1; }
swift build -c release
exec python3 tools/bench.py --hanet "$PWD/.build/release/hanet" "$@"
