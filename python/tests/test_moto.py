"""ECR end to end against moto's server with request-signature checking on."""

import asyncio
import json
import subprocess
import sys

import boto3
import pytest

import artifact_registry as ar


def _boto3(moto, region="us-east-1"):
    kw = dict(endpoint_url=moto["endpoint"], region_name=region,
              aws_access_key_id=moto["access_key_id"], aws_secret_access_key=moto["secret_access_key"])
    return boto3.client("ecr", **kw), boto3.client("iam", **kw)


def test_lifecycle_sync(moto):
    ecr, iam = _boto3(moto)
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:user/artifact-registry-tests"}, "Action": "sts:AssumeRole"}]})
    iam.create_role(RoleName="pull", AssumeRolePolicyDocument=trust)
    iam.put_role_policy(RoleName="pull", PolicyName="all", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))

    registry = ar.ArtifactRegistry(moto["config"](pullRoleArn="arn:aws:iam::123456789012:role/pull"))
    repo = registry.create_repository("py-app")
    assert isinstance(repo, ar.Repository)
    assert repo.name == "acme-py-app"
    assert repo.uri == "123456789012.dkr.ecr.us-east-1.amazonaws.com/acme-py-app"
    assert registry.create_repository("py-app") == repo
    assert registry.get_repository(repo.name).to_dict() == repo.to_dict()

    ecr.set_repository_policy(repositoryName=repo.name, policyText=json.dumps({"Version": "2012-10-17", "Statement": [{"Sid": "Theirs", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": ["ecr:PutImage"]}]}))
    grant = {"platform": "aws", "accountIds": ["111111111111"], "regions": ["us-east-1"], "allowedServiceTypes": ["worker"], "roleArns": []}
    registry.add_cross_account_access(repo.name, grant)
    permissions = registry.get_cross_account_access(repo.name)
    assert permissions.access.to_dict() == grant
    assert permissions.access.account_ids == ["111111111111"]
    registry.remove_cross_account_access(repo.name, ar.CrossAccountAccess("aws", account_ids=["111111111111"]))
    assert "Theirs" in ecr.get_repository_policy(repositoryName=repo.name)["policyText"]
    assert registry.get_cross_account_access(repo.name).access.account_ids == []

    creds = registry.generate_credentials(repo.name, "pull", ttl_seconds=900)
    assert (creds.auth_method, creds.username, creds.password) == ("basic", "AWS", "123456789012-auth-token")
    assert "auth-token" not in repr(creds)

    registry.delete_repository(repo.name)
    with pytest.raises(ar.NotFoundError) as e:
        registry.get_repository(repo.name)
    assert e.value.code == "not-found"
    assert e.value.provider_code == "RepositoryNotFoundException"
    assert isinstance(e.value, LookupError)


def test_lifecycle_asyncio(moto):
    async def main():
        registry = ar.AsyncArtifactRegistry(moto["config"]())
        repo = await registry.create_repository("async-app")
        got = await asyncio.gather(*[registry.get_repository(repo.name) for _ in range(20)])
        assert all(g == repo for g in got)
        await registry.delete_repository(repo.name)
        with pytest.raises(ar.NotFoundError):
            await registry.get_repository(repo.name)
    asyncio.run(main())


def test_wrong_secret_is_access_denied(moto):
    config = moto["config"]()
    config["aws"]["credentials"]["secretAccessKey"] = "definitely-not-the-secret"
    with pytest.raises(ar.AccessDeniedError) as e:
        ar.ArtifactRegistry(config).create_repository("app")
    assert e.value.provider_code == "SignatureDoesNotMatch"
    assert e.value.http_status == 403
    assert "definitely-not-the-secret" not in str(e.value)
