#!/usr/bin/env python3
"""The story of `make demo`, told live: web clients in the client namespace,
a line every 0.5 s with the request rate and who carries s1's traffic, the
faults (a public NIC, then every public NIC of s1), the switches, the heal;
then a one-screen summary and a plot. With --routed, the routed variant
(`make demo-routed`): s1 and s2 on two LANs behind a router running BIRD,
and the fault moves the router's route instead of ARP.

Runs in the root namespace: the load threads enter the client's namespace
with setns (per thread), and the faults are LAN bridge ports taken down with
one netlink request each, so every time here is on CLOCK_MONOTONIC, the clock
of the daemons' status timestamps. scripts/demo.sh builds the network first.
"""
import argparse, ctypes, http.client, json, os, subprocess, sys, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import LinkSwitch  # noqa: E402

BOLD, DIM, RED, GREEN, PURPLE, OFF = "\033[1m", "\033[2m", "\033[31m", "\033[32m", "\033[35m", "\033[0m"
SIZES = [100, 512, 4096, 16384, 65536]


class Load:
    """Keep-alive HTTP clients; every completed or failed request is timed."""

    def __init__(self, nsname, addr, clients):
        self.nsname, self.addr, self.clients = nsname, addr, clients
        self.done, self.failed = [], []
        self.first_error = None
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def worker(self, i):
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(f"/run/netns/{self.nsname}", os.O_RDONLY)
        if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET, this thread only
            raise OSError(ctypes.get_errno(), "setns")
        os.close(fd)
        conn, n = None, i
        while not self.stop.is_set():
            n += 1
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(self.addr, 8080, timeout=10)
                conn.request("GET", f"/f/{SIZES[n % len(SIZES)]}")
                r = conn.getresponse()
                r.read()
                ok = r.status == 200
                if not ok:
                    self.first_error = self.first_error or f"HTTP {r.status}"
            except (OSError, http.client.HTTPException) as e:
                ok, conn = False, None
                self.first_error = self.first_error or f"{type(e).__name__}: {e}"

            with self.lock:
                (self.done if ok else self.failed).append(time.monotonic())

    def start(self):
        for i in range(self.clients):
            threading.Thread(target=self.worker, args=(i,), daemon=True).start()


class Demo:
    #: The LAN bridge ports the faults take down, and the client's namespace role.
    ports = ["s1e0", "s1e1"]
    client = "client"

    def __init__(self, a):
        self.a = a
        self.lan = LinkSwitch(f"{a.prefix}-lan", self.ports)
        self.events = []
        self.t0 = time.monotonic()

    def status(self, node):
        out = subprocess.run([self.a.hanet, "status", "--json", "--socket", f"/run/hanet/{self.a.prefix}-{node}.sock"],
                             capture_output=True, text=True)
        return json.loads(out.stdout) if out.returncode == 0 else None

    def carrier(self):
        s1, s2 = self.status("s1"), self.status("s2")
        if not s1:
            return "?"
        if s1["active"] in ("eth0", "eth1"):
            return f"{GREEN}s1 itself, on {s1['active']}{OFF}"
        by = (s1["pta"].get("served_by") or {}).get("state")
        if s1["active"] == "priv0" and s2 and s2["pta"]["serving"]:
            return f"{PURPLE}s2, for s1 (PTA: s1 → priv0 → s2 → LAN){OFF}"
        return f"s1 on {s1['active']}, PTA {by or 'idle'}"

    def say(self, color, text):
        print(f"{BOLD}{color}{time.monotonic() - self.t0:6.2f} s  {text}{OFF}", flush=True)

    def mark(self, t, what):
        self.events.append({"t_s": round(t - self.t0, 4), "what": what})

    def wait(self, what, cond, limit=5.0):
        end = time.monotonic() + limit
        while time.monotonic() < end:
            v = cond()
            if v:
                return v
            time.sleep(0.01)
        raise RuntimeError(f"timed out waiting for {what}")

    def reporter(self, load):
        i, last = 1, 0
        while not load.stop.is_set():
            # Pacing of the printout, not a wait for a condition.
            time.sleep(max(0.0, self.t0 + i * 0.5 - time.monotonic()))
            with load.lock:
                n, f = len(load.done), len(load.failed)
            print(f"{DIM}{time.monotonic() - self.t0:6.2f} s{OFF}  {(n - last) * 2:6d} req/s   failed {f}   "
                  f"carried by: {self.carrier()}", flush=True)
            last, i = n, i + 1

    def begin(self):
        """The web clients and the line every 0.5 s start; time 0 of the demo's script."""
        load = Load(f"{self.a.prefix}-{self.client}", self.a.addr, self.a.clients)
        load.start()
        self.t0 = time.monotonic()
        threading.Thread(target=self.reporter, args=(load,), daemon=True).start()
        return load

    def at(self, s):
        """Waits until `s` seconds into the demo's script."""
        time.sleep(max(0.0, self.t0 + s - time.monotonic()))

    def end(self, load):
        """Stops the clients; returns the completed and failed requests' times and the longest
        pause between answers in a window of the script (seconds from, to)."""
        load.stop.set()
        time.sleep(0.6)  # let the reporter print its last line and the workers finish their request
        with load.lock:
            done, failed = sorted(load.done), list(load.failed)
        gaps = sorted(((b - a, a) for a, b in zip(done, done[1:])), reverse=True)
        longest = lambda lo, hi: max([g for g, at in gaps if lo <= at - self.t0 < hi] or [0])
        return done, failed, longest

    def summary_head(self, load, done, failed):
        secs = done[-1] - done[0] if len(done) > 1 else 1
        print()
        print(f"{BOLD}== Summary{OFF}")
        print(f"  {self.a.clients} keep-alive web clients sent {len(done)} requests in {secs:.1f} s "
              f"({len(done) / secs:.0f}/s): {BOLD}{len(failed)} failed{OFF}."
              + (f" First failure: {load.first_error}" if failed else ""))

    def run(self):
        a = self.a
        load = self.begin()
        at = self.at

        at(3)
        first = self.status("s1")["active"]
        other = "eth1" if first == "eth0" else "eth0"
        t = self.lan.set(f"s1e{first[3:]}", False)
        self.mark(t, f"fault: {first}")
        self.say(RED, f"FAULT: s1's active NIC {first} loses its carrier")
        sw = self.wait("the switch", lambda: (lambda s: s if s and s["active"] == other else None)(self.status("s1")))["last_switch"]
        rules = sw["trigger_monotonic_ns"] / 1e9 + sw["trigger_to_rules_us"] / 1e6
        self.mark(rules, f"switch to {other}")
        self.say(GREEN, f"SWITCH: s1 moved to {other}: rules in place {(rules - t) * 1000:.2f} ms after the fault")
        fo_ms = (rules - t) * 1000

        at(8)
        t = self.lan.set(f"s1e{other[3:]}", False)
        self.mark(t, f"fault: {other}")
        self.say(RED, f"FAULT: {other} too: s1 has no public link left, only its private link priv0 to s2")
        svc = self.wait("s2's takeover", lambda: (lambda s: s["pta"]["serving"] if s else None)(self.status("s2")))[0]
        pta_ms = (svc["since_monotonic_ns"] / 1e9 - t) * 1000
        self.mark(svc["since_monotonic_ns"] / 1e9, "s2 serves s1 (PTA)")
        self.say(PURPLE, f"TAKEOVER: s2 carries s1's traffic {pta_ms:.2f} ms after the fault "
                         f"(proxy ARP, a route over priv0, gratuitous ARP on the LAN)")

        at(13)
        t = self.lan.set(f"s1e{first[3:]}", True)
        self.lan.set(f"s1e{other[3:]}", True)
        self.mark(t, "heal")
        self.say(GREEN, "HEAL: both carriers are back")
        self.wait("failback", lambda: (lambda s: s and s["active"] in ("eth0", "eth1"))(self.status("s1")))
        sw = self.status("s1")["last_switch"]
        rules = sw["trigger_monotonic_ns"] / 1e9 + sw["trigger_to_rules_us"] / 1e6
        self.mark(rules, f"failback to {sw['to']}")
        self.say(GREEN, f"FAILBACK: s1 carries its own traffic again on {sw['to']}; s2 released it")

        at(16)
        done, failed, longest = self.end(load)
        res = {"clients": a.clients, "requests": len(done), "failed": len(failed), "events": self.events,
               "public_failover_ms": fo_ms, "pta_takeover_ms": pta_ms,
               "pause_public_ms": longest(3, 8) * 1000, "pause_pta_ms": longest(8, 13) * 1000,
               "pause_heal_ms": longest(13, 16) * 1000,
               "bins_s": 0.1, "rate": self.bins(done, 0.1)}
        self.summary_head(load, done, failed)
        print(f"  public NIC fault   → s1 on its other NIC      : rules in place {fo_ms:7.2f} ms after the fault; "
              f"longest pause between answers {res['pause_public_ms']:.0f} ms")
        print(f"  all public NICs cut → s2 carries s1 (PTA)      : sibling serving {pta_ms:7.2f} ms after the fault; "
              f"longest pause {res['pause_pta_ms']:.0f} ms")
        print(f"  heal                → s1 back on a public NIC  : longest pause {res['pause_heal_ms']:.0f} ms")
        print("  (a pause near 200 ms is TCP's minimum retransmission timeout for a segment lost in the fault)")
        with open(os.path.join(a.out, "demo.json"), "w") as f:
            json.dump(res, f, indent=1)
        try:
            import bench_plots
            path = os.path.join(a.out, "demo.png")
            bench_plots.demo(res, path)
            print(f"  plot: {os.path.abspath(path)}")
        except ImportError as e:
            print(f"  no plot ({e}); install python3-matplotlib (make deps)")
        return 0 if not failed else 1

    def bins(self, times, width):
        n = int(16 / width) + 1
        out = [0] * n
        for t in times:
            i = int((t - self.t0) / width)
            if 0 <= i < n:
                out[i] += 1
        return [c / width for c in out]


class RoutedDemo(Demo):
    """s1 on LAN A, s2 on LAN B, a router running BIRD with BGP and BFD to
    both; the client is behind the router. s1's only public NIC fails and
    heals; the line shows the router's route to s1's address."""

    ports = ["s1e0"]
    client = "c"

    def route(self):
        out = subprocess.run(["ip", "-n", f"{self.a.prefix}-r", "-4", "route", "show", f"{self.a.addr}/32"],
                             capture_output=True, text=True).stdout
        via = out.split(" via ")[1].split()[0] if " via " in out else None
        return {"192.0.2.10": "s1", "192.0.2.74": "s2"}.get(via, via or "none")

    def carrier(self):
        s1 = self.status("s1")
        r = self.route()
        announced = s1 and s1["routing"]["own_announced"]
        own = f"s1 {'announces' if announced else 'has withdrawn'} {self.a.addr}"
        if r == "s1":
            return f"{GREEN}router → s1 directly (LAN A){OFF}   {DIM}{own}{OFF}"
        if r == "s2":
            return f"{PURPLE}router → s2 (LAN B) → private link → s1{OFF}   {DIM}{own}{OFF}"
        return f"router: {r}   {own}"

    def run(self):
        a = self.a
        load = self.begin()
        at = self.at

        at(3)
        t = self.lan.set("s1e0", False)
        self.mark(t, "fault: eth0")
        self.say(RED, "FAULT: s1's only public NIC eth0 loses its carrier")
        self.wait("the withdrawal", lambda: not self.status("s1")["routing"]["own_announced"])
        self.wait("the router's route via s2", lambda: self.route() == "s2")
        moved_ms = (time.monotonic() - t) * 1000
        self.mark(time.monotonic(), "router via s2")
        self.say(PURPLE, f"REROUTE: s1 withdrew {a.addr} (master now on its private link); the router's BFD "
                         f"dropped s1's session and routes via s2, seen {moved_ms:.0f} ms after the fault")

        at(9)
        t = self.lan.set("s1e0", True)
        self.mark(t, "heal")
        self.say(GREEN, "HEAL: eth0's carrier is back")
        self.wait("the route back at s1", lambda: self.route() == "s1", limit=15)
        back_ms = (time.monotonic() - t) * 1000
        self.mark(time.monotonic(), "router via s1")
        self.say(GREEN, f"BACK: s1 announces again; the router routes to s1 directly {back_ms:.0f} ms after the heal "
                        "(its BGP session had to come back)")

        at(max(14, time.monotonic() - self.t0 + 1))
        done, failed, longest = self.end(load)
        res = {"clients": a.clients, "requests": len(done), "failed": len(failed), "events": self.events,
               "reroute_ms": moved_ms, "back_ms": back_ms,
               "pause_fault_ms": longest(3, 9) * 1000, "pause_heal_ms": longest(9, 14) * 1000}
        self.summary_head(load, done, failed)
        print(f"  s1's public NIC fails → the router routes via s2 : {moved_ms:7.0f} ms after the fault; "
              f"longest pause between answers {res['pause_fault_ms']:.0f} ms")
        print(f"  heal                  → the router routes via s1 : {back_ms:7.0f} ms after the heal; "
              f"longest pause {res['pause_heal_ms']:.0f} ms")
        with open(os.path.join(a.out, "demo-routed.json"), "w") as f:
            json.dump(res, f, indent=1)
        return 0 if not failed else 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--prefix", required=True, help="the namespaces' prefix (scripts/lib/net.sh)")
    p.add_argument("--hanet", required=True)
    p.add_argument("--addr", default="198.51.100.11")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--out", default="bench/results")
    p.add_argument("--routed", action="store_true", help="the routed variant: servers on two LANs behind a BIRD router")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    sys.exit((RoutedDemo if a.routed else Demo)(a).run())


if __name__ == "__main__":
    main()
