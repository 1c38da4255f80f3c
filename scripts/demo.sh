#!/usr/bin/env bash
# make demo: a live failover on a built-in network of namespaces.
# A client sends HTTP requests and a 1 kHz UDP probe to server s1 while the
# carrier of s1's active NIC is cut; HANet moves the master to the other NIC.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/net.sh

[ "$(id -u)" = 0 ] || { echo "make demo needs root (network namespaces)"; exit 1; }
P="hdemo$$"
HANET=$PWD/.build/debug/hanet
WORK=$(mktemp -d /tmp/hanet-demo.XXXXXX)
SOCK=/run/hanet/$P-s1.sock
cleanup() {
    [ -n "${DAEMON:-}" ] && kill "$DAEMON" 2>/dev/null || true
    net_down "$P"
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
S1="ip netns exec $(ns $P s1)"
CL="ip netns exec $(ns $P client)"

say "Building the network: client ─ LAN bridge ─ s1 (eth0, eth1)"
net_up "$P"
net_config "$P" s1 "$WORK/s1.toml"
echo "client $NET_CLIENT_ADDR; s1's service address $NET_S1_ADDR on master hanet0; slaves eth0, eth1"

say "Starting the daemon on s1"
$S1 "$HANET" run --config "$WORK/s1.toml" --teardown 2>"$WORK/s1.log" &
DAEMON=$!
wait_for 10 "$HANET" status --socket "$SOCK" || { cat "$WORK/s1.log"; exit 1; }
"$HANET" status --socket "$SOCK"

say "Live traffic: HTTP keep-alive (wrk, 20 connections) and a 1 kHz UDP probe, 6 s"
$S1 python3 tools/httpd.py --bind $NET_S1_ADDR >/dev/null 2>&1 &
$S1 python3 tools/probe.py server --bind $NET_S1_ADDR >/dev/null 2>&1 &
wait_for 5 $CL bash -c "exec 3<>/dev/tcp/$NET_S1_ADDR/8080"
$CL wrk -t2 -c20 -d6s --latency http://$NET_S1_ADDR:8080/bytes/512 >"$WORK/wrk.txt" 2>&1 &
WRK=$!
$CL python3 tools/probe.py udp --to $NET_S1_ADDR --duration 6 >"$WORK/udp.json" &
UDP=$!
sleep 2   # let the traffic settle before the fault: this is the demo's timeline, not a wait for a condition
ACTIVE=$("$HANET" status --socket "$SOCK" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["active"])')

say "FAULT: cutting the carrier of s1's active NIC ($ACTIVE) at $(date +%T.%3N)"
net_carrier "$P" s1 "$ACTIVE" down
wait_for 5 bash -c "\"$HANET\" status --socket $SOCK --json | grep -q '\"active\" : \"eth[01]\"' && ! \"$HANET\" status --socket $SOCK --json | grep -q '\"active\" : \"$ACTIVE\"'"
grep -E "switch " "$WORK/s1.log" | tail -1 | sed 's/^/  daemon: /'
"$HANET" status --socket "$SOCK"

sleep 1.5
say "HEAL: $ACTIVE's carrier comes back (it becomes a GOOD backup; same class, so no needless switch back)"
net_carrier "$P" s1 "$ACTIVE" up
wait $WRK $UDP || true

say "What the client saw"
grep -E "Requests/sec|requests in|Socket errors|Non-2xx" "$WORK/wrk.txt" | sed 's/^/  wrk: /'
grep -q "Socket errors" "$WORK/wrk.txt" || echo "  wrk: no socket errors, no failed requests"
python3 - "$WORK/udp.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"  udp probe: {r['sent']} sent, {r['lost']} lost, longest gap between answers {r['longest_gap_ms']} ms")
PY
"$HANET" status --socket "$SOCK" | tail -4
