"""Starts a contract server under tests/servers/ for one test and stops it."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

SERVERS = Path(__file__).resolve().parents[1] / "servers"


def _start(script):
    proc = subprocess.Popen([sys.executable, str(SERVERS / script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    info = json.loads(proc.stdout.readline())
    info["base"] = f"http://127.0.0.1:{info['port']}"
    return proc, info


@pytest.fixture()
def start_server():
    started = []

    def start(script):
        proc, info = _start(script)
        started.append(proc)
        return info

    yield start
    for proc in started:
        proc.stdin.close()
        proc.wait(timeout=10)
