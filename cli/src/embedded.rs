//! The embedded OCI registry: `ferro-oci-server` (OCI distribution spec v1.1:
//! monolithic and chunked uploads, cross-repository mounts, manifests by tag and
//! digest, deletes, tag lists and the catalog with pagination, nested names) served
//! with axum, with its blobs and metadata under one data directory so that tags and
//! manifests survive a restart.
//!
//! Why ferro: it states conformance to the distribution-spec suite and embeds as an
//! axum router over a filesystem blob store. Blob files are named by validated
//! digests only and repository names live in `metadata.json`, never in paths, so no
//! request can name a file outside the data directory. The data directory itself is
//! refused when it holds a symbolic link (a link is the one way a path inside it
//! could lead outside).
//!
//! Authentication, in front of the registry ([`Auth`]): none, HTTP Basic for one user,
//! or the distribution token flow with repository-scoped tokens from `/token` (Basic
//! to get one), so that pull credentials cannot push. Tokens are signed with a key
//! kept in the data directory (`token.key`, 0600), so they stay valid across restarts
//! until they expire; a new key (`--rotate-key`, or deleting the file) revokes them.
//!
//! The data directory is private: everything the registry writes is created with
//! umask 077 (directories 0700, files 0600), and a directory another user could write
//! to (or that another user owns) is refused.

use std::net::SocketAddr;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use ferro_blob_store::FsBlobStore;
use ferro_oci_server::{AppState, InMemoryRegistryMeta, router};

use crate::blob_links::BlobLinks;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long tokens from `/token` live.
const TOKEN_LIFETIME: Duration = Duration::from_secs(300);
/// The `service` of the token flow.
const SERVICE: &str = "artifact-registry";

/// Who may use the registry.
#[derive(Clone)]
pub enum Auth {
    /// Anyone.
    None,
    /// One user, HTTP Basic on every request.
    Basic { user: String, password: String },
    /// One user, who gets repository-scoped tokens from `/token` with Basic.
    Token { user: String, password: String },
}

impl Auth {
    fn describe(&self) -> &'static str {
        match self {
            Auth::None => "no auth",
            Auth::Basic { .. } => "HTTP Basic auth",
            Auth::Token { .. } => "token auth (repository-scoped tokens from /token)",
        }
    }
}

struct Gate {
    auth: Auth,
    /// Signs tokens (token mode).
    key: [u8; 32],
    /// The blobs, content-addressed and shared by every repository (for mounts).
    blobs: Arc<FsBlobStore>,
    /// Which of them each repository holds.
    links: BlobLinks,
}

/// A running embedded registry. Stop it with [`EmbeddedRegistry::stop`]; a temporary
/// data directory is removed then.
pub struct EmbeddedRegistry {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Where it stores blobs and metadata.
    pub data_dir: PathBuf,
    temporary: bool,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl EmbeddedRegistry {
    /// Starts listening on `addr` (port 0 picks a free one). `data_dir` defaults to a
    /// new temporary directory; `rotate_key` replaces the token signing key kept there.
    pub async fn start(
        addr: SocketAddr,
        data_dir: Option<&Path>,
        auth: Auth,
        rotate_key: bool,
    ) -> std::io::Result<EmbeddedRegistry> {
        // Blobs, metadata and the key are the user's alone, whatever the caller's umask.
        // SAFETY: umask only sets this process's file-creation mask.
        unsafe { libc::umask(0o077) };
        let (data_dir, temporary) = match data_dir {
            Some(dir) => (dir.to_path_buf(), false),
            None => (temporary_dir()?, true),
        };
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&data_dir)?;
        let data_dir = data_dir.canonicalize()?;
        refuse_shared(&data_dir)?;
        refuse_links(&data_dir)?;
        let key = token_key(&data_dir, temporary || rotate_key)?;
        let blobs = FsBlobStore::new(data_dir.join("blobs"))
            .map_err(|e| std::io::Error::other(format!("cannot use {} for blobs: {e}", data_dir.display())))?;
        let meta = InMemoryRegistryMeta::with_persistence(&data_dir);
        let blobs = Arc::new(blobs);
        let state = AppState::new(blobs.clone(), Arc::new(meta));
        let links = BlobLinks::open(&data_dir)?;
        let gate = Arc::new(Gate { auth, key, blobs, links });
        let app = Router::new()
            .route("/token", get(token))
            .with_state(gate.clone())
            .merge(router(state).layer(middleware::from_fn_with_state(gate, check)));
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
        });
        Ok(EmbeddedRegistry { addr, data_dir, temporary, shutdown: Some(shutdown), task })
    }

    /// Serves until `signal` completes (or the server fails), then stops as
    /// [`EmbeddedRegistry::stop`] does.
    pub async fn run_until(mut self, signal: impl Future<Output = ()>) -> std::io::Result<()> {
        let result = tokio::select! {
            _ = signal => {
                if let Some(tx) = self.shutdown.take() {
                    let _ = tx.send(());
                }
                (&mut self.task).await
            }
            result = &mut self.task => result,
        };
        self.cleanup();
        result.map_err(std::io::Error::other)?
    }

    /// Stops serving (in-flight requests finish) and removes a temporary directory.
    pub async fn stop(self) -> std::io::Result<()> {
        self.run_until(std::future::ready(())).await
    }

    fn cleanup(&self) {
        if self.temporary {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }
}

/// What `auth` means, for the startup message.
pub fn describe(auth: &Auth) -> &'static str {
    auth.describe()
}

/// Refuses a data directory another user owns or could write to: they could replace
/// blobs, metadata or the token key under the registry.
fn refuse_shared(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(dir)?;
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(std::io::Error::other(format!(
            "{} belongs to another user (uid {}): the data directory must be yours",
            dir.display(),
            meta.uid()
        )));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(std::io::Error::other(format!(
            "{} can be written by other users (mode {:o}): run `chmod 700 {}` first",
            dir.display(),
            meta.mode() & 0o777,
            dir.display()
        )));
    }
    Ok(())
}

/// The token signing key in `dir/token.key`: made (0600) when missing or when `fresh`,
/// else read back. A key readable by others is refused: it would let them mint tokens.
fn token_key(dir: &Path, fresh: bool) -> std::io::Result<[u8; 32]> {
    use std::os::unix::fs::MetadataExt;
    let path = dir.join("token.key");
    if !fresh {
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_file() && meta.mode() & 0o077 == 0 && meta.len() == 32 => {
                let bytes = std::fs::read(&path)?;
                let mut key = [0u8; 32];
                key.copy_from_slice(&bytes);
                return Ok(key);
            }
            Ok(_) => {
                return Err(std::io::Error::other(format!(
                    "{} is not a private 32-byte key file (0600): delete it to make a new one (tokens handed out so far stop working)",
                    path.display()
                )));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| std::io::Error::other(e.to_string()))?;
    artifact_registry_cli::private_file::write(&path, &key)?;
    Ok(key)
}

/// Refuses a data directory that holds a symbolic link anywhere inside it.
fn refuse_links(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_symlink() {
            return Err(std::io::Error::other(format!(
                "{} is a symbolic link: the data directory must not contain links (a request could follow it outside)",
                entry.path().display()
            )));
        }
        if kind.is_dir() {
            refuse_links(&entry.path())?;
        }
    }
    Ok(())
}

// ---- authentication -------------------------------------------------------------------

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn sign(key: &[u8], payload: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(payload.as_bytes());
    b64(&mac.finalize().into_bytes())
}

/// Constant-time equality of two secrets.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether the request's Basic credentials are the user's.
fn basic_ok(headers: &HeaderMap, user: &str, password: &str) -> bool {
    let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else { return false };
    let Some(encoded) = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic ")) else { return false };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else { return false };
    let Ok(decoded) = String::from_utf8(decoded) else { return false };
    match decoded.split_once(':') {
        Some((u, p)) => same(u, user) & same(p, password),
        None => false,
    }
}

/// Percent-decodes a path as axum does before ferro routes it; `None` when it is not
/// UTF-8 after decoding.
pub(crate) fn decode_path(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The repository a `/v2/{rest}` path acts on, split exactly as ferro's router splits
/// it (the same keywords, in the same order, the last occurrence of each), so the
/// repository authorized is the one acted on.
pub(crate) fn repository_of(rest: &str) -> Option<&str> {
    for keyword in ["blobs/", "manifests/", "tags/list", "referrers/"] {
        if let Some(idx) = rest.rfind(keyword) {
            if idx == 0 {
                return None;
            }
            if &rest[idx - 1..idx] != "/" {
                continue;
            }
            return Some(&rest[..idx - 1]);
        }
    }
    None
}

/// What a request needs: the repository and action, or the catalog, or just a login.
enum Need {
    Base,
    Catalog,
    Repository { name: String, action: &'static str, mount_from: Option<String> },
}

fn need(method: &Method, path: &str, query: Option<&str>) -> Option<Need> {
    let rest = path.strip_prefix("/v2/").or_else(|| path.strip_prefix("/v2"))?;
    if rest.is_empty() {
        return Some(Need::Base);
    }
    if rest == "_catalog" {
        return Some(Need::Catalog);
    }
    let name = repository_of(rest)?.to_owned();
    let action = match *method {
        Method::GET | Method::HEAD => "pull",
        Method::DELETE => "delete",
        _ => "push",
    };
    // A cross-repository mount reads the source repository.
    let mount_from = query.and_then(|q| {
        q.split('&').find_map(|kv| kv.strip_prefix("from=")).and_then(decode_path).filter(|f| !f.is_empty())
    });
    Some(Need::Repository { name, action, mount_from })
}

/// A token's grants: `[(type:name, actions)]`.
fn token_grants(gate: &Gate, headers: &HeaderMap) -> Option<Vec<(String, Vec<String>)>> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value.strip_prefix("Bearer ")?;
    let (payload, signature) = token.split_once('.')?;
    if !same(&sign(&gate.key, payload), signature) {
        return None;
    }
    let claims: Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    if claims["exp"].as_u64()? <= unix_now() {
        return None;
    }
    let access = claims["access"].as_array()?;
    Some(
        access
            .iter()
            .filter_map(|a| {
                let actions = a["actions"].as_array()?.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect();
                Some((format!("{}:{}", a["type"].as_str()?, a["name"].as_str()?), actions))
            })
            .collect(),
    )
}

fn allows(grants: &[(String, Vec<String>)], resource: &str, action: &str) -> bool {
    grants.iter().any(|(r, actions)| r == resource && actions.iter().any(|a| a == action || a == "*"))
}

fn unauthorized(challenge: String, message: &str) -> Response {
    let body = json!({ "errors": [{ "code": "UNAUTHORIZED", "message": message, "detail": null }] });
    (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, challenge)], axum::Json(body)).into_response()
}

fn denied(message: &str) -> Response {
    let body = json!({ "errors": [{ "code": "DENIED", "message": message, "detail": null }] });
    (StatusCode::FORBIDDEN, axum::Json(body)).into_response()
}

/// The blob layer behind authentication (see [`crate::blob_links`]).
async fn scoped(gate: &Gate, request: Request<Body>, next: Next) -> Response {
    crate::blob_links::scoped(&gate.links, &gate.blobs, request, next).await
}

/// The authentication layer in front of the registry.
async fn check(State(gate): State<Arc<Gate>>, request: Request<Body>, next: Next) -> Response {
    match &gate.auth {
        Auth::None => scoped(&gate, request, next).await,
        Auth::Basic { user, password } => {
            if basic_ok(request.headers(), user, password) {
                scoped(&gate, request, next).await
            } else {
                unauthorized(r#"Basic realm="artifact-registry""#.to_owned(), "authentication required")
            }
        }
        Auth::Token { .. } => {
            let Some(path) = decode_path(request.uri().path()) else {
                return denied("the path is not valid UTF-8 once decoded");
            };
            let Some(need) = need(request.method(), &path, request.uri().query()) else {
                return next.run(request).await; // ferro answers unroutable paths with its own errors
            };
            let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
            let realm = format!("http://{host}/token");
            let challenge = |scope: Option<String>, error: Option<&str>| {
                let mut c = format!(r#"Bearer realm="{realm}",service="{SERVICE}""#);
                if let Some(s) = scope {
                    c.push_str(&format!(r#",scope="{s}""#));
                }
                if let Some(e) = error {
                    c.push_str(&format!(r#",error="{e}""#));
                }
                c
            };
            let grants = token_grants(&gate, request.headers());
            let (required, scope): (Vec<(String, &str)>, Option<String>) = match &need {
                Need::Base => (Vec::new(), None),
                Need::Catalog => (vec![("registry:catalog".into(), "*")], Some("registry:catalog:*".into())),
                Need::Repository { name, action, mount_from } => {
                    let mut required = vec![(format!("repository:{name}"), *action)];
                    if let Some(from) = mount_from {
                        required.push((format!("repository:{from}"), "pull"));
                    }
                    (required, Some(format!("repository:{name}:{action}")))
                }
            };
            match grants {
                None => unauthorized(challenge(scope, None), "authentication required"),
                Some(grants) if required.iter().all(|(r, a)| allows(&grants, r, a)) => {
                    scoped(&gate, request, next).await
                }
                Some(_) => unauthorized(challenge(scope, Some("insufficient_scope")), "the token does not allow this"),
            }
        }
    }
}

/// `GET /token?service=&scope=...`: a token for the scopes asked, to the user (Basic).
async fn token(
    State(gate): State<Arc<Gate>>,
    Query(params): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let Auth::Token { user, password } = &gate.auth else {
        return (StatusCode::NOT_FOUND, "this registry does not issue tokens").into_response();
    };
    if !basic_ok(&headers, user, password) {
        return unauthorized(r#"Basic realm="artifact-registry token""#.to_owned(), "invalid user name or password");
    }
    let mut access = Vec::new();
    for (key, value) in &params {
        if key != "scope" {
            continue;
        }
        for scope in value.split(' ') {
            let mut parts = scope.rsplitn(2, ':');
            let (Some(actions), Some(resource)) = (parts.next(), parts.next()) else { continue };
            let Some((kind, name)) = resource.split_once(':') else { continue };
            let actions: Vec<&str> = actions.split(',').filter(|a| !a.is_empty()).collect();
            access.push(json!({ "type": kind, "name": name, "actions": actions }));
        }
    }
    let now = unix_now();
    let claims = json!({ "sub": user, "iat": now, "exp": now + TOKEN_LIFETIME.as_secs(), "access": access });
    let payload = b64(claims.to_string().as_bytes());
    let token = format!("{payload}.{}", sign(&gate.key, &payload));
    let issued = httpdate_rfc3339(now);
    axum::Json(
        json!({ "token": token, "access_token": token, "expires_in": TOKEN_LIFETIME.as_secs(), "issued_at": issued }),
    )
    .into_response()
}

fn httpdate_rfc3339(unix: u64) -> String {
    artifact_registry_core::Timestamp::from_unix(unix as i64).to_rfc3339()
}

fn temporary_dir() -> std::io::Result<PathBuf> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    let suffix: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(std::env::temp_dir().join(format!("artifact-registry-{suffix}")))
}

/// A random password (128 bits, hex).
pub fn random_password() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS has a random source");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Completes on Ctrl-C (or at once if the signal cannot be watched).
pub async fn ctrl_c() {
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repository_is_split_as_the_router_splits_it() {
        assert_eq!(repository_of("a/b/c/manifests/latest"), Some("a/b/c"));
        assert_eq!(repository_of("a/blobs/sha256:00"), Some("a"));
        assert_eq!(repository_of("a/tags/list"), Some("a"));
        assert_eq!(repository_of("blobs/x"), None);
        assert_eq!(decode_path("/v2/a%2Fb/manifests/x").as_deref(), Some("/v2/a/b/manifests/x"));
        assert_eq!(decode_path("/v2/%ff/x"), None);
    }

    #[test]
    fn needs() {
        let n = need(&Method::POST, "/v2/a/blobs/uploads/", Some("mount=sha256:00&from=b%2Fc")).unwrap();
        let Need::Repository { name, action, mount_from } = n else { panic!() };
        assert_eq!((name.as_str(), action, mount_from.as_deref()), ("a", "push", Some("b/c")));
        assert!(matches!(need(&Method::GET, "/v2/", None), Some(Need::Base)));
        assert!(matches!(need(&Method::GET, "/v2/_catalog", None), Some(Need::Catalog)));
    }
}
