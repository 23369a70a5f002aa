"""The local provider end to end against Debian's docker-registry (htpasswd)."""

import base64
import urllib.request

import pytest

import artifact_registry as ar


def test_lifecycle(docker_registry):
    registry = ar.ArtifactRegistry(docker_registry["config"])
    assert registry.registry_endpoint() == f"http://{docker_registry['addr']}"
    repo = registry.create_repository("py-local")
    assert repo.name == "artifacts/py-local"
    assert repo.created_at is not None
    assert registry.get_repository(repo.name) == repo

    creds = registry.generate_credentials(repo.name, "push-pull")
    assert (creds.auth_method, creds.username) == ("basic", "deployer")
    # The credentials really open the registry.
    request = urllib.request.Request(f"http://{docker_registry['addr']}/v2/{repo.name}/manifests/latest",
                                     headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    token = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request) as answer:
        assert answer.status == 200

    with pytest.raises(ar.NotSupportedError):
        registry.add_cross_account_access(repo.name, {"platform": "aws", "accountIds": ["111111111111"]})
    registry.delete_repository(repo.name)
    with pytest.raises(ar.NotFoundError):
        registry.get_repository(repo.name)


def test_wrong_password_is_access_denied(docker_registry):
    config = docker_registry["config"]
    config["local"]["credentials"]["password"] = "wrong-password-value"
    with pytest.raises(ar.AccessDeniedError) as e:
        ar.ArtifactRegistry(config).create_repository("nope")
    assert "wrong-password-value" not in str(e.value)
