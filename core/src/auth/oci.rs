//! Registry authentication for OCI distribution registries: the credentials a
//! client presents (anonymous, HTTP Basic, a bearer token) and the
//! `WWW-Authenticate` challenges a registry answers with. The token request itself is
//! part of the conversation in [`crate::oci`].

use base64::Engine;

use crate::engine::time::Timestamp;
use crate::secret::Secret;
use crate::types::{AuthMethod, Credentials};

/// How to authenticate to the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OciAuth {
    /// No credentials (a Bearer challenge is still answered, anonymously).
    Anonymous,
    /// HTTP Basic (also used to ask a Bearer realm for tokens).
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: Secret,
    },
    /// A bearer token obtained before.
    Bearer(Secret),
}

impl OciAuth {
    /// The auth that [`Credentials`] describe.
    pub fn from_credentials(c: &Credentials) -> OciAuth {
        match c.auth_method {
            AuthMethod::Bearer => OciAuth::Bearer(c.password.clone()),
            AuthMethod::Basic if c.username.is_empty() && c.password.expose().is_empty() => OciAuth::Anonymous,
            AuthMethod::Basic => OciAuth::Basic { username: c.username.clone(), password: c.password.clone() },
        }
    }

    pub(crate) fn header(&self) -> Option<String> {
        match self {
            OciAuth::Anonymous => None,
            OciAuth::Basic { username, password } => Some(basic_header(username, password)),
            OciAuth::Bearer(token) => Some(format!("Bearer {}", token.expose())),
        }
    }

    pub(crate) fn secrets(&self) -> Vec<String> {
        match self {
            OciAuth::Anonymous => Vec::new(),
            OciAuth::Basic { password, .. } | OciAuth::Bearer(password) => vec![password.expose().to_owned()],
        }
    }
}

fn basic_header(username: &str, password: &Secret) -> String {
    let raw = format!("{username}:{}", password.expose());
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(raw))
}

/// A `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    Basic,
    Bearer { realm: String, service: Option<String> },
}

/// Parses `Basic realm="x"` or `Bearer realm="https://..",service="..",scope=".."`.
pub(crate) fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, params) = header.split_once(' ').unwrap_or((header, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let (mut realm, mut service) = (None, None);
    let mut rest = params.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let (value, after) = match after.strip_prefix('"') {
            Some(quoted) => {
                let end = quoted.find('"')?;
                (&quoted[..end], &quoted[end + 1..])
            }
            None => after.split_once(',').unwrap_or((after, "")),
        };
        match key.trim().to_ascii_lowercase().as_str() {
            "realm" => realm = Some(value.to_owned()),
            "service" => service = Some(value.to_owned()),
            _ => {}
        }
        rest = after.trim_start_matches([',', ' ']);
    }
    Some(Challenge::Bearer { realm: realm?, service })
}

/// A registry token and when it expires.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub token: Secret,
    pub expires_at: Timestamp,
}
