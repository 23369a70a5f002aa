//! The native layer of the `artifact-registry-bindings` Node package. `index.js`
//! wraps it into the public API (camelCase methods, Promises, ArtifactRegistryError).
//!
//! Values cross as JSON text, in the contract's JSON forms. With the built-in
//! transport, `Client.run` is a real Promise driven on tokio (the event loop never
//! blocks); with a user transport, `Client.start` hands JS an `Operation` to drive.

use std::sync::Arc;
use std::time::Duration;

use artifact_registry_core::Transport as _;
use artifact_registry_core::aws::sigv4::{AwsCredentials, Scope, Signer, SigningSettings};
use artifact_registry_core::json_api::error_json;
use artifact_registry_core::{
    ArtifactRegistry as _, HttpRequest, HttpResponse, Secret, Step, Timestamp, TransportError,
};
use artifact_registry_native::NativeRegistry;
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use serde_json::{Value, json};

/// Errors cross as a JS Error whose message is this prefix and the error's JSON
/// form; index.js turns them into ArtifactRegistryError instances.
const ERROR_PREFIX: &str = "ARTIFACT_REGISTRY_ERROR:";

fn js_error(e: &artifact_registry_core::Error) -> napi::Error {
    napi::Error::new(napi::Status::GenericFailure, format!("{ERROR_PREFIX}{}", error_json(e)))
}

fn parse_args(args: &str) -> Value {
    // index.js always sends an object; anything else becomes invalid-input downstream.
    serde_json::from_str(args).unwrap_or(Value::Null)
}

/// Runs the Promises on [`artifact_registry_native::io_runtime`] (one I/O thread)
/// instead of napi's default of a worker per core. Should it not start, napi's
/// default runtime is used.
#[napi_derive::module_init]
fn init() {
    if let Ok(runtime) = artifact_registry_native::io_runtime() {
        napi::bindgen_prelude::create_custom_tokio_runtime(runtime);
    }
}

/// One binding: the core client with the built-in transport.
#[napi]
pub struct Client {
    registry: Arc<NativeRegistry>,
}

#[napi]
impl Client {
    /// Parses and validates the configuration JSON.
    #[napi(constructor)]
    pub fn new(config: String) -> napi::Result<Self> {
        let registry = artifact_registry_native::connect(&config).map_err(|e| js_error(&e))?;
        Ok(Client { registry: Arc::new(registry) })
    }

    /// Runs an operation with the built-in transport; resolves to the result's JSON.
    #[napi]
    pub async fn run(&self, operation: String, args: String) -> napi::Result<String> {
        let op = self.registry.client().json_operation(&operation, &parse_args(&args));
        // napi's tokio runtime drives the core's own loop; a panic is an error.
        artifact_registry_native::contained(self.registry.run(op))
            .await
            .map(|value| value.to_string())
            .map_err(|e| js_error(&e))
    }

    /// Sends one request with the built-in transport (for a JS-driven operation,
    /// when only a clock is given). Resolves to `{status, headers, body}`; rejects
    /// with `TIMEOUT:` or `TRANSPORT:` and the reason.
    #[napi]
    pub async fn send(
        &self,
        method: String,
        url: String,
        headers: Vec<Vec<String>>,
        body: Buffer,
        timeout_ms: Option<f64>,
    ) -> napi::Result<NativeResponse> {
        let request = HttpRequest {
            method,
            url,
            headers: pairs(headers),
            body: body.to_vec(),
            timeout: timeout_ms.filter(|ms| ms.is_finite() && *ms > 0.0).map(|ms| Duration::from_secs_f64(ms / 1000.0)),
        };
        match self.registry.transport().send(request).await {
            Ok(r) => Ok(NativeResponse {
                status: u32::from(r.status),
                headers: r.headers.into_iter().map(|(k, v)| vec![k, v]).collect(),
                body: r.body.into(),
            }),
            Err(e) => Err(napi::Error::new(
                napi::Status::GenericFailure,
                format!("{}{}", if e.timed_out { "TIMEOUT:" } else { "TRANSPORT:" }, e.message),
            )),
        }
    }

    /// Test hook of panic containment: an async call whose body panics, run the way
    /// `run` runs operations. Rejects with the error a panic becomes.
    #[napi(js_name = "_panicProbe")]
    pub async fn panic_probe(&self) -> napi::Result<String> {
        artifact_registry_native::contained(async { panic!("panic probe") })
            .await
            .map(|()| String::new())
            .map_err(|e: artifact_registry_core::Error| js_error(&e))
    }

    /// Starts an operation for JS to drive with its own transport.
    #[napi]
    pub fn start(&self, operation: String, args: String) -> Operation {
        Operation { op: Some(self.registry.client().json_operation(&operation, &parse_args(&args))) }
    }

    /// The registry endpoint.
    #[napi]
    pub fn registry_endpoint(&self) -> String {
        self.registry.registry_endpoint()
    }

    /// The upstream repository prefix.
    #[napi]
    pub fn upstream_repository_prefix(&self) -> String {
        self.registry.upstream_repository_prefix()
    }

    /// `service`, `name` and `endpoint`, for display (no secrets).
    #[napi]
    pub fn describe(&self) -> String {
        let c = self.registry.client().config();
        json!({ "service": c.binding.service(), "name": c.name, "endpoint": self.registry.registry_endpoint() })
            .to_string()
    }
}

/// A response of [`Client::send`].
#[napi(object)]
pub struct NativeResponse {
    pub status: u32,
    pub headers: Vec<Vec<String>>,
    pub body: Buffer,
}

fn pairs(headers: Vec<Vec<String>>) -> Vec<(String, String)> {
    headers.into_iter().filter_map(|p| <[String; 2]>::try_from(p).ok()).map(|[k, v]| (k, v)).collect()
}

/// An operation JS drives: `step(nowMs, monotonicMs)` says what to do next, as JSON:
/// `{"send": {method, url, headers: [[k, v]], body: [bytes], timeoutMs}}`,
/// `{"sleepMs": n}`, `{"result": ...}` or `{"error": {...}}`. This is the core's step
/// loop turned inside out, because the transport is a JS function: deadlines, retries
/// and waits are all decided in the core.
#[napi]
pub struct Operation {
    op: Option<artifact_registry_core::Operation<Value>>,
}

#[napi]
impl Operation {
    /// The next step at wall-clock time `now_ms` (milliseconds since the epoch),
    /// with the deadline measured on `monotonic_ms` (`performance.now()`).
    #[napi]
    pub fn step(&mut self, now_ms: f64, monotonic_ms: f64) -> String {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.step_inner(now_ms, monotonic_ms))) {
            Ok(step) => step,
            Err(_) => {
                self.op = None;
                json!({ "error": error_json(&artifact_registry_native::panic_error()) }).to_string()
            }
        }
    }

    /// Hands the response to the last request over.
    #[napi]
    pub fn receive(&mut self, status: u32, headers: Vec<Vec<String>>, body: Buffer) {
        if let Some(op) = self.op.as_mut() {
            op.receive(HttpResponse {
                status: status.min(u16::MAX as u32) as u16,
                headers: pairs(headers),
                body: body.to_vec(),
            });
        }
    }

    /// Says the last request got no response.
    #[napi]
    pub fn fail(&mut self, message: String, timeout: bool) {
        if let Some(op) = self.op.as_mut() {
            op.fail(if timeout { TransportError::timeout(message) } else { TransportError::other(message) });
        }
    }
}

impl Operation {
    fn step_inner(&mut self, now_ms: f64, monotonic_ms: f64) -> String {
        let Some(op) = self.op.as_mut() else {
            return json!({ "error": { "code": "provider", "message": "operation stepped after it finished", "httpStatus": null, "providerCode": null } }).to_string();
        };
        let now = Timestamp::from_unix_f64(now_ms / 1000.0).unwrap_or(Timestamp::from_unix(0));
        let monotonic = Duration::try_from_secs_f64(monotonic_ms / 1000.0).unwrap_or_default();
        // Host questions (environment, files) are answered here, from this process:
        // the JS side only sends and sleeps.
        loop {
            return match op.step_at(now, monotonic) {
                Step::Ask(q) => {
                    op.answer(artifact_registry_native::answer(&q));
                    continue;
                }
                Step::Send(r) => json!({ "send": {
                    "method": r.method, "url": r.url,
                    "headers": r.headers.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
                    "body": r.body,
                    // Whole milliseconds, rounded up: what timers and AbortSignal.timeout take.
                    "timeoutMs": r.timeout.map(|t| t.as_nanos().div_ceil(1_000_000)),
                } })
                .to_string(),
                Step::Sleep(d) => json!({ "sleepMs": d.as_secs_f64() * 1000.0 }).to_string(),
                Step::Done(result) => {
                    self.op = None;
                    match result {
                        Ok(v) => json!({ "result": v }).to_string(),
                        Err(e) => json!({ "error": error_json(&e) }).to_string(),
                    }
                }
            };
        }
    }
}

static SIGNER: std::sync::LazyLock<Signer> = std::sync::LazyLock::new(Signer::new);

/// What `signAwsRequest` takes (index.js validates and fills it).
#[napi(object)]
pub struct SignInput {
    pub method: String,
    pub url: String,
    pub headers: Vec<Vec<String>>,
    pub body: Buffer,
    pub region: String,
    pub service: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    pub timestamp: String,
}

/// SigV4-signs a request; returns the headers to add, as `[name, value]` pairs.
#[napi]
pub fn sign_aws_request(input: SignInput) -> napi::Result<Vec<Vec<String>>> {
    let invalid = |m: String| js_error(&artifact_registry_core::Error::invalid_input(m));
    let time = Timestamp::parse_amz_date(&input.timestamp)
        .ok_or_else(|| invalid(format!("timestamp {:?} is not YYYYMMDDTHHMMSSZ", input.timestamp)))?;
    let headers = input
        .headers
        .into_iter()
        .map(|p| {
            <[String; 2]>::try_from(p)
                .map(|[k, v]| (k, v))
                .map_err(|_| invalid("a header must be a [name, value] pair".into()))
        })
        .collect::<napi::Result<Vec<_>>>()?;
    let request =
        HttpRequest { method: input.method, url: input.url, headers, body: input.body.to_vec(), timeout: None };
    let creds = AwsCredentials {
        access_key_id: input.access_key_id,
        secret_access_key: Secret::new(input.secret_access_key),
        session_token: input.session_token.map(Secret::new),
    };
    let scope = Scope { region: &input.region, service: &input.service, time };
    let signed =
        SIGNER.signed_headers(&request, &creds, scope, SigningSettings::default()).map_err(|e| js_error(&e))?;
    Ok(signed.into_iter().map(|(k, v)| vec![k, v]).collect())
}
