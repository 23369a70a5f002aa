//! `docker-credential-artifact-registry`: one docker credential helper for ECR,
//! Artifact Registry, ACR and local registries.
//!
//! It speaks the docker credential-helper protocol: `get` reads a server URL on stdin
//! and prints `{"ServerURL", "Username", "Secret"}`; `store` is accepted and ignored
//! for a host it manages (credentials are generated, not stored) and fails for any
//! other host, so that `docker login` to it cannot "succeed" and lose what was typed;
//! `erase` drops the cached credentials of a managed host (and fails for others);
//! `list` prints `{host: username}` for the managed hosts.
//!
//! Hosts map to bindings through `credential-helper.json` in the user's config
//! directory (`$ARTIFACT_REGISTRY_HELPER_CONFIG`, else
//! `$XDG_CONFIG_HOME/artifact-registry/`, else `~/.config/artifact-registry/`):
//!
//! ```json
//! { "registries": { "123456789012.dkr.ecr.us-east-1.amazonaws.com":
//!     { "config": { ...a configuration document... }, "repository": "acme-app", "permissions": "pull" } } }
//! ```
//!
//! (`"configFile": "path"` may stand for `"config"`), and through
//! `ARTIFACT_REGISTRY_CONFIG`, which serves the host of its registry endpoint.
//! `permissions` defaults to `pull` (least privilege); `repository` to the binding's
//! shared repository where the provider's credentials are not per repository.
//!
//! Credentials are cached on disk (`$XDG_CACHE_HOME/artifact-registry/credentials/`,
//! or `$ARTIFACT_REGISTRY_CACHE_DIR`), keyed by host, configuration, repository,
//! permissions and the identity the environment gives (a digest of the credential
//! chains' variables and of the files they name, so that switching `AWS_PROFILE` or
//! `GOOGLE_APPLICATION_CREDENTIALS` never returns the previous identity's token), and
//! refreshed 5 minutes before they expire; an entry without an expiry is never reused.
//! The directory must be the user's own and 0700 (a new one is made so); otherwise
//! the helper says so on stderr and caches nothing. Entries are written to a new file
//! (`O_EXCL`, `O_NOFOLLOW`, 0600) renamed into place, and read without following links,
//! so a link planted in a shared directory receives nothing. A file lock per key makes
//! concurrent helpers (a `docker pull` storm) wait for the first one: one provider
//! call, not one per layer.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use artifact_registry_core::registry_host::{self, RegistryHost};
use artifact_registry_core::{ArtifactRegistry, AuthMethod, Permissions, Timestamp};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Credentials closer than this to their expiry are generated again.
const REFRESH_MARGIN_SECS: i64 = 300;

/// One host's binding.
struct Entry {
    config: Value,
    repository: Option<String>,
    permissions: Permissions,
}

fn home_dir(xdg: &str, fallback: &str) -> Option<PathBuf> {
    std::env::var_os(xdg)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(fallback)))
}

fn helper_config_path() -> Option<PathBuf> {
    match std::env::var_os("ARTIFACT_REGISTRY_HELPER_CONFIG") {
        Some(p) => Some(PathBuf::from(p)),
        None => home_dir("XDG_CONFIG_HOME", ".config").map(|d| d.join("artifact-registry/credential-helper.json")),
    }
}

/// The cache directory, when it is private to this user; `None` (said on stderr)
/// when there is none or it is not: credentials are then generated every time.
fn cache_dir() -> Option<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let dir = match std::env::var_os("ARTIFACT_REGISTRY_CACHE_DIR") {
        Some(p) => PathBuf::from(p),
        None => home_dir("XDG_CACHE_HOME", ".cache")?.join("artifact-registry/credentials"),
    };
    let refuse = |why: String| {
        eprintln!("docker-credential-artifact-registry: not caching credentials: {why}");
        None
    };
    if let Err(e) = fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir) {
        return refuse(format!("cannot create {}: {e}", dir.display()));
    }
    let meta = match fs::symlink_metadata(&dir) {
        Ok(meta) => meta,
        Err(e) => return refuse(format!("cannot read {}: {e}", dir.display())),
    };
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if !meta.file_type().is_dir() || meta.uid() != me || meta.mode() & 0o077 != 0 {
        return refuse(format!(
            "{} must be a directory of yours that only you can use (0700); it is {} with mode {:o} (owner uid {})",
            dir.display(),
            if meta.file_type().is_symlink() { "a link" } else { "not that" },
            meta.mode() & 0o7777,
            meta.uid()
        ));
    }
    Some(dir)
}

/// Variables the credential chains read (AWS, Google, Azure): part of the identity.
const IDENTITY_VARIABLES: [&str; 7] = ["AWS_", "GOOGLE_", "CLOUDSDK_", "GCE_", "AZURE_", "IDENTITY_", "MSI_"];

/// Who the environment makes the helper: a digest of the credential chains'
/// variables and of the credential files they (or the default locations) name.
fn environment_identity() -> String {
    let mut vars: Vec<(String, String)> =
        std::env::vars().filter(|(k, _)| k == "HOME" || IDENTITY_VARIABLES.iter().any(|p| k.starts_with(p))).collect();
    vars.sort();
    let var = |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| PathBuf::from(v));
    let home = |rest: &str| var("HOME").map(|h| h.join(rest));
    let files = [
        var("AWS_SHARED_CREDENTIALS_FILE").or_else(|| home(".aws/credentials")),
        var("AWS_CONFIG_FILE").or_else(|| home(".aws/config")),
        var("GOOGLE_APPLICATION_CREDENTIALS"),
        var("CLOUDSDK_CONFIG")
            .map(|d| d.join("application_default_credentials.json"))
            .or_else(|| home(".config/gcloud/application_default_credentials.json")),
        var("AZURE_CLIENT_CERTIFICATE_PATH"),
    ];
    let mut digest = Sha256::new();
    for (k, v) in &vars {
        digest.update(format!("{k}={v}\n").as_bytes());
    }
    for file in files.into_iter().flatten() {
        if let Ok(bytes) = fs::read(&file) {
            digest.update(file.to_string_lossy().as_bytes());
            digest.update(&bytes);
        }
    }
    digest.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// `host[:port]`, lower-case, from a server URL (`https://host/v2/` and the like).
fn host_of(server_url: &str) -> String {
    let rest = server_url.trim().split_once("://").map_or(server_url.trim(), |(_, r)| r);
    rest.split('/').next().unwrap_or("").to_ascii_lowercase()
}

fn permissions_of(v: &Value) -> Result<Permissions, String> {
    match v.as_str() {
        None => Ok(Permissions::Pull),
        Some(p) => Permissions::parse(p).map_err(|e| e.message().to_owned()),
    }
}

/// Every configured host and its binding.
fn entries() -> Result<BTreeMap<String, Entry>, String> {
    let mut out = BTreeMap::new();
    if let Some(path) = helper_config_path().filter(|p| p.exists()) {
        let text = fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let doc: Value = serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
        for (host, spec) in doc["registries"].as_object().into_iter().flatten() {
            let config = match (&spec["config"], spec["configFile"].as_str()) {
                (Value::Object(_), _) => spec["config"].clone(),
                (_, Some(file)) => serde_json::from_str(
                    &fs::read_to_string(file).map_err(|e| format!("cannot read the configuration {file}: {e}"))?,
                )
                .map_err(|e| format!("the configuration {file} is not JSON: {e}"))?,
                _ => return Err(format!("{}: {host} needs \"config\" or \"configFile\"", path.display())),
            };
            let entry = Entry {
                config,
                repository: spec["repository"].as_str().map(str::to_owned),
                permissions: permissions_of(&spec["permissions"])?,
            };
            out.insert(host_of(host), entry);
        }
    }
    if let Ok(text) = std::env::var("ARTIFACT_REGISTRY_CONFIG") {
        let config: Value =
            serde_json::from_str(&text).map_err(|e| format!("ARTIFACT_REGISTRY_CONFIG is not JSON: {e}"))?;
        let registry = artifact_registry_native::connect(&text).map_err(|e| e.message().to_owned())?;
        let host = host_of(&registry.registry_endpoint());
        out.entry(host).or_insert(Entry { config, repository: None, permissions: Permissions::Pull });
    }
    Ok(out)
}

/// Refuses a binding whose provider is not the one the host name says.
fn check_provider(host: &str, config: &Value) -> Result<(), String> {
    let service = config["binding"]["service"].as_str().unwrap_or("");
    let expected = match registry_host::classify(host) {
        RegistryHost::Ecr { .. } => "ecr",
        RegistryHost::Gar { .. } => "gar",
        RegistryHost::Acr { .. } => "acr",
        RegistryHost::Other => return Ok(()),
    };
    if service == expected {
        Ok(())
    } else {
        Err(format!("{host} is an {expected} registry, but its binding is for {service:?}"))
    }
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn cache_key(host: &str, entry: &Entry) -> String {
    let identity = json!({ "host": host, "config": entry.config, "repository": entry.repository,
                           "permissions": entry.permissions.as_str(), "environment": environment_identity() });
    Sha256::digest(identity.to_string().as_bytes()).iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Writes `bytes` to a new private file beside `path` (never through a link, never
/// into an existing file) and renames it into place.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
    let _ = fs::remove_file(&tmp);
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)
        .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    f.write_all(bytes).map_err(|e| e.to_string())?;
    fs::rename(&tmp, path).map_err(|e| e.to_string())
}

/// A cache entry's text, read without following a link.
fn read_private(path: &Path) -> Option<String> {
    let mut text = String::new();
    OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(path).ok()?.read_to_string(&mut text).ok()?;
    Some(text)
}

/// Credentials for `host`: from the cache while fresh, else generated (one process
/// at a time per key).
async fn get(server_url: &str) -> Result<Value, String> {
    let host = host_of(server_url);
    let entries = entries()?;
    let entry = entries.get(&host).ok_or("credentials not found in native keychain")?;
    check_provider(&host, &entry.config)?;
    let cache = cache_dir();
    let key = cache_key(&host, entry);
    let _lock = match &cache {
        Some(dir) => {
            let lock = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(dir.join(format!("{key}.lock")))
                .map_err(|e| format!("cannot open the cache lock: {e}"))?;
            lock.lock().map_err(|e| format!("cannot lock the cache: {e}"))?;
            Some(lock)
        }
        None => None,
    };
    let path = cache.as_ref().map(|dir| dir.join(format!("{key}.json")));
    if let Some(text) = path.as_deref().and_then(read_private)
        && let Ok(cached) = serde_json::from_str::<Value>(&text)
    {
        // An entry without an expiry is never reused: nothing says it still works.
        let fresh = cached["expiresAt"]
            .as_str()
            .and_then(Timestamp::parse_rfc3339)
            .is_some_and(|at| at.unix_seconds() - now() > REFRESH_MARGIN_SECS);
        if fresh {
            return Ok(
                json!({ "ServerURL": server_url.trim(), "Username": cached["username"], "Secret": cached["secret"] }),
            );
        }
    }
    let text = entry.config.to_string();
    let registry = artifact_registry_native::connect(&text).map_err(|e| e.message().to_owned())?;
    let repository = match &entry.repository {
        Some(r) => r.clone(),
        None => match entry.config["binding"]["service"].as_str() {
            Some("ecr") => registry.client().routable_name(""),
            Some("acr") => {
                return Err(format!(
                    "ACR credentials are per repository: set \"repository\" for {host} in the helper's configuration"
                ));
            }
            _ => registry.client().routable_name("credential-helper"),
        }
        .map_err(|e| e.message().to_owned())?,
    };
    let creds = registry
        .generate_credentials(&repository, entry.permissions, None)
        .await
        .map_err(|e| e.message().to_owned())?;
    let (username, secret) = match creds.auth_method {
        AuthMethod::Basic => (creds.username.clone(), creds.password.expose().to_owned()),
        // A registry token is for one repository and scope, which docker cannot pass
        // on; with a token-auth local registry, docker gets the configured user and
        // asks the token server itself.
        AuthMethod::Bearer => match &entry.config["local"]["credentials"] {
            Value::Object(c) => {
                (c["username"].as_str().unwrap_or("").to_owned(), c["password"].as_str().unwrap_or("").to_owned())
            }
            _ => {
                return Err(format!(
                    "{host} hands out repository-scoped bearer tokens, which docker cannot use as a login; configure Basic credentials (ACR: \"scopeMapTokens\": true)"
                ));
            }
        },
    };
    if let Some(path) = &path {
        let cached = json!({ "host": host, "username": username, "secret": secret, "expiresAt": creds.expires_at });
        write_private(path, cached.to_string().as_bytes())?;
    }
    Ok(json!({ "ServerURL": server_url.trim(), "Username": username, "Secret": secret }))
}

/// The entry for the host of `server_url`, or an error saying the helper does not
/// manage it (for `store` and `erase`: docker must not believe they worked).
fn managed(server_url: &str, action: &str) -> Result<(String, Entry), String> {
    let host = host_of(server_url);
    let mut entries = entries()?;
    entries.remove(&host).map(|entry| (host.clone(), entry)).ok_or_else(|| {
        format!(
            "docker-credential-artifact-registry does not manage {host}, so it cannot {action} credentials for it: configure another credential store for {host}, or add it to credential-helper.json"
        )
    })
}

fn store(input: &str) -> Result<(), String> {
    // The input is docker's `{"ServerURL", "Username", "Secret"}`.
    let url = serde_json::from_str::<Value>(input)
        .ok()
        .and_then(|v| v["ServerURL"].as_str().map(str::to_owned))
        .unwrap_or_else(|| input.trim().to_owned());
    // A managed host's credentials are generated: what docker stores is not needed.
    managed(&url, "store").map(drop)
}

fn erase(server_url: &str) -> Result<(), String> {
    let (host, entry) = managed(server_url, "erase")?;
    if let Some(dir) = cache_dir() {
        let _ = fs::remove_file(dir.join(format!("{}.json", cache_key(&host, &entry))));
    }
    Ok(())
}

fn list() -> Result<Value, String> {
    let dir = cache_dir();
    let mut out = serde_json::Map::new();
    for (host, entry) in entries()? {
        let cached = dir
            .as_ref()
            .and_then(|d| read_private(&d.join(format!("{}.json", cache_key(&host, &entry)))))
            .and_then(|t| serde_json::from_str::<Value>(&t).ok());
        let username = cached.map(|c| c["username"].clone()).unwrap_or(json!(""));
        out.insert(host, username);
    }
    Ok(Value::Object(out))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    artifact_registry_native::exit_on_panic("docker-credential-artifact-registry");
    let action = std::env::args().nth(1).unwrap_or_default();
    let mut input = String::new();
    if matches!(action.as_str(), "get" | "store" | "erase") {
        let _ = std::io::stdin().read_to_string(&mut input);
    }
    let result = match action.as_str() {
        "get" => get(&input).await.map(Some),
        "store" => store(&input).map(|_| None),
        "erase" => erase(&input).map(|_| None),
        "list" => list().map(Some),
        "version" => Ok(Some(json!(env!("CARGO_PKG_VERSION")))),
        _ => Err("usage: docker-credential-artifact-registry get|store|erase|list (server URL on stdin)".into()),
    };
    match result {
        Ok(Some(v)) => {
            println!("{v}");
            ExitCode::SUCCESS
        }
        Ok(None) => ExitCode::SUCCESS,
        Err(message) => {
            // The protocol: the message on stdout (docker shows it), a non-zero exit;
            // on stderr too, for a person running the helper.
            println!("{message}");
            eprintln!("docker-credential-artifact-registry: {message}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn hosts_from_server_urls() {
        assert_eq!(super::host_of("https://Acme.azurecr.io/v2/"), "acme.azurecr.io");
        assert_eq!(super::host_of("127.0.0.1:5000"), "127.0.0.1:5000");
    }
}
