"""Concurrency, cancellation, deadlines and panics on the Python surface. Overlap
is shown by what the stub server held at once, never by timing: a loaded machine
cannot fail these."""

import asyncio
import gc
import os
import socket
import threading
import time

import pytest

import artifact_registry as ar
from artifact_registry import _native
from conftest import stub_config, stub_server, stub_stats


def test_200_concurrent_calls_are_in_flight_together():
    with stub_server(delay_ms=100) as endpoint:
        async def main():
            registry = ar.AsyncArtifactRegistry(stub_config(endpoint))
            return await asyncio.gather(*[registry.get_repository(f"acme-app-{i}") for i in range(200)])

        results = asyncio.run(main())
        assert [r.name for r in results] == [f"acme-app-{i}" for i in range(200)]
        stats = stub_stats(endpoint)
        assert stats["requests"] == 200
        # Sequential calls would never have more than one held at once.
        assert stats["maxInFlight"] >= 10, stats


def test_sync_client_releases_the_gil():
    # Threads making calls on one blocking client overlap at the server.
    with stub_server(delay_ms=300) as endpoint:
        registry = ar.ArtifactRegistry(stub_config(endpoint))
        threads = [threading.Thread(target=registry.get_repository, args=("acme-app",)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert stub_stats(endpoint)["maxInFlight"] >= 2


def test_one_client_across_event_loops_and_cancellation():
    with stub_server(delay_ms=50) as endpoint:
        registry = ar.AsyncArtifactRegistry(stub_config(endpoint))

        async def get():
            return (await registry.get_repository("acme-app")).name

        # A new loop each time: the client follows the running loop.
        assert asyncio.run(get()) == "acme-app"
        assert asyncio.run(get()) == "acme-app"

        async def cancel_some():
            tasks = [asyncio.ensure_future(registry.get_repository(f"acme-app-{i}")) for i in range(10)]
            for t in tasks[::2]:
                t.cancel()
            done = await asyncio.gather(*tasks, return_exceptions=True)
            assert all(isinstance(d, asyncio.CancelledError) for d in done[::2])
            assert [d.name for d in done[1::2]] == [f"acme-app-{i}" for i in range(1, 10, 2)]
            # Later calls on the same loop still complete.
            return await get()

        assert asyncio.run(cancel_some()) == "acme-app"


def test_a_cancelled_call_runs_on_to_its_end():
    # Cancellation detaches the awaitable; the operation itself completes, so a
    # multi-step write is never cut in half.
    with stub_server(delay_ms=300) as endpoint:
        registry = ar.AsyncArtifactRegistry(stub_config(endpoint))

        async def main():
            task = asyncio.ensure_future(registry.create_repository("cancelled"))
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            before = stub_stats(endpoint)["requests"]
            while stub_stats(endpoint)["requests"] == before:
                await asyncio.sleep(0.05)

        asyncio.run(asyncio.wait_for(main(), 30))


def _open_fds():
    return len(os.listdir("/proc/self/fd"))


def test_an_idle_client_holds_no_reader_and_dropping_it_frees_its_fds():
    with stub_server() as endpoint:
        async def main():
            baseline = _open_fds()
            for _ in range(20):
                registry = ar.AsyncArtifactRegistry(stub_config(endpoint))
                await registry.get_repository("acme-app")
                # Nothing of the client stays registered with the loop once idle.
                watched = asyncio.get_running_loop()._selector.get_map().values()
                assert all("Drain" not in repr(key.data) for key in watched)
                del registry
                gc.collect()
            # The connection pool may keep a socket or two; 20 clients' socketpairs are gone.
            assert _open_fds() - baseline < 10, (baseline, _open_fds())

        asyncio.run(main())


def test_two_threads_with_two_loops_share_one_client():
    with stub_server(delay_ms=20) as endpoint:
        registry = ar.AsyncArtifactRegistry(stub_config(endpoint))
        results, errors = [], []

        def worker(i):
            try:
                async def main():
                    return [(await registry.get_repository(f"acme-t{i}-{k}")).name for k in range(20)]
                results.append(asyncio.run(main()))
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not any(t.is_alive() for t in threads), "a thread is stuck (deadlock)"
        assert not errors and len(results) == 2


def _black_hole():
    """A listener that accepts connections and never answers."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    return s


def test_a_server_that_never_answers_gives_timeout_within_the_deadline():
    hole = _black_hole()
    try:
        config = stub_config(f"http://127.0.0.1:{hole.getsockname()[1]}")
        config["timeouts"] = {"requestSeconds": 0.5, "operationSeconds": 2}
        started = time.monotonic()
        with pytest.raises(ar.ArtifactRegistryError) as e:
            ar.ArtifactRegistry(config).get_repository("acme-app")
        blocking = time.monotonic() - started
        assert e.value.code == "timeout", e.value

        async def main():
            return await ar.AsyncArtifactRegistry(config).get_repository("acme-app")

        started = time.monotonic()
        with pytest.raises(ar.ArtifactRegistryError) as e:
            asyncio.run(main())
        assert e.value.code == "timeout", e.value
        # An upper bound only: the deadline plus a margin for a loaded machine.
        assert blocking < 2 + 3 and time.monotonic() - started < 2 + 3
    finally:
        hole.close()


def test_bad_timeouts_are_invalid_input():
    for bad in ({"requestSeconds": 0}, {"operationSeconds": -1}, {"requestSeconds": "30"}, {"deadline": 1}):
        with pytest.raises(ar.InvalidInputError, match="timeouts"):
            ar.ArtifactRegistry({**stub_config("http://127.0.0.1:9"), "timeouts": bad})


def test_a_panic_is_an_error_not_a_hung_awaitable():
    registry = ar.ArtifactRegistry(stub_config("http://127.0.0.1:9"))
    error = _native._panic_probe(registry)
    assert isinstance(error, ar.ArtifactRegistryError) and error.code == "provider"
    assert "panicked" in str(error)

    async def main():
        return await asyncio.wait_for(_native._panic_probe(ar.AsyncArtifactRegistry(stub_config("http://127.0.0.1:9"))), 10)

    with pytest.raises(ar.ArtifactRegistryError, match="panicked"):
        asyncio.run(main())


def test_ctrl_c_interrupts_a_blocking_call():
    import signal
    import subprocess
    import sys
    hole = _black_hole()
    try:
        config = stub_config(f"http://127.0.0.1:{hole.getsockname()[1]}")
        config["timeouts"] = {"requestSeconds": 600, "operationSeconds": 600}
        code = f"import artifact_registry as ar, sys; print('ready', flush=True); ar.ArtifactRegistry({config!r}).get_repository('acme-app')"
        child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.5)
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=20)
        assert "KeyboardInterrupt" in err, err
    finally:
        hole.close()
