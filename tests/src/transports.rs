//! Transports for tests: they answer from a script and record what was sent.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use artifact_registry_core::{HttpRequest, HttpResponse, Transport, TransportError};
use async_trait::async_trait;

/// Answers each request with the next scripted answer (a transport error once the
/// script runs out) and records every request and wait.
#[derive(Default)]
pub struct ScriptedTransport {
    answers: Mutex<VecDeque<Result<HttpResponse, TransportError>>>,
    requests: Mutex<Vec<HttpRequest>>,
    sleeps: Mutex<Vec<Duration>>,
}

impl ScriptedTransport {
    /// A transport that answers from `answers`, in order.
    pub fn new(answers: Vec<Result<HttpResponse, TransportError>>) -> ScriptedTransport {
        ScriptedTransport { answers: Mutex::new(answers.into()), ..Default::default() }
    }

    /// A transport that must never be used (it records, then fails every request).
    pub fn recording() -> ScriptedTransport {
        ScriptedTransport::default()
    }

    /// The requests sent so far.
    pub fn requests(&self) -> Vec<HttpRequest> {
        self.requests.lock().unwrap().clone()
    }

    /// The waits asked for so far.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.sleeps.lock().unwrap().clone()
    }

    /// Answers not used.
    pub fn remaining(&self) -> usize {
        self.answers.lock().unwrap().len()
    }
}

#[async_trait]
impl Transport for ScriptedTransport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.requests.lock().unwrap().push(request);
        self.answers
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| Err(TransportError::other("the test script has no more answers")))
    }

    async fn sleep(&self, duration: Duration) {
        self.sleeps.lock().unwrap().push(duration);
    }
}

/// Answers host questions from one environment (variables; files with `~/` under its
/// `HOME`; commands run with exactly that environment), as the native driver answers
/// them from the process's, and sends requests with `inner`.
pub struct EnvTransport<T> {
    /// The transport for HTTP.
    pub inner: T,
    /// The environment.
    pub env: std::collections::BTreeMap<String, String>,
}

#[async_trait]
impl<T: Transport> Transport for EnvTransport<T> {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.inner.send(request).await
    }

    async fn sleep(&self, duration: Duration) {
        self.inner.sleep(duration).await
    }

    fn ask(&self, query: &artifact_registry_core::HostQuery) -> artifact_registry_core::HostAnswer {
        use artifact_registry_core::{HostAnswer, HostQuery};
        match query {
            HostQuery::Env(name) => self.env.get(name).map_or(HostAnswer::Missing, |v| HostAnswer::Value(v.clone())),
            HostQuery::File(path) | HostQuery::FileBytes(path) => {
                let path = match (path.strip_prefix("~/"), self.env.get("HOME")) {
                    (Some(rest), Some(home)) => std::path::PathBuf::from(home).join(rest),
                    (Some(_), None) => return HostAnswer::Missing,
                    (None, _) => std::path::PathBuf::from(path),
                };
                match query {
                    HostQuery::File(_) => std::fs::read_to_string(path).map_or(HostAnswer::Missing, HostAnswer::Value),
                    _ => std::fs::read(path).map_or(HostAnswer::Missing, HostAnswer::Bytes),
                }
            }
            HostQuery::Command { program, args } => {
                match std::process::Command::new(program).args(args).env_clear().envs(&self.env).output() {
                    Ok(o) if o.status.success() => HostAnswer::Value(String::from_utf8_lossy(&o.stdout).into_owned()),
                    Ok(o) => HostAnswer::Refused(format!("exit {}", o.status)),
                    Err(e) => HostAnswer::Refused(e.to_string()),
                }
            }
        }
    }
}

/// An environment for [`EnvTransport`] from `(name, value)` pairs.
pub fn env_of(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// A registry for `config` over reqwest and the system clock whose host questions
/// (variables, files, commands) are answered from `env` only, not this process's.
pub fn registry_in_env(
    config: &serde_json::Value,
    env: std::collections::BTreeMap<String, String>,
) -> artifact_registry_core::Registry<
    EnvTransport<artifact_registry_native::ReqwestTransport>,
    artifact_registry_native::SystemClock,
> {
    let client = artifact_registry_core::Client::from_json_str(&config.to_string()).expect("a valid configuration");
    let transport = EnvTransport { inner: artifact_registry_native::ReqwestTransport::default(), env };
    artifact_registry_core::Registry::new(client, transport, artifact_registry_native::SystemClock)
}
