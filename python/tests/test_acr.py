"""Azure Container Registry from Python, against the ACR contract server (which
Azure's own SDKs check in tests/contract/): both credential modes, a real delete, and
cross-account pull through ABAC role assignments (a grantee with its own identity
pulls the granted repository and nothing else)."""
import base64
import datetime
import json
import urllib.error
import urllib.parse
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

    with pytest.raises(ar.InvalidInputError):
        registry.add_cross_account_access(repo.name, {"platform": "aws", "accountIds": ["111111111111"]})
    # A registry in RBAC-only mode has no repository-scoped grants.
    with pytest.raises(ar.NotSupportedError, match="rbac-abac"):
        registry.add_cross_account_access(repo.name, ar.CrossAccountAccess("azure", principal_ids=[GRANTEES[0][1]]))

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


# Grantee applications: (client id, object id of their service principal).
GRANTEES = [(f"9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6{i}", f"3f2e1d0c-9b8a-4c7d-8e6f-5a4b3c2d1e0{i}") for i in range(8)]


def _abac(acr_server):
    acr_server["control"]("/_contract/configure", {"roleAssignmentMode": "AbacRepositoryPermissions",
                                                   "servicePrincipals": [{"clientId": c, "objectId": o} for c, o in GRANTEES]})
    for repo in ("team-a/web", "team-a/api"):
        acr_server["control"]("/_contract/image", {"repository": repo, "tag": "v1"})


def _grantee(acr_server, client_id):
    config = acr_server["config"]()
    config["azure"]["credentials"]["clientId"] = client_id
    return ar.ArtifactRegistry(config)


def _status(acr_server, method, repo, creds, body=None):
    req = urllib.request.Request(f"{acr_server['endpoint']}/v2/{repo}/manifests/{'v2' if body else 'v1'}", data=body, method=method,
                                 headers={"Authorization": f"Bearer {creds.password}", "Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    try:
        return urllib.request.urlopen(req).status
    except urllib.error.HTTPError as e:
        return e.code


def test_abac_grant_pull_for_another_identity_and_revoke(acr_server):
    _abac(acr_server)
    owner = ar.ArtifactRegistry(acr_server["config"]())
    client_id, principal = GRANTEES[0]
    owner.add_cross_account_access("team-a/web", ar.CrossAccountAccess("azure", principal_ids=[principal.upper()]))
    got = owner.get_cross_account_access("team-a/web")
    assert (got.access.platform, got.access.principal_ids, got.access.allowed_service_types) == ("azure", [principal], [])
    assert got.last_updated is not None
    assert got.access.to_dict() == {"platform": "azure", "principalIds": [principal], "allowedServiceTypes": []}

    grantee = _grantee(acr_server, client_id)
    assert _status(acr_server, "GET", "team-a/web", grantee.generate_credentials("team-a/web", "pull")) == 200
    assert _status(acr_server, "GET", "team-a/api", grantee.generate_credentials("team-a/api", "pull")) == 401
    push = grantee.generate_credentials("team-a/web", "push-pull")
    assert _status(acr_server, "PUT", "team-a/web", push, body=b"{}") == 401

    owner.remove_cross_account_access("team-a/web", {"platform": "azure", "principalIds": [principal]})
    assert owner.get_cross_account_access("team-a/web").access.principal_ids == []
    revoked = _grantee(acr_server, client_id)
    assert _status(acr_server, "GET", "team-a/web", revoked.generate_credentials("team-a/web", "pull")) == 401

    # Bad grants never leave Python: typed errors before any request.
    before = len(acr_server["control"]("/_contract/state")["requests"])
    for bad in ({"platform": "azure", "principalIds": ["nope"]}, {"platform": "azure", "principalIds": [principal, principal.upper()]},
                {"platform": "azure", "principalIds": [principal], "allowedServiceTypes": ["worker"]}):
        with pytest.raises(ar.InvalidInputError):
            owner.add_cross_account_access("team-a/web", bad)
    assert len(acr_server["control"]("/_contract/state")["requests"]) == before


def test_abac_eight_concurrent_adds_from_asyncio_all_stay_and_foreign_assignments_survive(acr_server):
    import asyncio
    _abac(acr_server)
    # Someone else's look-alike: our condition's prefix form, for the first grantee.
    state = acr_server["control"]("/_contract/state")
    registry_id = next(iter(state["roleAssignments"].values()))["properties"]["scope"]
    form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": acr_server["config"]()["azure"]["credentials"]["clientId"],
                                   "client_secret": acr_server["config"]()["azure"]["credentials"]["clientSecret"],
                                   "scope": "https://management.azure.com/.default"}).encode()
    tenant = acr_server["config"]()["azure"]["tenantId"]
    token = json.load(urllib.request.urlopen(urllib.request.Request(f"{acr_server['endpoint']}/{tenant}/oauth2/v2.0/token", data=form)))["access_token"]
    look_alike = ("((!(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/content/read'}) AND "
                  "!(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/metadata/read'})) OR "
                  "(@Request[Microsoft.ContainerRegistry/registries/repositories:name] StringStartsWithIgnoreCase 'team-a/web'))")
    body = json.dumps({"properties": {"roleDefinitionId": registry_id.split("/resourceGroups/")[0] + "/providers/Microsoft.Authorization/roleDefinitions/b93aa761-3e63-49ed-ac28-beffa264f7ac",
                                      "principalId": GRANTEES[0][1], "principalType": "ServicePrincipal", "condition": look_alike,
                                      "conditionVersion": "2.0", "description": "artifact-registry: cross-account pull of the repository team-a/web"}}).encode()
    req = urllib.request.Request(f"{acr_server['endpoint']}{registry_id}/providers/Microsoft.Authorization/roleAssignments/a1000000-0000-4000-8000-000000000001?api-version=2022-04-01",
                                 data=body, method="PUT", headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert urllib.request.urlopen(req).status == 201
    foreign = acr_server["control"]("/_contract/state")["roleAssignments"]["a1000000-0000-4000-8000-000000000001"]

    async def main():
        registry = ar.AsyncArtifactRegistry(acr_server["config"]())
        await asyncio.gather(*[registry.add_cross_account_access("team-a/web", {"platform": "azure", "principalIds": [p]}) for _, p in GRANTEES])
        got = await registry.get_cross_account_access("team-a/web")
        await asyncio.gather(*[registry.remove_cross_account_access("team-a/web", {"platform": "azure", "principalIds": [p]}) for _, p in GRANTEES[:4]])
        return got, await registry.get_cross_account_access("team-a/web")

    got, after = asyncio.run(main())
    assert got.access.principal_ids == sorted(p for _, p in GRANTEES)
    assert after.access.principal_ids == sorted(p for _, p in GRANTEES[4:])
    assert acr_server["control"]("/_contract/state")["roleAssignments"]["a1000000-0000-4000-8000-000000000001"] == foreign
