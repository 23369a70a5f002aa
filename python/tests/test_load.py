"""Load: 1,000 concurrent operations through the asyncio client against the stub
server, 300 rounds. Every call completes; once warm, memory does not grow: RSS
after round 300 is within 2 MB of RSS after round 100 (the rounds before are the
allocator's arenas and the connection pool reaching their working size, not memory
held); open file descriptors return to their baseline once the client is dropped
(its connection pool with it). The figures go to target/load-python.json."""

import asyncio
import gc
import json
import os
import resource
import time
from pathlib import Path

import artifact_registry as ar
from conftest import REPO, stub_config, stub_server

ROUNDS, CONCURRENT = int(os.environ.get("LOAD_ROUNDS", 300)), 1000
# RSS is compared between the end of this round and the last.
WARM_ROUND = min(100, ROUNDS)
# Each answer is held this long, so that every round has all its calls in flight at
# once (the first round included: its peak is the steady state's).
DELAY_MS = int(os.environ.get("LOAD_DELAY_MS", 50))
RSS_BOUND = 2 * 1024 * 1024


def open_fds():
    return len(os.listdir("/proc/self/fd"))


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def settle_fds(target):
    """Waits (10 s at most) for the runtime to close a dropped pool's sockets on its
    own threads: until `target` is reached, or (without one) until the count has
    not changed for a second."""
    deadline, last, stable_since = time.monotonic() + 10, open_fds(), time.monotonic()
    while time.monotonic() < deadline:
        now = open_fds()
        if target is not None and now <= target:
            break
        if now != last:
            last, stable_since = now, time.monotonic()
        elif target is None and time.monotonic() - stable_since > 1:
            break
        time.sleep(0.05)
    return open_fds()


def test_1000_concurrent_calls_300_times_without_growth():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < 4096:
        # 1,000 connections at once, here and in the stub server (which inherits it).
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard) if hard != resource.RLIM_INFINITY else 4096, hard))
    with stub_server(delay_ms=DELAY_MS) as endpoint:
        # The runtime's own descriptors (its poller, its wakers) come with the first
        # call and stay for the process: the baseline is taken after one.
        async def warm_up():
            await ar.AsyncArtifactRegistry(stub_config(endpoint)).get_repository("acme-app")
        asyncio.run(warm_up())
        gc.collect()
        settle_fds(None)
        baseline_fds = open_fds()
        rounds = []

        async def main():
            registry = ar.AsyncArtifactRegistry(stub_config(endpoint))
            for r in range(ROUNDS):
                started = time.perf_counter()
                results = await asyncio.gather(*[registry.get_repository(f"acme-app-{i}") for i in range(CONCURRENT)])
                assert [x.name for x in results] == [f"acme-app-{i}" for i in range(CONCURRENT)]
                gc.collect()
                rounds.append({"round": r + 1, "seconds": round(time.perf_counter() - started, 3),
                               "rssBytes": rss_bytes(), "openFds": open_fds()})

        asyncio.run(main())
        gc.collect()
        after_fds = settle_fds(baseline_fds)
    growth = rounds[-1]["rssBytes"] - rounds[WARM_ROUND - 1]["rssBytes"]
    figures = {"baselineFds": baseline_fds, "fdsAfterDrop": after_fds, "warmRound": WARM_ROUND,
               "rssGrowthAfterWarmRoundBytes": growth,
               "peakRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
               "rounds": [r for r in rounds if r["round"] in (1, 10, WARM_ROUND) or r["round"] % 50 == 0]}
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    (target / "load-python.json").write_text(json.dumps(figures, indent=1))
    assert after_fds <= baseline_fds, figures
    assert growth < RSS_BOUND, figures
