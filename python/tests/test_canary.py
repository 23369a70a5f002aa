"""Canary secrets in every secret field, long and short (under 8 characters), against
the real servers: everything the Python surface renders (str and repr of errors and
results) and everything the process printed is scanned for them, raw, base64, in
`Basic` form and percent-encoded: 0 hits."""
import sys

import pytest

import artifact_registry as ar
from conftest import CANARIES, REPO, running_docker_registry

sys.path.insert(0, str(REPO / "tests"))
from canary_scan import scan  # noqa: E402

AWS_SECRET = CANARIES["awsSecretAccessKey"]
AWS_TOKEN = CANARIES["awsSessionToken"]  # short
GCP_TOKEN = CANARIES["gcpAccessToken"]
AZURE_SECRET = CANARIES["azureClientSecret"]  # short
LOCAL_PASSWORD = CANARIES["registryPassword"]  # short, and the registry's real password


def assert_no_canary(text):
    """No form of any canary (tests/canary_scan.py's forms) in `text`; the text is
    also printed, so that the scan of everything the suite printed covers it."""
    print(text)
    hits = scan(text)
    assert not hits, f"canaries rendered: {hits}"


def run_everything(registry, name, grant):
    """Every operation; returns what the surface rendered for each outcome."""
    shown = [repr(registry)]
    calls = [
        lambda: registry.create_repository("canary"),
        lambda: registry.get_repository(name),
        lambda: registry.add_cross_account_access(name, grant),
        lambda: registry.get_cross_account_access(name),
        lambda: registry.remove_cross_account_access(name, grant),
        lambda: registry.generate_credentials(name, "push-pull", ttl_seconds=900),
        lambda: registry.describe_credentials(),
        lambda: registry.delete_repository(name),
    ]
    for call in calls:
        try:
            result = call()
            shown += [repr(result), str(result)]
        except ar.ArtifactRegistryError as e:
            shown += [repr(e), str(e), repr(e.args), str(e.provider_code)]
    return "\n".join(shown)


@pytest.fixture
def canary_registry():
    """docker-registry, whose real password is the short canary: credentials come
    back carrying it."""
    with running_docker_registry() as reg:
        assert reg["password"] == LOCAL_PASSWORD
        yield reg


def test_canaries_never_render(moto, canary_registry, gar_server, acr_server, capfd):
    reg = canary_registry
    aws = moto["config"]()
    aws["aws"]["credentials"] = {"accessKeyId": moto["access_key_id"], "secretAccessKey": AWS_SECRET, "sessionToken": AWS_TOKEN}
    gcp = gar_server["config"]()
    gcp["gcp"]["credentials"] = {"accessToken": GCP_TOKEN}
    azure = acr_server["config"]()
    azure["azure"]["credentials"]["clientSecret"] = AZURE_SECRET
    local = reg["config"]
    rendered = []
    for config, secret, name, grant in [
        (aws, AWS_TOKEN, "acme-canary", {"platform": "aws", "accountIds": ["111111111111"]}),
        (gcp, GCP_TOKEN, "acme-p1/images/canary", {"platform": "gcp", "serviceAccountEmails": ["r@p2.iam.gserviceaccount.com"]}),
        (azure, AZURE_SECRET, "team-a/canary", {"platform": "aws", "accountIds": ["111111111111"]}),
        (local, LOCAL_PASSWORD, "artifacts/canary", {"platform": "aws", "accountIds": ["111111111111"]}),
    ]:
        rendered.append(run_everything(ar.ArtifactRegistry(config), name, grant))
        # The configuration's own secret pasted into the wrong fields as well.
        for bad in ({**config, "name": f"{secret}/x"}, {**config, "binding": {**config["binding"], "extra": secret}},
                    {**config, "binding": {**config["binding"], "repositoryPrefix": secret}}):
            with pytest.raises(ar.ArtifactRegistryError) as e:
                ar.ArtifactRegistry(bad)
            rendered.append(repr(e.value) + str(e.value))
    out, err = capfd.readouterr()
    assert_no_canary("\n".join(rendered) + out + err)


def test_the_short_password_works_and_credentials_carry_it(canary_registry):
    # What the scan above covers is real: the short password is accepted, and the
    # credentials hold it (to_dict shows it: that is the point of them).
    registry = ar.ArtifactRegistry(canary_registry["config"])
    repo = registry.create_repository("canary")
    creds = registry.generate_credentials(repo.name, "pull")
    assert creds.password == LOCAL_PASSWORD and creds.to_dict()["password"] == LOCAL_PASSWORD
    assert_no_canary(repr(creds) + str(creds))
    assert scan(creds.password), "the scan would not see the password"
