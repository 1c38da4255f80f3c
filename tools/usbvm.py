#!/usr/bin/env python3
"""QEMU guests on Debian's kernel, for tests that need real USB drivers.

Each guest boots Debian's own kernel (package linux-image-amd64, fetched
with `apt-get download` into a cache and unpacked with dpkg-deb) from a
busybox initramfs, in software emulation (no KVM needed). The initramfs
loads the kernel modules the tests use, mounts this machine's root read-only
over 9p and runs every command chrooted into it, so a guest runs the freshly
built `hanet`, its plugins, iperf3 and python3 with Debian's libraries.

Per guest:
  eth0    virtio-net on a tap (the guest's public NIC), a port of a bridge in
          a test namespace; its carrier is cut and restored through QMP `set_link`
  usb0    a QEMU `usb-net` on an xHCI controller, bound to the kernel's
          cdc_ether (usbnet) driver; two guests' usb-nets are joined by a UDP
          socket netdev: a USB host-to-host cable
  ttyUSB0 a QEMU `usb-serial` (FTDI, the kernel's ftdi_sio), plugged at run
          time; two guests' adapters are joined by a TCP socket chardev: a
          null-modem cable between two USB serial adapters (QEMU attaches a
          usb-serial to the bus only while its chardev is connected)
Commands reach the guest over its second serial port (a unix socket); QMP
(`device_add`, `device_del`, `set_link`) over another.

    python3 tools/usbvm.py boot     boots one guest and prints what it sees
"""
import base64
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("USBVM_CACHE", os.path.join(REPO, ".build", "usb-vm"))
# What the guests need: 9p and virtio for the root, the public NIC, xHCI with
# usbnet/cdc_ether and ftdi_sio, and what `hanet run` needs (nf_tables with
# the netdev fwd statement, veth for the master, tun for ppp-serial).
MODULES = ["virtio_pci", "9pnet_virtio", "9p", "virtio_net", "xhci_pci", "cdc_ether", "ftdi_sio",
           "nf_tables", "nft_fwd_netdev", "veth", "tun"]

INIT = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
while read -r m; do insmod "/mods/$m" 2>/dev/null || echo "usbvm: insmod $m failed" >/dev/console; done </mods/order
mkdir -p /host
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 hostroot /host || echo "usbvm: 9p mount failed" >/dev/console
for d in proc sys dev; do mount --bind /$d /host/$d; done
mkdir -p /dev/pts
mount -t devpts devpts /host/dev/pts
# The guest's /tmp, /run and /var/tmp are its own; the tree under test is
# bound back over them when it lies there (a CI clone in /tmp).
repo=$(sed -n 's/.*usbvm.repo=\([^ ]*\).*/\1/p' /proc/cmdline)
mkdir -p /repo
[ -n "$repo" ] && mount --bind "/host$repo" /repo
for d in tmp run var/tmp; do mount -t tmpfs tmpfs /host/$d; done
if [ -n "$repo" ]; then mkdir -p "/host$repo" 2>/dev/null; mount --bind /repo "/host$repo" || echo "usbvm: cannot bind $repo" >/dev/console; fi
hostname "$(sed -n 's/.*usbvm.name=\([^ ]*\).*/\1/p' /proc/cmdline)"
ip link set lo up
stty -F /dev/ttyS1 raw -echo
# The command loop: a line "ID BASE64(command)" in, "ID STATUS BASE64(output)" out.
exec </dev/ttyS1 >/dev/ttyS1 2>&1
echo "usbvm-ready $(cut -d' ' -f1 /proc/uptime)"
while read -r id cmd; do
    out=$(echo "$cmd" | base64 -d | chroot /host /bin/sh 2>&1)
    rc=$?
    echo "$id $rc $(printf '%s' "$out" | base64 -w 0)"
done
"""


def run(cmd, **kw):
    p = subprocess.run(cmd, text=True, capture_output=True, **kw)
    if p.returncode != 0:
        raise RuntimeError("`%s` exited %d: %s" % (" ".join(cmd), p.returncode, (p.stderr or p.stdout)[-1000:]))
    return p.stdout


def kernel():
    """Debian's kernel and an initramfs with its modules: (vmlinuz, initrd), built once per cache."""
    os.makedirs(CACHE, exist_ok=True)
    # The meta package names the versioned image; apt-cache answers from the local lists.
    show = run(["apt-cache", "show", "--no-all-versions", "linux-image-amd64"])
    m = re.search(r"^Depends:.*?\b(linux-image-(\d[^\s,(]*-amd64))\b", show, re.M)
    if not m:
        raise RuntimeError("apt-cache show linux-image-amd64: no versioned linux-image in Depends:\n" + show)
    package, version = m.group(1), m.group(2)
    vmlinuz = os.path.join(CACHE, "vmlinuz-" + version)
    # Named by what goes into it, so a changed init or module list builds a new one.
    initrd = os.path.join(CACHE, "%s-%s.initrd" % (version, hashlib.sha256((INIT + " ".join(MODULES)).encode()).hexdigest()[:12]))
    if os.path.exists(initrd) and os.path.exists(vmlinuz):
        return vmlinuz, initrd
    debs = [f for f in os.listdir(CACHE) if f.startswith(package + "_") and f.endswith(".deb")]
    if not debs:
        try:
            run(["apt-get", "download", package], cwd=CACHE)
        except RuntimeError:
            # Lists older than the mirror name a file it no longer has: refresh them once.
            run(["apt-get", "update", "-qq"])
            run(["apt-get", "download", package], cwd=CACHE)
        debs = [f for f in os.listdir(CACHE) if f.startswith(package + "_") and f.endswith(".deb")]
    root = os.path.join(CACHE, version)
    subprocess.run(["rm", "-rf", root], check=True)
    run(["dpkg-deb", "-x", os.path.join(CACHE, debs[0]), root])
    run(["depmod", "-b", root, version])
    order = []
    for mod in MODULES:
        for line in run(["modprobe", "-d", root, "-S", version, "--show-depends", mod]).splitlines():
            if line.startswith("insmod ") and line.split()[1] not in order:
                order.append(line.split()[1])
    tree = os.path.join(CACHE, version + ".initramfs")
    subprocess.run(["rm", "-rf", tree], check=True)
    for d in ("bin", "mods", "proc", "sys", "dev"):
        os.makedirs(os.path.join(tree, d))
    subprocess.run(["cp", "/bin/busybox", os.path.join(tree, "bin", "busybox")], check=True)
    for ko in order:
        subprocess.run(["cp", ko, os.path.join(tree, "mods", os.path.basename(ko))], check=True)
    with open(os.path.join(tree, "mods", "order"), "w") as f:
        f.write("".join(os.path.basename(ko) + "\n" for ko in order))
    with open(os.path.join(tree, "init"), "w") as f:
        f.write(INIT)
    os.chmod(os.path.join(tree, "init"), 0o755)
    files = run(["find", ".", "-mindepth", "1"], cwd=tree)
    cpio = subprocess.run(["/bin/busybox", "cpio", "-o", "-H", "newc"], cwd=tree, input=files.encode(),
                          check=True, capture_output=True).stdout
    with open(initrd + ".tmp", "wb") as f:
        f.write(cpio)
    os.rename(initrd + ".tmp", initrd)
    # Only the kernel image, the initramfs and the package stay: the unpacked tree is 400 MB.
    subprocess.run(["cp", os.path.join(root, "boot", "vmlinuz-" + version), vmlinuz], check=True)
    subprocess.run(["rm", "-rf", root, tree], check=True)
    return vmlinuz, initrd


def qemu_works():
    """None if qemu-system-x86_64 can start a machine here, else why not."""
    try:
        p = subprocess.run(["qemu-system-x86_64", "-machine", "pc", "-accel", "tcg", "-nodefaults", "-display", "none",
                            "-S", "-qmp", "stdio"], input='{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n',
                           capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        return "qemu-system-x86_64 cannot start: %s" % e
    if '"QMP"' not in p.stdout:
        return "qemu-system-x86_64 cannot start a machine: exit %d: %s" % (p.returncode, (p.stderr or p.stdout)[-400:])
    return None


class QMP:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.file = self.sock.makefile("rwb", buffering=0)
        self.events = []
        self._read()  # the greeting
        self.cmd("qmp_capabilities")

    def _read(self):
        line = self.file.readline()
        if not line:
            raise RuntimeError("QMP connection closed")
        return json.loads(line)

    def cmd(self, command, **args):
        self.file.write((json.dumps({"execute": command, "arguments": args}) + "\n").encode())
        while True:
            msg = self._read()
            if "event" in msg:
                self.events.append(msg)
            elif "error" in msg:
                raise RuntimeError("QMP %s %s: %s" % (command, args, msg["error"].get("desc")))
            elif "return" in msg:
                return msg["return"]


class Guest:
    """One QEMU guest. `usb_ports` are (local, remote) UDP ports on the namespace's loopback:
    the USB cable. `serial` is (TCP port, listens): the serial cable, one end listening."""

    def __init__(self, name, work, netns, tap, index, usb_ports, serial, memory_mb=640):
        self.name, self.work, self.netns, self.tap, self.index = name, work, netns, tap, index
        self.usb_ports, self.serial, self.memory_mb = usb_ports, serial, memory_mb
        self.proc, self.qmp, self.ctl, self.seq = None, None, None, 0
        self.boot_s = None

    def path(self, f):
        return os.path.join(self.work, "%s-%s" % (self.name, f))

    def usb_net_device(self):
        return {"driver": "usb-net", "id": "un0", "netdev": "usbnet", "bus": "xhci.0",
                "mac": "52:54:00:55:00:%02x" % self.index}

    def usb_serial_device(self):
        return {"driver": "usb-serial", "id": "ftdi0", "chardev": "ser", "bus": "xhci.0"}

    def start(self, vmlinuz, initrd, usb_net=True):
        u, (sport, listens) = self.usb_ports, self.serial
        # The guest's clock from HPET, which QEMU drives from the host's clock: without KVM the
        # kernel often fails to calibrate the TSC against the PIT (seen: a guest's uptime at twice
        # the wall time under load), and every timer of the daemon would run at that rate.
        args = ["qemu-system-x86_64", "-machine", "pc", "-accel", "tcg", "-cpu", "max", "-smp", "1",
                "-m", str(self.memory_mb), "-nodefaults", "-display", "none", "-no-reboot",
                "-kernel", vmlinuz, "-initrd", initrd,
                "-append", "console=ttyS0 panic=-1 loglevel=5 clocksource=hpet tsc=unstable usbvm.name=%s usbvm.repo=%s" % (self.name, REPO),
                "-serial", "file:" + self.path("console.log"),
                "-chardev", "socket,id=ctl,path=%s,server=on,wait=off" % self.path("ctl.sock"),
                "-serial", "chardev:ctl",
                "-qmp", "unix:%s,server=on,wait=off" % self.path("qmp.sock"),
                "-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
                "-netdev", "tap,id=pub,ifname=%s,script=no,downscript=no" % self.tap,
                "-device", "virtio-net-pci,netdev=pub,romfile=,mac=52:54:00:00:00:%02x" % self.index,
                "-device", "qemu-xhci,id=xhci",
                "-netdev", "socket,id=usbnet,udp=127.0.0.1:%d,localaddr=127.0.0.1:%d" % (u[1], u[0]),
                "-chardev", "socket,id=ser,host=127.0.0.1,port=%d,%s" % (sport, "server=on,wait=off" if listens else "reconnect=1")]
        if usb_net:
            d = self.usb_net_device()
            args += ["-device", ",".join([d.pop("driver")] + ["%s=%s" % kv for kv in d.items()])]
        self.started = time.monotonic()
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.netns] + args, stdin=subprocess.DEVNULL,
                                     stdout=open(self.path("qemu.out"), "w"), stderr=subprocess.STDOUT)

    def connect(self, timeout=60):
        """Connects QMP and the command channel, before the guest can print anything:
        what the guest writes to its serial port while nobody is connected is lost."""
        end = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("%s: qemu exited %d: %s" % (self.name, self.proc.returncode, self.tail("qemu.out")))
            try:
                if self.qmp is None:
                    self.qmp = QMP(self.path("qmp.sock"))
                if self.ctl is None:
                    ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    ctl.connect(self.path("ctl.sock"))
                    self.ctl, self.ctlf = ctl, ctl.makefile("rwb", buffering=0)
                return
            except (FileNotFoundError, ConnectionRefusedError, ConnectionResetError):
                if time.monotonic() > end:
                    raise RuntimeError("%s: qemu's sockets never appeared" % self.name)
                time.sleep(0.05)

    def wait_ready(self, timeout=240):
        """Waits for the command loop; returns the guest's uptime then (s), the kernel's boot to its shell."""
        self.ctl.settimeout(max(1.0, timeout - (time.monotonic() - self.started)))
        while True:
            try:
                line = self.ctlf.readline().decode(errors="replace")
            except socket.timeout:
                raise RuntimeError("%s: no command loop after %d s; console:\n%s" % (self.name, timeout, self.tail("console.log")))
            if not line:
                raise RuntimeError("%s: the command channel closed; console:\n%s" % (self.name, self.tail("console.log")))
            if line.startswith("usbvm-ready"):
                self.boot_s = float(line.split()[1])
                return self.boot_s

    def sh(self, command, timeout=120, check=True):
        """Runs `command` with /bin/sh in the guest (chrooted into the host's root); returns (status, output)."""
        self.seq += 1
        self.ctl.settimeout(timeout)
        self.ctlf.write(("%d %s\n" % (self.seq, base64.b64encode(command.encode()).decode())).encode())
        while True:
            try:
                line = self.ctlf.readline().decode(errors="replace").strip()
            except socket.timeout:
                raise RuntimeError("%s: `%s` gave no answer in %d s" % (self.name, command, timeout))
            if not line:
                raise RuntimeError("%s: command channel closed; console:\n%s" % (self.name, self.tail("console.log")))
            parts = line.split(" ")
            if len(parts) >= 2 and parts[0] == str(self.seq):
                status = int(parts[1])
                out = base64.b64decode(parts[2]).decode(errors="replace") if len(parts) > 2 else ""
                if check and status != 0:
                    raise RuntimeError("%s: `%s` exited %d: %s" % (self.name, command, status, out[-2000:]))
                return status, out

    def spawn(self, command, log):
        """Starts `command` in the background in the guest; its output goes to the guest's /tmp/LOG."""
        self.sh("setsid sh -c %s >/tmp/%s 2>&1 </dev/null & echo $! >/tmp/%s.pid" % (shquote("exec " + command), log, log))

    def write(self, path, text, mode="644"):
        """Writes a file in the guest (its /tmp is its own, not the host's)."""
        self.sh("echo %s | base64 -d >%s && chmod %s %s" % (base64.b64encode(text.encode()).decode(), path, mode, path))

    def kill(self, log):
        """Ends what `spawn` started with output LOG, by its pid, and waits until it is gone.
        The guest's init (a shell) does not reap orphans, so an ended process stays a zombie: state Z counts as gone."""
        self.sh("p=$(cat /tmp/%s.pid) && kill $p && "
                "while s=$(sed 's/.*) //' /proc/$p/stat 2>/dev/null) && [ \"${s%%%% *}\" != Z ]; do sleep 0.05; done" % log)

    def tail(self, f, n=3000):
        try:
            with open(self.path(f), errors="replace") as fh:
                return fh.read()[-n:]
        except OSError:
            return ""

    def stop(self):
        for c in (self.ctl,):
            try:
                c and c.close()
            except OSError:
                pass
        if self.proc and self.proc.poll() is None:
            try:
                self.qmp and self.qmp.cmd("quit")
            except (OSError, RuntimeError):
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def shquote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def main():
    if len(sys.argv) != 2 or sys.argv[1] != "boot":
        print(__doc__)
        return 2
    why = qemu_works()
    if why:
        print(why)
        return 1
    t = time.monotonic()
    vmlinuz, initrd = kernel()
    print("kernel and initramfs: %s %s (%.1f s)" % (vmlinuz, initrd, time.monotonic() - t))
    work = "/tmp/usbvm-boot-%d" % os.getpid()
    os.makedirs(work)
    ns = "uvboot%d" % os.getpid()
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        subprocess.run(["ip", "-n", ns, "tuntap", "add", "dev", "t0", "mode", "tap"], check=True)
        subprocess.run(["ip", "-n", ns, "addr", "add", "198.18.0.1/32", "dev", "t0"], check=True)  # see test-usb-vm.py
        g = Guest("s1", work, ns, "t0", 1, (40001, 40002), (40011, True))
        g.start(vmlinuz, initrd)
        g.connect()
        print("boot: %.1f s (guest uptime %.1f s)" % (g.wait_ready() and time.monotonic() - g.started, g.boot_s))
        for c in ["uname -r", "readlink /sys/class/net/usb0/device/driver", "cat /sys/class/net/usb0/device/../speed",
                  "ip -br link", "time -p %s/.build/debug/hanet --version" % REPO]:
            t = time.monotonic()
            st, out = g.sh(c, check=False)
            print("$ %s  [%d, %.2f s]\n%s" % (c, st, time.monotonic() - t, out))
        g.stop()
    finally:
        subprocess.run(["ip", "netns", "del", ns])
    return 0


if __name__ == "__main__":
    sys.exit(main())
