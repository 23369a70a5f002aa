//! The one error type every operation and every surface reports.

use std::fmt;

use serde::de::DeserializeOwned;
use serde_json::Value;

/// The contract's error codes (`docs/API.md`, "Errors").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The caller's input (configuration, name, id, TTL, ...) is wrong.
    InvalidInput,
    /// The repository (or its policy) does not exist.
    NotFound,
    /// The thing to create exists already.
    AlreadyExists,
    /// The provider refused the credentials or the action.
    AccessDenied,
    /// The provider cannot do this at all (e.g. cross-account access on ACR).
    NotSupported,
    /// The provider's state conflicts with the request (e.g. a concurrent change).
    Conflict,
    /// The provider throttled the calls and retries did not get through.
    Throttled,
    /// The transport timed out.
    Timeout,
    /// The request never got a response (connection refused, DNS, TLS, ...).
    Transport,
    /// The provider failed in a way none of the above describes.
    Provider,
}

impl ErrorCode {
    /// Every code, in the contract's order.
    pub const ALL: [ErrorCode; 10] = [
        ErrorCode::InvalidInput,
        ErrorCode::NotFound,
        ErrorCode::AlreadyExists,
        ErrorCode::AccessDenied,
        ErrorCode::NotSupported,
        ErrorCode::Conflict,
        ErrorCode::Throttled,
        ErrorCode::Timeout,
        ErrorCode::Transport,
        ErrorCode::Provider,
    ];

    /// The code's kebab-case form, as in the JSON contract.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidInput => "invalid-input",
            ErrorCode::NotFound => "not-found",
            ErrorCode::AlreadyExists => "already-exists",
            ErrorCode::AccessDenied => "access-denied",
            ErrorCode::NotSupported => "not-supported",
            ErrorCode::Conflict => "conflict",
            ErrorCode::Throttled => "throttled",
            ErrorCode::Timeout => "timeout",
            ErrorCode::Transport => "transport",
            ErrorCode::Provider => "provider",
        }
    }

    /// The code an HTTP status means when a provider's body says nothing more
    /// specific.
    pub(crate) fn for_http_status(status: u16) -> ErrorCode {
        match status {
            400 => ErrorCode::InvalidInput,
            401 | 403 => ErrorCode::AccessDenied,
            404 => ErrorCode::NotFound,
            409 => ErrorCode::Conflict,
            429 => ErrorCode::Throttled,
            _ => ErrorCode::Provider,
        }
    }

    /// Parses the kebab-case form.
    pub fn parse(s: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure: a contract code, a message that says what to do, and where it came
/// from (HTTP status and the provider's own error code) when a provider answered.
///
/// Messages never hold secrets: provider messages pass through the operation's
/// redaction before they land here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    code: ErrorCode,
    message: String,
    http_status: Option<u16>,
    provider_code: Option<String>,
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error with a code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Error {
        Error { code, message: message.into(), http_status: None, provider_code: None }
    }

    /// An `invalid-input` error.
    pub fn invalid_input(message: impl Into<String>) -> Error {
        Error::new(ErrorCode::InvalidInput, message)
    }

    /// A `not-supported` error.
    pub fn not_supported(message: impl Into<String>) -> Error {
        Error::new(ErrorCode::NotSupported, message)
    }

    /// A `provider` error for an answer this crate could not make sense of.
    pub fn provider(message: impl Into<String>) -> Error {
        Error::new(ErrorCode::Provider, message)
    }

    /// Adds the HTTP status the provider answered with.
    pub fn with_http_status(mut self, status: u16) -> Error {
        self.http_status = Some(status);
        self
    }

    /// Adds the provider's own error code (e.g. `RepositoryNotFoundException`).
    pub fn with_provider_code(mut self, code: impl Into<String>) -> Error {
        self.provider_code = Some(code.into());
        self
    }

    /// The same error with another message (to add advice).
    pub(crate) fn with_message(mut self, message: impl Into<String>) -> Error {
        self.message = message.into();
        self
    }

    /// The contract code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// What happened and what to do about it.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The provider's HTTP status, when a provider answered.
    pub fn http_status(&self) -> Option<u16> {
        self.http_status
    }

    /// The provider's own error code, when it gave one.
    pub fn provider_code(&self) -> Option<&str> {
        self.provider_code.as_deref()
    }

    /// The same error with every occurrence of the given secrets replaced by `***`.
    pub(crate) fn redacted(mut self, secrets: &[String]) -> Error {
        self.message = crate::secret::redact(&self.message, secrets);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        match (self.http_status, &self.provider_code) {
            (Some(s), Some(c)) => write!(f, " (HTTP {s}, {c})"),
            (Some(s), None) => write!(f, " (HTTP {s})"),
            (None, Some(c)) => write!(f, " ({c})"),
            (None, None) => Ok(()),
        }
    }
}

impl std::error::Error for Error {}

/// Deserializes `value`, reporting errors as `invalid-input` at `prefix.path`.
pub(crate) fn parse_at<T: DeserializeOwned>(value: Value, prefix: &str) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let mut path = e.path().to_string();
        let inner = e.into_inner().to_string();
        // "missing field `x`" names the parent: point at the field itself.
        if let Some(field) = inner.strip_prefix("missing field `").and_then(|s| s.split('`').next()) {
            path = if path == "." { field.to_owned() } else { format!("{path}.{field}") };
        }
        let full = match (prefix.is_empty(), path == ".") {
            (true, _) => path,
            (false, true) => prefix.to_owned(),
            (false, false) => format!("{prefix}.{path}"),
        };
        Error::invalid_input(format!("invalid configuration at `{full}`: {}", describe(&inner)))
    })
}

/// serde's message without the offending value (which may be a secret).
fn describe(inner: &str) -> String {
    if let Some(rest) = inner.strip_prefix("invalid type: ") {
        let expected = rest.split_once(", expected ").map(|(_, e)| e).unwrap_or("another type");
        let found = rest.split([' ', ',']).next().unwrap_or("value");
        return format!("wrong type ({found}), expected {expected}");
    }
    if let Some(rest) = inner.strip_prefix("unknown field `") {
        let field = rest.split('`').next().unwrap_or("");
        return format!("unknown key `{field}`");
    }
    if inner.starts_with("missing field") {
        return "required key is missing".to_owned();
    }
    if let Some((_, expected)) = inner.split_once(", expected ") {
        return format!("invalid value, expected {expected}");
    }
    inner.split(" at line ").next().unwrap_or(inner).to_owned()
}
