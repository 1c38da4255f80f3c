#!/usr/bin/env python3
"""A small keep-alive HTTP/1.1 server for scenario tests and the demo: one
thread per connection, fixed-size bodies (`/bytes/N`), so wrk and curl have
a real server to talk to inside a namespace."""
import argparse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        n = 100
        if self.path.startswith("/bytes/"):
            try:
                n = max(0, min(int(self.path[7:]), 10 << 20))
            except ValueError:
                n = 100
        body = b"h" * n
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bind", required=True)
    p.add_argument("--port", type=int, default=8080)
    a = p.parse_args()
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 1024
    srv = ThreadingHTTPServer((a.bind, a.port), Handler)
    print("ready", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
