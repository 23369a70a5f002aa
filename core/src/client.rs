//! The sans-IO client: validates input and hands out one [`Operation`] per call.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::config::{Binding, Config, Platform};
use crate::ecr::Ecr;
use crate::error::{Error, Result};
use crate::naming;
use crate::operation::Operation;
use crate::retry::RetryPolicy;
use crate::secret::SecretList;
use crate::types::{Credentials, CrossAccountAccess, CrossAccountPermissions, Permissions, Repository};

#[derive(Debug)]
enum Provider {
    Ecr(Arc<Ecr>),
    /// A provider whose operations this version does not implement yet; its naming,
    /// endpoint and configuration checks work.
    Pending(&'static str),
}

/// Validates input and builds operations for one binding. Holds no transport and
/// reads no clock: drive its operations with [`crate::Registry`] or by hand.
#[derive(Debug)]
pub struct Client {
    config: Config,
    provider: Provider,
    retry: RetryPolicy,
    seed: AtomicU64,
    secrets: SecretList,
}

impl Client {
    /// A client for a parsed configuration.
    pub fn new(config: Config) -> Client {
        let provider = match (&config.binding, &config.platform) {
            (Binding::Ecr(b), Platform::Aws(p)) => Provider::Ecr(Arc::new(Ecr::new(b, p))),
            (Binding::Gar(_), _) => Provider::Pending("Google Artifact Registry"),
            (Binding::Acr(_), _) => Provider::Pending("Azure Container Registry"),
            (Binding::Local(_), _) => Provider::Pending("local OCI registry"),
            _ => unreachable!("Config pairs each binding with its platform"),
        };
        let secrets = SecretList(config.secrets());
        Client { config, provider, retry: RetryPolicy::default(), seed: AtomicU64::new(0x5EED), secrets }
    }

    /// Parses the configuration JSON text and builds a client.
    pub fn from_json_str(text: &str) -> Result<Client> {
        Ok(Client::new(Config::from_json_str(text)?))
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

    fn op<T, F, Fut>(&self, body: F) -> Operation<T>
    where
        T: Send + 'static,
        F: FnOnce(crate::operation::Exchange) -> Fut,
        Fut: std::future::Future<Output = Result<T>> + Send + 'static,
    {
        let seed = self.seed.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        Operation::new(self.retry, seed, self.secrets.0.clone(), body)
    }

    fn ecr(&self) -> Result<&Arc<Ecr>> {
        match &self.provider {
            Provider::Ecr(ecr) => Ok(ecr),
            Provider::Pending(name) => Err(Error::not_supported(format!(
                "the {name} provider's operations are not implemented in this version (configuration, naming and endpoints are)"
            ))),
        }
    }

    /// Creates the repository for `logical` (idempotent: an existing one is returned).
    pub fn create_repository(&self, logical: &str) -> Operation<Repository> {
        let prepared = self.ecr().and_then(|ecr| Ok((ecr.clone(), ecr.routable_name(logical)?)));
        match prepared {
            Ok((ecr, name)) => self.op(move |ex| async move { ecr.create_repository(&ex, &name).await }),
            Err(e) => Operation::ready(Err(e)),
        }
    }

    /// Looks a repository up by routable name.
    pub fn get_repository(&self, name: &str) -> Operation<Repository> {
        match self.routable(name) {
            Ok((ecr, name)) => self.op(move |ex| async move { ecr.get_repository(&ex, &name).await }),
            Err(e) => Operation::ready(Err(e)),
        }
    }

    /// Deletes a repository and its images.
    pub fn delete_repository(&self, name: &str) -> Operation<()> {
        match self.routable(name) {
            Ok((ecr, name)) => self.op(move |ex| async move { ecr.delete_repository(&ex, &name).await }),
            Err(e) => Operation::ready(Err(e)),
        }
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
        let prepared = self.routable(name).and_then(|(ecr, name)| {
            let access = ecr.check_access(access, adding)?;
            Ok((ecr, name, access))
        });
        match prepared {
            Ok((ecr, name, access)) => {
                self.op(move |ex| async move { ecr.change_cross_account_access(&ex, &name, &access, adding).await })
            }
            Err(e) => Operation::ready(Err(e)),
        }
    }

    /// Reads the cross-account grants of a repository.
    pub fn get_cross_account_access(&self, name: &str) -> Operation<CrossAccountPermissions> {
        match self.routable(name) {
            Ok((ecr, name)) => self.op(move |ex| async move { ecr.get_cross_account_access(&ex, &name).await }),
            Err(e) => Operation::ready(Err(e)),
        }
    }

    /// Generates registry credentials valid for about `ttl_seconds`.
    pub fn generate_credentials(
        &self,
        name: &str,
        permissions: Permissions,
        ttl_seconds: Option<u64>,
    ) -> Operation<Credentials> {
        let prepared = self.routable(name).and_then(|(ecr, _)| {
            let ttl = ecr.check_ttl(ttl_seconds)?;
            Ok((ecr, ttl))
        });
        match prepared {
            Ok((ecr, ttl)) => self.op(move |ex| async move { ecr.generate_credentials(&ex, permissions, ttl).await }),
            Err(e) => Operation::ready(Err(e)),
        }
    }

    fn routable(&self, name: &str) -> Result<(Arc<Ecr>, String)> {
        let ecr = self.ecr()?;
        ecr.check_routable(name)?;
        Ok((ecr.clone(), name.to_owned()))
    }

    /// The registry images are pushed to and pulled from (`https://...`).
    pub fn registry_endpoint(&self) -> String {
        if let Provider::Ecr(ecr) = &self.provider {
            return ecr.registry_endpoint();
        }
        match (&self.config.binding, &self.config.platform) {
            (Binding::Gar(_), Platform::Gcp(p)) => format!("https://{}-docker.pkg.dev", p.region),
            (Binding::Acr(b), _) => format!("https://{}.azurecr.io", b.registry_name.to_ascii_lowercase()),
            (Binding::Local(b), _) if b.registry_url.contains("://") => b.registry_url.trim_end_matches('/').to_owned(),
            (Binding::Local(b), _) => format!("http://{}", b.registry_url),
            _ => unreachable!("Config pairs each binding with its platform"),
        }
    }

    /// The prefix every repository of this binding shares upstream.
    pub fn upstream_repository_prefix(&self) -> String {
        match (&self.config.binding, &self.config.platform) {
            (Binding::Ecr(b), _) => b.repository_prefix.clone(),
            (Binding::Gar(b), Platform::Gcp(p)) => format!("{}/{}", p.project_id, b.repository_name),
            (Binding::Acr(b), _) => b.repository_prefix.clone().unwrap_or_default(),
            (Binding::Local(_), _) => "artifacts/default".to_owned(),
            _ => unreachable!("Config pairs each binding with its platform"),
        }
    }

    /// The routable name `create_repository(logical)` would use, checked.
    pub fn routable_name(&self, logical: &str) -> Result<String> {
        match (&self.config.binding, &self.config.platform) {
            (Binding::Ecr(b), _) => naming::ecr_routable_name(&b.repository_prefix, logical),
            (Binding::Gar(b), Platform::Gcp(p)) => {
                naming::gar_routable_name(&p.project_id, &b.repository_name, logical)
            }
            (Binding::Acr(b), _) => naming::acr_routable_name(b.repository_prefix.as_deref(), logical),
            (Binding::Local(_), _) => naming::local_routable_name(&self.config.name, logical),
            _ => unreachable!("Config pairs each binding with its platform"),
        }
    }
}
