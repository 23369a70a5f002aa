"""The CredentialProviderConfig example of docs/kubernetes.md, as the kubelet reads it:
its fields are the published kubelet.config.k8s.io/v1 ones, and its matchImages,
matched by the kubelet's rules (same number of host labels, each label a glob, the
port equal, the pattern's path a prefix of the image's), cover an image on every host
form the provider recognises (core/src/registry_host.rs) and no look-alike."""
import fnmatch
import pathlib
import re
import urllib.parse

import pytest

yaml = pytest.importorskip("yaml", reason="PyYAML comes with moto, which scripts/test installs")

REPO = pathlib.Path(__file__).resolve().parents[2]


def example():
    text = (REPO / "docs" / "kubernetes.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    configs = [yaml.safe_load(b) for b in blocks if "CredentialProviderConfig" in b]
    assert len(configs) == 1, "docs/kubernetes.md has one CredentialProviderConfig"
    return configs[0]


def kubelet_matches(pattern, image):
    """The kubelet's URLsMatchStr: schemes added, hosts split on dots with one glob per
    label, ports equal, the pattern's path a prefix of the image's."""
    glob, target = urllib.parse.urlsplit("https://" + pattern), urllib.parse.urlsplit("https://" + image)
    glob_labels, target_labels = glob.hostname.split("."), target.hostname.split(".")
    if len(glob_labels) != len(target_labels):
        return False
    if not all(fnmatch.fnmatchcase(t, g) for g, t in zip(glob_labels, target_labels)):
        return False
    if glob.port != target.port:
        return False
    return target.path.startswith(glob.path)


def test_the_example_has_the_published_fields():
    config = example()
    assert (config["apiVersion"], config["kind"]) == ("kubelet.config.k8s.io/v1", "CredentialProviderConfig")
    [provider] = config["providers"]
    assert set(provider) <= {"name", "matchImages", "defaultCacheDuration", "apiVersion", "args", "env", "tokenAttributes"}
    assert provider["name"] == "artifact-registry", "the kubelet runs the executable of this name"
    assert provider["args"] == ["kubelet-credential-provider"]
    assert provider["apiVersion"] == "credentialprovider.kubelet.k8s.io/v1"
    assert re.fullmatch(r"(\d+h)?(\d+m)?(\d+s)?", provider["defaultCacheDuration"])
    assert all(set(e) == {"name", "value"} for e in provider["env"])
    for pattern in provider["matchImages"]:
        host_and_port = pattern.split("/")[0]
        assert "*" not in host_and_port.partition(":")[2], f"no glob in a port: {pattern}"


@pytest.mark.parametrize("image", [
    "123456789012.dkr.ecr.us-east-1.amazonaws.com/acme-app:v1",
    "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/acme-app",
    "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com/acme-app",
    "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com/acme-app",
    "123456789012.dkr-ecr.eu-west-1.on.aws/acme-app",
    "123456789012.dkr-ecr-fips.us-east-1.on.aws/acme-app",
    "123456789012.dkr-ecr.cn-north-1.on.amazonwebservices.com.cn/acme-app",
    "123456789012.dkr.ecr.us-east-1.amazonaws.com/ecr-public/library/nginx:1",  # pull-through cache
    "us-central1-docker.pkg.dev/acme-p1/images/app:v1",
    "us-docker.pkg.dev/acme-p1/images/app",
    "europe-docker.pkg.dev/acme-p1/images/app",
    "asia-docker.pkg.dev/acme-p1/images/app",
    "acme.azurecr.io/team-a/web:v1",
    "acme.azurecr.cn/team-a/web",
    "acme.azurecr.us/team-a/web",
    "registry.internal.example:5000/artifacts/app:v1",
])
def test_every_host_form_is_matched(image):
    patterns = example()["providers"][0]["matchImages"]
    assert any(kubelet_matches(p, image) for p in patterns), image


@pytest.mark.parametrize("image", [
    "docker.io/library/nginx",
    "ghcr.io/acme/app",
    "acme.azurecr.io.evil.example/x",
    "pkg.dev.evil.example/x",
    "registry.internal.example/artifacts/app",  # another port
    "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example/x",
])
def test_nothing_else_is_matched(image):
    patterns = example()["providers"][0]["matchImages"]
    assert not any(kubelet_matches(p, image) for p in patterns), image


def test_the_matcher_follows_the_kubelet_documentation():
    # The examples of the kubelet's CredentialProvider documentation.
    assert kubelet_matches("*.azurecr.io", "acme.azurecr.io/x")
    assert not kubelet_matches("*.io", "acme.azurecr.io/x")  # one label per glob
    assert kubelet_matches("registry.io:8080/path", "registry.io:8080/path/x")
    assert not kubelet_matches("registry.io:8080/path", "registry.io:8080/other")
    assert kubelet_matches("k8s.*.io", "k8s.example.io/x")
