"""Credentials from the environment only (no `credentials` in the configuration), as
deploy tooling runs: ECR against moto, sync and asyncio, and describe_credentials()."""
import asyncio

import pytest

import artifact_registry as ar

AWS_VARS = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
            "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_REGION",
            "AWS_DEFAULT_REGION"]


@pytest.fixture
def ambient(moto, monkeypatch, tmp_path):
    for var in AWS_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    config = moto["config"]("py-amb")
    del config["aws"]["credentials"]
    return moto, config, monkeypatch


def test_lifecycle_with_environment_credentials(ambient):
    moto, config, env = ambient
    env.setenv("AWS_ACCESS_KEY_ID", moto["access_key_id"])
    env.setenv("AWS_SECRET_ACCESS_KEY", moto["secret_access_key"])
    registry = ar.ArtifactRegistry(config)
    who = registry.describe_credentials()
    assert (who["source"], who["method"], who["account"]) == ("environment", "env", "123456789012")
    assert moto["secret_access_key"] not in repr(who)
    repo = registry.create_repository("web")
    assert registry.get_repository(repo.name).name == "py-amb-web"
    assert registry.generate_credentials(repo.name, "pull").username == "AWS"
    registry.delete_repository(repo.name)

    async def main():
        client = ar.AsyncArtifactRegistry(config)
        who = await client.describe_credentials()
        repo = await client.create_repository("async-web")
        await client.delete_repository(repo.name)
        return who

    assert asyncio.run(main())["method"] == "env"


def test_credentials_from_a_profile_file(ambient, tmp_path):
    moto, config, env = ambient
    (tmp_path / ".aws").mkdir()
    (tmp_path / ".aws" / "credentials").write_text(
        f"[deploy]\naws_access_key_id = {moto['access_key_id']}\naws_secret_access_key = {moto['secret_access_key']}\n")
    env.setenv("AWS_PROFILE", "deploy")
    who = ar.ArtifactRegistry(config).describe_credentials()
    assert (who["method"], who["source"]) == ("shared-credentials-file", f"profile:deploy (~/.aws/credentials)")
    # The region, absent from the configuration, comes from the same profile, as boto3 finds it.
    del config["aws"]["region"]
    with pytest.raises(ar.InvalidInputError, match="AWS_REGION"):
        ar.ArtifactRegistry(config)
    (tmp_path / ".aws" / "config").write_text("[default]\nregion = eu-west-3\n[profile deploy]\nregion = us-east-1\n")
    repo = ar.ArtifactRegistry(config).create_repository("profiled")
    assert repo.name == "py-amb-profiled"
    ar.ArtifactRegistry(config).delete_repository(repo.name)


def test_nothing_found_is_a_clear_error(ambient):
    _, config, _ = ambient
    with pytest.raises(ar.AccessDeniedError) as e:
        ar.ArtifactRegistry(config).describe_credentials()
    assert "tried in this order" in str(e.value)
