#!/usr/bin/env python3
"""The several-siblings phase of `make bench`: three servers on the LAN, s1
with private links to s2 (preference 10) and to s3, a 1 kHz UDP probe from
the client to s1. Two kinds of fault, each --faults times:

  dark       s2 has lost its public links (it says it cannot carry); s1's
             last public link fails: fault -> s3 serving s1, and the probe's outage
  carrier    s2 carries s1; s2's public links fail: fault -> s3 serving s1,
             and the probe's outage

Every time is on CLOCK_MONOTONIC, the clock of the daemons' status. Run by
tools/bench.py; alone: `tools/bench_siblings.py --hanet .build/release/hanet`
prints the figures as JSON. Needs root.
"""
import argparse, json, os, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import ROOT, S1, Bench, LinkSwitch, net, sh, stats, wait_until

S3 = "198.51.100.13"


class SiblingBench(Bench):
    def up(self):
        net(f"net_up {self.p} pair")
        net(f"net_server {self.p} s3")
        sh(f"ip link add priv1 netns {self.ns('s1')} type veth peer name priv1 netns {self.ns('s3')}")
        for node in ("s1", "s3"):
            sh(f"ip -n {self.ns(node)} link set priv1 up")
        key = os.path.join(self.work, "pta.key")
        net(f"net_key {key}")
        self.lan = LinkSwitch(self.ns("lan"), ["s1e0", "s1e1", "s2e0", "s2e1", "s3e0", "s3e1"])

        def link(ifname, sibling, mine):
            return (f'\n[[link]]\ninterface = "{ifname}"\ntype = "ethernet"\nrole = "private"\nsibling = "{sibling}"\n'
                    f'address = "{mine}/30"\ndetectors = ["carrier"]\n')

        def sibling(name, address, owns):
            return f'\n[[sibling]]\nname = "{name}"\naddress = "{address}"\nkey_file = "{key}"\naddresses = ["{owns}/32"]\n'

        extra = {
            "s1": link("priv1", "s3", "169.254.78.1") + sibling("s3", "169.254.78.2", S3),
            "s2": "",
            "s3": link("priv1", "s1", "169.254.78.2") + sibling("s1", "169.254.78.1", S1),
        }
        for node in ("s2", "s3", "s1"):
            cfg = os.path.join(self.work, f"{node}.toml")
            net(f"net_config {self.p} {node} {cfg} {key if node != 's3' else ''}")
            text = open(cfg).read().replace('name = "s2"\n', 'name = "s2"\npreference = 10\n' if node == "s1" else 'name = "s2"\n')
            with open(cfg, "w") as f:
                f.write(text + extra[node])
            self.spawn(node, [self.a.hanet, "run", "--config", cfg, "--socket", f"/run/hanet/{self.p}-{node}.sock",
                              "--plugins-dir", os.path.dirname(os.path.realpath(self.a.hanet))], f"daemon-{node}")
            wait_until(15, f"the daemon on {node}", lambda: self.status(node)["active"] in ("eth0", "eth1"))
        self.spawn("s1", ["python3", "tools/probe.py", "server", "--bind", S1], "probe-s1")
        wait_until(10, "s1 to hear s2 and s3", lambda: sorted(
            s["name"] for s in self.status()["siblings"] if s["ready"]) == ["s2", "s3"])

    def readiness(self, sibling):
        return [s for s in self.status()["siblings"] if s["name"] == sibling][0]["readiness"]

    def served_by(self, sibling):
        st, carrier = self.status(), self.status(sibling)
        by = st["pta"].get("served_by") or {}
        return by.get("sibling") == sibling and by.get("state") == "served" and \
            [s["sibling"] for s in carrier["pta"]["serving"]] == ["s1"]

    def serving_since(self, sibling):
        return self.status(sibling)["pta"]["serving"][0]["since_monotonic_ns"] / 1e6

    def set_public(self, node, up):
        """Both public links of `node`; returns the instant of the last one (the fault)."""
        t = self.link(node, "eth0", up)
        return max(t, self.link(node, "eth1", up))

    def heal(self):
        self.set_public("s2", True)
        self.link("s1", "eth0", True)
        wait_until(5, "s1 back on eth0 and nobody serving", lambda: self.status()["active"] == "eth0"
                   and not self.status("s2")["pta"]["serving"] and not self.status("s3")["pta"]["serving"])
        wait_until(5, "s2 ready again", lambda: self.readiness("s2") == "ready")

    def dark(self, faults):
        out = []
        self.link("s1", "eth1", False)
        for i in range(faults):
            self.set_public("s2", False)
            wait_until(5, "s2 unable", lambda: self.readiness("s2") == "unable")
            out.append(self.fault_to_s3(lambda: self.link("s1", "eth0", False), f"dark preferred {i + 1}/{faults}"))
        return out

    def fault_to_s3(self, fault, what):
        """Probes, `fault` after a baseline, until s3 serves s1; then heals. Returns the sample."""
        collect = self.probes(2.0)
        time.sleep(0.7)  # probe baseline before the fault
        t = fault()
        wait_until(5, "s3 to carry s1", lambda: self.served_by("s3"))
        s = {"fault_to_serving_ms": self.serving_since("s3") - t * 1000}
        u, _ = collect()
        s["udp_outage_ms"] = u["longest_gap_ms"]
        print(f"  {what}: fault -> s3 serving {s['fault_to_serving_ms']:.3f} ms, udp outage {s['udp_outage_ms']:.1f} ms", flush=True)
        self.heal()
        return s

    def carrier(self, faults):
        out = []
        for i in range(faults):
            self.link("s1", "eth0", False)
            wait_until(5, "s2 to carry s1", lambda: self.served_by("s2"))
            out.append(self.fault_to_s3(lambda: self.set_public("s2", False), f"carrier's fault {i + 1}/{faults}"))
        return out

    def probes(self, seconds):
        p = subprocess.Popen(["ip", "netns", "exec", self.ns("client"), "python3", "tools/probe.py", "udp",
                              "--to", S1, "--duration", str(seconds)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        return lambda: (json.loads(p.communicate()[0]), None)


def run(hanet, faults):
    """Both kinds of fault on a network of their own, torn down after."""
    b = SiblingBench(argparse.Namespace(hanet=hanet))
    try:
        b.up()
        return {"dark": b.dark(faults), "carrier": b.carrier(faults)}
    finally:
        b.down()


def figures(res):
    col = lambda xs, k: stats([x[k] for x in xs])
    return {kind: {k: col(res[kind], k) for k in ("fault_to_serving_ms", "udp_outage_ms")} for kind in ("dark", "carrier")}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hanet", default=os.path.join(ROOT, ".build/release/hanet"))
    ap.add_argument("--faults", type=int, default=20)
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("tools/bench_siblings.py needs root (network namespaces)")
    print(json.dumps(figures(run(a.hanet, a.faults)), indent=1))
