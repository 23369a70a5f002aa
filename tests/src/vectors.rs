//! Scenario vectors (`tests/vectors/*.json`): a configuration, a fixed clock, one
//! operation with its arguments, the exact requests it must send with a canned
//! answer to each, and the result or error it must end with. Every surface runs
//! the same files; this is the runner for the native Rust driver.
//!
//! ```json
//! { "description": "...", "config": { ... }, "now": "2026-11-28T07:00:00Z",
//!   "operation": "create-repository", "args": { "name": "my-app" },
//!   "exchanges": [ { "request": { "method", "url", "headers": [["k", "v"]], "body" },
//!                    "response": { "status", "headers": [["k", "v"]], "body" } } ],
//!   "expect": { "result": ... } }            // or { "error": { "code", "httpStatus", "providerCode" } }
//! ```
//!
//! An exchange may answer with `"transportError": { "timeout": bool, "message" }`
//! instead of a response. `args` uses `name` (logical name, create only),
//! `repository` (routable name), `access`, `permissions` and `ttlSeconds`.

use std::path::PathBuf;

use artifact_registry_core::{
    ArtifactRegistry, Client, CrossAccountAccess, FixedClock, HttpRequest, HttpResponse, Permissions, Registry,
    Timestamp, TransportError,
};
use serde_json::{Value, json};

use crate::transports::ScriptedTransport;

/// Every vector file, sorted by name.
pub fn files() -> Vec<PathBuf> {
    let dir = crate::repo_root().join("tests/vectors");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// A request's JSON form in vectors.
pub fn request_json(r: &HttpRequest) -> Value {
    json!({
        "method": r.method,
        "url": r.url,
        "headers": r.headers.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
        "body": String::from_utf8(r.body.clone()).expect("vector bodies are text"),
    })
}

fn pairs(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .map(|a| a.iter().map(|p| (p[0].as_str().unwrap().to_owned(), p[1].as_str().unwrap().to_owned())).collect())
        .unwrap_or_default()
}

/// The canned answer of one exchange.
pub fn answer(exchange: &Value) -> Result<HttpResponse, TransportError> {
    if let Some(e) = exchange.get("transportError") {
        let message = e["message"].as_str().unwrap_or("transport error").to_owned();
        return Err(if e["timeout"].as_bool().unwrap_or(false) {
            TransportError::timeout(message)
        } else {
            TransportError::other(message)
        });
    }
    let r = &exchange["response"];
    Ok(HttpResponse {
        status: r["status"].as_u64().unwrap() as u16,
        headers: pairs(&r["headers"]),
        body: r["body"].as_str().unwrap_or("").as_bytes().to_vec(),
    })
}

/// The outcome of running a vector: what was sent, and the result's JSON form or
/// the error's (`{code, httpStatus, providerCode}`).
pub struct Outcome {
    /// The requests, in order.
    pub requests: Vec<HttpRequest>,
    /// `{"result": ...}` or `{"error": ...}`.
    pub outcome: Value,
}

/// Runs one vector through the native driver.
pub async fn run(vector: &Value) -> Outcome {
    let client = Client::from_json_str(&vector["config"].to_string()).expect("vector config parses");
    let now = Timestamp::parse_rfc3339(vector["now"].as_str().unwrap()).expect("vector now is RFC 3339");
    let answers = vector["exchanges"].as_array().map(|a| a.iter().map(answer).collect()).unwrap_or_default();
    let registry = Registry::new(client, ScriptedTransport::new(answers), FixedClock(now));
    let args = &vector["args"];
    let repo = args["repository"].as_str().unwrap_or("");
    let access = || CrossAccountAccess::from_json(&args["access"]);
    let result: artifact_registry_core::Result<Value> = match vector["operation"].as_str().unwrap() {
        "create-repository" => registry.create_repository(args["name"].as_str().unwrap()).await.map(|r| json!(r)),
        "get-repository" => registry.get_repository(repo).await.map(|r| json!(r)),
        "delete-repository" => registry.delete_repository(repo).await.map(|_| Value::Null),
        "add-cross-account-access" => match access() {
            Ok(a) => registry.add_cross_account_access(repo, &a).await.map(|_| Value::Null),
            Err(e) => Err(e),
        },
        "remove-cross-account-access" => match access() {
            Ok(a) => registry.remove_cross_account_access(repo, &a).await.map(|_| Value::Null),
            Err(e) => Err(e),
        },
        "get-cross-account-access" => registry.get_cross_account_access(repo).await.map(|r| json!(r)),
        "generate-credentials" => match Permissions::parse(args["permissions"].as_str().unwrap_or("")) {
            Ok(p) => registry.generate_credentials(repo, p, args["ttlSeconds"].as_u64()).await.map(|c| json!(c)),
            Err(e) => Err(e),
        },
        "image-pull-secret" => {
            let secret = args["name"].as_str().unwrap_or("");
            let op = registry.client().image_pull_secret(
                repo,
                secret,
                args["namespace"].as_str(),
                args["ttlSeconds"].as_u64(),
            );
            registry.run(op).await
        }
        "registry-endpoint" => Ok(json!(registry.registry_endpoint())),
        "upstream-repository-prefix" => Ok(json!(registry.upstream_repository_prefix())),
        other => panic!("unknown operation {other}"),
    };
    let outcome = match result {
        Ok(v) => json!({ "result": v }),
        Err(e) => {
            json!({ "error": { "code": e.code().as_str(), "httpStatus": e.http_status(), "providerCode": e.provider_code() } })
        }
    };
    Outcome { requests: registry.transport().requests(), outcome }
}
