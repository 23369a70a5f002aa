//! The local provider: any OCI distribution registry (`registryUrl`).
//!
//! Repositories are implicit in OCI registries, so "create" makes one exist by
//! pushing a marker image: an empty config blob and a manifest annotated as created
//! by this binding, tagged `latest`. Delete removes the repository's manifests by
//! digest where the registry allows deletes; a registry that does not (405 /
//! `UNSUPPORTED`) keeps the images and the call still succeeds: the binding never
//! deletes the registry itself. Cross-account access is `not-supported`.

use std::sync::Arc;

use serde_json::Value;

use crate::config::{LocalBinding, LocalPlatform};
use crate::engine::operation::Exchange;
use crate::error::{Error, ErrorCode, Result};
use crate::naming;
use crate::oci::{self, Challenge, OciAuth, Session};
use crate::providers::{BoxFuture, Provider};
use crate::secret::Secret;
use crate::types::{AuthMethod, Credentials, CrossAccountAccess, CrossAccountPermissions, Permissions, Repository};

/// The annotation that records when the marker was pushed.
const CREATED: &str = "org.opencontainers.image.created";
/// The annotation that says the binding made it.
const MARKER: &str = "dev.artifact-registry.marker";
/// The tag the marker image gets.
const MARKER_TAG: &str = "latest";
/// Longest TTL the local provider accepts (it is advisory: a token server decides).
const MAX_TTL: u64 = 43_200;

/// The local provider for one binding.
#[derive(Debug)]
pub(crate) struct Local {
    binding_name: String,
    /// `http(s)://host[:port]`
    base: String,
    /// `host[:port]`, as `docker pull` takes it.
    host: String,
    auth: OciAuth,
    username: Option<String>,
    /// The configured user's own Basic credentials are accepted as credentials.
    unscoped_credentials: bool,
}

impl Local {
    pub fn new(binding_name: &str, binding: &LocalBinding, platform: &LocalPlatform) -> Local {
        let url = binding.registry_url.trim_end_matches('/');
        let base = if url.contains("://") { url.to_owned() } else { format!("http://{url}") };
        let host = base.split_once("://").map(|(_, rest)| rest).unwrap_or(&base).to_owned();
        let auth = match &platform.credentials {
            Some(c) => OciAuth::Basic { username: c.username.clone(), password: c.password.clone() },
            None => OciAuth::Anonymous,
        };
        Local {
            binding_name: binding_name.to_owned(),
            base,
            host,
            auth,
            username: platform.credentials.as_ref().map(|c| c.username.clone()),
            unscoped_credentials: binding.unscoped_credentials,
        }
    }

    fn session<'a>(&'a self, ex: &'a Exchange, name: &str, actions: &str) -> Session<'a> {
        Session::new(ex, &self.base, &self.auth, name, actions)
    }

    fn repository(&self, name: &str, manifest: Option<&oci::Manifest>) -> Repository {
        // Only our own marker says when the repository was created: another image's
        // `created` annotation is about that image.
        let created_at = manifest
            .and_then(|m| serde_json::from_slice::<Value>(&m.bytes).ok())
            .filter(|m| m["annotations"][MARKER].is_string())
            .and_then(|m| m["annotations"][CREATED].as_str().map(str::to_owned));
        Repository { name: name.to_owned(), uri: Some(format!("{}/{name}", self.host)), created_at }
    }

    async fn create(&self, ex: &Exchange, name: &str) -> Result<Repository> {
        let mut session = self.session(ex, name, "pull,push");
        // Idempotent, and never overwrites an image someone pushed as `latest`.
        if let Some(existing) = session.get_manifest(name, MARKER_TAG).await? {
            return Ok(self.repository(name, Some(&existing)));
        }
        let config = b"{}";
        let config_digest = session.push_blob(name, config).await?;
        // Whole seconds: the annotation is for people, and stays stable across clocks.
        let created = crate::engine::time::Timestamp::from_unix(ex.now().unix_seconds()).to_rfc3339();
        let manifest = oci::image_manifest(
            (oci::OCI_CONFIG, &config_digest, config.len()),
            &[],
            &[(CREATED, &created), (MARKER, "repository created by the artifact-registry binding")],
        );
        session.put_manifest(name, MARKER_TAG, oci::OCI_MANIFEST, &manifest).await?;
        Ok(Repository { name: name.to_owned(), uri: Some(format!("{}/{name}", self.host)), created_at: Some(created) })
    }

    async fn get(&self, ex: &Exchange, name: &str) -> Result<Repository> {
        let mut session = self.session(ex, name, "pull");
        if let Some(manifest) = session.get_manifest(name, MARKER_TAG).await? {
            return Ok(self.repository(name, Some(&manifest)));
        }
        // No `latest`: any tag will do.
        match session.tags(name).await? {
            Some(tags) if !tags.is_empty() => Ok(self.repository(name, None)),
            _ => Err(Error::new(ErrorCode::NotFound, format!("repository {name:?} does not exist at {}", self.host))),
        }
    }

    async fn delete(&self, ex: &Exchange, name: &str) -> Result<()> {
        let mut session = self.session(ex, name, "pull,push,delete");
        let tags = session.tags(name).await?.unwrap_or_else(|| vec![MARKER_TAG.to_owned()]);
        let mut digests: Vec<String> = Vec::new();
        for tag in &tags {
            if let Some(m) = session.get_manifest(name, tag).await?
                && !digests.contains(&m.digest)
            {
                digests.push(m.digest);
            }
        }
        if digests.is_empty() {
            return Err(Error::new(
                ErrorCode::NotFound,
                format!("repository {name:?} does not exist at {}", self.host),
            ));
        }
        for digest in &digests {
            if !session.delete_manifest(name, digest).await? {
                return Err(Error::not_supported(format!(
                    "the registry at {} refuses deletes (405 or UNSUPPORTED), so {name:?} and its images stay; enable deletes on the registry (Debian's docker-registry: storage.delete.enabled: true)",
                    self.host
                ))
                .with_http_status(405));
            }
        }
        Ok(())
    }

    async fn credentials(&self, ex: &Exchange, name: &str, permissions: Permissions) -> Result<Credentials> {
        let actions = match permissions {
            Permissions::Pull => "pull",
            Permissions::PushPull => "pull,push",
        };
        let session = self.session(ex, name, actions);
        let basic = |username: &str, password: Secret| Credentials {
            auth_method: AuthMethod::Basic,
            username: username.to_owned(),
            password,
            expires_at: None,
        };
        match (session.probe().await?, &self.auth) {
            (None, OciAuth::Basic { username, password }) if self.unscoped_credentials => {
                Ok(basic(username, password.clone()))
            }
            // Basic auth cannot be scoped: these would be the configured user's own
            // password, good for every repository and for push.
            (None, OciAuth::Basic { .. }) => Err(Error::invalid_input(format!(
                "the registry at {} takes the configured user's own password on every request, which cannot be scoped to {name} or to {}: run it with token auth (a token server issuing repository-scoped tokens; `artifact-registry serve --auth token`), or set \"unscopedCredentials\": true in the binding to hand out that password",
                self.host,
                permissions.as_str()
            ))),
            (None, _) => Ok(basic("", Secret::default())),
            (Some(Challenge::Bearer { realm, service }), _) => {
                let token = session.fetch_token(&realm, service.as_deref()).await?;
                Ok(Credentials {
                    auth_method: AuthMethod::Bearer,
                    username: self.username.clone().unwrap_or_default(),
                    password: token.token,
                    expires_at: Some(token.expires_at.to_rfc3339()),
                })
            }
            (Some(Challenge::Basic), OciAuth::Basic { .. }) => Err(Error::new(
                ErrorCode::AccessDenied,
                format!("the registry at {} rejected local.credentials; check the user name and password", self.host),
            )),
            (Some(Challenge::Basic), _) => Err(Error::new(
                ErrorCode::AccessDenied,
                format!("the registry at {} asks for a user name and password: set local.credentials", self.host),
            )),
        }
    }
}

impl Provider for Local {
    fn routable_name(&self, logical: &str) -> Result<String> {
        naming::local_routable_name(&self.binding_name, logical)
    }
    fn check_routable(&self, name: &str) -> Result<()> {
        naming::local_check_routable(&self.binding_name, name)
    }
    fn check_access(&self, _: &CrossAccountAccess, _: bool) -> Result<CrossAccountAccess> {
        Err(Error::not_supported(
            "the local registry has no cross-account access: every client with credentials sees it",
        ))
    }
    fn check_ttl(&self, ttl: Option<u64>) -> Result<u64> {
        let ttl = ttl.unwrap_or(3600);
        naming::validate_ttl(ttl, 1, MAX_TTL)?;
        Ok(ttl)
    }
    fn registry_endpoint(&self) -> String {
        self.base.clone()
    }
    /// The binding name: every routable name starts with `{name}/`.
    fn upstream_repository_prefix(&self) -> String {
        self.binding_name.clone()
    }
    fn create_repository(self: Arc<Self>, ex: Exchange, name: String) -> BoxFuture<Repository> {
        Box::pin(async move { self.create(&ex, &name).await })
    }
    fn get_repository(self: Arc<Self>, ex: Exchange, name: String) -> BoxFuture<Repository> {
        Box::pin(async move { self.get(&ex, &name).await })
    }
    fn delete_repository(self: Arc<Self>, ex: Exchange, name: String) -> BoxFuture<()> {
        Box::pin(async move { self.delete(&ex, &name).await })
    }
    fn change_cross_account_access(
        self: Arc<Self>,
        _: Exchange,
        _: String,
        _: CrossAccountAccess,
        _: bool,
    ) -> BoxFuture<()> {
        Box::pin(async move { Err(Error::not_supported("the local registry has no cross-account access")) })
    }
    fn get_cross_account_access(self: Arc<Self>, _: Exchange, _: String) -> BoxFuture<CrossAccountPermissions> {
        Box::pin(async move { Err(Error::not_supported("the local registry has no cross-account access")) })
    }
    fn generate_credentials(
        self: Arc<Self>,
        ex: Exchange,
        name: String,
        permissions: Permissions,
        _ttl: u64,
    ) -> BoxFuture<Credentials> {
        Box::pin(async move { self.credentials(&ex, &name, permissions).await })
    }
}
