"""Google Artifact Registry from Python, against the GAR contract server (which
Google's own clients check in tests/contract/): the lifecycle, grants read back,
credentials the server accepts, and concurrent grants through the asyncio client."""
import asyncio

import pytest

import artifact_registry as ar

PULL = "pull-sa@acme-p1.iam.gserviceaccount.com"
DEPLOYER = "deployer@acme-p1.iam.gserviceaccount.com"


def test_lifecycle(gar_server):
    gar_server["control"]("/_contract/configure", {"lroPolls": 1, "tokenCreators": {PULL: [DEPLOYER]}})
    registry = ar.ArtifactRegistry(gar_server["config"](pullServiceAccountEmail=PULL))
    assert registry.registry_endpoint() == "https://us-central1-docker.pkg.dev"
    assert registry.upstream_repository_prefix() == "acme-p1/images"
    with pytest.raises(ar.NotFoundError):
        registry.get_repository("acme-p1/images/py-app")

    repo = registry.create_repository("py-app")
    assert (repo.name, repo.uri, repo.created_at) == ("acme-p1/images/py-app", "us-central1-docker.pkg.dev/acme-p1/images/py-app", None)
    assert registry.create_repository("py-app").to_dict() == repo.to_dict()

    grant = {"platform": "gcp", "projectNumbers": ["123456789012"], "allowedServiceTypes": ["worker"],
             "serviceAccountEmails": ["reader@p2.iam.gserviceaccount.com"]}
    registry.add_cross_account_access(repo.name, grant)
    assert registry.get_cross_account_access(repo.name).to_dict()["access"] == grant
    registry.remove_cross_account_access(repo.name, {"platform": "gcp", "serviceAccountEmails": ["reader@p2.iam.gserviceaccount.com"]})
    assert registry.get_cross_account_access(repo.name).to_dict()["access"]["serviceAccountEmails"] == []
    with pytest.raises(ar.InvalidInputError):
        registry.add_cross_account_access(repo.name, {"platform": "gcp", "projectNumbers": ["1"]})

    creds = registry.generate_credentials(repo.name, "pull", ttl_seconds=900)
    assert (creds.auth_method, creds.username) == ("basic", "oauth2accesstoken")
    assert gar_server["control"]("/_contract/state")["tokens"][creds.password]["email"] == PULL
    assert creds.password not in repr(creds)

    registry.delete_repository(repo.name)
    registry.delete_repository(repo.name)  # already gone: success


def test_sixteen_concurrent_grants_through_asyncio(gar_server):
    gar_server["control"]("/_contract/configure", {"lroPolls": 0})
    config = gar_server["config"]()
    ar.ArtifactRegistry(config).create_repository("race")
    registry = ar.AsyncArtifactRegistry(config)

    async def main():
        await asyncio.gather(*(
            registry.add_cross_account_access("acme-p1/images/race", {"platform": "gcp", "serviceAccountEmails": [f"reader-{i:02}@p2.iam.gserviceaccount.com"]})
            for i in range(16)))
        return await registry.get_cross_account_access("acme-p1/images/race")

    read = asyncio.run(main())
    assert read.to_dict()["access"]["serviceAccountEmails"] == [f"reader-{i:02}@p2.iam.gserviceaccount.com" for i in range(16)]
