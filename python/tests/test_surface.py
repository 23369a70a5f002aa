"""The Python surface itself: types, reprs without secrets, exception hierarchy."""

import pickle

import artifact_registry as ar

SECRET = "wJalrXUtnFEMI-K7MDENG-super-secret"
CONFIG = {
    "name": "artifacts",
    "binding": {"service": "ecr", "repositoryPrefix": "acme", "unscopedCredentials": True},
    "aws": {"region": "us-east-1", "accountId": "123456789012",
            "credentials": {"accessKeyId": "AKIDEXAMPLE", "secretAccessKey": SECRET, "sessionToken": "FwoGZXIvYXdz-token-value"}},
}


def test_reprs_never_show_secrets():
    registry = ar.ArtifactRegistry(CONFIG)
    text = repr(registry) + str(registry) + repr(ar.AsyncArtifactRegistry(CONFIG))
    assert SECRET not in text and "token-value" not in text
    assert repr(registry) == "ArtifactRegistry(service='ecr', name='artifacts', endpoint='https://123456789012.dkr.ecr.us-east-1.amazonaws.com')"

    def transport(request):
        return {"status": 200, "headers": {}, "body": '{"authorizationData":[{"authorizationToken":"QVdTOnNlY3JldC1wYXNzd29yZA==","expiresAt":1795892400}]}'}

    creds = ar.ArtifactRegistry(CONFIG, transport=transport).generate_credentials("acme-app", "pull")
    assert creds.password == "secret-password"
    assert "secret-password" not in repr(creds)
    assert creds.to_dict() == {"authMethod": "basic", "username": "AWS", "password": "secret-password", "expiresAt": "2026-11-28T19:00:00+00:00"}


def test_endpoints_and_prefix():
    registry = ar.ArtifactRegistry(CONFIG)
    assert registry.registry_endpoint() == "https://123456789012.dkr.ecr.us-east-1.amazonaws.com"
    assert registry.upstream_repository_prefix() == "acme"


def test_exception_hierarchy():
    classes = [ar.InvalidInputError, ar.NotFoundError, ar.AlreadyExistsError, ar.AccessDeniedError, ar.NotSupportedError,
               ar.ConflictError, ar.ThrottledError, ar.RegistryTimeoutError, ar.TransportError, ar.ProviderError]
    for cls in classes:
        assert issubclass(cls, ar.ArtifactRegistryError)
    assert not issubclass(ar.RegistryTimeoutError, TimeoutError)
    e = ar.NotFoundError("gone", "not-found", 404, "NAME_UNKNOWN")
    back = pickle.loads(pickle.dumps(e))
    assert (back.code, back.message, back.http_status, back.provider_code) == ("not-found", "gone", 404, "NAME_UNKNOWN")
    assert str(e) == "not-found: gone (HTTP 404, NAME_UNKNOWN)"


def test_cross_account_access_class():
    access = ar.CrossAccountAccess("aws", account_ids=["111111111111"], allowed_service_types=["worker"])
    assert access.platform == "aws"
    assert access.allowed_service_types == ["worker"]
    assert ar.CrossAccountAccess.from_dict(access.to_dict()) == access
    gcp = ar.CrossAccountAccess.from_dict({"platform": "gcp", "projectNumbers": ["123"]})
    assert gcp.project_numbers == ["123"] and gcp.account_ids == []


def test_transport_errors_become_transport_errors():
    def broken(request):
        raise ConnectionResetError("peer went away")

    try:
        ar.ArtifactRegistry(CONFIG, transport=broken).get_repository("acme-app")
    except ar.TransportError as e:
        assert e.code == "transport"
        assert "peer went away" in e.message
    else:
        raise AssertionError("expected TransportError")
