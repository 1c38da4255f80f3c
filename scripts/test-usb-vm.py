#!/usr/bin/env python3
"""USB links on real drivers: two QEMU guests (tools/usbvm.py) running `hanet`.

  client ── br0 (namespace PREFIX-lan) ──┬── tap s1t ── s1:eth0 (virtio-net)
                                         └── tap s2t ── s2:eth0
  s1:usb0 (usb-net, cdc_ether) ══ UDP socket netdev ══ s2:usb0     a USB host-to-host cable
  s1:ttyUSB0 (usb-serial, ftdi_sio) ══ TCP chardev ══ s2:ttyUSB0   a serial cable (hot-plug only)

Scenarios (each prints PASS/FAIL with its figures):
  usb-link  usb0 claimed by the usbnet plugin through the real cdc_ether
            driver (no override), its speed from sysfs; s1's public NIC loses
            carrier, s2 carries s1 over usb0 while an iperf3 stream and a 1 kHz
            TCP stream run from the client; the heal
  hotplug   with both daemons running, the usb-net device and the FTDI
            adapter are plugged through QEMU's monitor: each becomes a GOOD
            backup (timed from device_add, PPP on ftdi_sio's tty); the usb-net
            device is unplugged while it carries s1's traffic: immediate
            failover to the serial link
The last line is "usb-vm: N passed, N failed"; exit status 1 if any failed,
or if qemu cannot run here (that is a failure, never a skip).

    python3 scripts/test-usb-vm.py [--bin .build/debug] [--only usb-link|hotplug]
"""
import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tools"))
import usbvm  # noqa: E402

CLIENT = "198.51.100.50"
S1, S2 = "198.51.100.11", "198.51.100.12"
SOCK = "/run/hanet/hanet.sock"
NOTIFY_PORT = 7400
GUEST_KEY = "/tmp/pta.key"


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def wait_until(seconds, what, fn, every=0.2):
    end = time.monotonic() + seconds
    last = None
    while time.monotonic() < end:
        try:
            if fn():
                return
        except (RuntimeError, ValueError, KeyError, TypeError) as e:
            last = e
        time.sleep(every)
    raise Fail("timed out after %g s waiting for %s%s" % (seconds, what, " (last error: %s)" % last if last else ""))


def sh(cmd, check_=True):
    p = subprocess.run(cmd, shell=True, text=True, capture_output=True)
    if check_ and p.returncode != 0:
        raise RuntimeError("`%s` exited %d: %s" % (cmd, p.returncode, p.stderr + p.stdout))
    return p.stdout


class Rig:
    """The namespaces, the two guests and the notification listener of one run."""

    def __init__(self, bin_dir):
        self.bin = os.path.abspath(bin_dir)
        self.prefix = "uv%04x" % random.randrange(1 << 16)
        self.work = "/tmp/usbvm-" + self.prefix
        os.makedirs(self.work)
        self.lan, self.client = self.prefix + "-lan", self.prefix + "-client"
        self.guests = {}
        self.notes, self.notes_cv = {}, threading.Condition()
        self.listener = None

    def up(self, vmlinuz, initrd):
        for n in (self.lan, self.client):
            sh("ip netns add %s && ip -n %s link set lo up" % (n, n))
        sh("ip -n %s link add br0 type bridge forward_delay 0 stp_state 0 && ip -n %s link set br0 up" % (self.lan, self.lan))
        # QEMU resolves its chardevs' 127.0.0.1 with AI_ADDRCONFIG, which fails in a
        # namespace whose only IPv4 address is on lo: br0 gets one of its own.
        sh("ip -n %s addr add 198.18.0.1/32 dev br0" % self.lan)
        sh("ip link add c0 netns %s type veth peer name cl netns %s" % (self.client, self.lan))
        sh("ip -n %s link set cl master br0 up && ip -n %s link set c0 up && ip -n %s addr add %s/24 dev c0"
           % (self.lan, self.client, self.client, CLIENT))
        for t in ("s1t", "s2t"):
            sh("ip -n %s tuntap add dev %s mode tap && ip -n %s link set %s master br0 up" % (self.lan, t, self.lan, t))
        self.key_text = os.urandom(32).hex() + "\n"
        # The USB cable's UDP ports (its own, the other guest's) and the serial cable's TCP port
        # (s1 listens), on the lan namespace's loopback.
        self.guests["s1"] = usbvm.Guest("s1", self.work, self.lan, "s1t", 1, (41001, 41002), (41011, True))
        self.guests["s2"] = usbvm.Guest("s2", self.work, self.lan, "s2t", 2, (41002, 41001), (41011, False))
        t = time.monotonic()
        for g in self.guests.values():
            g.start(vmlinuz, initrd)
        for g in self.guests.values():
            g.connect()
        boots = {n: g.wait_ready() for n, g in self.guests.items()}
        boots["both"] = time.monotonic() - t
        self.clock_base = {n: self.guest_clock(n) for n in self.guests}
        self.listener = subprocess.Popen(
            ["ip", "netns", "exec", self.client, sys.executable, "-u", "-c",
             "import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
             "s.bind(('%s',%d))\nprint('ready')\n"
             "while True:\n d=s.recv(512).decode(errors='replace').split()\n"
             " if len(d)==2 and d[1].isdigit(): print(d[0],d[1],time.monotonic())" % (CLIENT, NOTIFY_PORT)],
            stdout=subprocess.PIPE, text=True)
        check(self.listener.stdout.readline().strip() == "ready", "the notification listener did not start")
        threading.Thread(target=self._listen, daemon=True).start()
        return boots

    def guest_clock(self, node):
        """(this host's CLOCK_MONOTONIC, the guest's uptime) around one command, in s."""
        t0 = time.monotonic()
        up = float(self.guests[node].sh("cut -d' ' -f1 /proc/uptime")[1])
        return (t0 + time.monotonic()) / 2, up

    def check_clocks(self):
        """The guests' clocks run at the host's rate (within 2 %), so the daemons' timers and the
        figures taken on a guest's clock mean what they say."""
        for n, (h0, g0) in self.clock_base.items():
            h1, g1 = self.guest_clock(n)
            rate = (g1 - g0) / (h1 - h0)
            check(abs(rate - 1) < 0.02, "%s's clock ran at %.3f of the host's over %.0f s" % (n, rate, h1 - h0))

    def _listen(self):
        for line in self.listener.stdout:
            tag, guest_ns, host_s = line.split()
            with self.notes_cv:
                self.notes.setdefault(tag, (float(host_s), int(guest_ns)))
                self.notes_cv.notify_all()

    def down(self):
        for g in self.guests.values():
            g.stop()
        if self.listener:
            self.listener.kill()
            self.listener.wait()
        for n in (self.lan, self.client):
            pids = sh("ip netns pids %s" % n, check_=False).split()
            for p in pids:
                try:
                    os.kill(int(p), 9)
                except OSError:
                    pass
            sh("ip netns del %s" % n, check_=False)
        sh("rm -rf %s" % self.work, check_=False)

    # --- the client side
    def client_spawn(self, name, cmd):
        out = open(os.path.join(self.work, name + ".out"), "w")
        return subprocess.Popen(["ip", "netns", "exec", self.client, "sh", "-c", cmd], stdout=out,
                                stderr=subprocess.STDOUT, cwd=REPO)

    def output(self, name):
        with open(os.path.join(self.work, name + ".out")) as f:
            return f.read()

    # --- the guests
    def config(self, node, usb_link):
        """`node`'s config in the guest, with the key: scripts/lib/net.sh's, with eth0 its only public
        link, and either its private link priv0 turned into usb0 (its type left to the link
        plugins' probe) or, without `usb_link`, hot-plug (HOTPLUG) in its place. Returns its path there."""
        other, other_addr = ("s2", S2) if node == "s1" else ("s1", S1)
        path = os.path.join(self.work, node + ".toml")
        sh("bash -c 'source %s/scripts/lib/net.sh && net_config %s %s %s %s'"
           % (REPO, self.prefix, node, path, GUEST_KEY if usb_link else ""))
        with open(path) as f:
            text = f.read()
        eth1 = '[[link]]\ninterface = "eth1"\ntype = "ethernet"\nrole = "public"\ndetectors = ["carrier"]\n'
        priv0 = 'interface = "priv0"\ntype = "ethernet"\n'
        check(eth1 in text and (priv0 in text) == usb_link, "scripts/lib/net.sh's config changed shape:\n" + text)
        text = text.replace(eth1, "")
        text = text.replace(priv0, 'interface = "usb0"\n') if usb_link else \
            text + HOTPLUG.format(other=other, key=GUEST_KEY, other_addr=other_addr)
        g = self.guests[node]
        g.write(GUEST_KEY, self.key_text, mode="600")
        g.write("/tmp/hanet.toml", text)
        return "/tmp/hanet.toml"

    def start_daemon(self, node, config):
        g = self.guests[node]
        g.spawn("%s/hanet run --config %s --socket %s --plugins-dir %s" % (self.bin, config, SOCK, self.bin), "daemon.log")

        def answers():
            if g.sh("kill -0 $(cat /tmp/daemon.log.pid)", check=False)[0] != 0:
                raise Fail("the daemon on %s exited: %s" % (node, self.daemon_log(node)))
            return g.sh("%s/hanet status --socket %s" % (self.bin, SOCK), check=False)[0] == 0
        wait_until(60, "the daemon on %s to answer" % node, answers)

    def stop_daemon(self, node):
        g = self.guests[node]
        g.kill("daemon.log")

    def status(self, node):
        """The daemon's status over its control socket. socat rather than `hanet status --json`:
        the debug CLI takes about 2 s to start under emulation, socat a few ms."""
        out = self.guests[node].sh("echo '{\"command\":\"status\"}' | socat -t 5 - UNIX-CONNECT:%s" % SOCK)[1]
        answer = json.loads(out)
        if not answer.get("ok"):
            raise RuntimeError("%s: status refused: %s" % (node, out))
        return answer["status"]

    def link(self, node, ifname):
        return next((l for l in self.status(node)["links"] if l["interface"] == ifname), None)

    def daemon_log(self, node):
        return self.guests[node].sh("tail -c 3000 /tmp/daemon.log", check=False)[1]

    def watch(self, node, tag, condition):
        """Starts usbvm_watch.py in `node`; the listener gets TAG when `condition` holds."""
        g = self.guests[node]
        g.spawn("python3 %s/tools/usbvm_watch.py %s %s %d %s %s" % (REPO, SOCK, CLIENT, NOTIFY_PORT, tag, condition),
                "watch-%s.log" % tag)
        wait_until(30, "the watcher %s on %s" % (tag, node),
                   lambda: "watching" in g.sh("cat /tmp/watch-%s.log" % tag, check=False)[1])

    def noted(self, tag, timeout):
        """When TAG arrived, on this host's CLOCK_MONOTONIC (s)."""
        return self.noted_both(tag, timeout)[0]

    def noted_both(self, tag, timeout):
        """(arrival on this host's clock in s, the guest's CLOCK_MONOTONIC in ns when the condition held)."""
        end = time.monotonic() + timeout
        with self.notes_cv:
            while tag not in self.notes:
                if not self.notes_cv.wait(max(0, end - time.monotonic())) and time.monotonic() >= end:
                    raise Fail("no notification %s within %g s" % (tag, timeout))
            return self.notes[tag]

    def set_link(self, node, up):
        self.guests[node].qmp.cmd("set_link", name="pub", up=up)


HOTPLUG = """
[hotplug]
enabled = true
sibling = "{other}"

[[hotplug.allow]]
subsystem = "net"
name = "usb*"
driver = "cdc_ether"

[[hotplug.allow]]
subsystem = "tty"
name = "ttyUSB*"
driver = "ftdi_sio"
type = "ppp-serial"
detectors = ["ppp-echo"]

[[sibling]]
name = "{other}"
key_file = "{key}"
addresses = ["{other_addr}/32"]
"""


def start_traffic(rig, seconds):
    """iperf3 (2 Mbit/s) and the 1 kHz TCP request/response stream from the client to s1."""
    s1 = rig.guests["s1"]
    s1.spawn("iperf3 -s -1 -B %s -p 5201" % S1, "iperf3-s.log")
    s1.spawn("python3 %s/tools/probe.py server --bind %s" % (REPO, S1), "probe-s.log")
    wait_until(30, "iperf3 and the probe server on s1", lambda: "ready" in s1.sh("cat /tmp/probe-s.log")[1]
               and ":5201" in s1.sh("ss -tlnH")[1])
    iperf = rig.client_spawn("iperf3", "iperf3 -c %s -p 5201 -t %d -b 2M -J" % (S1, seconds))
    probe = rig.client_spawn("probe-tcp", "python3 tools/probe.py tcp --to %s --duration %d" % (S1, seconds))
    wait_until(20, "iperf3 and the probe connected", lambda: len(
        [l for l in s1.sh("ss -tnH state established '( sport = :5201 or sport = :9001 )'")[1].splitlines() if l]) >= 3)
    return iperf, probe


def traffic_survived(rig, iperf, probe, seconds):
    """Waits for both streams; fails unless both ran to their end without an error. Returns the probe's result."""
    for p in (iperf, probe):
        try:
            p.wait(seconds + 30)
        except subprocess.TimeoutExpired:
            p.kill()
            raise Fail("a client stream did not end")
    out = rig.output("iperf3")
    check(iperf.returncode == 0 and '"error"' not in out, "iperf3 failed: %s" % out[-600:])
    received = json.loads(out)["end"]["sum_received"]["bytes"]
    check(received > seconds * 2e6 / 8 * 0.6, "iperf3 moved %d bytes in %d s at 2 Mbit/s" % (received, seconds))
    result = json.loads(rig.output("probe-tcp").strip().splitlines()[-1])
    check(result["error"] is None, "the 1 kHz TCP stream broke: %s" % result)
    check(result["requests"] >= seconds * 1000 * 0.5, "the 1 kHz TCP stream answered only %d requests" % result["requests"])
    return result


def throughput(rig, seconds=4):
    """An unthrottled iperf3 from the client to s1 on a port of its own: Mbit/s received."""
    s1 = rig.guests["s1"]
    s1.spawn("iperf3 -s -1 -B %s -p 5202" % S1, "iperf3-m.log")
    wait_until(20, "iperf3 on :5202", lambda: ":5202" in s1.sh("ss -tlnH")[1])
    out = sh("ip netns exec %s iperf3 -c %s -p 5202 -t %d -J" % (rig.client, S1, seconds))
    return json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e6


def scenario_usb_link(rig, figures):
    s1, s2 = rig.guests["s1"], rig.guests["s2"]
    for g in (s1, s2):
        driver = g.sh("basename $(readlink /sys/class/net/usb0/device/driver)")[1].strip()
        check(driver == "cdc_ether", "%s: usb0's driver is %r, not cdc_ether" % (g.name, driver))
    speed = s1.sh("cat /sys/class/net/usb0/device/../speed")[1].strip()
    rig.start_daemon("s2", rig.config("s2", usb_link=True))
    rig.start_daemon("s1", rig.config("s1", usb_link=True))
    wait_until(30, "usb0 GOOD on both", lambda: all(rig.link(n, "usb0")["health"] == "GOOD" for n in ("s1", "s2")))
    link = rig.link("s1", "usb0")
    check(link["type"] == "usbnet", "usb0 claimed as %r, not usbnet" % link["type"])
    check(link["role"] == "private" and link["layer"] == "L2", "usb0: %s" % link)
    check(link["speed_bps"] == int(speed) * 1000000, "usb0 speed %d bps; sysfs says %s Mbit/s" % (link["speed_bps"], speed))
    text = s1.sh("%s/hanet status --socket %s" % (rig.bin, SOCK))[1]
    usb_line = next((l for l in text.splitlines() if "usb0" in l and "usbnet" in l), None)
    check(usb_line is not None, "`hanet status` does not show usb0 as usbnet:\n" + text)
    figures["usb0"] = "cdc_ether, sysfs speed %s Mbit/s; hanet status: %s" % (speed, usb_line.strip())
    figures["throughput_eth0_mbit"] = round(throughput(rig), 1)

    seconds = 22
    iperf, probe = start_traffic(rig, seconds)
    rig.watch("s1", "cut", "--active usb0")
    t_cut = time.monotonic()
    rig.set_link("s1", False)
    figures["carrier_cut_to_active_usb0_ms"] = round((rig.noted("cut", 30) - t_cut) * 1000)
    wait_until(20, "s1 served by s2 over usb0", lambda: (lambda st: st["active"] == "usb0" and
               (st["pta"].get("served_by") or {}).get("state") == "served")(rig.status("s1")))
    st = rig.status("s1")
    figures["fault_to_takeover_acked_ms"] = round(
        (st["pta"]["served_by"]["answered_monotonic_ns"] - st["last_switch"]["trigger_monotonic_ns"]) / 1e6)
    serving = rig.status("s2")["pta"]["serving"]
    check(serving and serving[0]["link"] == "usb0", "s2 serves %s" % serving)
    figures["throughput_usb_mbit"] = round(throughput(rig), 1)
    rig.set_link("s1", True)
    wait_until(20, "failback to eth0 and release", lambda: rig.status("s1")["active"] == "eth0"
               and not rig.status("s2")["pta"]["serving"])
    result = traffic_survived(rig, iperf, probe, seconds)
    figures["tcp_1khz_longest_stall_ms"] = result["longest_stall_ms"]
    rig.check_clocks()
    for n in ("s2", "s1"):
        rig.stop_daemon(n)
    s1.kill("probe-s.log")


def attach(rig, device, ifname, figures, key):
    """device_add on both guests back to back; the time until each side reports `ifname` GOOD."""
    for n in ("s1", "s2"):
        rig.watch(n, "%s-%s" % (key, n), "--good " + ifname)
    t0 = time.monotonic()
    for n in ("s1", "s2"):
        g = rig.guests[n]
        g.qmp.cmd("device_add", **getattr(g, device)())
    notes = {n: rig.noted_both("%s-%s" % (key, n), 60) for n in ("s1", "s2")}
    figures[key + "_attach_ms"] = {n: round((host - t0) * 1000) for n, (host, _) in notes.items()}
    # The part after the kernel announced the netdev or tty (the daemon's uevent stamp, the
    # guest's clock): the rest of the attach time is USB enumeration and the driver's probe.
    records = [r for r in rig.status("s1").get("hotplug") or [] if r["action"] == "attached" and r.get("uevent_monotonic_ns")]
    check(records, "s1 has no hot-plug record of the attach")
    figures[key + "_uevent_to_good_ms_s1"] = round((notes["s1"][1] - records[-1]["uevent_monotonic_ns"]) / 1e6)


def scenario_hotplug(rig, figures):
    s1, s2 = rig.guests["s1"], rig.guests["s2"]
    for g in (s1, s2):
        g.qmp.cmd("device_del", id="un0")
    wait_until(30, "usb0 gone from both", lambda: all(
        g.sh("test -e /sys/class/net/usb0", check=False)[0] != 0 for g in (s1, s2)))
    rig.start_daemon("s2", rig.config("s2", usb_link=False))
    rig.start_daemon("s1", rig.config("s1", usb_link=False))
    wait_until(20, "both active on eth0", lambda: all(rig.status(n)["active"] == "eth0" for n in ("s1", "s2")))

    attach(rig, "usb_net_device", "usb0", figures, "usb0")
    link = rig.link("s1", "usb0")
    check(link["type"] == "usbnet" and link["speed_bps"] == 12_000_000, "hot usb0: %s" % link)
    check(rig.status("s1")["active"] == "eth0", "usb0 must be a backup")
    attach(rig, "usb_serial_device", "hpttyUSB0", figures, "ftdi")
    driver = s1.sh("basename $(readlink /sys/class/tty/ttyUSB0/device/driver)")[1].strip()
    check(driver == "ftdi_sio", "ttyUSB0's driver is %r" % driver)
    link = rig.link("s1", "hpttyUSB0")
    check(link["type"] == "ppp-serial" and link["layer"] == "L3", "hot hpttyUSB0: %s" % link)

    seconds = 20
    iperf, probe = start_traffic(rig, seconds)
    rig.set_link("s1", False)
    wait_until(20, "s1 served by s2 over usb0", lambda: (lambda st: st["active"] == "usb0" and
               (st["pta"].get("served_by") or {}).get("state") == "served")(rig.status("s1")))
    rig.watch("s1", "detach", "--active hpttyUSB0")
    t0 = time.monotonic()
    s1.qmp.cmd("device_del", id="un0")
    figures["usb0_detach_to_failover_ms"] = round((rig.noted("detach", 30) - t0) * 1000)
    switch = rig.status("s1")["last_switch"]
    # At once: the switch is made in the step that sees usb0 go, not after a detector's timeout.
    check(switch["from"] == "usb0" and switch["to"] == "hpttyUSB0", "s1's last switch: %s" % switch)
    figures["detach_trigger_to_done_ms"] = round(switch["trigger_to_done_us"] / 1000, 1)
    check(switch["trigger_to_done_us"] < 1_000_000, "the switch away from the unplugged usb0 took %s" % switch)
    wait_until(20, "s1 served over the serial link", lambda: (rig.status("s2")["pta"]["serving"] or [{}])[0].get("link") == "hpttyUSB0")
    rig.set_link("s1", True)
    wait_until(20, "failback to eth0 and release", lambda: rig.status("s1")["active"] == "eth0"
               and not rig.status("s2")["pta"]["serving"])
    result = traffic_survived(rig, iperf, probe, seconds)
    figures["hotplug_tcp_1khz_longest_stall_ms"] = result["longest_stall_ms"]
    rig.check_clocks()
    check(rig.link("s1", "usb0") is None, "the unplugged usb0 must leave s1's links")
    s1.qmp.cmd("device_del", id="ftdi0")
    wait_until(30, "hpttyUSB0 detached on s1", lambda: rig.link("s1", "hpttyUSB0") is None)


SCENARIOS = [("usb-link", scenario_usb_link), ("hotplug", scenario_hotplug)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(REPO, ".build", "debug"))
    ap.add_argument("--only", choices=[n for n, _ in SCENARIOS])
    args = ap.parse_args()
    passed = failed = 0
    rig = None
    t_start = time.monotonic()
    try:
        not_run = None
        try:
            why = usbvm.qemu_works()
            if why:
                raise Fail(why)
            t = time.monotonic()
            vmlinuz, initrd = usbvm.kernel()
            print("usb-vm: Debian kernel %s and initramfs ready in %.1f s" % (os.path.basename(vmlinuz), time.monotonic() - t))
            rig = Rig(args.bin)
            boots = rig.up(vmlinuz, initrd)
            print("usb-vm: both guests booted in parallel in %.1f s (kernel to command loop: s1 %.1f s, s2 %.1f s)"
                  % (boots["both"], boots["s1"], boots["s2"]))
            passed += 1
            print("PASS boot (software emulation, usb0 on xHCI)")
        except Exception as e:  # noqa: BLE001 — any failure to start is a failed test, never a skip
            failed += 1
            not_run = "the guests did not boot"
            print("FAIL boot: %s" % e)
            for g in (rig.guests.values() if rig else []):
                print("%s console:\n%s" % (g.name, g.tail("console.log")))
        for name, fn in SCENARIOS:
            if args.only and name != args.only:
                continue
            if not_run:
                failed += 1
                print("FAIL %s: not run: %s" % (name, not_run))
                continue
            figures = {}
            t = time.monotonic()
            try:
                fn(rig, figures)
                passed += 1
                print("PASS %s (%.1f s) %s" % (name, time.monotonic() - t, json.dumps(figures)))
            except Exception as e:  # noqa: BLE001
                failed += 1
                # The scenarios share the guests: after a failure their state is unknown.
                not_run = "%s failed before it" % name
                print("FAIL %s (%.1f s): %s %s" % (name, time.monotonic() - t, e, json.dumps(figures)))
                for n in ("s1", "s2"):
                    print("--- %s console:\n%s" % (n, rig.guests[n].tail("console.log")))
                    try:
                        print("--- %s daemon log:\n%s" % (n, rig.daemon_log(n)))
                    except Exception as e:  # noqa: BLE001
                        print("--- %s daemon log: %s" % (n, e))
    finally:
        if rig:
            rig.down()
    print("usb-vm: total %.1f s" % (time.monotonic() - t_start))
    print("usb-vm: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
