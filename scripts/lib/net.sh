# A built-in network of namespaces for the demo, the benchmark and the scenario tests.
#
#   client ── br0 (LAN, namespace "lan") ──┬── s1:eth0   s1:eth1 ──┐
#                                          └── s2:eth0   s2:eth1   │ (s2 only with "pair")
#                                   s1:priv0 ── s2:priv0 (private link, 169.254.77.0/30)
#
# Every name starts with a prefix so runs never collide, and net_down removes
# everything that prefix made. Addresses are documentation ranges only.
#
# usage: source scripts/lib/net.sh; net_up PREFIX [pair]; …; net_down PREFIX

NET_CLIENT_ADDR=198.51.100.50
NET_S1_ADDR=198.51.100.11
NET_S2_ADDR=198.51.100.12
# IPv6 on the same LAN (net_ipv6), for dual-stack tests.
NET_CLIENT_ADDR6=2001:db8::50
NET_S1_ADDR6=2001:db8::11
NET_S2_ADDR6=2001:db8::12

ns() { echo "$1-$2"; }   # ns PREFIX role

net_down() {
    local p=$1
    for n in $(ip netns list | awk '{print $1}' | grep -E "^$p-" || true); do
        ip netns pids "$n" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
        ip netns del "$n" 2>/dev/null || true
    done
}

# Connects namespace $1 (interface $2) to the LAN bridge as port $3.
net_lan_port() {
    local p=$1 nsname=$2 ifname=$3 port=$4
    ip link add "$ifname" netns "$nsname" type veth peer name "$port" netns "$(ns "$p" lan)"
    ip -n "$(ns "$p" lan)" link set "$port" master br0 up
    ip -n "$nsname" link set "$ifname" up
}

net_up() {
    local p=$1 pair=${2:-}
    net_down "$p"
    for r in client lan; do ip netns add "$(ns "$p" $r)"; done
    for r in client lan; do ip -n "$(ns "$p" $r)" link set lo up; done
    ip -n "$(ns "$p" lan)" link add br0 type bridge
    # No STP, no forward delay: a port is forwarding as soon as its carrier is.
    ip -n "$(ns "$p" lan)" link set br0 type bridge forward_delay 0 stp_state 0
    ip -n "$(ns "$p" lan)" link set br0 up
    net_lan_port "$p" "$(ns "$p" client)" c0 cl
    ip -n "$(ns "$p" client)" addr add $NET_CLIENT_ADDR/24 dev c0
    net_server "$p" s1
    if [ "$pair" = pair ]; then
        net_server "$p" s2
        ip link add priv0 netns "$(ns "$p" s1)" type veth peer name priv0 netns "$(ns "$p" s2)"
        ip -n "$(ns "$p" s1)" link set priv0 up
        ip -n "$(ns "$p" s2)" link set priv0 up
    fi
}

# Makes the LAN dual-stack: the client gets $NET_CLIENT_ADDR6/64 (without
# DAD, so it is usable at once). The servers' IPv6 service addresses are the
# daemons' (net_config_ipv6).
net_ipv6() {
    local p=$1
    ip -n "$(ns "$p" client)" addr add $NET_CLIENT_ADDR6/64 dev c0 nodad
}

# Adds the IPv6 service address of server $2 to its config $3 (after net_config):
# [master] addresses and, with a private link, the sibling's.
net_config_ipv6() {
    local node=$2 file=$3 addr other_addr
    case $node in
        s1) addr=$NET_S1_ADDR6 other_addr=$NET_S2_ADDR6 ;;
        s2) addr=$NET_S2_ADDR6 other_addr=$NET_S1_ADDR6 ;;
        *) addr=2001:db8::$((10 + ${node#s})) other_addr= ;;
    esac
    sed -i -E "s|^addresses = \[\"(198\.51\.100\.1[0-9]+)/24\"\]|addresses = [\"\1/24\", \"$addr/64\"]|" "$file"
    [ -n "$other_addr" ] && sed -i -E "s|^addresses = \[\"(198\.51\.100\.1[0-9]+)/32\"\]|addresses = [\"\1/32\", \"$other_addr/128\"]|" "$file"
    return 0
}

# Adds server $2 (s2, s3, ...) with eth0 and eth1 on the LAN (bridge ports ${2}e0, ${2}e1).
net_server() {
    local p=$1 node=$2
    ip netns add "$(ns "$p" "$node")"
    ip -n "$(ns "$p" "$node")" link set lo up
    net_lan_port "$p" "$(ns "$p" "$node")" eth0 "${node}e0"
    net_lan_port "$p" "$(ns "$p" "$node")" eth1 "${node}e1"
}

# Writes a shared PTA key (32 random bytes, hex) to $1.
net_key() {
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$1"
    echo >> "$1"
    chmod 600 "$1"
}

# Writes a daemon config for server $2 ("s1", "s2", or a further "sN") to $3. With a key
# file as $4, adds the private link priv0 to the other server and the
# [[sibling]] it leads to.
net_config() {
    local p=$1 node=$2 file=$3 key=${4:-} addr other mine theirs other_addr
    case $node in
        s1) addr=$NET_S1_ADDR other=s2 mine=169.254.77.1 theirs=169.254.77.2 other_addr=$NET_S2_ADDR ;;
        s2) addr=$NET_S2_ADDR other=s1 mine=169.254.77.2 theirs=169.254.77.1 other_addr=$NET_S1_ADDR ;;
        # A further server (net_server): public links only; priv0 joins s1 and s2 alone.
        *) addr=198.51.100.$((10 + ${node#s})) key= ;;
    esac
    cat > "$file" <<CFG
[node]
name = "$node"
control_socket = "/run/hanet/$p-$node.sock"

[master]
name = "hanet0"
addresses = ["$addr/24"]

[[link]]
interface = "eth0"
type = "ethernet"
role = "public"
detectors = ["carrier"]

[[link]]
interface = "eth1"
type = "ethernet"
role = "public"
detectors = ["carrier"]
CFG
    [ -n "$key" ] || return 0
    cat >> "$file" <<CFG

[[link]]
interface = "priv0"
type = "ethernet"
role = "private"
sibling = "$other"
address = "$mine/30"
detectors = ["carrier"]

[[sibling]]
name = "$other"
address = "$theirs"
key_file = "$key"
addresses = ["$other_addr/32"]
CFG
}

# Cuts or restores the carrier of server $2's interface $3 (its LAN bridge port goes down/up).
net_carrier() {
    local p=$1 node=$2 ifname=$3 state=$4
    local port="${node}e${ifname#eth}"
    ip -n "$(ns "$p" lan)" link set "$port" "$state"
}

# Waits until a command succeeds, at most $1 seconds.
wait_for() {
    local limit=$1; shift
    local end=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -ge $end ] && return 1
        sleep 0.05
    done
}

# Runs nginx in namespace $1 on $2:8080 (foreground; the caller backgrounds it),
# serving /hello and files /f/N of N bytes from work dir $3: a real web server
# for the keep-alive and 400-connection tests.
net_nginx() {
    local nsname=$1 addr=$2 dir=$3
    mkdir -p "$dir/www/f"
    for n in 100 512 4096 16384 65536 262144 1048576; do
        [ -f "$dir/www/f/$n" ] || head -c "$n" /dev/zero | tr '\0' h > "$dir/www/f/$n"
    done
    cat > "$dir/nginx.conf" <<NGINX
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log;
daemon off;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    sendfile on;
    server {
        listen $addr:8080 backlog=4096;
        root $dir/www;
        location = /hello { return 200 "hanet\n"; }
    }
}
NGINX
    exec ip netns exec "$nsname" nginx -c "$dir/nginx.conf" -p "$dir"
}

# Sets the LAN bridge port $2 to STP state $3 (0 disabled = a silent fault
# with carrier up, 3 forwarding). `ip link set PORT type bridge_slave state N`
# is silently ignored by this iproute2, so this uses `bridge link`.
net_port_state() {
    local p=$1 port=$2 state=$3
    bridge -n "$(ns "$p" lan)" link set dev "$port" state "$state"
}
