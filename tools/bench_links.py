#!/usr/bin/env python3
"""Benchmark of the non-Ethernet private links (issue 7), each with s1's public
NICs down so that the client reaches s1 only through s2 over that link:

  ppp      HANet's user-space PPP on an unthrottled pty pair (socat): bulk TCP
           throughput client -> s1 (iperf3, one stream), the CPU the two
           daemons (framing, TUN pump) and socat (the "wire") spend per Mbit/s,
           and ping RTT through the sibling vs through s1's own NIC.
           Goal: >= 100 Mbit/s, so the framer never limits a real serial line
           or USB 1.1.
  usbnet   a private veth shaped to 12 Mbit/s by tbf and claimed as usbnet
           through the udev_properties override: throughput / 12 Mbit/s (goal
           >= 0.9) and RTT through the sibling vs through the NIC.

Uses scripts/lib/net.sh; needs root, iperf3, socat. Writes results.json and
report.md to --out and prints the report.
"""
import argparse, json, os, shutil, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import ROOT, S1, net, sh, wait_until  # noqa: E402  (the shared helpers)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Bench:
    def __init__(self, hanet, work):
        # The daemon refuses a plugins directory reached through a symlink (SwiftPM's .build/debug is one).
        self.hanet, self.work = os.path.realpath(hanet), work
        self.plugins = os.path.dirname(self.hanet)
        self.prefix = "hbl" + os.urandom(3).hex()
        self.procs = []

    def ns(self, role):
        return f"{self.prefix}-{role}"

    def exec(self, role, cmd, check=True):
        return sh(f"ip netns exec {self.ns(role)} {cmd}", check)

    def spawn(self, args, name):
        out = open(os.path.join(self.work, name + ".log"), "w")
        p = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        self.procs.append(p)
        return p

    def status(self, node):
        out = sh(f"{self.hanet} status --json --socket /run/hanet/{self.prefix}-{node}.sock")
        return json.loads(out)

    def up(self):
        net(f"net_up {self.prefix} pair")
        net(f"net_key {self.work}/pta.key")

    def down(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
        self.procs = []
        net(f"net_down {self.prefix}")

    def config(self, node, edit):
        path = f"{self.work}/{node}.toml"
        net(f"net_config {self.prefix} {node} {path} {self.work}/pta.key")
        with open(path) as f:
            text = edit(f.read())
        with open(path, "w") as f:
            f.write(text)
        return path

    def start(self, node, config):
        p = self.spawn(["ip", "netns", "exec", self.ns(node), self.hanet, "run", "--config", config,
                        "--socket", f"/run/hanet/{self.prefix}-{node}.sock", "--plugins-dir", self.plugins], f"daemon-{node}")
        def answering():
            if p.poll() is not None:
                with open(os.path.join(self.work, f"daemon-{node}.log")) as f:
                    raise SystemExit(f"daemon {node} exited: {f.read()[-2000:]}")
            return self.status(node) is not None
        wait_until(15, f"daemon {node}", answering)
        return p

    def ping(self, count=50):
        out = self.exec("client", f"ping -c {count} -i 0.02 -q {S1}")
        # rtt min/avg/max/mdev = 0.041/0.060/0.101/0.012 ms
        line = [l for l in out.splitlines() if "min/avg/max" in l][0]
        mn, avg, mx, _ = line.split("=")[1].split()[0].split("/")
        return {"min_ms": float(mn), "avg_ms": float(avg), "max_ms": float(mx)}

    def iperf(self, seconds, watch):
        self.exec("s1", f"iperf3 -s -B {S1} -D -1 --logfile {self.work}/iperf3-server.log")
        time.sleep(0.3)  # the daemonized server binds after the fork; a connection refused would end the run
        before = {name: cpu_seconds(pid) for name, pid in watch.items()}
        t0 = time.monotonic()
        out = self.exec("client", f"iperf3 -c {S1} -t {seconds} -J")
        elapsed = time.monotonic() - t0
        after = {name: cpu_seconds(pid) for name, pid in watch.items()}
        j = json.loads(out)
        bps = j["end"]["sum_received"]["bits_per_second"]
        cpu = {name: (after[name] - before[name]) / elapsed for name in watch}
        return {"mbit_s": bps / 1e6, "retransmits": j["end"]["sum_sent"].get("retransmits"),
                "cpu_cores": cpu, "cpu_cores_per_mbit_s": {k: v / (bps / 1e6) for k, v in cpu.items()}}

    def fail_over(self, link):
        net(f"net_carrier {self.prefix} s1 eth0 down")
        net(f"net_carrier {self.prefix} s1 eth1 down")
        wait_until(10, f"s1 served by s2 over {link}",
                   lambda: self.status("s1")["active"] == link and (self.status("s1")["pta"].get("served_by") or {}).get("state") == "served")


def private_block(text, block):
    start = text.index('[[link]]\ninterface = "priv0"')
    end = text.index("[[sibling]]")
    return text[:start] + block + "\n\n" + text[end:]


def bench_ppp(hanet, work, seconds):
    b = Bench(hanet, work)
    b.up()
    try:
        a, c = f"{work}/tty-s1", f"{work}/tty-s2"
        socat = b.spawn(["socat", "-b", "65536", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={c}"], "socat")
        wait_until(5, "ptys", lambda: os.path.exists(a) and os.path.exists(c))
        b.exec("s1", "ip link del priv0")

        def ppp(node, dev, mine):
            return lambda t: private_block(t, f'''[[link]]
interface = "ppp0"
type = "ppp-serial"
device = "{dev}"
baud = 115200
role = "private"
sibling = "{"s2" if node == "s1" else "s1"}"
address = "{mine}/30"
detectors = ["ppp-echo"]''')
        d2 = b.start("s2", b.config("s2", ppp("s2", c, "169.254.77.2")))
        d1 = b.start("s1", b.config("s1", ppp("s1", a, "169.254.77.1")))
        wait_until(10, "PPP up", lambda: all(l["health"] == "GOOD" for n in ("s1", "s2")
                                             for l in b.status(n)["links"] if l["interface"] == "ppp0"))
        nic_rtt = b.ping()
        nic = b.iperf(min(seconds, 5), {"s1 daemon": d1.pid, "s2 daemon": d2.pid})
        b.fail_over("ppp0")
        rtt = b.ping()
        res = b.iperf(seconds, {"s1 daemon": d1.pid, "s2 daemon": d2.pid, "socat": socat.pid})
        return {"through_nic": {"rtt": nic_rtt, "mbit_s": nic["mbit_s"]}, "through_sibling_ppp": {"rtt": rtt, **res},
                "goal_mbit_s": 100}
    finally:
        b.down()


def bench_usbnet(hanet, work, seconds):
    b = Bench(hanet, work)
    b.up()
    try:
        for n in ("s1", "s2"):
            b.exec(n, "tc qdisc add dev priv0 root tbf rate 12mbit burst 16kb latency 50ms")
        edit = lambda t: t.replace('interface = "priv0"\ntype = "ethernet"',
                                   'interface = "priv0"\nudev_properties = ["HANET_LINK_TYPE=usbnet"]')
        d2 = b.start("s2", b.config("s2", edit))
        d1 = b.start("s1", b.config("s1", edit))
        link = [l for l in b.status("s1")["links"] if l["interface"] == "priv0"][0]
        nic_rtt = b.ping()
        b.fail_over("priv0")
        rtt = b.ping()
        res = b.iperf(seconds, {"s1 daemon": d1.pid, "s2 daemon": d2.pid})
        res["ratio_to_shaped_rate"] = res["mbit_s"] / 12.0
        return {"claimed_as": link["type"], "speed_bps": link["speed_bps"], "through_nic": {"rtt": nic_rtt},
                "through_sibling_usbnet": {"rtt": rtt, **res}, "goal_ratio": 0.9}
    finally:
        b.down()


def report(r):
    p, u = r["ppp"], r["usbnet"]
    s = p["through_sibling_ppp"]
    us = u["through_sibling_usbnet"]
    cpu = ", ".join(f"{k} {v * 1000:.2f} ms CPU/s per Mbit/s" for k, v in s["cpu_cores_per_mbit_s"].items())
    lines = [
        "# HANet private links: user-space PPP and a 12 Mbit/s usbnet link",
        "",
        "| measurement | value | goal |",
        "|---|---|---|",
        f"| TCP through s2 over user-space PPP (pty pair, unthrottled) | {s['mbit_s']:.1f} Mbit/s | ≥ {p['goal_mbit_s']} Mbit/s |",
        f"| CPU per Mbit/s over PPP | {cpu} | |",
        f"| CPU cores busy during the PPP run | " + ", ".join(f"{k} {v:.2f}" for k, v in s["cpu_cores"].items()) + " | |",
        f"| RTT client→s1 through s2 over PPP (avg/max) | {s['rtt']['avg_ms']:.3f} / {s['rtt']['max_ms']:.3f} ms | |",
        f"| RTT client→s1 through its own NIC (avg/max) | {p['through_nic']['rtt']['avg_ms']:.3f} / {p['through_nic']['rtt']['max_ms']:.3f} ms | |",
        f"| TCP through s1's own NIC, same run | {p['through_nic']['mbit_s']:.0f} Mbit/s | |",
        f"| TCP through s2 over usbnet (tbf 12 Mbit/s), claimed as `{u['claimed_as']}` at {u['speed_bps'] / 1e6:.0f} Mbit/s | {us['mbit_s']:.2f} Mbit/s = {us['ratio_to_shaped_rate']:.3f} of the shaped rate | ≥ {u['goal_ratio']} |",
        f"| RTT client→s1 through s2 over usbnet, idle (avg/max) | {us['rtt']['avg_ms']:.3f} / {us['rtt']['max_ms']:.3f} ms | |",
        f"| RTT client→s1 through its own NIC (avg/max) | {u['through_nic']['rtt']['avg_ms']:.3f} / {u['through_nic']['rtt']['max_ms']:.3f} ms | |",
    ]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hanet", default=os.path.join(ROOT, ".build/release/hanet"), help="the hanet binary (plugins beside it)")
    ap.add_argument("--seconds", type=int, default=10, help="iperf3 duration per run")
    ap.add_argument("--out", default=None, help="directory for results.json and report.md")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_links.py needs root (network namespaces)")
    for tool in ("iperf3", "socat", "tc"):
        if shutil.which(tool) is None:
            sys.exit(f"bench_links.py needs {tool}")
    if not os.access(a.hanet, os.X_OK):
        sys.exit(f"{a.hanet}: not an executable; build first (swift build -c release) or pass --hanet")
    work = tempfile.mkdtemp(prefix="hanet-bench-links-")
    res = {"hanet": a.hanet, "seconds": a.seconds, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    t0 = time.monotonic()
    res["ppp"] = bench_ppp(a.hanet, work, a.seconds)
    res["usbnet"] = bench_usbnet(a.hanet, work, a.seconds)
    res["elapsed_s"] = time.monotonic() - t0
    out = a.out or os.path.join(ROOT, "bench", "links-" + time.strftime("%Y%m%d-%H%M%S"))
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(res, f, indent=2)
    text = report(res)
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write(text)
    print(text)
    print(f"results in {out} ({res['elapsed_s']:.0f} s); logs in {work}")


if __name__ == "__main__":
    main()
