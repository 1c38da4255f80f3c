# A routed network of namespaces: servers on different LANs behind a router
# that runs BIRD 2 with BGP (+ BFD) to each server, for the routing benchmark
# and the routed scenario tests.
#
#   client:eth0 ── router:ethC (203.0.113.0/24)
#   router:ethA ── brA (LAN A, 192.0.2.0/26,  ns "lan") ── s1:eth0, s3:eth0
#   router:ethB ── brB (LAN B, 192.0.2.64/26, ns "lan") ── s2:eth0, s4:eth0
#   s1:pv ── s2:pv (169.254.12.0/30), s3:pv ── s4:pv (169.254.34.0/30)
#
# Server sN has AS 6500N and the service address 198.51.100.1N/32 on lo; the
# router is AS 65000. Each server's BIRD reads ITS bird.conf (the operator's
# part, written here) and includes hanet.conf (HANet's fragment) from its
# directory. routed_fragment writes the fragment the way HANet renders it:
# hanet_own announces the server's address, hanet_carry_sM announces the
# sibling's as less preferred (AS path prepended 3 times), valid only while
# BFD over the private link is up.
#
# With "daemon" as the fifth argument, the network is the one the HANet
# daemon runs on: eth0, lo and pv carry no address (each server's daemon
# puts its LAN address and service address on its master hanet0 and its end
# of the private link on pv, from the config routed_config writes), each
# server's BIRD starts with an empty fragment (announcing nothing) that the
# daemon replaces, and the way out over the private link is the daemon's.
# routed_gateway then adds the operator's default route on hanet0.
#
# usage: source scripts/lib/routed.sh
#        routed_up PREFIX DIR SERVERS(2|4) BFD(bfd|nobfd) [daemon]; …; routed_down PREFIX

source "$(dirname "${BASH_SOURCE[0]}")/net.sh"

ROUTED_CLIENT=203.0.113.10
ROUTED_BFD_MS=${ROUTED_BFD_MS:-10}
ROUTED_BFD_MULT=${ROUTED_BFD_MULT:-3}
# The daemon's ARP probes to the router on eth0 (routed_config): a silent
# fault costs about 3 intervals (the routing benchmark uses 20 ms).
ROUTED_ARP_MS=${ROUTED_ARP_MS:-50}
# BIRD's nice value. The scenario tests run BIRD at -10: with iperf3, 400
# connections and other builds on 2 cores, a BIRD at 0 now and then went
# 150 ms without sending, and its peers' BFD (30 ms x 5) took it for dead.
ROUTED_BIRD_NICE=${ROUTED_BIRD_NICE:-0}

routed_lan() { [ $(($1 % 2)) = 1 ] && echo A || echo B; }          # routed_lan N
routed_addr() {                                                      # public address of sN
    local n=$1
    [ "$(routed_lan "$n")" = A ] && echo "192.0.2.$((9 + (n + 1) / 2))" || echo "192.0.2.$((73 + n / 2))"
}
routed_gw() { [ "$(routed_lan "$1")" = A ] && echo 192.0.2.1 || echo 192.0.2.65; }
routed_service() { echo "198.51.100.1$1"; }
routed_sibling() { [ $(($1 % 2)) = 1 ] && echo $(($1 + 1)) || echo $(($1 - 1)); }
routed_pv_net() { local lo=$(( ($1 + 1) / 2 * 2 - 1 )); echo "169.254.$lo$((lo + 1))"; }
routed_pv_addr() { echo "$(routed_pv_net "$1").$([ $(($1 % 2)) = 1 ] && echo 1 || echo 2)"; }

routed_down() { net_down "$1"; }

# The BFD protocol block both ends of every session use ($1: bfd|nobfd).
routed_bfd_block() {
    cat <<EOF
protocol bfd {
    interface "*" {
        min rx interval $ROUTED_BFD_MS ms;
        min tx interval $ROUTED_BFD_MS ms;
        idle tx interval 300 ms;
        multiplier $ROUTED_BFD_MULT;
    };
}
EOF
}

# Timers of every BGP session: 3 s hold (the lowest BIRD accepts) so the
# no-BFD measurement ends in seconds; short retry so a heal is quick.
routed_bgp_timers() {
    echo "    hold time 3; keepalive time 1; connect delay time 1; connect retry time 1; error wait time 1, 2; error forget time 10;"
    [ "$1" = bfd ] && echo "    bfd on;" || echo "    bfd off;"
}

routed_up() {
    local p=$1 dir=$2 servers=$3 bfd=$4 daemon=${5:-} n
    net_down "$p"
    mkdir -p "$dir"
    for r in lan r c; do ip netns add "$(ns "$p" $r)"; ip -n "$(ns "$p" $r)" link set lo up; done
    local lan r
    lan=$(ns "$p" lan); r=$(ns "$p" r)
    for b in A B; do
        ip -n "$lan" link add br$b type bridge
        ip -n "$lan" link set br$b type bridge forward_delay 0 stp_state 0
        ip -n "$lan" link set br$b up
        ip link add eth$b netns "$r" type veth peer name r$b netns "$lan"
        ip -n "$lan" link set r$b master br$b up
        ip -n "$r" link set eth$b up
    done
    ip -n "$r" addr add 192.0.2.1/26 dev ethA
    ip -n "$r" addr add 192.0.2.65/26 dev ethB
    ip link add ethC netns "$r" type veth peer name eth0 netns "$(ns "$p" c)"
    ip -n "$r" link set ethC up
    ip -n "$r" addr add 203.0.113.1/24 dev ethC
    ip -n "$(ns "$p" c)" link set eth0 up
    ip -n "$(ns "$p" c)" addr add $ROUTED_CLIENT/24 dev eth0
    ip -n "$(ns "$p" c)" route add default via 203.0.113.1
    ip netns exec "$r" sysctl -qw net.ipv4.ip_forward=1
    for n in $(seq 1 "$servers"); do routed_server "$p" "$dir" "$n" "$bfd" "$daemon"; done
    for n in $(seq 1 2 "$servers"); do
        ip link add pv netns "$(ns "$p" s$n)" type veth peer name pv netns "$(ns "$p" s$((n + 1)))"
        for m in $n $((n + 1)); do
            ip -n "$(ns "$p" s$m)" link set pv up
            [ -n "$daemon" ] && continue
            ip -n "$(ns "$p" s$m)" addr add "$(routed_pv_addr $m)/30" dev pv
            # The way out while the public link is down (HANet's master moves
            # to the private link); BIRD's routes from the router win while up.
            ip -n "$(ns "$p" s$m)" route add default via "$(routed_pv_addr "$(routed_sibling $m)")" metric 1000
        done
    done
    routed_router_conf "$p" "$dir" "$servers" "$bfd"
    routed_bird "$p" r "$dir/r"
    for n in $(seq 1 "$servers"); do
        if [ -n "$daemon" ]; then routed_fragment_empty "$dir/s$n"; else routed_fragment "$dir/s$n" "$n" on; fi
        routed_bird "$p" "s$n" "$dir/s$n"
    done
}

# Server sN: eth0 on its LAN's bridge (port sNe0), its BIRD configuration
# and, without "daemon", its LAN address on eth0, the service address on lo
# and forwarding on (with "daemon", the daemon's master holds both addresses
# and the daemon turns forwarding on while it carries its sibling).
routed_server() {
    local p=$1 dir=$2 n=$3 bfd=$4 daemon=${5:-} s lan
    s=$(ns "$p" "s$n"); lan=$(ns "$p" lan)
    ip netns add "$s"
    ip -n "$s" link set lo up
    ip link add eth0 netns "$s" type veth peer name "s${n}e0" netns "$lan"
    ip -n "$lan" link set "s${n}e0" master "br$(routed_lan "$n")" up
    ip -n "$s" link set eth0 up
    if [ -z "$daemon" ]; then
        ip -n "$s" addr add "$(routed_service "$n")/32" dev lo
        ip -n "$s" addr add "$(routed_addr "$n")/26" dev eth0
        ip netns exec "$s" sysctl -qw net.ipv4.ip_forward=1
    fi
    # A route through a NIC without carrier is skipped, as on a real server
    # whose bond lost the link.
    ip netns exec "$s" sysctl -qw net.ipv4.conf.all.ignore_routes_with_linkdown=1
    mkdir -p "$dir/s$n"
    cat > "$dir/s$n/bird.conf" <<EOF
# The operator's part: router id, device and kernel protocols, BFD, the BGP
# neighbour. HANet's fragment (hanet.conf) defines hanet_own,
# hanet_carry_sM and the functions hanet_export() and hanet_kernel(), used
# in the export filters after the include.
log "$dir/s$n/bird.log" all;
debug protocols { states, events };
router id $(routed_addr "$n");
protocol device { scan time 10; }
protocol direct { ipv4; interface "pv"; }
$(routed_bfd_block)
include "$dir/s$n/hanet.conf";
protocol kernel {
    ipv4 { import none; export where source = RTS_BGP || hanet_kernel(); };
}
protocol bgp uplink {
    local $(routed_addr "$n") as 6500$n;
    neighbor $(routed_gw "$n") as 65000;
$(routed_bgp_timers "$bfd")
    ipv4 { import all; export where hanet_export(); };
}
EOF
}

# HANet's fragment for sN, the text HANetCore's BIRDFragment renders for it
# (RoutedTakeoverTests checks they agree) ($3: on = own address announced,
# off = withdrawn).
routed_fragment() {
    local d=$1 n=$2 own=$3 sib
    sib=$(routed_sibling "$n")
    {
        echo "# HANet's BIRD fragment: written by hanet and replaced whole on every"
        echo "# change; edits here are lost. bird.conf includes it and calls"
        echo "# hanet_export() in its BGP export filters and hanet_kernel() in its"
        echo "# kernel protocol's export filter (docs/routing.md)."
        echo "protocol static hanet_own {"
        echo "    ipv4;"
        echo "    disabled $([ "$own" = on ] && echo no || echo yes);"
        echo "    route $(routed_service "$n")/32 via \"lo\";"
        echo "}"
        echo "protocol static hanet_carry_s$sib {"
        echo "    ipv4;"
        echo "    disabled no;"
        echo "    route $(routed_service "$sib")/32 via $(routed_pv_addr "$sib") bfd;"
        echo "}"
        echo "function hanet_export() {"
        echo "    if proto = \"hanet_own\" then return true;"
        echo "    if proto = \"hanet_carry_s$sib\" then {"
        for _ in 1 2 3; do echo "        bgp_path.prepend(6500$n);"; done
        echo "        return true;"
        echo "    }"
        echo "    return false;"
        echo "}"
        echo "function hanet_kernel() {"
        echo "    return proto = \"hanet_carry_s$sib\";"
        echo "}"
    } > "$d/hanet.conf.new"
    mv "$d/hanet.conf.new" "$d/hanet.conf"
}

# What a package installs before HANet first runs: a fragment that defines
# the functions bird.conf calls and announces nothing.
routed_fragment_empty() {
    printf '%s\n' "function hanet_export() { return false; }" "function hanet_kernel() { return false; }" > "$1/hanet.conf"
}

# The HANet daemon's config for sN in the "daemon" network, written to
# DIR/sN/hanet.toml ($4: the PTA key file): the master holds the LAN address
# (BGP's session source, not announced) and the service address (/32,
# announced); eth0 is the public slave, watched by carrier and by ARP probes
# to the LAN's router (a blocked port keeps the carrier up); pv is the
# private link to the sibling, which this server carries in [routing]; the
# metrics on 127.0.0.1:9477 in the server's namespace.
routed_config() {
    local p=$1 dir=$2 n=$3 key=$4 sib
    sib=$(routed_sibling "$n")
    cat > "$dir/s$n/hanet.toml" <<CFG
[node]
name = "s$n"
control_socket = "/run/hanet/$p-s$n.sock"

[master]
name = "hanet0"
addresses = ["$(routed_addr "$n")/26", "$(routed_service "$n")/32"]

[[link]]
interface = "eth0"
type = "ethernet"
role = "public"
detectors = ["carrier", "arp-monitor"]
detector_policy = "all"

[[link]]
interface = "pv"
type = "ethernet"
role = "private"
sibling = "s$sib"
address = "$(routed_pv_addr "$n")/30"
detectors = ["carrier"]

[[sibling]]
name = "s$sib"
address = "$(routed_pv_addr "$sib")"
key_file = "$key"
addresses = ["$(routed_service "$sib")/32"]

[detector.arp-monitor]
interval_ms = $ROUTED_ARP_MS
missed_max = 3
init_wait_ms = 300
targets = ["$(routed_gw "$n")"]

[routing]
engine = "bird"
control_socket = "$dir/s$n/bird.ctl"
include_file = "$dir/s$n/hanet.conf"
local_as = 6500$n
carry = ["s$sib"]
configure_timeout_s = 10

[metrics]
listen = "127.0.0.1:9477"
CFG
}

# The operator's default route of sN through its LAN's router, on the
# daemon's master (once the daemon has made it).
routed_gateway() {
    ip -n "$(ns "$1" "s$2")" route replace default via "$(routed_gw "$2")" dev hanet0
}

# Stops sN's BIRD (SIGTERM, as systemd does) and waits for its end.
routed_bird_stop() {
    local n=$2 dir=$3 pid
    pid=$(cat "$dir/s$n/bird.pid")
    kill -TERM "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.02; done
}

# Stops sN's BIRD and starts it again.
routed_bird_restart() {
    routed_bird_stop "$@"
    routed_bird "$1" "s$2" "$3/s$2"
}

routed_router_conf() {
    local p=$1 dir=$2 servers=$3 bfd=$4 n
    mkdir -p "$dir/r"
    {
        echo "debug protocols { states, events };"
        echo "log \"$dir/r/bird.log\" all;"
        echo "router id 192.0.2.1;"
        echo "protocol device { scan time 10; }"
        echo "protocol direct { ipv4; interface \"ethC\"; }"
        echo "protocol kernel { ipv4 { import none; export where source = RTS_BGP; }; }"
        routed_bfd_block
        for n in $(seq 1 "$servers"); do
            echo "protocol bgp s$n {"
            echo "    local $(routed_gw "$n") as 65000;"
            echo "    neighbor $(routed_addr "$n") as 6500$n;"
            routed_bgp_timers "$bfd"
            echo "    ipv4 { import all; export where source = RTS_DEVICE; };"
            echo "}"
        done
    } > "$dir/r/bird.conf"
}

# Starts BIRD in namespace role $2 with $3/bird.conf and the control socket
# $3/bird.ctl. BIRD's background process keeps every descriptor it was
# started with but 0-2: one that a caller watches for its child's end (Swift
# Foundation's Process waits for such a socket to close) would wait for
# BIRD's end, so BIRD gets none but 0-2, and its output goes to $3/bird.out
# (printed on failure).
routed_bird() {
    local p=$1 role=$2 d=$3
    (
        for fd in /proc/$BASHPID/fd/*; do
            fd=${fd##*/}
            [ "$fd" -gt 2 ] && eval "exec $fd>&-"
        done
        exec nice -n "$ROUTED_BIRD_NICE" ip netns exec "$(ns "$p" "$role")" bird -c "$d/bird.conf" -s "$d/bird.ctl" -P "$d/bird.pid" </dev/null >"$d/bird.out" 2>&1
    ) || { cat "$d/bird.out" >&2; return 1; }
}

# The router's route to $2 (e.g. s1's service address): the next hop's address, or "none".
routed_next_hop() {
    local p=$1 addr=$2 via
    via=$(ip -n "$(ns "$p" r)" -4 route show "$addr/32" | sed -n 's/.* via \([0-9.]*\).*/\1/p')
    echo "${via:-none}"
}
