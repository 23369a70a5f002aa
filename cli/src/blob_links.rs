//! Repository-scoped blobs for the embedded registry.
//!
//! ferro's blob store is one content-addressed store for every repository, and ferro
//! checks only that a name is valid: a token for one repository could read, or
//! delete, another's layer by naming its digest. So the registry records which blobs
//! each repository holds (a blob upload, a mount, and, for data directories written
//! before this record existed, the blobs their manifests reference), keeps the record
//! beside the metadata (`blob-links.json`), and checks it on every blob request:
//!
//! - `GET`/`HEAD` of a blob the repository does not hold is `404 BLOB_UNKNOWN`;
//! - `DELETE` unlinks the blob from that repository only; the bytes go when no
//!   repository holds them any more;
//! - a mount needs the blob in `from` (whose pull the auth layer checked), and links it;
//! - a manifest may reference only blobs its repository holds
//!   (`400 MANIFEST_BLOB_UNKNOWN` otherwise), so a manifest cannot claim another
//!   repository's layer.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The OCI empty descriptor (`{}`): every registry serves it, so no repository needs
/// to hold it.
const EMPTY_DESCRIPTOR: &str = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
/// The largest manifest read to check its references (the spec's advice is 4 MiB).
const MAX_MANIFEST: usize = 4 << 20;

/// Which blobs each repository holds, mirrored to `blob-links.json`.
pub struct BlobLinks {
    path: PathBuf,
    links: Mutex<BTreeMap<String, BTreeSet<String>>>,
}

impl BlobLinks {
    /// The record of `data_dir`: read back, or (a data directory from before it
    /// existed) built from the manifests in ferro's `metadata.json`.
    pub fn open(data_dir: &Path) -> std::io::Result<BlobLinks> {
        let path = data_dir.join("blob-links.json");
        let links = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| std::io::Error::other(format!("{} is not a blob record: {e}", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => from_metadata(&data_dir.join("metadata.json")),
            Err(e) => return Err(e),
        };
        let record = BlobLinks { path, links: Mutex::new(links) };
        record.save()?;
        Ok(record)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, BTreeSet<String>>> {
        self.links.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `repository` holds `digest`.
    pub fn holds(&self, repository: &str, digest: &str) -> bool {
        digest == EMPTY_DESCRIPTOR || self.lock().get(repository).is_some_and(|d| d.contains(digest))
    }

    fn link(&self, repository: &str, digest: &str) -> std::io::Result<()> {
        if self.lock().entry(repository.to_owned()).or_default().insert(digest.to_owned()) {
            self.save()?;
        }
        Ok(())
    }

    /// Unlinks; whether another repository still holds the blob.
    fn unlink(&self, repository: &str, digest: &str) -> std::io::Result<bool> {
        let still_held = {
            let mut links = self.lock();
            if let Some(digests) = links.get_mut(repository) {
                digests.remove(digest);
            }
            links.values().any(|d| d.contains(digest))
        };
        self.save()?;
        Ok(still_held)
    }

    /// Writes the record (see [`artifact_registry_cli::private_file::write`]).
    fn save(&self) -> std::io::Result<()> {
        let text = serde_json::to_vec(&*self.lock()).map_err(std::io::Error::other)?;
        artifact_registry_cli::private_file::write(&self.path, &text)
    }
}

/// The blobs each repository's manifests reference, from ferro's `metadata.json`
/// (`manifests: {name: {digest: {media_type, body_hex}}}`); empty when there is none.
fn from_metadata(path: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut links: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let Some(meta) = std::fs::read(path).ok().and_then(|b| serde_json::from_slice::<Value>(&b).ok()) else {
        return links;
    };
    for (repository, manifests) in meta["manifests"].as_object().into_iter().flatten() {
        for manifest in manifests.as_object().into_iter().flatten().map(|(_, m)| m) {
            let body = manifest["body_hex"].as_str().and_then(decode_hex).unwrap_or_default();
            let Ok(body) = serde_json::from_slice::<Value>(&body) else { continue };
            links.entry(repository.clone()).or_default().extend(references(&body));
        }
    }
    links
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    (0..text.len()).step_by(2).map(|i| text.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok())).collect()
}

/// The blobs an image manifest references: its config and its layers.
fn references(manifest: &Value) -> Vec<String> {
    let config = manifest["config"]["digest"].as_str().map(str::to_owned);
    let layers = manifest["layers"].as_array().into_iter().flatten().filter_map(|l| l["digest"].as_str());
    config.into_iter().chain(layers.map(str::to_owned)).collect()
}

fn oci_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "errors": [{ "code": code, "message": message, "detail": null }] });
    (status, axum::Json(body)).into_response()
}

/// A query parameter's value, percent-decoded.
fn param(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|kv| kv.strip_prefix(key)?.strip_prefix('=')).and_then(crate::embedded::decode_path)
}

/// What a request does to blobs, by its method and `/v2/{name}/...` path.
enum BlobRequest {
    Read {
        name: String,
        digest: String,
    },
    Delete {
        name: String,
        digest: String,
    },
    /// `POST .../blobs/uploads/` (`?digest=` monolithic, `?mount=&from=`) or the
    /// closing `PUT .../blobs/uploads/{id}?digest=`.
    Upload {
        name: String,
        digest: Option<String>,
        mount_from: Option<String>,
    },
    PutManifest {
        name: String,
    },
    Other,
}

fn classify(method: &Method, path: &str, query: &str) -> BlobRequest {
    let Some(rest) = path.strip_prefix("/v2/") else { return BlobRequest::Other };
    let Some(name) = crate::embedded::repository_of(rest).map(str::to_owned) else { return BlobRequest::Other };
    let tail = &rest[name.len() + 1..];
    if let Some(upload) = tail.strip_prefix("blobs/uploads/") {
        let closing = !upload.is_empty() && *method == Method::PUT;
        let opening = upload.is_empty() && *method == Method::POST;
        if closing || opening {
            let mount_from = if opening { param(query, "from") } else { None };
            let digest = param(query, "digest").or_else(|| if opening { param(query, "mount") } else { None });
            return BlobRequest::Upload { name, digest, mount_from };
        }
        return BlobRequest::Other;
    }
    if let Some(digest) = tail.strip_prefix("blobs/") {
        let digest = digest.to_owned();
        return match *method {
            Method::GET | Method::HEAD => BlobRequest::Read { name, digest },
            Method::DELETE => BlobRequest::Delete { name, digest },
            _ => BlobRequest::Other,
        };
    }
    if tail.starts_with("manifests/") && *method == Method::PUT {
        return BlobRequest::PutManifest { name };
    }
    BlobRequest::Other
}

/// The blob layer: checks and records what each repository holds (see the module
/// docs); `blobs` answers whether the store has a digest at all (for mounts).
pub async fn scoped(
    links: &BlobLinks,
    blobs: &ferro_blob_store::FsBlobStore,
    request: Request<Body>,
    next: Next,
) -> Response {
    let path = crate::embedded::decode_path(request.uri().path()).unwrap_or_default();
    let query = request.uri().query().unwrap_or("").to_owned();
    let unknown = |digest: &str, name: &str| {
        oci_error(StatusCode::NOT_FOUND, "BLOB_UNKNOWN", &format!("blob {digest} is unknown to repository {name}"))
    };
    match classify(request.method(), &path, &query) {
        BlobRequest::Read { name, digest } if !links.holds(&name, &digest) => unknown(&digest, &name),
        BlobRequest::Delete { name, digest } => {
            if !links.holds(&name, &digest) {
                return unknown(&digest, &name);
            }
            match links.unlink(&name, &digest) {
                // Another repository holds the bytes: this one no longer does.
                Ok(true) => StatusCode::ACCEPTED.into_response(),
                Ok(false) => next.run(request).await,
                Err(e) => oci_error(StatusCode::INTERNAL_SERVER_ERROR, "UNKNOWN", &format!("cannot record: {e}")),
            }
        }
        BlobRequest::Upload { name, digest: Some(digest), mount_from: Some(from) } => {
            // A mount: the blob must be in `from` (the auth layer checked the pull).
            let in_store = digest.parse::<ferro_blob_store::Digest>().ok();
            let present = match &in_store {
                Some(d) => ferro_blob_store::BlobStore::contains(blobs, d).await.unwrap_or(false),
                None => false,
            };
            if !present || !links.holds(&from, &digest) || ferro_oci_server::reference::validate_name(&name).is_err() {
                // Not mountable: the spec's answer is an ordinary upload session.
                let stripped = strip_mount(request);
                return next.run(stripped).await;
            }
            if let Err(e) = links.link(&name, &digest) {
                return oci_error(StatusCode::INTERNAL_SERVER_ERROR, "UNKNOWN", &format!("cannot record: {e}"));
            }
            (
                StatusCode::CREATED,
                [
                    (header::LOCATION, format!("/v2/{name}/blobs/{digest}")),
                    (header::HeaderName::from_static("docker-content-digest"), digest),
                ],
            )
                .into_response()
        }
        BlobRequest::Upload { name, digest: Some(digest), mount_from: None } => {
            let response = next.run(request).await;
            if response.status() == StatusCode::CREATED
                && let Err(e) = links.link(&name, &digest)
            {
                return oci_error(StatusCode::INTERNAL_SERVER_ERROR, "UNKNOWN", &format!("cannot record: {e}"));
            }
            response
        }
        BlobRequest::PutManifest { name } => {
            let (parts, body) = request.into_parts();
            let Ok(bytes) = axum::body::to_bytes(body, MAX_MANIFEST).await else {
                return oci_error(StatusCode::PAYLOAD_TOO_LARGE, "SIZE_INVALID", "the manifest is too large");
            };
            let manifest = serde_json::from_slice::<Value>(&bytes).unwrap_or_default();
            if let Some(missing) = references(&manifest).into_iter().find(|d| !links.holds(&name, d)) {
                return oci_error(
                    StatusCode::BAD_REQUEST,
                    "MANIFEST_BLOB_UNKNOWN",
                    &format!("blob {missing} is unknown to repository {name}: push or mount it first"),
                );
            }
            next.run(Request::from_parts(parts, Body::from(bytes))).await
        }
        _ => next.run(request).await,
    }
}

/// The same request without `mount` and `from`: what ferro opens an upload for.
fn strip_mount(request: Request<Body>) -> Request<Body> {
    let (mut parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let query: Vec<&str> = parts
        .uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("mount=") && !kv.starts_with("from="))
        .collect();
    let uri = if query.is_empty() { path } else { format!("{path}?{}", query.join("&")) };
    if let Ok(uri) = uri.parse() {
        parts.uri = uri;
    }
    Request::from_parts(parts, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_classified_by_method_and_path() {
        let d = "sha256:aa";
        assert!(
            matches!(classify(&Method::GET, &format!("/v2/a/b/blobs/{d}"), ""), BlobRequest::Read { name, .. } if name == "a/b")
        );
        assert!(matches!(classify(&Method::DELETE, &format!("/v2/a/blobs/{d}"), ""), BlobRequest::Delete { .. }));
        assert!(matches!(
            classify(&Method::POST, "/v2/a/blobs/uploads/", &format!("mount={d}&from=b")),
            BlobRequest::Upload { digest: Some(_), mount_from: Some(from), .. } if from == "b"
        ));
        assert!(matches!(
            classify(&Method::PUT, "/v2/a/blobs/uploads/123", &format!("digest={d}")),
            BlobRequest::Upload { digest: Some(_), mount_from: None, .. }
        ));
        assert!(matches!(classify(&Method::PATCH, "/v2/a/blobs/uploads/123", ""), BlobRequest::Other));
        assert!(matches!(classify(&Method::PUT, "/v2/a/manifests/v1", ""), BlobRequest::PutManifest { .. }));
        assert!(matches!(classify(&Method::GET, "/v2/", ""), BlobRequest::Other));
    }

    #[test]
    fn old_data_directories_get_their_manifests_blobs() {
        let dir = std::env::temp_dir().join(format!("blob-links-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let manifest = json!({ "config": { "digest": "sha256:c" }, "layers": [{ "digest": "sha256:l" }] }).to_string();
        let hex: String = manifest.bytes().map(|b| format!("{b:02x}")).collect();
        std::fs::write(
            dir.join("metadata.json"),
            json!({ "manifests": { "team/app": { "sha256:m": { "media_type": "x", "body_hex": hex } } } }).to_string(),
        )
        .unwrap();
        let links = BlobLinks::open(&dir).unwrap();
        assert!(links.holds("team/app", "sha256:c") && links.holds("team/app", "sha256:l"));
        assert!(!links.holds("other", "sha256:l"));
        assert!(links.holds("other", EMPTY_DESCRIPTOR));
        assert!(dir.join("blob-links.json").exists());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
