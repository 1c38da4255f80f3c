#!/usr/bin/env python3
"""Benchmark of the probing detectors (issue 5), on the network of scripts/lib/net.sh.

  detection   N silent faults: the active slave's LAN bridge port is blocked
              (STP state 0, carrier stays up) and the time from the block to
              the daemon's switch is measured (wall clock of this script vs the
              daemon's last_switch time, 1 ms resolution). The goal is
              (missed_max + 1) x interval + 10 ms. A 1 kHz UDP request/response
              probe (tools/probe.py udp) gives the path outage the client saw.
  idle cpu    the daemon with 4 slaves, each probed by the detector every
              --cpu-interval ms, left alone for --cpu-seconds: utime+stime from
              /proc/PID/stat, as a share of one core (goal <= 1%).

The block is issued through one long-lived `bridge -batch -` process, so the
time stamp taken when the command line is written is within a fraction of a
millisecond of the kernel's change (spawning a `bridge` per fault costs ms).

Prints a report and writes results.json to --out. Needs root.
"""
import argparse, datetime, json, os, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the shared helpers: sh, net, wait_until, stats, Bench)

ROOT = bench.ROOT
TARGETS = ("198.51.100.1", "198.51.100.2")


def switch_epoch(sw):
    t = datetime.datetime.strptime(sw["time"], "%Y-%m-%dT%H:%M:%S.%fZ")
    return t.replace(tzinfo=datetime.timezone.utc).timestamp()


class DetectorBench(bench.Bench):
    def config(self, detector, interval, missed_max, slaves):
        path = os.path.join(self.work, f"s1-{detector}-{interval}.toml")
        bench.net(f"net_config {self.p} s1 {path}")
        text = open(path).read()
        text = text.replace('interface = "eth0"\ntype = "ethernet"', 'interface = "eth0"\ntype = "ethernet"\npriority = 10')
        for i in range(2, slaves):
            text += f'\n[[link]]\ninterface = "eth{i}"\ntype = "ethernet"\nrole = "public"\ndetectors = ["carrier"]\n'
        text = text.replace('detectors = ["carrier"]', f'detectors = ["carrier", "{detector}"]\ndetector_policy = "all"')
        text += f"\n[detector.{detector}]\ninterval_ms = {interval}\nmissed_max = {missed_max}\n"
        if detector == "arp-monitor":
            text += f'targets = ["{TARGETS[0]}"]\n'
        else:
            hosts = os.path.join(self.work, "ping-hosts")
            open(hosts, "w").write(f"{TARGETS[0]}\n")
            text += f'file = "{hosts}"\n'
        open(path, "w").write(text)
        return path

    def up(self):
        bench.net(f"net_up {self.p}")
        for i in (2, 3):
            bench.net(f"net_lan_port {self.p} {self.ns('s1')} eth{i} s1e{i}")
        for t in TARGETS:
            bench.sh(f"ip -n {self.ns('client')} addr add {t}/24 dev c0")
        self.probe_server = None
        self.bridge = subprocess.Popen(["bridge", "-n", self.ns("lan"), "-batch", "-"], stdin=subprocess.PIPE, text=True)
        self.procs.append(self.bridge)

    def start_daemon(self, cfg):
        self.daemon = self.spawn("s1", [self.a.hanet, "run", "--config", cfg, "--socket", f"/run/hanet/{self.p}-s1.sock",
                                        "--plugins-dir", os.path.dirname(os.path.realpath(self.a.hanet))], "daemon")
        bench.wait_until(15, "the daemon", lambda: self.status()["active"] == "eth0")
        if self.probe_server is None:  # binds the service address, which the first daemon creates
            self.probe_server = self.spawn("s1", ["python3", "tools/probe.py", "server", "--bind", bench.S1], "probe-server")

    def stop_daemon(self):
        self.daemon.terminate()
        self.daemon.wait(10)

    def port(self, port, state):
        self.bridge.stdin.write(f"link set dev {port} state {state}\n")
        self.bridge.stdin.flush()
        return time.time()

    def all_good(self):
        return all(l["health"] == "GOOD" for l in self.status()["links"])

    def detection(self, detector):
        samples = []
        bench.wait_until(10, "every slave GOOD", self.all_good)
        bench.wait_until(10, "the UDP probe server", lambda: json.loads(bench.sh(
            f"ip netns exec {self.ns('client')} python3 tools/probe.py udp --to {bench.S1} --duration 0.2"))["received"] > 0)
        for i in range(self.a.faults):
            before = self.status()["switches"]
            udp = subprocess.Popen(["ip", "netns", "exec", self.ns("client"), "python3", "tools/probe.py", "udp",
                                    "--to", bench.S1, "--duration", "1.5"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
            time.sleep(0.5)  # the probe's baseline before the fault: part of the experiment's timeline
            t0 = self.port("s1e0", 0)
            bench.wait_until(5, "the failover", lambda: self.status()["active"] not in ("eth0", None))
            st = self.status()
            u = json.loads(udp.communicate()[0])
            ms = (switch_epoch(st["last_switch"]) - t0) * 1000
            self.port("s1e0", 3)
            bench.wait_until(5, "failback to eth0", lambda: self.status()["active"] == "eth0")
            bench.wait_until(5, "every slave GOOD again", self.all_good)
            samples.append({"detect_ms": ms, "udp_outage_ms": u["longest_gap_ms"], "udp_lost": u["lost"],
                            "switches": st["switches"] - before})
            print(f"  {detector} fault {i + 1}/{self.a.faults}: switch {ms:.1f} ms after the block, "
                  f"udp outage {u['longest_gap_ms']:.1f} ms", flush=True)
        return samples

    def idle_cpu(self):
        pid = self.status()["pid"]
        tick = os.sysconf("SC_CLK_TCK")

        def cpu():
            f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            return (int(f[11]) + int(f[12])) / tick

        bench.wait_until(10, "every slave GOOD", self.all_good)
        c0, t0 = cpu(), time.monotonic()
        time.sleep(self.a.cpu_seconds)  # the measurement window itself
        c1, t1 = cpu(), time.monotonic()
        st = self.status()
        return {"cpu_share": (c1 - c0) / (t1 - t0), "slaves": len(st["links"]), "switches": st["switches"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hanet", default=os.path.join(ROOT, ".build/release/hanet"))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench/results-detectors"))
    ap.add_argument("--faults", type=int, default=20)
    ap.add_argument("--interval", type=int, default=50)
    ap.add_argument("--missed-max", type=int, default=2)
    ap.add_argument("--cpu-interval", type=int, default=20)
    ap.add_argument("--cpu-seconds", type=float, default=10)
    ap.add_argument("--detectors", default="arp-monitor,ping-file")
    a = ap.parse_args()
    b = DetectorBench(a)
    res = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "interval_ms": a.interval, "missed_max": a.missed_max, "detectors": {}}
    goal = (a.missed_max + 1) * a.interval + 10
    try:
        b.up()
        for det in a.detectors.split(","):
            print(f"{det}: detection …", flush=True)
            b.start_daemon(b.config(det, a.interval, a.missed_max, 2))
            samples = b.detection(det)
            b.stop_daemon()
            print(f"{det}: idle cpu, 4 slaves every {a.cpu_interval} ms …", flush=True)
            b.start_daemon(b.config(det, a.cpu_interval, a.missed_max, 4))
            cpu = b.idle_cpu()
            b.stop_daemon()
            res["detectors"][det] = {"samples": samples, "idle": cpu,
                                     "detect_ms": bench.stats([s["detect_ms"] for s in samples]),
                                     "udp_outage_ms": bench.stats([s["udp_outage_ms"] for s in samples]),
                                     "extra_switches": sum(s["switches"] - 1 for s in samples)}
    finally:
        b.down()
    lines = [f"| detector | silent fault → switch (median of {a.faults}) | goal | UDP path outage (median, p90) | "
             f"idle CPU, 4 slaves @ {a.cpu_interval} ms | goal |", "|---|---|---|---|---|---|"]
    for det, r in res["detectors"].items():
        d, u = r["detect_ms"], r["udp_outage_ms"]
        lines.append(f"| {det} | {d['median']:.1f} ms (min {d['min']:.1f}, max {d['max']:.1f}) | ≤ {goal} ms | "
                     f"{u['median']:.1f} ms, {u['p90']:.1f} ms | {r['idle']['cpu_share'] * 100:.2f}% | ≤ 1% |")
    report = "\n".join(lines) + "\n"
    print(report)
    os.makedirs(a.out, exist_ok=True)
    json.dump(res, open(os.path.join(a.out, "results.json"), "w"), indent=1)
    open(os.path.join(a.out, "report.md"), "w").write(report)


if __name__ == "__main__":
    main()
