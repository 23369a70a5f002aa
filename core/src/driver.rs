//! The async driver: runs operations over a [`Transport`] with a [`Clock`], and
//! implements [`ArtifactRegistry`]. Surfaces bring the transport (reqwest natively,
//! wasi-http in the component, a user's callable in Python and Node).

use std::time::Duration;

use async_trait::async_trait;

use crate::client::Client;
use crate::engine::host::{HostAnswer, HostQuery};
use crate::engine::http::{HttpRequest, HttpResponse, TransportError};
use crate::engine::operation::{Operation, Step};
use crate::engine::time::Timestamp;
use crate::error::Result;
use crate::types::{Credentials, CrossAccountAccess, CrossAccountPermissions, Permissions, Repository};

/// Sends requests and waits.
#[async_trait]
pub trait Transport: Send + Sync {
    /// Sends one request and returns its response (any status), or why there was none.
    async fn send(&self, request: HttpRequest) -> std::result::Result<HttpResponse, TransportError>;
    /// Waits (retry backoff, replica polling).
    async fn sleep(&self, duration: Duration);
    /// Answers a question only the host can (environment, files, commands). The
    /// default refuses: a transport that stands for a real process overrides it.
    fn ask(&self, query: &HostQuery) -> HostAnswer {
        HostAnswer::Refused(format!("this driver has no host to ask ({query:?})"))
    }
}

/// Tells the time.
pub trait Clock: Send + Sync {
    /// The current wall-clock time.
    fn now(&self) -> Timestamp;
    /// A reading of a clock that never goes back, from any fixed origin: operation
    /// deadlines are measured on it. The default reads the wall clock, which a
    /// clock that has a monotonic source overrides.
    fn monotonic(&self) -> Duration {
        let now = self.now();
        Duration::from_secs(now.unix_seconds().max(0) as u64) + Duration::from_nanos(u64::from(now.subsec_nanos()))
    }
}

/// Drives an operation to its end: the one step loop every surface runs (natively,
/// in Python, in the component), so that sending, waiting, asking the host and the
/// clocks are handled the same way everywhere. A transport that never waits (a
/// blocking one) gives a future that is ready at each poll.
pub async fn drive<T, Tr, C>(mut op: Operation<T>, transport: &Tr, clock: &C) -> Result<T>
where
    T: Send + 'static,
    Tr: Transport + ?Sized,
    C: Clock + ?Sized,
{
    loop {
        match op.step_at(clock.now(), clock.monotonic()) {
            Step::Send(request) => match transport.send(request).await {
                Ok(response) => op.receive(response),
                Err(e) => op.fail(e),
            },
            Step::Sleep(d) => transport.sleep(d).await,
            Step::Ask(q) => op.answer(transport.ask(&q)),
            Step::Done(result) => return result,
        }
    }
}

/// A clock stopped at one instant (for tests and scenario vectors).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }
}

/// The operations of the contract (`docs/API.md`, "Operations").
#[async_trait]
pub trait ArtifactRegistry: Send + Sync {
    /// Creates the repository for a logical name; idempotent.
    async fn create_repository(&self, logical_name: &str) -> Result<Repository>;
    /// Gets a repository by routable name.
    async fn get_repository(&self, name: &str) -> Result<Repository>;
    /// Deletes a repository by routable name.
    async fn delete_repository(&self, name: &str) -> Result<()>;
    /// Adds a cross-account grant.
    async fn add_cross_account_access(&self, name: &str, access: &CrossAccountAccess) -> Result<()>;
    /// Removes a cross-account grant.
    async fn remove_cross_account_access(&self, name: &str, access: &CrossAccountAccess) -> Result<()>;
    /// Reads the cross-account grants.
    async fn get_cross_account_access(&self, name: &str) -> Result<CrossAccountPermissions>;
    /// Generates pull or push-pull credentials.
    async fn generate_credentials(
        &self,
        name: &str,
        permissions: Permissions,
        ttl_seconds: Option<u64>,
    ) -> Result<Credentials>;
    /// The registry endpoint.
    fn registry_endpoint(&self) -> String;
    /// The upstream repository prefix.
    fn upstream_repository_prefix(&self) -> String;
}

/// A [`Client`] with a transport and a clock: the ready-to-use registry.
#[derive(Debug)]
pub struct Registry<T, C> {
    client: Client,
    transport: T,
    clock: C,
}

impl<T: Transport, C: Clock> Registry<T, C> {
    /// Puts a client, a transport and a clock together.
    pub fn new(client: Client, transport: T, clock: C) -> Registry<T, C> {
        Registry { client, transport, clock }
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// Where the binding's credentials come from and who they are (never a secret):
    /// see [`Client::describe_credentials`].
    pub async fn describe_credentials(&self) -> Result<serde_json::Value> {
        self.run(self.client.describe_credentials()).await
    }

    /// Drives an operation to its end.
    pub async fn run<O: Send + 'static>(&self, op: Operation<O>) -> Result<O> {
        drive(op, &self.transport, &self.clock).await
    }
}

#[async_trait]
impl<T: Transport, C: Clock> ArtifactRegistry for Registry<T, C> {
    async fn create_repository(&self, logical_name: &str) -> Result<Repository> {
        self.run(self.client.create_repository(logical_name)).await
    }
    async fn get_repository(&self, name: &str) -> Result<Repository> {
        self.run(self.client.get_repository(name)).await
    }
    async fn delete_repository(&self, name: &str) -> Result<()> {
        self.run(self.client.delete_repository(name)).await
    }
    async fn add_cross_account_access(&self, name: &str, access: &CrossAccountAccess) -> Result<()> {
        self.run(self.client.add_cross_account_access(name, access)).await
    }
    async fn remove_cross_account_access(&self, name: &str, access: &CrossAccountAccess) -> Result<()> {
        self.run(self.client.remove_cross_account_access(name, access)).await
    }
    async fn get_cross_account_access(&self, name: &str) -> Result<CrossAccountPermissions> {
        self.run(self.client.get_cross_account_access(name)).await
    }
    async fn generate_credentials(
        &self,
        name: &str,
        permissions: Permissions,
        ttl_seconds: Option<u64>,
    ) -> Result<Credentials> {
        self.run(self.client.generate_credentials(name, permissions, ttl_seconds)).await
    }
    fn registry_endpoint(&self) -> String {
        self.client.registry_endpoint()
    }
    fn upstream_repository_prefix(&self) -> String {
        self.client.upstream_repository_prefix()
    }
}
