"""Canary secrets in every secret field, long and short (under 8 characters), against
the real servers: everything the Python surface renders (str and repr of errors and
results) and everything the process printed is scanned for them, raw, base64, in
`Basic` form and percent-encoded: 0 hits."""
import base64
import urllib.parse

import pytest

import artifact_registry as ar
from conftest import running_docker_registry

AWS_SECRET = "CANARY-aws-secret-7f3c9a1b2d"
AWS_TOKEN = "Tk3n!x"  # short
GCP_TOKEN = "CANARY-gcp-token-ya29"
AZURE_SECRET = "aZ9$q"  # short
LOCAL_PASSWORD = "Cn4ry!"  # short, and the registry's real password
USERS = ["deployer", "AWS", "oauth2accesstoken", "app", ""]
CANARIES = [AWS_SECRET, AWS_TOKEN, GCP_TOKEN, AZURE_SECRET, LOCAL_PASSWORD]


def forms(secret):
    b64 = lambda s: base64.b64encode(s.encode()).decode()
    return {secret, b64(secret), urllib.parse.quote(secret, safe=""), *(b64(f"{u}:{secret}") for u in USERS)}


def assert_no_canary(text):
    for secret in CANARIES:
        for form in forms(secret):
            assert form not in text, f"{form!r} (a form of a canary) was rendered: {text[:2000]}"


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
    """docker-registry whose real password is the short canary: credentials come back
    carrying it."""
    with running_docker_registry(password=LOCAL_PASSWORD) as reg:
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
