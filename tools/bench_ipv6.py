#!/usr/bin/env python3
"""The IPv6 phase of `make bench`: tools/bench.py's two servers on a dual-stack
LAN (scripts/lib/net.sh: net_ipv6, net_config_ipv6), the daemons with
198.51.100.11/24 and 2001:db8::11/64 on s1's master (and both carried by s2),
and the same faults as the IPv4 phases, measured over each family in turn:

  failover   --faults pairs of carrier faults of s1's active public NIC, one with
             the 1 kHz UDP and TCP probes to s1's IPv4 address and the next to
             its IPv6 address: kernel event -> rules, and the UDP outage
  takeover   --faults pairs of faults that leave s1 only its private link, the
             probes alternated the same way: fault -> s2 serving, the UDP outage
  load       --clients wrk connections over IPv6 to nginx on [2001:db8::11]:8080
             through --load-faults carrier failovers and as many takeovers:
             every failed request counted

Alternating the families fault by fault puts drift in the machine's load on
both alike, so the IPv6 figures are judged against the IPv4 ones of the same
run. Run by tools/bench.py; alone:
`tools/bench_ipv6.py --hanet .build/release/hanet` prints the report rows and
writes the samples and figures as JSON to --out. Needs root.
"""
import argparse, json, os, subprocess, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import ROOT, S1, S1_6, Bench, judged, sh, stats, url, wait_until

FAMILIES = (("ipv4", S1), ("ipv6", S1_6))


class DualStackBench(Bench):
    ipv6 = True

    def up(self):
        self.network(direct=False)
        self.start_daemons()
        # s1 offers s2 its IPv6 addresses only once s2's messages said it speaks IPv6 (docs/ipv6.md).
        wait_until(10, "s1 to hear s2 ready", lambda: [s["ready"] for s in self.status()["siblings"]] == [True])
        for addr in (S1, S1_6):
            self.spawn("s1", ["python3", "tools/probe.py", "server", "--bind", addr], f"probe-{addr}")
        d = os.path.join(self.work, "www-s1")
        os.makedirs(d)
        self.procs.append(subprocess.Popen(["bash", "-c", f"source scripts/lib/net.sh && net_nginx {self.ns('s1')} [{S1_6}] {d}"],
                                           cwd=ROOT, stdout=subprocess.DEVNULL,
                                           stderr=open(os.path.join(self.work, "nginx-s1.log"), "w")))
        for addr in (S1, S1_6):
            wait_until(10, f"the probe server on {addr}", lambda: sh(
                f"ip netns exec {self.ns('client')} bash -c 'exec 3<>/dev/tcp/{addr}/9001'", check=False) == "")
        wait_until(10, "nginx on the IPv6 service address",
                   lambda: self.client(f"curl -gsf -o /dev/null {url(S1_6, '/hello')}") == "")

    def alternated(self, n, kind, sample):
        """n pairs of `sample(what, address)`, IPv4 then IPv6; returns the samples by family."""
        out = {fam: [] for fam, _ in FAMILIES}
        for i in range(n):
            for fam, addr in FAMILIES:
                out[fam].append(sample(f"{kind} {i + 1}/{n} over {fam}", addr))
        return out


def run(hanet, faults, clients, load_faults, prefix="hbenchv6"):
    """Both kinds of fault over both families, and the web load over IPv6, on a network of their own, torn down after."""
    b = DualStackBench(argparse.Namespace(hanet=hanet, load_clients=clients, load_faults=load_faults), prefix)
    try:
        b.up()
        return {"failover": b.alternated(faults, "failover", b.failover_probed),
                "takeover": b.eth1_down(lambda: b.alternated(faults, "takeover", b.takeover_probed)),
                "fault_load": b.fault_load(S1_6)}
    finally:
        b.down()


def figures(res):
    col = lambda xs, k: stats([x[k] for x in xs])
    fl = res["fault_load"]
    return {
        "failover": {fam: {k: col(res["failover"][fam], k) for k in ("trigger_to_rules_ms", "udp_outage_ms", "tcp_stall_ms")}
                     for fam, _ in FAMILIES},
        "takeover": {fam: {k: col(res["takeover"][fam], k) for k in ("takeover_ms", "udp_outage_ms", "tcp_stall_ms")}
                     for fam, _ in FAMILIES},
        "fault_load": {"clients": fl["clients"], "requests": fl["wrk"]["requests"], "failed": sum(fl["wrk"]["errors"].values()),
                       "errors": fl["wrk"]["errors"],
                       "carrier_faults": sum(1 for e in fl["faults"] if e["kind"] == "carrier"),
                       "takeovers": sum(1 for e in fl["faults"] if e["kind"] == "takeover")},
    }


# Each IPv6 figure beside the IPv4 one of the same run: "equal within noise" is judged as the IPv6 median at
# most the IPv4 samples' p90 (a typical IPv6 fault is no slower than nine in ten IPv4 ones); IPv6 faster is fine.
NOISE_GOALS = {"ipv6_switch_vs_ipv4": ("failover", "trigger_to_rules_ms"),
               "ipv6_udp_outage_vs_ipv4": ("failover", "udp_outage_ms"),
               "ipv6_takeover_outage_vs_ipv4": ("takeover", "udp_outage_ms")}


def goals(f):
    """The IPv6 phase's goals, from its figures (bench.figures merges them into the run's)."""
    g = {k: (f[kind]["ipv6"][m]["median"], f[kind]["ipv4"][m]["p90"], "le") for k, (kind, m) in NOISE_GOALS.items()}
    g.update({"ipv6_udp_outage_ms": (f["failover"]["ipv6"]["udp_outage_ms"]["median"], 10.0, "le"),
              "ipv6_takeover_outage_ms": (f["takeover"]["ipv6"]["udp_outage_ms"]["median"], 20.0, "le"),
              "ipv6_failed_requests": (f["fault_load"]["failed"], 0, "le")})
    return g


def rows(f, goals, ok):
    """The headline rows: each IPv6 figure, the IPv4 one beside it, and the goals."""
    s = lambda st, fmt: (fmt.format(st["median"]) + " (" + fmt.format(st["p10"]) + "–" + fmt.format(st["p90"]) + ")")
    beside = lambda kind, m, fmt="{:.3f}": (f"IPv6 {s(f[kind]['ipv6'][m], fmt)} ms vs IPv4 {s(f[kind]['ipv4'][m], fmt)} ms "
                                            f"(n = {f[kind]['ipv6'][m]['n']} each)")
    L = f["fault_load"]
    return [
        f"| **IPv6 beside IPv4**, dual-stack servers, faults alternated between the families: carrier fault → new rules "
        f"(kernel event → rules) | {beside('failover', 'trigger_to_rules_ms')} | IPv6 ≤ IPv4's p90 | — | {ok(goals['ipv6_switch_vs_ipv4'])} |",
        f"| IPv6: public failover, path outage (1 kHz UDP probe over IPv6) | {beside('failover', 'udp_outage_ms', '{:.1f}')} | ≤ 10 ms, "
        f"and ≤ IPv4's p90 | — | {ok(goals['ipv6_udp_outage_ms'])} {ok(goals['ipv6_udp_outage_vs_ipv4'])} |",
        f"| IPv6: PTA takeover, path outage | {beside('takeover', 'udp_outage_ms', '{:.1f}')} | ≤ 20 ms, and ≤ IPv4's p90 | — | "
        f"{ok(goals['ipv6_takeover_outage_ms'])} {ok(goals['ipv6_takeover_outage_vs_ipv4'])} |",
        f"| IPv6: PTA takeover, fault → sibling serving | {beside('takeover', 'takeover_ms')} | — | — | |",
        f"| IPv6: failed requests, {L['clients']} keep-alive clients (wrk) to nginx on the IPv6 service address through "
        f"{L['carrier_faults']} failovers and {L['takeovers']} takeovers | {L['failed']} of {L['requests']} | 0 | — | "
        f"{ok(goals['ipv6_failed_requests'])} |",
    ]


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hanet", default=os.path.join(ROOT, ".build/release/hanet"))
    ap.add_argument("--faults", type=int, default=10, help="pairs of faults (IPv4, IPv6) of each kind (default 10)")
    ap.add_argument("--clients", type=int, default=400)
    ap.add_argument("--load-faults", type=int, default=5, help="carrier failovers and takeovers under web load, each")
    ap.add_argument("--prefix", default="hbenchv6", help="of the namespaces' names (default hbenchv6)")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench/results/ipv6.json"))
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("tools/bench_ipv6.py needs root (network namespaces)")
    res = run(a.hanet, a.faults, a.clients, a.load_faults, a.prefix)
    f = figures(res)
    g = goals(f)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as fh:
        json.dump({"samples": res, "figures": f, "goals": g}, fh, indent=1)
    print("\n".join(["| figure | measured | goal | paper | |", "|---|---|---|---|---|"] + rows(f, g, judged)))
    print(f"written: {a.out}")
