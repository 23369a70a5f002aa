//! The artifact-registry binding as a WebAssembly component (`wasm32-wasip2`).
//!
//! An adapter over the sans-IO core, and nothing more: each exported method builds
//! the core's operation and drives it to its end, sending its requests through the
//! host's `wasi:http/outgoing-handler` (see [`transport`]), sleeping for retry
//! backoff on the monotonic clock, reading the time from the wall clock and seeding
//! retry jitter from `wasi:random`. The host decides where the component may connect.
//!
//! Build: `cargo build -p artifact-registry-component --target wasm32-wasip2 --profile component`.

#![cfg(target_family = "wasm")]

mod convert;
mod metadata;
mod transport;

use artifact_registry_core::{
    Client, Clock, HostAnswer, HostQuery, HttpRequest, HttpResponse, Operation, Timestamp, TransportError,
};
use std::future::Future;
use std::time::Duration;

wit_bindgen::generate!({
    world: "artifact-registry",
    path: "../wit",
    with: {
        "wasi:http/outgoing-handler@0.2.12": wasip2::http::outgoing_handler,
        "wasi:http/types@0.2.12": wasip2::http::types,
        "wasi:io/error@0.2.12": wasip2::io::error,
        "wasi:io/poll@0.2.12": wasip2::io::poll,
        "wasi:io/streams@0.2.12": wasip2::io::streams,
        "wasi:clocks/wall-clock@0.2.12": wasip2::clocks::wall_clock,
        "wasi:clocks/monotonic-clock@0.2.12": wasip2::clocks::monotonic_clock,
        "wasi:random/random@0.2.12": wasip2::random::random,
    },
});

use artifact_registry::bindings::types as wit;
use exports::artifact_registry::bindings::registry::{Guest, GuestRegistry, Registry as RegistryHandle};

/// The host's clocks: the wall clock for signing and expiries, the monotonic clock
/// for deadlines.
struct WasiClock;

impl Clock for WasiClock {
    fn now(&self) -> Timestamp {
        let t = wasip2::clocks::wall_clock::now();
        Timestamp::from_unix(t.seconds as i64).plus(Duration::from_nanos(t.nanoseconds as u64))
    }

    fn monotonic(&self) -> Duration {
        Duration::from_nanos(wasip2::clocks::monotonic_clock::now())
    }
}

/// `wasi:http` for requests, the monotonic clock for waits; both block the
/// component's one thread, so every future here is ready when first polled.
struct WasiTransport;

#[async_trait::async_trait]
impl artifact_registry_core::Transport for WasiTransport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        transport::send(request)
    }

    async fn sleep(&self, d: Duration) {
        wasip2::clocks::monotonic_clock::subscribe_duration(d.as_nanos().min(u64::MAX as u128) as u64).block();
    }

    fn ask(&self, query: &HostQuery) -> HostAnswer {
        ask(query)
    }
}

/// Drives an operation to its end with the core's step loop.
fn drive<T: Send + 'static>(op: Operation<T>) -> Result<T, wit::Error> {
    let run = std::pin::pin!(artifact_registry_core::drive(op, &WasiTransport, &WasiClock));
    // The transport blocks instead of pending, so one poll runs the loop to its end.
    match run.poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
        std::task::Poll::Ready(result) => result.map_err(convert::error),
        std::task::Poll::Pending => Err(convert::error(artifact_registry_core::Error::provider(
            "the component's step loop was left pending; this is a bug",
        ))),
    }
}

/// Answers host questions: environment variables through `wasi:cli/environment`
/// (whatever the host chose to grant); no files or commands, which a component does
/// not have: a plugin host passes credentials in the configuration instead.
fn ask(query: &HostQuery) -> HostAnswer {
    match query {
        HostQuery::Env(name) => wasip2::cli::environment::get_environment()
            .into_iter()
            .find(|(k, _)| k == name)
            .map_or(HostAnswer::Missing, |(_, v)| HostAnswer::Value(v)),
        other => HostAnswer::Refused(format!("a component has no files or commands ({other:?})")),
    }
}

/// The exported `registry` resource: one configured binding.
pub struct Registry {
    client: Client,
}

impl GuestRegistry for Registry {
    fn open(config: String) -> Result<RegistryHandle, wit::Error> {
        let config =
            artifact_registry_core::config::complete_from_environment(&config, &mut ask).map_err(convert::error)?;
        let client = Client::from_json_str(&config).map_err(convert::error)?;
        let client = client.with_jitter_seed(wasip2::random::random::get_random_u64());
        Ok(RegistryHandle::new(Registry { client }))
    }

    fn create_repository(&self, logical_name: String) -> Result<wit::Repository, wit::Error> {
        drive(self.client.create_repository(&logical_name)).map(convert::repository)
    }

    fn get_repository(&self, name: String) -> Result<wit::Repository, wit::Error> {
        drive(self.client.get_repository(&name)).map(convert::repository)
    }

    fn delete_repository(&self, name: String) -> Result<(), wit::Error> {
        drive(self.client.delete_repository(&name))
    }

    fn add_cross_account_access(&self, name: String, access: wit::CrossAccountAccess) -> Result<(), wit::Error> {
        drive(self.client.add_cross_account_access(&name, &convert::access_in(access)))
    }

    fn remove_cross_account_access(&self, name: String, access: wit::CrossAccountAccess) -> Result<(), wit::Error> {
        drive(self.client.remove_cross_account_access(&name, &convert::access_in(access)))
    }

    fn get_cross_account_access(&self, name: String) -> Result<wit::CrossAccountPermissions, wit::Error> {
        drive(self.client.get_cross_account_access(&name)).map(convert::permissions_out)
    }

    fn generate_credentials(
        &self,
        name: String,
        permissions: wit::Permissions,
        ttl_seconds: Option<u64>,
    ) -> Result<wit::Credentials, wit::Error> {
        drive(self.client.generate_credentials(&name, convert::permissions_in(permissions), ttl_seconds))
            .map(convert::credentials)
    }

    fn image_pull_secret(
        &self,
        name: String,
        secret_name: String,
        namespace: Option<String>,
        ttl_seconds: Option<u64>,
    ) -> Result<String, wit::Error> {
        drive(self.client.image_pull_secret(&name, &secret_name, namespace.as_deref(), ttl_seconds))
            .map(|v| v.to_string())
    }

    fn describe_credentials(&self) -> Result<wit::CredentialSource, wit::Error> {
        drive(self.client.describe_credentials()).map(|v| convert::credential_source(&v))
    }

    fn registry_endpoint(&self) -> String {
        self.client.registry_endpoint()
    }

    fn upstream_repository_prefix(&self) -> String {
        self.client.upstream_repository_prefix()
    }
}

struct Component;

impl Guest for Component {
    type Registry = Registry;
}

export!(Component);
