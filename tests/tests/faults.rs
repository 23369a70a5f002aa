//! Faults between the native Rust driver and every real server, through
//! `tests/servers/fault_proxy.py`: each operation of each provider (ECR on moto, the
//! local provider on `docker-registry`, GAR and ACR on their contract servers) runs
//! with one scripted fault on its key request, once and (for some kinds) on every
//! attempt. After each case the state is read back with an independent client
//! (boto3 for moto, the contract servers' own state, plain HTTP for the registry).
//!
//! Every case ends in success or a typed retryable error; a create or delete whose
//! answer was lost reports what really happened; no statement or binding is lost or
//! widened. Each provider's matrix (faults × operations → outcomes) is printed and
//! written to `target/fault-matrix/rust-<provider>.md`. (Python runs the same matrix:
//! `python/tests/test_faults.py`.)

use std::collections::BTreeSet;

use artifact_registry_core::{ArtifactRegistry as _, CrossAccountAccess, ErrorCode, Permissions, Result};
use artifact_registry_native::NativeRegistry;
use artifact_registry_tests::contract_server::ContractServer;
use artifact_registry_tests::moto::MotoServer;
use artifact_registry_tests::oci_registry::{self, DockerRegistry, RegistryAuth};
use artifact_registry_tests::plain_http;
use serde_json::{Value, json};

const FAULTS: [&str; 9] =
    ["500", "503", "429", "reset-before", "reset-after", "truncate", "slow-body", "malformed", "content-type"];
/// Kinds also run on every attempt, so that retries cannot hide them.
const PERSISTENT: [&str; 5] = ["503", "reset-before", "reset-after", "slow-body", "malformed"];
/// The server applied the request, but its answer was lost or spoiled.
const APPLIED: [&str; 3] = ["reset-after", "truncate", "slow-body"];
/// A read answered 2xx with an empty body, or with a JSON object that lacks what must
/// be there: a `provider` error, and nothing is sent after it (no write from it).
const SPOILED_READS: [&str; 2] = ["empty", "missing-fields"];

fn timeouts() -> Value {
    json!({ "requestSeconds": 0.5, "operationSeconds": 30 })
}

fn retryable(code: ErrorCode) -> bool {
    matches!(code, ErrorCode::Throttled | ErrorCode::Timeout | ErrorCode::Transport | ErrorCode::Provider)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Create,
    Get,
    Delete,
    Add,
    Remove,
    GetAccess,
    Credentials,
    /// ACR: the Azure AD token request of a first call.
    AadToken,
}

/// What a case set up, for its call and its check.
#[derive(Default)]
struct State {
    /// The routable name the case works on.
    name: String,
    /// The logical name a create is called with.
    logical: String,
    /// The grants (or policy atoms) before the call.
    before: BTreeSet<String>,
    /// The case's number, for names of its own.
    n: usize,
    /// GAR's create: a registry bound to a fresh Artifact Registry repository.
    registry: Option<NativeRegistry>,
}

/// One provider's server, reached through the fault proxy.
trait Rig {
    /// The request a case's fault is scripted on (a fault proxy rule, less the fault).
    fn rule(&self, op: Op) -> Value;
    async fn setup(&mut self, op: Op) -> State;
    async fn call(&self, op: Op, state: &State) -> Result<()>;
    /// Reads the state back; `ok` is whether the call succeeded.
    async fn check(&self, op: Op, state: &State, ok: bool);
    /// The reads of `op` whose answer decides what it does next, by name, as fault
    /// proxy rules (less the fault).
    fn reads(&self, op: Op) -> Vec<(&'static str, Value)>;
}

fn outcome_label(outcome: &Result<()>) -> String {
    outcome.as_ref().map(|_| "ok".to_owned()).unwrap_or_else(|e| e.code().to_string())
}

/// Runs every case of `ops` through `rig`, scripting faults on `proxy`; prints the
/// matrix and writes it to `target/fault-matrix/rust-<provider>.md`.
async fn run_matrix(provider: &str, proxy: &ContractServer, rig: &mut impl Rig, ops: &[Op]) {
    let kinds: Vec<(&str, u32)> = FAULTS.iter().map(|f| (*f, 1)).chain(PERSISTENT.iter().map(|f| (*f, 99))).collect();
    let header = kinds.iter().map(|(f, t)| if *t == 1 { f.to_string() } else { format!("{f} (always)") });
    let mut table =
        format!("| operation | {} |\n|---|{}\n", header.collect::<Vec<_>>().join(" | "), "---|".repeat(kinds.len()));
    for &op in ops {
        let mut row = Vec::new();
        for &(fault, times) in &kinds {
            let state = rig.setup(op).await;
            proxy.control("/_fault/log", None);
            let mut rule = rig.rule(op);
            rule["fault"] = json!(fault);
            rule["times"] = json!(times);
            rule["seconds"] = json!(1);
            proxy.control("/_fault/script", Some(json!([rule])));
            let outcome = rig.call(op, &state).await;
            proxy.control("/_fault/script", Some(json!([])));
            let log = proxy.control("/_fault/log", None);
            let case = format!("{provider}: {op:?} with {fault} ×{times}");
            assert!(
                log.as_array().unwrap().iter().any(|r| !r["fault"].is_null()),
                "{case}: the fault never fired: {log}"
            );
            if let Err(e) = &outcome {
                assert!(retryable(e.code()), "{case}: {e}");
            }
            if matches!(op, Op::Create | Op::Delete) && APPLIED.contains(&fault) && times == 1 {
                assert!(outcome.is_ok(), "{case}: a lost answer must be retried to what happened: {outcome:?}");
            }
            rig.check(op, &state, outcome.is_ok()).await;
            row.push(outcome_label(&outcome));
        }
        table.push_str(&format!("| {op:?} | {} |\n", row.join(" | ")));
    }
    write_matrix(provider.split_whitespace().next().unwrap(), provider, &table);
}

/// Every read of `ops` answered once as each of [`SPOILED_READS`]: the call fails with
/// `provider`, the spoiled read is the last request it sent (so nothing was written
/// from it), and the state check finds nothing lost or widened. Prints the matrix and
/// writes it to `target/fault-matrix/rust-<provider>-reads.md`.
async fn run_read_matrix(provider: &str, proxy: &ContractServer, rig: &mut impl Rig, ops: &[Op]) {
    let mut table = format!("| operation | read | {} |\n|---|---|---|---|\n", SPOILED_READS.join(" | "));
    for &op in ops {
        for (read, rule) in rig.reads(op) {
            let mut row = Vec::new();
            for fault in SPOILED_READS {
                let state = rig.setup(op).await;
                proxy.control("/_fault/log", None);
                let mut rule = rule.clone();
                rule["fault"] = json!(fault);
                proxy.control("/_fault/script", Some(json!([rule])));
                let outcome = rig.call(op, &state).await;
                proxy.control("/_fault/script", Some(json!([])));
                let log = proxy.control("/_fault/log", None);
                let log = log.as_array().unwrap();
                let case = format!("{provider}: {op:?} with {read} answered {fault}");
                let spoiled =
                    log.iter().position(|r| !r["fault"].is_null()).unwrap_or_else(|| panic!("{case}: never fired"));
                assert_eq!(spoiled + 1, log.len(), "{case}: requests were sent after the spoiled read: {log:?}");
                match &outcome {
                    Err(e) => assert_eq!(e.code(), ErrorCode::Provider, "{case}: {e}"),
                    Ok(()) => panic!("{case}: succeeded on a spoiled answer"),
                }
                rig.check(op, &state, false).await;
                row.push(outcome_label(&outcome));
            }
            table.push_str(&format!("| {op:?} | {read} | {} |\n", row.join(" | ")));
        }
    }
    write_matrix(&format!("{}-reads", provider.split_whitespace().next().unwrap()), provider, &table);
}

fn write_matrix(file: &str, provider: &str, table: &str) {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| artifact_registry_tests::repo_root().join("target"))
        .join("fault-matrix");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("rust-{file}.md")), format!("{provider}\n\n{table}")).unwrap();
    println!("{provider}\n{table}");
}

/// Whether a contract server's state lists `key` (as a map's key or a list's item).
fn listed(collection: &Value, key: &str) -> bool {
    collection.as_object().is_some_and(|m| m.contains_key(key))
        || collection.as_array().is_some_and(|l| l.contains(&json!(key)))
}

fn connect(config: &Value) -> NativeRegistry {
    artifact_registry_native::connect(&config.to_string()).unwrap()
}

// ---- ECR on moto ---------------------------------------------------------------------

const PULL_ACTIONS: [&str; 2] = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"];
const A: &str = "111111111111";
const B: &str = "222222222222";

fn aws_grant(account: &str) -> CrossAccountAccess {
    CrossAccountAccess::from_json(&json!({ "platform": "aws", "accountIds": [account] })).unwrap()
}

fn as_list(v: &Value) -> Vec<Value> {
    v.as_array().cloned().unwrap_or_else(|| vec![v.clone()])
}

struct EcrRig {
    moto: MotoServer,
    registry: NativeRegistry,
    next: usize,
}

impl EcrRig {
    /// moto and a registry through the proxy in front of it; and the proxy.
    fn start(timeouts: Value) -> (EcrRig, ContractServer) {
        let moto = MotoServer::start();
        let proxy = ContractServer::start_with("fault_proxy.py", &[&moto.endpoint]);
        // Credentials without a pull role: the base credentials' token, accepted.
        let mut config = moto.ecr_config("acme", json!({ "unscopedCredentials": true }));
        config["aws"]["endpoints"] = json!({ "ecr": proxy.endpoint, "sts": proxy.endpoint });
        config["timeouts"] = timeouts;
        (EcrRig { registry: connect(&config), moto, next: 0 }, proxy)
    }

    /// The policy as atoms: each foreign statement whole, each of our principals alone;
    /// each of our statements must allow the pull actions and nothing more.
    fn atoms(&self, name: &str) -> BTreeSet<String> {
        let text = self.moto.boto3(
            "us-east-1",
            &format!("try:\n    print(ecr.get_repository_policy(repositoryName='{name}')['policyText'])\nexcept ecr.exceptions.RepositoryPolicyNotFoundException:\n    print('{{\"Statement\": []}}')"),
        );
        let policy: Value = serde_json::from_str(&text).unwrap();
        let mut atoms = BTreeSet::new();
        for s in as_list(&policy["Statement"]) {
            if s["Sid"] == "Theirs" {
                atoms.insert(format!("foreign {s}"));
                continue;
            }
            let actions = as_list(&s["Action"]);
            assert!(
                s["Effect"] == "Allow" && actions.iter().all(|a| PULL_ACTIONS.contains(&a.as_str().unwrap_or(""))),
                "widened: {s}"
            );
            for p in as_list(&s["Principal"]["AWS"]) {
                atoms.insert(format!("ours {}", p.as_str().unwrap()));
            }
        }
        atoms
    }

    fn exists(&self, name: &str) -> bool {
        self.moto
            .boto3(
                "us-east-1",
                "print(json.dumps([r['repositoryName'] for r in ecr.describe_repositories()['repositories']]))",
            )
            .contains(&format!("\"{name}\""))
    }

    /// A repository made with boto3, with a foreign Deny and our grants for `accounts`.
    async fn fresh(&mut self, accounts: Option<&[&str]>) -> State {
        self.next += 1;
        let name = format!("acme-f{}", self.next);
        self.moto.boto3("us-east-1", &format!("ecr.create_repository(repositoryName='{name}')"));
        if let Some(accounts) = accounts {
            self.moto.boto3("us-east-1", &format!("ecr.set_repository_policy(repositoryName='{name}', policyText=json.dumps({{'Version': '2012-10-17', 'Statement': [{{'Sid': 'Theirs', 'Effect': 'Deny', 'Principal': {{'AWS': 'arn:aws:iam::999999999999:root'}}, 'Action': 'ecr:PutImage'}}]}}))"));
            for account in accounts {
                self.registry.add_cross_account_access(&name, &aws_grant(account)).await.unwrap();
            }
        }
        State { before: self.atoms(&name), name, n: self.next, ..State::default() }
    }

    /// No atom lost but those `removed`, none new but those `added`; all of it if `ok`.
    fn grants_within(&self, state: &State, ok: bool, added: &[&str], removed: &[&str]) {
        let after = self.atoms(&state.name);
        let ours = |accounts: &[&str]| -> BTreeSet<String> {
            accounts.iter().map(|a| format!("ours arn:aws:iam::{a}:root")).collect()
        };
        let lost: BTreeSet<String> = state.before.difference(&after).cloned().collect();
        let new: BTreeSet<String> = after.difference(&state.before).cloned().collect();
        assert!(lost.is_subset(&ours(removed)), "{}: lost {lost:?}", state.name);
        assert!(new.is_subset(&ours(added)), "{}: widened {new:?}", state.name);
        if ok {
            assert_eq!((new, lost), (ours(added), ours(removed)), "{}", state.name);
        }
    }
}

impl Rig for EcrRig {
    fn rule(&self, op: Op) -> Value {
        let target = match op {
            Op::Create => "CreateRepository",
            Op::Get => "DescribeRepositories",
            Op::Delete => "DeleteRepository",
            Op::Add | Op::Remove => "SetRepositoryPolicy",
            Op::GetAccess => "GetRepositoryPolicy",
            Op::Credentials => "GetAuthorizationToken",
            Op::AadToken => unreachable!(),
        };
        json!({ "header": ["X-Amz-Target", target] })
    }

    fn reads(&self, op: Op) -> Vec<(&'static str, Value)> {
        let read = |target: &'static str| (target, json!({ "header": ["X-Amz-Target", target] }));
        match op {
            Op::Get => vec![read("DescribeRepositories")],
            Op::Add | Op::Remove => vec![read("DescribeRegistry"), read("GetRepositoryPolicy")],
            Op::GetAccess => vec![read("GetRepositoryPolicy")],
            Op::Credentials => vec![read("GetAuthorizationToken")],
            _ => Vec::new(),
        }
    }

    async fn setup(&mut self, op: Op) -> State {
        match op {
            Op::Create => {
                self.next += 1;
                State { logical: format!("c{}", self.next), name: format!("acme-c{}", self.next), ..State::default() }
            }
            Op::Add | Op::GetAccess => self.fresh(Some(&[A])).await,
            Op::Remove => self.fresh(Some(&[A, B])).await,
            _ => self.fresh(None).await,
        }
    }

    async fn call(&self, op: Op, s: &State) -> Result<()> {
        let r = &self.registry;
        match op {
            Op::Create => r.create_repository(&s.logical).await.map(drop),
            Op::Get => r.get_repository(&s.name).await.map(drop),
            Op::Delete => r.delete_repository(&s.name).await,
            Op::Add => r.add_cross_account_access(&s.name, &aws_grant(B)).await,
            Op::Remove => r.remove_cross_account_access(&s.name, &aws_grant(B)).await,
            Op::GetAccess => r.get_cross_account_access(&s.name).await.map(drop),
            Op::Credentials => r.generate_credentials(&s.name, Permissions::Pull, Some(900)).await.map(drop),
            Op::AadToken => unreachable!(),
        }
    }

    async fn check(&self, op: Op, s: &State, ok: bool) {
        match op {
            Op::Add => self.grants_within(s, ok, &[B], &[]),
            Op::Remove => self.grants_within(s, ok, &[], &[B]),
            Op::GetAccess => self.grants_within(s, ok, &[], &[]),
            _ => check_repository(&self.registry, op, s, ok, |name| self.exists(name)).await,
        }
    }
}

/// The check of a create, a delete or a read, where the provider answers not-found
/// for a repository already gone (ECR, local); `exists` asks the server itself. A
/// create, retried as a user would, gives the same repository, which exists; a
/// failed delete, retried, leaves it gone; a read leaves it there.
async fn check_repository(registry: &NativeRegistry, op: Op, s: &State, ok: bool, exists: impl Fn(&str) -> bool) {
    match op {
        Op::Create => {
            assert_eq!(registry.create_repository(&s.logical).await.unwrap().name, s.name);
            assert!(exists(&s.name), "{} was not made", s.name);
        }
        Op::Delete => {
            if !ok {
                match registry.delete_repository(&s.name).await {
                    Ok(()) => {}
                    Err(e) if e.code() == ErrorCode::NotFound => {}
                    Err(e) => panic!("retrying the delete of {}: {e}", s.name),
                }
            }
            assert!(!exists(&s.name), "{} is still there", s.name);
        }
        _ => assert!(exists(&s.name), "a read lost {}", s.name),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_of_ecr_under_every_fault() {
    let (mut rig, proxy) = EcrRig::start(timeouts());
    use Op::*;
    let ops = [Create, Get, Delete, Add, Remove, GetAccess, Credentials];
    run_matrix("ecr on moto", &proxy, &mut rig, &ops).await;
    run_read_matrix("ecr on moto", &proxy, &mut rig, &ops).await;
}

// ---- the local provider on docker-registry ----------------------------------------------

struct LocalRig {
    registry_server: DockerRegistry,
    registry: NativeRegistry,
    next: usize,
}

impl LocalRig {
    fn start() -> (LocalRig, ContractServer) {
        let registry_server = DockerRegistry::start(RegistryAuth::Htpasswd, true);
        let proxy = ContractServer::start_with("fault_proxy.py", &[&format!("http://{}", registry_server.addr)]);
        let mut config = registry_server.config("artifacts");
        config["binding"]["registryUrl"] = json!(proxy.endpoint.trim_start_matches("http://"));
        config["timeouts"] = timeouts();
        (LocalRig { registry: connect(&config), registry_server, next: 0 }, proxy)
    }

    /// Whether the repository has its marker tag, asked of the registry directly.
    fn marker_exists(&self, name: &str) -> bool {
        let answer = plain_http::request(
            "GET",
            &format!("http://{}/v2/{name}/tags/list", self.registry_server.addr),
            &[("Authorization", &plain_http::basic(oci_registry::USER, oci_registry::password()))],
            b"",
        );
        match answer.status {
            200 => {
                serde_json::from_slice::<Value>(&answer.body).unwrap()["tags"].as_array().is_some_and(|t| !t.is_empty())
            }
            404 => false,
            status => panic!("tags/list of {name}: {status}"),
        }
    }
}

impl Rig for LocalRig {
    fn rule(&self, op: Op) -> Value {
        match op {
            Op::Create => json!({ "method": "PUT", "path": "/manifests/" }),
            Op::Get => json!({ "method": "GET", "path": "/manifests/" }),
            Op::Delete => json!({ "method": "DELETE", "path": "/manifests/" }),
            Op::Credentials => json!({ "method": "GET", "path": "^/v2/$" }),
            _ => unreachable!(),
        }
    }

    fn reads(&self, op: Op) -> Vec<(&'static str, Value)> {
        match op {
            // The registry API's own `GET /v2/` answers `{}`; a manifest is checked
            // against its digest.
            Op::Get => vec![("manifest", json!({ "method": "GET", "path": "/manifests/" }))],
            _ => Vec::new(),
        }
    }

    async fn setup(&mut self, op: Op) -> State {
        self.next += 1;
        let n = self.next;
        if op == Op::Create {
            return State { logical: format!("c{n}"), name: format!("artifacts/c{n}"), n, ..State::default() };
        }
        self.registry.create_repository(&format!("l{n}")).await.unwrap();
        State { logical: format!("l{n}"), name: format!("artifacts/l{n}"), n, ..State::default() }
    }

    async fn call(&self, op: Op, s: &State) -> Result<()> {
        let r = &self.registry;
        match op {
            Op::Create => r.create_repository(&s.logical).await.map(drop),
            Op::Get => r.get_repository(&s.name).await.map(drop),
            Op::Delete => r.delete_repository(&s.name).await,
            Op::Credentials => r.generate_credentials(&s.name, Permissions::PushPull, None).await.map(drop),
            _ => unreachable!(),
        }
    }

    async fn check(&self, op: Op, s: &State, ok: bool) {
        check_repository(&self.registry, op, s, ok, |name| self.marker_exists(name)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_of_the_local_provider_under_every_fault() {
    let (mut rig, proxy) = LocalRig::start();
    use Op::*;
    run_matrix("local on docker-registry", &proxy, &mut rig, &[Create, Get, Delete, Credentials]).await;
    run_read_matrix("local on docker-registry", &proxy, &mut rig, &[Get]).await;
}

// ---- GAR and ACR on their contract servers -------------------------------------------------

/// A contract server with the fault proxy in front.
fn contract_behind_proxy(script: &str) -> (ContractServer, ContractServer) {
    let server = ContractServer::start(script);
    let proxy = ContractServer::start_with("fault_proxy.py", &[&server.endpoint]);
    (server, proxy)
}

struct GarRig {
    server: ContractServer,
    config: Value,
    registry: NativeRegistry,
    next: usize,
}

fn reader(tag: &str) -> String {
    format!("reader-{tag}@p2.iam.gserviceaccount.com")
}

fn gcp_grant(email: &str) -> CrossAccountAccess {
    CrossAccountAccess::from_json(&json!({ "platform": "gcp", "serviceAccountEmails": [email] })).unwrap()
}

impl GarRig {
    fn start() -> (GarRig, ContractServer) {
        let (server, proxy) = contract_behind_proxy("gar_server.py");
        server.control("/_contract/configure", Some(json!({ "lroPolls": 1 })));
        let r = &server.ready;
        let config = json!({
            "name": "artifacts",
            "binding": { "service": "gar", "repositoryName": "images", "unscopedCredentials": true },
            "gcp": {
                "projectId": r["projectId"], "region": r["location"], "credentials": r["serviceAccountKey"],
                "endpoints": { "artifactRegistry": proxy.endpoint, "iamCredentials": proxy.endpoint, "oauth2": format!("{}/token", proxy.endpoint) }
            },
            "timeouts": timeouts()
        });
        (GarRig { registry: connect(&config), server, config, next: 0 }, proxy)
    }

    /// The `images` repository's bindings as `role member` pairs.
    fn members(&self) -> BTreeSet<String> {
        let policy = &self.server.state()["policies"]["images"];
        let mut members = BTreeSet::new();
        for binding in policy["bindings"].as_array().into_iter().flatten() {
            for m in binding["members"].as_array().unwrap() {
                members.insert(format!("{} {}", binding["role"].as_str().unwrap(), m.as_str().unwrap()));
            }
        }
        members
    }

    async fn fresh(&mut self, grants: usize) -> State {
        self.next += 1;
        let n = self.next;
        self.registry.create_repository(&format!("g{n}")).await.unwrap();
        self.server.control("/_contract/package", Some(json!({ "repository": "images", "package": format!("g{n}") })));
        let name = format!("acme-p1/images/g{n}");
        for i in 0..grants {
            self.registry.add_cross_account_access(&name, &gcp_grant(&reader(&format!("{n}-{i}")))).await.unwrap();
        }
        State { name, logical: format!("g{n}"), n, before: self.members(), ..State::default() }
    }

    fn members_within(&self, s: &State, ok: bool, added: &[String], removed: &[String]) {
        let after = self.members();
        let member = |pair: &String| pair.split_once(' ').unwrap().1.to_owned();
        let lost: BTreeSet<String> = s.before.difference(&after).map(member).collect();
        let new: BTreeSet<String> = after.difference(&s.before).map(member).collect();
        let accounts =
            |emails: &[String]| -> BTreeSet<String> { emails.iter().map(|e| format!("serviceAccount:{e}")).collect() };
        assert!(lost.is_subset(&accounts(removed)), "lost {lost:?}");
        assert!(new.is_subset(&accounts(added)), "widened {new:?}");
        if ok {
            assert_eq!((new, lost), (accounts(added), accounts(removed)));
        }
    }
}

impl Rig for GarRig {
    fn rule(&self, op: Op) -> Value {
        match op {
            Op::Create => json!({ "method": "POST", "path": r"/repositories\?" }),
            Op::Get => json!({ "method": "GET", "path": "/packages/" }),
            Op::Delete => json!({ "method": "DELETE", "path": "/packages/" }),
            Op::Add | Op::Remove => json!({ "path": ":setIamPolicy" }),
            Op::GetAccess => json!({ "path": ":getIamPolicy" }),
            Op::Credentials => json!({ "method": "POST", "path": "^/token" }),
            Op::AadToken => unreachable!(),
        }
    }

    fn reads(&self, op: Op) -> Vec<(&'static str, Value)> {
        let repository = ("repository", json!({ "method": "GET", "path": "/repositories/[^/:?]+$" }));
        match op {
            Op::Create => vec![repository],
            Op::Get => vec![repository, ("package", json!({ "method": "GET", "path": "/packages/" }))],
            Op::Add | Op::Remove | Op::GetAccess => vec![("getIamPolicy", json!({ "path": ":getIamPolicy" }))],
            Op::Credentials => vec![("token", json!({ "method": "POST", "path": "^/token" }))],
            _ => Vec::new(),
        }
    }

    async fn setup(&mut self, op: Op) -> State {
        match op {
            Op::Create => {
                // A new Artifact Registry repository per case: only the first create
                // of one makes the request that is faulted.
                self.next += 1;
                let n = self.next;
                let mut other = self.config.clone();
                other["binding"]["repositoryName"] = json!(format!("r{n}"));
                State {
                    registry: Some(connect(&other)),
                    logical: "app".into(),
                    name: format!("acme-p1/r{n}/app"),
                    n,
                    ..State::default()
                }
            }
            Op::Add | Op::GetAccess => self.fresh(1).await,
            Op::Remove => self.fresh(2).await,
            _ => self.fresh(0).await,
        }
    }

    async fn call(&self, op: Op, s: &State) -> Result<()> {
        let r = &self.registry;
        match op {
            Op::Create => s.registry.as_ref().unwrap().create_repository(&s.logical).await.map(drop),
            Op::Get => r.get_repository(&s.name).await.map(drop),
            Op::Delete => r.delete_repository(&s.name).await,
            Op::Add => r.add_cross_account_access(&s.name, &gcp_grant(&reader(&format!("{}-new", s.n)))).await,
            Op::Remove => r.remove_cross_account_access(&s.name, &gcp_grant(&reader(&format!("{}-1", s.n)))).await,
            Op::GetAccess => r.get_cross_account_access(&s.name).await.map(drop),
            // A new client, so that its token request is made (and faulted).
            Op::Credentials => {
                connect(&self.config).generate_credentials(&s.name, Permissions::Pull, None).await.map(drop)
            }
            Op::AadToken => unreachable!(),
        }
    }

    async fn check(&self, op: Op, s: &State, ok: bool) {
        let package_exists = || listed(&self.server.state()["packages"], &format!("images/{}", s.logical));
        match op {
            Op::Create => {
                assert_eq!(s.registry.as_ref().unwrap().create_repository(&s.logical).await.unwrap().name, s.name);
                // Created, or (when the creating call's answer was lost) its operation
                // still running: the contract says "it exists, or is about to".
                let (state, repository) = (self.server.state(), format!("r{}", s.n));
                assert!(
                    listed(&state["repositories"], &repository) || listed(&state["pendingCreates"], &repository),
                    "{repository} is neither made nor being made"
                );
            }
            Op::Delete => {
                if !ok {
                    self.registry.delete_repository(&s.name).await.unwrap();
                }
                assert!(!package_exists(), "{} is still there", s.name);
            }
            Op::Add => self.members_within(s, ok, &[reader(&format!("{}-new", s.n))], &[]),
            Op::Remove => self.members_within(s, ok, &[], &[reader(&format!("{}-1", s.n))]),
            Op::GetAccess => self.members_within(s, ok, &[], &[]),
            Op::Get | Op::Credentials => assert!(package_exists(), "a read lost {}", s.name),
            Op::AadToken => unreachable!(),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_of_gar_under_every_fault() {
    let (mut rig, proxy) = GarRig::start();
    use Op::*;
    let ops = [Create, Get, Delete, Add, Remove, GetAccess, Credentials];
    run_matrix("gar on its contract server", &proxy, &mut rig, &ops).await;
    run_read_matrix("gar on its contract server", &proxy, &mut rig, &ops).await;
}

struct AcrRig {
    server: ContractServer,
    config: Value,
    next: usize,
}

impl AcrRig {
    fn start() -> (AcrRig, ContractServer) {
        let (server, proxy) = contract_behind_proxy("acr_server.py");
        server.control("/_contract/configure", Some(json!({ "publicUrl": proxy.endpoint })));
        let r = &server.ready;
        let config = json!({
            "name": "artifacts",
            "binding": { "service": "acr", "registryName": r["registryName"], "resourceGroupName": r["resourceGroup"], "repositoryPrefix": "team-a" },
            "azure": {
                "tenantId": r["tenantId"], "subscriptionId": r["subscriptionId"],
                "credentials": { "clientId": r["clientId"], "clientSecret": r["clientSecret"] },
                "endpoints": { "activeDirectory": proxy.endpoint, "resourceManager": proxy.endpoint, "containerRegistry": proxy.endpoint }
            },
            "timeouts": timeouts()
        });
        (AcrRig { server, config, next: 0 }, proxy)
    }

    fn exists(&self, name: &str) -> bool {
        listed(&self.server.state()["repositories"], name)
    }
}

impl Rig for AcrRig {
    fn rule(&self, op: Op) -> Value {
        match op {
            Op::Get => json!({ "method": "GET", "path": "^/acr/v1/" }),
            Op::Delete => json!({ "method": "DELETE", "path": "^/acr/v1/" }),
            Op::Credentials => json!({ "method": "POST", "path": "^/oauth2/token" }),
            Op::AadToken => json!({ "method": "POST", "path": "/oauth2/v2.0/token" }),
            _ => unreachable!(),
        }
    }

    fn reads(&self, op: Op) -> Vec<(&'static str, Value)> {
        match op {
            Op::Get => vec![("repository", self.rule(op))],
            Op::Credentials => vec![("access token", self.rule(op))],
            Op::AadToken => vec![("AAD token", self.rule(op))],
            _ => Vec::new(),
        }
    }

    async fn setup(&mut self, _op: Op) -> State {
        self.next += 1;
        let name = format!("team-a/a{}", self.next);
        self.server.control("/_contract/image", Some(json!({ "repository": name, "tag": "v1" })));
        State { name, n: self.next, ..State::default() }
    }

    // A new client per call, so that the token requests are made (and faulted) too.
    async fn call(&self, op: Op, s: &State) -> Result<()> {
        let r = connect(&self.config);
        match op {
            Op::Get | Op::AadToken => r.get_repository(&s.name).await.map(drop),
            Op::Delete => r.delete_repository(&s.name).await,
            Op::Credentials => r.generate_credentials(&s.name, Permissions::Pull, None).await.map(drop),
            _ => unreachable!(),
        }
    }

    async fn check(&self, op: Op, s: &State, ok: bool) {
        if op == Op::Delete {
            if !ok {
                connect(&self.config).delete_repository(&s.name).await.unwrap();
            }
            assert!(!self.exists(&s.name), "{} is still there", s.name);
        } else {
            assert!(self.exists(&s.name), "a read lost {}", s.name);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_of_acr_under_every_fault() {
    let (mut rig, proxy) = AcrRig::start();
    use Op::*;
    run_matrix("acr on its contract server", &proxy, &mut rig, &[Get, Delete, Credentials, AadToken]).await;
    run_read_matrix("acr on its contract server", &proxy, &mut rig, &[Get, Credentials, AadToken]).await;
}

// ---- deadlines and multi-region writes ---------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_is_a_timeout_within_the_deadline() {
    let (_hole, config) = artifact_registry_tests::stub_server::never_answering_ecr();
    let registry = artifact_registry_native::connect(&config.to_string()).unwrap();
    let started = std::time::Instant::now();
    let error = registry.get_repository("acme-app").await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::Timeout, "{error}");
    // An upper bound only: the deadline plus a margin for a loaded machine.
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_that_keeps_failing_leaves_no_region_changed() {
    let (EcrRig { moto, registry, .. }, proxy) = EcrRig::start(json!({ "requestSeconds": 1, "operationSeconds": 60 }));
    moto.boto3(
        "us-east-1",
        "ecr.put_replication_configuration(replicationConfiguration={'rules': [{'destinations': [{'region': 'us-west-2', 'registryId': '123456789012'}], 'repositoryFilters': [{'filter': 'acme-', 'filterType': 'PREFIX_MATCH'}]}]})",
    );
    let repo = registry.create_repository("replicated").await.unwrap();
    moto.boto3("us-west-2", "ecr.create_repository(repositoryName='acme-replicated')");
    registry.add_cross_account_access(&repo.name, &aws_grant("111111111111")).await.unwrap();
    let policies = || {
        ["us-east-1", "us-west-2"].map(|region| {
            moto.boto3(
                region,
                &format!("print(ecr.get_repository_policy(repositoryName='{}')['policyText'])", repo.name),
            )
        })
    };
    let before = policies();
    let replica_writes = |kind: &str| {
        let write = |action: &str| json!({ "headers": [["X-Amz-Target", action], ["Authorization", "/us-west-2/ecr/"]], "fault": kind, "times": 99 });
        json!([write("SetRepositoryPolicy"), write("DeleteRepositoryPolicy")])
    };
    let unchanged = |region: usize, before: &[String; 2]| {
        let after = policies();
        let parse = |t: &str| serde_json::from_str::<Value>(t).unwrap();
        assert_eq!(parse(&after[region]), parse(&before[region]), "region {region} was left changed");
    };

    // us-east-1 is written first; then every write to us-west-2 is refused (503):
    // us-east-1 is set back, for an add and for a remove alike.
    proxy.control("/_fault/script", Some(replica_writes("503")));
    let added = registry.add_cross_account_access(&repo.name, &aws_grant("222222222222")).await.unwrap_err();
    assert!(retryable(added.code()) && added.message().contains("every region was set back"), "{added}");
    let removed = registry.remove_cross_account_access(&repo.name, &aws_grant("111111111111")).await.unwrap_err();
    assert!(retryable(removed.code()) && removed.message().contains("every region was set back"), "{removed}");
    unchanged(0, &before);
    unchanged(1, &before);

    // Every write to us-west-2 lands but its answer is lost, setting it back too: the
    // error names the region that may hold the change, us-east-1 is set back, and
    // the same call, once the network heals, finishes it.
    proxy.control("/_fault/script", Some(replica_writes("reset-after")));
    let added = registry.add_cross_account_access(&repo.name, &aws_grant("222222222222")).await.unwrap_err();
    assert!(retryable(added.code()) && added.message().contains("may still be in us-west-2"), "{added}");
    unchanged(0, &before);
    proxy.control("/_fault/script", Some(json!([])));
    registry.add_cross_account_access(&repo.name, &aws_grant("222222222222")).await.unwrap();
    assert!(policies().iter().all(|p| p.contains("222222222222") && p.contains("111111111111")), "{:?}", policies());
}
