"""Faults between the Python client and every real server: each operation of each
provider runs with one scripted fault on its key request (once, and for some kinds
on every attempt), through tests/servers/fault_proxy.py. After each case the state
is read back with an independent client (boto3 for moto, the contract servers' own
state, plain HTTP for docker-registry) and must show nothing lost, nothing widened.

Every case ends in success or a typed retryable error; a create or delete whose
response was lost reports what really happened. The matrix (faults x operations ->
outcomes) is written to target/fault-matrix.md."""
import base64
import contextlib
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest

import artifact_registry as ar
from conftest import REPO, _child, _contract_server, _read_ready_line, running_docker_registry

FAULTS = ["500", "503", "429", "reset-before", "reset-after", "truncate", "slow-body", "malformed", "content-type"]
# Kinds also run on every attempt, so that retries cannot hide them.
PERSISTENT = ["503", "reset-before", "reset-after", "slow-body", "malformed"]
# The server applied the request, but its answer was lost or spoiled.
APPLIED = {"reset-after", "truncate", "slow-body"}
RETRYABLE = {"throttled", "timeout", "transport", "provider"}
TIMEOUTS = {"requestSeconds": 0.5, "operationSeconds": 30}
MATRIX = {}


@contextlib.contextmanager
def fault_proxy(upstream):
    with _child([sys.executable, str(REPO / "tests" / "servers" / "fault_proxy.py"), upstream]) as proc:
        endpoint = f"http://127.0.0.1:{_read_ready_line(proc)['port']}"

        def script(rules):
            req = urllib.request.Request(endpoint + "/_fault/script", data=json.dumps(rules).encode(), method="POST")
            urllib.request.urlopen(req).read()

        def log():
            return json.loads(urllib.request.urlopen(endpoint + "/_fault/log").read())

        yield endpoint, script, log


def cases(ops):
    for op in ops:
        for fault in FAULTS:
            yield pytest.param(op, fault, 1, id=f"{op}-{fault}-once")
        for fault in PERSISTENT:
            yield pytest.param(op, fault, 99, id=f"{op}-{fault}-always")


def scripted(scenario, op, rule, script, log):
    """Sets `op`'s case up and runs it with `rule` scripted: the state, the outcome
    ("ok" or the error code) and what the proxy saw."""
    _, setup, call, _ = scenario[op]
    state = setup()
    log()
    script([rule])
    try:
        call(state)
        outcome = "ok"
    except ar.ArtifactRegistryError as e:
        outcome = e.code
    finally:
        script([])
    return state, outcome, log()


def run_case(provider, op, fault, times, scenario, script, log):
    """Sets the case up, runs it with the fault scripted, checks the outcome and the state."""
    rule, _, _, check = scenario[op]
    state, outcome, sent = scripted(scenario, op, {**rule, "fault": fault, "times": times, "seconds": 1}, script, log)
    faulted = [r for r in sent if r["fault"]]
    assert faulted, f"the fault never fired: {sent}"
    assert outcome == "ok" or outcome in RETRYABLE, f"{op} with {fault}: {outcome}"
    if op in ("create", "delete") and fault in APPLIED and times == 1:
        assert outcome == "ok", f"a {op} whose response was lost must report what happened, got {outcome}"
    check(state, outcome)
    MATRIX.setdefault(provider, {}).setdefault(op, {})[f"{fault}{'' if times == 1 else ' (always)'}"] = outcome


# ---- ECR on moto ---------------------------------------------------------------------

PULL_ACTIONS = {"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"}
FOREIGN = {"Sid": "Theirs", "Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "ecr:PutImage"}


def ecr_atoms(ecr, name):
    """The policy as atoms: each foreign statement whole, each of our principals alone."""
    try:
        text = ecr.get_repository_policy(repositoryName=name)["policyText"]
    except ecr.exceptions.RepositoryPolicyNotFoundException:
        return set()
    atoms = set()
    for s in json.loads(text)["Statement"]:
        if s.get("Sid") == "Theirs":
            atoms.add(("foreign", json.dumps(s, sort_keys=True)))
            continue
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        assert s["Effect"] == "Allow" and set(actions) <= PULL_ACTIONS, f"widened: {s}"
        principals = s["Principal"]["AWS"]
        for p in principals if isinstance(principals, list) else [principals]:
            atoms.add(("ours", p))
    return atoms


def ecr_scenario(registry, ecr, counter):
    grant = lambda account: {"platform": "aws", "accountIds": [account]}
    a, b = "111111111111", "222222222222"

    def fresh(grants=()):
        name = f"acme-f{next(counter)}"
        ecr.create_repository(repositoryName=name)
        if grants is not None:
            ecr.set_repository_policy(repositoryName=name, policyText=json.dumps({"Version": "2012-10-17", "Statement": [FOREIGN]}))
            for account in grants:
                registry.add_cross_account_access(name, grant(account))
        return {"name": name, "before": ecr_atoms(ecr, name) if grants is not None else set()}

    def exists(name):
        return name in {r["repositoryName"] for r in ecr.describe_repositories()["repositories"]}

    def grants_within(state, outcome, added=(), removed=()):
        after = ecr_atoms(ecr, state["name"])
        allowed = {("ours", f"arn:aws:iam::{x}:root") for x in added}
        lost = state["before"] - after
        assert lost <= {("ours", f"arn:aws:iam::{x}:root") for x in removed}, f"lost {lost}"
        assert after - state["before"] <= allowed, f"widened: {after - state['before']}"
        if outcome == "ok":
            assert allowed <= after and not (lost ^ {("ours", f"arn:aws:iam::{x}:root") for x in removed})

    def create_check(state, outcome):
        repo = registry.create_repository(state["logical"])  # the retry a user would make
        assert repo.name == state["name"] and exists(state["name"])

    def delete_check(state, outcome):
        if outcome != "ok":
            # The user's retry; ECR answers not-found for a repository already gone.
            with contextlib.suppress(ar.NotFoundError):
                registry.delete_repository(state["name"])
        assert not exists(state["name"])

    target = lambda t: {"header": ["X-Amz-Target", t]}
    return {
        "create": (target("CreateRepository"), lambda: (lambda n: {"logical": f"c{n}", "name": f"acme-c{n}"})(next(counter)),
                   lambda s: registry.create_repository(s["logical"]), create_check),
        "get": (target("DescribeRepositories"), lambda: fresh(None), lambda s: registry.get_repository(s["name"]),
                lambda s, o: None),
        "delete": (target("DeleteRepository"), lambda: fresh(None), lambda s: registry.delete_repository(s["name"]), delete_check),
        "add": (target("SetRepositoryPolicy"), lambda: fresh([a]), lambda s: registry.add_cross_account_access(s["name"], grant(b)),
                lambda s, o: grants_within(s, o, added=[b])),
        "remove": (target("SetRepositoryPolicy"), lambda: fresh([a, b]), lambda s: registry.remove_cross_account_access(s["name"], grant(b)),
                   lambda s, o: grants_within(s, o, removed=[b])),
        "get-access": (target("GetRepositoryPolicy"), lambda: fresh([a]), lambda s: registry.get_cross_account_access(s["name"]),
                       lambda s, o: grants_within(s, o)),
        "credentials": (target("GetAuthorizationToken"), lambda: fresh(None),
                        lambda s: registry.generate_credentials(s["name"], "pull", ttl_seconds=900), lambda s, o: None),
    }


@pytest.fixture(scope="module")
def ecr_rig():
    with _child([sys.executable, str(REPO / "tests" / "servers" / "moto_server.py")], stderr=subprocess.DEVNULL) as proc:
        ready = _read_ready_line(proc)
        upstream = f"http://127.0.0.1:{ready['port']}"
        with fault_proxy(upstream) as (endpoint, script, log):
            config = {"name": "artifacts", "binding": {"service": "ecr", "repositoryPrefix": "acme", "unscopedCredentials": True},
                      "aws": {"region": "us-east-1", "accountId": "123456789012",
                              "credentials": {"accessKeyId": ready["accessKeyId"], "secretAccessKey": ready["secretAccessKey"]},
                              "endpoints": {"ecr": endpoint, "sts": endpoint}},
                      "timeouts": TIMEOUTS}
            ecr = boto3.client("ecr", region_name="us-east-1", endpoint_url=upstream,
                               aws_access_key_id=ready["accessKeyId"], aws_secret_access_key=ready["secretAccessKey"])
            counter = iter(range(10**6))
            yield ecr_scenario(ar.ArtifactRegistry(config), ecr, counter), script, log



# ---- the local provider on docker-registry ----------------------------------------------

@pytest.fixture(scope="module")
def local_rig():
    with running_docker_registry() as reg:
        with fault_proxy(f"http://{reg['addr']}") as (endpoint, script, log):
            config = {**reg["config"], "binding": {**reg["config"]["binding"], "registryUrl": endpoint[len("http://"):]}, "timeouts": TIMEOUTS}
            registry = ar.ArtifactRegistry(config)
            auth = "Basic " + base64.b64encode(f"{reg['user']}:{reg['password']}".encode()).decode()
            counter = iter(range(10**6))

            def marker_exists(name):
                req = urllib.request.Request(f"http://{reg['addr']}/v2/{name}/tags/list", headers={"Authorization": auth})
                try:
                    return bool(json.loads(urllib.request.urlopen(req).read()).get("tags"))
                except urllib.error.HTTPError as e:
                    assert e.code == 404, e
                    return False

            def fresh():
                n = next(counter)
                registry.create_repository(f"l{n}")
                return {"name": f"artifacts/l{n}", "logical": f"l{n}"}

            def create_check(state, outcome):
                assert registry.create_repository(state["logical"]).name == state["name"] and marker_exists(state["name"])

            def delete_check(state, outcome):
                if outcome != "ok":
                    # The user's retry; the local provider answers not-found once gone.
                    with contextlib.suppress(ar.NotFoundError):
                        registry.delete_repository(state["name"])
                assert not marker_exists(state["name"])

            scenario = {
                "create": ({"method": "PUT", "path": "/manifests/"}, lambda: (lambda n: {"logical": f"c{n}", "name": f"artifacts/c{n}"})(next(counter)),
                           lambda s: registry.create_repository(s["logical"]), create_check),
                "get": ({"method": "GET", "path": "/manifests/"}, fresh, lambda s: registry.get_repository(s["name"]),
                        lambda s, o: marker_exists(s["name"]) or pytest.fail("get lost the repository")),
                "delete": ({"method": "DELETE", "path": "/manifests/"}, fresh, lambda s: registry.delete_repository(s["name"]), delete_check),
                "credentials": ({"method": "GET", "path": "^/v2/$"}, fresh,
                                lambda s: registry.generate_credentials(s["name"], "push-pull"), lambda s, o: None),
            }
            yield scenario, script, log



# ---- GAR and ACR on their contract servers -------------------------------------------------

@contextlib.contextmanager
def contract_rig(script_name):
    with _contract_server(script_name) as (ready, upstream, control):
        with fault_proxy(upstream) as (endpoint, script, log):
            yield ready, upstream, endpoint, control, script, log


def gar_members(control):
    policy = control("/_contract/state")["policies"].get("images", {"bindings": []})
    return {(b["role"], m) for b in policy.get("bindings", []) for m in b["members"]}


@pytest.fixture(scope="module")
def gar_rig():
    with contract_rig("gar_server.py") as (ready, upstream, endpoint, control, script, log):
        control("/_contract/configure", {"lroPolls": 1})
        config = {"name": "artifacts", "binding": {"service": "gar", "repositoryName": "images", "unscopedCredentials": True},
                  "gcp": {"projectId": ready["projectId"], "region": ready["location"], "credentials": ready["serviceAccountKey"],
                          "endpoints": {"artifactRegistry": endpoint, "iamCredentials": endpoint, "oauth2": f"{endpoint}/token"}},
                  "timeouts": TIMEOUTS}
        registry = ar.ArtifactRegistry(config)
        counter = iter(range(10**6))
        reader = lambda n: f"reader-{n}@p2.iam.gserviceaccount.com"
        grant = lambda email: {"platform": "gcp", "serviceAccountEmails": [email]}

        def fresh(extra=0):
            n = next(counter)
            registry.create_repository(f"g{n}")
            control("/_contract/package", {"repository": "images", "package": f"g{n}"})
            for i in range(extra):
                registry.add_cross_account_access(f"acme-p1/images/g{n}", grant(reader(f"{n}-{i}")))
            return {"name": f"acme-p1/images/g{n}", "logical": f"g{n}", "n": n, "before": gar_members(control)}

        def members_within(state, outcome, added=(), removed=()):
            after = gar_members(control)
            lost, new = state["before"] - after, after - state["before"]
            assert {m for _, m in lost} <= {f"serviceAccount:{e}" for e in removed}, f"lost {lost}"
            assert {m for _, m in new} <= {f"serviceAccount:{e}" for e in added}, f"widened {new}"
            if outcome == "ok":
                assert {m for _, m in new} == {f"serviceAccount:{e}" for e in added} and {m for _, m in lost} == {f"serviceAccount:{e}" for e in removed}

        def fresh_repository():
            # A new Artifact Registry repository per case: only the first create of
            # one makes the request that is faulted.
            n = next(counter)
            other = {**config, "binding": {**config["binding"], "repositoryName": f"r{n}"}}
            return {"registry": ar.ArtifactRegistry(other), "logical": "app", "name": f"acme-p1/r{n}/app", "repository": f"r{n}"}

        def create_check(state, outcome):
            assert state["registry"].create_repository(state["logical"]).name == state["name"]
            # Created, or (when the creating call's answer was lost) its operation is
            # still running: the contract says "it exists, or is about to".
            server = control("/_contract/state")
            assert state["repository"] in server["repositories"] or state["repository"] in server["pendingCreates"]

        def package_exists(s):
            return f"images/{s['logical']}" in control("/_contract/state")["packages"]

        def delete_check(state, outcome):
            if outcome != "ok":
                registry.delete_repository(state["name"])
            assert not package_exists(state)

        scenario = {
            "create": ({"method": "POST", "path": r"/repositories\?"}, fresh_repository,
                       lambda s: s["registry"].create_repository(s["logical"]), create_check),
            "get": ({"method": "GET", "path": "/packages/"}, fresh, lambda s: registry.get_repository(s["name"]), lambda s, o: None),
            "delete": ({"method": "DELETE", "path": "/packages/"}, fresh, lambda s: registry.delete_repository(s["name"]), delete_check),
            "add": ({"path": ":setIamPolicy"}, lambda: fresh(1), lambda s: registry.add_cross_account_access(s["name"], grant(reader(f"{s['n']}-new"))),
                    lambda s, o: members_within(s, o, added=[reader(f"{s['n']}-new")])),
            "remove": ({"path": ":setIamPolicy"}, lambda: fresh(2), lambda s: registry.remove_cross_account_access(s["name"], grant(reader(f"{s['n']}-1"))),
                       lambda s, o: members_within(s, o, removed=[reader(f"{s['n']}-1")])),
            "get-access": ({"path": ":getIamPolicy"}, lambda: fresh(1), lambda s: registry.get_cross_account_access(s["name"]),
                           lambda s, o: members_within(s, o)),
            "credentials": ({"method": "POST", "path": "^/token"}, fresh,
                            lambda s: ar.ArtifactRegistry(config).generate_credentials(s["name"], "pull"), lambda s, o: None),
        }
        yield scenario, script, log



@pytest.fixture(scope="module")
def acr_rig():
    with contract_rig("acr_server.py") as (ready, upstream, endpoint, control, script, log):
        control("/_contract/configure", {"publicUrl": endpoint})
        config = {"name": "artifacts",
                  "binding": {"service": "acr", "registryName": ready["registryName"], "resourceGroupName": ready["resourceGroup"], "repositoryPrefix": "team-a"},
                  "azure": {"tenantId": ready["tenantId"], "subscriptionId": ready["subscriptionId"],
                            "credentials": {"clientId": ready["clientId"], "clientSecret": ready["clientSecret"]},
                            "endpoints": {"activeDirectory": endpoint, "resourceManager": endpoint, "containerRegistry": endpoint}},
                  "timeouts": TIMEOUTS}
        counter = iter(range(10**6))

        def fresh():
            n = next(counter)
            control("/_contract/image", {"repository": f"team-a/a{n}", "tag": "v1"})
            return {"name": f"team-a/a{n}"}

        def delete_check(state, outcome):
            if outcome != "ok":
                ar.ArtifactRegistry(config).delete_repository(state["name"])
            assert state["name"] not in control("/_contract/state")["repositories"]

        # A fresh client per call, so that the token requests are made (and faulted) too.
        scenario = {
            "get": ({"method": "GET", "path": "^/acr/v1/"}, fresh, lambda s: ar.ArtifactRegistry(config).get_repository(s["name"]),
                    lambda s, o: s["name"] in control("/_contract/state")["repositories"] or pytest.fail("get lost it")),
            "delete": ({"method": "DELETE", "path": "^/acr/v1/"}, fresh, lambda s: ar.ArtifactRegistry(config).delete_repository(s["name"]), delete_check),
            "credentials": ({"method": "POST", "path": "^/oauth2/token"}, fresh,
                            lambda s: ar.ArtifactRegistry(config).generate_credentials(s["name"], "pull"), lambda s, o: None),
            "aad-token": ({"method": "POST", "path": "/oauth2/v2.0/token"}, fresh,
                          lambda s: ar.ArtifactRegistry(config).get_repository(s["name"]), lambda s, o: None),
        }
        yield scenario, script, log



# Each provider's rig (a module-wide fixture) and the operations run through it.
RIGS = {
    "ecr on moto": ("ecr_rig", ["create", "get", "delete", "add", "remove", "get-access", "credentials"]),
    "local on docker-registry": ("local_rig", ["create", "get", "delete", "credentials"]),
    "gar on its contract server": ("gar_rig", ["create", "get", "delete", "add", "remove", "get-access", "credentials"]),
    "acr on its contract server": ("acr_rig", ["get", "delete", "credentials", "aad-token"]),
}


# The reads whose answer decides what an operation does next; each is answered once
# with 200 and an empty body ("empty") and with `{}` ("missing-fields"). The same
# reads as tests/tests/faults.rs.
SPOILED_READS = ["empty", "missing-fields"]
_target = lambda t: (t, {"header": ["X-Amz-Target", t]})
_gar_repository = ("repository", {"method": "GET", "path": "/repositories/[^/:?]+$"})
READS = {
    "ecr on moto": {
        "get": [_target("DescribeRepositories")],
        "add": [_target("DescribeRegistry"), _target("GetRepositoryPolicy")],
        "remove": [_target("DescribeRegistry"), _target("GetRepositoryPolicy")],
        "get-access": [_target("GetRepositoryPolicy")],
        "credentials": [_target("GetAuthorizationToken")],
    },
    "local on docker-registry": {"get": [("manifest", {"method": "GET", "path": "/manifests/"})]},
    "gar on its contract server": {
        "create": [_gar_repository],
        "get": [_gar_repository, ("package", {"method": "GET", "path": "/packages/"})],
        "add": [("getIamPolicy", {"path": ":getIamPolicy"})],
        "remove": [("getIamPolicy", {"path": ":getIamPolicy"})],
        "get-access": [("getIamPolicy", {"path": ":getIamPolicy"})],
        "credentials": [("token", {"method": "POST", "path": "^/token"})],
    },
    "acr on its contract server": {
        "get": [("repository", {"method": "GET", "path": "^/acr/v1/"})],
        "credentials": [("access token", {"method": "POST", "path": "^/oauth2/token"})],
        "aad-token": [("AAD token", {"method": "POST", "path": "/oauth2/v2.0/token"})],
    },
}
READ_MATRIX = {}


@pytest.mark.parametrize("provider,op,read,rule,fault", [
    pytest.param(provider, op, read, rule, fault, id=f"{RIGS[provider][0].split('_')[0]}-{op}-{read}-{fault}")
    for provider, ops in READS.items() for op, reads in ops.items() for read, rule in reads for fault in SPOILED_READS])
def test_spoiled_read(request, provider, op, read, rule, fault):
    """A read answered 2xx with nothing usable is a provider error, the last request
    the call sent (nothing is written from it), and the state is as it was."""
    scenario, script, log = request.getfixturevalue(RIGS[provider][0])
    check = scenario[op][3]
    state, outcome, sent = scripted(scenario, op, {**rule, "fault": fault, "times": 1}, script, log)
    spoiled = [i for i, r in enumerate(sent) if r["fault"]]
    assert spoiled, f"the fault never fired: {sent}"
    assert spoiled[0] == len(sent) - 1, f"requests were sent after the spoiled read: {sent}"
    assert outcome == "provider", f"{op} with {read} answered {fault}: {outcome}"
    check(state, outcome)
    READ_MATRIX[(provider, op, read, fault)] = outcome


@pytest.mark.parametrize("provider,op,fault,times", [
    pytest.param(provider, *case.values, id=f"{rig.split('_')[0]}-{case.id}")
    for provider, (rig, ops) in RIGS.items() for case in cases(ops)])
def test_fault(request, provider, op, fault, times):
    scenario, script, log = request.getfixturevalue(RIGS[provider][0])
    run_case(provider, op, fault, times, scenario, script, log)


def test_write_the_matrix():
    """Runs last in this module: writes what the cases above found."""
    assert MATRIX, "no fault case ran"
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    kinds = [f for f in FAULTS] + [f"{f} (always)" for f in PERSISTENT]
    lines = ["| provider | operation | " + " | ".join(kinds) + " |", "|---|---|" + "---|" * len(kinds)]
    for provider, ops in MATRIX.items():
        for op, outcomes in ops.items():
            lines.append(f"| {provider} | {op} | " + " | ".join(outcomes.get(k, "") for k in kinds) + " |")
    (target / "fault-matrix.md").write_text("\n".join(lines) + "\n")
    assert READ_MATRIX, "no spoiled-read case ran"
    lines = ["| provider | operation | read | " + " | ".join(SPOILED_READS) + " |", "|---|---|---|" + "---|" * len(SPOILED_READS)]
    for provider, ops in READS.items():
        for op, reads in ops.items():
            for read, _ in reads:
                lines.append(f"| {provider} | {op} | {read} | " + " | ".join(READ_MATRIX.get((provider, op, read, f), "") for f in SPOILED_READS) + " |")
    (target / "fault-matrix-reads.md").write_text("\n".join(lines) + "\n")
