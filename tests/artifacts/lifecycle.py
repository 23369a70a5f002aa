"""The installed wheel, as a user runs it: the local provider's lifecycle against a
docker-registry, and sign_aws_request against the official SigV4 vector get-vanilla.

    python lifecycle.py VERSION REGISTRY_ADDR USER PASSWORD SIGV4_VECTOR_DIR
"""
import json
import platform
import sys
from pathlib import Path

import artifact_registry as ar

version, addr, user, password, vector = sys.argv[1:6]
assert ar.__version__ == version, (ar.__version__, version)
assert "site-packages" in ar.__file__, f"not the installed package: {ar.__file__}"

config = {"name": "artifacts", "binding": {"service": "local", "registryUrl": addr, "unscopedCredentials": True},
          "local": {"credentials": {"username": user, "password": password}}}
registry = ar.ArtifactRegistry(config)
name = f"py{sys.version_info[0]}{sys.version_info[1]}"
repo = registry.create_repository(name)
assert repo.name == f"artifacts/{name}", repo
assert registry.get_repository(repo.name).name == repo.name
creds = registry.generate_credentials(repo.name, "push-pull", ttl_seconds=900)
assert (creds.auth_method, creds.username) == ("basic", user) and password not in repr(creds)
registry.delete_repository(repo.name)
try:
    registry.get_repository(repo.name)
    raise AssertionError("the repository is still there")
except ar.NotFoundError:
    pass

context = json.loads(Path(vector, "context.json").read_text())
signed = ar.sign_aws_request("GET", "https://example.amazonaws.com/", {"Host": "example.amazonaws.com"}, b"",
                             region=context["region"], service=context["service"],
                             access_key_id=context["credentials"]["access_key_id"],
                             secret_access_key=context["credentials"]["secret_access_key"],
                             timestamp="20150830T123600Z")
expected = next(line.split(":", 1)[1] for line in Path(vector, "header-signed-request.txt").read_text().splitlines()
                if line.startswith("Authorization:"))
assert signed["Authorization"] == expected, (signed["Authorization"], expected)
print(f"python {sys.version.split()[0]} ({platform.machine()}): artifact_registry {ar.__version__} from {ar.__file__}: lifecycle and SigV4 ok")
