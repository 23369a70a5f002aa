//! Azure authentication, sans-IO: an Azure AD token (client credentials, or a raw
//! token from the configuration), and the registry's own token service, which
//! exchanges it for an ACR refresh token (`/oauth2/exchange`) and that for
//! repository-scoped access tokens (`/oauth2/token`).
//!
//! Every expiry comes from the token's own `exp` claim (Azure AD's `expires_in` only
//! when its token is not a readable JWT); none is assumed.

use std::time::Duration;

use crate::auth::token_cache::{CachedToken, token_from_json};
use crate::engine::http::{HttpRequest, HttpResponse};
use crate::engine::operation::Exchange;
use crate::error::Result;
use crate::protocol::azure;
use crate::secret::Secret;

/// The audience of tokens for the registry's data plane. It works in every cloud,
/// and even where the registry refuses ARM-audience tokens.
pub(crate) const ACR_SCOPE: &str = "https://containerregistry.azure.net/.default";

/// Posts a form to an Azure AD or ACR token endpoint, with Azure's retry rules.
pub(crate) async fn post_form(ex: &Exchange, url: &str, fields: &[(&str, &str)]) -> Result<HttpResponse> {
    let request = HttpRequest::post_form(url, fields);
    ex.call(|_| Ok(request.clone()), azure::is_throttled).await
}

fn token_field(ex: &Exchange, response: &HttpResponse, field: &str, what: &str) -> Result<CachedToken> {
    if !response.is_success() {
        return Err(azure::error_from_response(response, what));
    }
    let (token, body) = token_from_json(ex, &response.body, field, what)?;
    let expires_at = azure::jwt_expiry(token.expose())
        .or_else(|| body["expires_in"].as_u64().map(|s| ex.now().plus(Duration::from_secs(s))));
    Ok(CachedToken { token, expires_at })
}

/// An Azure AD token for `scope` with client credentials.
pub(crate) async fn aad_token(
    ex: &Exchange,
    authority: &str,
    tenant: &str,
    client_id: &str,
    client_secret: &Secret,
    scope: &str,
) -> Result<CachedToken> {
    let url = format!("{authority}/{tenant}/oauth2/v2.0/token");
    let response = post_form(
        ex,
        &url,
        &[
            ("client_id", client_id),
            ("grant_type", "client_credentials"),
            ("client_secret", client_secret.expose()),
            ("scope", scope),
        ],
    )
    .await?;
    token_field(ex, &response, "access_token", &format!("getting an Azure AD token for {client_id}"))
}

/// The registry's refresh token for an Azure AD token. `Ok(None)` when the registry
/// refused the AAD token (401): the caller may get a fresh one and try again.
pub(crate) async fn exchange(
    ex: &Exchange,
    registry: &str,
    service: &str,
    tenant: &str,
    aad: &Secret,
) -> Result<Option<CachedToken>> {
    let url = format!("{registry}/oauth2/exchange");
    let response = post_form(
        ex,
        &url,
        &[("grant_type", "access_token"), ("service", service), ("tenant", tenant), ("access_token", aad.expose())],
    )
    .await?;
    if response.status == 401 {
        return Ok(None);
    }
    token_field(ex, &response, "refresh_token", "exchanging the Azure AD token at the registry").map(Some)
}

/// A registry access token for `scope`. `Ok(None)` when the registry refused the
/// refresh token (401: expired or revoked).
pub(crate) async fn access_token(
    ex: &Exchange,
    registry: &str,
    service: &str,
    scope: &str,
    refresh: &Secret,
) -> Result<Option<CachedToken>> {
    let url = format!("{registry}/oauth2/token");
    let response = post_form(
        ex,
        &url,
        &[("grant_type", "refresh_token"), ("service", service), ("scope", scope), ("refresh_token", refresh.expose())],
    )
    .await?;
    if response.status == 401 {
        return Ok(None);
    }
    token_field(ex, &response, "access_token", &format!("getting a registry token for {scope}")).map(Some)
}
