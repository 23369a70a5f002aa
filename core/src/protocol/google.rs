//! Google API answers: the REST error envelope
//! (`{"error": {"code": <HTTP status>, "message", "status": "NOT_FOUND"}}`), OAuth 2.0
//! errors (`{"error": "invalid_grant", "error_description"}`), and long-running
//! operations whose `error` is a `google.rpc.Status` with a gRPC code.

use serde_json::Value;

use crate::engine::http::HttpResponse;
use crate::error::{Error, ErrorCode};

/// The contract code for a `google.rpc.Code` name.
fn code_for_status(status: &str) -> Option<ErrorCode> {
    Some(match status {
        "NOT_FOUND" => ErrorCode::NotFound,
        "ALREADY_EXISTS" => ErrorCode::AlreadyExists,
        "PERMISSION_DENIED" | "UNAUTHENTICATED" => ErrorCode::AccessDenied,
        "ABORTED" | "FAILED_PRECONDITION" => ErrorCode::Conflict,
        "INVALID_ARGUMENT" | "OUT_OF_RANGE" => ErrorCode::InvalidInput,
        "RESOURCE_EXHAUSTED" => ErrorCode::Throttled,
        "DEADLINE_EXCEEDED" => ErrorCode::Timeout,
        "UNIMPLEMENTED" => ErrorCode::NotSupported,
        "CANCELLED" | "UNKNOWN" | "INTERNAL" | "DATA_LOSS" | "UNAVAILABLE" => ErrorCode::Provider,
        _ => return None,
    })
}

/// The `google.rpc.Code` name of a gRPC code number (as in `Operation.error.code`).
pub(crate) fn status_name(code: i64) -> &'static str {
    match code {
        1 => "CANCELLED",
        2 => "UNKNOWN",
        3 => "INVALID_ARGUMENT",
        4 => "DEADLINE_EXCEEDED",
        5 => "NOT_FOUND",
        6 => "ALREADY_EXISTS",
        7 => "PERMISSION_DENIED",
        8 => "RESOURCE_EXHAUSTED",
        9 => "FAILED_PRECONDITION",
        10 => "ABORTED",
        11 => "OUT_OF_RANGE",
        12 => "UNIMPLEMENTED",
        13 => "INTERNAL",
        14 => "UNAVAILABLE",
        15 => "DATA_LOSS",
        16 => "UNAUTHENTICATED",
        _ => "UNKNOWN",
    }
}

/// The status name and message of a Google error answer, either form.
pub(crate) fn parse_error(response: &HttpResponse) -> (Option<String>, Option<String>) {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&response.body) else {
        return (None, None);
    };
    match body.get("error") {
        Some(Value::Object(e)) => (
            e.get("status").and_then(Value::as_str).map(str::to_owned),
            e.get("message").and_then(Value::as_str).map(str::to_owned),
        ),
        // OAuth 2.0 (RFC 6749 section 5.2).
        Some(Value::String(code)) => {
            (Some(code.clone()), body.get("error_description").and_then(Value::as_str).map(str::to_owned))
        }
        _ => (None, None),
    }
}

/// Whether an answer is Google's throttling (retried like a 429).
pub(crate) fn is_throttled(response: &HttpResponse) -> bool {
    parse_error(response).0.as_deref() == Some("RESOURCE_EXHAUSTED")
}

/// Maps a Google error answer to a typed error about `what`.
pub(crate) fn error_from_response(response: &HttpResponse, what: &str) -> Error {
    let (status, message) = parse_error(response);
    let message = message.unwrap_or_else(|| response.text().chars().take(300).collect());
    let message = message.trim().trim_end_matches('.');
    let code = status
        .as_deref()
        .and_then(code_for_status)
        .or(match status.as_deref() {
            Some("invalid_grant" | "invalid_client" | "unauthorized_client" | "invalid_scope") => {
                Some(ErrorCode::AccessDenied)
            }
            _ => None,
        })
        .unwrap_or(ErrorCode::for_http_status(response.status));
    let mut error = Error::new(code, format!("{what} failed: {message}.")).with_http_status(response.status);
    if let Some(status) = status {
        error = error.with_provider_code(status);
    }
    error
}

/// The error of a finished long-running operation (`Operation.error`, a
/// `google.rpc.Status` whose `code` is a gRPC number).
pub(crate) fn operation_error(status: &Value, what: &str) -> Error {
    let name = status_name(status["code"].as_i64().unwrap_or(2));
    let message = status["message"].as_str().unwrap_or("no message").trim().trim_end_matches('.');
    Error::new(code_for_status(name).unwrap_or(ErrorCode::Provider), format!("{what} failed: {message}."))
        .with_provider_code(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_and_oauth_errors() {
        let e = error_from_response(
            &HttpResponse::new(
                409,
                r#"{"error":{"code":409,"message":"There were concurrent policy changes.","status":"ABORTED"}}"#,
            ),
            "setIamPolicy",
        );
        assert_eq!((e.code(), e.provider_code(), e.http_status()), (ErrorCode::Conflict, Some("ABORTED"), Some(409)));
        let e = error_from_response(
            &HttpResponse::new(400, r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#),
            "token",
        );
        assert_eq!((e.code(), e.provider_code()), (ErrorCode::AccessDenied, Some("invalid_grant")));
        let e = operation_error(&serde_json::json!({"code": 9, "message": "quota"}), "create");
        assert_eq!((e.code(), e.provider_code()), (ErrorCode::Conflict, Some("FAILED_PRECONDITION")));
        assert!(is_throttled(&HttpResponse::new(429, r#"{"error":{"status":"RESOURCE_EXHAUSTED"}}"#)));
    }
}
