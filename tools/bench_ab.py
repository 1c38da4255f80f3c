#!/usr/bin/env python3
"""Two hanet builds side by side in one run: A (before) and B (after), alternated ABAB… on one network.

`make bench-ab BASE=<git rev>` builds the release of BASE (A) and of the
current tree (B) and runs this. Alone:

  python3 tools/bench_ab.py --a OLD/.build/release/hanet --b NEW/.build/release/hanet

Each binary runs with the plugins beside it (its release build folder). On the
two-server network of tools/bench.py (s1, s2, the private link, a client on
the LAN), each round runs A's daemons, then B's, each phase from a cold start
(`hanet run --teardown`, a fresh state dir, so neither adopts what the other
left) and measuring, per phase:

  rss after start   VmRSS of each daemon (/proc/PID/status) once s1 hears s2
  idle CPU          utime + stime of each daemon (/proc/PID/stat) over --idle
                    seconds with no traffic and no fault
  carrier faults    --faults carrier faults of s1's active NIC (Bench.failovers):
                    fault -> rules in place, and kernel event -> rules, from
                    `hanet status --json` last_switch; the path outage a 1 kHz
                    UDP probe sees
  PTA takeovers     --faults faults that leave s1 only its private link
                    (Bench.takeovers): fault -> sibling serving, UDP outage
  rss after faults  VmRSS of each daemon again

Alternating spreads drift in the machine's load over A and B alike. The
report gives every figure's median (min–max) over all of a build's samples,
the ratio of B's median to A's, and the spread of that ratio across rounds
(each round's B median over its A median): a ratio whose per-round range
straddles 1 is within the run's noise. Writes results.json and report.md to
--out and prints the report. Needs root.
"""
import argparse, hashlib, os, shlex, statistics, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import ROOT, S1, Bench, machine, sh, stats, wait_until, write_results  # noqa: E402

BUILDS = ("A", "B")


def carrier(ph, key):
    return [s[key] for s in ph["failover"]]


def takeover(ph, key):
    return [s[key] for s in ph["takeover"]]


# Every figure of the comparison: key, row title (IDLE: the idle window), number format, samples of one phase.
FIGURES = [
    ("fault_to_rules_ms", "carrier fault → rules in place (ms)", "{:.3f}", lambda ph: carrier(ph, "fault_to_rules_ms")),
    ("trigger_to_rules_ms", "carrier: kernel event → rules (ms)", "{:.3f}", lambda ph: carrier(ph, "trigger_to_rules_ms")),
    ("failover_udp_outage_ms", "carrier failover: UDP outage (ms)", "{:.1f}", lambda ph: carrier(ph, "udp_outage_ms")),
    ("takeover_ms", "PTA takeover: fault → sibling serving (ms)", "{:.3f}", lambda ph: takeover(ph, "takeover_ms")),
    ("takeover_udp_outage_ms", "PTA takeover: UDP outage (ms)", "{:.1f}", lambda ph: takeover(ph, "udp_outage_ms")),
] + [
    (f"idle_cpu_ms_{n}", f"idle CPU, {n} (ms over IDLE s, utime+stime)", "{:.0f}", lambda ph, n=n: [ph["idle"][n]["cpu_s"] * 1000])
    for n in ("s1", "s2")
] + [
    (f"idle_run_ms_{n}", f"idle CPU, {n} (ms over IDLE s, threads' run time)", "{:.2f}",
     lambda ph, n=n: [ph["idle"][n]["run_ns"] / 1e6])
    for n in ("s1", "s2")
] + [
    (f"rss_{when}_mb_{n}", f"resident memory after {title}, {n} (MB)", "{:.1f}",
     lambda ph, n=n, when=when: [ph[f"rss_{when}_kb"][n] / 1024])
    for when, title in (("start", "start"), ("faults", "the faults")) for n in ("s1", "s2")
]


def median_or_none(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def ratio(b, a):
    return b / a if a and b is not None else None


def figures(res):
    """Per figure: each build's stats over all its samples, B's median over A's, and the per-round ratios."""
    out = {}
    for key, _, _, samples in FIGURES:
        per_round = [{x: samples(r[x]) for x in BUILDS} for r in res["rounds"]]
        f = {x: stats([v for r in per_round for v in r[x]]) for x in BUILDS}
        f["ratio"] = ratio(f["B"].get("median"), f["A"].get("median"))
        f["round_ratios"] = [ratio(median_or_none(r["B"]), median_or_none(r["A"])) for r in per_round]
        out[key] = f
    return out


def fmt_stats(st, fmt):
    if not st.get("n"):
        return "—"
    return f"{fmt.format(st['median'])} ({fmt.format(st['min'])}–{fmt.format(st['max'])})"


def fmt_ratio(x):
    return "—" if x is None else f"{x:.3f}"


def fmt_range(xs):
    xs = [x for x in xs if x is not None]
    return "—" if not xs else f"{min(xs):.3f}–{max(xs):.3f}"


def table(res):
    """The comparison as markdown table rows."""
    f = res["figures"]
    rows = ["| figure | A median (min–max) | B median (min–max) | B/A | B/A per round (min–max) |",
            "|---|---|---|---|---|"]
    for key, title, fmt, _ in FIGURES:
        x = f[key]
        title = title.replace("IDLE", f"{res['args']['idle']:g}")
        rows.append(f"| {title} | {fmt_stats(x['A'], fmt)} | {fmt_stats(x['B'], fmt)} | {fmt_ratio(x['ratio'])} | "
                    f"{fmt_range(x['round_ratios'])} |")
    return rows


def report(res):
    a, m = res["args"], res["machine"]
    L = ["# HANet A/B benchmark", "",
         f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_mb']} MB, Linux {m['kernel']}; {res['date']}. "
         f"Run time {res['total_s']:.0f} s, {len(res['rounds'])} rounds of A then B, {res['round_s']} s per round.", "",
         "| build | binary | version | sha256 |", "|---|---|---|---|"]
    for x in BUILDS:
        b = res["builds"][x]
        L.append(f"| {x} ({b['name']}) | `{b['path']}` | {b['version']} | {b['sha256'][:12]} |")
    L += ["", f"Each phase starts both daemons cold (`--teardown`, fresh state dir). Per phase: resident memory once s1 "
          f"hears s2, CPU over {a['idle']:g} s idle, {a['faults']} carrier faults of s1's active NIC, {a['faults']} "
          "PTA takeovers, resident memory again. Medians (min–max) over all of a build's samples: "
          f"{len(res['rounds']) * a['faults']} faults of each kind, {len(res['rounds'])} idle windows and memory readings per "
          "daemon. B/A is B's median over A's; per round, each round's B median over its A median: a range that "
          "straddles 1 is within the run's noise. CPU time is counted in clock ticks "
          f"({res['clock_tick_ms']:g} ms).", ""]
    if "stopped" in res:
        L += [f"**Stopped after {len(res['rounds'])} of {a['rounds']} rounds**: {res['stopped']}", ""]
    L += table(res)
    L += ["", f"Regenerate: `make bench-ab BASE=<rev>`, or `python3 tools/bench_ab.py "
          f"{shlex.join(x.replace(ROOT + '/', '') for x in res['argv'])}`."]
    return "\n".join(L) + "\n"


def cpu_s(pid):
    """utime + stime of a process, in seconds (/proc/PID/stat fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_ns(pid):
    """Each thread's time on a CPU in ns (/proc/PID/task/TID/schedstat): exact where utime + stime
    are whole clock ticks, but a thread that has exited is no longer there to be read."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as fh:
                out[tid] = int(fh.read().split()[0])
        except FileNotFoundError:  # the thread exited while the folder was read
            pass
    return out


def idle_cpu(pid, before_cpu, before_run, seconds):
    """CPU over an idle window from the readings at its start: utime + stime, and the run time of the
    threads alive at its end (a thread born within the window counts whole, one that exited not at all)."""
    run = run_ns(pid)
    return {"cpu_s": cpu_s(pid) - before_cpu, "run_ns": sum(v - before_run.get(t, 0) for t, v in run.items()),
            "threads": len(run), "threads_gone": len(set(before_run) - set(run)), "seconds": round(seconds, 3)}


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as fh:
        return int([l.split()[1] for l in fh if l.startswith("VmRSS:")][0])


def build_info(name, path):
    path = os.path.realpath(path)
    version = sh(f"{path} --version", check=False).strip().replace("\n", " ")
    with open(path, "rb") as fh:
        digest = hashlib.sha256(fh.read()).hexdigest()
    return {"name": name, "path": path, "version": version, "sha256": digest}


class ABBench(Bench):
    def __init__(self, args, prefix):
        super().__init__(args, prefix)
        self.probe_server = None

    def master_gone(self):
        return all(subprocess.run(["ip", "-n", self.ns(n), "link", "show", "hanet0"], capture_output=True).returncode != 0
                   for n in ("s1", "s2"))

    def reachable(self):
        return subprocess.run(["ip", "netns", "exec", self.ns("client"), "ping", "-c1", "-W1", S1],
                              capture_output=True).returncode == 0

    def phase_run(self, build, hanet, rnd):
        """One build's phase: cold start, memory, idle CPU, the faults, memory; the daemons stopped at the end."""
        tag = f"{build}{rnd}"
        wait_until(15, "the previous daemons' master interfaces to be gone", self.master_gone)
        try:
            self.start_daemons(hanet, ("--teardown", "--state-dir", os.path.join(self.work, f"state-{tag}")), f"daemon-{tag}")
            out = self.measure(tag)
        except Exception:
            # The work folder goes with the network: what the daemons said is shown now.
            for node in ("s2", "s1"):
                path = os.path.join(self.work, f"daemon-{tag}-{node}.log")
                if os.path.exists(path):
                    tail = open(path, errors="replace").read().splitlines()[-15:]
                    print(f"  {tag}: the daemon on {node} logged last:\n" + "\n".join("    " + l for l in tail), file=sys.stderr)
            for p in self.daemons.values():
                p.kill()
            self.daemons = {}
            raise
        self.stop_daemons()
        return out

    def measure(self, tag):
        """Memory once s1 hears s2, CPU over the idle window, the faults, memory again."""
        pids = {n: p.pid for n, p in self.daemons.items()}
        for n, pid in pids.items():  # `ip netns exec` execs the command: the child is the daemon itself
            comm = open(f"/proc/{pid}/comm").read().strip()
            if comm != "hanet":
                raise RuntimeError(f"process {pid} on {n} is {comm!r}, not the hanet daemon")
        wait_until(15, "s1 to hear s2", lambda: [s["ready"] for s in self.status()["siblings"]] == [True])
        if self.probe_server is None:  # binds the service address, which the first daemon creates
            self.probe_server = self.spawn("s1", ["python3", "tools/probe.py", "server", "--bind", S1], "probe-s1")
        # The client's cached address of s1 belongs to the previous daemon's master: resolve afresh.
        sh(f"ip -n {self.ns('client')} neigh flush to {S1}")
        wait_until(15, "s1 to answer the client", self.reachable)
        out = {"rss_start_kb": {n: rss_kb(pid) for n, pid in pids.items()}}
        before = {n: (cpu_s(pid), run_ns(pid)) for n, pid in pids.items()}
        t0 = time.monotonic()
        time.sleep(self.a.idle)  # the idle window is the measurement itself, not a wait for a condition
        seconds = time.monotonic() - t0
        out["idle"] = {n: idle_cpu(pid, *before[n], seconds) for n, pid in pids.items()}
        print(f"  {tag}: rss after start " + ", ".join(f"{n} {v / 1024:.1f} MB" for n, v in out["rss_start_kb"].items())
              + "; idle CPU " + ", ".join(f"{n} {v['cpu_s'] * 1000:.0f} ms ({v['run_ns'] / 1e6:.2f} ms run, "
                                            f"{v['threads']} threads)" for n, v in out["idle"].items())
              + f" over {seconds:.1f} s", flush=True)
        out["failover"] = self.failovers()
        out["takeover"] = self.takeovers()
        out["rss_faults_kb"] = {n: rss_kb(pid) for n, pid in pids.items()}
        print(f"  {tag}: rss after the faults " + ", ".join(f"{n} {v / 1024:.1f} MB" for n, v in out["rss_faults_kb"].items()),
              flush=True)
        return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--a", required=True, metavar="PATH", help="the 'before' hanet binary, its plugins beside it")
    ap.add_argument("--b", required=True, metavar="PATH", help="the 'after' hanet binary, its plugins beside it")
    ap.add_argument("--a-name", help="what A is, for the report (default its path)")
    ap.add_argument("--b-name", help="what B is, for the report (default its path)")
    ap.add_argument("--rounds", type=int, default=5, help="rounds of A then B (default 5)")
    ap.add_argument("--faults", type=int, default=10, help="carrier faults and PTA takeovers per phase, each (default 10)")
    ap.add_argument("--idle", type=float, default=20.0, help="seconds of the idle CPU window per phase (default 20)")
    ap.add_argument("--prefix", default="ab", help="namespace name prefix (default ab)")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench/results-ab"))
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("tools/bench_ab.py needs root (network namespaces)")
    for x, path in (("--a", a.a), ("--b", a.b)):
        if not os.access(path, os.X_OK):
            sys.exit(f"tools/bench_ab.py: {x}: no hanet binary at {path} (build it: swift build -c release)")
    if a.rounds < 1 or a.faults < 1 or a.idle <= 0:
        sys.exit("tools/bench_ab.py: --rounds and --faults must be at least 1, --idle above 0")
    binaries = {"A": a.a, "B": a.b}
    res = {"date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "machine": machine(a.b),
           "builds": {x: build_info(getattr(a, f"{x.lower()}_name") or binaries[x], binaries[x]) for x in BUILDS},
           "args": {"rounds": a.rounds, "faults": a.faults, "idle": a.idle},
           "clock_tick_ms": 1000 / os.sysconf("SC_CLK_TCK"), "argv": sys.argv[1:], "rounds": []}
    b = ABBench(argparse.Namespace(hanet=a.a, failovers=a.faults, idle=a.idle), a.prefix)
    t0 = time.monotonic()
    try:
        b.phase("setup", b.network)
        for i in range(a.rounds):
            rnd = {}
            for x in BUILDS:
                rnd[x] = b.phase(f"round {i + 1}/{a.rounds}: {x}", b.phase_run, x, binaries[x], i + 1)
            res["rounds"].append(rnd)
    except Exception as e:
        # The rounds done so far are still a comparison: reported, with what stopped the run.
        if not res["rounds"]:
            raise
        res["stopped"] = f"{type(e).__name__}: {e}"
        print(f"stopped in round {len(res['rounds']) + 1}: {res['stopped']}", file=sys.stderr)
    finally:
        b.down()
    res["total_s"] = round(time.monotonic() - t0, 1)
    res["phases"] = b.phases
    res["round_s"] = round(statistics.median(b.phases[f"round {i + 1}/{a.rounds}: A"] + b.phases[f"round {i + 1}/{a.rounds}: B"]
                                             for i in range(len(res["rounds"]))), 1)
    res["figures"] = figures(res)
    write_results(a.out, res, report(res))
    if "stopped" in res:
        sys.exit(1)


if __name__ == "__main__":
    main()
