"""asyncio: many calls in flight at once over the native transport."""

import asyncio
import time

import artifact_registry as ar
from conftest import stub_config, stub_server


def test_200_concurrent_calls_complete_and_beat_sequential():
    with stub_server(delay_ms=20) as endpoint:
        async def main():
            registry = ar.AsyncArtifactRegistry(stub_config(endpoint))
            started = time.perf_counter()
            results = await asyncio.gather(*[registry.get_repository(f"acme-app-{i}") for i in range(200)])
            concurrent = time.perf_counter() - started
            assert [r.name for r in results] == [f"acme-app-{i}" for i in range(200)]
            started = time.perf_counter()
            for i in range(50):
                await registry.get_repository(f"acme-app-{i}")
            sequential_per_call = (time.perf_counter() - started) / 50
            return concurrent, sequential_per_call

        concurrent, sequential_per_call = asyncio.run(main())
        # 200 sequential calls would take at least 200 x 20 ms = 4 s.
        assert sequential_per_call >= 0.02
        assert concurrent < 200 * sequential_per_call / 4, (concurrent, sequential_per_call)


def test_sync_client_releases_the_gil():
    # Two threads each making slow calls overlap: the second does not wait for the first.
    import threading
    with stub_server(delay_ms=200) as endpoint:
        registry = ar.ArtifactRegistry(stub_config(endpoint))
        started = time.perf_counter()
        threads = [threading.Thread(target=registry.get_repository, args=("acme-app",)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert time.perf_counter() - started < 0.6


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
