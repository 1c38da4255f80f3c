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

With --kind tty the link is a serial line instead (ppp-serial, PPP over it):
each daemon runs with /dev/ttyS0 bound, in its own mount namespace, to one
end of a fresh socat pty pair per round, and the round starts with a real
kernel "add" uevent for ttyS0 (written to its sysfs uevent file, as
`udevadm trigger` does) and ends with "remove". There the time includes
PPP's LCP and IPCP and the ppp-echo detector's first reply.
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

def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))

def wait_for(seconds, what, cond):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.01)
    sys.exit(f"timed out after {seconds} s waiting for {what}")

HOTPLUG = '\n[hotplug]\nenabled = true\npriority = 10\n[[hotplug.allow]]\nname = "hp*"\n'
TTY_RULE = '[[hotplug.allow]]\nsubsystem = "tty"\nname = "ttyS0"\ntype = "ppp-serial"\ndetectors = ["ppp-echo"]\n'

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--bin", default=".build/debug", help="directory with hanet and the plugins")
    ap.add_argument("--kind", choices=["net", "tty"], default="net", help="a veth pair, or a serial line (PPP)")
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
                f.write(HOTPLUG + (TTY_RULE if a.kind == "tty" else ""))
            socks[node] = f"/run/hanet/{prefix}-{node}.sock"
            log = open(f"{work}/{node}.log", "w")
            procs.append(subprocess.Popen(["ip", "netns", "exec", f"{prefix}-{node}", f"{a.bin}/hanet", "run", "--config", cfg,
                                           "--socket", socks[node], "--plugins-dir", a.bin], stdout=log, stderr=log))
            wait_for(15, f"{node}'s daemon", lambda: os.path.exists(socks[node]) and control(socks[node], {"command": "status"}).get("ok"))
        wait_for(5, "s1 active", lambda: control(socks["s1"], {"command": "status"})["status"].get("active") == "eth0")
        link_name = "hpttyS0" if a.kind == "tty" else "hp0"
        s1_pid = procs[1].pid  # `ip netns exec` execs the daemon: same pid
        rss_start = rss_kb(s1_pid)
        rows = []
        for i in range(a.rounds):
            socat = None
            if a.kind == "tty":
                # A fresh null-modem cable per round, wired to each daemon's /dev/ttyS0.
                for end in ("s1", "s2"):
                    sh(f"rm -f {work}/tty-{end}")
                socat = subprocess.Popen(["socat", "-b", "65536", f"pty,raw,echo=0,link={work}/tty-s1",
                                          f"pty,raw,echo=0,link={work}/tty-s2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                procs.append(socat)
                wait_for(5, "socat's ptys", lambda: all(os.path.exists(f"{work}/tty-{e}") for e in ("s1", "s2")))
                for node, p in zip(["s2", "s1"], procs[:2]):
                    # The last round's pty is gone: unmount its stale bind first.
                    sh(f"nsenter -t {p.pid} -m sh -c 'umount /dev/ttyS0 2>/dev/null; mount --bind $(readlink -f {work}/tty-{node}) /dev/ttyS0'")
            before = max([r["monotonic_ns"] for r in (control(socks["s1"], {"command": "status"})["status"].get("hotplug") or [])
                          if r["action"] == "sibling-learned"], default=0)
            if a.kind == "tty":
                sh("echo add > /sys/class/tty/ttyS0/uevent")
            else:
                sh(f"ip link add hp0 netns {prefix}-s1 type veth peer name hp0 netns {prefix}-s2")
            def good():
                st = control(socks["s1"], {"command": "status"})["status"]
                learned = [r for r in st.get("hotplug") or [] if r["action"] == "sibling-learned"]
                if not any(r["monotonic_ns"] > before for r in learned):
                    return None
                link = next((l for l in st["links"] if l["interface"] == link_name), None)
                return st if link and link["health"] == "GOOD" else None
            st = wait_for(5, f"{link_name} GOOD (round {i + 1})", good)
            attached = [r for r in st["hotplug"] if r["action"] == "attached" and r["interface"] == link_name][-1]
            learned = [r for r in st["hotplug"] if r["action"] == "sibling-learned" and r["interface"] == link_name][-1]
            uevent = attached["uevent_monotonic_ns"]
            events = control(socks["s1"], {"command": "events"})["events"]
            goods = [e["monotonic_ns"] for e in events if e["kind"] == "health" and e.get("slave") == link_name
                     and e.get("health") == "GOOD" and e["monotonic_ns"] >= uevent]
            good_ns = min(goods)
            rows.append(((learned["monotonic_ns"] - uevent) / 1e6, (good_ns - uevent) / 1e6))
            print(f"round {i + 1:2d}: uevent -> sibling learned {rows[-1][0]:7.2f} ms, uevent -> GOOD backup {rows[-1][1]:7.2f} ms"
                  + (f"; s1 daemon RSS {rss_kb(s1_pid)} kB" if (i + 1) % 100 == 0 else ""))
            if a.kind == "tty":
                sh("echo remove > /sys/class/tty/ttyS0/uevent")
            else:
                sh(f"ip -n {prefix}-s1 link del hp0")
            wait_for(5, f"{link_name} detached", lambda: not any(l["interface"] == link_name for l in
                     control(socks["s1"], {"command": "status"})["status"]["links"] + control(socks["s2"], {"command": "status"})["status"]["links"]))
            if socat:
                socat.terminate()
                socat.wait(5)
                procs.remove(socat)
        print(f"s1 daemon RSS: {rss_start} kB before the first round, {rss_kb(s1_pid)} kB after {len(rows)} attach/detach rounds")
        med = statistics.median(r[1] for r in rows)
        print(f"hot-attach ({a.kind}), uevent -> GOOD backup: median {med:.2f} ms, min {min(r[1] for r in rows):.2f}, max {max(r[1] for r in rows):.2f} "
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
