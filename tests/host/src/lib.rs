//! A wasmtime host for the artifact-registry component.
//!
//! It links WASI (wasmtime-wasi) and `wasi:http` (wasmtime-wasi-http) and intercepts
//! the component's outbound requests in the `send_request` hook, which either
//! forwards them to the network through an allow-list of `host:port` authorities
//! ([`Network::Allow`]) or answers them from a script and records them
//! ([`Network::Replay`], for the scenario vectors). Calls are made at the JSON level
//! of the contract, so results compare directly with the native driver's.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use wasmtime::component::{Component, Linker, ResourceAny, ResourceTable};
use wasmtime::error::Context;
use wasmtime::{Config, Engine, Store};
use wasmtime::{Result, bail};
use wasmtime_wasi::{HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "artifact-registry",
    exports: { default: async },
    with: {
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
        "wasi:random": wasmtime_wasi::p2::bindings::random,
    },
});

use artifact_registry::bindings::types as wit;

pub mod pooled;

use pooled::PooledSender;

/// Where the release component is, unless `ARTIFACT_REGISTRY_COMPONENT` says.
pub fn component_path() -> PathBuf {
    if let Some(p) = std::env::var_os("ARTIFACT_REGISTRY_COMPONENT") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("wasm32-wasip2/component/artifact_registry_component.wasm")
}

/// A request the component sent, as the host saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenRequest {
    /// Method.
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Headers in order (names lower-case, as HTTP header maps keep them), without
    /// `content-length`: framing, which the body says (and native clients add too).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Canned {
    /// A response.
    Response {
        /// Status code.
        status: u16,
        /// Headers.
        headers: Vec<(String, String)>,
        /// Body.
        body: Vec<u8>,
    },
    /// No response: a timeout, or a refused connection.
    Failure {
        /// Whether it is a timeout.
        timeout: bool,
    },
}

impl Canned {
    /// The answers a scenario vector's `exchanges` script, in order.
    pub fn from_vector(vector: &Value) -> VecDeque<Canned> {
        let pairs = |v: &Value| -> Vec<(String, String)> {
            v.as_array()
                .into_iter()
                .flatten()
                .map(|p| (p[0].as_str().unwrap_or("").to_owned(), p[1].as_str().unwrap_or("").to_owned()))
                .collect()
        };
        vector["exchanges"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| match e.get("transportError") {
                Some(t) => Canned::Failure { timeout: t["timeout"].as_bool().unwrap_or(false) },
                None => Canned::Response {
                    status: e["response"]["status"].as_u64().unwrap_or(0) as u16,
                    headers: pairs(&e["response"]["headers"]),
                    body: e["response"]["body"].as_str().unwrap_or("").as_bytes().to_vec(),
                },
            })
            .collect()
    }
}

/// Canned answers and what was asked, for [`Network::Replay`].
#[derive(Default)]
pub struct Replay {
    /// Answers, in order.
    pub answers: VecDeque<Canned>,
    /// The requests, in order.
    pub requests: Vec<SeenRequest>,
}

/// How the host treats the component's outbound requests.
#[derive(Clone)]
pub enum Network {
    /// Forward to the network over pooled connections ([`pooled::PooledSender`],
    /// one pool per [`ComponentHost`]), but only to these `host:port` authorities
    /// (`None`: anywhere). Anything else is refused with `HTTP-request-denied`.
    Allow(Option<Vec<String>>),
    /// As [`Network::Allow`], through wasmtime-wasi-http's default sender: a new
    /// connection for every request. For comparison.
    AllowUnpooled(Option<Vec<String>>),
    /// Answer from a script, recording each request.
    Replay(Arc<Mutex<Replay>>),
    /// Answer every request with this response (after reading its body), recording
    /// nothing: what a native transport returning a fixed answer does, for
    /// benchmarks.
    Repeat(Arc<Canned>),
}

struct Hooks {
    network: Network,
    pool: Arc<PooledSender>,
}

impl WasiHttpHooks for Hooks {
    fn set_host_header(&mut self) -> bool {
        // Replayed requests are compared with the native driver's, which carry no Host.
        matches!(self.network, Network::Allow(_) | Network::AllowUnpooled(_))
    }

    fn send_request(
        &mut self,
        request: http::Request<wasmtime_wasi_http::WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn Future<Output = std::result::Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> pooled::SendFuture {
        let network = self.network.clone();
        let pool = self.pool.clone();
        Box::new(async move {
            match network {
                Network::Allow(ref allowed) | Network::AllowUnpooled(ref allowed) => {
                    let authority = request.uri().authority().map(|a| a.as_str().to_owned()).unwrap_or_default();
                    if allowed.as_ref().is_some_and(|list| !list.contains(&authority)) {
                        return Err(wasmtime_wasi_http::Error::HttpRequestDenied);
                    }
                    if matches!(network, Network::Allow(_)) {
                        return Box::into_pin(pool.send(request, options)).await;
                    }
                    let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
                    Ok((response.map(BodyExt::boxed_unsync), Box::new(io) as Box<dyn Future<Output = _> + Send>))
                }
                Network::Repeat(answer) => {
                    request.into_body().collect().await?;
                    canned_response(&answer)
                }
                Network::Replay(replay) => {
                    let (parts, body) = request.into_parts();
                    let body = body.collect().await.map(|c| c.to_bytes().to_vec()).unwrap_or_default();
                    let seen = SeenRequest {
                        method: parts.method.to_string(),
                        url: parts.uri.to_string(),
                        headers: parts
                            .headers
                            .iter()
                            .filter(|(k, _)| *k != http::header::CONTENT_LENGTH)
                            .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                            .collect(),
                        body,
                    };
                    let answer = {
                        let mut r = replay.lock().unwrap();
                        r.requests.push(seen);
                        r.answers.pop_front()
                    };
                    canned_response(&answer.unwrap_or(Canned::Failure { timeout: false }))
                }
            }
        })
    }
}

/// A scripted answer as `send_request` gives it.
fn canned_response(answer: &Canned) -> pooled::Answer {
    match answer {
        Canned::Response { status, headers, body } => {
            let mut builder = http::Response::builder().status(*status);
            for (k, v) in headers {
                builder = builder.header(k, v);
            }
            let body = Full::new(Bytes::from(body.clone())).map_err(|never| match never {}).boxed_unsync();
            let response = builder.body(body).map_err(|_| wasmtime_wasi_http::Error::HttpProtocolError)?;
            Ok((response, Box::new(async { Ok(()) })))
        }
        Canned::Failure { timeout: true } => Err(wasmtime_wasi_http::Error::ConnectionTimeout),
        Canned::Failure { timeout: false } => Err(wasmtime_wasi_http::Error::ConnectionRefused),
    }
}

/// The store's data: WASI, wasi:http, and the hooks.
pub struct HostState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: Hooks,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.hooks }
    }
}

/// A wall clock stopped at one instant.
struct FixedWallClock(Duration);

impl HostWallClock for FixedWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        self.0
    }
}

/// The compiled component, linked and ready to instantiate.
pub struct ComponentHost {
    engine: Engine,
    pre: ArtifactRegistryPre<HostState>,
    pool: Arc<PooledSender>,
}

fn engine() -> Result<Engine> {
    let mut config = Config::new();
    // `perf` names the component's functions when the host writes a perf map
    // (profile with a component built without `strip`).
    if std::env::var_os("ARTIFACT_REGISTRY_PERF_MAP").is_some() {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    Engine::new(&config)
}

impl ComponentHost {
    /// Compiles the component at `path`.
    pub fn load(path: &std::path::Path) -> Result<ComponentHost> {
        let bytes = std::fs::read(path).with_context(|| {
            format!(
                "cannot read the component at {} (build it: cargo build -p artifact-registry-component --target wasm32-wasip2 --profile component)",
                path.display()
            )
        })?;
        let engine = engine()?;
        let component = Component::new(&engine, bytes)?;
        ComponentHost::link(engine, component)
    }

    /// Loads a component precompiled by [`ComponentHost::precompile`].
    ///
    /// # Safety
    /// `bytes` must come from `precompile` with this same wasmtime build.
    pub unsafe fn load_precompiled(bytes: &[u8]) -> Result<ComponentHost> {
        let engine = engine()?;
        let component = unsafe { Component::deserialize(&engine, bytes)? };
        ComponentHost::link(engine, component)
    }

    /// Compiles the component at `path` to bytes [`ComponentHost::load_precompiled`] takes.
    pub fn precompile(path: &std::path::Path) -> Result<Vec<u8>> {
        engine()?.precompile_component(&std::fs::read(path)?)
    }

    fn link(engine: Engine, component: Component) -> Result<ComponentHost> {
        let mut linker = Linker::<HostState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        let pre = ArtifactRegistryPre::new(linker.instantiate_pre(&component)?)?;
        Ok(ComponentHost { engine, pre, pool: Arc::new(PooledSender::new()) })
    }

    /// The component's imports, as `name` strings.
    pub fn imports(&self) -> Vec<String> {
        self.pre
            .instance_pre()
            .component()
            .component_type()
            .imports(&self.engine)
            .map(|(name, _)| name.to_owned())
            .collect()
    }

    /// A fresh instance with its own store. `wall_clock` fixes the time (for vectors).
    pub async fn instantiate(&self, network: Network, wall_clock: Option<Duration>) -> Result<Instance> {
        self.instantiate_with_env(network, wall_clock, &[]).await
    }

    /// [`ComponentHost::instantiate`], granting these environment variables through
    /// `wasi:cli/environment` (as a plugin host may, for credentials from the
    /// environment).
    pub async fn instantiate_with_env(
        &self,
        network: Network,
        wall_clock: Option<Duration>,
        env: &[(&str, &str)],
    ) -> Result<Instance> {
        let mut wasi = WasiCtxBuilder::new();
        wasi.inherit_stderr();
        for (k, v) in env {
            wasi.env(k, v);
        }
        if let Some(t) = wall_clock {
            wasi.wall_clock(FixedWallClock(t));
        }
        let state = HostState {
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: Hooks { network, pool: self.pool.clone() },
        };
        let mut store = Store::new(&self.engine, state);
        let bindings = self.pre.instantiate_async(&mut store).await?;
        Ok(Instance { store, bindings })
    }
}

/// One instance of the component.
pub struct Instance {
    store: Store<HostState>,
    bindings: ArtifactRegistry,
}

/// A `registry` resource opened in an [`Instance`].
#[derive(Clone, Copy)]
pub struct OpenedRegistry(ResourceAny);

impl Instance {
    /// `registry.open(config)`: the handle, or the error's JSON form.
    pub async fn open(&mut self, config: &str) -> Result<std::result::Result<OpenedRegistry, Value>> {
        let api = self.bindings.artifact_registry_bindings_registry().registry();
        Ok(api.call_open(&mut self.store, config).await?.map(OpenedRegistry).map_err(|e| error_json(&e)))
    }

    /// Runs an operation named as in the vectors (`create-repository`, ...) with the
    /// vectors' `args`; returns `{"result": ...}` or `{"error": {...}}`.
    pub async fn call(&mut self, registry: OpenedRegistry, operation: &str, args: &Value) -> Result<Value> {
        let r = registry.0;
        let repo = args["repository"].as_str().unwrap_or("").to_owned();
        let store = &mut self.store;
        let api = self.bindings.artifact_registry_bindings_registry().registry();
        let outcome = match operation {
            "create-repository" => api
                .call_create_repository(&mut *store, r, args["name"].as_str().unwrap_or(""))
                .await?
                .map(|x| repository_json(&x)),
            "get-repository" => api.call_get_repository(&mut *store, r, &repo).await?.map(|x| repository_json(&x)),
            "delete-repository" => api.call_delete_repository(&mut *store, r, &repo).await?.map(|_| Value::Null),
            "add-cross-account-access" | "remove-cross-account-access" => match access_in(&args["access"]) {
                Ok(access) if operation.starts_with("add") => {
                    api.call_add_cross_account_access(&mut *store, r, &repo, &access).await?.map(|_| Value::Null)
                }
                Ok(access) => {
                    api.call_remove_cross_account_access(&mut *store, r, &repo, &access).await?.map(|_| Value::Null)
                }
                Err(e) => {
                    return Ok(
                        json!({ "error": { "code": "invalid-input", "httpStatus": null, "providerCode": null, "hostSide": e } }),
                    );
                }
            },
            "get-cross-account-access" => {
                api.call_get_cross_account_access(&mut *store, r, &repo).await?.map(|x| permissions_json(&x))
            }
            "describe-credentials" => api.call_describe_credentials(&mut *store, r).await?.map(|c| {
                json!({ "source": c.source, "method": c.method, "principal": c.principal, "account": c.account,
                        "arn": c.arn, "expiresAt": c.expires_at })
            }),
            "generate-credentials" => {
                let permissions = match args["permissions"].as_str() {
                    Some("pull") => wit::Permissions::Pull,
                    Some("push-pull") => wit::Permissions::PushPull,
                    other => bail!("vector permissions {other:?} have no WIT form"),
                };
                api.call_generate_credentials(&mut *store, r, &repo, permissions, args["ttlSeconds"].as_u64())
                    .await?
                    .map(|c| credentials_json(&c))
            }
            "image-pull-secret" => api
                .call_image_pull_secret(
                    &mut *store,
                    r,
                    &repo,
                    args["name"].as_str().unwrap_or(""),
                    args["namespace"].as_str(),
                    args["ttlSeconds"].as_u64(),
                )
                .await?
                .map(|manifest| serde_json::from_str(&manifest).unwrap_or(Value::Null)),
            "registry-endpoint" => Ok(json!(api.call_registry_endpoint(&mut *store, r).await?)),
            "upstream-repository-prefix" => Ok(json!(api.call_upstream_repository_prefix(&mut *store, r).await?)),
            other => bail!("unknown operation {other}"),
        };
        Ok(match outcome {
            Ok(v) => json!({ "result": v }),
            Err(e) => json!({ "error": error_json(&e) }),
        })
    }

    /// Drops a registry handle.
    pub async fn close(&mut self, registry: OpenedRegistry) -> Result<()> {
        registry.0.resource_drop_async(&mut self.store).await
    }
}

fn code_str(c: wit::ErrorCode) -> &'static str {
    match c {
        wit::ErrorCode::InvalidInput => "invalid-input",
        wit::ErrorCode::NotFound => "not-found",
        wit::ErrorCode::AlreadyExists => "already-exists",
        wit::ErrorCode::AccessDenied => "access-denied",
        wit::ErrorCode::NotSupported => "not-supported",
        wit::ErrorCode::Conflict => "conflict",
        wit::ErrorCode::Throttled => "throttled",
        wit::ErrorCode::Timeout => "timeout",
        wit::ErrorCode::Transport => "transport",
        wit::ErrorCode::Provider => "provider",
    }
}

/// The vectors' error form (`code`, `httpStatus`, `providerCode`).
pub fn error_json(e: &wit::Error) -> Value {
    json!({ "code": code_str(e.code), "httpStatus": e.http_status, "providerCode": e.provider_code })
}

fn repository_json(r: &wit::Repository) -> Value {
    json!({ "name": r.name, "uri": r.uri, "createdAt": r.created_at })
}

fn credentials_json(c: &wit::Credentials) -> Value {
    let method = match c.auth_method {
        wit::AuthMethod::Basic => "basic",
        wit::AuthMethod::Bearer => "bearer",
    };
    json!({ "authMethod": method, "username": c.username, "password": c.password, "expiresAt": c.expires_at })
}

fn types_json(types: &[wit::ServiceType]) -> Vec<&'static str> {
    types
        .iter()
        .map(|t| match t {
            wit::ServiceType::Worker => "worker",
        })
        .collect()
}

fn permissions_json(p: &wit::CrossAccountPermissions) -> Value {
    let access = match &p.access {
        wit::CrossAccountAccess::Aws(a) => json!({
            "platform": "aws", "accountIds": a.account_ids, "regions": a.regions,
            "allowedServiceTypes": types_json(&a.allowed_service_types), "roleArns": a.role_arns,
        }),
        wit::CrossAccountAccess::Gcp(g) => json!({
            "platform": "gcp", "projectNumbers": g.project_numbers,
            "allowedServiceTypes": types_json(&g.allowed_service_types), "serviceAccountEmails": g.service_account_emails,
        }),
        wit::CrossAccountAccess::Azure(z) => json!({
            "platform": "azure", "principalIds": z.principal_ids,
            "allowedServiceTypes": types_json(&z.allowed_service_types),
        }),
    };
    json!({ "access": access, "lastUpdated": p.last_updated })
}

fn strings(v: &Value) -> std::result::Result<Vec<String>, String> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => {
            items.iter().map(|i| i.as_str().map(str::to_owned).ok_or_else(|| format!("{i} is not a string"))).collect()
        }
        other => Err(format!("{other} is not a list")),
    }
}

fn service_types(v: &Value) -> std::result::Result<Vec<wit::ServiceType>, String> {
    strings(v)?
        .iter()
        .map(|s| match s.as_str() {
            "worker" => Ok(wit::ServiceType::Worker),
            other => Err(format!("unknown service type {other}")),
        })
        .collect()
}

/// The WIT form of a CrossAccountAccess JSON document. A document WIT cannot
/// express (unknown platform or field) cannot reach the component at all: the host
/// reports it as its own invalid-input.
pub fn access_in(v: &Value) -> std::result::Result<wit::CrossAccountAccess, String> {
    match v["platform"].as_str() {
        Some("aws") => Ok(wit::CrossAccountAccess::Aws(wit::AwsAccess {
            account_ids: strings(&v["accountIds"])?,
            regions: strings(&v["regions"])?,
            allowed_service_types: service_types(&v["allowedServiceTypes"])?,
            role_arns: strings(&v["roleArns"])?,
        })),
        Some("gcp") => Ok(wit::CrossAccountAccess::Gcp(wit::GcpAccess {
            project_numbers: strings(&v["projectNumbers"])?,
            allowed_service_types: service_types(&v["allowedServiceTypes"])?,
            service_account_emails: strings(&v["serviceAccountEmails"])?,
        })),
        Some("azure") => Ok(wit::CrossAccountAccess::Azure(wit::AzureAccess {
            principal_ids: strings(&v["principalIds"])?,
            allowed_service_types: service_types(&v["allowedServiceTypes"])?,
        })),
        other => Err(format!("platform {other:?} has no WIT form")),
    }
}
