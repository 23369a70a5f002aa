"""A registry token server for tests, following the distribution token-auth spec
(docs/spec/auth/token.md and jwt.md of distribution/distribution): GET /token with
`service` and `scope` parameters and HTTP Basic credentials answers
{"token", "access_token", "expires_in", "issued_at"}, the token an RS256 JWT whose
`x5c` header carries the certificate the registry's `rootcertbundle` names.

Usage: token_server.py DIR USER PASSWORD. Writes DIR/token-cert.pem, prints one JSON
line {"port", "cert"}, serves until stdin closes. Wrong or missing credentials get
401 with an UNAUTHORIZED error body.
"""
import base64
import datetime
import json
import os
import secrets
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

ISSUER = "artifact-registry-tests-issuer"
LIFETIME = 300


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def main() -> None:
    directory, user, password = sys.argv[1], sys.argv[2], sys.argv[3]
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "artifact-registry-tests token signer")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = os.path.join(directory, "token-cert.pem")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def mint(subject: str, service: str, scopes: list) -> str:
        issued = int(datetime.datetime.now(datetime.timezone.utc).timestamp())
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            repo, _, actions = rest.rpartition(":")
            access.append({"type": kind, "name": repo, "actions": [a for a in actions.split(",") if a]})
        header = {"typ": "JWT", "alg": "RS256", "x5c": [x5c]}
        claims = {"iss": ISSUER, "sub": subject, "aud": service, "exp": issued + LIFETIME, "nbf": issued - 10,
                  "iat": issued, "jti": secrets.token_hex(16), "access": access}
        signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
        signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + b64url(signature)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def do_GET(self):
            url = urllib.parse.urlparse(self.path)
            if url.path != "/token":
                self.send_error(404)
                return
            if self.headers.get("Authorization") != expected:
                body = json.dumps({"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}).encode()
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            query = urllib.parse.parse_qs(url.query)
            token = mint(user, query.get("service", [""])[0], query.get("scope", []))
            issued = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            body = json.dumps({"token": token, "access_token": token, "expires_in": LIFETIME, "issued_at": issued}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps({"port": server.server_address[1], "cert": cert_path}), flush=True)
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
