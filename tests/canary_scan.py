"""Scans a log of everything the test suite printed for the canary secrets of
tests/canaries.json: each secret raw, base64, percent-encoded and in `Basic` form
with each username, and each body line of the GCP key. Names what it found (never
the secret itself) and exits 1 on any hit.

    python3 tests/canary_scan.py target/test-output.log
"""
import base64
import json
import sys
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def forms():
    """(label, text) for every form of every canary."""
    canaries = json.loads((REPO / "tests" / "canaries.json").read_text())
    b64 = lambda s: base64.b64encode(s.encode()).decode()
    out = []
    for name, secret in canaries["secrets"].items():
        out += [(name, secret), (f"{name} in base64", b64(secret)), (f"{name} percent-encoded", urllib.parse.quote(secret, safe=""))]
        out += [(f"{name} in Basic form for {user!r}", b64(f"{user}:{secret}")) for user in canaries["usernames"]]
    key = (REPO / canaries["gcpPrivateKey"]).read_text().splitlines()
    out += [(f"line {i} of the GCP key", line) for i, line in enumerate(key, 1) if not line.startswith("-----")]
    return out


def scan(text):
    """The hits in `text`: (line number, label)."""
    hits = []
    found = forms()
    for number, line in enumerate(text.splitlines(), 1):
        hits += [(number, label) for label, form in found if form in line]
    return hits


def main():
    # The scanner must find what it looks for: a planted line of each form first.
    planted = forms()
    assert len(scan("\n".join(form for _, form in planted))) >= len(planted), "the scanner misses planted canaries"
    log = Path(sys.argv[1])
    text = log.read_text(errors="replace")
    hits = scan(text)
    lines = text.count("\n")
    for number, label in hits:
        print(f"canary scan: {log}:{number}: {label}")
    print(f"canary scan: {len(planted)} forms of {len(json.loads((REPO / 'tests' / 'canaries.json').read_text())['secrets'])} "
          f"secrets and the GCP key over {lines:,} lines that the suite printed: {len(hits)} hits")
    sys.exit(1 if hits else 0)


if __name__ == "__main__":
    main()
