#!/usr/bin/env bash
# make demo: HANet's story in under a minute, on a network of namespaces it builds.
# Web clients load server s1 while s1 loses one public NIC (HANet moves the
# master to the other), then every public NIC (its sibling s2 carries s1's
# traffic over the private link: the PTA), then the links heal. A line every
# 0.5 s shows the request rate and who carries the traffic; the end is a
# summary and a plot. Everything it makes is removed on exit.
#
# make demo-routed (--routed): the routed variant. s1 and s2 on two LANs
# behind a router that runs BIRD with BGP and BFD to both; s1's public NIC
# fails and heals, and the router's route to s1's address moves to s2 and back.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/net.sh
ROUTED=
[ "${1:-}" = --routed ] && ROUTED=1

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
# Debian's python3 has python3-matplotlib (make deps); another python3 first in PATH may not.
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

if [ -n "$ROUTED" ]; then
    # BFD at 30 ms × 5, as in the routed tests: the web load keeps both cores
    # busy, and at 10 ms × 3 a stalled BIRD drops its sessions now and then.
    export ROUTED_BFD_MS=${ROUTED_BFD_MS:-30} ROUTED_BFD_MULT=${ROUTED_BFD_MULT:-5}
    source scripts/lib/routed.sh
    say "The network (namespaces; BIRD 2 on the router and on each server)"
    cat <<'DIAGRAM'
            client 203.0.113.10
                   │
                router ──── BGP + BFD (30 ms × 5) to s1 and s2
              │        │
      LAN A 192.0.2.0/26    LAN B 192.0.2.64/26
              │        │
       ┌──── eth0 ───┐ ┌──── eth0 ───┐
       │ s1  hanet0  │ │ s2  hanet0  │   each announces its /32 service address;
       │ 198.51.100.11 │ 198.51.100.12 │   each announces the other's, less preferred
       └──── pv ─────┘ └──── pv ─────┘
              └── private link ──┘
DIAGRAM
    routed_up "$P" "$WORK" 2 bfd daemon
    net_key "$WORK/pta.key"
    for n in 2 1; do
        routed_config "$P" "$WORK" "$n" "$WORK/pta.key"
        ip netns exec "$(ns "$P" "s$n")" "$HANET" run --config "$WORK/s$n/hanet.toml" --teardown 2>"$WORK/s$n.log" &
        PIDS+=($!)
        wait_for 15 "$HANET" status --socket "/run/hanet/$P-s$n.sock" || { cat "$WORK/s$n.log"; exit 1; }
        routed_gateway "$P" "$n"
    done
    echo "s1 and s2 each run BIRD and the hanet daemon: master hanet0 holds the LAN address (BGP) and the"
    echo "service address, eth0 is the public slave (carrier, ARP probes to the router), pv the private link."
    routed_to_s1() { [ "$(routed_next_hop "$P" 198.51.100.11)" = "$(routed_addr 1)" ]; }
    wait_for 30 routed_to_s1 || { echo "the router has no route to s1 via s1"; cat "$WORK/s1.log"; exit 1; }
    say "s1's status"
    "$HANET" status --socket "/run/hanet/$P-s1.sock"
    say "Live: 8 keep-alive web clients behind the router fetch files from nginx on s1 (a line every 0.5 s)"
    net_nginx "$(ns "$P" s1)" 198.51.100.11 "$WORK/nginx" >/dev/null 2>&1 &
    PIDS+=($!)
    wait_for 10 ip netns exec "$(ns "$P" c)" bash -c "exec 3<>/dev/tcp/198.51.100.11/8080" || { echo "nginx did not start"; exit 1; }
    status=0
    $PY tools/demo.py --routed --prefix "$P" --hanet "$HANET" --out "$OUT" || status=$?
    say "What the daemons logged"
    grep -hE "switch |routing: (announced|withdrew)|PTA: (serving|stopped|.* carries)" "$WORK/s1.log" "$WORK/s2.log" | sed 's/^/  /' | tail -10
    exit $status
fi

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
status=0
$PY tools/demo.py --prefix "$P" --hanet "$HANET" --out "$OUT" || status=$?

say "What the daemons logged"
grep -hE "switch |PTA: (serving|stopped|.* carries)" "$WORK/s1.log" "$WORK/s2.log" | sed 's/^/  /' | tail -8
exit $status
