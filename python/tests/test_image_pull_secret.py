"""Image-pull Secrets from Python, as deploy scripts write them through their own
Kubernetes client: the manifest deserialises into the `kubernetes` package's V1Secret,
and its decoded .dockerconfigjson, given to skopeo as its only credentials, pulls a
real image from Debian's docker-registry."""
import base64
import json
import shutil
import subprocess
import tarfile

import pytest

import artifact_registry as ar

kubernetes = pytest.importorskip("kubernetes", reason="the kubernetes client is installed by scripts/test")


def as_v1_secret(manifest):
    """What the kubernetes client makes of the manifest: its own V1Secret model, through
    the deserialiser it applies to the API server's answers."""
    client = kubernetes.client.ApiClient()
    try:  # kubernetes >= 35: the answer's text and its content type
        return client.deserialize(json.dumps(manifest), "V1Secret", "application/json")
    except TypeError:  # earlier: a response object with .data
        class Response:
            data = json.dumps(manifest)
        return client.deserialize(Response(), "V1Secret")


def push_image(tmp_path, registry):
    """A one-layer OCI image in a layout, pushed with skopeo to artifacts/app:v1."""
    import hashlib
    layout = tmp_path / "layout"
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def blob(data):
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return f"sha256:{digest}", len(data)

    (tmp_path / "hello.txt").write_text("hello from a Secret\n")
    with tarfile.open(tmp_path / "layer.tar", "w") as tar:
        tar.add(tmp_path / "hello.txt", arcname="hello.txt")
    layer = blob((tmp_path / "layer.tar").read_bytes())
    config = blob(json.dumps({"architecture": "amd64", "os": "linux",
                              "rootfs": {"type": "layers", "diff_ids": [layer[0]]}}).encode())
    manifest = blob(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config[0], "size": config[1]},
                                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer[0], "size": layer[1]}]}).encode())
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest[0], "size": manifest[1],
         "annotations": {"org.opencontainers.image.ref.name": "v1"}}]}))
    subprocess.run(["skopeo", "copy", "--dest-tls-verify=false", "--dest-creds", f"{registry['user']}:{registry['password']}",
                    f"oci:{layout}:v1", f"docker://{registry['addr']}/artifacts/app:v1"], check=True, capture_output=True)


@pytest.mark.skipif(not shutil.which("skopeo"), reason="skopeo is installed by scripts/setup")
def test_the_secret_is_a_v1_secret_whose_login_pulls(docker_registry, tmp_path):
    push_image(tmp_path, docker_registry)
    registry = ar.ArtifactRegistry(docker_registry["config"])
    manifest = registry.image_pull_secret("artifacts/app", "registry-pull", namespace="apps")
    secret = as_v1_secret(manifest)
    assert (secret.kind, secret.type) == ("Secret", "kubernetes.io/dockerconfigjson")
    assert (secret.metadata.name, secret.metadata.namespace) == ("registry-pull", "apps")
    docker_config = json.loads(base64.b64decode(secret.data[".dockerconfigjson"]))
    assert list(docker_config["auths"]) == [docker_registry["addr"]]

    # The decoded .dockerconfigjson is skopeo's only credential store, and it pulls.
    authfile = tmp_path / "auth.json"
    authfile.write_text(json.dumps(docker_config))
    out = tmp_path / "pulled"
    pulled = subprocess.run(["skopeo", "copy", "--src-tls-verify=false", "--authfile", str(authfile),
                             f"docker://{docker_registry['addr']}/artifacts/app:v1", f"dir:{out}"],
                            capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert pulled.returncode == 0, pulled.stderr
    assert (out / "manifest.json").exists()

    # Without it, the same pull is refused.
    refused = subprocess.run(["skopeo", "inspect", "--tls-verify=false", f"docker://{docker_registry['addr']}/artifacts/app:v1"],
                             capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert refused.returncode != 0


def test_asyncio_gives_the_same_manifest(docker_registry):
    import asyncio

    async def main():
        return await ar.AsyncArtifactRegistry(docker_registry["config"]).image_pull_secret("artifacts/app", "registry-pull")
    manifest = asyncio.run(main())
    assert as_v1_secret(manifest).metadata.namespace is None
    assert manifest["type"] == "kubernetes.io/dockerconfigjson"


@pytest.mark.parametrize("name, namespace", [("Registry_Pull", None), ("ok", "Apps"), ("", None), ("a" * 254, None)])
def test_bad_names_are_refused_before_any_request(name, namespace):
    # An endpoint nothing listens on: a request would be a transport error.
    registry = ar.ArtifactRegistry({"name": "artifacts", "binding": {"service": "local", "registryUrl": "127.0.0.1:9",
                                                                     "unscopedCredentials": True}})
    with pytest.raises(ar.InvalidInputError):
        registry.image_pull_secret("artifacts/app", name, namespace=namespace)


def test_the_cli_prints_the_same_secret_as_yaml_and_json(docker_registry):
    """`artifact-registry image-pull-secret` (built by `cargo test --workspace`): its
    YAML, read by PyYAML, is the JSON form, and both are the binding's."""
    import os
    import pathlib
    yaml = pytest.importorskip("yaml", reason="PyYAML comes with moto, which scripts/test installs")
    from conftest import REPO
    cli = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / "debug" / "artifact-registry"
    if not cli.exists():
        pytest.fail(f"{cli} is missing: cargo test --workspace builds it before the Python tests")
    args = [str(cli), "--config", "-", "image-pull-secret", "registry-pull", "--repository", "artifacts/app", "--namespace", "apps"]
    config = json.dumps(docker_registry["config"])
    as_yaml = subprocess.run(args, input=config, capture_output=True, text=True, check=True).stdout
    as_json = subprocess.run(args + ["--format", "json"], input=config, capture_output=True, text=True, check=True).stdout
    assert yaml.safe_load(as_yaml) == json.loads(as_json)
    assert json.loads(as_json) == ar.ArtifactRegistry(docker_registry["config"]).image_pull_secret("artifacts/app", "registry-pull", "apps")
    assert as_v1_secret(yaml.safe_load(as_yaml)).metadata.name == "registry-pull"
