#!/usr/bin/env bash
# make bench: a release build of hanet and its plugins, then tools/bench.py
# (the paper's evaluation, figures side by side in one run; see bench/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "make bench needs root (network namespaces)"; exit 1; }
# The peer the benchmark compares with: keepalived, from Debian (installed only when missing).
make -s deps DEBS=keepalived
start=$SECONDS
swift build -c release
echo "release build: $((SECONDS - start)) s"
# Debian's python3 has python3-matplotlib (make deps); another python3 first in PATH may not.
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
exec $PY tools/bench.py --hanet "$PWD/.build/release/hanet" "$@"
