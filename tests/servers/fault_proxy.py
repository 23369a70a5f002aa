"""A fault-injecting HTTP reverse proxy for the reliability tests (loopback only).

    python fault_proxy.py http://127.0.0.1:<upstream port>

Clients are configured with the proxy's address as their endpoint; it forwards each
request unchanged (the Host header included, so SigV4 signatures still verify) to
the upstream server and relays the answer, unless a scripted rule matches the
request. Rules are tried in order; the first that matches and has uses left is
used up and applied:

    {"method": "POST", "path": "regex", "header": ["X-Amz-Target", "substring"],
     "headers": [[name, substring], ...], "fault": "<kind>", "times": 1, "seconds": 1}

(`header` is one condition, `headers` any number; all must hold.)

Kinds, answered without forwarding (the server never sees the request):
  "500", "503"        that status, with a JSON error body
  "429"               429 with `Retry-After: <seconds>`
  "reset-before"      the connection is reset
and after forwarding (the server has applied the request):
  "reset-after"       the connection is reset instead of the answer (response lost)
  "truncate"          the headers and half of the body, then the connection closes
  "slow-body"         the headers and one byte, then a stall of <seconds> before the rest
  "malformed"         the status and headers, with the body replaced by broken JSON/XML
  "content-type"      200 with `Content-Type: text/html` and an HTML page (a middlebox)
  "empty"             200 with the server's headers and an empty body
  "missing-fields"    200 with `Content-Type: application/json` and the body `{}`

Control (not forwarded): `POST /_fault/script` replaces the rules with the body's
list, `GET /_fault/log` returns every forwarded or faulted request as
`{"method", "path", "target", "fault"}` and clears it. Prints `{"port": N}` when
ready and stops when stdin closes.
"""
import http.client
import json
import re
import socket
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from contract_http import read_body

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


class State:
    def __init__(self, upstream):
        url = urllib.parse.urlsplit(upstream)
        self.upstream = (url.hostname, url.port)
        self.lock = threading.Lock()
        self.rules = []
        self.log = []

    def take(self, method, path, headers):
        with self.lock:
            for rule in self.rules:
                if rule.get("times", 1) <= 0:
                    continue
                if rule.get("method") and rule["method"] != method:
                    continue
                if rule.get("path") and not re.search(rule["path"], path):
                    continue
                wanted = ([rule["header"]] if rule.get("header") else []) + rule.get("headers", [])
                if any(needle not in (headers.get(name) or "") for name, needle in wanted):
                    continue
                rule["times"] = rule.get("times", 1) - 1
                return rule
        return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None

    def log_message(self, *args):
        pass

    def reset(self):
        # SO_LINGER with a zero timeout: close() sends RST, not FIN.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def answer(self, status, headers, body, *, write=None):
        self.send_response_only(status)
        for name, value in headers:
            if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                self.send_header(name, value)
        length = dict((k.lower(), v) for k, v in headers).get("content-length") if self.command == "HEAD" else None
        self.send_header("Content-Length", length or str(len(body)))
        self.end_headers()
        (write or self.wfile.write)(body)

    def forward(self, body):
        conn = http.client.HTTPConnection(*self.state.upstream, timeout=60)
        conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for name, value in self.headers.items():
            if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        payload = response.read()
        conn.close()
        return response.status, response.getheaders(), payload

    def handle_one(self):
        body = read_body(self.rfile, self.headers)
        if self.path.startswith("/_fault/"):
            return self.control(body)
        rule = self.state.take(self.command, self.path, self.headers)
        kind = rule["fault"] if rule else None
        seconds = rule.get("seconds", 1) if rule else 0
        with self.state.lock:
            self.state.log.append({"method": self.command, "path": self.path,
                                   "target": self.headers.get("X-Amz-Target"), "fault": kind})
        if kind in ("500", "503"):
            return self.answer(int(kind), [("Content-Type", "application/json")],
                               json.dumps({"error": {"code": int(kind), "message": "injected fault"}}).encode())
        if kind == "429":
            return self.answer(429, [("Content-Type", "application/json"), ("Retry-After", str(seconds))],
                               json.dumps({"__type": "ThrottlingException", "message": "injected throttle"}).encode())
        if kind == "reset-before":
            return self.reset()
        status, headers, payload = self.forward(body)
        if kind == "reset-after":
            return self.reset()
        if kind == "truncate":
            self.send_response_only(status)
            for name, value in headers:
                if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(max(len(payload), 2)))
            self.end_headers()
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            return self.reset()
        if kind == "slow-body":
            def trickle(data):
                self.wfile.write(data[:1])
                self.wfile.flush()
                time.sleep(seconds)
                self.wfile.write(data[1:])
            return self.answer(status, headers, payload or b" ", write=trickle)
        if kind == "malformed":
            xml = any(k.lower() == "content-type" and "xml" in v for k, v in headers)
            return self.answer(status, headers, b"<Error><Code>Broken" if xml else b'{"broken": [1, 2,')
        if kind == "empty":
            return self.answer(200, headers, b"")
        if kind == "missing-fields":
            kept = [(k, v) for k, v in headers if k.lower() != "content-type"]
            return self.answer(200, kept + [("Content-Type", "application/json")], b"{}")
        if kind == "content-type":
            kept = [(k, v) for k, v in headers if k.lower() != "content-type"]
            return self.answer(200, kept + [("Content-Type", "text/html")],
                               b"<html><body><h1>Service temporarily unavailable</h1></body></html>")
        return self.answer(status, headers, payload)

    def control(self, body):
        if self.path == "/_fault/script":
            with self.state.lock:
                self.state.rules = json.loads(body or b"[]")
            return self.answer(200, [("Content-Type", "application/json")], b"{}")
        if self.path == "/_fault/log":
            with self.state.lock:
                log, self.state.log = self.state.log, []
            return self.answer(200, [("Content-Type", "application/json")], json.dumps(log).encode())
        return self.answer(404, [], b"")

    def do_any(self):
        try:
            self.handle_one()
        except (ConnectionError, OSError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_any


def main():
    Handler.state = State(sys.argv[1])
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
