//! Google authentication, sans-IO: a service-account key signs an RS256 JWT that the
//! token endpoint exchanges for an access token (the OAuth 2.0 JWT-bearer grant), and
//! IAM Credentials' `generateAccessToken` impersonates another service account.
//! The JWTs are signed by [`crate::auth::jwt`].

use std::time::Duration;

use serde_json::{Value, json};

use crate::auth::jwt::RsaSigner;
use crate::auth::token_cache::{CachedToken, token_from_json};
use crate::engine::http::{HttpRequest, percent_encode};
use crate::engine::operation::Exchange;
use crate::engine::time::Timestamp;
use crate::error::{Error, Result};
use crate::protocol::google;
use crate::secret::Secret;

/// The scope of every call this crate makes to Google.
pub(crate) const CLOUD_PLATFORM: &str = "https://www.googleapis.com/auth/cloud-platform";
/// Google's token endpoint, and the `aud` of assertions for it.
pub(crate) const GOOGLE_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// The longest an assertion may live (Google refuses longer ones).
const ASSERTION_LIFETIME: u64 = 3600;

/// A service account's key, ready to sign assertions.
#[derive(Debug)]
pub(crate) struct ServiceAccount {
    pub email: String,
    key_id: Option<String>,
    /// The key's `token_uri`: the assertion's audience.
    pub token_uri: String,
    signer: RsaSigner,
}

impl ServiceAccount {
    pub(crate) fn new(
        email: &str,
        private_key: &Secret,
        key_id: Option<&str>,
        token_uri: Option<&str>,
    ) -> Result<Self> {
        Ok(ServiceAccount {
            email: email.to_owned(),
            key_id: key_id.map(str::to_owned),
            token_uri: token_uri.unwrap_or(GOOGLE_TOKEN_URI).to_owned(),
            signer: RsaSigner::from_pem(private_key.expose())
                .map_err(|_| Error::invalid_input("the service-account private_key is not a PEM RSA private key"))?,
        })
    }

    /// The signed JWT asking the token endpoint for `scope`, issued at `now`.
    pub(crate) fn assertion(&self, scope: &str, now: Timestamp) -> String {
        let mut header = json!({ "alg": "RS256", "typ": "JWT" });
        if let Some(kid) = &self.key_id {
            header["kid"] = Value::from(kid.as_str());
        }
        let iat = now.unix_seconds();
        let claims = json!({
            "iss": self.email,
            "scope": scope,
            "aud": self.token_uri,
            "iat": iat,
            "exp": iat.saturating_add(ASSERTION_LIFETIME as i64),
        });
        self.signer.jwt(&header, &claims)
    }
}

/// Exchanges a fresh assertion for an access token at `endpoint` (the key's
/// `token_uri`, or `gcp.endpoints.oauth2`).
pub(crate) async fn fetch_token(
    ex: &Exchange,
    account: &ServiceAccount,
    endpoint: &str,
    scope: &str,
) -> Result<CachedToken> {
    let response = ex
        .call(
            |now| {
                Ok(HttpRequest::post_form(
                    endpoint,
                    &[
                        ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                        ("assertion", &account.assertion(scope, now)),
                    ],
                ))
            },
            google::is_throttled,
        )
        .await?;
    oauth_token(ex, &response, &format!("getting a Google access token for {}", account.email))
}

/// The token of an OAuth 2.0 token endpoint's answer (`access_token`, `expires_in`).
pub(crate) fn oauth_token(
    ex: &Exchange,
    response: &crate::engine::http::HttpResponse,
    what: &str,
) -> Result<CachedToken> {
    if !response.is_success() {
        return Err(google::error_from_response(response, what));
    }
    let (token, body) = token_from_json(ex, &response.body, "access_token", what)?;
    let lifetime = body["expires_in"].as_u64().unwrap_or(3600);
    Ok(CachedToken { token, expires_at: Some(ex.now().plus(Duration::from_secs(lifetime))) })
}

/// Impersonates `email` for `lifetime` seconds with IAM Credentials'
/// `generateAccessToken`, as the holder of `caller`.
pub(crate) async fn generate_access_token(
    ex: &Exchange,
    iam_base: &str,
    caller: &Secret,
    email: &str,
    lifetime: u64,
) -> Result<(crate::engine::http::HttpResponse, String)> {
    // The project segment must be `-`: Google infers it from the account.
    let url = format!("{iam_base}/v1/projects/-/serviceAccounts/{}:generateAccessToken", percent_encode(email, false));
    let body = json!({ "scope": [CLOUD_PLATFORM], "lifetime": format!("{lifetime}s") }).to_string();
    let response = ex
        .call(
            |_| {
                Ok(HttpRequest::new("POST", url.clone())
                    .header("Authorization", format!("Bearer {}", caller.expose()))
                    .header("Content-Type", "application/json")
                    .body(body.clone()))
            },
            google::is_throttled,
        )
        .await?;
    Ok((response, url))
}

/// The token in a `generateAccessToken` answer.
pub(crate) fn impersonated_token(ex: &Exchange, body: &[u8], email: &str) -> Result<CachedToken> {
    let what = format!("impersonating {email}");
    let body: Value = serde_json::from_slice(body)
        .map_err(|_| Error::provider(format!("{what}: IAM Credentials answered with a body that is not JSON")))?;
    let token = body["accessToken"]
        .as_str()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::provider(format!("{what}: the answer has no accessToken")))?;
    ex.add_secret(token);
    let expires_at = body["expireTime"].as_str().and_then(Timestamp::parse_rfc3339);
    if expires_at.is_none() {
        return Err(Error::provider(format!("{what}: the answer has no valid expireTime")));
    }
    Ok(CachedToken { token: Secret::new(token), expires_at })
}

#[cfg(test)]
mod tests {
    use super::*;

    // A test key generated for this repository (core/testdata/README.md).
    const KEY: &str = include_str!("../../testdata/gcp-test-key.pem");

    #[test]
    fn assertions_are_rs256_jwts_with_the_key_id_and_a_one_hour_lifetime() {
        let account = ServiceAccount::new(
            "deployer@p1.iam.gserviceaccount.com",
            &Secret::new(KEY),
            Some("0123456789abcdef"),
            None,
        )
        .unwrap();
        let jwt = account.assertion(CLOUD_PLATFORM, Timestamp::from_unix(1_795_849_200));
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let decode = |s: &str| -> Value {
            use base64::Engine;
            serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).unwrap()).unwrap()
        };
        assert_eq!(decode(parts[0]), json!({"alg": "RS256", "typ": "JWT", "kid": "0123456789abcdef"}));
        let claims = decode(parts[1]);
        assert_eq!(claims["aud"], GOOGLE_TOKEN_URI);
        assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 3600);
        // Deterministic: the same instant signs the same bytes.
        assert_eq!(jwt, account.assertion(CLOUD_PLATFORM, Timestamp::from_unix(1_795_849_200)));
        assert!(format!("{account:?}").contains("RsaSigner(***)"));
    }

    #[test]
    fn bad_keys_are_invalid_input() {
        let pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----";
        let e = ServiceAccount::new("a@p.iam.gserviceaccount.com", &Secret::new(pem), None, None).unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::InvalidInput);
    }
}
