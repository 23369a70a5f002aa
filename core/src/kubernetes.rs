//! Image-pull secrets: a Kubernetes `Secret` of type `kubernetes.io/dockerconfigjson`
//! holding a login for one registry, what a pod's `imagePullSecrets` names. Built from
//! pull credentials by [`Client::image_pull_secret`](crate::Client::image_pull_secret);
//! the names are checked as the API server checks them, before any request.

use base64::Engine;
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::types::{AuthMethod, Credentials};

/// The annotation that says when the login in the Secret stops working (RFC 3339).
pub const EXPIRES_AT_ANNOTATION: &str = "artifact-registry/expires-at";

/// Which Secret to make: its name and, optionally, its namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretName {
    /// `metadata.name`: a DNS subdomain (RFC 1123), as Kubernetes requires.
    pub name: String,
    /// `metadata.namespace`: a DNS label; `None` leaves it to the client's context.
    pub namespace: Option<String>,
}

fn is_label(s: &str) -> bool {
    let bytes = s.as_bytes();
    !s.is_empty()
        && s.len() <= 63
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

impl SecretName {
    /// Checks both names as the API server does; `invalid-input` naming the field.
    pub fn checked(name: &str, namespace: Option<&str>) -> Result<SecretName> {
        if name.len() > 253 || !name.split('.').all(is_label) {
            return Err(Error::invalid_input(format!(
                "secret name {name:?} is not a DNS subdomain (lower-case letters, digits, '-' and '.', at most 253 characters)"
            )));
        }
        if let Some(ns) = namespace.filter(|ns| !is_label(ns)) {
            return Err(Error::invalid_input(format!(
                "namespace {ns:?} is not a DNS label (lower-case letters, digits and '-', at most 63 characters)"
            )));
        }
        Ok(SecretName { name: name.to_owned(), namespace: namespace.map(str::to_owned) })
    }
}

/// The Secret (as its JSON manifest) for `credentials` at `registry_host`. Bearer
/// credentials are refused: a dockerconfigjson entry is a login, and a registry
/// token scoped to one repository is none.
pub fn image_pull_secret(target: &SecretName, registry_host: &str, credentials: &Credentials) -> Result<Value> {
    if credentials.auth_method == AuthMethod::Bearer {
        return Err(Error::invalid_input(
            "this binding hands out repository-scoped bearer tokens, which an image pull secret (a login) cannot carry: on ACR set \"scopeMapTokens\": true (or \"unscopedCredentials\": true for the registry refresh token); a local registry needs Basic auth and \"unscopedCredentials\": true",
        ));
    }
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let (user, password) = (&credentials.username, credentials.password.expose());
    let docker_config = json!({ "auths": { registry_host: {
        "username": user, "password": password, "auth": b64(&format!("{user}:{password}")) } } });
    let mut metadata = json!({ "name": target.name });
    if let Some(ns) = &target.namespace {
        metadata["namespace"] = json!(ns);
    }
    if let Some(at) = &credentials.expires_at {
        metadata["annotations"] = json!({ EXPIRES_AT_ANNOTATION: at });
    }
    Ok(json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": "kubernetes.io/dockerconfigjson",
        "data": { ".dockerconfigjson": b64(&docker_config.to_string()) },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Secret;

    fn creds(method: AuthMethod) -> Credentials {
        Credentials {
            auth_method: method,
            username: "AWS".into(),
            password: Secret::new("t0ken".to_owned()),
            expires_at: Some("2026-12-06T12:00:00+00:00".into()),
        }
    }

    #[test]
    fn a_secret_kubernetes_and_docker_read() {
        let target = SecretName::checked("ecr-pull", Some("apps")).unwrap();
        let secret =
            image_pull_secret(&target, "123456789012.dkr.ecr.us-east-1.amazonaws.com", &creds(AuthMethod::Basic))
                .unwrap();
        assert_eq!(secret["type"], "kubernetes.io/dockerconfigjson");
        assert_eq!(secret["metadata"]["namespace"], "apps");
        assert_eq!(secret["metadata"]["annotations"][EXPIRES_AT_ANNOTATION], "2026-12-06T12:00:00+00:00");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(secret["data"][".dockerconfigjson"].as_str().unwrap())
            .unwrap();
        let config: Value = serde_json::from_slice(&decoded).unwrap();
        let auth = &config["auths"]["123456789012.dkr.ecr.us-east-1.amazonaws.com"];
        assert_eq!((auth["username"].as_str(), auth["password"].as_str()), (Some("AWS"), Some("t0ken")));
        assert_eq!(auth["auth"], "QVdTOnQwa2Vu"); // base64("AWS:t0ken")
        let bearer = image_pull_secret(&target, "r", &creds(AuthMethod::Bearer)).unwrap_err();
        assert_eq!(bearer.code(), crate::ErrorCode::InvalidInput);
    }

    #[test]
    fn names_are_checked_as_the_api_server_does() {
        for ok in ["a", "ecr-pull", "pull.ecr.v1", &"a".repeat(63)] {
            SecretName::checked(ok, Some("default")).unwrap();
        }
        for bad in ["", "Pull", "-a", "a-", "a..b", "a_b", &"a".repeat(64), &format!("{}.a", "a.".repeat(126))] {
            assert!(SecretName::checked(bad, None).is_err(), "{bad}");
        }
        for bad in ["", "Apps", "a.b", &"a".repeat(64)] {
            assert!(SecretName::checked("ok", Some(bad)).is_err(), "{bad}");
        }
    }
}
