"""azure-identity (MSAL) itself against the ACR contract server's Azure AD.

MSAL refuses plain-http authorities, so the server runs over TLS here with a
certificate made for 127.0.0.1 and trusted through REQUESTS_CA_BUNDLE. Client secrets
(`ClientSecretCredential`) and workload identity (`WorkloadIdentityCredential`, a
client assertion from a projected token file) must both get tokens the server's
registry accepts; a wrong secret and an untrusted assertion must be refused."""
import datetime
import ipaddress
import json
import os
import subprocess
import sys
import urllib.request

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

azure_identity = pytest.importorskip("azure.identity", reason="azure-identity is installed by scripts/test; without it there is no MSAL to check against")
from azure.core.exceptions import ClientAuthenticationError  # noqa: E402

from conftest import SERVERS  # noqa: E402

ACR_SCOPE = "https://containerregistry.azure.net/.default"


def self_signed(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


@pytest.fixture()
def tls_server(tmp_path, monkeypatch):
    cert, key = self_signed(tmp_path)
    env = dict(os.environ, CONTRACT_TLS_CERT=cert, CONTRACT_TLS_KEY=key)
    proc = subprocess.Popen([sys.executable, str(SERVERS / "acr_server.py")], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env=env)
    info = json.loads(proc.stdout.readline())
    info["base"] = f"https://127.0.0.1:{info['port']}"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", cert)
    info["ca"] = cert
    yield info
    proc.stdin.close()
    proc.wait(timeout=10)


def registry_accepts(server, aad_token):
    """The registry's own exchange takes the AAD token (signature, audience, tenant)."""
    import ssl
    import urllib.parse
    form = urllib.parse.urlencode({"grant_type": "access_token", "service": server["service"], "tenant": server["tenantId"],
                                   "access_token": aad_token}).encode()
    req = urllib.request.Request(server["base"] + "/oauth2/exchange", data=form,
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(req, context=ssl.create_default_context(cafile=server["ca"])) as r:
        return "refresh_token" in json.loads(r.read())


def test_client_secret_credential(tls_server):
    s = tls_server
    credential = azure_identity.ClientSecretCredential(s["tenantId"], s["clientId"], s["clientSecret"], authority=s["base"],
                                                       disable_instance_discovery=True)
    token = credential.get_token(ACR_SCOPE)
    assert token.expires_on > 0 and registry_accepts(s, token.token)

    wrong = azure_identity.ClientSecretCredential(s["tenantId"], s["clientId"], "not-the-secret", authority=s["base"],
                                                  disable_instance_discovery=True)
    with pytest.raises(ClientAuthenticationError, match="AADSTS7000215"):
        wrong.get_token(ACR_SCOPE)


def test_workload_identity_credential(tls_server, tmp_path):
    s = tls_server
    token_file = tmp_path / "azure-identity-token"
    token_file.write_text("projected-service-account-token")
    credential = azure_identity.WorkloadIdentityCredential(tenant_id=s["tenantId"], client_id=s["clientId"],
                                                           token_file_path=str(token_file), authority=s["base"],
                                                           disable_instance_discovery=True)
    with pytest.raises(ClientAuthenticationError, match="AADSTS70021"):
        credential.get_token(ACR_SCOPE)

    req = urllib.request.Request(s["base"] + "/_contract/configure", method="POST",
                                 data=json.dumps({"federatedAssertions": ["projected-service-account-token"]}).encode(),
                                 headers={"Content-Type": "application/json"})
    import ssl
    urllib.request.urlopen(req, context=ssl.create_default_context(cafile=s["ca"])).read()
    credential = azure_identity.WorkloadIdentityCredential(tenant_id=s["tenantId"], client_id=s["clientId"],
                                                           token_file_path=str(token_file), authority=s["base"],
                                                           disable_instance_discovery=True)
    assert registry_accepts(s, credential.get_token(ACR_SCOPE).token)


def test_certificate_credential(tls_server, tmp_path):
    """azure-identity's CertificateCredential (MSAL's RS256 assertion named by the
    certificate's SHA-1 thumbprint, `x5t`): what the core's AZURE_CLIENT_CERTIFICATE_PATH
    source sends too (tests/tests/acr_contract.rs)."""
    import ssl
    s = tls_server
    testdata = SERVERS.parent.parent / "core" / "testdata"
    certificate = (testdata / "azure-test-cert.pem").read_text()
    pem = tmp_path / "client.pem"
    pem.write_text(certificate + (testdata / "gcp-test-key.pem").read_text())
    credential = azure_identity.CertificateCredential(s["tenantId"], s["clientId"], certificate_path=str(pem),
                                                      authority=s["base"], disable_instance_discovery=True)
    with pytest.raises(ClientAuthenticationError, match="AADSTS70021"):
        credential.get_token(ACR_SCOPE)  # not registered yet: no certificate names it

    req = urllib.request.Request(s["base"] + "/_contract/configure", method="POST",
                                 data=json.dumps({"certificates": [certificate]}).encode(),
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, context=ssl.create_default_context(cafile=s["ca"])).read()
    credential = azure_identity.CertificateCredential(s["tenantId"], s["clientId"], certificate_path=str(pem),
                                                      authority=s["base"], disable_instance_discovery=True)
    assert registry_accepts(s, credential.get_token(ACR_SCOPE).token)

    # The PKCS#12 and encrypted-PEM fixtures the core reads (core/testdata/make-pkcs12.py)
    # open in azure-identity too, with the same password, as the same certificate.
    password = json.loads((SERVERS.parent / "canaries.json").read_text())["secrets"]["certificatePassword"]
    for name, pw in [("client-aes256.p12", password), ("client-3des.p12", password), ("client-legacy.p12", password),
                     ("client-encrypted.pem", password), ("client-nopass.p12", None)]:
        credential = azure_identity.CertificateCredential(
            s["tenantId"], s["clientId"], certificate_path=str(testdata / name), password=pw,
            authority=s["base"], disable_instance_discovery=True)
        assert registry_accepts(s, credential.get_token(ACR_SCOPE).token), name
