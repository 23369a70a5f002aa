"""Fixtures: the repository's scenario vectors, and servers the tests start
themselves on free loopback ports (moto with signature checks, Debian's
docker-registry, the Rust ECR stub server)."""

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VECTORS = sorted((REPO / "tests" / "vectors").glob("*.json"))
# Every secret the suite configures is one of these: scripts/test scans what the
# suite printed for them (tests/canary_scan.py).
CANARIES = json.loads((REPO / "tests" / "canaries.json").read_text())["secrets"]


def load_vector(path: Path) -> dict:
    return json.loads(path.read_text())


def _read_ready_line(proc: subprocess.Popen) -> dict:
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"{proc.args} did not start")
    return json.loads(line)


@contextlib.contextmanager
def _child(args, **kw):
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, **kw)
    try:
        yield proc
    finally:
        with contextlib.suppress(Exception):
            proc.stdin.close()
        proc.kill()
        proc.wait()


@pytest.fixture
def moto():
    """moto's server with request-signature checking on, and an IAM user's key."""
    script = REPO / "tests" / "servers" / "moto_server.py"
    with _child([sys.executable, str(script)], stderr=subprocess.DEVNULL) as proc:
        ready = _read_ready_line(proc)
        endpoint = f"http://127.0.0.1:{ready['port']}"
        yield {
            "endpoint": endpoint,
            "access_key_id": ready["accessKeyId"],
            "secret_access_key": ready["secretAccessKey"],
            "config": lambda prefix="acme", **binding: {
                "name": "artifacts",
                "binding": {"service": "ecr", "repositoryPrefix": prefix, "unscopedCredentials": True, **binding},
                "aws": {
                    "region": "us-east-1",
                    "accountId": "123456789012",
                    "credentials": {"accessKeyId": ready["accessKeyId"], "secretAccessKey": ready["secretAccessKey"]},
                    "endpoints": {"ecr": endpoint, "sts": endpoint},
                },
            },
        }


@contextlib.contextmanager
def _contract_server(script: str):
    """A contract server under tests/servers/: its ready line, endpoint and control API."""
    import urllib.request

    with _child([sys.executable, str(REPO / "tests" / "servers" / script)]) as proc:
        ready = _read_ready_line(proc)
        endpoint = f"http://127.0.0.1:{ready['port']}"

        def control(path, body=None):
            data = None if body is None else json.dumps(body).encode()
            req = urllib.request.Request(endpoint + path, data=data, method="POST" if data else "GET",
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req) as r:
                return json.loads(r.read())

        yield ready, endpoint, control


@pytest.fixture
def gar_server():
    """The GAR contract server (tests/servers/gar_server.py) and a config for it."""
    with _contract_server("gar_server.py") as (ready, endpoint, control):
        yield {
            "endpoint": endpoint,
            "control": control,
            "config": lambda repository="images", **binding: {
                "name": "artifacts",
                "binding": {"service": "gar", "repositoryName": repository, "unscopedCredentials": True, **binding},
                "gcp": {
                    "projectId": ready["projectId"],
                    "region": ready["location"],
                    "credentials": ready["serviceAccountKey"],
                    "endpoints": {"artifactRegistry": endpoint, "iamCredentials": endpoint, "oauth2": f"{endpoint}/token"},
                },
            },
        }


@pytest.fixture
def acr_server():
    """The ACR contract server (tests/servers/acr_server.py) and a config for it."""
    with _contract_server("acr_server.py") as (ready, endpoint, control):
        yield {
            "endpoint": endpoint,
            "host": endpoint[len("http://"):],
            "control": control,
            "config": lambda **binding: {
                "name": "artifacts",
                "binding": {"service": "acr", "registryName": ready["registryName"], "resourceGroupName": ready["resourceGroup"],
                            "repositoryPrefix": "team-a", **binding},
                "azure": {
                    "tenantId": ready["tenantId"],
                    "subscriptionId": ready["subscriptionId"],
                    "credentials": {"clientId": ready["clientId"], "clientSecret": ready["clientSecret"]},
                    "endpoints": {"activeDirectory": endpoint, "resourceManager": endpoint, "containerRegistry": endpoint},
                },
            },
        }


def stub_server_path() -> Path:
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return Path(os.environ.get("ARTIFACT_REGISTRY_STUB", target / "release" / "ecr-stub-server"))


@contextlib.contextmanager
def stub_server(delay_ms: int = 0):
    """The Rust ECR stub server; yields its endpoint."""
    path = stub_server_path()
    if not path.exists():
        raise RuntimeError(f"{path} is missing: cargo build --release -p artifact-registry-tests --bin ecr-stub-server")
    with _child([str(path), "--delay-ms", str(delay_ms)]) as proc:
        yield f"http://127.0.0.1:{_read_ready_line(proc)['port']}"


def stub_stats(endpoint: str) -> dict:
    """What the stub server saw: `maxInFlight` (requests held at once) and `requests`."""
    import urllib.request
    req = urllib.request.Request(endpoint + "/", data=b"{}", method="POST", headers={"X-Amz-Target": "StubStats"})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


def stub_config(endpoint: str) -> dict:
    return {
        "name": "artifacts",
        "binding": {"service": "ecr", "repositoryPrefix": "acme", "unscopedCredentials": True},
        "aws": {
            "region": "us-east-1",
            "accountId": "123456789012",
            "credentials": {"accessKeyId": "AKIDEXAMPLE", "secretAccessKey": CANARIES["stubSecretAccessKey"]},
            "endpoints": {"ecr": endpoint, "sts": endpoint},
        },
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def docker_registry():
    """Debian's docker-registry with htpasswd (bcrypt) Basic auth and deletes on."""
    with running_docker_registry() as registry:
        yield registry


@contextlib.contextmanager
def running_docker_registry(password=CANARIES["registryPassword"]):
    """The docker_registry fixture's server, for fixtures of wider scope (or another
    password; with None, an open registry)."""
    if not shutil.which("docker-registry") or not shutil.which("htpasswd"):
        pytest.fail("docker-registry and htpasswd are needed (scripts/setup installs them)")
    with tempfile.TemporaryDirectory(prefix="artifact-registry-py-") as d:
        user = "deployer"
        auth = ""
        if password is not None:
            htpasswd = subprocess.run(["htpasswd", "-Bbn", user, password], check=True, capture_output=True).stdout
            Path(d, "htpasswd").write_bytes(htpasswd)
            auth = f"auth:\n  htpasswd:\n    realm: tests\n    path: {d}/htpasswd\n"
        addr = f"127.0.0.1:{_free_port()}"
        Path(d, "config.yml").write_text(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
            f"storage:\n  filesystem:\n    rootdirectory: {d}/data\n  delete:\n    enabled: true\n"
            f"http:\n  addr: {addr}\n{auth}"
        )
        proc = subprocess.Popen(["docker-registry", "serve", f"{d}/config.yml"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 20
            while True:
                with contextlib.suppress(OSError), socket.create_connection(addr.split(":"), timeout=0.2):
                    break
                if time.time() > deadline or proc.poll() is not None:
                    raise RuntimeError("docker-registry did not start")
                time.sleep(0.05)
            yield {
                "addr": addr,
                "user": user,
                "password": password,
                "config": {
                    "name": "artifacts",
                    "binding": {"service": "local", "registryUrl": addr, "unscopedCredentials": True},
                    "local": {"credentials": {"username": user, "password": password}},
                },
            }
        finally:
            proc.kill()
            proc.wait()
