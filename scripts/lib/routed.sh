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
# usage: source scripts/lib/routed.sh
#        routed_up PREFIX DIR SERVERS(2|4) BFD(bfd|nobfd); …; routed_down PREFIX

source "$(dirname "${BASH_SOURCE[0]}")/net.sh"

ROUTED_CLIENT=203.0.113.10
ROUTED_BFD_MS=${ROUTED_BFD_MS:-10}
ROUTED_BFD_MULT=${ROUTED_BFD_MULT:-3}

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
    local p=$1 dir=$2 servers=$3 bfd=$4 n
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
    for n in $(seq 1 "$servers"); do routed_server "$p" "$dir" "$n" "$bfd"; done
    for n in $(seq 1 2 "$servers"); do
        ip link add pv netns "$(ns "$p" s$n)" type veth peer name pv netns "$(ns "$p" s$((n + 1)))"
        for m in $n $((n + 1)); do
            ip -n "$(ns "$p" s$m)" addr add "$(routed_pv_addr $m)/30" dev pv
            ip -n "$(ns "$p" s$m)" link set pv up
            # The way out while the public link is down (HANet's master moves
            # to the private link); BIRD's routes from the router win while up.
            ip -n "$(ns "$p" s$m)" route add default via "$(routed_pv_addr "$(routed_sibling $m)")" metric 1000
        done
    done
    routed_router_conf "$p" "$dir" "$servers" "$bfd"
    routed_bird "$p" r "$dir/r"
    for n in $(seq 1 "$servers"); do
        routed_fragment "$dir/s$n" "$n" on
        routed_bird "$p" "s$n" "$dir/s$n"
    done
}

# Server sN: eth0 on its LAN's bridge (port sNe0), the service address on lo,
# its BIRD configuration.
routed_server() {
    local p=$1 dir=$2 n=$3 bfd=$4 s lan
    s=$(ns "$p" "s$n"); lan=$(ns "$p" lan)
    ip netns add "$s"
    ip -n "$s" link set lo up
    ip -n "$s" addr add "$(routed_service "$n")/32" dev lo
    ip link add eth0 netns "$s" type veth peer name "s${n}e0" netns "$lan"
    ip -n "$lan" link set "s${n}e0" master "br$(routed_lan "$n")" up
    ip -n "$s" link set eth0 up
    ip -n "$s" addr add "$(routed_addr "$n")/26" dev eth0
    ip netns exec "$s" sysctl -qw net.ipv4.ip_forward=1
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

routed_router_conf() {
    local p=$1 dir=$2 servers=$3 bfd=$4 n
    mkdir -p "$dir/r"
    {
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

# Starts BIRD in namespace role $2 with $3/bird.conf and the control socket $3/bird.ctl.
routed_bird() {
    local p=$1 role=$2 d=$3
    ip netns exec "$(ns "$p" "$role")" bird -c "$d/bird.conf" -s "$d/bird.ctl" -P "$d/bird.pid"
}

# The router's route to $2 (e.g. s1's service address): the next hop's address, or "none".
routed_next_hop() {
    local p=$1 addr=$2 via
    via=$(ip -n "$(ns "$p" r)" -4 route show "$addr/32" | sed -n 's/.* via \([0-9.]*\).*/\1/p')
    echo "${via:-none}"
}
