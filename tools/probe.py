#!/usr/bin/env python3
"""Probes that measure what a client sees during a failover.

server      UDP echo and TCP echo on one address (run inside the server's namespace).
udp         1 kHz UDP request/response: the path outage is the longest gap
            between two answers (what HANet controls).
tcp         1 kHz TCP request/response on one connection: the longest stall,
            which includes TCP's 200 ms minimum retransmission timeout when a
            segment is lost in the fault. A reset or error is reported.
stream      one TCP bulk stream from the server to the client, its received
            bytes counted in --bin-ms bins on CLOCK_MONOTONIC (time.monotonic),
            the clock the daemons' status timestamps use: a throughput
            timeline that lines up with faults and switches.
The clients print one JSON object. Run time is bounded by --duration; SIGINT
ends the udp client sooner, with the results so far.
"""
import argparse, json, socket, struct, sys, threading, time


def family(address):
    """IPv6 for an address with a colon (2001:db8::11), IPv4 otherwise."""
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def server(args):
    u = socket.socket(family(args.bind), socket.SOCK_DGRAM)
    u.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    u.bind((args.bind, args.udp_port))
    t = socket.socket(family(args.bind), socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((args.bind, args.tcp_port))
    t.listen(64)

    def udp_loop():
        while True:
            data, peer = u.recvfrom(2048)
            u.sendto(data, peer)

    def tcp_conn(c):
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    return
                c.sendall(d)
        except OSError:
            return
        finally:
            c.close()

    def source_loop():
        src = socket.socket(family(args.bind), socket.SOCK_STREAM)
        src.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        src.bind((args.bind, args.stream_port))
        src.listen(16)
        chunk = b"s" * (256 << 10)
        while True:
            c, _ = src.accept()
            threading.Thread(target=source_conn, args=(c, chunk), daemon=True).start()

    def source_conn(c, chunk):
        try:
            while True:
                c.sendall(chunk)
        except OSError:
            return
        finally:
            c.close()

    threading.Thread(target=udp_loop, daemon=True).start()
    threading.Thread(target=source_loop, daemon=True).start()
    print("ready", flush=True)
    while True:
        c, _ = t.accept()
        threading.Thread(target=tcp_conn, args=(c,), daemon=True).start()


def pace(start, i, period):
    target = start + i * period
    d = target - time.monotonic()
    if d > 0:
        time.sleep(d)


def udp_client(args):
    s = socket.socket(family(args.to), socket.SOCK_DGRAM)
    s.connect((args.to, args.port))
    s.settimeout(0.2)
    period = 1.0 / args.rate
    replies = []
    stop = threading.Event()

    def rx():
        while not stop.is_set():
            try:
                d = s.recv(64)
            except socket.timeout:
                continue
            except OSError:
                continue
            replies.append((time.monotonic(), struct.unpack("!Q", d[:8])[0]))
            if len(replies) == 1 and args.say_answered:
                print("answered", file=sys.stderr, flush=True)

    th = threading.Thread(target=rx, daemon=True)
    th.start()
    start = time.monotonic()
    n = int(args.duration * args.rate)
    sent = 0
    try:
        for i in range(n):
            pace(start, i, period)
            try:
                s.send(struct.pack("!Qd", i, time.monotonic()))
                sent += 1
            except OSError:
                pass
    except KeyboardInterrupt:
        pass  # SIGINT ends the run before --duration: a caller that knows when its experiment is over needs no fixed length
    time.sleep(0.3)
    stop.set()
    th.join()
    times = sorted(t for t, _ in replies)
    gaps = [b - a for a, b in zip(times, times[1:])]
    worst = max(gaps) if gaps else args.duration
    at = times[gaps.index(worst)] - start if gaps else 0
    # The 500 longest gaps of 2 ms or more, on CLOCK_MONOTONIC (time.monotonic),
    # so a caller can find the one around a fault whose time the daemon reports.
    long_gaps = sorted(((b - a, a, b) for a, b in zip(times, times[1:]) if b - a >= 0.002), reverse=True)[:500]
    print(json.dumps({"probe": "udp", "sent": sent, "received": len(set(q for _, q in replies)),
                      "lost": sent - len(set(q for _, q in replies)),
                      "longest_gap_ms": round(worst * 1000, 3), "gap_at_s": round(at, 3),
                      "gaps_monotonic_s": sorted([round(a, 6), round(b, 6)] for _, a, b in long_gaps),
                      "replies_monotonic_s": [round(times[0], 6), round(times[-1], 6)] if times else None}))


def tcp_client(args):
    c = socket.create_connection((args.to, args.port), timeout=5)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c.settimeout(10)
    period = 1.0 / args.rate
    start = time.monotonic()
    n = int(args.duration * args.rate)
    worst, worst_at, done, error = 0.0, 0.0, 0, None
    msg = b"x" * 64
    for i in range(n):
        pace(start, i, period)
        t0 = time.monotonic()
        try:
            c.sendall(msg)
            got = 0
            while got < len(msg):
                d = c.recv(len(msg) - got)
                if not d:
                    raise ConnectionError("connection closed by the server")
                got += len(d)
        except (OSError, ConnectionError) as e:
            error = "%s: %s" % (type(e).__name__, e)
            break
        rtt = time.monotonic() - t0
        if rtt > worst:
            worst, worst_at = rtt, t0 - start
        done += 1
    c.close()
    print(json.dumps({"probe": "tcp", "requests": done, "error": error,
                      "longest_stall_ms": round(worst * 1000, 3), "stall_at_s": round(worst_at, 3)}))


def stream_client(args):
    c = socket.create_connection((args.to, args.port), timeout=5)
    c.settimeout(10)
    buf = bytearray(1 << 20)
    bin_s = args.bin_ms / 1000
    start = time.monotonic()
    bins = [0] * int(args.duration / bin_s + 1)
    error = None
    while True:
        try:
            n = c.recv_into(buf)
        except OSError as e:
            error = "%s: %s" % (type(e).__name__, e)
            break
        now = time.monotonic()
        if n == 0:
            error = "connection closed by the server"
            break
        i = int((now - start) / bin_s)
        if i >= len(bins):
            break
        bins[i] += n
    c.close()
    print(json.dumps({"probe": "stream", "start_monotonic_s": start, "bin_ms": args.bin_ms,
                      "bytes": bins, "error": error}))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("server")
    s.add_argument("--bind", required=True)
    s.add_argument("--udp-port", type=int, default=9000)
    s.add_argument("--tcp-port", type=int, default=9001)
    s.add_argument("--stream-port", type=int, default=9002)
    for name, port in (("udp", 9000), ("tcp", 9001), ("stream", 9002)):
        c = sub.add_parser(name)
        c.add_argument("--to", required=True)
        c.add_argument("--port", type=int, default=port)
        c.add_argument("--rate", type=float, default=1000)
        c.add_argument("--duration", type=float, default=5)
        c.add_argument("--bin-ms", type=float, default=20)
        c.add_argument("--say-answered", action="store_true",
                       help="udp: print 'answered' on stderr at the first answer, so a caller can wait for the path before a fault")
    a = p.parse_args()
    {"server": server, "udp": udp_client, "tcp": tcp_client, "stream": stream_client}[a.mode](a)


if __name__ == "__main__":
    main()
