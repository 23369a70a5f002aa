//! The component's costs, beside the native driver's, in one run:
//! - `instantiate`: a fresh instance (store, WASI context, instantiation) from a
//!   precompiled component;
//! - `call_component` / `call_native`: one ECR `create-repository` answered with the
//!   scenario vector's canned response (signing, JSON, parsing, and on the component's
//!   side the whole `wasi:http` exchange), through the component and through the
//!   native driver, each host answering every request with that one response;
//! - `loopback_component` / `loopback_native`: `get-repository` against the ECR stub
//!   server over real loopback sockets, the component through the reference host's
//!   pooled sender (`pooled::PooledSender`); `loopback_component_unpooled` through
//!   wasmtime-wasi-http's default sender, which connects anew for every request.
//!
//! Build the component first, then run:
//! `cargo bench -p artifact-registry-component-host --bench component`

use std::sync::Arc;
use std::time::Duration;

use artifact_registry_component_host::{Canned, ComponentHost, Network, component_path};
use artifact_registry_core::{
    ArtifactRegistry, Client, FixedClock, HttpRequest, HttpResponse, Registry, Timestamp, Transport, TransportError,
};
use divan::Bencher;
use serde_json::{Value, json};

const NOW: u64 = 1_795_849_200;

fn main() {
    divan::main();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn host() -> ComponentHost {
    let bytes = ComponentHost::precompile(&component_path()).expect("build the component first");
    // SAFETY: the bytes were just made by this wasmtime build.
    unsafe { ComponentHost::load_precompiled(&bytes) }.unwrap()
}

fn vector() -> Value {
    let path = artifact_registry_tests::repo_root().join("tests/vectors/ecr-create-repository.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[divan::bench]
fn instantiate(bencher: Bencher) {
    let rt = runtime();
    let host = host();
    bencher.bench_local(|| {
        rt.block_on(host.instantiate(Network::Replay(Arc::default()), Some(Duration::from_secs(NOW)))).unwrap()
    });
}

#[divan::bench(sample_count = 2000)]
fn call_component(bencher: Bencher) {
    let rt = runtime();
    let host = host();
    let vector = vector();
    let answer = Arc::new(Canned::from_vector(&vector).pop_front().unwrap());
    let mut instance = rt.block_on(host.instantiate(Network::Repeat(answer), Some(Duration::from_secs(NOW)))).unwrap();
    let registry = rt.block_on(instance.open(&vector["config"].to_string())).unwrap().unwrap();
    bencher.bench_local(|| {
        let outcome = rt.block_on(instance.call(registry, "create-repository", &vector["args"])).unwrap();
        assert!(outcome.get("result").is_some());
        outcome
    });
}

/// Answers every request with the same response.
struct Repeat(HttpResponse);

#[async_trait::async_trait]
impl Transport for Repeat {
    async fn send(&self, _: HttpRequest) -> Result<HttpResponse, TransportError> {
        Ok(self.0.clone())
    }
    async fn sleep(&self, _: Duration) {}
}

#[divan::bench(sample_count = 2000)]
fn call_native(bencher: Bencher) {
    let rt = runtime();
    let vector = vector();
    let Some(Canned::Response { status, headers, body }) = Canned::from_vector(&vector).pop_front() else {
        panic!("the vector answers with a response")
    };
    let client = Client::from_json_str(&vector["config"].to_string()).unwrap();
    let registry = Registry::new(
        client,
        Repeat(HttpResponse { status, headers, body }),
        FixedClock(Timestamp::from_unix(NOW as i64)),
    );
    let name = vector["args"]["name"].as_str().unwrap().to_owned();
    bencher.bench_local(|| {
        let outcome = json!({ "result": rt.block_on(registry.create_repository(&name)).unwrap() });
        assert!(outcome.get("result").is_some());
        outcome
    });
}

/// The floor of a component call: `registry-endpoint`, no HTTP at all.
#[divan::bench(sample_count = 2000)]
fn call_component_without_http(bencher: Bencher) {
    let rt = runtime();
    let host = host();
    let vector = vector();
    let mut instance =
        rt.block_on(host.instantiate(Network::Replay(Arc::default()), Some(Duration::from_secs(NOW)))).unwrap();
    let registry = rt.block_on(instance.open(&vector["config"].to_string())).unwrap().unwrap();
    bencher.bench_local(|| rt.block_on(instance.call(registry, "registry-endpoint", &json!({}))).unwrap());
}

/// The same for the native driver.
#[divan::bench(sample_count = 2000)]
fn call_native_without_http(bencher: Bencher) {
    let vector = vector();
    let client = Client::from_json_str(&vector["config"].to_string()).unwrap();
    bencher.bench_local(|| json!({ "result": client.registry_endpoint() }));
}

/// End to end over real loopback sockets: `get-repository` against the ECR stub
/// server, through the component in wasmtime (wasi-http on hyper), with the
/// reference host's pooled sender.
#[divan::bench(sample_count = 1000)]
fn loopback_component(bencher: Bencher) {
    loopback_through(bencher, Network::Allow(None));
}

/// The same through wasmtime-wasi-http's default sender: a new connection per request.
#[divan::bench(sample_count = 1000)]
fn loopback_component_unpooled(bencher: Bencher) {
    loopback_through(bencher, Network::AllowUnpooled(None));
}

fn loopback_through(bencher: Bencher, network: Network) {
    let stub = artifact_registry_tests::stub_server::StubServer::start(0);
    let rt = runtime();
    let host = host();
    let mut instance = rt.block_on(host.instantiate(network, None)).unwrap();
    let registry = rt.block_on(instance.open(&stub.ecr_config().to_string())).unwrap().unwrap();
    let args = json!({ "repository": "acme-app" });
    bencher.bench_local(|| {
        let outcome = rt.block_on(instance.call(registry, "get-repository", &args)).unwrap();
        assert!(outcome.get("result").is_some(), "{outcome}");
    });
}

/// The same through the native driver (reqwest).
#[divan::bench(sample_count = 1000)]
fn loopback_native(bencher: Bencher) {
    let stub = artifact_registry_tests::stub_server::StubServer::start(0);
    let rt = runtime();
    let registry = artifact_registry_native::connect(&stub.ecr_config().to_string()).unwrap();
    bencher.bench_local(|| rt.block_on(registry.get_repository("acme-app")).unwrap());
}
