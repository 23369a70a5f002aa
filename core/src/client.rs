//! The sans-IO client: validates input and hands out one [`Operation`] per call.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::config::{Binding, Config, Platform};
use crate::engine::operation::{Exchange, Operation};
use crate::engine::retry::RetryPolicy;
use crate::error::Error;
use crate::error::Result;
use crate::providers::acr::Acr;
use crate::providers::ecr::Ecr;
use crate::providers::gar::Gar;
use crate::providers::local::Local;
use crate::providers::{BoxFuture, Provider};
use crate::secret::SecretList;
use crate::types::{Credentials, CrossAccountAccess, CrossAccountPermissions, Permissions, Repository};

/// Validates input and builds operations for one binding. Holds no transport and
/// reads no clock: drive its operations with [`crate::Registry`] or by hand.
#[derive(Debug)]
pub struct Client {
    config: Config,
    provider: Arc<dyn Provider>,
    retry: RetryPolicy,
    seed: AtomicU64,
    secrets: SecretList,
}

/// The provider for a configuration. [`Config`] parsing pairs each binding with its
/// platform and reads a GAR key, so a parsed configuration always has one; a
/// hand-built one that does not is an `invalid-input` error here.
fn provider_for(config: &Config) -> Result<Arc<dyn Provider>> {
    Ok(match (&config.binding, &config.platform) {
        (Binding::Ecr(b), Platform::Aws(p)) => Arc::new(Ecr::new(b, p)),
        (Binding::Local(b), Platform::Local(p)) => Arc::new(Local::new(&config.name, b, p)),
        (Binding::Gar(b), Platform::Gcp(p)) => Arc::new(Gar::new(b, p)?),
        (Binding::Acr(b), Platform::Azure(p)) => Arc::new(Acr::new(b, p)),
        _ => return Err(Error::invalid_input("the binding's service and the platform section do not match")),
    })
}

impl Client {
    /// A client for a configuration; `invalid-input` when its binding and platform
    /// do not go together (only a hand-built [`Config`] can have that).
    pub fn new(config: Config) -> Result<Client> {
        let provider = provider_for(&config)?;
        let secrets = SecretList(config.secrets());
        Ok(Client { config, provider, retry: RetryPolicy::default(), seed: AtomicU64::new(0x5EED), secrets })
    }

    /// Parses the configuration JSON text and builds a client.
    pub fn from_json_str(text: &str) -> Result<Client> {
        Client::new(Config::from_json_str(text)?)
    }

    /// Uses another retry policy.
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Client {
        self.retry = retry;
        self
    }

    /// Seeds the jitter of retry backoff (drivers seed it from their own entropy;
    /// tests fix it).
    pub fn with_jitter_seed(self, seed: u64) -> Client {
        self.seed.store(seed, Ordering::Relaxed);
        self
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// An operation running `body` on the validated input, or one that ends with the
    /// validation error before sending anything.
    fn start<A, T, F>(&self, checked: Result<A>, body: F) -> Operation<T>
    where
        A: Send + 'static,
        T: Send + 'static,
        F: FnOnce(Arc<dyn Provider>, Exchange, A) -> BoxFuture<T> + Send + 'static,
    {
        match checked {
            Ok(input) => {
                let seed = self.seed.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
                let provider = self.provider.clone();
                Operation::new(self.retry, self.config.timeouts, seed, self.secrets.0.clone(), move |ex| {
                    body(provider, ex, input)
                })
            }
            Err(e) => Operation::ready(Err(e)),
        }
    }

    fn routable(&self, name: &str) -> Result<String> {
        self.provider.check_routable(name).map(|_| name.to_owned())
    }

    /// Creates the repository for `logical` (idempotent: an existing one is returned).
    pub fn create_repository(&self, logical: &str) -> Operation<Repository> {
        self.start(self.provider.routable_name(logical), |p, ex, name| p.create_repository(ex, name))
    }

    /// Looks a repository up by routable name.
    pub fn get_repository(&self, name: &str) -> Operation<Repository> {
        self.start(self.routable(name), |p, ex, name| p.get_repository(ex, name))
    }

    /// Deletes a repository by routable name.
    pub fn delete_repository(&self, name: &str) -> Operation<()> {
        self.start(self.routable(name), |p, ex, name| p.delete_repository(ex, name))
    }

    /// Grants cross-account access, keeping every grant the repository has.
    pub fn add_cross_account_access(&self, name: &str, access: &CrossAccountAccess) -> Operation<()> {
        self.change_access(name, access, true)
    }

    /// Revokes cross-account access, keeping every other grant.
    pub fn remove_cross_account_access(&self, name: &str, access: &CrossAccountAccess) -> Operation<()> {
        self.change_access(name, access, false)
    }

    fn change_access(&self, name: &str, access: &CrossAccountAccess, adding: bool) -> Operation<()> {
        let checked = self.routable(name).and_then(|name| Ok((name, self.provider.check_access(access, adding)?)));
        self.start(checked, move |p, ex, (name, access)| p.change_cross_account_access(ex, name, access, adding))
    }

    /// Reads the cross-account grants of a repository.
    pub fn get_cross_account_access(&self, name: &str) -> Operation<CrossAccountPermissions> {
        self.start(self.routable(name), |p, ex, name| p.get_cross_account_access(ex, name))
    }

    /// Generates registry credentials valid for about `ttl_seconds`.
    pub fn generate_credentials(
        &self,
        name: &str,
        permissions: Permissions,
        ttl_seconds: Option<u64>,
    ) -> Operation<Credentials> {
        let checked = self.routable(name).and_then(|name| {
            let ttl = self.provider.check_ttl(ttl_seconds)?;
            self.provider.check_credentials(permissions)?;
            Ok((name, ttl))
        });
        self.start(checked, move |p, ex, (name, ttl)| p.generate_credentials(ex, name, permissions, ttl))
    }

    /// A Kubernetes image-pull Secret (`kubernetes.io/dockerconfigjson`, as its JSON
    /// manifest) for the registry, holding fresh pull credentials for `name` valid for
    /// about `ttl_seconds`, their expiry in the `artifact-registry/expires-at`
    /// annotation. The names are checked before any request; bearer-only bindings
    /// are `invalid-input` (a Secret holds a login).
    pub fn image_pull_secret(
        &self,
        name: &str,
        secret: &str,
        namespace: Option<&str>,
        ttl_seconds: Option<u64>,
    ) -> Operation<serde_json::Value> {
        let checked = self.routable(name).and_then(|name| {
            let target = crate::kubernetes::SecretName::checked(secret, namespace)?;
            let ttl = self.provider.check_ttl(ttl_seconds)?;
            self.provider.check_credentials(Permissions::Pull)?;
            Ok((name, target, ttl))
        });
        // The host docker keys its logins by: the endpoint's, without a default port.
        let endpoint = self.provider.registry_endpoint();
        let host =
            crate::engine::http::UrlParts::parse(&endpoint).map_or(endpoint.clone(), |u| u.host_header().to_owned());
        self.start(checked, move |p, ex, (name, target, ttl)| {
            Box::pin(async move {
                let credentials = p.generate_credentials(ex, name, Permissions::Pull, ttl).await?;
                crate::kubernetes::image_pull_secret(&target, &host, &credentials)
            })
        })
    }

    /// Where the binding's own credentials come from and who they are (on ECR
    /// `{source, method, accessKeyId, expiresAt, account, arn}`, the identity from STS
    /// `GetCallerIdentity`), resolving them if they come from the environment. Never
    /// a secret.
    pub fn describe_credentials(&self) -> Operation<serde_json::Value> {
        self.start(Ok(()), |p, ex, ()| p.describe_credentials(ex))
    }

    /// The registry images are pushed to and pulled from.
    pub fn registry_endpoint(&self) -> String {
        self.provider.registry_endpoint()
    }

    /// The prefix every repository of this binding shares upstream.
    pub fn upstream_repository_prefix(&self) -> String {
        self.provider.upstream_repository_prefix()
    }

    /// The routable name `create_repository(logical)` would use, checked.
    pub fn routable_name(&self, logical: &str) -> Result<String> {
        self.provider.routable_name(logical)
    }
}
