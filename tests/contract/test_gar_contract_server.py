"""Google's own clients against the GAR contract server (tests/servers/gar_server.py):
a server that google-cloud-artifact-registry or google-auth would reject cannot pass.

google-cloud-artifact-registry over REST with `api_endpoint` on loopback, google-auth
service-account and impersonated credentials: create (LRO), get, a second create
(409 ALREADY_EXISTS), IAM get/set with version 3 and a stale etag (409 ABORTED),
conditional bindings read as v1, delete (LRO), and impersonation granted and refused.
"""
import json
import urllib.request

import pytest
import google.auth.transport.requests
from google.api_core import exceptions
from google.api_core.client_options import ClientOptions
from google.auth import exceptions as auth_exceptions
from google.auth import impersonated_credentials
from google.cloud import artifactregistry_v1
from google.oauth2 import service_account

CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
IAM_SCOPE = "https://www.googleapis.com/auth/iam"
READER = "roles/artifactregistry.reader"


@pytest.fixture()
def server(start_server):
    return start_server("gar_server.py")


def control(server, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(server["base"] + path, data=data, method="POST" if data else "GET",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


def ar_client(server, credentials):
    return artifactregistry_v1.ArtifactRegistryClient(
        credentials=credentials, transport="rest", client_options=ClientOptions(api_endpoint=server["base"]))


def sa_credentials(server, scopes=(CLOUD_PLATFORM,)):
    return service_account.Credentials.from_service_account_info(server["serviceAccountKey"], scopes=list(scopes))


def test_repository_lifecycle_with_lros(server):
    control(server, "/_contract/configure", {"lroPolls": 2})
    client = ar_client(server, sa_credentials(server))
    parent = "projects/acme-p1/locations/us-central1"
    name = f"{parent}/repositories/sdk-repo"
    op = client.create_repository(parent=parent, repository_id="sdk-repo",
                                  repository=artifactregistry_v1.Repository(format_=artifactregistry_v1.Repository.Format.DOCKER))
    repo = op.result(timeout=30)
    assert repo.name == name
    assert repo.format_ == artifactregistry_v1.Repository.Format.DOCKER
    assert client.get_repository(name=name).name == name
    with pytest.raises(exceptions.Conflict):
        client.create_repository(parent=parent, repository_id="sdk-repo",
                                 repository=artifactregistry_v1.Repository(format_=artifactregistry_v1.Repository.Format.DOCKER)).result(timeout=30)
    # The SDK's requests: repositoryId in the query, enums as integers, a bearer token.
    requests = control(server, "/_contract/state")["requests"]
    assert any(r["method"] == "POST" and "repositoryId=sdk-repo" in r["query"] for r in requests)
    assert any("/operations/" in r["path"] for r in requests), "the LRO was not polled"
    client.delete_repository(name=name).result(timeout=30)
    with pytest.raises(exceptions.NotFound):
        client.get_repository(name=name)


def test_a_finished_operation_with_an_error_fails_the_sdk(server):
    control(server, "/_contract/configure", {"lroPolls": 1, "lroErrors": [{"status": "FAILED_PRECONDITION", "message": "quota"}]})
    client = ar_client(server, sa_credentials(server))
    op = client.create_repository(parent="projects/acme-p1/locations/us-central1", repository_id="broken",
                                  repository=artifactregistry_v1.Repository(format_=artifactregistry_v1.Repository.Format.DOCKER))
    with pytest.raises(exceptions.GoogleAPICallError) as e:
        op.result(timeout=30)
    assert "quota" in str(e.value)


def test_iam_policy_etags_versions_and_conditions(server):
    control(server, "/_contract/configure", {"lroPolls": 0})
    client = ar_client(server, sa_credentials(server))
    parent = "projects/acme-p1/locations/us-central1"
    name = f"{parent}/repositories/iam-repo"
    client.create_repository(parent=parent, repository_id="iam-repo",
                             repository=artifactregistry_v1.Repository(format_=artifactregistry_v1.Repository.Format.DOCKER)).result(timeout=30)
    policy = client.get_iam_policy(request={"resource": name, "options": {"requested_policy_version": 3}})
    stale = type(policy)()
    stale.CopyFrom(policy)
    policy.bindings.add(role=READER, members=["serviceAccount:reader@p2.iam.gserviceaccount.com"])
    written = client.set_iam_policy(request={"resource": name, "policy": policy})
    assert [b.role for b in written.bindings] == [READER]
    assert written.etag != stale.etag
    stale.bindings.add(role=READER, members=["serviceAccount:late@p2.iam.gserviceaccount.com"])
    with pytest.raises(exceptions.Conflict) as e:  # 409 ABORTED
        client.set_iam_policy(request={"resource": name, "policy": stale})
    assert "concurrent policy changes" in str(e.value)

    # A conditional binding: v3 keeps it, v1 shows a _withcond_ role, a v1 write is refused.
    current = client.get_iam_policy(request={"resource": name, "options": {"requested_policy_version": 3}})
    current.version = 3
    current.bindings.add(role="roles/artifactregistry.writer", members=["user:ci@example.com"],
                         condition={"expression": "request.time < timestamp('2030-01-01T00:00:00Z')", "title": "until-2030"})
    client.set_iam_policy(request={"resource": name, "policy": current})
    v3 = client.get_iam_policy(request={"resource": name, "options": {"requested_policy_version": 3}})
    assert any(b.condition.title == "until-2030" for b in v3.bindings)
    v1 = client.get_iam_policy(request={"resource": name, "options": {"requested_policy_version": 1}})
    assert any("_withcond_" in b.role for b in v1.bindings)
    v1.version = 1
    with pytest.raises(exceptions.BadRequest):
        client.set_iam_policy(request={"resource": name, "policy": v1})


def test_requests_without_a_valid_token_are_refused(server):
    # No token, and a token the server never issued: Google's own error parsing reads
    # both answers as Unauthorized (the REST client would try to refresh first).
    import requests
    url = f"{server['base']}/v1/projects/acme-p1/locations/us-central1/repositories/any"
    for headers in ({}, {"Authorization": "Bearer ya29.never-issued"}):
        error = exceptions.from_http_response(requests.get(url, headers=headers))
        assert isinstance(error, exceptions.Unauthorized), error
    # A key the server does not know: the token endpoint refuses the assertion.
    forged = dict(server["serviceAccountKey"])
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged["private_key"] = other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()).decode()
    creds = service_account.Credentials.from_service_account_info(forged, scopes=[CLOUD_PLATFORM])
    with pytest.raises(auth_exceptions.RefreshError):
        creds.refresh(google.auth.transport.requests.Request())


def test_impersonation_granted_and_refused(server):
    target = "pull-sa@acme-p1.iam.gserviceaccount.com"
    email = server["serviceAccountKey"]["client_email"]
    source = sa_credentials(server, scopes=[IAM_SCOPE])
    url = f"{server['base']}/v1/projects/-/serviceAccounts/{target}:generateAccessToken"
    refused = impersonated_credentials.Credentials(source_credentials=source, target_principal=target,
                                                   target_scopes=[CLOUD_PLATFORM], lifetime=900, iam_endpoint_override=url)
    with pytest.raises(auth_exceptions.RefreshError):
        refused.refresh(google.auth.transport.requests.Request())

    control(server, "/_contract/configure", {"tokenCreators": {target: [email]}})
    granted = impersonated_credentials.Credentials(source_credentials=source, target_principal=target,
                                                   target_scopes=[CLOUD_PLATFORM], lifetime=900, iam_endpoint_override=url)
    granted.refresh(google.auth.transport.requests.Request())
    with urllib.request.urlopen(f"{server['base']}/tokeninfo?access_token={granted.token}") as r:
        info = json.loads(r.read())
    assert info["email"] == target, "the token is the impersonated account's"
    assert 800 < info["expires_in"] <= 900

    too_long = impersonated_credentials.Credentials(source_credentials=source, target_principal=target,
                                                    target_scopes=[CLOUD_PLATFORM], lifetime=7200, iam_endpoint_override=url)
    with pytest.raises(auth_exceptions.RefreshError):
        too_long.refresh(google.auth.transport.requests.Request())


AUDIENCE = "//iam.googleapis.com/projects/123456/locations/global/workloadIdentityPools/ci/providers/github"


def test_workload_identity_federation_with_google_auth(server, tmp_path):
    """google-auth's identity_pool credentials (file- and URL-sourced) against the STS
    endpoint, with and without service-account impersonation."""
    from google.auth import identity_pool

    target = server["serviceAccountKey"]["client_email"]
    principal = "principal://iam.googleapis.com/projects/123456/locations/global/workloadIdentityPools/ci/subject/repo:acme/app"
    control(server, "/_contract/configure", {"workloadAudience": AUDIENCE, "federatedSubjects": {"oidc-subject-token": "repo:acme/app"},
                                              "tokenCreators": {target: [principal]}, "urlSubjectToken": "oidc-subject-token"})
    token_file = tmp_path / "token"
    token_file.write_text("oidc-subject-token")
    info = {"type": "external_account", "audience": AUDIENCE, "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
            "token_url": f"{server['base']}/v1/token", "credential_source": {"file": str(token_file)}}
    request = google.auth.transport.requests.Request()

    direct = identity_pool.Credentials.from_info(info, scopes=[CLOUD_PLATFORM])
    direct.refresh(request)
    with urllib.request.urlopen(f"{server['base']}/tokeninfo?access_token={direct.token}") as r:
        assert json.loads(r.read())["email"] == principal

    impersonating = dict(info, service_account_impersonation_url=f"{server['base']}/v1/projects/-/serviceAccounts/{target}:generateAccessToken",
                         credential_source={"url": f"{server['base']}/_contract/subject-token", "headers": {"Metadata-Flavor": "Test"},
                                            "format": {"type": "json", "subject_token_field_name": "id_token"}})
    creds = identity_pool.Credentials.from_info(impersonating, scopes=[CLOUD_PLATFORM])
    assert creds.service_account_email == target
    creds.refresh(request)
    with urllib.request.urlopen(f"{server['base']}/tokeninfo?access_token={creds.token}") as r:
        assert json.loads(r.read())["email"] == target

    token_file.write_text("a-token-the-pool-does-not-trust")
    with pytest.raises(auth_exceptions.OAuthError, match="invalid_"):
        identity_pool.Credentials.from_info(info, scopes=[CLOUD_PLATFORM]).refresh(request)
    wrong_audience = dict(info, audience=AUDIENCE.replace("github", "gitlab"))
    token_file.write_text("oidc-subject-token")
    with pytest.raises(auth_exceptions.OAuthError, match="invalid_"):
        identity_pool.Credentials.from_info(wrong_audience, scopes=[CLOUD_PLATFORM]).refresh(request)
