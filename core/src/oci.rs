//! The OCI distribution API, sans-IO: blob uploads, manifests, tags, and the
//! registry auth dance (HTTP Basic, or a `WWW-Authenticate: Bearer` challenge answered
//! with a token from the realm). The local provider is built on it, and
//! [`OciClient`] offers it directly, e.g. to push an image with generated credentials.
//!
//! Uploads are `POST` (open a session), `PATCH` (the whole blob), then `PUT ?digest=`
//! with an empty body: every distribution registry accepts that order, including
//! embedded ones that reject a body on the final `PUT`.

use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::engine::http::{HttpRequest, HttpResponse, UrlParts, percent_encode};
use crate::engine::operation::{Exchange, Operation};
use crate::engine::retry::RetryPolicy;
use crate::engine::time::Timeouts;
use crate::engine::time::Timestamp;
use crate::error::{Error, ErrorCode, Result};
use crate::naming;
use crate::secret::Secret;

pub use crate::auth::oci::OciAuth;
pub(crate) use crate::auth::oci::{Challenge, Token, parse_challenge};

/// OCI image manifest media type.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image config media type.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// Every manifest type a `GET` accepts.
const ACCEPT_MANIFESTS: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";

/// `sha256:<hex>` of some bytes.
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", crate::auth::aws::sigv4::hex(&Sha256::digest(bytes)))
}

/// Maps a registry error answer (`{"errors":[{"code","message"}]}`) to a typed error.
pub(crate) fn error_from_response(response: &HttpResponse, what: &str) -> Error {
    let body: Option<Value> = serde_json::from_slice(&response.body).ok();
    let first = body.as_ref().and_then(|b| b["errors"].get(0).cloned());
    let code = first.as_ref().and_then(|e| e["code"].as_str().map(str::to_owned));
    let message = first
        .as_ref()
        .and_then(|e| e["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| response.text().trim().chars().take(200).collect());
    let kind = match (code.as_deref(), response.status) {
        (Some("NAME_UNKNOWN" | "MANIFEST_UNKNOWN" | "BLOB_UNKNOWN" | "BLOB_UPLOAD_UNKNOWN"), _) | (_, 404) => {
            ErrorCode::NotFound
        }
        (Some("UNAUTHORIZED" | "DENIED"), _) | (_, 401 | 403) => ErrorCode::AccessDenied,
        (Some("UNSUPPORTED"), _) | (_, 405) => ErrorCode::NotSupported,
        (Some("TOOMANYREQUESTS"), _) | (_, 429) => ErrorCode::Throttled,
        (Some("NAME_INVALID" | "TAG_INVALID" | "DIGEST_INVALID" | "MANIFEST_INVALID" | "SIZE_INVALID"), _) => {
            ErrorCode::InvalidInput
        }
        _ => ErrorCode::Provider,
    };
    let message = if message.is_empty() { format!("HTTP {}", response.status) } else { message };
    let advice = match kind {
        ErrorCode::AccessDenied => " Check the registry credentials (local.credentials) and what they may do.",
        _ => "",
    };
    let mut e = Error::new(kind, format!("{what} failed: {message}.{advice}")).with_http_status(response.status);
    if let Some(code) = code {
        e = e.with_provider_code(code);
    }
    e
}

fn never_throttled(_: &HttpResponse) -> bool {
    false
}

/// One conversation with a registry about one repository: remembers the bearer
/// token it got for `scope`, so only the first request pays for the challenge.
pub(crate) struct Session<'a> {
    ex: &'a Exchange,
    base: &'a str,
    auth: &'a OciAuth,
    scope: String,
    bearer: Option<Token>,
}

impl<'a> Session<'a> {
    /// `actions` like `pull` or `pull,push` on `repository`.
    pub fn new(ex: &'a Exchange, base: &'a str, auth: &'a OciAuth, repository: &str, actions: &str) -> Session<'a> {
        Session { ex, base, auth, scope: format!("repository:{repository}:{actions}"), bearer: None }
    }

    fn url(&self, path_or_url: &str) -> String {
        if path_or_url.contains("://") { path_or_url.to_owned() } else { format!("{}{path_or_url}", self.base) }
    }

    /// Sends a request (relative paths are resolved against the registry), answering
    /// a Bearer challenge once. Any status comes back; only transport failures err.
    pub async fn send(
        &mut self,
        method: &str,
        path_or_url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<HttpResponse> {
        let url = self.url(path_or_url);
        let response = self.send_once(method, &url, headers, body).await?;
        if response.status != 401 || self.bearer.is_some() || matches!(self.auth, OciAuth::Bearer(_)) {
            return Ok(response);
        }
        match response.header_value("www-authenticate").and_then(parse_challenge) {
            Some(Challenge::Bearer { realm, service }) => {
                self.bearer = Some(self.fetch_token(&realm, service.as_deref()).await?);
                self.send_once(method, &url, headers, body).await
            }
            _ => Ok(response),
        }
    }

    async fn send_once(&self, method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Result<HttpResponse> {
        // Credentials go to the registry itself only: never to another scheme, host or
        // port (an upload `Location` or a redirect to blob storage).
        let auth = match &self.bearer {
            _ if !same_origin(url, self.base) => None,
            Some(t) => Some(format!("Bearer {}", t.token.expose())),
            None => self.auth.header(),
        };
        self.ex
            .call(
                |_| {
                    let mut request = HttpRequest::new(method, url);
                    for (k, v) in headers {
                        request = request.header(k, *v);
                    }
                    if let Some(a) = &auth {
                        request = request.header("Authorization", a.clone());
                    }
                    Ok(request.body(body.to_vec()))
                },
                never_throttled,
            )
            .await
    }

    /// Asks the realm for a token for this session's scope (Basic auth when the
    /// session has a user and password).
    pub async fn fetch_token(&self, realm: &str, service: Option<&str>) -> Result<Token> {
        naming::validate_endpoint_url(realm)
            .map_err(|_| Error::provider(format!("the registry's token realm {realm:?} is not an http(s) URL")))?;
        let mut url = realm.to_owned();
        let mut sep = if url.contains('?') { '&' } else { '?' };
        if let Some(service) = service {
            url.push_str(&format!("{sep}service={}", percent_encode(service, false)));
            sep = '&';
        }
        url.push_str(&format!("{sep}scope={}", percent_encode(&self.scope, false)));
        // The password goes to the realm over HTTPS, or over plain HTTP only to the
        // registry's own host (a local token server beside it); never in the clear to
        // another host.
        let realm_is_safe = realm.starts_with("https://") || same_host(realm, self.base);
        let auth = match self.auth {
            OciAuth::Basic { .. } if realm_is_safe => self.auth.header(),
            _ => None,
        };
        let response = self
            .ex
            .call(
                |_| {
                    let mut r = HttpRequest::new("GET", url.clone()).header("Accept", "application/json");
                    if let Some(a) = &auth {
                        r = r.header("Authorization", a.clone());
                    }
                    Ok(r)
                },
                never_throttled,
            )
            .await?;
        if !response.is_success() {
            return Err(error_from_response(&response, &format!("getting a registry token from {realm}")));
        }
        let body: Value = serde_json::from_slice(&response.body)
            .map_err(|_| Error::provider(format!("the token realm {realm} answered with a body that is not JSON")))?;
        let token = body["token"]
            .as_str()
            .or_else(|| body["access_token"].as_str())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::provider(format!("the token realm {realm} answered without a token")))?;
        self.ex.add_secret(token);
        // The distribution token spec: expires_in defaults to 60 seconds, counted
        // from issued_at when the server gives it.
        let issued = body["issued_at"].as_str().and_then(Timestamp::parse_rfc3339).unwrap_or_else(|| self.ex.now());
        let lifetime = body["expires_in"].as_u64().filter(|s| *s > 0).unwrap_or(60);
        Ok(Token { token: Secret::new(token), expires_at: issued.plus(Duration::from_secs(lifetime)) })
    }

    /// Uploads a blob unless the registry has it; returns its digest.
    pub async fn push_blob(&mut self, repository: &str, bytes: &[u8]) -> Result<String> {
        let digest = digest(bytes);
        let head = self.send("HEAD", &format!("/v2/{repository}/blobs/{digest}"), &[], &[]).await?;
        if head.is_success() {
            return Ok(digest);
        }
        let started =
            self.send("POST", &format!("/v2/{repository}/blobs/uploads/"), &[("Content-Length", "0")], &[]).await?;
        if started.status != 202 {
            return Err(error_from_response(&started, &format!("starting a blob upload to {repository}")));
        }
        let location = self.location(&started, "blob upload")?;
        let length = bytes.len().to_string();
        let range = format!("0-{}", bytes.len().saturating_sub(1));
        let patched = self
            .send(
                "PATCH",
                &location,
                &[("Content-Type", "application/octet-stream"), ("Content-Length", &length), ("Content-Range", &range)],
                bytes,
            )
            .await?;
        if !matches!(patched.status, 202 | 204) {
            return Err(error_from_response(&patched, &format!("uploading a blob to {repository}")));
        }
        let location = self.location(&patched, "blob upload")?;
        let sep = if location.contains('?') { '&' } else { '?' };
        let done =
            self.send("PUT", &format!("{location}{sep}digest={digest}"), &[("Content-Length", "0")], &[]).await?;
        if done.status != 201 {
            return Err(error_from_response(&done, &format!("finishing a blob upload to {repository}")));
        }
        check_digest(&done, &digest)?;
        Ok(digest)
    }

    fn location(&self, response: &HttpResponse, what: &str) -> Result<String> {
        let location = response
            .header_value("location")
            .ok_or_else(|| Error::provider(format!("the registry answered a {what} without a Location header")))?;
        Ok(self.url(location))
    }

    /// Puts a manifest under a tag or digest; returns its digest.
    pub async fn put_manifest(
        &mut self,
        repository: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<String> {
        let digest = digest(bytes);
        let answer = self
            .send("PUT", &format!("/v2/{repository}/manifests/{reference}"), &[("Content-Type", media_type)], bytes)
            .await?;
        if answer.status != 201 {
            return Err(error_from_response(&answer, &format!("putting manifest {repository}:{reference}")));
        }
        check_digest(&answer, &digest)?;
        Ok(digest)
    }

    /// Gets a manifest; `None` when the registry does not have it.
    pub async fn get_manifest(&mut self, repository: &str, reference: &str) -> Result<Option<Manifest>> {
        let answer = self
            .send("GET", &format!("/v2/{repository}/manifests/{reference}"), &[("Accept", ACCEPT_MANIFESTS)], &[])
            .await?;
        if answer.status == 404 {
            return Ok(None);
        }
        if !answer.is_success() {
            return Err(error_from_response(&answer, &format!("getting manifest {repository}:{reference}")));
        }
        let digest = digest(&answer.body);
        // Some registries leave out Docker-Content-Digest on GET; when present it
        // must match what arrived.
        check_digest(&answer, &digest)?;
        Ok(Some(Manifest {
            media_type: answer.header_value("content-type").unwrap_or(OCI_MANIFEST).to_owned(),
            digest,
            bytes: answer.body,
        }))
    }

    /// The repository's tags; `None` when the registry has no tags endpoint (or no
    /// such repository).
    pub async fn tags(&mut self, repository: &str) -> Result<Option<Vec<String>>> {
        let answer = self.send("GET", &format!("/v2/{repository}/tags/list"), &[], &[]).await?;
        if matches!(answer.status, 404 | 405) {
            return Ok(None);
        }
        if !answer.is_success() {
            return Err(error_from_response(&answer, &format!("listing the tags of {repository}")));
        }
        let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
        Ok(Some(
            body["tags"]
                .as_array()
                .map(|t| t.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect())
                .unwrap_or_default(),
        ))
    }

    /// Deletes a manifest by digest. `Ok(false)` when the registry does not allow
    /// deletes (405 / `UNSUPPORTED`).
    pub async fn delete_manifest(&mut self, repository: &str, digest: &str) -> Result<bool> {
        let answer = self.send("DELETE", &format!("/v2/{repository}/manifests/{digest}"), &[], &[]).await?;
        match answer.status {
            200..=299 | 404 => Ok(true),
            _ => {
                let e = error_from_response(&answer, &format!("deleting {repository}@{digest}"));
                if e.code() == ErrorCode::NotSupported { Ok(false) } else { Err(e) }
            }
        }
    }

    /// Checks the registry's answer to `GET /v2/`: `Ok(None)` when no auth is asked
    /// for (or the session's auth is accepted), else the challenge.
    pub async fn probe(&self) -> Result<Option<Challenge>> {
        let url = self.url("/v2/");
        let answer = self.send_once("GET", &url, &[], &[]).await?;
        if answer.is_success() {
            return Ok(None);
        }
        if answer.status == 401
            && let Some(c) = answer.header_value("www-authenticate").and_then(parse_challenge)
        {
            return Ok(Some(c));
        }
        Err(error_from_response(&answer, "checking the registry (GET /v2/)"))
    }
}

/// Whether two absolute URLs have the same scheme, host and port.
pub(crate) fn same_origin(a: &str, b: &str) -> bool {
    let origin = |u: &str| {
        UrlParts::parse(u).map(|p| {
            let default = if p.scheme.eq_ignore_ascii_case("https") { "443" } else { "80" };
            let (host, port) = match p.authority.rsplit_once(':') {
                Some((h, port)) if !h.ends_with(']') || port.bytes().all(|b| b.is_ascii_digit()) => {
                    (h.to_ascii_lowercase(), port.to_owned())
                }
                _ => (p.authority.to_ascii_lowercase(), default.to_owned()),
            };
            (p.scheme.to_ascii_lowercase(), host, port)
        })
    };
    matches!((origin(a), origin(b)), (Some(x), Some(y)) if x == y)
}

/// Whether two absolute URLs name the same host (any port or scheme).
fn same_host(a: &str, b: &str) -> bool {
    let host = |u: &str| {
        UrlParts::parse(u).map(|p| match p.authority.rsplit_once(':') {
            Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h.to_ascii_lowercase(),
            _ => p.authority.to_ascii_lowercase(),
        })
    };
    matches!((host(a), host(b)), (Some(x), Some(y)) if x == y)
}

fn check_digest(response: &HttpResponse, expected: &str) -> Result<()> {
    match response.header_value("docker-content-digest") {
        Some(got) if got != expected => Err(Error::provider(format!(
            "the registry reports digest {got} for content whose digest is {expected}; the upload may be corrupt"
        ))),
        _ => Ok(()),
    }
}

/// A manifest as the registry stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Its media type.
    pub media_type: String,
    /// `sha256:...` of its bytes.
    pub digest: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// A sans-IO client for one registry: push blobs and manifests, read manifests,
/// with given credentials (e.g. ones from `generate_credentials`).
#[derive(Debug)]
pub struct OciClient {
    base: String,
    auth: OciAuth,
    retry: RetryPolicy,
}

impl OciClient {
    /// A client for `endpoint` (`http://host:port` or `host:port`).
    pub fn new(endpoint: &str, auth: OciAuth) -> Result<OciClient> {
        naming::validate_registry_url(endpoint)?;
        let base = if endpoint.contains("://") { endpoint.to_owned() } else { format!("http://{endpoint}") };
        Ok(OciClient { base: base.trim_end_matches('/').to_owned(), auth, retry: RetryPolicy::default() })
    }

    fn op<T: Send + 'static, Fut>(&self, body: impl FnOnce(Exchange, String, OciAuth) -> Fut) -> Operation<T>
    where
        Fut: std::future::Future<Output = Result<T>> + Send + 'static,
    {
        let (base, auth) = (self.base.clone(), self.auth.clone());
        let secrets = auth.secrets();
        Operation::new(self.retry, Timeouts::default(), 0x0C1, secrets, move |ex| body(ex, base, auth))
    }

    /// Uploads a blob (skipped when present); yields its digest.
    pub fn push_blob(&self, repository: &str, bytes: Vec<u8>) -> Operation<String> {
        if let Err(e) = naming::validate_oci_repository(repository) {
            return Operation::ready(Err(e));
        }
        let repository = repository.to_owned();
        self.op(move |ex, base, auth| async move {
            Session::new(&ex, &base, &auth, &repository, "pull,push").push_blob(&repository, &bytes).await
        })
    }

    /// Puts a manifest under `reference` (a tag or digest); yields its digest.
    pub fn push_manifest(
        &self,
        repository: &str,
        reference: &str,
        media_type: &str,
        bytes: Vec<u8>,
    ) -> Operation<String> {
        if let Err(e) = naming::validate_oci_repository(repository) {
            return Operation::ready(Err(e));
        }
        let (repository, reference, media_type) = (repository.to_owned(), reference.to_owned(), media_type.to_owned());
        self.op(move |ex, base, auth| async move {
            Session::new(&ex, &base, &auth, &repository, "pull,push")
                .put_manifest(&repository, &reference, &media_type, &bytes)
                .await
        })
    }

    /// Gets a manifest; `not-found` when it is not there.
    pub fn get_manifest(&self, repository: &str, reference: &str) -> Operation<Manifest> {
        if let Err(e) = naming::validate_oci_repository(repository) {
            return Operation::ready(Err(e));
        }
        let (repository, reference) = (repository.to_owned(), reference.to_owned());
        self.op(move |ex, base, auth| async move {
            Session::new(&ex, &base, &auth, &repository, "pull")
                .get_manifest(&repository, &reference)
                .await?
                .ok_or_else(|| Error::new(ErrorCode::NotFound, format!("{repository}:{reference} does not exist")))
        })
    }
}

/// An OCI image manifest for a config blob and layers (`(media type, digest, size)`).
pub fn image_manifest(
    config: (&str, &str, usize),
    layers: &[(&str, &str, usize)],
    annotations: &[(&str, &str)],
) -> Vec<u8> {
    let descriptor = |(media, digest, size): (&str, &str, usize)| serde_json::json!({ "mediaType": media, "digest": digest, "size": size });
    let mut manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(config),
        "layers": layers.iter().map(|l| descriptor(*l)).collect::<Vec<_>>(),
    });
    if !annotations.is_empty() {
        manifest["annotations"] =
            annotations.iter().map(|(k, v)| (k.to_string(), Value::from(*v))).collect::<serde_json::Map<_, _>>().into();
    }
    serde_json::to_vec(&manifest).expect("a manifest serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        assert_eq!(parse_challenge(r#"Basic realm="Registry Realm""#), Some(Challenge::Basic));
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="http://127.0.0.1:1/token",service="reg,istry",scope="repository:a/b:pull,push""#
            ),
            Some(Challenge::Bearer { realm: "http://127.0.0.1:1/token".into(), service: Some("reg,istry".into()) })
        );
        assert_eq!(
            parse_challenge("Bearer realm=http://x/token,service=svc"),
            Some(Challenge::Bearer { realm: "http://x/token".into(), service: Some("svc".into()) })
        );
        assert_eq!(parse_challenge("Bearer service=\"x\""), None);
        assert_eq!(parse_challenge("Negotiate"), None);
    }

    #[test]
    fn origins() {
        assert!(super::same_origin("http://r:5000/v2/a", "http://r:5000"));
        assert!(super::same_origin("https://R/v2/", "https://r:443"));
        assert!(!super::same_origin("http://r:5001/x", "http://r:5000"));
        assert!(!super::same_origin("https://r:5000/x", "http://r:5000"));
        assert!(!super::same_origin("http://blobs.example/x", "http://r:5000"));
        assert!(super::same_host("http://r:5001/token", "http://r:5000"));
        assert!(!super::same_host("http://other/token", "http://r:5000"));
    }

    #[test]
    fn digests() {
        assert_eq!(digest(b"{}"), "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
    }
}
