//! Azure credentials from the environment, in the order of azure-identity's
//! `DefaultAzureCredential` minus its interactive and tool-based members, for an
//! `azure` section without `credentials` (or with `"credentials": "default"`):
//!
//! 1. environment: `AZURE_TENANT_ID` + `AZURE_CLIENT_ID` + `AZURE_CLIENT_SECRET`;
//! 2. workload identity: `AZURE_FEDERATED_TOKEN_FILE` + `AZURE_CLIENT_ID` +
//!    `AZURE_TENANT_ID`, the file's token sent as the client assertion;
//! 3. managed identity: App Service and Container Apps (`IDENTITY_ENDPOINT` +
//!    `IDENTITY_HEADER`), else the instance metadata service (`http://169.254.169.254`,
//!    or `AZURE_POD_IDENTITY_AUTHORITY_HOST`), with `AZURE_CLIENT_ID` for a
//!    user-assigned identity.
//!
//! `AZURE_AUTHORITY_HOST` replaces the cloud's Azure AD authority (the configuration's
//! `azure.endpoints.activeDirectory` wins over both). The Azure CLI, PowerShell,
//! Developer CLI and shared-token-cache members are left out (deliberate: they run
//! other tools or need a login).

use std::time::Duration;

use crate::auth::azure;
use crate::auth::token_cache::{CachedToken, token_from_json};
use crate::engine::host::{HostAnswer, HostQuery};
use crate::engine::http::{HttpRequest, HttpResponse, UrlParts, percent_encode};
use crate::engine::operation::Exchange;
use crate::engine::time::Timestamp;
use crate::error::{Error, ErrorCode, Result};
use crate::protocol::azure as wire;
use crate::secret::Secret;

/// How long the instance metadata service may take (azure-identity probes briefly).
const IMDS_TIMEOUT: Duration = Duration::from_secs(1);

/// What was found.
#[derive(Debug)]
pub(crate) enum Source {
    ClientSecret { tenant: String, client_id: String, secret: Secret, authority: String },
    WorkloadIdentity { tenant: String, client_id: String, token_file: String, authority: String },
    AppService { endpoint: String, header: Secret, client_id: Option<String> },
    Imds { base: String, client_id: Option<String> },
}

impl Source {
    /// azure-identity's class for it.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Source::ClientSecret { .. } => "EnvironmentCredential",
            Source::WorkloadIdentity { .. } => "WorkloadIdentityCredential",
            Source::AppService { .. } | Source::Imds { .. } => "ManagedIdentityCredential",
        }
    }

    /// The client id, where there is one.
    pub(crate) fn client_id(&self) -> Option<&str> {
        match self {
            Source::ClientSecret { client_id, .. } | Source::WorkloadIdentity { client_id, .. } => Some(client_id),
            Source::AppService { client_id, .. } | Source::Imds { client_id, .. } => client_id.as_deref(),
        }
    }

    /// Where, for people.
    pub(crate) fn describe(&self) -> String {
        match self {
            Source::ClientSecret { .. } => "environment (AZURE_CLIENT_SECRET)".into(),
            Source::WorkloadIdentity { token_file, .. } => format!("workload identity ({token_file})"),
            Source::AppService { .. } => "managed identity (App Service)".into(),
            Source::Imds { base, .. } => format!("managed identity (IMDS at {base})"),
        }
    }
}

async fn var(ex: &Exchange, name: &str) -> Option<String> {
    match ex.ask(HostQuery::Env(name.to_owned())).await {
        HostAnswer::Value(v) if !v.is_empty() => Some(v),
        _ => None,
    }
}

/// `AZURE_AUTHORITY_HOST`, where the client secret or the federated assertion goes.
/// azure-identity refuses any authority that is not https; so do we, but for a
/// loopback address over http: such a request never leaves the machine (it is how
/// tests and local emulators serve Azure AD), so nothing crosses a network in clear.
fn checked_authority(host: &str) -> Result<String> {
    let refuse = |why: &str| {
        Err(Error::invalid_input(format!(
            "AZURE_AUTHORITY_HOST {why}: the client secret or federated token would travel in clear; use https (nothing was sent)"
        )))
    };
    let Some(url) = UrlParts::parse(host) else { return refuse("is not an absolute URL") };
    if url.host().is_none() {
        return refuse("carries user information before its host");
    }
    match url.scheme {
        "https" => Ok(host.to_owned()),
        "http" if url.is_loopback() => Ok(host.to_owned()),
        _ => refuse(&format!("is {}, not https", url.scheme)),
    }
}

/// The chain: what the environment offers, without a network call (managed identity
/// is taken as available; its first token request says whether it is).
pub(crate) async fn find(ex: &Exchange, default_authority: &str) -> Result<Source> {
    let authority = match var(ex, "AZURE_AUTHORITY_HOST").await {
        Some(host) => checked_authority(&host)?,
        None => default_authority.to_owned(),
    };
    let authority = authority.trim_end_matches('/').to_owned();
    let (tenant, client_id) = (var(ex, "AZURE_TENANT_ID").await, var(ex, "AZURE_CLIENT_ID").await);
    if let (Some(tenant), Some(client_id), Some(secret)) = (&tenant, &client_id, var(ex, "AZURE_CLIENT_SECRET").await) {
        ex.add_secret(&secret);
        return Ok(Source::ClientSecret {
            tenant: tenant.clone(),
            client_id: client_id.clone(),
            secret: Secret::new(secret),
            authority,
        });
    }
    if let (Some(tenant), Some(client_id), Some(token_file)) =
        (&tenant, &client_id, var(ex, "AZURE_FEDERATED_TOKEN_FILE").await)
    {
        return Ok(Source::WorkloadIdentity {
            tenant: tenant.clone(),
            client_id: client_id.clone(),
            token_file,
            authority,
        });
    }
    if let (Some(endpoint), Some(header)) = (var(ex, "IDENTITY_ENDPOINT").await, var(ex, "IDENTITY_HEADER").await) {
        ex.add_secret(&header);
        return Ok(Source::AppService { endpoint, header: Secret::new(header), client_id });
    }
    let base = var(ex, "AZURE_POD_IDENTITY_AUTHORITY_HOST").await.unwrap_or_else(|| "http://169.254.169.254".into());
    Ok(Source::Imds { base: base.trim_end_matches('/').to_owned(), client_id })
}

/// `https://x/.default` -> `https://x` (managed identity takes a resource).
fn resource(scope: &str) -> &str {
    scope.strip_suffix("/.default").unwrap_or(scope)
}

/// A token for `scope` from `source`.
pub(crate) async fn token(
    ex: &Exchange,
    source: &Source,
    authority_override: Option<&str>,
    scope: &str,
) -> Result<CachedToken> {
    match source {
        Source::ClientSecret { tenant, client_id, secret, authority } => {
            azure::aad_token(ex, authority_override.unwrap_or(authority), tenant, client_id, secret, scope).await
        }
        Source::WorkloadIdentity { tenant, client_id, token_file, authority } => {
            let assertion = match ex.ask(HostQuery::File(token_file.clone())).await {
                HostAnswer::Value(t) => t.trim().to_owned(),
                _ => {
                    return Err(Error::invalid_input(format!(
                        "AZURE_FEDERATED_TOKEN_FILE {token_file} cannot be read"
                    )));
                }
            };
            ex.add_secret(&assertion);
            let url = format!("{}/{tenant}/oauth2/v2.0/token", authority_override.unwrap_or(authority));
            let fields = [
                ("client_id", client_id.as_str()),
                ("grant_type", "client_credentials"),
                ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                ("client_assertion", &assertion),
                ("scope", scope),
            ];
            let response = azure::post_form(ex, &url, &fields).await?;
            managed(ex, &response, "workload identity")
        }
        Source::AppService { endpoint, header, client_id } => {
            let mut url =
                format!("{endpoint}?api-version=2019-08-01&resource={}", percent_encode(resource(scope), false));
            if let Some(id) = client_id {
                url.push_str(&format!("&client_id={}", percent_encode(id, false)));
            }
            let response = ex
                .call(
                    |_| Ok(HttpRequest::new("GET", url.clone()).header("X-IDENTITY-HEADER", header.expose())),
                    wire::is_throttled,
                )
                .await?;
            managed(ex, &response, "the App Service managed identity")
        }
        Source::Imds { base, client_id } => {
            let mut url = format!(
                "{base}/metadata/identity/oauth2/token?api-version=2018-02-01&resource={}",
                percent_encode(resource(scope), false)
            );
            if let Some(id) = client_id {
                url.push_str(&format!("&client_id={}", percent_encode(id, false)));
            }
            let response = ex
                .send(HttpRequest::new("GET", url).header("Metadata", "true").timeout(IMDS_TIMEOUT))
                .await
                .map_err(|e| {
                    Error::new(
                        ErrorCode::AccessDenied,
                        format!(
                            "no Azure credentials found: AZURE_CLIENT_SECRET, AZURE_FEDERATED_TOKEN_FILE and IDENTITY_ENDPOINT are not set, and the instance metadata service at {base} did not answer ({}); put them in the configuration (azure.credentials)",
                            e.message
                        ),
                    )
                })?;
            managed(ex, &response, "the instance metadata service")
        }
    }
}

/// An Azure AD or managed-identity token answer: `access_token` with `expires_on`
/// (epoch seconds, a number or a string) or `expires_in`.
fn managed(ex: &Exchange, response: &HttpResponse, what: &str) -> Result<CachedToken> {
    if !response.is_success() {
        return Err(wire::error_from_response(response, &format!("getting a token from {what}")));
    }
    let (token, v) = token_from_json(ex, &response.body, "access_token", what)?;
    let number = |k: &str| v[k].as_i64().or_else(|| v[k].as_str().and_then(|s| s.parse().ok()));
    let expires_at = wire::jwt_expiry(token.expose())
        .or_else(|| number("expires_on").map(Timestamp::from_unix))
        .or_else(|| number("expires_in").map(|s| ex.now().plus(Duration::from_secs(s.max(0) as u64))));
    Ok(CachedToken { token, expires_at })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_authority_host_is_https_or_loopback() {
        for ok in
            ["https://login.microsoftonline.com", "https://login.example/", "http://127.0.0.1:8443", "http://localhost"]
        {
            assert_eq!(super::checked_authority(ok).unwrap(), ok);
        }
        for bad in
            ["http://login.microsoftonline.com", "http://evil.example", "https://x@evil.example", "login.example"]
        {
            let e = super::checked_authority(bad).unwrap_err();
            assert_eq!(e.code(), crate::ErrorCode::InvalidInput, "{bad}");
            assert!(e.message().contains("AZURE_AUTHORITY_HOST"), "{e}");
        }
    }
}
