//! Azure credentials from the environment, in the order of azure-identity's
//! `DefaultAzureCredential` minus its interactive and tool-based members, for an
//! `azure` section without `credentials` (or with `"credentials": "default"`):
//!
//! 1. environment: `AZURE_TENANT_ID` + `AZURE_CLIENT_ID` + `AZURE_CLIENT_SECRET`, else
//!    `AZURE_CLIENT_CERTIFICATE_PATH` (PEM or PKCS#12 with the certificate and its RSA
//!    key, `AZURE_CLIENT_CERTIFICATE_PASSWORD` when it is encrypted; azure-identity's
//!    `EnvironmentCredential` order): the key signs a client assertion that names the
//!    certificate by its SHA-1 thumbprint;
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

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::json;
use sha2::Digest;

use crate::auth::azure;
#[cfg(not(target_family = "wasm"))]
use crate::auth::certificate_file;
use crate::auth::jwt::RsaSigner;
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
    ClientSecret {
        tenant: String,
        client_id: String,
        secret: Secret,
        authority: String,
    },
    ClientCertificate {
        tenant: String,
        client_id: String,
        certificate: Box<ClientCertificate>,
        authority: String,
    },
    WorkloadIdentity {
        tenant: String,
        client_id: String,
        token_file: String,
        authority: String,
    },
    /// A federated token given in the configuration (`azure.credentials.federatedToken`:
    /// the kubelet credential provider passes a pod's service-account token this way).
    FederatedToken {
        tenant: String,
        client_id: String,
        token: Secret,
        authority: String,
    },
    AppService {
        endpoint: String,
        header: Secret,
        client_id: Option<String>,
    },
    Imds {
        base: String,
        client_id: Option<String>,
    },
}

impl Source {
    /// azure-identity's class for it.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Source::ClientSecret { .. } | Source::ClientCertificate { .. } => "EnvironmentCredential",
            Source::WorkloadIdentity { .. } | Source::FederatedToken { .. } => "WorkloadIdentityCredential",
            Source::AppService { .. } | Source::Imds { .. } => "ManagedIdentityCredential",
        }
    }

    /// The client id, where there is one.
    pub(crate) fn client_id(&self) -> Option<&str> {
        match self {
            Source::ClientSecret { client_id, .. }
            | Source::ClientCertificate { client_id, .. }
            | Source::WorkloadIdentity { client_id, .. }
            | Source::FederatedToken { client_id, .. } => Some(client_id),
            Source::AppService { client_id, .. } | Source::Imds { client_id, .. } => client_id.as_deref(),
        }
    }

    /// Where, for people.
    pub(crate) fn describe(&self) -> String {
        match self {
            Source::ClientSecret { .. } => "environment (AZURE_CLIENT_SECRET)".into(),
            Source::ClientCertificate { certificate, .. } => {
                format!("environment (AZURE_CLIENT_CERTIFICATE_PATH {})", certificate.path)
            }
            Source::WorkloadIdentity { token_file, .. } => format!("workload identity ({token_file})"),
            Source::FederatedToken { .. } => "configuration (federated token)".into(),
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
    if let (Some(tenant), Some(client_id), Some(path)) =
        (&tenant, &client_id, var(ex, "AZURE_CLIENT_CERTIFICATE_PATH").await)
    {
        let certificate = ClientCertificate::read(ex, &path).await?;
        return Ok(Source::ClientCertificate {
            tenant: tenant.clone(),
            client_id: client_id.clone(),
            certificate: Box::new(certificate),
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
        Source::ClientCertificate { tenant, client_id, certificate, authority } => {
            let url = format!("{}/{tenant}/oauth2/v2.0/token", authority_override.unwrap_or(authority));
            // A new assertion for each attempt: Azure AD refuses one it has seen.
            let response = ex
                .call(
                    |now| {
                        let assertion = certificate.assertion(client_id, &url, now, ex.draw());
                        ex.add_secret(&assertion);
                        Ok(HttpRequest::post_form(
                            &url,
                            &[
                                ("client_id", client_id.as_str()),
                                ("grant_type", "client_credentials"),
                                ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                                ("client_assertion", &assertion),
                                ("scope", scope),
                            ],
                        ))
                    },
                    wire::is_throttled,
                )
                .await?;
            managed(ex, &response, "Azure AD with the client certificate")
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
            let url = format!("{}/{tenant}/oauth2/v2.0/token", authority_override.unwrap_or(authority));
            federated(ex, &url, client_id, &assertion, scope, "workload identity").await
        }
        Source::FederatedToken { tenant, client_id, token, authority } => {
            let url = format!("{}/{tenant}/oauth2/v2.0/token", authority_override.unwrap_or(authority));
            federated(ex, &url, client_id, token.expose(), scope, "the federated token").await
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

/// A token for `scope` with a federated `assertion` (a workload's OIDC token) as the
/// client assertion, as azure-identity's `WorkloadIdentityCredential` sends it.
async fn federated(
    ex: &Exchange,
    url: &str,
    client_id: &str,
    assertion: &str,
    scope: &str,
    what: &str,
) -> Result<CachedToken> {
    ex.add_secret(assertion);
    let fields = [
        ("client_id", client_id),
        ("grant_type", "client_credentials"),
        ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
        ("client_assertion", assertion),
        ("scope", scope),
    ];
    let response = azure::post_form(ex, url, &fields).await?;
    managed(ex, &response, what)
}

/// A service principal's certificate and key, from `AZURE_CLIENT_CERTIFICATE_PATH`.
pub(crate) struct ClientCertificate {
    path: String,
    signer: RsaSigner,
    /// The certificate's SHA-1 thumbprint, base64url: the assertion's `x5t`, which is
    /// how azure-identity (MSAL) names the certificate to Azure AD.
    x5t: String,
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCertificate").field("path", &self.path).field("x5t", &self.x5t).finish()
    }
}

/// Makes each assertion's `jti` unique within the process.
static ASSERTIONS: AtomicU64 = AtomicU64::new(0);

impl ClientCertificate {
    /// Reads the file as azure-identity's `EnvironmentCredential` does: PEM (the first
    /// certificate and an RSA key, PKCS#8, PKCS#1 or encrypted PKCS#8) or PKCS#12,
    /// with `AZURE_CLIENT_CERTIFICATE_PASSWORD` for an encrypted one. Anything else is
    /// `invalid-input` naming the variable, before any request.
    async fn read(ex: &Exchange, path: &str) -> Result<ClientCertificate> {
        let refuse =
            |why: &str| Error::invalid_input(format!("AZURE_CLIENT_CERTIFICATE_PATH {path}: {why} (nothing was sent)"));
        #[cfg(target_family = "wasm")]
        {
            let _ = ex;
            Err(refuse("the component reads no files; give the host's token as azure.credentials.accessToken"))
        }
        #[cfg(not(target_family = "wasm"))]
        {
            let password = var(ex, "AZURE_CLIENT_CERTIFICATE_PASSWORD").await;
            if let Some(p) = &password {
                ex.add_secret(p);
            }
            let bytes = match ex.ask(HostQuery::FileBytes(path.to_owned())).await {
                HostAnswer::Bytes(bytes) => bytes,
                HostAnswer::Value(text) => text.into_bytes(),
                HostAnswer::Missing => return Err(refuse("no such file")),
                HostAnswer::Refused(why) => return Err(refuse(&format!("cannot be read ({why})"))),
            };
            let (signer, x5t) = certificate_file::load(ex, &bytes, password.as_deref()).map_err(|why| refuse(&why))?;
            Ok(ClientCertificate { path: path.to_owned(), signer, x5t })
        }
    }

    /// The client assertion for `client_id` at the token endpoint `audience`, signed
    /// at `now` and valid for ten minutes (MSAL's lifetime); `draw` makes its `jti`
    /// unique.
    fn assertion(&self, client_id: &str, audience: &str, now: Timestamp, draw: u64) -> String {
        let iat = now.unix_seconds();
        let n = ASSERTIONS.fetch_add(1, Ordering::Relaxed);
        let jti: String = sha2::Sha256::digest(format!("{client_id} {iat} {n} {draw}").as_bytes())
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect();
        let header = json!({ "alg": "RS256", "typ": "JWT", "x5t": self.x5t });
        let claims = json!({ "aud": audience, "iss": client_id, "sub": client_id, "jti": jti,
                             "iat": iat, "nbf": iat, "exp": iat + 600 });
        self.signer.jwt(&header, &claims)
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
