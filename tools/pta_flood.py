#!/usr/bin/env python3
"""Sends a bounded flood of UDP datagrams to the PTA port, for the hostile-input
tests and the benchmark: junk (random bytes, or a PTA header with a bad MAC) or
one captured datagram replayed. Run it inside a test namespace; it stops by
itself after --seconds or --count, whichever comes first, and prints what it
sent as one JSON line.

  pta_flood.py --to 198.51.100.12 --rate 50000 --seconds 5
  pta_flood.py --to 169.254.77.2 --replay captured.bin --rate 20000 --seconds 3
"""
import argparse
import json
import os
import socket
import sys
import time


def junk(kind: str, sender: str, n: int) -> list:
    """`n` distinct datagrams: random bytes, or a well-formed PTA TAKEOVER from
    `sender` with random counters and a random MAC, which the receiver must
    parse all the way to the MAC check before it can refuse it."""
    name = sender.encode()
    out = []
    for _ in range(n):
        if kind == "header":
            head = b"HANT" + bytes([1, 1, 0, 0, len(name)]) + name + bytes([0])
            out.append(head + os.urandom(8 + 8 + 4) + bytes([0, 0]) + os.urandom(32))
        else:
            out.append(os.urandom(96))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--to", action="append", required=True, help="destination address (repeat for several)")
    ap.add_argument("--port", type=int, default=7377)
    ap.add_argument("--rate", type=int, default=50000, help="datagrams per second in all")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--count", type=int, default=10_000_000)
    ap.add_argument("--kind", choices=["random", "header"], default="header")
    ap.add_argument("--sender", default="s1", help="the sender named in --kind header datagrams")
    ap.add_argument("--replay", help="a file with one datagram's payload, sent again and again")
    ap.add_argument("--ready", help="touch this file once the first datagram is sent")
    a = ap.parse_args()

    if a.replay:
        with open(a.replay, "rb") as f:
            payloads = [f.read()]
    else:
        payloads = junk(a.kind, a.sender, 64)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    targets = [(t, a.port) for t in a.to]
    start = time.monotonic()
    end = start + a.seconds
    sent = errors = 0
    batch = max(1, a.rate // 1000)
    i = 0
    while sent < a.count:
        now = time.monotonic()
        if now >= end:
            break
        due = int((now - start) * a.rate)
        if sent >= due:
            time.sleep(min(0.001, end - now))
            continue
        for _ in range(min(batch, due - sent, a.count - sent)):
            try:
                s.sendto(payloads[i % len(payloads)], targets[i % len(targets)])
            except OSError:
                errors += 1
            i += 1
            sent += 1
        if a.ready and sent and not os.path.exists(a.ready):
            open(a.ready, "w").close()
    took = time.monotonic() - start
    print(json.dumps({"sent": sent, "errors": errors, "seconds": round(took, 3), "rate": round(sent / took) if took else 0}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
