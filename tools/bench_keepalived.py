#!/usr/bin/env python3
"""The keepalived phase of `make bench`: the peer a user would run instead,
on the same two servers, the same LAN and the same fault as HANet's PTA
takeover (s1's NIC loses carrier), side by side in the same run.

keepalived (Debian's package) runs VRRPv3 on each server's eth0 with
50 ms adverts (its fastest sane interval here), s1 MASTER and s2 BACKUP,
and moves the service address 198.51.100.11 between them. nginx and the
probes' echo listen on that address on both servers (ip_nonlocal_bind).

What it promises, and what it does not: keepalived moves the *address*. A
new connection reaches whichever server holds it, but a connection open to
s1 when s1's NIC fails meets s2, which has no such socket, and is reset.
HANet moves the *path*: the connection stays on s1.

Per fault: the 1 kHz UDP probe's outage and whether the 1 kHz TCP stream
broke; then 400 wrk connections through --load-faults faults: failed
requests. Run by tools/bench.py; alone:
`tools/bench_keepalived.py --faults 5` prints the figures as JSON. Needs root.
"""
import argparse, json, os, signal, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import ROOT, S1, Bench, LinkSwitch, net, sh, stats, wait_until, wrk_through

ADVERT_S = 0.05
OWN = {"s1": "198.51.100.31", "s2": "198.51.100.32"}


class KeepalivedBench(Bench):
    def up(self):
        net(f"net_up {self.p} pair")
        self.lan = LinkSwitch(self.ns("lan"), ["s1e0", "s1e1", "s2e0", "s2e1"])
        for node, prio, state in (("s1", 150, "MASTER"), ("s2", 100, "BACKUP")):
            ns = self.ns(node)
            sh(f"ip -n {ns} link set eth1 down")
            sh(f"ip -n {ns} addr add {OWN[node]}/24 dev eth0")
            sh(f"ip netns exec {ns} sysctl -qw net.ipv4.ip_nonlocal_bind=1")
            d = os.path.join(self.work, f"keepalived-{node}")
            os.makedirs(d)
            conf = os.path.join(d, "keepalived.conf")
            with open(conf, "w") as f:
                f.write(f"""global_defs {{
    router_id {self.p}-{node}
    vrrp_version 3
    vrrp_garp_master_delay 0
    vrrp_garp_master_repeat 3
}}
vrrp_instance hanet_bench {{
    state {state}
    interface eth0
    virtual_router_id 51
    priority {prio}
    advert_int {ADVERT_S}
    virtual_ipaddress {{
        {S1}/24 dev eth0
    }}
}}
""")
            self.spawn(node, ["keepalived", "--dont-fork", "--log-console", "--vrrp", "-f", conf,
                              "-p", os.path.join(d, "keepalived.pid"), "-r", os.path.join(d, "vrrp.pid")], f"keepalived-{node}")
            www = os.path.join(self.work, f"www-{node}")
            os.makedirs(www)
            os.chmod(self.work, 0o755)
            p = subprocess.Popen(["bash", "-c", f"source scripts/lib/net.sh && net_nginx {ns} {S1} {www}"], cwd=ROOT,
                                 stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.work, f"nginx-{node}.log"), "w"))
            self.procs.append(p)
            self.spawn(node, ["python3", "tools/probe.py", "server", "--bind", S1], f"probe-{node}")
        wait_until(10, "keepalived to give s1 the address", lambda: self.holder() == "s1")
        wait_until(10, "nginx behind the address", lambda: sh(
            f"ip netns exec {self.ns('client')} curl -sf -o /dev/null --max-time 1 http://{S1}:8080/hello", check=False) == "")

    def down(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
        super().down()

    def holder(self):
        for node in ("s1", "s2"):
            if f"{S1}/" in sh(f"ip -n {self.ns(node)} -4 addr show dev eth0", check=False):
                return node
        return None

    def probes(self, seconds):
        ps = [subprocess.Popen(["ip", "netns", "exec", self.ns("client"), "python3", "tools/probe.py", kind,
                                "--to", S1, "--duration", str(seconds)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
              for kind in ("udp", "tcp")]
        return lambda: [json.loads(p.communicate()[0]) for p in ps]

    def fault(self):
        """s1's NIC loses carrier; returns when s2 holds the address."""
        self.link("s1", "eth0", False)
        wait_until(5, "s2 to take the address", lambda: self.holder() == "s2")

    def heal(self):
        self.link("s1", "eth0", True)
        wait_until(10, "s1 to take the address back", lambda: self.holder() == "s1")
        wait_until(10, "the path back to s1", lambda: sh(
            f"ip netns exec {self.ns('client')} curl -sf -o /dev/null --max-time 1 http://{S1}:8080/hello", check=False) == "")

    def faults(self, n):
        out = []
        for i in range(n):
            collect = self.probes(2.5)
            time.sleep(0.7)  # probe baseline before the fault
            self.fault()
            u, t = collect()
            s = {"udp_outage_ms": u["longest_gap_ms"], "tcp_broken": bool(t["error"]), "tcp_error": t["error"]}
            out.append(s)
            print(f"  keepalived fault {i + 1}/{n}: udp outage {s['udp_outage_ms']:.1f} ms, tcp "
                  f"{'broken: ' + str(t['error']) if t['error'] else 'kept'}", flush=True)
            self.heal()
        return out

    def load(self, clients, faults):
        def run():
            for _ in range(faults):
                self.fault()
                time.sleep(0.3)  # spacing between faults, as in HANet's fault-load phase
                self.heal()
                time.sleep(0.3)
        j = wrk_through(self.ns("client"), clients, f"http://{S1}:8080/", self.procs, run)
        return {"clients": clients, "faults": faults, "requests": j["requests"], "errors": j["errors"],
                "failed": sum(j["errors"].values())}


def run(hanet, faults, clients, load_faults):
    b = KeepalivedBench(argparse.Namespace(hanet=hanet))
    try:
        b.up()
        return {"advert_ms": ADVERT_S * 1000, "faults": b.faults(faults), "load": b.load(clients, load_faults)}
    finally:
        b.down()


def figures(res):
    f = res["faults"]
    return {"udp_outage_ms": stats([x["udp_outage_ms"] for x in f]), "n": len(f),
            "tcp_broken": sum(1 for x in f if x["tcp_broken"]), "load": res["load"], "advert_ms": res["advert_ms"]}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--faults", type=int, default=20)
    ap.add_argument("--clients", type=int, default=400)
    ap.add_argument("--load-faults", type=int, default=5)
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("tools/bench_keepalived.py needs root (network namespaces)")
    print(json.dumps(figures(run(None, a.faults, a.clients, a.load_faults)), indent=1))
