//! Google application default credentials, in google-auth's order, for a `gcp`
//! section without `credentials` (or with `"credentials": "default"`):
//!
//! 1. the file `GOOGLE_APPLICATION_CREDENTIALS` names;
//! 2. gcloud's well-known file, `application_default_credentials.json` in
//!    `$CLOUDSDK_CONFIG` (else `~/.config/gcloud/`);
//! 3. the metadata server, when a ping of `GCE_METADATA_IP` (else `169.254.169.254`)
//!    answers with `Metadata-Flavor: Google`; tokens then come from `GCE_METADATA_HOST`
//!    (else `metadata.google.internal`). `NO_GCE_CHECK=true` skips it.
//!
//! A file may be a service-account key, an `authorized_user` (a refresh token, as
//! `gcloud auth application-default login` writes it), or an `external_account`
//! (workload identity federation) whose subject token comes from a file or a URL: the
//! token is exchanged at Google's STS (`token_url`), and, when the file names a
//! `service_account_impersonation_url`, the STS token buys that service account's token.
//! AWS- and executable-sourced external accounts are `not-supported` (they say so).

use std::future::Future;
use std::time::Duration;

use serde_json::Value;

use crate::auth::gcp;
#[cfg(not(target_family = "wasm"))]
use crate::auth::gcp::ServiceAccount;
use crate::auth::token_cache::{CachedToken, token_from_json};
use crate::engine::host::{HostAnswer, HostQuery};
use crate::engine::http::{HttpRequest, UrlParts, percent_encode};
use crate::engine::operation::Exchange;
use crate::error::{Error, ErrorCode, Result};
use crate::protocol::google;
use crate::secret::Secret;

/// How long the metadata ping may take (google-auth waits 3 s, three times; one
/// short try keeps a laptop from hanging).
const PING_TIMEOUT: Duration = Duration::from_secs(1);

/// The configuration's endpoint overrides (`gcp.endpoints`): the operator's own
/// choice, used as written and preferred to the URLs a credentials file names.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Endpoints<'a> {
    /// `oauth2`: replaces a file's `token_uri` (files are not read in a component).
    #[cfg_attr(target_family = "wasm", allow(dead_code))]
    pub oauth2: Option<&'a str>,
    /// `sts`: replaces an external account's `token_url` (`{sts}/v1/token`).
    pub sts: Option<&'a str>,
    /// `iamCredentials`: replaces an external account's impersonation host.
    pub iam_credentials: Option<&'a str>,
}

/// Whether `host` is one of Google's hosts for `service` (`sts`, `iamcredentials`):
/// `{service}.googleapis.com` and its regional, locational, private and mTLS forms
/// (`x.{service}`, `{service}.x`, `{service}.x.rep`, `x-{service}`, `{service}-x.p`,
/// each optionally `.mtls`). Other universe domains are reached through the
/// configuration's endpoints, never through a file's word.
fn is_google_host(host: &str, service: &str) -> bool {
    let host = host.to_ascii_lowercase();
    let Some(prefix) = host.strip_suffix(".googleapis.com") else { return false };
    let prefix = prefix.strip_suffix(".mtls").unwrap_or(prefix);
    let labels: Vec<&str> = prefix.split('.').collect();
    let label_ok = |l: &str| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !labels.iter().all(|l| label_ok(l)) {
        return false;
    }
    // `x-{service}` and `{service}-x`, with a non-empty x.
    let after_dash = |l: &str| l.strip_suffix(service).and_then(|r| r.strip_suffix('-')).is_some_and(|x| !x.is_empty());
    let before_dash =
        |l: &str| l.strip_prefix(service).and_then(|r| r.strip_prefix('-')).is_some_and(|x| !x.is_empty());
    match labels.as_slice() {
        [s] => *s == service || after_dash(s),
        [_, s] if *s == service => true,
        [s, _] if *s == service => true,
        [s, _, "rep"] if *s == service => true,
        [s, "p"] => before_dash(s),
        _ => false,
    }
}

/// An external-account file's URL for `service`, checked before any subject token is
/// sent: google-auth documents that it does not validate these URLs, and a file can
/// come from a deploy tool's input. https on Google's own hosts only.
fn checked_google_url(url: &str, field: &str, service: &str) -> Result<()> {
    let refuse = |why: String| {
        Err(Error::invalid_input(format!(
            "the external_account file's {field} {why}; set gcp.endpoints in the configuration to use another endpoint (nothing was sent)"
        )))
    };
    let Some(parts) = UrlParts::parse(url) else { return refuse(format!("{url:?} is not an absolute URL")) };
    match parts.host() {
        Some(host) if parts.scheme == "https" && is_google_host(host, service) => Ok(()),
        Some(host) if parts.scheme == "https" => refuse(format!("names {host}, not a Google {service} host")),
        Some(_) => refuse(format!("is {}, not https", parts.scheme)),
        None => refuse("carries user information before its host".into()),
    }
}

/// Where tokens come from.
#[derive(Debug)]
pub(crate) enum Adc {
    #[cfg(not(target_family = "wasm"))]
    ServiceAccount(Box<ServiceAccount>),
    #[cfg(not(target_family = "wasm"))]
    AuthorizedUser {
        client_id: String,
        client_secret: Secret,
        refresh_token: Secret,
        token_uri: String,
    },
    Metadata {
        base: String,
    },
    ExternalAccount(Box<ExternalAccount>),
    /// What `gcloud auth application-default login --impersonate-service-account`
    /// writes: source credentials whose token buys the target's.
    #[cfg(not(target_family = "wasm"))]
    Impersonated(Box<Impersonated>),
}

/// An `impersonated_service_account` file: the source credentials (a user login or a
/// service-account key), the target's `generateAccessToken` URL and the delegation
/// chain, as google-auth reads them.
#[derive(Debug)]
#[cfg(not(target_family = "wasm"))]
pub(crate) struct Impersonated {
    source: Adc,
    url: String,
    target: String,
    delegates: Vec<String>,
}

/// An `external_account` file (google-auth's `identity_pool` credentials).
#[derive(Debug)]
pub(crate) struct ExternalAccount {
    audience: String,
    subject_token_type: String,
    token_url: String,
    source: SubjectSource,
    /// `subject_token_field_name` when the source answers JSON; `None` for text.
    json_field: Option<String>,
    impersonation_url: Option<String>,
    /// A workforce pool's billing project (`workforce_pool_user_project`).
    user_project: Option<String>,
}

/// Where the subject token is read each time a token is needed (it rotates).
#[derive(Debug)]
enum SubjectSource {
    #[cfg(not(target_family = "wasm"))]
    File(String),
    #[cfg(not(target_family = "wasm"))]
    Url { url: String, headers: Vec<(String, String)> },
    /// The token itself, from the configuration (`gcp.credentials.subjectToken`).
    Inline(Secret),
}

const STS_URL: &str = "https://sts.googleapis.com/v1/token";
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
const CLOUD_PLATFORM: &str = "https://www.googleapis.com/auth/cloud-platform";

impl ExternalAccount {
    #[cfg(not(target_family = "wasm"))]
    fn parse(path: &str, v: &Value) -> Result<ExternalAccount> {
        let bad = |what: &str| Error::invalid_input(format!("{path}: external_account {what}"));
        let text = |k: &str| v[k].as_str().filter(|s| !s.is_empty()).map(str::to_owned);
        let source = &v["credential_source"];
        if source["environment_id"].is_string() || source["executable"].is_object() {
            return Err(Error::not_supported(format!(
                "{path}: AWS- and executable-sourced external accounts are not supported; use a file or URL credential_source"
            )));
        }
        let source_kind = match (source["file"].as_str(), source["url"].as_str()) {
            (Some(file), None) => SubjectSource::File(file.to_owned()),
            (None, Some(url)) => {
                let headers = source["headers"]
                    .as_object()
                    .map(|h| h.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
                    .unwrap_or_default();
                SubjectSource::Url { url: url.to_owned(), headers }
            }
            _ => return Err(bad("needs credential_source with exactly one of file or url")),
        };
        let json_field = match source["format"]["type"].as_str() {
            None | Some("text") => None,
            Some("json") => Some(
                source["format"]["subject_token_field_name"]
                    .as_str()
                    .ok_or_else(|| bad("format json needs subject_token_field_name"))?
                    .to_owned(),
            ),
            Some(other) => return Err(bad(&format!("format {other:?} is neither text nor json"))),
        };
        let audience = text("audience").ok_or_else(|| bad("needs an audience"))?;
        let user_project = text("workforce_pool_user_project");
        if user_project.is_some() && !audience.contains("/locations/global/workforcePools/") {
            return Err(bad("workforce_pool_user_project is for workforce pools only"));
        }
        Ok(ExternalAccount {
            audience,
            subject_token_type: text("subject_token_type").ok_or_else(|| bad("needs a subject_token_type"))?,
            token_url: text("token_url").unwrap_or_else(|| STS_URL.to_owned()),
            source: source_kind,
            json_field,
            impersonation_url: text("service_account_impersonation_url"),
            user_project,
        })
    }

    /// Workload identity federation from the configuration: the OIDC `subject_token`
    /// exchanged at Google STS for the pool `audience`
    /// (`//iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P/providers/X`),
    /// then, when `service_account` is given, that account impersonated, as an
    /// `external_account` file with the same fields would be.
    pub(crate) fn federated(audience: &str, subject_token: Secret, service_account: Option<&str>) -> ExternalAccount {
        ExternalAccount {
            audience: audience.to_owned(),
            subject_token_type: "urn:ietf:params:oauth:token-type:jwt".to_owned(),
            token_url: STS_URL.to_owned(),
            source: SubjectSource::Inline(subject_token),
            json_field: None,
            impersonation_url: service_account.map(|email| {
                format!(
                    "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/{email}:generateAccessToken"
                )
            }),
            user_project: None,
        }
    }

    /// The impersonated service account, from `.../serviceAccounts/{email}:generateAccessToken`.
    fn service_account_email(&self) -> Option<String> {
        let url = self.impersonation_url.as_deref()?;
        let tail = url.rsplit_once("/serviceAccounts/")?.1;
        Some(tail.strip_suffix(":generateAccessToken").unwrap_or(tail).to_owned())
    }

    async fn subject_token(&self, ex: &Exchange) -> Result<Secret> {
        let (raw, from) = match &self.source {
            #[cfg(not(target_family = "wasm"))]
            SubjectSource::File(path) => match ex.ask(HostQuery::File(path.clone())).await {
                HostAnswer::Value(t) => (t, path.clone()),
                HostAnswer::Missing => {
                    return Err(Error::invalid_input(format!("the subject token file {path} does not exist")));
                }
                HostAnswer::Refused(why) => return Err(Error::invalid_input(format!("cannot read {path}: {why}"))),
                HostAnswer::Bytes(_) => return Err(Error::invalid_input(format!("cannot read {path} as text"))),
            },
            #[cfg(not(target_family = "wasm"))]
            SubjectSource::Url { url, headers } => {
                let mut request = HttpRequest::new("GET", url.clone());
                for (k, v) in headers {
                    request = request.header(k, v);
                }
                let response = ex.call(|_| Ok(request.clone()), google::is_throttled).await?;
                if !response.is_success() {
                    return Err(Error::provider(format!(
                        "the subject token URL {url} answered HTTP {}",
                        response.status
                    )));
                }
                (String::from_utf8_lossy(&response.body).into_owned(), url.clone())
            }
            SubjectSource::Inline(token) => (token.expose().to_owned(), "gcp.credentials.subjectToken".to_owned()),
        };
        let token = match &self.json_field {
            None => raw,
            Some(field) => {
                serde_json::from_str::<Value>(&raw).ok().and_then(|v| v[field].as_str().map(str::to_owned)).ok_or_else(
                    || Error::invalid_input(format!("{from}: no string field {field:?} in the subject token JSON")),
                )?
            }
        };
        if token.is_empty() {
            return Err(Error::invalid_input(format!("{from}: the subject token is empty")));
        }
        ex.add_secret(&token);
        Ok(Secret::new(token))
    }

    async fn token(&self, ex: &Exchange, scope: &str, endpoints: Endpoints<'_>) -> Result<CachedToken> {
        // Where the subject token and the STS token go, checked before either is read.
        let token_url = match endpoints.sts {
            Some(sts) => format!("{}/v1/token", sts.trim_end_matches('/')),
            None => {
                checked_google_url(&self.token_url, "token_url", "sts")?;
                self.token_url.clone()
            }
        };
        let impersonation_url = match (&self.impersonation_url, endpoints.iam_credentials) {
            (None, _) => None,
            (Some(_), Some(iam)) => {
                let email = self.service_account_email().unwrap_or_default();
                Some(format!(
                    "{}/v1/projects/-/serviceAccounts/{}:generateAccessToken",
                    iam.trim_end_matches('/'),
                    percent_encode(&email, false)
                ))
            }
            (Some(url), None) => {
                checked_google_url(url, "service_account_impersonation_url", "iamcredentials")?;
                Some(url.clone())
            }
        };
        let subject = self.subject_token(ex).await?;
        // With impersonation the STS token only needs to call IAM Credentials; the
        // requested scope goes on the service account's token (as google-auth does).
        let sts_scope = if self.impersonation_url.is_some() { CLOUD_PLATFORM } else { scope };
        let options = self.user_project.as_ref().map(|p| serde_json::json!({ "userProject": p }).to_string());
        let mut form = vec![
            ("grant_type", TOKEN_EXCHANGE),
            ("audience", self.audience.as_str()),
            ("scope", sts_scope),
            ("requested_token_type", ACCESS_TOKEN_TYPE),
            ("subject_token", subject.expose()),
            ("subject_token_type", self.subject_token_type.as_str()),
        ];
        if let Some(options) = &options {
            form.push(("options", options.as_str()));
        }
        let response = post_form(ex, HttpRequest::post_form(&token_url, &form)).await?;
        let sts = gcp::oauth_token(ex, &response, "exchanging the subject token at Google STS")?;
        let Some(impersonate) = &impersonation_url else { return Ok(sts) };
        let what = "impersonating the service account of the external account";
        let token = generate_access_token(ex, impersonate, &sts, &[], scope, what).await?;
        Ok(CachedToken { expires_at: token.expires_at.or(sts.expires_at), ..token })
    }
}

/// The credentials found and where.
#[derive(Debug)]
pub(crate) struct Found {
    pub adc: Adc,
    pub source: String,
}

impl Found {
    /// google-auth's kind of credentials: `service_account`, `authorized_user`,
    /// `compute_engine`.
    pub(crate) fn kind(&self) -> &'static str {
        match self.adc {
            #[cfg(not(target_family = "wasm"))]
            Adc::ServiceAccount(_) => "service_account",
            #[cfg(not(target_family = "wasm"))]
            Adc::AuthorizedUser { .. } => "authorized_user",
            Adc::Metadata { .. } => "compute_engine",
            Adc::ExternalAccount(_) => "external_account",
            #[cfg(not(target_family = "wasm"))]
            Adc::Impersonated(_) => "impersonated_service_account",
        }
    }

    /// Who: the service account's e-mail, or the OAuth client id of a user login.
    pub(crate) fn principal(&self) -> Option<String> {
        match &self.adc {
            #[cfg(not(target_family = "wasm"))]
            Adc::ServiceAccount(a) => Some(a.email.clone()),
            #[cfg(not(target_family = "wasm"))]
            Adc::AuthorizedUser { client_id, .. } => Some(client_id.clone()),
            Adc::Metadata { .. } => None,
            Adc::ExternalAccount(account) => account.service_account_email(),
            #[cfg(not(target_family = "wasm"))]
            Adc::Impersonated(i) => Some(i.target.clone()),
        }
    }
}

async fn var(ex: &Exchange, name: &str) -> Option<String> {
    match ex.ask(HostQuery::Env(name.to_owned())).await {
        HostAnswer::Value(v) if !v.is_empty() => Some(v),
        _ => None,
    }
}

/// Credentials files are not read in a component, which has no files: the host
/// would refuse the read anyway, and leaving their parsers out keeps it small.
#[cfg(target_family = "wasm")]
async fn load(_ex: &Exchange, path: &str) -> Result<Option<Found>> {
    Err(Error::invalid_input(format!(
        "cannot read {path}: a component has no files; put the credentials in the configuration (gcp.credentials)"
    )))
}

/// Reads a credentials file: `Ok(None)` when it is not there.
#[cfg(not(target_family = "wasm"))]
async fn load(ex: &Exchange, path: &str) -> Result<Option<Found>> {
    let text = match ex.ask(HostQuery::File(path.to_owned())).await {
        HostAnswer::Value(t) => t,
        HostAnswer::Missing => return Ok(None),
        HostAnswer::Refused(why) => return Err(Error::invalid_input(format!("cannot read {path}: {why}"))),
        HostAnswer::Bytes(_) => return Err(Error::invalid_input(format!("cannot read {path} as text"))),
    };
    let v: Value = serde_json::from_str(&text).map_err(|_| Error::invalid_input(format!("{path} is not JSON")))?;
    let adc = parse(ex, path, &v, true)?;
    Ok(Some(Found { adc, source: path.to_owned() }))
}

/// The credentials a file (or, with `top` false, an impersonation's
/// `source_credentials`) describes.
#[cfg(not(target_family = "wasm"))]
fn parse(ex: &Exchange, path: &str, v: &Value, top: bool) -> Result<Adc> {
    let field = |k: &str| v[k].as_str().map(str::to_owned);
    let adc = match v["type"].as_str() {
        Some("service_account") => {
            let (Some(email), Some(key)) = (field("client_email"), field("private_key")) else {
                return Err(Error::invalid_input(format!(
                    "{path}: a service-account key needs client_email and private_key"
                )));
            };
            ex.add_secret(&key);
            let key = Secret::new(key);
            let account =
                ServiceAccount::new(&email, &key, field("private_key_id").as_deref(), field("token_uri").as_deref())?;
            Adc::ServiceAccount(Box::new(account))
        }
        Some("authorized_user") => {
            let (Some(client_id), Some(secret), Some(refresh)) =
                (field("client_id"), field("client_secret"), field("refresh_token"))
            else {
                return Err(Error::invalid_input(format!(
                    "{path}: authorized_user needs client_id, client_secret and refresh_token"
                )));
            };
            ex.add_secret(&secret);
            ex.add_secret(&refresh);
            Adc::AuthorizedUser {
                client_id,
                client_secret: Secret::new(secret),
                refresh_token: Secret::new(refresh),
                token_uri: field("token_uri").unwrap_or_else(|| gcp::GOOGLE_TOKEN_URI.to_owned()),
            }
        }
        Some("external_account") if top => Adc::ExternalAccount(Box::new(ExternalAccount::parse(path, v)?)),
        Some("impersonated_service_account") if top => {
            let url = field("service_account_impersonation_url").ok_or_else(|| {
                Error::invalid_input(format!(
                    "{path}: impersonated_service_account needs service_account_impersonation_url"
                ))
            })?;
            // google-auth's reading: the target is what stands between the last `/`
            // and `:generateAccessToken`.
            let target = url
                .rsplit_once('/')
                .map(|(_, t)| t.strip_suffix(":generateAccessToken").unwrap_or(t).to_owned())
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    Error::invalid_input(format!("{path}: the impersonation URL names no service account"))
                })?;
            let delegates =
                v["delegates"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_owned);
            let source = &v["source_credentials"];
            if !source.is_object() {
                return Err(Error::invalid_input(format!(
                    "{path}: impersonated_service_account needs source_credentials"
                )));
            }
            Adc::Impersonated(Box::new(Impersonated {
                source: parse(ex, &format!("{path} (source_credentials)"), source, false)?,
                url,
                target,
                delegates: delegates.collect(),
            }))
        }
        Some(other) => {
            return Err(Error::not_supported(format!(
                "{path} holds {other:?} credentials; this version reads service_account, authorized_user, external_account and impersonated_service_account files{}",
                if top { "" } else { " (and source credentials of the first two kinds)" }
            )));
        }
        None => return Err(Error::invalid_input(format!("{path} has no \"type\""))),
    };
    Ok(adc)
}

/// The chain; when nothing is found the error lists every source and why.
pub(crate) async fn find(ex: &Exchange) -> Result<Found> {
    let mut tried = Vec::new();
    match var(ex, "GOOGLE_APPLICATION_CREDENTIALS").await {
        Some(path) => match load(ex, &path).await? {
            Some(found) => {
                return Ok(Found { source: format!("GOOGLE_APPLICATION_CREDENTIALS ({})", found.source), ..found });
            }
            // google-auth refuses a variable that names no file, rather than go on.
            None => {
                return Err(Error::invalid_input(format!(
                    "GOOGLE_APPLICATION_CREDENTIALS names {path}, which does not exist"
                )));
            }
        },
        None => tried.push("GOOGLE_APPLICATION_CREDENTIALS is not set".to_owned()),
    }
    let dir = var(ex, "CLOUDSDK_CONFIG").await.unwrap_or_else(|| "~/.config/gcloud".into());
    let well_known = format!("{}/application_default_credentials.json", dir.trim_end_matches('/'));
    match load(ex, &well_known).await? {
        Some(found) => return Ok(Found { source: format!("gcloud ({well_known})"), ..found }),
        None => tried.push(format!("{well_known} does not exist")),
    }
    if var(ex, "NO_GCE_CHECK").await.is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        tried.push("metadata server: NO_GCE_CHECK is set".into());
    } else {
        let ip = var(ex, "GCE_METADATA_IP").await.unwrap_or_else(|| "169.254.169.254".into());
        let ping = ex
            .send(
                HttpRequest::new("GET", format!("http://{ip}/"))
                    .header("Metadata-Flavor", "Google")
                    .timeout(PING_TIMEOUT),
            )
            .await;
        match ping {
            Ok(r) if r.header_value("Metadata-Flavor").is_some_and(|v| v == "Google") => {
                let host = match var(ex, "GCE_METADATA_HOST").await {
                    Some(h) => h,
                    None => var(ex, "GCE_METADATA_ROOT").await.unwrap_or_else(|| "metadata.google.internal".into()),
                };
                return Ok(Found {
                    adc: Adc::Metadata { base: format!("http://{host}") },
                    source: format!("metadata server ({host})"),
                });
            }
            Ok(r) => tried.push(format!("metadata server at {ip}: not Google's (HTTP {})", r.status)),
            Err(e) => tried.push(format!("metadata server at {ip}: no answer ({})", e.message)),
        }
    }
    Err(Error::new(
        ErrorCode::AccessDenied,
        format!(
            "no Google credentials found: put them in the configuration (gcp.credentials), or in one of these sources, tried in this order: {}",
            tried.join("; ")
        ),
    ))
}

/// An access token for `scope` from what [`find`] found, through the configuration's
/// `endpoints` where it names them.
pub(crate) async fn token(ex: &Exchange, found: &Found, endpoints: Endpoints<'_>, scope: &str) -> Result<CachedToken> {
    adc_token(ex, &found.adc, endpoints, scope).await
}

fn adc_token<'a>(
    ex: &'a Exchange,
    adc: &'a Adc,
    endpoints: Endpoints<'a>,
    scope: &'a str,
) -> std::pin::Pin<Box<dyn Future<Output = Result<CachedToken>> + Send + 'a>> {
    // Boxed: an impersonation's source is itself credentials of this kind.
    Box::pin(token_from(ex, adc, endpoints, scope))
}

#[cfg(not(target_family = "wasm"))]
impl Impersonated {
    /// The source's token buys the target's, through the delegation chain, as
    /// google-auth's `impersonated_credentials` does.
    async fn token(&self, ex: &Exchange, endpoints: Endpoints<'_>, scope: &str) -> Result<CachedToken> {
        let url = match endpoints.iam_credentials {
            Some(iam) => format!(
                "{}/v1/projects/-/serviceAccounts/{}:generateAccessToken",
                iam.trim_end_matches('/'),
                percent_encode(&self.target, false)
            ),
            None => {
                checked_google_url(&self.url, "service_account_impersonation_url", "iamcredentials")?;
                self.url.clone()
            }
        };
        let source = adc_token(ex, &self.source, endpoints, CLOUD_PLATFORM).await?;
        let what = format!("impersonating {} with the source credentials", self.target);
        generate_access_token(ex, &url, &source, &self.delegates, scope, &what).await
    }
}

/// IAM Credentials' `generateAccessToken` at `url` (one service account's), called
/// with the `caller`'s token through `delegates`: an hour's token for `scope`.
async fn generate_access_token(
    ex: &Exchange,
    url: &str,
    caller: &CachedToken,
    delegates: &[String],
    scope: &str,
    what: &str,
) -> Result<CachedToken> {
    let mut body = serde_json::json!({ "scope": [scope], "lifetime": "3600s" });
    if !delegates.is_empty() {
        body["delegates"] = serde_json::json!(delegates);
    }
    let body = body.to_string();
    let bearer = format!("Bearer {}", caller.token.expose());
    let response = ex
        .call(
            |_| {
                Ok(HttpRequest::new("POST", url)
                    .header("Authorization", &bearer)
                    .header("Content-Type", "application/json")
                    .body(body.clone()))
            },
            google::is_throttled,
        )
        .await?;
    if !response.is_success() {
        return Err(google::error_from_response(&response, what));
    }
    let (token, v) = token_from_json(ex, &response.body, "accessToken", what)?;
    let expires_at = v["expireTime"].as_str().and_then(crate::Timestamp::parse_rfc3339);
    Ok(CachedToken { token, expires_at })
}

/// A token from one kind of credentials.
async fn token_from(ex: &Exchange, adc: &Adc, endpoints: Endpoints<'_>, scope: &str) -> Result<CachedToken> {
    match adc {
        #[cfg(not(target_family = "wasm"))]
        Adc::ServiceAccount(account) => {
            gcp::fetch_token(ex, account, endpoints.oauth2.unwrap_or(&account.token_uri), scope).await
        }
        #[cfg(not(target_family = "wasm"))]
        Adc::AuthorizedUser { client_id, client_secret, refresh_token, token_uri } => {
            let url = endpoints.oauth2.unwrap_or(token_uri);
            let fields = [
                ("grant_type", "refresh_token"),
                ("client_id", client_id),
                ("client_secret", client_secret.expose()),
                ("refresh_token", refresh_token.expose()),
            ];
            let response = post_form(ex, HttpRequest::post_form(url, &fields)).await?;
            gcp::oauth_token(ex, &response, "refreshing the gcloud user login")
        }
        Adc::Metadata { base } => {
            let url = format!(
                "{base}/computeMetadata/v1/instance/service-accounts/default/token?scopes={}",
                percent_encode(scope, false)
            );
            let response = ex
                .call(
                    |_| Ok(HttpRequest::new("GET", url.clone()).header("Metadata-Flavor", "Google")),
                    google::is_throttled,
                )
                .await?;
            gcp::oauth_token(ex, &response, "getting a token from the metadata server")
        }
        Adc::ExternalAccount(account) => account.token(ex, scope, endpoints).await,
        #[cfg(not(target_family = "wasm"))]
        Adc::Impersonated(i) => i.token(ex, endpoints, scope).await,
    }
}

/// Sends a token-endpoint request with Google's retry rules.
async fn post_form(ex: &Exchange, request: HttpRequest) -> Result<crate::engine::http::HttpResponse> {
    ex.call(|_| Ok(request.clone()), google::is_throttled).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<ExternalAccount> {
        ExternalAccount::parse("wif.json", &v)
    }

    #[test]
    fn only_googles_own_sts_and_iam_credentials_hosts_are_trusted_from_a_file() {
        for host in [
            "sts.googleapis.com",
            "sts.mtls.googleapis.com",
            "us-east1.sts.googleapis.com",
            "sts.us-east7.rep.googleapis.com",
            "sts.europe-west3.googleapis.com",
            "europe-west3-sts.googleapis.com",
            "sts-xyz123.p.googleapis.com",
            "STS.GOOGLEAPIS.COM",
        ] {
            assert!(is_google_host(host, "sts"), "{host}");
        }
        for host in [
            "sts.googleapis.com.evil.example",
            "evil.example",
            "stsgoogleapis.com",
            "xsts.googleapis.com",
            "-sts.googleapis.com",
            "a.b.sts.googleapis.com",
            "sts..googleapis.com",
            "iamcredentials.googleapis.com",
            "sts.googleapis.com:443@evil.example",
            "googleapis.com",
            "127.0.0.1",
        ] {
            assert!(!is_google_host(host, "sts"), "{host}");
        }
        assert!(is_google_host("iamcredentials.googleapis.com", "iamcredentials"));
        assert!(is_google_host("iamcredentials.mtls.googleapis.com", "iamcredentials"));
        assert!(!is_google_host("sts.googleapis.com", "iamcredentials"));
        let url = |u: &str| checked_google_url(u, "token_url", "sts");
        assert!(url("https://sts.googleapis.com/v1/token").is_ok());
        for bad in [
            "http://sts.googleapis.com/v1/token",
            "https://sts.googleapis.com@evil.example/v1/token",
            "https://evil.example/v1/token",
            "sts.googleapis.com/v1/token",
        ] {
            let e = url(bad).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidInput, "{bad}");
            assert!(e.message().contains("token_url"), "{e}");
        }
    }

    #[test]
    fn external_account_files_are_checked_before_any_request() {
        let good = json!({ "type": "external_account", "audience": "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/x",
            "subject_token_type": "urn:ietf:params:oauth:token-type:jwt", "credential_source": { "file": "/t" },
            "service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/a@p.iam.gserviceaccount.com:generateAccessToken" });
        let account = parse(good.clone()).unwrap();
        assert_eq!(account.token_url, STS_URL);
        assert_eq!(account.service_account_email().as_deref(), Some("a@p.iam.gserviceaccount.com"));
        let with = |k: &str, v: Value| {
            let mut f = good.clone();
            f[k] = v;
            parse(f).unwrap_err().code()
        };
        assert_eq!(with("credential_source", json!({ "environment_id": "aws1" })), ErrorCode::NotSupported);
        assert_eq!(with("credential_source", json!({ "executable": { "command": "x" } })), ErrorCode::NotSupported);
        assert_eq!(with("credential_source", json!({ "file": "/t", "url": "http://x" })), ErrorCode::InvalidInput);
        assert_eq!(
            with("credential_source", json!({ "file": "/t", "format": { "type": "json" } })),
            ErrorCode::InvalidInput
        );
        assert_eq!(with("audience", json!("")), ErrorCode::InvalidInput);
        assert_eq!(with("subject_token_type", Value::Null), ErrorCode::InvalidInput);
        // A workforce billing project on a workload pool is refused, as google-auth does.
        assert_eq!(with("workforce_pool_user_project", json!("billing")), ErrorCode::InvalidInput);
    }
}
