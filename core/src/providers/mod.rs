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

/// The check behind [`Provider::check_credentials`] where scoping is configuration:
/// `scoping` is what would scope credentials for `permissions` (the binding key
/// `key`: a role, a service account), `what` says what it is and what the
/// credentials would carry without it. Unscoped credentials pass only when the
/// binding opts in.
pub(crate) fn require_scoping(
    scoping: Option<&String>,
    unscoped_credentials: bool,
    permissions: Permissions,
    key: &str,
    what: &str,
) -> Result<()> {
    if scoping.is_some() || unscoped_credentials {
        return Ok(());
    }
    Err(Error::invalid_input(format!(
        "{} credentials need binding.{key}: {what}; set \"unscopedCredentials\": true in the binding to accept that",
        permissions.as_str()
    )))
}
