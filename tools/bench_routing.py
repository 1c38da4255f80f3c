#!/usr/bin/env python3
"""How HANet drives BIRD 2, measured: the routed network of
scripts/lib/routed.sh (a router running BIRD with BGP to s1 on LAN A and s2
on LAN B, a client behind the router, a private veth s1-s2), with real BIRD
processes in namespaces.

Options for announcing and withdrawing s1's service address (198.51.100.11):
  configure   HANet rewrites its include file and sends `configure` on s1's
              control socket (also timed: `configure check`, and `configure
              timeout` + `configure confirm`)
  enable      HANet sends `disable hanet_own` / `enable hanet_own` on the
              control socket
  learn       HANet adds/removes the host route in kernel table 100, which a
              `kernel` protocol with `learn` imports (scan time 60 s, so only
              netlink notifications can make it fast)
  static-bfd  the sibling's carry route (`static` ... `bfd` over the private
              link) while s1's own route is withdrawn: a silent fault on the
              private link -> the router loses the route
Each: time from the action (or fault) to the router's FIB changing, read by
a netlink listener in the router's namespace (RTM_NEWROUTE/DELROUTE).

Faults on s1's public NIC, with the 1 kHz UDP probe from the client:
  carrier     the LAN bridge port goes down (s1's eth0 loses carrier)
  silent      the bridge port stops forwarding (STP state 0), carrier up
with BFD at 10 ms x 3 and without BFD (BGP hold timer, lowered to 3 s, the
least BIRD accepts). Per fault: fault -> the router's route points at s2, the
UDP outage; per heal: heal -> back at s1, the heal's UDP outage.

`tools/bench_routing.py --tries 10` prints the figures as JSON. Needs root.
"""
import argparse, json, os, random, socket, struct, subprocess, sys, tempfile, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import ROOT, LinkSwitch, in_ns, sh, stats, wait_until, wrk_through

S1, S2 = "198.51.100.11", "198.51.100.12"
S1_PUBLIC, S2_PUBLIC = "192.0.2.10", "192.0.2.74"


class RouteWatch:
    """Every change of the route to one /32 in a namespace's main table, as
    (time.monotonic() on receipt, next hop or None when gone)."""
    RTMGRP_IPV4_ROUTE = 0x40
    RTM_NEWROUTE, RTM_DELROUTE = 24, 25

    def __init__(self, nsname, dst):
        self.dst = socket.inet_aton(dst)
        self.events = []
        self.cond = threading.Condition()

        def make():
            s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            s.bind((0, self.RTMGRP_IPV4_ROUTE))
            return s
        self.sock = in_ns(nsname, make)
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while True:
            data = self.sock.recv(65536)
            t = time.monotonic()
            off = 0
            while off + 16 <= len(data):
                length, kind = struct.unpack_from("IH", data, off)
                if kind in (self.RTM_NEWROUTE, self.RTM_DELROUTE):
                    self.parse(data[off + 16:off + length], kind, t)
                off += (length + 3) & ~3

    def parse(self, body, kind, t):
        family, dst_len, _, _, table = struct.unpack_from("BBBBB", body, 0)
        if family != socket.AF_INET or dst_len != 32 or table != 254:
            return
        dst = gw = None
        off = 12
        while off + 4 <= len(body):
            alen, atype = struct.unpack_from("HH", body, off)
            if alen < 4:
                break
            val = body[off + 4:off + alen]
            if atype == 1:
                dst = val
            elif atype == 5:
                gw = socket.inet_ntoa(val)
            off += (alen + 3) & ~3
        if dst != self.dst:
            return
        with self.cond:
            self.events.append((t, gw if kind == self.RTM_NEWROUTE else None))
            self.cond.notify_all()

    def mark(self):
        with self.cond:
            return len(self.events)

    def wait(self, since, want, seconds):
        """The time of the first event after index `since` whose next hop is `want`."""
        end = time.monotonic() + seconds
        with self.cond:
            while True:
                for t, gw in self.events[since:]:
                    if gw == want:
                        return t
                left = end - time.monotonic()
                if left <= 0:
                    raise RuntimeError(f"no route change to {want} within {seconds} s: {self.events[since:]}")
                self.cond.wait(left)


class BirdControl:
    """BIRD's control socket: one command, the reply lines up to the final code."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.buf = b""
        self.reply()  # 0001 greeting

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise RuntimeError("BIRD closed the control socket")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

    def reply(self):
        lines = []
        while True:
            l = self.line()
            lines.append(l)
            if len(l) >= 5 and l[:4].isdigit() and l[4] == " ":
                return int(l[:4]), lines

    def send(self, cmd):
        self.s.sendall(cmd.encode() + b"\n")

    def command(self, cmd):
        self.send(cmd)
        code, lines = self.reply()
        if code >= 8000:
            raise RuntimeError(f"BIRD: {cmd}: {lines}")
        return code, lines


class RoutingBench:
    def __init__(self, a):
        self.a = a
        self.p = "rtb%d" % random.randrange(1 << 20)
        self.work = tempfile.mkdtemp(prefix="rt-bench.")
        self.procs = []

    def ns(self, role):
        return f"{self.p}-{role}"

    def routed(self, fn):
        return sh(f"source scripts/lib/routed.sh && {fn}")

    def up(self, bfd):
        self.bfd = bfd
        self.routed(f"routed_up {self.p} {self.work} 2 {'bfd' if bfd else 'nobfd'}")
        self.watch = RouteWatch(self.ns("r"), S1)
        self.lan = LinkSwitch(self.ns("lan"), ["s1e0"])
        wait_until(20, "the router's route to s1 via s1", lambda: self.next_hop() == S1_PUBLIC)
        wait_until(20, "s2's carry route at the router", lambda: "65002 65002" in self.bird("r", f"show route {S1}/32 all"))
        self.ctl = BirdControl(f"{self.work}/s1/bird.ctl")
        p = subprocess.Popen(["ip", "netns", "exec", self.ns("s1"), "python3", "tools/probe.py", "server", "--bind", S1],
                             cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        wait_until(10, "the probe server", lambda: self.udp(0.2)["received"] > 0)

    def down(self):
        for p in self.procs:
            p.kill()
            p.wait()
        self.procs = []
        self.routed(f"routed_down {self.p}")

    def bird(self, role, cmd):
        return sh(f"birdc -s {self.work}/{role}/bird.ctl {cmd}")

    def next_hop(self):
        return self.routed(f"routed_next_hop {self.p} {S1}").strip()

    def udp(self, seconds):
        out = sh(f"ip netns exec {self.ns('c')} python3 tools/probe.py udp --to {S1} --duration {seconds}")
        return json.loads(out)

    def client_tx(self):
        return int(sh(f"ip netns exec {self.ns('c')} cat /sys/class/net/eth0/statistics/tx_packets"))

    def udp_async(self, seconds):
        """The probe, returned once it has sent for about 100 ms (Python's start
        under load takes longer than any fixed pause would promise)."""
        before = self.client_tx()
        p = subprocess.Popen(["ip", "netns", "exec", self.ns("c"), "python3", "tools/probe.py", "udp", "--to", S1,
                              "--duration", str(seconds)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        wait_until(10, "the probe to send", lambda: self.client_tx() - before >= 100)
        return p

    # --- how HANet drives BIRD ---------------------------------------------

    def fragment(self, own):
        self.routed(f"routed_fragment {self.work}/s1 1 {'on' if own else 'off'}")

    def timed(self, action, want):
        m = self.watch.mark()
        t0 = time.monotonic()
        action()
        t1 = time.monotonic()
        return round((self.watch.wait(m, want, 10) - t0) * 1000, 3), round((t1 - t0) * 1000, 3)

    def option_configure(self):
        rows = {"withdraw_ms": [], "announce_ms": [], "configure_reply_ms": [], "check_ms": [],
                "timeout_confirm_announce_ms": []}
        for _ in range(self.a.tries):
            self.fragment(False)
            ms, reply = self.timed(lambda: self.ctl.command("configure"), S2_PUBLIC)
            rows["withdraw_ms"].append(ms)
            rows["configure_reply_ms"].append(reply)
            self.fragment(True)
            t = time.monotonic()
            self.ctl.command("configure check")
            rows["check_ms"].append(round((time.monotonic() - t) * 1000, 3))
            ms, _ = self.timed(lambda: self.ctl.command("configure"), S1_PUBLIC)
            rows["announce_ms"].append(ms)
            # The same announce under `configure timeout`: applied at once, undone unless confirmed.
            self.fragment(False)
            self.timed(lambda: self.ctl.command("configure"), S2_PUBLIC)
            self.fragment(True)
            ms, _ = self.timed(lambda: self.ctl.command("configure timeout 30"), S1_PUBLIC)
            self.ctl.command("configure confirm")
            rows["timeout_confirm_announce_ms"].append(ms)
        return {k: stats(v) for k, v in rows.items()}

    def option_enable(self):
        rows = {"disable_ms": [], "enable_ms": []}
        for _ in range(self.a.tries):
            rows["disable_ms"].append(self.timed(lambda: self.ctl.command("disable hanet_own"), S2_PUBLIC)[0])
            rows["enable_ms"].append(self.timed(lambda: self.ctl.command("enable hanet_own"), S1_PUBLIC)[0])
        return {k: stats(v) for k, v in rows.items()}

    def option_learn(self):
        """The host route in kernel table 100, learnt by a second kernel protocol."""
        conf = f"{self.work}/s1/hanet.conf"
        self.fragment(False)
        with open(conf) as f:
            text = f.read()
        text = text.replace('if proto = "hanet_own"', 'if proto = "hanet_own" || proto = "hanet_learn"')
        # One kernel protocol per BIRD table: the learnt routes get their own, piped into master4.
        text += ("ipv4 table hanet_learn4;\n"
                 "protocol kernel hanet_learn {\n    ipv4 { table hanet_learn4; import all; export none; };\n"
                 "    kernel table 100;\n    learn;\n    scan time 60;\n}\n"
                 "protocol pipe hanet_learn_pipe {\n    table master4;\n    peer table hanet_learn4;\n"
                 "    import all;\n    export none;\n}\n")
        with open(conf, "w") as f:
            f.write(text)
        self.timed(lambda: self.ctl.command("configure"), S2_PUBLIC)
        s1 = self.ns("s1")
        rows = {"add_ms": [], "del_ms": [], "ip_spawn_ms": []}
        for _ in range(self.a.tries):
            m = self.watch.mark()
            t = time.monotonic()
            sh(f"ip -n {s1} route add {S1}/32 dev lo table 100")
            rows["ip_spawn_ms"].append(round((time.monotonic() - t) * 1000, 3))
            rows["add_ms"].append(round((self.watch.wait(m, S1_PUBLIC, 70) - t) * 1000, 3))
            m = self.watch.mark()
            t = time.monotonic()
            sh(f"ip -n {s1} route del {S1}/32 dev lo table 100")
            rows["del_ms"].append(round((self.watch.wait(m, S2_PUBLIC, 70) - t) * 1000, 3))
        self.fragment(True)
        self.timed(lambda: self.ctl.command("configure"), S1_PUBLIC)
        return {k: stats(v) for k, v in rows.items()}

    def option_static_bfd(self):
        """s1's own route withdrawn, so the router routes via s2's carry route;
        a silent fault on the private link (nft drop on s1's pv) -> gone."""
        self.timed(lambda: self.ctl.command("disable hanet_own"), S2_PUBLIC)
        s1 = self.ns("s1")
        rows = {"fault_to_withdrawn_ms": [], "heal_to_announced_ms": []}
        for _ in range(self.a.tries):
            m = self.watch.mark()
            t = time.monotonic()
            sh(f"ip netns exec {s1} nft -f - <<'EOF'\n"
               "table inet rtdrop {\n chain i { type filter hook input priority 0; iifname \"pv\" drop; }\n"
               " chain o { type filter hook output priority 0; oifname \"pv\" drop; }\n}\nEOF")
            rows["fault_to_withdrawn_ms"].append(round((self.watch.wait(m, None, 10) - t) * 1000, 3))
            m = self.watch.mark()
            t = time.monotonic()
            sh(f"ip netns exec {s1} nft delete table inet rtdrop")
            rows["heal_to_announced_ms"].append(round((self.watch.wait(m, S2_PUBLIC, 10) - t) * 1000, 3))
        self.timed(lambda: self.ctl.command("enable hanet_own"), S1_PUBLIC)
        return {k: stats(v) for k, v in rows.items()}

    # --- faults on s1's public NIC -------------------------------------------

    def fault(self, kind, up):
        if kind == "carrier":
            return self.lan.set("s1e0", up)
        t = time.monotonic()
        sh(f"bridge -n {self.ns('lan')} link set dev s1e0 state {3 if up else 0}")
        return t

    def faults(self, kind):
        rows = {"fault_to_s2_ms": [], "outage_ms": [], "lost": [], "heal_to_s1_ms": [], "heal_outage_ms": [], "heal_lost": []}
        unfinished = []
        for _ in range(self.a.tries):
            self.settled()
            probe = self.udp_async(self.span("fault"))
            try:
                m = self.watch.mark()
                t = self.fault(kind, False)
                rows["fault_to_s2_ms"].append(round((self.watch.wait(m, S2_PUBLIC, 10) - t) * 1000, 3))
                self.probed(probe, rows, "outage_ms", "lost")
                probe = self.udp_async(self.span("heal"))
                m = self.watch.mark()
                t = self.fault(kind, True)
                rows["heal_to_s1_ms"].append(round((self.watch.wait(m, S1_PUBLIC, 30) - t) * 1000, 3))
                self.probed(probe, rows, "heal_outage_ms", "heal_lost")
            except RuntimeError as e:
                # A session flap of its own (a stalled process misses BFD's
                # 30 ms) can hide the move: counted with what the router had
                # then, and the next try starts clean.
                unfinished.append({"error": str(e)[:300], "next_hop": self.next_hop(),
                                   "router_bfd": self.bird("r", "show bfd sessions").splitlines()[2:],
                                   "router_s1": self.bird("r", "show protocols s1").splitlines()[-1]})
                probe.kill()
                probe.wait()
                self.fault(kind, True)
        res = {k: stats(v) for k, v in rows.items()}
        res["unfinished"] = unfinished
        return res

    def span(self, which):
        """Seconds of the UDP probe of a fault or a heal: the route moves within the hold timer (3 s) without BFD."""
        return 1.5 if self.bfd else 6.0

    @staticmethod
    def probed(probe, rows, gap, lost):
        """The longest gap between answers, and the datagrams never answered
        (at 1 kHz, ms of outage even when the probe ends before the path is back)."""
        r = json.loads(probe.communicate()[0])
        rows[gap].append(r["longest_gap_ms"])
        rows[lost].append(r["lost"])

    def settled(self):
        """Both ends' BGP sessions established and, with BFD, the router's BFD
        session to s1 up: a fault before that would be found by the hold timer."""
        wait_until(60, "s1's session", lambda: "Established" in self.bird("s1", "show protocols uplink"))
        wait_until(60, "the router's session to s1", lambda: "Established" in self.bird("r", "show protocols s1"))
        if self.bfd:
            wait_until(60, "BFD to s1", lambda: any(l.split()[:1] == [S1_PUBLIC] and "Up" in l.split()
                                                      for l in self.bird("r", "show bfd sessions").splitlines()))


class DaemonRoutingBench(RoutingBench):
    """The same faults with the HANet daemon on s1 and s2 (the routed phase of
    `make bench`): s1's daemon withdraws its address when its public link
    fails (carrier, or the ARP probes to the router for a silent fault) and
    its master moves to the private link; s2's carries it. With BFD the
    router notices as well; without it only the hold timer would (3 s)."""

    def __init__(self, hanet, faults, clients):
        super().__init__(argparse.Namespace(tries=faults))
        self.hanet, self.clients = hanet, clients
        self.p = "rtd%d" % random.randrange(1 << 20)
        os.chmod(self.work, 0o755)  # nginx workers (www-data) read the files in it

    def status(self, n):
        return json.loads(sh(f"{self.hanet} status --json --socket /run/hanet/{self.p}-s{n}.sock"))

    def up(self, bfd):
        self.bfd = bfd
        self.routed(f"routed_up {self.p} {self.work} 2 {'bfd' if bfd else 'nobfd'} daemon")
        key = f"{self.work}/pta.key"
        sh(f"source scripts/lib/net.sh && net_key {key}")
        for n in (2, 1):
            # ARP probes every 20 ms: a silent fault costs the server's own detection (docs/routing.md).
            self.routed(f"ROUTED_ARP_MS=20 routed_config {self.p} {self.work} {n} {key}")
            log = open(f"{self.work}/daemon-s{n}.log", "w")
            self.procs.append(subprocess.Popen(
                ["ip", "netns", "exec", self.ns(f"s{n}"), self.hanet, "run", "--config", f"{self.work}/s{n}/hanet.toml",
                 "--plugins-dir", os.path.dirname(os.path.realpath(self.hanet))], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
            wait_until(15, f"the daemon on s{n}", lambda: self.status(n)["active"] == "eth0")
            self.routed(f"routed_gateway {self.p} {n}")
        self.watch = RouteWatch(self.ns("r"), S1)
        self.lan = LinkSwitch(self.ns("lan"), ["s1e0"])
        wait_until(30, "the router's route to s1 via s1", lambda: self.next_hop() == S1_PUBLIC)
        wait_until(30, "s2's carry route at the router", lambda: "65002 65002" in self.bird("r", f"show route {S1}/32 all"))
        www = f"{self.work}/www"
        os.makedirs(www)
        self.procs.append(subprocess.Popen(["bash", "-c", f"source scripts/lib/net.sh && net_nginx {self.ns('s1')} {S1} {www}"],
                                           cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        self.procs.append(subprocess.Popen(["ip", "netns", "exec", self.ns("s1"), "python3", "tools/probe.py", "server", "--bind", S1],
                                           cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_until(10, "nginx on s1", lambda: sh(f"ip netns exec {self.ns('c')} bash -c 'exec 3<>/dev/tcp/{S1}/8080'", check=False) == "")
        wait_until(10, "the probe server", lambda: self.udp(0.2)["received"] > 0)

    def span(self, which):
        """A heal waits for the BGP session (up to 2.5 s measured) with BFD or without; a fault for the
        router's BFD (30 ms) or its hold timer (3 s): HANet's withdrawal cannot reach the router once the
        public link is down, since the session ran over it."""
        if which == "heal":
            return 3.0
        return 1.5 if self.bfd else 6.0

    def settled(self):
        """The daemon announcing (its public link GOOD and active) as well as the sessions up."""
        wait_until(30, "s1 announcing", lambda: self.status(1)["routing"]["own_announced"])
        super().settled()

    def under_load(self, kinds):
        """`clients` keep-alive web clients (wrk) through one fault and heal of each kind."""
        moved = []

        def faults():
            for kind in kinds:
                self.settled()
                m = self.watch.mark()
                self.fault(kind, False)
                self.watch.wait(m, S2_PUBLIC, 10)
                m = self.watch.mark()
                self.fault(kind, True)
                self.watch.wait(m, S1_PUBLIC, 30)
                moved.append(kind)
            time.sleep(0.5)
        w = wrk_through(self.ns("c"), self.clients, f"http://{S1}:8080/", self.procs, faults)
        return {"wrk": w, "clients": self.clients, "faults": moved}


def run(hanet, faults, clients=400):
    """The routed phase of tools/bench.py: `faults` faults of each kind with
    the daemons, with BFD at 10 ms x 3 and without it; then wrk with
    `clients` connections through a fault of each kind."""
    res = {"faults": faults, "bird": sh("bird --version 2>&1").strip()}
    for bfd in (True, False):
        b = DaemonRoutingBench(hanet, faults, clients)
        try:
            b.up(bfd)
            key = "bfd_10ms_x3" if bfd else "hold_3s_no_bfd"
            res[key] = {k: b.faults(k) for k in ("carrier", "silent")}
            if bfd:
                res["load"] = b.under_load(["carrier", "silent"])
        finally:
            b.down()
    return res


def figures(res):
    """The figures of `run`'s results: the fault rows by detection and kind, and the web load's failures."""
    w = res["load"]["wrk"]
    return {"bfd": res["bfd_10ms_x3"], "nobfd": res["hold_3s_no_bfd"],
            "load": {"clients": res["load"]["clients"], "faults": len(res["load"]["faults"]),
                     "requests": w["requests"], "failed": sum(w["errors"].values()), "errors": w["errors"]}}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tries", type=int, default=10)
    ap.add_argument("--only", default="options,bfd,nobfd", help="comma-separated: options, bfd, nobfd")
    ap.add_argument("--daemon", metavar="HANET", help="the faults with HANet daemons (this hanet binary) on s1 and s2, "
                    "with and without BFD, and wrk through them; prints the figures of make bench's routed phase")
    a = ap.parse_args()
    if a.daemon:
        print(json.dumps(figures(run(a.daemon, a.tries)), indent=1))
        return
    only = a.only.split(",")
    res = {"tries": a.tries, "bird": sh("bird --version 2>&1").strip()}
    b = RoutingBench(a)
    try:
        if "options" in only or "bfd" in only:
            b.up(True)
            if "options" in only:
                res["configure"] = b.option_configure()
                res["enable_disable"] = b.option_enable()
                res["static_bfd"] = b.option_static_bfd()
                res["learn"] = b.option_learn()
            if "bfd" in only:
                res["bfd_10ms_x3"] = {k: b.faults(k) for k in ("carrier", "silent")}
            b.down()
        if "nobfd" in only:
            b.up(False)
            res["hold_3s_no_bfd"] = {k: b.faults(k) for k in ("carrier", "silent")}
            b.down()
    finally:
        b.down()
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
