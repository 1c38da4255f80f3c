#!/usr/bin/env python3
"""Compressed soak: many switches on one daemon, its memory before and after.

Builds the namespace network of scripts/lib/net.sh (one server, two public
NICs), starts `hanet run` with events, hooks off and metrics on, and switches
the active slave back and forth N times over one control-socket connection
(`{"command":"failover","to":...}`, the request `hanet failover` sends),
scraping /metrics every 500 switches so the metric label sets are exercised
too. Prints the daemon's RSS (VmRSS) after start, after a warm-up of
--warmup switches, and at the end, as one JSON object. Needs root.

  python3 tools/soak.py [--switches 10000] [--hanet .build/release/hanet]
"""
import argparse, json, os, random, socket, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sh(cmd, check=True):
    return subprocess.run(["bash", "-c", cmd], cwd=ROOT, check=check, capture_output=True, text=True).stdout


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def rss_by_mapping(pid, top=12):
    """Resident kB per mapped file ("[anon]" for the daemon's own memory), largest first:
    tells the daemon's heap apart from shared library text, which RSS also counts."""
    sizes, name = {}, "[anon]"
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split()
            if "-" in head[0] and len(head) >= 5 and ":" not in head[0]:
                name = os.path.basename(head[5]) if len(head) > 5 and head[5].startswith("/") else "[anon]"
            elif head[0] == "Rss:":
                sizes[name] = sizes.get(name, 0) + int(head[1])
    return dict(sorted(sizes.items(), key=lambda kv: -kv[1])[:top])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--switches", type=int, default=10000)
    ap.add_argument("--warmup", type=int, default=1000)
    ap.add_argument("--hanet", default=os.path.join(ROOT, ".build/release/hanet"))
    args = ap.parse_args()
    hanet = os.path.abspath(args.hanet)
    plugins = os.path.realpath(os.path.dirname(hanet))
    prefix = "hnts" + "".join(random.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(5))
    work = f"/tmp/{prefix}"
    os.makedirs(work, exist_ok=True)
    sock_path = f"/run/hanet/{prefix}-s1.sock"
    daemon = None
    try:
        sh(f"source scripts/lib/net.sh && net_up {prefix}")
        cfg = f"{work}/s1.toml"
        sh(f"source scripts/lib/net.sh && net_config {prefix} s1 {cfg}")
        text = open(cfg).read().replace('name = "hanet0"\n', 'name = "hanet0"\ngarp_count = 1\n', 1)
        text += '\n[metrics]\nlisten = "127.0.0.1:9477"\n'
        open(cfg, "w").write(text)
        err = open(f"{work}/daemon.err", "w")
        daemon = subprocess.Popen(["ip", "netns", "exec", f"{prefix}-s1", hanet, "run", "--config", cfg,
                                   "--socket", sock_path, "--plugins-dir", plugins], stderr=err)
        deadline = time.monotonic() + 15
        while not os.path.exists(sock_path):
            if time.monotonic() > deadline or daemon.poll() is not None:
                sys.exit("daemon did not start: " + open(f"{work}/daemon.err").read()[-2000:])
            time.sleep(0.05)
        # `ip netns exec` execs the daemon: the pid is the daemon's.
        pid = daemon.pid
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(sock_path)
        f = c.makefile("rw")

        def request(obj):
            f.write(json.dumps(obj) + "\n")
            f.flush()
            return json.loads(f.readline())

        deadline = time.monotonic() + 10
        while request({"command": "status"})["status"]["active"] is None:
            if time.monotonic() > deadline:
                sys.exit("no active slave")
        out = {"switches": args.switches, "rss_kb_start": rss_kb(pid)}
        t0 = time.monotonic()
        failed = 0
        for i in range(args.switches):
            a = request({"command": "failover", "to": "eth1" if i % 2 == 0 else "eth0"})
            if not a.get("ok"):
                failed += 1
            if i + 1 == args.warmup:
                out["rss_kb_after_warmup"] = rss_kb(pid)
            if (i + 1) % 500 == 0:
                sh(f"ip netns exec {prefix}-s1 curl -sf http://127.0.0.1:9477/metrics > /dev/null")
        out["seconds"] = round(time.monotonic() - t0, 1)
        st = request({"command": "status"})["status"]
        out["daemon_switches"] = st["switches"]
        out["failed_requests"] = failed
        out["events_stored"] = len(request({"command": "events"})["events"])
        out["rss_kb_end"] = rss_kb(pid)
        out["rss_kb_by_mapping_end"] = rss_by_mapping(pid)
        out["growth_after_warmup_kb"] = out["rss_kb_end"] - out.get("rss_kb_after_warmup", out["rss_kb_start"])
        print(json.dumps(out, indent=1))
    finally:
        if daemon and daemon.poll() is None:
            daemon.terminate()
            daemon.wait(5)
        sh(f"source scripts/lib/net.sh && net_down {prefix}", check=False)


if __name__ == "__main__":
    main()
