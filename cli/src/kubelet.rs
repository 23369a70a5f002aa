//! The kubelet's image credential provider protocol
//! (`credentialprovider.kubelet.k8s.io/v1`, and the `v1beta1`/`v1alpha1` forms older
//! kubelets send): a `CredentialProviderRequest` on stdin, a
//! `CredentialProviderResponse` on stdout, errors on stderr with a non-zero exit.
//!
//! The image's host picks the binding as for the docker helper ([`crate::logins`]),
//! and the image's repository is the repository the credentials are made for, so a
//! node gets a login for exactly the repository it pulls. What is honoured:
//! - `image` (required): `host[:port]/path[:tag][@digest]`;
//! - the answer's `auth` is keyed `host/path` (the kubelet tries it for images under
//!   that path), `cacheKeyType` is `Image` (credentials are per repository), and
//!   `cacheDuration` runs to five minutes before the login's real expiry (`0s`, no
//!   caching, when the provider gives no expiry);
//! - an image whose host no binding serves gets an answer with no `auth`, so that the
//!   kubelet goes on with its other providers or anonymously;
//! - `serviceAccountToken` and `serviceAccountAnnotations` (Kubernetes 1.33+): the
//!   pod's own identity. On ECR the token assumes the role of the service account's
//!   `artifact-registry/aws-role-arn` annotation; on GAR it is exchanged at the
//!   workload identity provider of `artifact-registry/gcp-workload-identity-provider`,
//!   then `artifact-registry/gcp-service-account` is impersonated; on ACR it is the
//!   federated client assertion of `artifact-registry/azure-client-id` (or AKS's
//!   `azure.workload.identity/client-id`); a local binding refuses a token rather
//!   than pull with the node's wider identity ([`crate::logins`], docs/kubernetes.md).

use serde_json::{Value, json};

use crate::logins::{self, REFRESH_MARGIN_SECS};

/// The API versions a kubelet may speak; the answer uses the request's.
const API_VERSIONS: [&str; 3] = [
    "credentialprovider.kubelet.k8s.io/v1",
    "credentialprovider.kubelet.k8s.io/v1beta1",
    "credentialprovider.kubelet.k8s.io/v1alpha1",
];

/// An image reference's registry host and repository path (tag and digest dropped).
/// A first component without `.` or `:` that is not `localhost` is a Docker Hub path.
pub fn split_image(image: &str) -> Result<(String, String), String> {
    let bad = || format!("the image {image:?} is not a reference of the form host/repository[:tag][@digest]");
    let name = image.split('@').next().unwrap_or("");
    let Some((host, path)) =
        name.split_once('/').filter(|(h, _)| h.contains('.') || h.contains(':') || *h == "localhost")
    else {
        // Docker Hub (`nginx`, `library/nginx:1`): no binding serves it.
        let path = name.rsplit_once(':').map_or(name, |(p, _)| p);
        if path.is_empty() || path.starts_with('/') {
            return Err(bad());
        }
        return Ok(("docker.io".into(), path.into()));
    };
    // A tag is a `:` after the last `/`.
    let path = match path.rsplit_once(':') {
        Some((p, tag)) if !tag.contains('/') => p,
        _ => path,
    };
    if host.is_empty() || path.is_empty() || path.split('/').any(str::is_empty) {
        return Err(bad());
    }
    Ok((host.to_ascii_lowercase(), path.to_owned()))
}

/// A Go `time.Duration` string for whole seconds (`1h54m0s`).
fn go_duration(seconds: i64) -> String {
    let s = seconds.max(0);
    format!("{}h{}m{}s", s / 3600, s % 3600 / 60, s % 60)
}

/// Answers one request (its JSON text) with the response's JSON text.
pub async fn respond(request: &str) -> Result<String, String> {
    let request: Value = serde_json::from_str(request).map_err(|e| format!("the request on stdin is not JSON: {e}"))?;
    let api_version = request["apiVersion"].as_str().unwrap_or("");
    if !API_VERSIONS.contains(&api_version) {
        return Err(format!("apiVersion {api_version:?} is not one of {}", API_VERSIONS.join(", ")));
    }
    if request["kind"] != "CredentialProviderRequest" {
        return Err(format!("kind {} is not CredentialProviderRequest", request["kind"]));
    }
    let pod = request["serviceAccountToken"].as_str().filter(|t| !t.is_empty()).map(|token| logins::PodIdentity {
        token: artifact_registry_core::Secret::new(token.to_owned()),
        annotations: request["serviceAccountAnnotations"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
            .collect(),
    });
    let image = request["image"].as_str().ok_or("the request has no image")?;
    let (host, repository) = split_image(image)?;
    let response = |cache_key_type: &str, duration: i64, auth: Value| {
        json!({ "apiVersion": api_version, "kind": "CredentialProviderResponse",
                "cacheKeyType": cache_key_type, "cacheDuration": go_duration(duration), "auth": auth })
        .to_string()
    };
    if !logins::entries()?.contains_key(&host) {
        eprintln!("artifact-registry: no binding serves {host}; answering without credentials");
        return Ok(response("Registry", 0, json!({})));
    }
    let login = logins::login(&host, Some(&repository), pod.as_ref()).await?;
    let duration = login.expires_at.map_or(0, |t| t.unix_seconds() - logins::now() - REFRESH_MARGIN_SECS);
    let key = format!("{host}/{repository}");
    let auth = json!({ key: { "username": login.username, "password": login.secret.expose() } });
    Ok(response("Image", duration, auth))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references() {
        let split = |i: &str| split_image(i).map(|(h, p)| format!("{h} {p}"));
        assert_eq!(
            split("123456789012.dkr.ecr.us-east-1.amazonaws.com/acme-app:v1").unwrap(),
            "123456789012.dkr.ecr.us-east-1.amazonaws.com acme-app"
        );
        assert_eq!(split("127.0.0.1:5000/team/app@sha256:abc").unwrap(), "127.0.0.1:5000 team/app");
        assert_eq!(split("us-docker.pkg.dev/p/r/img:1.0@sha256:abc").unwrap(), "us-docker.pkg.dev p/r/img");
        assert_eq!(split("localhost/app").unwrap(), "localhost app");
        assert_eq!(split("library/nginx:1").unwrap(), "docker.io library/nginx");
        assert_eq!(split("Acme.azurecr.io/team-a/web").unwrap(), "acme.azurecr.io team-a/web");
        assert_eq!(split("nginx").unwrap(), "docker.io nginx");
        for bad in ["host.io/", "host.io//x", "/x", ""] {
            assert!(split(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_as_go_prints_them() {
        assert_eq!(go_duration(6840), "1h54m0s");
        assert_eq!(go_duration(59), "0h0m59s");
        assert_eq!(go_duration(-5), "0h0m0s");
    }
}
