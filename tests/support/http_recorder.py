#!/usr/bin/env python3
"""An HTTP server for the tests that records every request, on 127.0.0.1.

Each request is appended to LOG as one JSON line: method, path, headers (names in
lower case) and body (text). Prints "ready" once it listens.
usage: http_recorder.py PORT LOG [--status N] [--fail-first N] [--hang]
                        [--token-file FILE] [--cert CERT --key KEY]
--status N      answer N (default 200)
--fail-first N  answer 500 to the first N requests, then --status
--hang          read the request, record it, then never answer
--token-file F  answer 403 to a request without "Authorization: Bearer <F's text>"
                (a file, so that the token is in no process's argv)
--cert/--key    speak HTTPS with this certificate
"""
import argparse
import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

parser = argparse.ArgumentParser()
parser.add_argument("port", type=int)
parser.add_argument("log")
parser.add_argument("--status", type=int, default=200)
parser.add_argument("--fail-first", type=int, default=0)
parser.add_argument("--hang", action="store_true")
parser.add_argument("--token-file")
parser.add_argument("--cert")
parser.add_argument("--key")
args = parser.parse_args()
token = open(args.token_file).read().strip() if args.token_file else None
lock = threading.Lock()
seen = [0]


class Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        entry = {
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("utf-8", "replace"),
        }
        with lock:
            seen[0] += 1
            n = seen[0]
            with open(args.log, "a") as log:
                log.write(json.dumps(entry) + "\n")
        if args.hang:
            time.sleep(3600)
            return
        if token and self.headers.get("Authorization") != f"Bearer {token}":
            status = 403
        elif n <= args.fail_first:
            status = 500
        else:
            status = args.status
        answer = b'{"ok":true}\n'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_GET = do_POST = do_HEAD = handle_any

    def log_message(self, *_):
        pass


server = ThreadingHTTPServer(("127.0.0.1", args.port), Recorder)
server.daemon_threads = True
if args.cert:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
print("ready", flush=True)
server.serve_forever()
