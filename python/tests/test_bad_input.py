"""Bad input raises InvalidInputError before any request (a recording transport
must see nothing), for every operation, in both clients."""

import asyncio

import pytest

import artifact_registry as ar

CONFIG = {
    "name": "artifacts",
    "binding": {"service": "ecr", "repositoryPrefix": "acme", "pullRoleArn": "arn:aws:iam::123456789012:role/pull"},
    "aws": {"region": "us-east-1", "accountId": "123456789012",
            "credentials": {"accessKeyId": "AKIDEXAMPLE", "secretAccessKey": "wJalrXUtnFEMI/K7MDENG"}},
}


class Recording:
    def __init__(self):
        self.requests = []

    def __call__(self, request):
        self.requests.append(request)
        raise AssertionError("no request may be sent")


CALLS = [
    ("create_repository", ("Bad Name",)),
    ("create_repository", ("a" * 300,)),
    ("get_repository", ("other-team-app",)),
    ("get_repository", ("ACME-app",)),
    ("delete_repository", ("acme-",)),
    ("get_cross_account_access", ("",)),
    ("add_cross_account_access", ("acme-app", {"platform": "aws", "accountIds": ["123"]})),
    ("add_cross_account_access", ("acme-app", {"platform": "aws", "roleArns": ["arn:aws-cn:iam::123456789012:role/x"]})),
    ("add_cross_account_access", ("acme-app", {"platform": "aws", "accountIds": ["111111111111"], "regions": ["moon-1"]})),
    ("add_cross_account_access", ("acme-app", {"platform": "gcp", "projectNumbers": ["1"]})),
    ("add_cross_account_access", ("acme-app", {"platform": "azure"})),
    ("add_cross_account_access", ("acme-app", {"platform": "aws", "accounts": []})),
    ("add_cross_account_access", ("acme-app", {"platform": "aws", "allowedServiceTypes": ["cron"], "accountIds": ["111111111111"]})),
    ("add_cross_account_access", ("acme-app", {"platform": "aws", "accountIds": [object()]})),
    ("remove_cross_account_access", ("acme-app", {"platform": "aws"})),
    ("generate_credentials", ("acme-app", "admin")),
    ("generate_credentials", ("acme-app", "pull", 60)),
    ("generate_credentials", ("acme-app", "push-pull", 43201)),
    ("generate_credentials", ("other-app", "pull")),
    # Not Python's OverflowError or TypeError: the same typed error as any bad input.
    ("generate_credentials", ("acme-app", "pull", -1)),
    ("generate_credentials", ("acme-app", "pull", 2**70)),
    ("generate_credentials", ("acme-app", "pull", True)),
    ("generate_credentials", ("acme-app", "pull", "900")),
]


@pytest.mark.parametrize("method,args", CALLS, ids=[f"{m}-{i}" for i, (m, _) in enumerate(CALLS)])
def test_sync(method, args):
    transport = Recording()
    registry = ar.ArtifactRegistry(CONFIG, transport=transport)
    with pytest.raises(ar.InvalidInputError) as e:
        getattr(registry, method)(*args)
    assert e.value.code == "invalid-input"
    assert e.value.message
    assert transport.requests == []


@pytest.mark.parametrize("method,args", CALLS, ids=[f"{m}-{i}" for i, (m, _) in enumerate(CALLS)])
def test_asyncio(method, args):
    transport = Recording()

    async def main():
        registry = ar.AsyncArtifactRegistry(CONFIG, transport=transport)
        with pytest.raises(ar.InvalidInputError):
            await getattr(registry, method)(*args)

    asyncio.run(main())
    assert transport.requests == []


@pytest.mark.parametrize("config,path", [
    ({**CONFIG, "extra": 1}, "extra"),
    ({**CONFIG, "aws": {**CONFIG["aws"], "region": "US-EAST-1"}}, "aws.region"),
    ({**CONFIG, "aws": {**CONFIG["aws"], "credentials": {"accessKeyId": "AKID"}}}, "aws.credentials.secretAccessKey"),
    ({"name": "a", "binding": {"service": "s3"}}, "binding.service"),
    ("{not json", "JSON"),
    (42, "config"),
])
def test_bad_configs_name_the_path(config, path):
    with pytest.raises(ar.InvalidInputError) as e:
        ar.ArtifactRegistry(config)
    assert path in str(e.value)
    with pytest.raises(ar.InvalidInputError):
        ar.AsyncArtifactRegistry(config)
