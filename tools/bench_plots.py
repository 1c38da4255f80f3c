#!/usr/bin/env python3
"""The benchmark's plots (matplotlib, Debian's python3-matplotlib), drawn from
tools/bench.py's results: `python3 tools/bench_plots.py results.json [outdir]`
redraws them from a saved run without measuring again."""
import json, os, sys

import matplotlib
matplotlib.use("Agg")  # no display in namespaces or CI
import matplotlib.pyplot as plt

EVENT_COLORS = {"fault": "#c0392b", "heal": "#2471a3", "switch": "#1e8449", "failback": "#1e8449", "s2": "#7d3c98"}


def mark_events(ax, events, top):
    """A numbered line per event, and the list of them with their times in a box (they are often
    milliseconds apart, too close for labels beside the lines)."""
    lines = []
    for i, e in enumerate(events, 1):
        c = EVENT_COLORS.get(e["what"].split()[0].rstrip(":"), "#7f8c8d")
        ax.axvline(e["t_s"], color=c, lw=1, ls="--" if e["what"].startswith(("fault", "heal")) else "-")
        ax.text(e["t_s"], top * (1.08 - 0.05 * ((i - 1) % 3)), f" {i}", color=c, fontsize=7, va="top")
        prev = events[i - 2]["t_s"] if i > 1 else None
        delta = f" (+{(e['t_s'] - prev) * 1000:.1f} ms)" if prev is not None and e["t_s"] - prev < 0.5 else ""
        lines.append(f"{i}  {e['t_s']:6.3f} s  {e['what']}{delta}")
    ax.text(0.99, 0.03, "\n".join(lines), transform=ax.transAxes, fontsize=6.5, family="monospace", ha="right",
            va="bottom", multialignment="left", bbox=dict(boxstyle="round", fc="white", ec="#bbbbbb", alpha=0.9))


def timeline(res, path, title=None):
    """Client throughput per bin with each fault, switch and the sibling's service marked on the same clock."""
    t = res["timeline"]
    b = t["bin_ms"] / 1000
    xs = [i * b for i in range(len(t["bytes"]))]
    ys = [n * 8 / b / 1e6 for n in t["bytes"]]
    fig, ax = plt.subplots(figsize=(9, 3.6), dpi=90)
    ax.plot(xs, ys, lw=1, color="#34495e", label=f"client throughput ({t['bin_ms']:.0f} ms bins)")
    top = max(ys) if ys else 1
    mark_events(ax, t["events"], top)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("Mbit/s")
    ax.set_ylim(0, top * 1.1)
    ax.set_xlim(0, xs[-1] if xs else 1)
    ax.set_title(title or "One TCP stream s1 → client through a public failover, a PTA takeover and the heal "
                 "(links shaped to 1 Gbit/s)", fontsize=9)
    ax.legend(loc="lower left", fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def parts(res, path):
    """The distribution of failover time split as the paper's Table 1."""
    fo, to = res["failover"], res["takeover"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.6), dpi=90, gridspec_kw={"width_ratios": [2, 4]})
    col = lambda xs, k: [x[k] for x in xs if x.get(k) is not None]
    a1.boxplot([col(fo, "td_ms"), col(fo, "tsrv_ms"), col(fo, "fault_to_rules_ms")],
               labels=["Td", "Tsrv", "fault→rules"], whis=(0, 100))
    a1.set_title(f"carrier failover (n={len(fo)})", fontsize=9)
    a2.boxplot([col(to, "td_ms"), col(to, "tsrv_ms"), col(to, "tmid_ms"), col(to, "tsib_ms"), col(to, "takeover_ms")],
               labels=["Td", "Tsrv", "Tmid", "Tsib", "fault→served"], whis=(0, 100))
    a2.set_title(f"PTA takeover (n={len(to)})", fontsize=9)
    for a in (a1, a2):
        a.set_yscale("log")
        a.set_ylabel("ms")
        a.axhline(50, color="#c0392b", lw=0.8, ls=":")
        a.text(0.55, 50, "paper: Td ≈ 50 ms", color="#c0392b", fontsize=7, va="bottom")
        a.grid(axis="y", alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def web(res, path):
    """Requests/s and latency against concurrent clients, each path beside the direct server."""
    f = res["figures"]
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.4), dpi=90)
    for row, setup in enumerate(("nic", "cpu")):
        series = [("direct (no HANet)", f[setup]["web"], "_direct", "#7f8c8d"),
                  ("HANet, public link", f[setup]["web"], "", "#1e8449"),
                  ("via sibling, private link", f[setup]["sibling_web"], "", "#7d3c98")]
        if setup == "nic":
            series.append(("via sibling, 12 Mbit/s link", f["slow"]["web"], "", "#d35400"))
        for name, w, sfx, c in series:
            cs = sorted(w, key=int)
            x = [int(v) for v in cs]
            for ax, key in ((axes[row][0], "rps" + sfx), (axes[row][1], "p50" + ("_direct" if sfx else "") + "_ms")):
                m = [w[v][key]["median"] for v in cs]
                lo = [w[v][key]["median"] - w[v][key]["p10"] for v in cs]
                hi = [w[v][key]["p90"] - w[v][key]["median"] for v in cs]
                ax.errorbar(x, m, yerr=[lo, hi], marker="o", ms=3, capsize=2, color=c, label=name)
        label = "NIC-bound (1 Gbit/s links)" if setup == "nic" else "CPU-bound (unshaped veth)"
        axes[row][0].set_title(f"{label}: requests/s", fontsize=9)
        axes[row][1].set_title(f"{label}: median latency", fontsize=9)
        axes[row][1].set_yscale("log")
        axes[row][1].set_ylabel("ms")
        for ax in axes[row]:
            ax.set_xlabel("concurrent clients")
            ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def demo(res, path):
    """make demo's picture: completed requests per 100 ms, the faults and what HANet did."""
    w = res["bins_s"]
    xs = [i * w for i in range(len(res["rate"]))]
    fig, ax = plt.subplots(figsize=(9, 3.4), dpi=90)
    ax.plot(xs, res["rate"], lw=1.2, color="#34495e", label=f"completed requests/s ({res['clients']} web clients)")
    top = max(res["rate"] or [1])
    mark_events(ax, res["events"], top)
    ax.set_ylim(0, top * 1.15)
    ax.set_xlim(0, xs[-1] if xs else 1)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("requests/s")
    ax.set_title(f"make demo: {res['requests']} requests, {res['failed']} failed; public failover "
                 f"{res['public_failover_ms']:.2f} ms, PTA takeover {res['pta_takeover_ms']:.2f} ms", fontsize=9)
    ax.legend(loc="lower left", fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def draw(res, out):
    drawn = {}
    for name, fn, what in (("timeline.png", timeline, "client throughput over time, faults and switches marked"),
                           ("failover_parts.png", parts, "failover time split into Td, Tsrv, Tmid, Tsib"),
                           ("web.png", web, "web requests/s and latency vs concurrent clients, each path vs direct")):
        fn(res, os.path.join(out, name))
        drawn[name] = what
    return drawn


if __name__ == "__main__":
    r = json.load(open(sys.argv[1]))
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.dirname(os.path.abspath(sys.argv[1]))
    for p in draw(r, out):
        print(os.path.join(out, p))
