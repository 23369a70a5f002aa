"""The scenario vectors of tests/vectors through the Python API, with a replay
transport and a fixed clock: the same requests, byte for byte, and the same results
as the native driver (which runs the same files in cargo test)."""

import asyncio
import calendar
import time

import pytest

import artifact_registry as ar
from conftest import VECTORS, load_vector


def _clock(vector):
    return calendar.timegm(time.strptime(vector["now"], "%Y-%m-%dT%H:%M:%SZ"))


class Replay:
    def __init__(self, vector):
        self.answers = list(vector["exchanges"])
        self.requests = []

    def __call__(self, request):
        self.requests.append({
            "method": request["method"],
            "url": request["url"],
            "headers": [list(h) for h in request["headers"]],
            "body": request["body"].decode(),
        })
        if not self.answers:
            raise ConnectionError("the vector has no more answers")
        exchange = self.answers.pop(0)
        if "transportError" in exchange:
            raise TimeoutError(exchange["transportError"]["message"])
        response = exchange["response"]
        return {"status": response["status"], "headers": response.get("headers", []), "body": response.get("body", "")}


def _json(value):
    if value is None or isinstance(value, (str, dict)):
        return value
    return value.to_dict()


def _outcome(call):
    try:
        return {"result": _json(call())}
    except ar.ArtifactRegistryError as e:
        return {"error": {"code": e.code, "httpStatus": e.http_status, "providerCode": e.provider_code}}


def _invoke(registry, vector):
    args, op = vector["args"], vector["operation"]
    repo = args.get("repository", "")
    return {
        "create-repository": lambda: registry.create_repository(args["name"]),
        "get-repository": lambda: registry.get_repository(repo),
        "delete-repository": lambda: registry.delete_repository(repo),
        "add-cross-account-access": lambda: registry.add_cross_account_access(repo, args["access"]),
        "remove-cross-account-access": lambda: registry.remove_cross_account_access(repo, args["access"]),
        "get-cross-account-access": lambda: registry.get_cross_account_access(repo),
        "generate-credentials": lambda: registry.generate_credentials(repo, args["permissions"], args.get("ttlSeconds")),
        "image-pull-secret": lambda: registry.image_pull_secret(repo, args["name"], args.get("namespace"), args.get("ttlSeconds")),
        "registry-endpoint": lambda: registry.registry_endpoint(),
        "upstream-repository-prefix": lambda: registry.upstream_repository_prefix(),
    }[op]


def _expected_requests(vector):
    return [e["request"] for e in vector["exchanges"] if "request" in e][: len(vector["exchanges"])]


@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
def test_vector_sync(path):
    vector = load_vector(path)
    replay = Replay(vector)
    registry = ar.ArtifactRegistry(vector["config"], transport=replay, clock=lambda: _clock(vector))
    outcome = _outcome(_invoke(registry, vector))
    assert replay.requests == _expected_requests(vector)
    assert outcome == vector["expect"]


@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
def test_vector_asyncio(path):
    vector = load_vector(path)
    replay = Replay(vector)

    async def transport(request):
        await asyncio.sleep(0)
        return replay(request)

    async def main():
        registry = ar.AsyncArtifactRegistry(vector["config"], transport=transport, clock=lambda: _clock(vector))
        call = _invoke(registry, vector)
        try:
            value = call()
            if asyncio.iscoroutine(value) or isinstance(value, asyncio.Future) or hasattr(value, "__await__"):
                value = await value
            return {"result": _json(value)}
        except ar.ArtifactRegistryError as e:
            return {"error": {"code": e.code, "httpStatus": e.http_status, "providerCode": e.provider_code}}

    outcome = asyncio.run(main())
    assert replay.requests == _expected_requests(vector)
    assert outcome == vector["expect"]


def test_there_is_a_vector_set():
    assert len(VECTORS) >= 40
