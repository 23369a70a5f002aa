//! Azure answers: Azure AD errors (`{"error": "invalid_client", "error_description"}`),
//! the registry's distribution envelope (`{"errors": [{"code": "NAME_UNKNOWN",
//! "message"}]}`), ARM errors (`{"error": {"code", "message"}}`), and the claims of
//! the JWTs they issue.

use base64::Engine;
use serde_json::Value;

use crate::engine::http::HttpResponse;
use crate::engine::time::Timestamp;
use crate::error::{Error, ErrorCode};

/// The error code and message of any of the three forms.
pub(crate) fn parse_error(response: &HttpResponse) -> (Option<String>, Option<String>) {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&response.body) else {
        return (None, None);
    };
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    match (body.get("error"), body.get("errors")) {
        (Some(Value::String(code)), _) => (Some(code.clone()), text(body.get("error_description"))),
        (Some(Value::Object(e)), _) => (text(e.get("code")), text(e.get("message"))),
        (_, Some(Value::Array(errors))) => {
            let first = errors.first();
            (text(first.and_then(|e| e.get("code"))), text(first.and_then(|e| e.get("message"))))
        }
        _ => (None, None),
    }
}

/// Whether an answer is throttling (retried like a 429).
pub(crate) fn is_throttled(response: &HttpResponse) -> bool {
    matches!(parse_error(response).0.as_deref(), Some("TOOMANYREQUESTS" | "TooManyRequests"))
}

/// Maps an Azure error answer to a typed error about `what`.
pub(crate) fn error_from_response(response: &HttpResponse, what: &str) -> Error {
    let (code, message) = parse_error(response);
    let message = message.unwrap_or_else(|| response.text().chars().take(300).collect());
    let message = message.trim().trim_end_matches('.');
    let kind = match code.as_deref() {
        Some("NAME_UNKNOWN" | "MANIFEST_UNKNOWN" | "BLOB_UNKNOWN" | "ResourceNotFound" | "NotFound") => {
            ErrorCode::NotFound
        }
        Some(
            "UNAUTHORIZED"
            | "DENIED"
            | "invalid_client"
            | "unauthorized_client"
            | "invalid_grant"
            | "AuthorizationFailed"
            | "InvalidAuthenticationToken"
            | "InvalidAuthenticationTokenTenant",
        ) => ErrorCode::AccessDenied,
        Some("TOOMANYREQUESTS" | "TooManyRequests") => ErrorCode::Throttled,
        Some("UNSUPPORTED") => ErrorCode::NotSupported,
        Some("Conflict" | "AnotherOperationInProgress") => ErrorCode::Conflict,
        Some("invalid_scope" | "invalid_request" | "InvalidParameter" | "NAME_INVALID" | "TAG_INVALID") => {
            ErrorCode::InvalidInput
        }
        _ => ErrorCode::for_http_status(response.status),
    };
    let mut error = Error::new(kind, format!("{what} failed: {message}.")).with_http_status(response.status);
    if let Some(code) = code {
        error = error.with_provider_code(code);
    }
    error
}

/// The `exp` claim of a JWT, read without checking its signature (only the issuer
/// can; this side needs the expiry). Payloads in standard base64 are read too.
pub(crate) fn jwt_expiry(token: &str) -> Option<Timestamp> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(payload.trim_end_matches('=')))
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    let exp = claims.get("exp")?;
    let secs = exp.as_i64().or_else(|| exp.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))?;
    Some(Timestamp::from_unix(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_error_forms() {
        let aad = HttpResponse::new(
            401,
            r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}"#,
        );
        let e = error_from_response(&aad, "AAD");
        assert_eq!((e.code(), e.provider_code()), (ErrorCode::AccessDenied, Some("invalid_client")));
        let acr = HttpResponse::new(
            404,
            r#"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry","detail":{"name":"a"}}]}"#,
        );
        assert_eq!(error_from_response(&acr, "get").code(), ErrorCode::NotFound);
        let arm = HttpResponse::new(400, r#"{"error":{"code":"InvalidParameter","message":"bad expiry"}}"#);
        assert_eq!(error_from_response(&arm, "arm").provider_code(), Some("InvalidParameter"));
    }

    #[test]
    fn jwt_expiry_reads_exp_in_either_alphabet() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"exp":1795853700,"sub":"x"}"#);
        assert_eq!(jwt_expiry(&format!("h.{payload}.s")), Some(Timestamp::from_unix(1_795_853_700)));
        assert_eq!(jwt_expiry("opaque-token"), None);
        assert_eq!(jwt_expiry("a.!!!.b"), None);
    }
}
