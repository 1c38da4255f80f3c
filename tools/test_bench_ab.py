#!/usr/bin/env python3
"""Checks tools/bench_ab.py's figures and report on synthetic rounds: medians
over all of a build's samples (not a median of round medians), B over A and
not the other way round, per-round ratios, a zero or missing figure shown as
"—" instead of a crash. Run by `make test` (HANetScenarioTests.BenchReportTests);
alone: `python3 tools/test_bench_ab.py`."""
import os, sys, time, unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_ab


def phase(rules, outage=(3.0,), takeover=(2.0,), t_outage=(4.0,), cpu=(0.05, 0.04), rss=(10240, 9216), rss_faults=None):
    return {
        "failover": [{"fault_to_rules_ms": r, "trigger_to_rules_ms": r - 0.25, "udp_outage_ms": o}
                     for r, o in zip(rules, outage * len(rules))],
        "takeover": [{"takeover_ms": t, "udp_outage_ms": o} for t, o in zip(takeover * len(rules), t_outage * len(rules))],
        "idle": {n: {"cpu_s": c, "run_ns": int(c * 1e9) + 1234567, "threads": 9, "threads_gone": 0, "seconds": 20.0}
                 for n, c in zip(("s1", "s2"), cpu)},
        "rss_start_kb": {"s1": rss[0], "s2": rss[1]},
        "rss_faults_kb": {"s1": (rss_faults or rss)[0], "s2": (rss_faults or rss)[1]},
    }


def results(rounds):
    res = {"rounds": rounds, "args": {"rounds": len(rounds), "faults": 3, "idle": 20.0}, "date": "d", "total_s": 100,
           "round_s": 50, "clock_tick_ms": 10.0, "argv": ["--a", "x", "--b", "y"],
           "machine": {"cpu": "test", "cores": 2, "memory_mb": 1, "kernel": "k"},
           "builds": {x: {"name": f"rev-{x}", "path": f"/p/{x}/hanet", "version": "hanet 0.1.0", "sha256": "ab" * 32}
                      for x in bench_ab.BUILDS}}
    res["figures"] = bench_ab.figures(res)
    return res


def row(res, title):
    rows = [r for r in bench_ab.table(res) if r.startswith(f"| {title}")]
    assert len(rows) == 1, (title, rows)
    return rows[0]


class ABFigures(unittest.TestCase):
    def test_median_over_all_samples_and_b_over_a(self):
        res = results([
            {"A": phase([1.0, 2.0, 3.0]), "B": phase([2.0, 2.0, 2.0])},
            {"A": phase([4.0, 10.0, 11.0]), "B": phase([5.0, 5.0, 5.0])},
        ])
        f = res["figures"]["fault_to_rules_ms"]
        # All six of A's samples: median (3 + 4) / 2 = 3.5; the round medians (2, 10) would give 6.
        self.assertEqual(f["A"]["median"], 3.5)
        self.assertEqual((f["A"]["min"], f["A"]["max"]), (1.0, 11.0))
        self.assertEqual(f["B"]["median"], 3.5)
        self.assertAlmostEqual(f["ratio"], 1.0)
        # Round 1: B 2 over A 2 = 1; round 2: B 5 over A 10 = 0.5.
        self.assertEqual(f["round_ratios"], [1.0, 0.5])
        self.assertEqual(row(res, "carrier fault → rules in place"),
                         "| carrier fault → rules in place (ms) | 3.500 (1.000–11.000) | 3.500 (2.000–5.000) | 1.000 | 0.500–1.000 |")
        self.assertEqual(res["figures"]["trigger_to_rules_ms"]["A"]["median"], 3.25)

    def test_a_slower_b_shows_a_ratio_above_one_in_the_b_column(self):
        res = results([{"A": phase([1.0] * 3, takeover=(2.0,)), "B": phase([1.0] * 3, takeover=(3.0,))}] * 2)
        r = row(res, "PTA takeover: fault → sibling serving")
        self.assertEqual(r, "| PTA takeover: fault → sibling serving (ms) | 2.000 (2.000–2.000) | 3.000 (3.000–3.000) | 1.500 | 1.500–1.500 |")

    def test_idle_cpu_and_memory_per_daemon(self):
        res = results([
            {"A": phase([1.0], cpu=(0.05, 0.0), rss=(10240, 9216), rss_faults=(11264, 9216)),
             "B": phase([1.0], cpu=(0.10, 0.02), rss=(5120, 9216), rss_faults=(5120, 9216))},
            {"A": phase([1.0], cpu=(0.07, 0.0), rss=(10240, 9216), rss_faults=(12288, 9216)),
             "B": phase([1.0], cpu=(0.07, 0.01), rss=(5120, 9216), rss_faults=(6144, 9216))},
        ])
        f = res["figures"]
        self.assertAlmostEqual(f["idle_cpu_ms_s1"]["A"]["median"], 60.0)
        self.assertAlmostEqual(f["idle_cpu_ms_s1"]["B"]["median"], 85.0)
        self.assertAlmostEqual(f["idle_cpu_ms_s1"]["round_ratios"][0], 2.0)
        self.assertEqual(row(res, "idle CPU, s1 (ms over 20 s, utime+stime)"),
                         "| idle CPU, s1 (ms over 20 s, utime+stime) | 60 (50–70) | 85 (70–100) | 1.417 | 1.000–2.000 |")
        self.assertEqual(row(res, "idle CPU, s1 (ms over 20 s, threads"),
                         "| idle CPU, s1 (ms over 20 s, threads' run time) | 61.23 (51.23–71.23) | 86.23 (71.23–101.23) | 1.408 | 1.000–1.976 |")
        # A's s2 used no measurable CPU: no ratio, and no crash.
        self.assertIsNone(f["idle_cpu_ms_s2"]["ratio"])
        self.assertTrue(row(res, "idle CPU, s2 (ms over 20 s, utime").endswith("| 0 (0–0) | 15 (10–20) | — | — |"),
                        row(res, "idle CPU, s2 (ms over 20 s, utime"))
        self.assertEqual(row(res, "resident memory after start, s1"),
                         "| resident memory after start, s1 (MB) | 10.0 (10.0–10.0) | 5.0 (5.0–5.0) | 0.500 | 0.500–0.500 |")
        self.assertEqual(f["rss_faults_mb_s1"]["A"]["median"], 11.5)
        self.assertEqual(f["rss_faults_mb_s2"]["ratio"], 1.0)

    def test_report_names_both_builds_and_every_figure(self):
        res = results([{"A": phase([1.0, 2.0]), "B": phase([1.5, 2.5])}])
        md = bench_ab.report(res)
        self.assertIn("| A (rev-A) | `/p/A/hanet` |", md)
        self.assertIn("| B (rev-B) | `/p/B/hanet` |", md)
        self.assertEqual(len(bench_ab.FIGURES), 13)
        for _, title, _, _ in bench_ab.FIGURES:
            self.assertIn("| " + title.replace("IDLE", "20") + " | ", md)
        self.assertNotIn("IDLE", md)
        self.assertNotIn("Stopped", md)

    def test_a_run_stopped_early_says_so_and_counts_the_rounds_done(self):
        res = results([{"A": phase([1.0, 2.0]), "B": phase([1.5, 2.5])}])
        res["args"]["rounds"] = 5
        res["stopped"] = "RuntimeError: timed out after 5 s waiting for the failover"
        md = bench_ab.report(res)
        self.assertIn("**Stopped after 1 of 5 rounds**: RuntimeError: timed out", md)
        self.assertIn("1 rounds of A then B", md)
        self.assertIn("3 faults of each kind, 1 idle windows", md)


class ProcReadings(unittest.TestCase):
    def test_cpu_and_memory_of_a_process_from_proc(self):
        pid = os.getpid()
        before = (bench_ab.cpu_s(pid), bench_ab.run_ns(pid))
        spin = time.thread_time() + 0.15
        while time.thread_time() < spin:  # 150 ms on a CPU, in this thread
            pass
        got = bench_ab.idle_cpu(pid, *before, 1.0)
        self.assertGreaterEqual(got["run_ns"], 150e6)
        self.assertLess(got["run_ns"], 5e9)
        # utime + stime are whole clock ticks, each truncated: up to two ticks short.
        self.assertGreaterEqual(got["cpu_s"], 0.15 - 2 / os.sysconf("SC_CLK_TCK"))
        self.assertEqual((got["threads"], got["threads_gone"]), (1, 0))
        self.assertGreater(bench_ab.rss_kb(pid), 1024)


if __name__ == "__main__":
    unittest.main(verbosity=1)
