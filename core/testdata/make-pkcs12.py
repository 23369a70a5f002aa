"""Writes the PKCS#12 and encrypted-PEM fixtures of core/testdata from
gcp-test-key.pem and azure-test-cert.pem, with the `certificatePassword` canary of
tests/canaries.json, in each encryption the reader in core/src/auth/pkcs12.rs takes:

  client-aes256.p12      PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC), MAC SHA-256:
                         what OpenSSL 3 and `cryptography` write by default
  client-3des.p12        PKCS#12 PBE with SHA-1 and 3DES for key and certificates,
                         MAC SHA-1: what older tools and Windows write
  client-legacy.p12      3DES key, RC2-40 certificates (`openssl pkcs12 -legacy`)
  client-nopass.p12      no password: unencrypted key and certificates, MAC with
                         the empty password
  client-encrypted.pem   the certificate and a PBES2-encrypted PKCS#8 key

Run it with a Python that has `cryptography` and an `openssl` with the legacy
provider: python3 core/testdata/make-pkcs12.py. The outputs are committed; the tests
do not run this.
"""
import json
import pathlib
import subprocess

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12

HERE = pathlib.Path(__file__).resolve().parent
PASSWORD = json.loads((HERE.parent.parent / "tests" / "canaries.json").read_text())["secrets"]["certificatePassword"]
key = serialization.load_pem_private_key((HERE / "gcp-test-key.pem").read_bytes(), None)
cert = x509.load_pem_x509_certificate((HERE / "azure-test-cert.pem").read_bytes())
name = b"artifact-registry-tests"


def write(path, encryption):
    (HERE / path).write_bytes(pkcs12.serialize_key_and_certificates(name, key, cert, None, encryption))


write("client-aes256.p12", serialization.BestAvailableEncryption(PASSWORD.encode()))
write("client-3des.p12", serialization.PrivateFormat.PKCS12.encryption_builder().kdf_rounds(2048)
      .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC).hmac_hash(hashes.SHA1()).build(PASSWORD.encode()))
write("client-nopass.p12", serialization.NoEncryption())
subprocess.run(["openssl", "pkcs12", "-export", "-legacy", "-inkey", HERE / "gcp-test-key.pem",
                "-in", HERE / "azure-test-cert.pem", "-name", name.decode(), "-passout", f"pass:{PASSWORD}",
                "-out", HERE / "client-legacy.p12"], check=True)
encrypted_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.BestAvailableEncryption(PASSWORD.encode()))
(HERE / "client-encrypted.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM) + encrypted_key)
