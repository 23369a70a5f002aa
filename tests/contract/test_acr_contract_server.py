"""Azure's own clients against the ACR contract server (tests/servers/acr_server.py):
a server that azure-containerregistry or azure-mgmt-containerregistry would reject
cannot pass.

The data plane goes through the SDK's own challenge, `/oauth2/exchange` and
`/oauth2/token` dance (plain http needs `enforce_https=False` on each call, as the
reference describes); the credential is a trivial `TokenCredential` that asks the
server's AAD endpoint for a real client-credentials token (azure-identity refuses
an http authority). The management plane creates a scope map and a token and
generates a password through the SDK's LRO poller; the password then works as docker
would use it (Basic at `/oauth2/token`), pulls, and cannot push. azure-mgmt-authorization
writes, reads, lists and deletes ABAC role assignments, and the data plane honours them
for another principal through azure-containerregistry.
"""
import base64
import datetime
import json
import urllib.error
import urllib.parse
import urllib.request

import pytest
from azure.containerregistry import ContainerRegistryClient
from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.authorization.models import RoleAssignmentCreateParameters
from azure.mgmt.containerregistry import ContainerRegistryManagementClient
from azure.mgmt.containerregistry import models



@pytest.fixture()
def server(start_server):
    return start_server("acr_server.py")


def http(method, url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


class ServerCredential:
    """A TokenCredential that gets client-credentials tokens from the server's AAD."""

    def __init__(self, server, client_id=None):
        self.server = server
        self.client_id = client_id or server["clientId"]
        self.scopes = []

    def get_token(self, *scopes, **kwargs):
        self.scopes.extend(scopes)
        form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": self.client_id,
                                       "client_secret": self.server["clientSecret"], "scope": scopes[0]}).encode()
        status, _, body = http("POST", f"{self.server['base']}/{self.server['tenantId']}/oauth2/v2.0/token", form,
                               {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 200, body
        answer = json.loads(body)
        return AccessToken(answer["access_token"], int(datetime.datetime.now().timestamp()) + answer["expires_in"])

    def get_token_info(self, *scopes, **kwargs):
        from azure.core.credentials import AccessTokenInfo
        t = self.get_token(*scopes)
        return AccessTokenInfo(t.token, t.expires_on)


def control(server, path, body=None):
    status, _, data = http("POST" if body is not None else "GET", server["base"] + path,
                           None if body is None else json.dumps(body).encode(), {"Content-Type": "application/json"})
    assert status == 200, data
    return json.loads(data)


def test_data_plane_through_the_sdk_challenge_and_exchange(server):
    control(server, "/_contract/image", {"repository": "team-a/worker", "tag": "v1"})
    credential = ServerCredential(server)
    client = ContainerRegistryClient(server["base"], credential, audience="https://containerregistry.azure.net")
    props = client.get_repository_properties("team-a/worker", enforce_https=False)
    assert props.name == "team-a/worker"
    assert props.manifest_count == 1 and props.tag_count == 1
    assert credential.scopes == ["https://containerregistry.azure.net/.default"]
    requests = control(server, "/_contract/state")["requests"]
    paths = [r["path"] for r in requests]
    assert "/oauth2/exchange" in paths and "/oauth2/token" in paths
    assert "/acr/v1/team-a%2Fworker" in paths or "/acr/v1/team-a/worker" in paths

    with pytest.raises(ResourceNotFoundError):
        client.get_repository_properties("team-a/missing", enforce_https=False)
    client.delete_repository("team-a/worker", enforce_https=False)
    assert control(server, "/_contract/state")["repositories"] == {}
    client.delete_repository("team-a/worker", enforce_https=False)  # 404 is success for the SDK too


def test_arm_audience_can_be_refused(server):
    control(server, "/_contract/configure", {"armAudienceDisabled": True})
    control(server, "/_contract/image", {"repository": "team-a/worker"})
    arm_audience = ContainerRegistryClient(server["base"], ServerCredential(server), audience="https://management.azure.com")
    with pytest.raises(Exception):
        arm_audience.get_repository_properties("team-a/worker", enforce_https=False)
    acr_audience = ContainerRegistryClient(server["base"], ServerCredential(server), audience="https://containerregistry.azure.net")
    assert acr_audience.get_repository_properties("team-a/worker", enforce_https=False).name == "team-a/worker"


def test_scope_map_token_and_password_through_the_management_sdk(server):
    control(server, "/_contract/configure", {"lroPolls": 2})
    control(server, "/_contract/image", {"repository": "team-a/worker", "tag": "v1"})
    credential = ServerCredential(server)
    mgmt = ContainerRegistryManagementClient(credential, server["subscriptionId"], base_url=server["base"])
    rg, reg = server["resourceGroup"], server["registryName"]
    scope_map = mgmt.scope_maps.begin_create(
        rg, reg, "team-a-worker-pull",
        models.ScopeMap(properties=models.ScopeMapProperties(actions=["repositories/team-a/worker/content/read", "repositories/team-a/worker/metadata/read"])),
        enforce_https=False).result()
    token = mgmt.tokens.begin_create(
        rg, reg, "team-a-worker-pull",
        models.Token(properties=models.TokenProperties(scope_map_id=scope_map.id, status="enabled")),
        enforce_https=False).result()
    expiry = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
    result = mgmt.registries.begin_generate_credentials(
        rg, reg, models.GenerateCredentialsParameters(token_id=token.id, expiry=expiry, name="password1"),
        enforce_https=False, polling_interval=0).result()
    assert result.username == "team-a-worker-pull"
    password = result.passwords[0].value
    assert any(s.endswith("management.azure.com/.default") for s in credential.scopes)

    # docker login with the token: Basic at /oauth2/token, then pull; push is refused.
    basic = "Basic " + base64.b64encode(f"{result.username}:{password}".encode()).decode()
    status, _, body = http("GET", f"{server['base']}/oauth2/token?service={urllib.parse.quote(server['service'])}&scope=repository:team-a/worker:pull,push",
                           headers={"Authorization": basic})
    assert status == 200, body
    bearer = {"Authorization": "Bearer " + json.loads(body)["access_token"]}
    assert http("GET", f"{server['base']}/v2/team-a/worker/manifests/v1", headers=bearer)[0] == 200
    status, headers, _ = http("PUT", f"{server['base']}/v2/team-a/worker/manifests/v2", b"{}", {**bearer, "Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert status == 401 and 'error="insufficient_scope"' in headers["WWW-Authenticate"]
    wrong = "Basic " + base64.b64encode(f"{result.username}:not-the-password".encode()).decode()
    assert http("GET", f"{server['base']}/oauth2/token?service=x&scope=repository:team-a/worker:pull", headers={"Authorization": wrong})[0] == 401


@pytest.mark.parametrize("style", ["location", "async-operation", "both"])
def test_each_long_running_answer_form_through_the_sdk_poller(server, style):
    """azure-mgmt-containerregistry's ARMPolling follows each form the server can
    answer a long-running token PUT and generateCredentials POST with, to the same
    result the core reads (tests/tests/acr_contract.rs runs the core against each)."""
    control(server, "/_contract/configure", {"lroPolls": 2, "lroStyle": style})
    credential = ServerCredential(server)
    mgmt = ContainerRegistryManagementClient(credential, server["subscriptionId"], base_url=server["base"])
    rg, reg = server["resourceGroup"], server["registryName"]
    scope_map = mgmt.scope_maps.begin_create(
        rg, reg, "lro-pull",
        models.ScopeMap(properties=models.ScopeMapProperties(actions=["repositories/lro/content/read"])),
        enforce_https=False, polling_interval=0).result()
    token = mgmt.tokens.begin_create(
        rg, reg, "lro-pull", models.Token(properties=models.TokenProperties(scope_map_id=scope_map.id, status="enabled")),
        enforce_https=False, polling_interval=0).result()
    assert token.provisioning_state == "Succeeded" and token.status == "enabled"
    expiry = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
    result = mgmt.registries.begin_generate_credentials(
        rg, reg, models.GenerateCredentialsParameters(token_id=token.id, expiry=expiry, name="password2"),
        enforce_https=False, polling_interval=0).result()
    assert result.username == "lro-pull"
    assert result.passwords[0].name == "password2" and result.passwords[0].value
    paths = [r["path"] for r in control(server, "/_contract/state")["requests"]]
    statuses = sum("/operationStatuses/" in p for p in paths)
    results = sum("/operationResults/" in p for p in paths)
    if style == "location":
        assert statuses == 0 and results >= 2, paths
    else:
        assert statuses >= 2 and results >= 1, paths


READER = "b93aa761-3e63-49ed-ac28-beffa264f7ac"
GRANTEE_APP = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
GRANTEE = "3f2e1d0c-9b8a-4c7d-8e6f-5a4b3c2d1e0f"


def condition(repository):
    return ("((!(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/content/read'}) AND "
            "!(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/metadata/read'})) OR "
            f"(@Request[Microsoft.ContainerRegistry/registries/repositories:name] StringEqualsIgnoreCase '{repository}'))")


def registry_scope(server):
    return (f"/subscriptions/{server['subscriptionId']}/resourceGroups/{server['resourceGroup']}"
            f"/providers/Microsoft.ContainerRegistry/registries/{server['registryName']}")


def test_role_assignments_through_the_authorization_sdk(server):
    """azure-mgmt-authorization (api-version 2022-04-01) creates, reads, lists with
    atScope() across pages, and deletes an ABAC-conditioned Reader assignment; the
    server refuses what ARM refuses."""
    control(server, "/_contract/configure", {"servicePrincipals": [{"clientId": GRANTEE_APP, "objectId": GRANTEE}],
                                             "roleAssignmentPageSize": 2})
    auth = AuthorizationManagementClient(ServerCredential(server), server["subscriptionId"], base_url=server["base"])
    scope = registry_scope(server)
    role = f"/subscriptions/{server['subscriptionId']}/providers/Microsoft.Authorization/roleDefinitions/{READER}"
    params = RoleAssignmentCreateParameters(role_definition_id=role, principal_id=GRANTEE, principal_type="ServicePrincipal",
                                            description="pull of team-a/web", condition=condition("team-a/web"), condition_version="2.0")
    name = "0d8e2c4a-7b1f-4e3d-9a6c-5f2b8e1d4c7a"
    created = auth.role_assignments.create(scope, name, params, enforce_https=False)
    assert created.name == name and created.principal_id == GRANTEE and created.scope == scope
    assert created.condition == condition("team-a/web") and created.condition_version == "2.0"
    assert auth.role_assignments.get(scope, name, enforce_https=False).description == "pull of team-a/web"

    listed = list(auth.role_assignments.list_for_scope(scope, filter="atScope()", enforce_https=False))
    # Ours, the client's three on the registry and its one on the subscription, across three pages.
    assert name in {a.name for a in listed} and len(listed) == 5
    assert any(a.scope == f"/subscriptions/{server['subscriptionId']}" for a in listed)
    paths = [r["path"] for r in control(server, "/_contract/state")["requests"]]
    assert sum(p.endswith("/providers/Microsoft.Authorization/roleAssignments") for p in paths) == 3
    mine = list(auth.role_assignments.list_for_scope(scope, filter=f"assignedTo('{GRANTEE}')", enforce_https=False))
    assert [a.name for a in mine] == [name]

    # The same grant under another name: RoleAssignmentExists; a name's principal cannot change.
    with pytest.raises(ResourceExistsError) as exists:
        auth.role_assignments.create(scope, "1d8e2c4a-7b1f-4e3d-9a6c-5f2b8e1d4c7a", params, enforce_https=False)
    assert exists.value.error.code == "RoleAssignmentExists"
    with pytest.raises(HttpResponseError) as bad:
        auth.role_assignments.create(scope, "2d8e2c4a-7b1f-4e3d-9a6c-5f2b8e1d4c7a",
                                     RoleAssignmentCreateParameters(role_definition_id=role, principal_id="11111111-2222-4333-8444-555555555555"),
                                     enforce_https=False)
    assert bad.value.error.code == "PrincipalNotFound"
    with pytest.raises(HttpResponseError) as bad:
        auth.role_assignments.create(scope, "3d8e2c4a-7b1f-4e3d-9a6c-5f2b8e1d4c7a",
                                     RoleAssignmentCreateParameters(role_definition_id=role, principal_id=GRANTEE, principal_type="ServicePrincipal",
                                                                    condition="(@Request[x] Nope 'y')",
                                                                    condition_version="2.0"), enforce_https=False)
    assert bad.value.error.code == "InvalidCondition"

    # Another principal may not write; nor may the client when denied.
    grantee_auth = AuthorizationManagementClient(ServerCredential(server, GRANTEE_APP), server["subscriptionId"], base_url=server["base"])
    with pytest.raises(HttpResponseError) as refused:
        grantee_auth.role_assignments.delete(scope, name, enforce_https=False)
    assert refused.value.status_code == 403 and refused.value.error.code == "AuthorizationFailed"

    deleted = auth.role_assignments.delete(scope, name, enforce_https=False)
    assert deleted.name == name
    assert auth.role_assignments.delete(scope, name, enforce_https=False) is None  # 204: already gone
    with pytest.raises(ResourceNotFoundError):
        auth.role_assignments.get(scope, name, enforce_https=False)


def test_the_data_plane_honours_abac_assignments(server):
    """A grantee's AAD token, exchanged by azure-containerregistry, reads only the
    repository its Reader assignment's condition names, and only in ABAC mode."""
    control(server, "/_contract/configure", {"servicePrincipals": [{"clientId": GRANTEE_APP, "objectId": GRANTEE}]})
    for repo in ("team-a/web", "team-a/web2", "team-a/api"):
        control(server, "/_contract/image", {"repository": repo, "tag": "v1"})
    auth = AuthorizationManagementClient(ServerCredential(server), server["subscriptionId"], base_url=server["base"])
    scope = registry_scope(server)
    role = f"/subscriptions/{server['subscriptionId']}/providers/Microsoft.Authorization/roleDefinitions/{READER}"
    auth.role_assignments.create(scope, "0d8e2c4a-7b1f-4e3d-9a6c-5f2b8e1d4c7a", RoleAssignmentCreateParameters(
        role_definition_id=role, principal_id=GRANTEE, principal_type="ServicePrincipal", condition=condition("Team-A/Web"),
        condition_version="2.0"), enforce_https=False)
    grantee = ContainerRegistryClient(server["base"], ServerCredential(server, GRANTEE_APP), audience="https://containerregistry.azure.net")

    # RBAC-only mode: the Reader role is not honoured at all.
    with pytest.raises(HttpResponseError):
        grantee.get_repository_properties("team-a/web", enforce_https=False)

    control(server, "/_contract/configure", {"roleAssignmentMode": "AbacRepositoryPermissions"})
    grantee = ContainerRegistryClient(server["base"], ServerCredential(server, GRANTEE_APP), audience="https://containerregistry.azure.net")
    assert grantee.get_repository_properties("team-a/web", enforce_https=False).tag_count == 1  # names ignore case
    manifest = grantee.get_manifest("team-a/web", "v1", enforce_https=False)
    assert manifest.digest.startswith("sha256:")
    for other in ("team-a/web2", "team-a/api"):
        with pytest.raises(HttpResponseError):
            grantee.get_repository_properties(other, enforce_https=False)
        with pytest.raises(HttpResponseError):
            grantee.get_manifest(other, "v1", enforce_https=False)
    with pytest.raises(HttpResponseError):
        grantee.set_manifest("team-a/web", manifest.manifest, tag="v2", enforce_https=False)
    with pytest.raises(HttpResponseError):
        grantee.delete_repository("team-a/web", enforce_https=False)
    assert sorted(control(server, "/_contract/state")["repositories"]["team-a/web"]["tags"]) == ["v1"]
    # The registered client keeps everything through its unconditioned Contributor role.
    owner = ContainerRegistryClient(server["base"], ServerCredential(server), audience="https://containerregistry.azure.net")
    assert owner.get_repository_properties("team-a/api", enforce_https=False).name == "team-a/api"
