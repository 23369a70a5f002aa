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
//! A file may be a service-account key or an `authorized_user` (a refresh token, as
//! `gcloud auth application-default login` writes it). `external_account` (workload
//! identity federation) is not resolved yet and says so (a deliberate difference).

use std::time::Duration;

use serde_json::Value;

use crate::auth::gcp::{self, ServiceAccount};
use crate::auth::token_cache::CachedToken;
use crate::engine::host::{HostAnswer, HostQuery};
use crate::engine::http::{HttpRequest, form_encode, percent_encode};
use crate::engine::operation::Exchange;
use crate::error::{Error, ErrorCode, Result};
use crate::protocol::google;
use crate::secret::Secret;

/// How long the metadata ping may take (google-auth waits 3 s, three times; one
/// short try keeps a laptop from hanging).
const PING_TIMEOUT: Duration = Duration::from_secs(1);

/// Where tokens come from.
#[derive(Debug)]
pub(crate) enum Adc {
    ServiceAccount(Box<ServiceAccount>),
    AuthorizedUser { client_id: String, client_secret: Secret, refresh_token: Secret, token_uri: String },
    Metadata { base: String },
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
            Adc::ServiceAccount(_) => "service_account",
            Adc::AuthorizedUser { .. } => "authorized_user",
            Adc::Metadata { .. } => "compute_engine",
        }
    }

    /// Who: the service account's e-mail, or the OAuth client id of a user login.
    pub(crate) fn principal(&self) -> Option<String> {
        match &self.adc {
            Adc::ServiceAccount(a) => Some(a.email.clone()),
            Adc::AuthorizedUser { client_id, .. } => Some(client_id.clone()),
            Adc::Metadata { .. } => None,
        }
    }
}

async fn var(ex: &Exchange, name: &str) -> Option<String> {
    match ex.ask(HostQuery::Env(name.to_owned())).await {
        HostAnswer::Value(v) if !v.is_empty() => Some(v),
        _ => None,
    }
}

/// Reads a credentials file: `Ok(None)` when it is not there.
async fn load(ex: &Exchange, path: &str) -> Result<Option<Found>> {
    let text = match ex.ask(HostQuery::File(path.to_owned())).await {
        HostAnswer::Value(t) => t,
        HostAnswer::Missing => return Ok(None),
        HostAnswer::Refused(why) => return Err(Error::invalid_input(format!("cannot read {path}: {why}"))),
    };
    let v: Value = serde_json::from_str(&text).map_err(|_| Error::invalid_input(format!("{path} is not JSON")))?;
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
        Some(other) => {
            return Err(Error::not_supported(format!(
                "{path} holds {other:?} credentials; this version reads service_account and authorized_user files"
            )));
        }
        None => return Err(Error::invalid_input(format!("{path} has no \"type\""))),
    };
    Ok(Some(Found { adc, source: path.to_owned() }))
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

/// An access token for `scope` from what [`find`] found. `token_endpoint` overrides
/// the files' `token_uri` (`gcp.endpoints.oauth2`).
pub(crate) async fn token(
    ex: &Exchange,
    found: &Found,
    token_endpoint: Option<&str>,
    scope: &str,
) -> Result<CachedToken> {
    match &found.adc {
        Adc::ServiceAccount(account) => {
            gcp::fetch_token(ex, account, token_endpoint.unwrap_or(&account.token_uri), scope).await
        }
        Adc::AuthorizedUser { client_id, client_secret, refresh_token, token_uri } => {
            let url = token_endpoint.unwrap_or(token_uri);
            let body = form_encode(&[
                ("grant_type", "refresh_token"),
                ("client_id", client_id),
                ("client_secret", client_secret.expose()),
                ("refresh_token", refresh_token.expose()),
            ]);
            let response = ex
                .call(
                    |_| {
                        Ok(HttpRequest::new("POST", url)
                            .header("Content-Type", "application/x-www-form-urlencoded")
                            .body(body.clone()))
                    },
                    google::is_throttled,
                )
                .await?;
            access_token(ex, &response, "refreshing the gcloud user login")
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
            access_token(ex, &response, "getting a token from the metadata server")
        }
    }
}

fn access_token(ex: &Exchange, response: &crate::engine::http::HttpResponse, what: &str) -> Result<CachedToken> {
    if !response.is_success() {
        return Err(google::error_from_response(response, what));
    }
    let v: Value = serde_json::from_slice(&response.body)
        .map_err(|_| Error::provider(format!("{what}: the answer is not JSON")))?;
    let token = v["access_token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::provider(format!("{what}: no access_token")))?;
    ex.add_secret(token);
    let lifetime = v["expires_in"].as_u64().unwrap_or(3600);
    Ok(CachedToken { token: Secret::new(token), expires_at: Some(ex.now().plus(Duration::from_secs(lifetime))) })
}
