"""The Python package's README (its page on PyPI) shows code that runs: its first
example, pointed at a real registry (Debian's docker-registry), does what its
comments say."""

import json
import re
from pathlib import Path

import pytest

from artifact_registry import NotFoundError
from conftest import running_docker_registry

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_the_first_example_runs_as_written(capsys):
    # An open registry, as the example's; only its address differs.
    with running_docker_registry(password=None) as server:
        code = python_blocks()[0]
        assert code.count('"127.0.0.1:5000"') == 1, "the example no longer names its registry"
        code = code.replace('"127.0.0.1:5000"', json.dumps(server["addr"]))
        namespace = {}
        exec(compile(code, str(README), "exec"), namespace)

        printed = capsys.readouterr().out.splitlines()
        repo, creds, registry = namespace["repo"], namespace["creds"], namespace["registry"]
        # What the comments promise.
        assert printed[0].startswith(f"artifacts/my-app {server['addr']}/artifacts/my-app "), printed
        assert repo.created_at
        assert printed[1] == f"{creds.username} {creds.expires_at}", printed
        # An open registry's credentials are anonymous: nothing of anyone's to hand out.
        assert (creds.auth_method, creds.username, creds.password) == ("basic", "", "")
        with pytest.raises(NotFoundError):
            registry.get_repository(repo.name)  # the example deleted it


def test_every_example_compiles():
    blocks = python_blocks()
    assert len(blocks) >= 4
    for block in blocks:
        compile(block, str(README), "exec")
