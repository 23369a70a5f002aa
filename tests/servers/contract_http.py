"""HTTP plumbing shared by the contract servers: a request handler that reads
Content-Length and chunked bodies (wasi:http sends bodies chunked), records every
request but test-control ones, routes under the state's lock, and turns a raised
`Reply` into a response; and `serve`, which prints the ready line and serves on
127.0.0.1 until stdin closes."""
import json
import os
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def read_body(rfile, headers):
    """A request's body, sent with Content-Length or chunked."""
    if "chunked" in (headers.get("Transfer-Encoding") or "").lower():
        out = b""
        while True:
            size = int(rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return out
            out += rfile.read(size)
            rfile.readline()
    n = int(headers.get("Content-Length") or 0)
    return rfile.read(n) if n else b""


class Reply(Exception):
    """Raised to answer at once: `Reply(status, payload[, headers[, content_type]])`."""


class ContractHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None  # set by serve(); has `lock` and `requests`
    content_type = "application/json; charset=UTF-8"

    def log_message(self, *args):
        pass

    def read_body(self):
        return read_body(self.rfile, self.headers)

    def send(self, status, payload=None, headers=(), content_type=None, head=False):
        body = payload if isinstance(payload, bytes) else (b"" if payload is None else json.dumps(payload).encode())
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", content_type or self.content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in self.extra_headers():
            self.send_header(k, v)
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def extra_headers(self):
        return ()

    def route(self, method, path, query, body):
        raise NotImplementedError

    def dispatch(self, method):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        body = self.read_body()
        with self.state.lock:
            if not url.path.startswith("/_contract/"):
                self.state.requests.append({"method": method, "path": url.path, "query": url.query,
                                            "auth": (self.headers.get("Authorization") or "").split(" ")[0]})
            try:
                result = self.route(method, url.path, query, body)
            except Reply as r:
                result = r.args
        status, payload, *rest = result
        self.send(status, payload, *rest, head=(method == "HEAD"))

    def do_GET(self):
        self.dispatch("GET")

    def do_HEAD(self):
        self.dispatch("HEAD")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_DELETE(self):
        self.dispatch("DELETE")


def serve(handler, make_state, ready):
    """Serves `handler` on a free loopback port with `make_state(port)` as its state,
    prints `ready(state)` as one JSON line, and stops when stdin closes."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    port = server.server_address[1]
    # CONTRACT_TLS_CERT / CONTRACT_TLS_KEY (PEM files) serve https instead, for clients
    # that refuse plain http (azure-identity's MSAL).
    if os.environ.get("CONTRACT_TLS_CERT"):
        import ssl
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(os.environ["CONTRACT_TLS_CERT"], os.environ["CONTRACT_TLS_KEY"])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    handler.state = make_state(port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps({"port": port, **ready(handler.state)}), flush=True)
    sys.stdin.read()
    server.shutdown()
