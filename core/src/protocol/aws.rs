//! AWS error bodies: JSON (`__type`, `message`) and XML (`<Error><Code>`, `<Message>`)
//! forms, the `x-amzn-ErrorType` header, and what each code means in the contract.

use serde_json::Value;

use crate::engine::http::HttpResponse;
use crate::error::{Error, ErrorCode};
use crate::protocol::aws_xml as xml;

/// The error code and message of an AWS error body, JSON (`__type`, `message`) or
/// XML (`<Error><Code>`, `<Message>`), plus the `x-amzn-ErrorType` header.
pub(crate) fn parse_error(response: &HttpResponse) -> (Option<String>, Option<String>) {
    let text = response.text();
    let trimmed = text.trim_start();
    let (mut code, mut message) = (None, None);
    if trimmed.starts_with('{') {
        if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(trimmed) {
            code = map.get("__type").or_else(|| map.get("code")).and_then(Value::as_str).map(str::to_owned);
            message = map.get("message").or_else(|| map.get("Message")).and_then(Value::as_str).map(str::to_owned);
        }
    } else if trimmed.starts_with('<') {
        code = xml::first(trimmed, "Code");
        message = xml::first(trimmed, "Message");
    }
    if code.is_none() {
        code = response.header_value("x-amzn-ErrorType").map(str::to_owned);
    }
    // `com.amazonaws.ecr#RepositoryNotFoundException`, `Name:http://...` -> the name.
    let code = code.map(|c| {
        let c = c.rsplit('#').next().unwrap_or(&c);
        c.split(':').next().unwrap_or(c).to_owned()
    });
    (code, message)
}

/// Whether an AWS error body is a throttling error (retried like a 429).
pub(crate) fn is_throttled(response: &HttpResponse) -> bool {
    parse_error(response).0.as_deref().is_some_and(is_throttled_code)
}

/// Maps an AWS error answer to a typed error.
pub(crate) fn error_from_response(response: &HttpResponse, what: &str) -> Error {
    let (code, message) = parse_error(response);
    let message = message.unwrap_or_else(|| response.text().chars().take(300).collect());
    let message = message.trim().trim_end_matches('.');
    let kind = match (code.as_deref(), response.status) {
        (
            Some(
                "RepositoryNotFoundException"
                | "RepositoryPolicyNotFoundException"
                | "NoSuchEntity"
                | "ImageNotFoundException",
            ),
            _,
        ) => ErrorCode::NotFound,
        (Some("RepositoryAlreadyExistsException" | "EntityAlreadyExists"), _) => ErrorCode::AlreadyExists,
        (
            Some(
                "AccessDenied"
                | "AccessDeniedException"
                | "UnrecognizedClientException"
                | "InvalidClientTokenId"
                | "SignatureDoesNotMatch"
                | "ExpiredToken"
                | "ExpiredTokenException"
                | "IncompleteSignature"
                | "MissingAuthenticationToken"
                | "InvalidSignatureException",
            ),
            _,
        ) => ErrorCode::AccessDenied,
        (Some(c), _) if is_throttled_code(c) => ErrorCode::Throttled,
        (Some("RepositoryNotEmptyException" | "ConcurrentModificationException"), _) => ErrorCode::Conflict,
        (
            Some("InvalidParameterException" | "ValidationException" | "ValidationError" | "InvalidParameterValue"),
            _,
        ) => ErrorCode::InvalidInput,
        (_, 429) => ErrorCode::Throttled,
        (_, 401 | 403) => ErrorCode::AccessDenied,
        (_, 404) => ErrorCode::NotFound,
        _ => ErrorCode::Provider,
    };
    let advice = match kind {
        ErrorCode::AccessDenied => " Check the AWS credentials and that their policy allows this action.",
        ErrorCode::Throttled => " AWS throttled the calls; retries did not get through. Try again later.",
        _ => "",
    };
    let mut error = Error::new(kind, format!("{what} failed: {message}.{advice}")).with_http_status(response.status);
    if let Some(code) = code {
        error = error.with_provider_code(code);
    }
    error
}

fn is_throttled_code(code: &str) -> bool {
    matches!(
        code,
        "ThrottlingException"
            | "Throttling"
            | "ThrottledException"
            | "TooManyRequestsException"
            | "RequestLimitExceeded"
            | "SlowDown"
    )
}
