//! The providers, one module each, and what every provider implements. `Client` validates through it before building an
//! operation, then runs the provider's async code inside that operation.

pub(crate) mod acr;
pub(crate) mod ecr;
pub(crate) mod gar;
pub(crate) mod local;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::engine::operation::Exchange;
use crate::error::{Error, Result};
use crate::types::{Credentials, CrossAccountAccess, CrossAccountPermissions, Permissions, Repository};

/// A boxed operation body.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T>> + Send>>;

/// One provider. The `check_*` methods and names run synchronously, before any
/// request; the operation methods run inside an [`crate::Operation`].
pub(crate) trait Provider: Send + Sync + std::fmt::Debug {
    /// The routable name for a logical name.
    fn routable_name(&self, logical: &str) -> Result<String>;
    /// Checks a routable name passed back in belongs to this binding.
    fn check_routable(&self, name: &str) -> Result<()>;
    /// Checks a cross-account grant (`adding` or removing) before anything is sent.
    fn check_access(&self, access: &CrossAccountAccess, adding: bool) -> Result<CrossAccountAccess>;
    /// Checks a credentials TTL and applies the default.
    fn check_ttl(&self, ttl: Option<u64>) -> Result<u64>;
    /// Checks, before any request, that credentials for `permissions` can be scoped
    /// to one repository (or that the binding accepts unscoped ones).
    fn check_credentials(&self, _permissions: Permissions) -> Result<()> {
        Ok(())
    }
    /// The registry endpoint.
    fn registry_endpoint(&self) -> String;
    /// The upstream repository prefix.
    fn upstream_repository_prefix(&self) -> String;

    fn create_repository(self: Arc<Self>, ex: Exchange, name: String) -> BoxFuture<Repository>;
    fn get_repository(self: Arc<Self>, ex: Exchange, name: String) -> BoxFuture<Repository>;
    fn delete_repository(self: Arc<Self>, ex: Exchange, name: String) -> BoxFuture<()>;
    fn change_cross_account_access(
        self: Arc<Self>,
        ex: Exchange,
        name: String,
        access: CrossAccountAccess,
        adding: bool,
    ) -> BoxFuture<()>;
    fn get_cross_account_access(self: Arc<Self>, ex: Exchange, name: String) -> BoxFuture<CrossAccountPermissions>;
    fn generate_credentials(
        self: Arc<Self>,
        ex: Exchange,
        name: String,
        permissions: Permissions,
        ttl: u64,
    ) -> BoxFuture<Credentials>;
    /// Where the binding's own credentials come from (never a secret).
    fn describe_credentials(self: Arc<Self>, _ex: Exchange) -> BoxFuture<serde_json::Value> {
        Box::pin(async { Err(Error::not_supported("this provider does not describe its credentials yet")) })
    }
}

/// Makes a routable name from a logical one.
pub(crate) type Naming = Box<dyn Fn(&str) -> Result<String> + Send + Sync>;

/// A provider that cannot run operations (not implemented in this version, or its
/// configuration cannot be used): naming and endpoints work; every operation answers
/// `error` before any request.
pub(crate) struct Pending {
    pub error: Error,
    pub naming: Naming,
    pub endpoint: String,
    pub prefix: String,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending").field("error", &self.error).field("endpoint", &self.endpoint).finish()
    }
}

impl Pending {
    fn error(&self) -> Error {
        self.error.clone()
    }
}

impl Provider for Pending {
    fn routable_name(&self, logical: &str) -> Result<String> {
        (self.naming)(logical)
    }
    fn check_routable(&self, _: &str) -> Result<()> {
        Err(self.error())
    }
    fn check_access(&self, _: &CrossAccountAccess, _: bool) -> Result<CrossAccountAccess> {
        Err(self.error())
    }
    fn check_ttl(&self, _: Option<u64>) -> Result<u64> {
        Err(self.error())
    }
    fn registry_endpoint(&self) -> String {
        self.endpoint.clone()
    }
    fn upstream_repository_prefix(&self) -> String {
        self.prefix.clone()
    }
    fn create_repository(self: Arc<Self>, _: Exchange, _: String) -> BoxFuture<Repository> {
        Box::pin(async move { Err(self.error()) })
    }
    fn get_repository(self: Arc<Self>, _: Exchange, _: String) -> BoxFuture<Repository> {
        Box::pin(async move { Err(self.error()) })
    }
    fn delete_repository(self: Arc<Self>, _: Exchange, _: String) -> BoxFuture<()> {
        Box::pin(async move { Err(self.error()) })
    }
    fn change_cross_account_access(
        self: Arc<Self>,
        _: Exchange,
        _: String,
        _: CrossAccountAccess,
        _: bool,
    ) -> BoxFuture<()> {
        Box::pin(async move { Err(self.error()) })
    }
    fn get_cross_account_access(self: Arc<Self>, _: Exchange, _: String) -> BoxFuture<CrossAccountPermissions> {
        Box::pin(async move { Err(self.error()) })
    }
    fn generate_credentials(self: Arc<Self>, _: Exchange, _: String, _: Permissions, _: u64) -> BoxFuture<Credentials> {
        Box::pin(async move { Err(self.error()) })
    }
}
