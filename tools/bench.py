#!/usr/bin/env python3
"""HANet's benchmark: every comparison measured side by side in one run.

Builds the network of scripts/lib/net.sh plus a "direct" server (a plain NIC on
the same LAN bridge, no HANet) and measures, with the daemon given by --hanet:

  throughput   one iperf3 TCP stream to the master vs to the direct server
  rtt          ping RTT through the master vs direct
  failover     N carrier-loss failovers: the daemon's time from the kernel's
               link-down event to the new rules in place, the path outage a
               1 kHz UDP request/response probe sees, and the longest stall
               of a 1 kHz TCP request/response stream

Writes results.json (figures and raw samples) and report.md to --out, and
prints the report. Needs root.
"""
import argparse, json, os, platform, random, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
S1, DIRECT, CLIENT = "198.51.100.11", "198.51.100.21", "198.51.100.50"


def sh(cmd, check=True, capture=True):
    r = subprocess.run(["bash", "-c", cmd], cwd=ROOT, text=True,
                       stdout=subprocess.PIPE if capture else None, stderr=subprocess.STDOUT if capture else None)
    if check and r.returncode != 0:
        raise RuntimeError(f"`{cmd}` exited {r.returncode}: {r.stdout}")
    return r.stdout if capture else ""


def net(fn):
    return sh(f"source scripts/lib/net.sh && {fn}")


def wait_until(seconds, what, cond):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            if cond():
                return
        except Exception:
            pass
        time.sleep(0.02)
    raise RuntimeError(f"timed out waiting for {what}")


def stats(xs):
    xs = sorted(xs)
    if not xs:
        return {}
    q = lambda p: xs[min(len(xs) - 1, int(round(p * (len(xs) - 1))))]
    return {"n": len(xs), "median": statistics.median(xs), "p10": q(0.1), "p90": q(0.9),
            "min": xs[0], "max": xs[-1]}


class Bench:
    def __init__(self, args):
        self.a = args
        self.p = "hbench%d" % random.randrange(1 << 30)
        self.work = tempfile.mkdtemp(prefix="hanet-bench.")
        self.procs = []

    def ns(self, role):
        return f"{self.p}-{role}"

    def spawn(self, role, cmd, name):
        f = open(os.path.join(self.work, name + ".log"), "w")
        p = subprocess.Popen(["ip", "netns", "exec", self.ns(role)] + cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT)
        self.procs.append(p)
        return p

    def status(self, node="s1"):
        out = sh(f"{self.a.hanet} status --json --socket /run/hanet/{self.p}-{node}.sock")
        return json.loads(out)

    def probes(self, seconds):
        """Starts the 1 kHz UDP and TCP probes against s1; returns a function that collects their results."""
        ps = [subprocess.Popen(["ip", "netns", "exec", self.ns("client"), "python3", "tools/probe.py", kind,
                                "--to", S1, "--duration", str(seconds)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
              for kind in ("udp", "tcp")]
        return lambda: [json.loads(p.communicate()[0]) for p in ps]

    def up(self):
        net(f"net_up {self.p} pair")
        key = os.path.join(self.work, "pta.key")
        net(f"net_key {key}")
        sh(f"ip netns add {self.ns('direct')}")
        net(f"net_lan_port {self.p} {self.ns('direct')} eth0 de0")
        sh(f"ip -n {self.ns('direct')} addr add {DIRECT}/24 dev eth0")
        sh(f"ip -n {self.ns('direct')} link set lo up")
        for node in ("s2", "s1"):
            cfg = os.path.join(self.work, f"{node}.toml")
            net(f"net_config {self.p} {node} {cfg} {key}")
            self.spawn(node, [self.a.hanet, "run", "--config", cfg, "--socket", f"/run/hanet/{self.p}-{node}.sock",
                              "--plugins-dir", os.path.dirname(os.path.realpath(self.a.hanet))], f"daemon-{node}")
            wait_until(15, f"the daemon on {node}", lambda: self.status(node)["active"] in ("eth0", "eth1"))
        for role, addr in (("s1", S1), ("direct", DIRECT)):
            self.spawn(role, ["iperf3", "-s", "-B", addr], f"iperf3-{role}")
            self.spawn(role, ["python3", "tools/probe.py", "server", "--bind", addr], f"probe-{role}")
        for addr in (S1, DIRECT):
            wait_until(10, f"servers on {addr}", lambda: sh(
                f"ip netns exec {self.ns('client')} bash -c 'exec 3<>/dev/tcp/{addr}/9001'", check=False) == "")

    def down(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
        sh(f"source scripts/lib/net.sh && net_down {self.p}", check=False)

    def client(self, cmd):
        return sh(f"ip netns exec {self.ns('client')} {cmd}")

    def throughput(self, name="master"):
        out = {name: [], "direct": []}
        for _ in range(self.a.repeats):
            for n, addr in (("direct", DIRECT), (name, S1)):
                j = json.loads(self.client(f"iperf3 -c {addr} -t {self.a.seconds} -J"))
                out[n].append(j["end"]["sum_received"]["bits_per_second"])
        return out

    def rtt(self, name="master"):
        out = {name: [], "direct": []}
        for _ in range(self.a.repeats):
            for n, addr in (("direct", DIRECT), (name, S1)):
                txt = self.client(f"ping -q -c 200 -i 0.005 {addr}")
                line = [l for l in txt.splitlines() if "min/avg" in l][0]
                out[n].append(float(line.split("=")[1].split("/")[1]))
        return out

    def failovers(self):
        samples = []
        for i in range(self.a.failovers):
            st = self.status()
            victim = st["active"]
            collect = self.probes(2.5)
            time.sleep(1.0)  # the probes' baseline before the fault: part of the experiment's timeline
            net(f"net_carrier {self.p} s1 {victim} down")
            wait_until(5, "the failover", lambda: self.status()["active"] not in (victim, None))
            u, t = collect()
            sw = self.status()["last_switch"]
            net(f"net_carrier {self.p} s1 {victim} up")
            wait_until(5, "the slave to be GOOD again",
                       lambda: "GOOD" in [l for l in self.status()["links"] if l["interface"] == victim][0]["flags"])
            samples.append({"from": victim, "to": sw["to"], "trigger_to_rules_ms": sw["trigger_to_rules_us"] / 1000,
                            "trigger_to_done_ms": sw["trigger_to_done_us"] / 1000,
                            "udp_outage_ms": u["longest_gap_ms"], "udp_lost": u["lost"],
                            "tcp_stall_ms": t["longest_stall_ms"], "tcp_error": t["error"]})
            print(f"  failover {i + 1}/{self.a.failovers}: {victim} -> {sw['to']}: rules {samples[-1]['trigger_to_rules_ms']:.3f} ms, "
                  f"udp outage {u['longest_gap_ms']:.1f} ms, tcp stall {t['longest_stall_ms']:.1f} ms", flush=True)
        return samples

    def served(self):
        st = self.status()
        return st["active"] == "priv0" and (st["pta"].get("served_by") or {}).get("state") == "served"

    def takeovers(self):
        """With eth1 already dead, eth0's carrier fault leaves s1 only its private link: s2 takes over."""
        net(f"net_carrier {self.p} s1 eth1 down")
        wait_until(5, "eth1 BAD", lambda: "GOOD" not in [l for l in self.status()["links"] if l["interface"] == "eth1"][0]["flags"])
        samples = []
        for i in range(self.a.failovers):
            wait_until(5, "s1 on eth0", lambda: self.status()["active"] == "eth0" and not self.status("s2")["pta"]["serving"])
            collect = self.probes(2.5)
            time.sleep(1.0)  # probe baseline before the fault
            net(f"net_carrier {self.p} s1 eth0 down")
            wait_until(5, "s2 to carry s1's traffic", self.served)
            u, t = collect()
            s1, s2 = self.status(), self.status("s2")
            trigger = s1["last_switch"]["trigger_monotonic_ns"]
            takeover = (s2["pta"]["serving"][0]["since_monotonic_ns"] - trigger) / 1e6
            net(f"net_carrier {self.p} s1 eth0 up")
            samples.append({"takeover_ms": takeover, "switch_ms": s1["last_switch"]["trigger_to_rules_us"] / 1000,
                            "udp_outage_ms": u["longest_gap_ms"], "udp_lost": u["lost"],
                            "tcp_stall_ms": t["longest_stall_ms"], "tcp_error": t["error"]})
            print(f"  takeover {i + 1}/{self.a.failovers}: sibling serving {takeover:.3f} ms after the fault, "
                  f"udp outage {u['longest_gap_ms']:.1f} ms, tcp stall {t['longest_stall_ms']:.1f} ms", flush=True)
        wait_until(5, "failback", lambda: self.status()["active"] == "eth0" and not self.status("s2")["pta"]["serving"])
        net(f"net_carrier {self.p} s1 eth1 up")
        return samples

    def through_sibling(self):
        """Throughput and RTT while s2 carries s1's traffic over the private veth, vs the direct server."""
        net(f"net_carrier {self.p} s1 eth0 down")
        net(f"net_carrier {self.p} s1 eth1 down")
        wait_until(5, "s2 to carry s1's traffic", self.served)
        th, rtt = self.throughput("sibling"), self.rtt("sibling")
        net(f"net_carrier {self.p} s1 eth0 up")
        net(f"net_carrier {self.p} s1 eth1 up")
        wait_until(5, "failback", lambda: self.status()["active"] in ("eth0", "eth1") and not self.status("s2")["pta"]["serving"])
        return th, rtt


def report(res):
    th, rtt, fo = res["throughput"], res["rtt"], res["failover"]
    lines = ["# HANet benchmark", "",
             f"Machine: {res['machine']['cores']} cores, kernel {res['machine']['kernel']}, {res['machine']['build']} build; "
             f"{res['date']}.", "",
             "| figure | measured (median) | goal | paper |", "|---|---|---|---|"]
    r = res["figures"]
    lines += [
        f"| throughput through the master / direct | {r['throughput_ratio']:.3f} ({r['throughput_master_gbps']:.2f} vs {r['throughput_direct_gbps']:.2f} Gbit/s) | ≥ 0.95 | no visible overhead |",
        f"| ping RTT through the master / direct | {r['rtt_ratio']:.3f} ({r['rtt_master_ms']:.3f} vs {r['rtt_direct_ms']:.3f} ms) | — | — |",
        f"| carrier fault: kernel event → new rules (median of {r['failovers']}) | {r['switch_ms']['median']:.3f} ms (max {r['switch_ms']['max']:.3f}) | ≤ 5 ms | ≈ 50 ms detection + 0.66 ms |",
        f"| path outage seen by a 1 kHz UDP probe | {r['udp_outage_ms']['median']:.1f} ms (p90 {r['udp_outage_ms']['p90']:.1f}) | ≤ 50 ms | — |",
        f"| longest TCP request/response stall | {r['tcp_stall_ms']['median']:.1f} ms (p90 {r['tcp_stall_ms']['p90']:.1f}) | ≤ 250 ms | — |",
        f"| TCP errors or resets during failovers | {r['tcp_errors']} | 0 | — |",
        f"| **PTA**: fault → sibling serving (median of {r['takeovers']}) | {r['takeover_ms']['median']:.3f} ms (max {r['takeover_ms']['max']:.3f}) | ≤ 20 ms | Td + Tsrv + Tmid + Tsib |",
        f"| PTA: path outage seen by a 1 kHz UDP probe | {r['pta_udp_outage_ms']['median']:.1f} ms (p90 {r['pta_udp_outage_ms']['p90']:.1f}) | ≤ 100 ms | — |",
        f"| PTA: longest TCP request/response stall | {r['pta_tcp_stall_ms']['median']:.1f} ms (p90 {r['pta_tcp_stall_ms']['p90']:.1f}) | ≤ 300 ms | — |",
        f"| PTA: TCP errors or resets during takeovers | {r['pta_tcp_errors']} | 0 | — |",
        f"| throughput through the sibling / direct | {r['sibling_throughput_ratio']:.3f} ({r['throughput_sibling_gbps']:.2f} vs {r['throughput_direct2_gbps']:.2f} Gbit/s) | ≥ 0.9 | ≈ 0.99 (Fast Ethernet) |",
        f"| ping RTT through the sibling / direct | {r['sibling_rtt_ratio']:.3f} ({r['rtt_sibling_ms']:.3f} vs {r['rtt_direct2_ms']:.3f} ms) | — | ≈ 1.01 |",
    ]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hanet", default=os.path.join(ROOT, ".build/release/hanet"))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench/results"))
    ap.add_argument("--failovers", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=4)
    a = ap.parse_args()
    b = Bench(a)
    try:
        b.up()
        print("throughput …", flush=True)
        th = b.throughput()
        print("rtt …", flush=True)
        rtt = b.rtt()
        print(f"{a.failovers} carrier failovers …", flush=True)
        fo = b.failovers()
        print(f"{a.failovers} PTA takeovers …", flush=True)
        to = b.takeovers()
        print("through the sibling …", flush=True)
        sth, srtt = b.through_sibling()
    finally:
        b.down()
    med = statistics.median
    figures = {
        "throughput_master_gbps": med(th["master"]) / 1e9, "throughput_direct_gbps": med(th["direct"]) / 1e9,
        "throughput_ratio": med([m / d for m, d in zip(th["master"], th["direct"])]),
        "rtt_master_ms": med(rtt["master"]), "rtt_direct_ms": med(rtt["direct"]),
        "rtt_ratio": med([m / d for m, d in zip(rtt["master"], rtt["direct"])]),
        "failovers": len(fo),
        "switch_ms": stats([s["trigger_to_rules_ms"] for s in fo]),
        "switch_done_ms": stats([s["trigger_to_done_ms"] for s in fo]),
        "udp_outage_ms": stats([s["udp_outage_ms"] for s in fo]),
        "tcp_stall_ms": stats([s["tcp_stall_ms"] for s in fo]),
        "tcp_errors": sum(1 for s in fo if s["tcp_error"]),
        "takeovers": len(to),
        "takeover_ms": stats([s["takeover_ms"] for s in to]),
        "pta_switch_ms": stats([s["switch_ms"] for s in to]),
        "pta_udp_outage_ms": stats([s["udp_outage_ms"] for s in to]),
        "pta_tcp_stall_ms": stats([s["tcp_stall_ms"] for s in to]),
        "pta_tcp_errors": sum(1 for s in to if s["tcp_error"]),
        "throughput_sibling_gbps": med(sth["sibling"]) / 1e9, "throughput_direct2_gbps": med(sth["direct"]) / 1e9,
        "sibling_throughput_ratio": med([m / d for m, d in zip(sth["sibling"], sth["direct"])]),
        "rtt_sibling_ms": med(srtt["sibling"]), "rtt_direct2_ms": med(srtt["direct"]),
        "sibling_rtt_ratio": med([m / d for m, d in zip(srtt["sibling"], srtt["direct"])]),
    }
    res = {"date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
           "machine": {"cores": os.cpu_count(), "kernel": platform.release(),
                       "build": "release" if "/release/" in a.hanet else "debug"},
           "figures": figures, "throughput": th, "rtt": rtt, "failover": fo,
           "takeover": to, "sibling_throughput": sth, "sibling_rtt": srtt}
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(res, f, indent=2)
    md = report(res)
    with open(os.path.join(a.out, "report.md"), "w") as f:
        f.write(md)
    print()
    print(md)
    print(f"written: {a.out}/results.json, {a.out}/report.md")


if __name__ == "__main__":
    main()
