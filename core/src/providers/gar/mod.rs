//! Google Artifact Registry (Docker format).
//!
//! A repository of this binding is an image path inside the binding's Artifact
//! Registry repository (`repositoryName`): routable name
//! `{projectId}/{repositoryName}/{logical}`, URI
//! `{location}-docker.pkg.dev/{project}/{repositoryName}/{logical}` (a domain-scoped
//! project `example.com:proj` is written `example.com/proj` in URIs).
//!
//! - **create** makes sure the Artifact Registry repository exists (created with
//!   format DOCKER when missing, its long-running operation polled to the end; a racing
//!   creator's `ALREADY_EXISTS` is success), then reads the image as **get** does.
//! - **get**: `not-found` when the Artifact Registry repository does not exist;
//!   otherwise the image, with `createdAt` from its package when it has been pushed and
//!   `null` before.
//! - **delete** deletes the image's package, and with it every version and tag
//!   (polled to the end); already gone is success.
//! - **cross-account access** is the repository's IAM policy (shared by every image
//!   in it): see [`iam`]. Written with the etag read; a concurrent change (409
//!   `ABORTED`) is re-read and re-applied, bounded.
//! - **credentials** impersonate the pull or push service account
//!   (`generateAccessToken`, lifetime = TTL), or hand out the binding's own token;
//!   username `oauth2accesstoken`, Basic.

pub(crate) mod iam;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::auth::gcp::{self, CLOUD_PLATFORM, ServiceAccount};
use crate::auth::gcp_adc;
use crate::auth::token_cache::{CachedToken, TokenCache};
use crate::config::{GarBinding, GcpCredentials, GcpEndpoints, GcpPlatform};
use crate::engine::http::{HttpRequest, HttpResponse, percent_encode};
use crate::engine::operation::Exchange;
use crate::engine::time::Timestamp;
use crate::error::{Error, ErrorCode, Result};
use crate::naming;
use crate::protocol::google;
use crate::providers::{BoxFuture, Provider};
use crate::secret::Secret;
use crate::types::{
    AuthMethod, Credentials, CrossAccountAccess, CrossAccountPermissions, GcpAccess, Permissions, Repository,
    ServiceType,
};

/// The Artifact Registry API.
const DEFAULT_API: &str = "https://artifactregistry.googleapis.com";
/// The IAM Credentials API.
const DEFAULT_IAM: &str = "https://iamcredentials.googleapis.com";
/// Credentials TTL bounds: Google's default maximum is 3600 s; up to 43200 s where
/// the organisation allows it.
const MIN_TTL: u64 = 900;
const MAX_TTL: u64 = 43_200;
const DEFAULT_TTL: u64 = 3600;
/// Polls of a long-running operation before giving up (about three minutes).
const LRO_POLLS: u32 = 40;
/// Read-modify-write rounds of the IAM policy before a `conflict`.
const IAM_ROUNDS: u32 = 8;

/// How this binding authenticates to Google.
#[derive(Debug)]
enum Identity {
    /// A service-account key: tokens come from the token endpoint, cached.
    Key(Box<ServiceAccount>),
    /// A raw access token from the configuration (no refresh possible).
    Token(Secret),
    /// Application default credentials, found in the environment on first use.
    Ambient(std::sync::Mutex<Option<Arc<gcp_adc::Found>>>),
}

/// The GAR provider for one binding.
#[derive(Debug)]
pub(crate) struct Gar {
    project: String,
    location: String,
    repository: String,
    pull_account: Option<String>,
    push_account: Option<String>,
    /// Credentials of the binding's own identity are accepted where no account is set.
    unscoped_credentials: bool,
    api: String,
    iam_credentials: String,
    token_endpoint: String,
    /// `gcp.endpoints` as configured: the application default credentials use them
    /// in place of what their files name.
    endpoint_overrides: GcpEndpoints,
    identity: Identity,
    tokens: TokenCache,
}

impl Gar {
    /// The provider, or `invalid-input` when the key cannot be read.
    pub fn new(binding: &GarBinding, platform: &GcpPlatform) -> Result<Gar> {
        let trim = |u: &Option<String>, default: &str| u.as_deref().unwrap_or(default).trim_end_matches('/').to_owned();
        let identity = match &platform.credentials {
            GcpCredentials::ServiceAccountKey { client_email, private_key, private_key_id, token_uri } => {
                Identity::Key(Box::new(ServiceAccount::new(
                    client_email,
                    private_key,
                    private_key_id.as_deref(),
                    token_uri.as_deref(),
                )?))
            }
            GcpCredentials::AccessToken(t) => Identity::Token(t.clone()),
            GcpCredentials::Default => Identity::Ambient(Default::default()),
            // Found already: the configuration names it.
            GcpCredentials::WorkloadIdentity { provider, subject_token, service_account_email } => {
                let account = gcp_adc::ExternalAccount::federated(
                    provider,
                    subject_token.clone(),
                    service_account_email.as_deref(),
                );
                Identity::Ambient(std::sync::Mutex::new(Some(Arc::new(gcp_adc::Found {
                    adc: gcp_adc::Adc::ExternalAccount(Box::new(account)),
                    source: "configuration (workload identity federation)".to_owned(),
                }))))
            }
        };
        let token_endpoint = match (&platform.endpoints.oauth2, &identity) {
            (Some(url), _) => url.clone(),
            (None, Identity::Key(account)) => account.token_uri.clone(),
            (None, _) => gcp::GOOGLE_TOKEN_URI.to_owned(),
        };
        let endpoint_overrides = platform.endpoints.clone();
        Ok(Gar {
            project: platform.project_id.clone(),
            location: platform.region.clone(),
            repository: binding.repository_name.clone(),
            pull_account: binding.pull_service_account_email.clone(),
            unscoped_credentials: binding.unscoped_credentials,
            push_account: binding.push_service_account_email.clone(),
            api: trim(&platform.endpoints.artifact_registry, DEFAULT_API),
            iam_credentials: trim(&platform.endpoints.iam_credentials, DEFAULT_IAM),
            token_endpoint,
            endpoint_overrides,
            identity,
            tokens: TokenCache::default(),
        })
    }

    /// `projects/{p}/locations/{l}/repositories/{r}`
    fn resource(&self) -> String {
        format!("projects/{}/locations/{}/repositories/{}", self.project, self.location, self.repository)
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v1/{path}", self.api)
    }

    /// The package of an image path (its `/` percent-encoded, as Google names it).
    fn package(&self, image: &str) -> String {
        format!("{}/packages/{}", self.resource(), percent_encode(image, false))
    }

    fn host(&self) -> String {
        format!("{}-docker.pkg.dev", self.location)
    }

    fn uri(&self, image: &str) -> String {
        format!("{}/{}/{}/{image}", self.host(), self.project.replace(':', "/"), self.repository)
    }

    fn image<'a>(&self, name: &'a str) -> Result<&'a str> {
        naming::gar_parse_routable(&self.project, &self.repository, name)
    }

    // ---- tokens and calls -----------------------------------------------------------

    fn token_key(&self) -> String {
        match &self.identity {
            Identity::Key(a) => format!("gcp:{}|{CLOUD_PLATFORM}", a.email),
            Identity::Token(_) => "gcp:configured-token".to_owned(),
            Identity::Ambient(_) => format!("gcp:adc|{CLOUD_PLATFORM}"),
        }
    }

    /// The binding's own access token (cached, refreshed before it expires).
    async fn token(&self, ex: &Exchange) -> Result<CachedToken> {
        match &self.identity {
            Identity::Token(t) => {
                ex.add_secret(t.expose());
                Ok(CachedToken { token: t.clone(), expires_at: None })
            }
            Identity::Key(account) => {
                let key = self.token_key();
                self.tokens.get(ex, &key, || gcp::fetch_token(ex, account, &self.token_endpoint, CLOUD_PLATFORM)).await
            }
            Identity::Ambient(_) => {
                let found = self.adc(ex).await?;
                let key = self.token_key();
                self.tokens.get(ex, &key, || gcp_adc::token(ex, &found, self.adc_endpoints(), CLOUD_PLATFORM)).await
            }
        }
    }

    fn adc_endpoints(&self) -> gcp_adc::Endpoints<'_> {
        let o = &self.endpoint_overrides;
        gcp_adc::Endpoints {
            oauth2: o.oauth2.as_deref(),
            sts: o.sts.as_deref(),
            iam_credentials: o.iam_credentials.as_deref(),
        }
    }

    /// The application default credentials, found once.
    async fn adc(&self, ex: &Exchange) -> Result<Arc<gcp_adc::Found>> {
        let Identity::Ambient(slot) = &self.identity else {
            return Err(Error::provider("application default credentials asked of a configured identity"));
        };
        if let Some(found) = slot.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Ok(found);
        }
        let found = Arc::new(gcp_adc::find(ex).await?);
        *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(found.clone());
        Ok(found)
    }

    /// Where the binding's credentials come from and who they are (never a secret).
    pub async fn describe_credentials(&self, ex: &Exchange) -> Result<Value> {
        Ok(match &self.identity {
            Identity::Key(a) => json!({ "source": "configuration", "method": "service_account", "principal": a.email }),
            Identity::Token(_) => json!({ "source": "configuration", "method": "access_token", "principal": null }),
            Identity::Ambient(_) => {
                let found = self.adc(ex).await?;
                json!({ "source": found.source, "method": found.kind(), "principal": found.principal() })
            }
        })
    }

    /// Sends a request with the binding's token. A 401 drops the token and tries once
    /// more with a fresh one (when the identity can get one).
    async fn send(&self, ex: &Exchange, method: &str, url: &str, body: Option<&Value>) -> Result<HttpResponse> {
        let payload = body.map(Value::to_string);
        let mut refreshed = false;
        loop {
            let token = self.token(ex).await?;
            let response = ex
                .call(
                    |_| {
                        let mut r = HttpRequest::new(method, url)
                            .header("Authorization", format!("Bearer {}", token.token.expose()));
                        if let Some(p) = &payload {
                            r = r.header("Content-Type", "application/json").body(p.clone());
                        }
                        Ok(r)
                    },
                    google::is_throttled,
                )
                .await?;
            if response.status == 401 && !refreshed && !matches!(self.identity, Identity::Token(_)) {
                self.tokens.invalidate(&self.token_key(), &token.token);
                refreshed = true;
                continue;
            }
            return Ok(response);
        }
    }

    /// [`Gar::send`], then the JSON answer of a 2xx, or the typed error.
    async fn call(&self, ex: &Exchange, method: &str, url: &str, body: Option<&Value>, what: &str) -> Result<Value> {
        let response = self.send(ex, method, url, body).await?;
        if !response.is_success() {
            return Err(google::error_from_response(&response, what));
        }
        parse_json(&response, what)
    }

    /// Polls a long-running operation to its end; its `response`, or its `error`.
    async fn wait(&self, ex: &Exchange, mut operation: Value, what: &str) -> Result<Value> {
        let mut delay = Duration::from_millis(500);
        for _ in 0..LRO_POLLS {
            if operation["done"] == true {
                return match operation.get("error") {
                    Some(status) if !status.is_null() => Err(google::operation_error(status, what)),
                    _ => Ok(operation["response"].clone()),
                };
            }
            let name = operation["name"]
                .as_str()
                .filter(|n| n.starts_with("projects/") && !n.contains(".."))
                .ok_or_else(|| Error::provider(format!("{what}: the long-running operation has no usable name")))?
                .to_owned();
            ex.sleep(delay).await;
            delay = (delay * 3 / 2).min(Duration::from_secs(5));
            operation = self.call(ex, "GET", &self.url(&name), None, what).await?;
        }
        Err(Error::new(
            ErrorCode::Timeout,
            format!("{what}: the long-running operation did not finish after {LRO_POLLS} polls; it may still finish"),
        ))
    }

    // ---- operations -----------------------------------------------------------------

    /// The Artifact Registry repository, or `not-found`; Google answers 403 for a
    /// repository the caller may not see *or* that does not exist.
    async fn repository_exists(&self, ex: &Exchange) -> Result<bool> {
        let response = self.send(ex, "GET", &self.url(&self.resource()), None).await?;
        match response.status {
            // A spoiled 2xx is no proof that it exists (create would then skip it).
            200..=299 => match parse_json(&response, "reading the Artifact Registry repository")?["name"] {
                Value::String(_) => Ok(true),
                _ => Err(Error::provider(format!(
                    "reading the Artifact Registry repository {}: Google answered without its name",
                    self.resource()
                ))),
            },
            404 => Ok(false),
            _ => Err(self.repository_error(&response, "reading the Artifact Registry repository")),
        }
    }

    fn repository_error(&self, response: &HttpResponse, what: &str) -> Error {
        let e = google::error_from_response(response, &format!("{what} {}", self.resource()));
        if e.code() == ErrorCode::AccessDenied {
            let message = format!(
                "{} Google gives this answer both when the caller lacks artifactregistry.repositories.get and when the repository does not exist.",
                e.message()
            );
            return e.with_message(message);
        }
        e
    }

    pub async fn create_repository(&self, ex: &Exchange, name: &str) -> Result<Repository> {
        if !self.repository_exists(ex).await? {
            let parent = format!("projects/{}/locations/{}", self.project, self.location);
            let url = format!("{}?repositoryId={}", self.url(&format!("{parent}/repositories")), self.repository);
            let what = format!("creating the Artifact Registry repository {}", self.resource());
            let response = self.send(ex, "POST", &url, Some(&json!({ "format": "DOCKER" }))).await?;
            match response.status {
                200..=299 => {
                    self.wait(ex, parse_json(&response, &what)?, &what).await?;
                }
                // Another creator got there first: it exists, or is about to.
                409 if google::parse_error(&response).0.as_deref() == Some("ALREADY_EXISTS") => {
                    return Ok(Repository {
                        name: name.to_owned(),
                        uri: Some(self.uri(self.image(name)?)),
                        created_at: None,
                    });
                }
                _ => return Err(google::error_from_response(&response, &what)),
            }
        }
        self.describe(ex, name).await
    }

    pub async fn get_repository(&self, ex: &Exchange, name: &str) -> Result<Repository> {
        if !self.repository_exists(ex).await? {
            return Err(Error::new(
                ErrorCode::NotFound,
                format!(
                    "the Artifact Registry repository {} does not exist; create_repository creates it",
                    self.resource()
                ),
            ));
        }
        self.describe(ex, name).await
    }

    /// The image in an existing repository: `createdAt` from its package, if pushed.
    async fn describe(&self, ex: &Exchange, name: &str) -> Result<Repository> {
        let image = self.image(name)?;
        let response = self.send(ex, "GET", &self.url(&self.package(image)), None).await?;
        let created_at = match response.status {
            200..=299 => {
                let package = parse_json(&response, "reading the image package")?;
                let created = package["createTime"].as_str().and_then(Timestamp::parse_rfc3339);
                let created = created.ok_or_else(|| {
                    Error::provider("reading the image package: Google answered without a createTime")
                })?;
                Some(created.to_rfc3339())
            }
            404 => None,
            _ => return Err(google::error_from_response(&response, "reading the image package")),
        };
        Ok(Repository { name: name.to_owned(), uri: Some(self.uri(image)), created_at })
    }

    pub async fn delete_repository(&self, ex: &Exchange, name: &str) -> Result<()> {
        let image = self.image(name)?;
        let what = format!("deleting the image package {}", self.package(image));
        let response = self.send(ex, "DELETE", &self.url(&self.package(image)), None).await?;
        match response.status {
            200..=299 => self.wait(ex, parse_json(&response, &what)?, &what).await.map(|_| ()),
            404 => Ok(()),
            _ => Err(google::error_from_response(&response, &what)),
        }
    }

    async fn read_policy(&self, ex: &Exchange) -> Result<Value> {
        let url = format!("{}:getIamPolicy?options.requestedPolicyVersion=3", self.url(&self.resource()));
        let response = self.send(ex, "GET", &url, None).await?;
        if !response.is_success() {
            return Err(self.repository_error(&response, "reading the IAM policy of"));
        }
        let policy = parse_json(&response, "reading the IAM policy")?;
        // Google gives every policy an etag, an empty one included; setIamPolicy
        // without it would overwrite whatever is there blindly.
        if policy["etag"].as_str().is_none_or(str::is_empty) {
            return Err(Error::provider("getIamPolicy answered with a policy without an etag; nothing was written"));
        }
        Ok(policy)
    }

    pub async fn get_cross_account_access(&self, ex: &Exchange) -> Result<CrossAccountPermissions> {
        let policy = self.read_policy(ex).await?;
        Ok(CrossAccountPermissions { access: CrossAccountAccess::Gcp(iam::grants_in(&policy)), last_updated: None })
    }

    pub async fn change_cross_account_access(&self, ex: &Exchange, access: &GcpAccess, adding: bool) -> Result<()> {
        let members = iam::members_of(access);
        let url = format!("{}:setIamPolicy", self.url(&self.resource()));
        let mut backoff = Duration::from_millis(100);
        for round in 1..=IAM_ROUNDS {
            let policy = self.read_policy(ex).await?;
            let changed = if adding {
                iam::with_members_added(&policy, &members)
            } else {
                iam::with_members_removed(&policy, &members)
            };
            let Some(policy) = changed else { return Ok(()) };
            // The etag read goes back with the policy: a concurrent change fails it.
            let response = self.send(ex, "POST", &url, Some(&json!({ "policy": policy }))).await?;
            if response.is_success() {
                return Ok(());
            }
            let aborted = response.status == 409 && google::parse_error(&response).0.as_deref() == Some("ABORTED");
            if !aborted {
                return Err(google::error_from_response(&response, "writing the IAM policy"));
            }
            if round < IAM_ROUNDS {
                ex.sleep(ex.jittered(backoff)).await;
                backoff = (backoff * 2).min(Duration::from_secs(3));
            }
        }
        Err(Error::new(
            ErrorCode::Conflict,
            format!(
                "the IAM policy of {} kept changing under concurrent writers: {IAM_ROUNDS} read-modify-write rounds were refused (409 ABORTED). Try again",
                self.resource()
            ),
        )
        .with_provider_code("ABORTED"))
    }

    pub async fn generate_credentials(&self, ex: &Exchange, permissions: Permissions, ttl: u64) -> Result<Credentials> {
        let account = match permissions {
            Permissions::Pull => self.pull_account.as_deref(),
            Permissions::PushPull => self.push_account.as_deref(),
        };
        let token = match account {
            Some(email) => self.impersonate(ex, email, ttl).await?,
            // No account to impersonate: the binding's own token, with its real expiry.
            None => self.token(ex).await?,
        };
        Ok(Credentials {
            auth_method: AuthMethod::Basic,
            username: "oauth2accesstoken".to_owned(),
            password: token.token,
            expires_at: token.expires_at.map(Timestamp::to_rfc3339),
        })
    }

    async fn impersonate(&self, ex: &Exchange, email: &str, ttl: u64) -> Result<CachedToken> {
        let mut refreshed = false;
        loop {
            let caller = self.token(ex).await?;
            let (response, _) =
                gcp::generate_access_token(ex, &self.iam_credentials, &caller.token, email, ttl).await?;
            if response.status == 401 && !refreshed && !matches!(self.identity, Identity::Token(_)) {
                self.tokens.invalidate(&self.token_key(), &caller.token);
                refreshed = true;
                continue;
            }
            if response.is_success() {
                return gcp::impersonated_token(ex, &response.body, email);
            }
            let e = google::error_from_response(&response, &format!("impersonating {email}"));
            let message = match e.code() {
                ErrorCode::InvalidInput if ttl > DEFAULT_TTL => format!(
                    "{} Lifetimes over 3600 s need the organisation policy constraints/iam.allowServiceAccountCredentialLifetimeExtension to list {email}; ask for at most 3600 s otherwise.",
                    e.message()
                ),
                ErrorCode::AccessDenied => format!(
                    "{} The binding's identity needs roles/iam.serviceAccountTokenCreator (iam.serviceAccounts.getAccessToken) on {email}.",
                    e.message()
                ),
                _ => return Err(e),
            };
            return Err(e.with_message(message));
        }
    }
}

/// A 2xx answer's JSON object. Every call here answers with an object, so an empty
/// body is a spoiled answer (a `provider` error), never an empty resource.
fn parse_json(response: &HttpResponse, what: &str) -> Result<Value> {
    if response.body.is_empty() {
        return Err(Error::provider(format!("{what}: Google answered {} with an empty body", response.status))
            .with_http_status(response.status));
    }
    match serde_json::from_slice(&response.body) {
        Ok(object @ Value::Object(_)) => Ok(object),
        _ => Err(Error::provider(format!("{what}: Google answered with a body that is not a JSON object"))
            .with_http_status(response.status)),
    }
}

impl Provider for Gar {
    fn routable_name(&self, logical: &str) -> Result<String> {
        naming::gar_routable_name(&self.project, &self.repository, logical)
    }
    fn check_routable(&self, name: &str) -> Result<()> {
        self.image(name).map(|_| ())
    }
    fn check_access(&self, access: &CrossAccountAccess, adding: bool) -> Result<CrossAccountAccess> {
        let CrossAccountAccess::Gcp(access) = access else {
            return Err(Error::invalid_input(format!(
                "Artifact Registry grants take {{\"platform\": \"gcp\", ...}}, not a grant for {}",
                access.platform()
            )));
        };
        for n in &access.project_numbers {
            naming::validate_gcp_project_number(n)?;
        }
        for e in &access.service_account_emails {
            naming::validate_service_account_email(e)?;
        }
        if !access.project_numbers.is_empty() && !access.allowed_service_types.contains(&ServiceType::Worker) {
            return Err(Error::invalid_input(
                "project numbers are granted through their Cloud Run service agent: add \"allowedServiceTypes\": [\"worker\"], or grant service-account e-mails",
            ));
        }
        if iam::members_of(access).is_empty() {
            let verb = if adding { "grant" } else { "remove" };
            return Err(Error::invalid_input(format!(
                "nothing to {verb}: list project numbers (with the worker type) or service-account e-mails"
            )));
        }
        Ok(CrossAccountAccess::Gcp(access.clone()))
    }
    fn check_ttl(&self, ttl: Option<u64>) -> Result<u64> {
        let ttl = ttl.unwrap_or(DEFAULT_TTL);
        naming::validate_ttl(ttl, MIN_TTL, MAX_TTL)?;
        Ok(ttl)
    }
    fn check_credentials(&self, permissions: Permissions) -> Result<()> {
        let (account, key, may) = match permissions {
            Permissions::Pull => (&self.pull_account, "pullServiceAccountEmail", "read"),
            Permissions::PushPull => (&self.push_account, "pushServiceAccountEmail", "read and write"),
        };
        let what = format!(
            "a service account that may only {may} this Artifact Registry repository, impersonated for each call. Without one the token would be the binding's own, with everything it may do"
        );
        crate::providers::require_scoping(account.as_ref(), self.unscoped_credentials, permissions, key, &what)
    }
    fn registry_endpoint(&self) -> String {
        format!("https://{}", self.host())
    }
    fn upstream_repository_prefix(&self) -> String {
        format!("{}/{}", self.project, self.repository)
    }
    fn create_repository(self: Arc<Self>, ex: Exchange, name: String) -> BoxFuture<Repository> {
        Box::pin(async move { Gar::create_repository(&self, &ex, &name).await })
    }
    fn get_repository(self: Arc<Self>, ex: Exchange, name: String) -> BoxFuture<Repository> {
        Box::pin(async move { Gar::get_repository(&self, &ex, &name).await })
    }
    fn delete_repository(self: Arc<Self>, ex: Exchange, name: String) -> BoxFuture<()> {
        Box::pin(async move { Gar::delete_repository(&self, &ex, &name).await })
    }
    fn change_cross_account_access(
        self: Arc<Self>,
        ex: Exchange,
        _name: String,
        access: CrossAccountAccess,
        adding: bool,
    ) -> BoxFuture<()> {
        Box::pin(async move {
            let CrossAccountAccess::Gcp(access) = access else {
                return Err(Error::invalid_input("Artifact Registry grants take {\"platform\": \"gcp\", ...}"));
            };
            Gar::change_cross_account_access(&self, &ex, &access, adding).await
        })
    }
    fn get_cross_account_access(self: Arc<Self>, ex: Exchange, _name: String) -> BoxFuture<CrossAccountPermissions> {
        Box::pin(async move { Gar::get_cross_account_access(&self, &ex).await })
    }
    fn describe_credentials(self: Arc<Self>, ex: Exchange) -> BoxFuture<Value> {
        Box::pin(async move { Gar::describe_credentials(&self, &ex).await })
    }
    fn generate_credentials(
        self: Arc<Self>,
        ex: Exchange,
        _name: String,
        permissions: Permissions,
        ttl: u64,
    ) -> BoxFuture<Credentials> {
        Box::pin(async move { Gar::generate_credentials(&self, &ex, permissions, ttl).await })
    }
}
