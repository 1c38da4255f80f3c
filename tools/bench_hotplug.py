#!/usr/bin/env python3
"""Hot-attach latency: from the kernel's uevent to the slave being a GOOD backup.

Builds the two-server namespace network (scripts/lib/net.sh), runs both
daemons with [hotplug] enabled, then creates and deletes a veth pair "hp0"
between s1 and s2 ROUNDS times. Per round, on s1:
  uevent  = the udev monitor's CLOCK_MONOTONIC stamp of hp0's "add" uevent
            (status.hotplug[].uevent_monotonic_ns of the "attached" record),
  learned = when the sibling answered HELLO ("sibling-learned" record),
  good    = the "health" event in the daemon's event ring with slave=hp0, health=GOOD.
Prints each round and the median of good - uevent (goal: <= 200 ms).
Run as root from the repository root after `swift build`.
"""
import argparse, json, os, random, socket, statistics, string, subprocess, sys, tempfile, time

def sh(cmd, check=True):
    r = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True)
    if check and r.returncode != 0:
        sys.exit(f"failed: {cmd}\n{r.stdout}{r.stderr}")
    return r.stdout

def control(path, req):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    s.sendall((json.dumps(req) + "\n").encode())
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(1 << 16)
        if not chunk:
            break
        buf += chunk
    s.close()
    return json.loads(buf)

def wait_for(seconds, what, cond):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.01)
    sys.exit(f"timed out after {seconds} s waiting for {what}")

HOTPLUG = '\n[hotplug]\nenabled = true\npriority = 10\n[[hotplug.allow]]\nname = "hp*"\n'

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--bin", default=".build/debug", help="directory with hanet and the plugins")
    a = ap.parse_args()
    a.bin = os.path.realpath(a.bin)  # the plugin loader refuses a symlinked directory
    prefix = "hpb" + "".join(random.choice(string.ascii_lowercase) for _ in range(5))
    work = tempfile.mkdtemp(prefix=prefix)
    key = f"{work}/pta.key"
    procs = []
    try:
        sh(f"source scripts/lib/net.sh && net_up {prefix} pair && net_key {key}")
        socks = {}
        for node in ["s2", "s1"]:
            cfg = f"{work}/{node}.toml"
            sh(f"source scripts/lib/net.sh && net_config {prefix} {node} {cfg} {key}")
            with open(cfg, "a") as f:
                f.write(HOTPLUG)
            socks[node] = f"/run/hanet/{prefix}-{node}.sock"
            log = open(f"{work}/{node}.log", "w")
            procs.append(subprocess.Popen(["ip", "netns", "exec", f"{prefix}-{node}", f"{a.bin}/hanet", "run", "--config", cfg,
                                           "--socket", socks[node], "--plugins-dir", a.bin], stdout=log, stderr=log))
            wait_for(15, f"{node}'s daemon", lambda: os.path.exists(socks[node]) and control(socks[node], {"command": "status"}).get("ok"))
        wait_for(5, "s1 active", lambda: control(socks["s1"], {"command": "status"})["status"].get("active") == "eth0")
        rows = []
        for i in range(a.rounds):
            before = max([r["monotonic_ns"] for r in (control(socks["s1"], {"command": "status"})["status"].get("hotplug") or [])
                          if r["action"] == "sibling-learned"], default=0)
            sh(f"ip link add hp0 netns {prefix}-s1 type veth peer name hp0 netns {prefix}-s2")
            def good():
                st = control(socks["s1"], {"command": "status"})["status"]
                learned = [r for r in st.get("hotplug") or [] if r["action"] == "sibling-learned"]
                if not any(r["monotonic_ns"] > before for r in learned):
                    return None
                link = next((l for l in st["links"] if l["interface"] == "hp0"), None)
                return st if link and link["health"] == "GOOD" else None
            st = wait_for(5, f"hp0 GOOD (round {i + 1})", good)
            attached = [r for r in st["hotplug"] if r["action"] == "attached" and r["interface"] == "hp0"][-1]
            learned = [r for r in st["hotplug"] if r["action"] == "sibling-learned" and r["interface"] == "hp0"][-1]
            uevent = attached["uevent_monotonic_ns"]
            events = control(socks["s1"], {"command": "events"})["events"]
            goods = [e["monotonic_ns"] for e in events if e["kind"] == "health" and e.get("slave") == "hp0"
                     and e.get("health") == "GOOD" and e["monotonic_ns"] >= uevent]
            good_ns = min(goods)
            rows.append(((learned["monotonic_ns"] - uevent) / 1e6, (good_ns - uevent) / 1e6))
            print(f"round {i + 1:2d}: uevent -> sibling learned {rows[-1][0]:7.2f} ms, uevent -> GOOD backup {rows[-1][1]:7.2f} ms")
            sh(f"ip -n {prefix}-s1 link del hp0")
            wait_for(5, "hp0 detached", lambda: not any(l["interface"] == "hp0" for l in
                     control(socks["s1"], {"command": "status"})["status"]["links"] + control(socks["s2"], {"command": "status"})["status"]["links"]))
        med = statistics.median(r[1] for r in rows)
        print(f"hot-attach, uevent -> GOOD backup: median {med:.2f} ms, min {min(r[1] for r in rows):.2f}, max {max(r[1] for r in rows):.2f} "
              f"over {len(rows)} rounds (goal <= 200 ms): {'OK' if med <= 200 else 'MISSED'}")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        sh(f"source scripts/lib/net.sh && net_down {prefix}", check=False)
        sh(f"rm -rf {work}", check=False)

if __name__ == "__main__":
    main()
