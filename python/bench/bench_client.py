"""Benchmark: this package against boto3/botocore, in one run.

Against one fast loopback server answering ECR-shaped responses (the Rust
`ecr-stub-server`, a separate process, so the client's own cost dominates):
operations per second of DescribeRepositories through
  - boto3 (sequential),
  - ArtifactRegistry.get_repository (sequential, blocking),
  - AsyncArtifactRegistry.get_repository with 64 calls in flight;
SigV4 signatures per second of sign_aws_request versus botocore's SigV4Auth on an
ECR CreateRepository request; the resident memory `import artifact_registry` adds;
and the peak RSS of a process doing 1,000 DescribeRepositories at once, ten times
(answers held 50 ms so that all are in flight), with the asyncio client versus
boto3 on 1,000 threads (one client, a 1,000-connection pool).

Each figure is the median of ROUNDS rounds. Run (after scripts/test, or after
`pip install ./python` and building the stub server):

    target/py-venv/bin/python python/bench/bench_client.py
"""

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import boto3  # noqa: E402
import botocore.auth  # noqa: E402
import botocore.awsrequest  # noqa: E402
import botocore.credentials  # noqa: E402
from botocore.config import Config  # noqa: E402

import artifact_registry as ar  # noqa: E402
from conftest import stub_config, stub_server  # noqa: E402

ROUNDS = 5
CALLS = 2000
SIGNATURES = 20000
AKID, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


def rate(fn, n):
    """Median operations per second of `fn()` (which does n operations) over ROUNDS."""
    rates = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        fn()
        rates.append(n / (time.perf_counter() - started))
    return statistics.median(rates)


def import_rss_mb():
    probe = (
        "def rss():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmRSS:'): return int(line.split()[1])\n"
        "before = rss()\nimport artifact_registry\nprint((rss() - before) / 1024)"
    )
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    return float(out)


PEAK_PROBE = r"""
import asyncio, resource, sys
from concurrent.futures import ThreadPoolExecutor
endpoint, which = sys.argv[1], sys.argv[2]
if which == "ours":
    import artifact_registry as ar
    from conftest import stub_config
    async def main():
        registry = ar.AsyncArtifactRegistry(stub_config(endpoint))
        for _ in range(10):
            await asyncio.gather(*[registry.get_repository(f"acme-app-{i}") for i in range(1000)])
    asyncio.run(main())
else:
    import boto3
    from botocore.config import Config
    ecr = boto3.client("ecr", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=sys.argv[3],
                       aws_secret_access_key=sys.argv[4],
                       config=Config(retries={"max_attempts": 1}, max_pool_connections=1000))
    with ThreadPoolExecutor(1000) as pool:
        for _ in range(10):
            list(pool.map(lambda i: ecr.describe_repositories(repositoryNames=[f"acme-app-{i}"]), range(1000)))
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def peak_rss_mb(endpoint, which):
    """Peak RSS (MB) of a fresh process doing ten rounds of 1,000 calls at once."""
    tests = str(Path(__file__).resolve().parents[1] / "tests")
    out = subprocess.run([sys.executable, "-c", PEAK_PROBE, endpoint, which, AKID, SECRET], check=True,
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": tests}).stdout
    return float(out)


def main():
    results = {}
    with stub_server() as endpoint:
        ecr = boto3.client("ecr", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=AKID,
                           aws_secret_access_key=SECRET, config=Config(retries={"max_attempts": 1}))
        ecr.describe_repositories(repositoryNames=["acme-app"])  # warm up
        results["boto3 sequential"] = rate(lambda: [ecr.describe_repositories(repositoryNames=["acme-app"]) for _ in range(CALLS)], CALLS)

        sync = ar.ArtifactRegistry(stub_config(endpoint))
        sync.get_repository("acme-app")
        results["artifact_registry sync"] = rate(lambda: [sync.get_repository("acme-app") for _ in range(CALLS)], CALLS)

        async def in_flight(registry, n, width=64):
            gate = asyncio.Semaphore(width)

            async def one():
                async with gate:
                    await registry.get_repository("acme-app")

            await asyncio.gather(*[one() for _ in range(n)])

        async def async_rate():
            registry = ar.AsyncArtifactRegistry(stub_config(endpoint))
            await in_flight(registry, 64)
            rates = []
            for _ in range(ROUNDS):
                started = time.perf_counter()
                await in_flight(registry, CALLS)
                rates.append(CALLS / (time.perf_counter() - started))
            return statistics.median(rates)

        results["artifact_registry asyncio (64 in flight)"] = asyncio.run(async_rate())

    with stub_server(delay_ms=50) as endpoint:
        results["peak RSS at 1,000 in flight, asyncio (MB)"] = peak_rss_mb(endpoint, "ours")
        results["peak RSS at 1,000 in flight, boto3 threads (MB)"] = peak_rss_mb(endpoint, "boto3")

    body = b'{"repositoryName":"acme-my-app"}'
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.CreateRepository"}
    url = "https://api.ecr.us-east-1.amazonaws.com/"
    # Both sides sign the same request in a plain loop; botocore re-signs one
    # AWSRequest (add_auth replaces the previous signature), so neither pays for
    # building requests.
    def ours_signs(n):
        for _ in range(n):
            ar.sign_aws_request("POST", url, headers, body, region="us-east-1", service="ecr",
                                access_key_id=AKID, secret_access_key=SECRET, timestamp="20261128T070000Z")

    creds = botocore.credentials.Credentials(AKID, SECRET)
    signer = botocore.auth.SigV4Auth(creds, "ecr", "us-east-1")
    request = botocore.awsrequest.AWSRequest(method="POST", url=url, headers=dict(headers), data=body)

    def botocore_signs(n):
        for _ in range(n):
            signer.add_auth(request)

    results["sign_aws_request"] = rate(lambda: ours_signs(SIGNATURES), SIGNATURES)
    results["botocore SigV4Auth"] = rate(lambda: botocore_signs(SIGNATURES // 10), SIGNATURES // 10)
    results["import RSS (MB)"] = statistics.median(import_rss_mb() for _ in range(ROUNDS))

    width = max(len(k) for k in results)
    for k, v in results.items():
        print(f"{k:<{width}}  {v:>12,.1f}" + ("" if "MB" in k else " /s"))
    boto = results["boto3 sequential"]
    print()
    print(f"sync vs boto3:                    {results['artifact_registry sync'] / boto:5.1f}x  (goal >= 8x)")
    print(f"asyncio (64) vs boto3 sequential: {results['artifact_registry asyncio (64 in flight)'] / boto:5.1f}x  (goal >= 25x)")
    print(f"signing vs botocore:              {results['sign_aws_request'] / results['botocore SigV4Auth']:5.1f}x  (goal >= 30x)")
    peak = results["peak RSS at 1,000 in flight, asyncio (MB)"] / results["peak RSS at 1,000 in flight, boto3 threads (MB)"]
    print(f"peak RSS at 1,000 in flight:      {peak:5.2f}x boto3's")
    print(f"import adds:                      {results['import RSS (MB)']:5.1f} MB (goal < 15 MB)")
    json.dump(results, sys.stderr)


if __name__ == "__main__":
    main()
