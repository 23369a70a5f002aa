//! Client setup in one command: the credential helper written into docker's
//! `config.json` and, for podman, skopeo and buildah, the containers `auth.json`, as
//! `credHelpers` for each host a binding serves ([`crate::logins::entries`]).
//!
//! Every other key and entry is kept, in its order; the file is written to a new
//! file beside it and renamed into place, with the old file's permissions (0600 for a
//! new one); a file that is a symbolic link is written where it points. What was added is recorded (`configured.json` beside
//! `credential-helper.json`), so `--remove` takes away exactly that: an entry that was
//! there before, or that someone changed since, stays. Running it twice changes
//! nothing the second time.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

/// The helper's name in `credHelpers` (docker runs `docker-credential-` + it).
pub const HELPER: &str = "artifact-registry";

fn var(name: &str) -> Option<PathBuf> {
    std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// Docker's configuration: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
pub fn docker_config_path() -> Result<PathBuf, String> {
    var("DOCKER_CONFIG")
        .or_else(|| var("HOME").map(|h| h.join(".docker")))
        .map(|d| d.join("config.json"))
        .ok_or_else(|| "neither DOCKER_CONFIG nor HOME is set".to_owned())
}

/// The containers auth file podman, skopeo and buildah read: `$REGISTRY_AUTH_FILE`,
/// else `$XDG_RUNTIME_DIR/containers/auth.json`.
pub fn containers_auth_path() -> Result<PathBuf, String> {
    var("REGISTRY_AUTH_FILE")
        .or_else(|| var("XDG_RUNTIME_DIR").map(|d| d.join("containers/auth.json")))
        .ok_or_else(|| "neither REGISTRY_AUTH_FILE nor XDG_RUNTIME_DIR is set".to_owned())
}

/// Where the record of what was added lives.
fn record_path() -> Result<PathBuf, String> {
    let dir = match var("ARTIFACT_REGISTRY_HELPER_CONFIG") {
        Some(p) => p.parent().map(Path::to_path_buf).unwrap_or_default(),
        None => var("XDG_CONFIG_HOME")
            .or_else(|| var("HOME").map(|h| h.join(".config")))
            .ok_or("neither XDG_CONFIG_HOME nor HOME is set")?
            .join("artifact-registry"),
    };
    Ok(dir.join("configured.json"))
}

fn read_object(path: &Path) -> Result<Map<String, Value>, String> {
    match fs::read_to_string(path) {
        Ok(text) if text.trim().is_empty() => Ok(Map::new()),
        Ok(text) => match serde_json::from_str(&text) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(format!("{} is not a JSON object; fix or move it first (nothing was changed)", path.display())),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Map::new()),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Writes `value` to a new file beside `path` with `path`'s permissions (0600 when it
/// is new) and renames it into place. A `path` that is a symbolic link (dotfiles kept
/// elsewhere) is written where it points, so the link stays a link.
fn write_atomically(path: &Path, value: &Value) -> Result<(), String> {
    let resolved = match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            fs::canonicalize(path).map_err(|e| format!("cannot follow the link {}: {e}", path.display()))?
        }
        _ => path.to_path_buf(),
    };
    let path = resolved.as_path();
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mode = fs::metadata(path).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0o600);
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())? + "\n";
    // Written private, then given the old file's permissions: never wider in between.
    crate::private_file::write(path, text.as_bytes())
        .and_then(|()| fs::set_permissions(path, fs::Permissions::from_mode(mode)))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// What one run changed in one file.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Hosts whose `credHelpers` entry was added (or, with remove, taken away).
    pub hosts: Vec<String>,
}

/// Adds (or, with `remove`, takes away what an earlier run added) `credHelpers`
/// entries for `hosts` in the file at `path`.
pub fn apply(path: &Path, hosts: &[String], remove: bool) -> Result<Changes, String> {
    let mut doc = read_object(path)?;
    let record_file = record_path()?;
    let mut record = read_object(&record_file)?;
    let key = path.to_string_lossy().into_owned();
    let mut recorded: BTreeSet<String> = record
        .get(&key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    let recorded_before = recorded.clone();
    let helpers = match doc.entry("credHelpers").or_insert_with(|| json!({})) {
        Value::Object(m) => m,
        _ => return Err(format!("{}: credHelpers is not an object (nothing was changed)", path.display())),
    };
    let mut changes = Changes::default();
    if remove {
        for host in recorded.clone() {
            if helpers.get(&host).and_then(Value::as_str) == Some(HELPER) {
                helpers.remove(&host);
                changes.hosts.push(host.clone());
            }
            recorded.remove(&host);
        }
        if helpers.is_empty() {
            doc.remove("credHelpers");
        }
    } else {
        for host in hosts {
            if !helpers.contains_key(host) {
                helpers.insert(host.clone(), json!(HELPER));
                recorded.insert(host.clone());
                changes.hosts.push(host.clone());
            }
        }
    }
    if !changes.hosts.is_empty() {
        write_atomically(path, &Value::Object(doc))?;
    }
    if recorded == recorded_before {
        return Ok(changes);
    }
    if recorded.is_empty() {
        record.remove(&key);
    } else {
        record.insert(key, json!(recorded));
    }
    write_atomically(&record_file, &Value::Object(record))?;
    Ok(changes)
}
