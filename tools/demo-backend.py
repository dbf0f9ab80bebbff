#!/usr/bin/env python3
"""Demo and test backend: a small HTTP/1.1 server (standard library only).

Every response is text/plain and says which port answered, the method, the path and the
request headers it received, so a client can see what a proxy forwarded:

    Server response, port 8000
    GET /service/ HTTP/1.1
    host: 127.0.0.1:8000
    ...

Usage: demo-backend.py [--bind ADDR] [--pidfile FILE] PORT [PORT ...]
Special paths: /slow?ms=N sleeps N ms before answering; /status/N answers with status N;
/redirect answers 302 with Location pointing at /service/target on this backend.
"""
import argparse
import http.server
import os
import signal
import socketserver
import sys
import threading
import time
import urllib.parse


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "demo-backend/1"

    def log_message(self, fmt, *args):  # quiet: tests read their own logs
        pass

    def _answer(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        body_in = self.rfile.read(length) if length > 0 else b""
        status = 200
        extra = []
        if url.path == "/slow":
            time.sleep(int(query.get("ms", ["1000"])[0]) / 1000.0)
        elif url.path.startswith("/status/"):
            status = int(url.path.rsplit("/", 1)[1])
        elif url.path == "/redirect":
            status = 302
            host = self.headers.get("Host", "localhost")
            extra.append(("Location", "http://%s/service/target" % host))
        port = self.server.server_address[1]
        lines = ["Server response, port %d" % port, "%s %s %s" % (self.command, self.path, self.request_version)]
        lines += ["%s: %s" % (k.lower(), v) for k, v in self.headers.items()]
        if body_in:
            lines.append("body-bytes: %d" % len(body_in))
        body = ("\n".join(lines) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Backend-Port", str(port))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = do_PATCH = _answer


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--pidfile")
    ap.add_argument("ports", nargs="+", type=int)
    args = ap.parse_args()
    servers = [Server((args.bind, p), Handler) for p in args.ports]
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    if args.pidfile:
        with open(args.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print("demo-backend listening on %s" % ", ".join("%s:%d" % (args.bind, p) for p in args.ports), flush=True)
    while not stop.wait(0.5):
        pass
    for s in servers:
        s.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
