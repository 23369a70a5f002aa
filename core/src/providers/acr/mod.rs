//! Azure Container Registry.
//!
//! Repositories are implicit in ACR (they appear on first push): routable names
//! `{repositoryPrefix}/{logical}` (or `{logical}`), URIs `{loginServer}/{name}`.
//!
//! - **create** makes no call and returns the name and URI.
//! - **get** reads `GET /acr/v1/{name}` (scope `metadata_read`): `createdAt` from
//!   `createdTime`; when ACR answers `NAME_UNKNOWN` the repository exists only by name
//!   (nothing pushed yet) and `createdAt` is `null`.
//! - **delete** is a real delete, `DELETE /acr/v1/{name}` (scope `delete`); already
//!   gone (`NAME_UNKNOWN`) is success.
//! - **cross-account access**: pull on one repository for Entra principals, as ABAC
//!   role assignments on registries in ABAC mode ([`abac`]); `not-supported` on the
//!   others.
//! - **credentials**: a repository-scoped ACR access token (`bearer`, expiry from the
//!   token; ACR fixes its lifetime), or with `scopeMapTokens`, Basic credentials of a
//!   repository-scoped scope-map token that expire exactly at the TTL ([`arm`]).
//!
//! Tokens: Azure AD (client credentials, audience `containerregistry.azure.net`) →
//! `/oauth2/exchange` → refresh token (per registry and identity) → `/oauth2/token` →
//! access token (per scope), all in the core's token cache; a 401 drops the token that
//! was refused and tries once more.

pub(crate) mod abac;
mod arm;

use std::sync::Arc;

use serde_json::Value;

use crate::auth::azure::{self, ACR_SCOPE};
use crate::auth::azure_default;
use crate::auth::token_cache::{CachedToken, TokenCache};
use crate::config::{AcrBinding, AzureCloud, AzureCredentials, AzurePlatform};
use crate::engine::http::{HttpRequest, HttpResponse, percent_encode};
use crate::engine::operation::Exchange;
use crate::engine::time::Timestamp;
use crate::error::{Error, ErrorCode, Result};
use crate::naming;
use crate::protocol::azure as wire;
use crate::providers::{BoxFuture, Provider};
use crate::secret::Secret;
use crate::types::{AuthMethod, Credentials, CrossAccountAccess, CrossAccountPermissions, Permissions, Repository};

/// The user name ACR access tokens go with.
const TOKEN_USER: &str = "00000000-0000-0000-0000-000000000000";
/// The data-plane API version the SDKs send.
const API_VERSION: &str = "2021-07-01";
const MAX_TTL: u64 = 43_200;
const DEFAULT_TTL: u64 = 3600;

/// How this binding authenticates to Azure AD.
#[derive(Debug)]
enum Identity {
    ClientSecret {
        client_id: String,
        secret: Secret,
    },
    Token(Secret),
    /// Resolved from the environment on first use.
    Ambient(std::sync::Mutex<Option<Arc<azure_default::Source>>>),
}

/// The ACR provider for one binding.
#[derive(Debug)]
pub(crate) struct Acr {
    prefix: Option<String>,
    /// `host[:port]` images are named by, and the registry's token `service`.
    login_server: String,
    /// `https://{login_server}` (or the `containerRegistry` override).
    registry: String,
    tenant: String,
    authority: String,
    /// `azure.endpoints.activeDirectory`, which wins over `AZURE_AUTHORITY_HOST`.
    authority_override: Option<String>,
    identity: Identity,
    scope_map_tokens: bool,
    /// `unscopedCredentials`: without scope maps, the registry's refresh token (a login
    /// for every repository the identity may reach) in place of a scoped access token.
    unscoped_credentials: bool,
    arm: arm::Arm,
    tokens: TokenCache,
}

impl Acr {
    pub fn new(binding: &AcrBinding, platform: &AzurePlatform) -> Acr {
        let cloud = platform.cloud;
        let trim = |u: &str| u.trim_end_matches('/').to_owned();
        let (registry, login_server) = match &platform.endpoints.container_registry {
            Some(url) => {
                let url = trim(url);
                let host = url.split_once("://").map_or(url.as_str(), |(_, h)| h).to_owned();
                (url, host)
            }
            None => {
                let host = format!("{}.{}", binding.registry_name.to_ascii_lowercase(), cloud.login_suffix());
                (format!("https://{host}"), host)
            }
        };
        let identity = match &platform.credentials {
            AzureCredentials::ClientSecret { client_id, client_secret } => {
                Identity::ClientSecret { client_id: client_id.clone(), secret: client_secret.clone() }
            }
            AzureCredentials::AccessToken(t) => Identity::Token(t.clone()),
            AzureCredentials::Default => Identity::Ambient(Default::default()),
            // Known already: the configuration names it.
            AzureCredentials::FederatedToken { client_id, token } => {
                Identity::Ambient(std::sync::Mutex::new(Some(Arc::new(azure_default::Source::FederatedToken {
                    tenant: platform.tenant_id.clone(),
                    client_id: client_id.clone(),
                    token: token.clone(),
                    authority: trim(platform.endpoints.active_directory.as_deref().unwrap_or(cloud.authority())),
                }))))
            }
        };
        Acr {
            prefix: binding.repository_prefix.clone(),
            login_server,
            registry,
            tenant: platform.tenant_id.clone(),
            authority: trim(platform.endpoints.active_directory.as_deref().unwrap_or(cloud.authority())),
            authority_override: platform.endpoints.active_directory.as_deref().map(trim),
            identity,
            scope_map_tokens: binding.scope_map_tokens,
            unscoped_credentials: binding.unscoped_credentials,
            arm: arm::Arm::new(
                platform
                    .endpoints
                    .resource_manager
                    .as_deref()
                    .map_or(cloud.resource_manager(), |u| u.trim_end_matches('/')),
                cloud.arm_scope(),
                &platform.subscription_id,
                &binding.resource_group_name,
                &binding.registry_name,
            ),
            tokens: TokenCache::default(),
        }
    }

    fn uri(&self, name: &str) -> String {
        format!("{}/{name}", self.login_server)
    }

    fn identity_key(&self) -> String {
        match &self.identity {
            Identity::ClientSecret { client_id, .. } => format!("{}:{client_id}", self.tenant),
            Identity::Token(_) => format!("{}:configured-token", self.tenant),
            Identity::Ambient(_) => format!("{}:environment", self.tenant),
        }
    }

    // ---- tokens -----------------------------------------------------------------------

    /// An Azure AD token for `scope`.
    pub(crate) async fn aad(&self, ex: &Exchange, scope: &str) -> Result<CachedToken> {
        match &self.identity {
            Identity::Token(t) => {
                ex.add_secret(t.expose());
                Ok(CachedToken { token: t.clone(), expires_at: wire::jwt_expiry(t.expose()) })
            }
            Identity::ClientSecret { client_id, secret } => {
                let key = format!("aad:{}|{scope}", self.identity_key());
                self.tokens
                    .get(ex, &key, || azure::aad_token(ex, &self.authority, &self.tenant, client_id, secret, scope))
                    .await
            }
            Identity::Ambient(_) => {
                let source = self.ambient(ex).await?;
                let key = format!("aad:{}|{scope}", self.identity_key());
                self.tokens
                    .get(ex, &key, || azure_default::token(ex, &source, self.authority_override.as_deref(), scope))
                    .await
            }
        }
    }

    /// The credentials the environment offers, found once.
    async fn ambient(&self, ex: &Exchange) -> Result<Arc<azure_default::Source>> {
        let Identity::Ambient(slot) = &self.identity else {
            return Err(Error::provider("environment credentials asked of a configured identity"));
        };
        if let Some(found) = slot.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Ok(found);
        }
        let found = Arc::new(azure_default::find(ex, &self.authority).await?);
        *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(found.clone());
        Ok(found)
    }

    /// Where the binding's credentials come from (never a secret), proven by getting
    /// an Azure AD token for the registry.
    pub async fn describe_credentials(&self, ex: &Exchange) -> Result<Value> {
        let token = self.aad(ex, ACR_SCOPE).await?;
        let expires = token.expires_at.map(Timestamp::to_rfc3339);
        Ok(match &self.identity {
            Identity::ClientSecret { client_id, .. } => {
                serde_json::json!({ "source": "configuration", "method": "ClientSecretCredential", "principal": client_id, "expiresAt": expires })
            }
            Identity::Token(_) => {
                serde_json::json!({ "source": "configuration", "method": "AccessToken", "principal": null, "expiresAt": expires })
            }
            Identity::Ambient(_) => {
                let source = self.ambient(ex).await?;
                serde_json::json!({ "source": source.describe(), "method": source.kind(), "principal": source.client_id(), "expiresAt": expires })
            }
        })
    }

    fn aad_key(&self, scope: &str) -> String {
        format!("aad:{}|{scope}", self.identity_key())
    }

    fn refresh_key(&self) -> String {
        format!("acr-refresh:{}:{}", self.login_server, self.identity_key())
    }

    fn access_key(&self, scope: &str) -> String {
        format!("acr-access:{}:{}|{scope}", self.login_server, self.identity_key())
    }

    /// The registry's refresh token; an AAD token the registry refuses is dropped and
    /// replaced once.
    async fn refresh_token(&self, ex: &Exchange) -> Result<CachedToken> {
        let key = self.refresh_key();
        self.tokens
            .get(ex, &key, || async {
                for attempt in 0..2 {
                    let aad = self.aad(ex, ACR_SCOPE).await?;
                    match azure::exchange(ex, &self.registry, &self.login_server, &self.tenant, &aad.token).await? {
                        Some(refresh) => return Ok(refresh),
                        None if attempt == 0 && !matches!(self.identity, Identity::Token(_)) => {
                            self.tokens.invalidate(&self.aad_key(ACR_SCOPE), &aad.token);
                        }
                        None => break,
                    }
                }
                Err(Error::new(
                    ErrorCode::AccessDenied,
                    format!(
                        "the registry {} refused the Azure AD token at /oauth2/exchange; check the tenant, and that the identity may use the registry: AcrPull or AcrPush, or on a registry in ABAC mode Container Registry Repository Reader, Writer or Contributor",
                        self.login_server
                    ),
                ))
            })
            .await
    }

    /// A registry access token for `scope`; a refresh token the registry refuses
    /// (expired) is dropped and a new one exchanged, once.
    async fn access_token(&self, ex: &Exchange, scope: &str) -> Result<CachedToken> {
        let key = self.access_key(scope);
        self.tokens
            .get(ex, &key, || async {
                for attempt in 0..2 {
                    let refresh = self.refresh_token(ex).await?;
                    match azure::access_token(ex, &self.registry, &self.login_server, scope, &refresh.token).await? {
                        Some(access) => return Ok(access),
                        None if attempt == 0 => self.tokens.invalidate(&self.refresh_key(), &refresh.token),
                        None => break,
                    }
                }
                Err(Error::new(
                    ErrorCode::AccessDenied,
                    format!("the registry {} refused its own refresh token for {scope}", self.login_server),
                ))
            })
            .await
    }

    /// A data-plane request with the access token for `scope`; a 401 drops that token
    /// and tries once more.
    async fn send(&self, ex: &Exchange, method: &str, url: &str, scope: &str) -> Result<HttpResponse> {
        let mut retried = false;
        loop {
            let token = self.access_token(ex, scope).await?;
            let response = ex
                .call(
                    |_| {
                        Ok(HttpRequest::new(method, url)
                            .header("Authorization", format!("Bearer {}", token.token.expose()))
                            .header("Accept", "application/json"))
                    },
                    wire::is_throttled,
                )
                .await?;
            if response.status == 401 && !retried {
                self.tokens.invalidate(&self.access_key(scope), &token.token);
                retried = true;
                continue;
            }
            return Ok(response);
        }
    }

    fn repository_url(&self, name: &str) -> String {
        format!("{}/acr/v1/{}?api-version={API_VERSION}", self.registry, percent_encode(name, false))
    }

    // ---- operations ---------------------------------------------------------------------

    pub async fn get_repository(&self, ex: &Exchange, name: &str) -> Result<Repository> {
        let scope = format!("repository:{name}:metadata_read");
        let response = self.send(ex, "GET", &self.repository_url(name), &scope).await?;
        let what = format!("reading the repository {name} of {}", self.login_server);
        let created_at = match response.status {
            200..=299 => {
                let body: Value = serde_json::from_slice(&response.body)
                    .map_err(|_| Error::provider(format!("{what}: the answer is not JSON")))?;
                // ACR describes every repository with its createdTime.
                let created = body["createdTime"].as_str().and_then(Timestamp::parse_rfc3339);
                Some(
                    created
                        .ok_or_else(|| Error::provider(format!("{what}: the answer has no createdTime")))?
                        .to_rfc3339(),
                )
            }
            404 if wire::parse_error(&response).0.as_deref() == Some("NAME_UNKNOWN") => None,
            _ => return Err(wire::error_from_response(&response, &what)),
        };
        Ok(Repository { name: name.to_owned(), uri: Some(self.uri(name)), created_at })
    }

    pub async fn delete_repository(&self, ex: &Exchange, name: &str) -> Result<()> {
        let scope = format!("repository:{name}:delete");
        let response = self.send(ex, "DELETE", &self.repository_url(name), &scope).await?;
        match response.status {
            200..=299 => Ok(()),
            404 if wire::parse_error(&response).0.as_deref() == Some("NAME_UNKNOWN") => Ok(()),
            _ => Err(wire::error_from_response(&response, &format!("deleting the repository {name}"))),
        }
    }

    pub async fn generate_credentials(
        &self,
        ex: &Exchange,
        name: &str,
        permissions: Permissions,
        ttl: u64,
    ) -> Result<Credentials> {
        if self.scope_map_tokens {
            let aad = self.aad(ex, self.arm.scope()).await?;
            return self.arm.credentials(ex, &aad.token, name, permissions, ttl).await;
        }
        if self.unscoped_credentials {
            // What `az acr login --expose-token` hands out: the refresh token, which
            // docker and the kubelet take as a password for the null-GUID user.
            let refresh = self.refresh_token(ex).await?;
            return Ok(Credentials {
                auth_method: AuthMethod::Basic,
                username: TOKEN_USER.to_owned(),
                password: refresh.token,
                expires_at: refresh.expires_at.map(Timestamp::to_rfc3339),
            });
        }
        let actions = match permissions {
            Permissions::Pull => "pull",
            Permissions::PushPull => "pull,push",
        };
        let token = self.access_token(ex, &format!("repository:{name}:{actions}")).await?;
        Ok(Credentials {
            auth_method: AuthMethod::Bearer,
            username: TOKEN_USER.to_owned(),
            password: token.token,
            expires_at: token.expires_at.map(Timestamp::to_rfc3339),
        })
    }
}

impl Provider for Acr {
    fn routable_name(&self, logical: &str) -> Result<String> {
        naming::acr_routable_name(self.prefix.as_deref(), logical)
    }
    fn check_routable(&self, name: &str) -> Result<()> {
        naming::acr_check_routable(self.prefix.as_deref(), name)
    }
    fn check_access(&self, access: &CrossAccountAccess, adding: bool) -> Result<CrossAccountAccess> {
        let CrossAccountAccess::Azure(access) = access else {
            return Err(Error::invalid_input(
                "Azure Container Registry grants take {\"platform\": \"azure\", \"principalIds\": [...]}",
            ));
        };
        abac::check(access, adding).map(CrossAccountAccess::Azure)
    }
    fn check_ttl(&self, ttl: Option<u64>) -> Result<u64> {
        let ttl = ttl.unwrap_or(DEFAULT_TTL);
        naming::validate_ttl(ttl, 1, MAX_TTL)?;
        Ok(ttl)
    }
    fn registry_endpoint(&self) -> String {
        if self.registry.starts_with("http://") {
            self.registry.clone()
        } else {
            format!("https://{}", self.login_server)
        }
    }
    fn upstream_repository_prefix(&self) -> String {
        self.prefix.clone().unwrap_or_default()
    }
    fn create_repository(self: Arc<Self>, _ex: Exchange, name: String) -> BoxFuture<Repository> {
        // ACR repositories appear on first push: nothing to call.
        Box::pin(async move { Ok(Repository { uri: Some(self.uri(&name)), name, created_at: None }) })
    }
    fn get_repository(self: Arc<Self>, ex: Exchange, name: String) -> BoxFuture<Repository> {
        Box::pin(async move { Acr::get_repository(&self, &ex, &name).await })
    }
    fn delete_repository(self: Arc<Self>, ex: Exchange, name: String) -> BoxFuture<()> {
        Box::pin(async move { Acr::delete_repository(&self, &ex, &name).await })
    }
    fn change_cross_account_access(
        self: Arc<Self>,
        ex: Exchange,
        name: String,
        access: CrossAccountAccess,
        adding: bool,
    ) -> BoxFuture<()> {
        Box::pin(async move {
            // `Client` passes the grant as `check_access` returned it.
            let CrossAccountAccess::Azure(access) = access else {
                return Err(Error::invalid_input(
                    "Azure Container Registry grants take {\"platform\": \"azure\", ...}",
                ));
            };
            let aad = self.aad(&ex, self.arm.scope()).await?;
            let grants = abac::Grants { arm: &self.arm, token: &aad.token, repository: &name };
            if adding { grants.add(&ex, &access).await } else { grants.remove(&ex, &access).await }
        })
    }
    fn get_cross_account_access(self: Arc<Self>, ex: Exchange, name: String) -> BoxFuture<CrossAccountPermissions> {
        Box::pin(async move {
            let aad = self.aad(&ex, self.arm.scope()).await?;
            let grants = abac::Grants { arm: &self.arm, token: &aad.token, repository: &name };
            let (access, last_updated) = grants.get(&ex).await?;
            Ok(CrossAccountPermissions { access: CrossAccountAccess::Azure(access), last_updated })
        })
    }
    fn describe_credentials(self: Arc<Self>, ex: Exchange) -> BoxFuture<Value> {
        Box::pin(async move { Acr::describe_credentials(&self, &ex).await })
    }
    fn generate_credentials(
        self: Arc<Self>,
        ex: Exchange,
        name: String,
        permissions: Permissions,
        ttl: u64,
    ) -> BoxFuture<Credentials> {
        Box::pin(async move { Acr::generate_credentials(&self, &ex, &name, permissions, ttl).await })
    }
}

impl AzureCloud {
    /// The login-server suffix.
    pub(crate) fn login_suffix(self) -> &'static str {
        match self {
            AzureCloud::Public => "azurecr.io",
            AzureCloud::China => "azurecr.cn",
            AzureCloud::UsGov => "azurecr.us",
        }
    }

    /// The Azure AD authority.
    pub(crate) fn authority(self) -> &'static str {
        match self {
            AzureCloud::Public => "https://login.microsoftonline.com",
            AzureCloud::China => "https://login.chinacloudapi.cn",
            AzureCloud::UsGov => "https://login.microsoftonline.us",
        }
    }

    /// Azure Resource Manager.
    pub(crate) fn resource_manager(self) -> &'static str {
        match self {
            AzureCloud::Public => "https://management.azure.com",
            AzureCloud::China => "https://management.chinacloudapi.cn",
            AzureCloud::UsGov => "https://management.usgovcloudapi.net",
        }
    }

    /// The scope of Azure AD tokens for ARM.
    pub(crate) fn arm_scope(self) -> &'static str {
        match self {
            AzureCloud::Public => "https://management.azure.com/.default",
            AzureCloud::China => "https://management.chinacloudapi.cn/.default",
            AzureCloud::UsGov => "https://management.usgovcloudapi.net/.default",
        }
    }
}
