"""The Python package's README (its page on PyPI) shows code that runs: its first
example, pointed at a real registry (Debian's docker-registry), does what its
comments say."""

import json
import re
from pathlib import Path

import pytest

from artifact_registry import NotFoundError

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_the_first_example_runs_as_written(docker_registry, capsys):
    code = python_blocks()[0]
    # The example's registry is 127.0.0.1:5000 and open; the test's listens on a free
    # port and asks for a password. Nothing else changes.
    for old, new in [('"127.0.0.1:5000"', json.dumps(docker_registry["addr"])),
                     ('"local": {},', f'"local": {json.dumps(docker_registry["config"]["local"])},')]:
        assert code.count(old) == 1, f"the example no longer holds {old}"
        code = code.replace(old, new)
    namespace = {}
    exec(compile(code, str(README), "exec"), namespace)

    printed = capsys.readouterr().out.splitlines()
    repo, creds, registry = namespace["repo"], namespace["creds"], namespace["registry"]
    # What the comments promise.
    assert printed[0].startswith(f"artifacts/my-app {docker_registry['addr']}/artifacts/my-app "), printed
    assert repo.created_at
    assert printed[1] == f"{creds.username} {creds.expires_at}", printed
    assert creds.password and creds.password not in repr(creds)
    with pytest.raises(NotFoundError):
        registry.get_repository(repo.name)  # the example deleted it


def test_every_example_compiles():
    blocks = python_blocks()
    assert len(blocks) >= 4
    for block in blocks:
        compile(block, str(README), "exec")
