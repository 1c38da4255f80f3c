#!/usr/bin/env bash
# make demo: HANet's story in under a minute, on a network of namespaces it builds.
# Web clients load server s1 while s1 loses one public NIC (HANet moves the
# master to the other), then every public NIC (its sibling s2 carries s1's
# traffic over the private link: the PTA), then the links heal. A line every
# 0.5 s shows the request rate and who carries the traffic; the end is a
# summary and a plot. Everything it makes is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/net.sh

[ "$(id -u)" = 0 ] || { echo "make demo needs root (network namespaces)"; exit 1; }
P="hdemo$$"
HANET=${HANET:-$PWD/.build/debug/hanet}
[ -x "$HANET" ] || { echo "no hanet at $HANET: run 'make demo' (it builds first) or 'swift build'"; exit 1; }
OUT=${DEMO_OUT:-$PWD/bench/results}
WORK=$(mktemp -d /tmp/hanet-demo.XXXXXX)
chmod 755 "$WORK"   # nginx workers (www-data) read the files in it
PIDS=()
cleanup() {
    # The daemons run with --teardown: a TERM makes them remove what they made.
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    net_down "$P"
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "The network (namespaces, veth, a Linux bridge as the LAN)"
cat <<'DIAGRAM'
                        ┌────────── LAN (bridge) ──────────┐
   client 198.51.100.50 ┘        │        │        │        │
                               eth0     eth1     eth0     eth1
                            ┌───────────────┐  ┌───────────────┐
                            │ s1  hanet0    │  │ s2  hanet0    │
                            │ 198.51.100.11 │  │ 198.51.100.12 │
                            └──── priv0 ────┘  └──── priv0 ────┘
                                     └── private link ───┘
DIAGRAM
net_up "$P" pair
net_key "$WORK/pta.key"
for node in s2 s1; do
    net_config "$P" "$node" "$WORK/$node.toml" "$WORK/pta.key"
    ip netns exec "$(ns "$P" "$node")" "$HANET" run --config "$WORK/$node.toml" --teardown 2>"$WORK/$node.log" &
    PIDS+=($!)
    wait_for 10 "$HANET" status --socket "/run/hanet/$P-$node.sock" || { cat "$WORK/$node.log"; exit 1; }
done
echo "s1 and s2 each run the hanet daemon: master hanet0 holds the service address,"
echo "slaves eth0 and eth1 (public, carrier detector) and priv0 (private, to the sibling)."

say "s1's status"
"$HANET" status --socket "/run/hanet/$P-s1.sock"

say "Live: 8 keep-alive web clients fetch files from nginx on s1 (a line every 0.5 s)"
net_nginx "$(ns "$P" s1)" "$NET_S1_ADDR" "$WORK/nginx" >/dev/null 2>&1 &
PIDS+=($!)
wait_for 10 ip netns exec "$(ns "$P" client)" bash -c "exec 3<>/dev/tcp/$NET_S1_ADDR/8080" || { echo "nginx did not start"; exit 1; }
# Debian's python3 has python3-matplotlib (make deps); another python3 first in PATH may not.
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
status=0
$PY tools/demo.py --prefix "$P" --hanet "$HANET" --out "$OUT" || status=$?

say "What the daemons logged"
grep -hE "switch |PTA: (serving|stopped|.* carries)" "$WORK/s1.log" "$WORK/s2.log" | sed 's/^/  /' | tail -8
exit $status
