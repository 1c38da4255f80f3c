#!/usr/bin/env python3
"""Runs inside a usbvm guest: polls the daemon's status over its control
socket until a condition holds, then tells the test host with UDP datagrams.

The host times the datagram's arrival on its own clock, so "device_add to
GOOD" is measured on one clock, without the guest's command channel (a
serial port, tens of ms per line under emulation) in the way.

    usbvm_watch.py SOCKET HOST PORT TAG (--good IFACE | --active IFACE) [--timeout S]

--good IFACE    the link is present and GOOD
--active IFACE  the link is the master's active slave
The datagram is "TAG <guest CLOCK_MONOTONIC ns>", sent 3 times 10 ms apart
(a failover in progress may drop one). Exits 1 on timeout.
"""
import argparse
import json
import socket
import sys
import time


def status(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    s.sendall(b'{"command":"status"}\n')
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return json.loads(data)["status"]


def holds(st, args):
    if args.active:
        return st.get("active") == args.active
    return any(l["interface"] == args.good and l["health"] == "GOOD" for l in st["links"])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("socket")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("tag")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--good")
    g.add_argument("--active")
    p.add_argument("--timeout", type=float, default=60)
    args = p.parse_args()
    end = time.monotonic() + args.timeout
    print("watching", flush=True)
    while time.monotonic() < end:
        try:
            if holds(status(args.socket), args):
                break
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.005)
    else:
        print("timed out", flush=True)
        return 1
    msg = ("%s %d" % (args.tag, time.monotonic_ns())).encode()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(3):
        try:
            u.sendto(msg, (args.host, args.port))
        except OSError:
            pass
        time.sleep(0.01)
    print(msg.decode(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
