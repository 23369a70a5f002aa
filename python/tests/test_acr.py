"""Azure Container Registry from Python, against the ACR contract server (which
Azure's own SDKs check in tests/contract/): both credential modes, a real delete, and
cross-account access refused before any request."""
import base64
import datetime
import json
import urllib.error
import urllib.request

import pytest

import artifact_registry as ar


def test_lifecycle_and_bearer_credentials(acr_server):
    registry = ar.ArtifactRegistry(acr_server["config"]())
    repo = registry.create_repository("py-app")
    assert (repo.name, repo.uri, repo.created_at) == ("team-a/py-app", f"{acr_server['host']}/team-a/py-app", None)
    assert registry.get_repository(repo.name).created_at is None  # exists by name only
    acr_server["control"]("/_contract/image", {"repository": "team-a/py-app", "tag": "v1"})
    assert registry.get_repository(repo.name).created_at is not None

    with pytest.raises(ar.NotSupportedError):
        registry.add_cross_account_access(repo.name, {"platform": "aws", "accountIds": ["111111111111"]})

    creds = registry.generate_credentials(repo.name, "pull", ttl_seconds=900)
    assert (creds.auth_method, creds.username) == ("bearer", "00000000-0000-0000-0000-000000000000")
    assert creds.password not in repr(creds)
    # The token pulls this repository's manifest.
    req = urllib.request.Request(f"{acr_server['endpoint']}/v2/team-a/py-app/manifests/v1", headers={"Authorization": f"Bearer {creds.password}"})
    assert urllib.request.urlopen(req).status == 200

    registry.delete_repository(repo.name)
    registry.delete_repository(repo.name)  # gone: success
    assert "team-a/py-app" not in acr_server["control"]("/_contract/state")["repositories"]


def test_scope_map_credentials_expire_at_the_ttl(acr_server):
    registry = ar.ArtifactRegistry(acr_server["config"](scopeMapTokens=True))
    acr_server["control"]("/_contract/image", {"repository": "team-a/py-app", "tag": "v1"})
    start = datetime.datetime.now(datetime.timezone.utc)
    creds = registry.generate_credentials("team-a/py-app", "pull", ttl_seconds=1200)
    assert creds.auth_method == "basic" and creds.username.startswith("ar-pull-")
    expires = datetime.datetime.fromisoformat(creds.expires_at)
    assert abs((expires - start).total_seconds() - 1200) <= 2
    # docker login style: Basic at the token endpoint, then pull.
    basic = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
    url = f"{acr_server['endpoint']}/oauth2/token?service={acr_server['host']}&scope=repository:team-a/py-app:pull"
    token = json.loads(urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": f"Basic {basic}"})).read())["access_token"]
    req = urllib.request.Request(f"{acr_server['endpoint']}/v2/team-a/py-app/manifests/v1", headers={"Authorization": f"Bearer {token}"})
    assert urllib.request.urlopen(req).status == 200


@pytest.mark.parametrize("fixture", ["client-aes256.p12", "client-legacy.p12", "client-encrypted.pem"])
def test_a_password_protected_client_certificate_from_the_environment(acr_server, monkeypatch, fixture):
    """AZURE_CLIENT_CERTIFICATE_PATH naming PKCS#12 or an encrypted PEM key, opened with
    AZURE_CLIENT_CERTIFICATE_PASSWORD, read from this process's files and environment
    (the native host); a wrong password is InvalidInputError naming the variable, and
    the password is in no message."""
    from conftest import CANARIES, REPO
    config = acr_server["config"]()
    azure = config["azure"]
    client_id = azure.pop("credentials")["clientId"]
    certificate = (REPO / "core" / "testdata" / "azure-test-cert.pem").read_text()
    acr_server["control"]("/_contract/configure", {"certificates": [certificate]})
    monkeypatch.setenv("AZURE_TENANT_ID", azure["tenantId"])
    monkeypatch.setenv("AZURE_CLIENT_ID", client_id)
    monkeypatch.setenv("AZURE_CLIENT_CERTIFICATE_PATH", str(REPO / "core" / "testdata" / fixture))
    monkeypatch.setenv("AZURE_CLIENT_CERTIFICATE_PASSWORD", CANARIES["certificatePassword"])
    registry = ar.ArtifactRegistry(config)
    who = registry.describe_credentials()
    assert (who["method"], who["principal"]) == ("EnvironmentCredential", client_id)
    assert registry.generate_credentials("team-a/web", "pull").auth_method == "bearer"

    monkeypatch.setenv("AZURE_CLIENT_CERTIFICATE_PASSWORD", "not-the-password")
    with pytest.raises(ar.InvalidInputError, match="AZURE_CLIENT_CERTIFICATE_PASSWORD") as refused:
        ar.ArtifactRegistry(config).describe_credentials()
    assert "not-the-password" not in f"{refused.value} {refused.value!r}"
