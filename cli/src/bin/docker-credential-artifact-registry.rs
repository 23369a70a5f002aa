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
//! Which hosts it manages, with which binding, and how logins are cached:
//! `artifact_registry_cli::logins` (docs/cli.md).

use std::io::Read;
use std::process::ExitCode;

use artifact_registry_cli::logins;
use serde_json::{Value, json};

/// Docker's words for "this helper has nothing for that host" (not an error to it).
const NOT_FOUND: &str = "credentials not found in native keychain";

async fn get(server_url: &str) -> Result<Value, String> {
    if !logins::entries()?.contains_key(&logins::host_of(server_url)) {
        return Err(NOT_FOUND.into());
    }
    let login = logins::login(server_url, None, None).await?;
    Ok(json!({ "ServerURL": server_url.trim(), "Username": login.username, "Secret": login.secret.expose() }))
}

/// The entry for the host of `server_url`, or an error saying the helper does not
/// manage it (for `store` and `erase`: docker must not believe they worked).
fn managed(server_url: &str, action: &str) -> Result<(String, logins::Entry), String> {
    let host = logins::host_of(server_url);
    let mut entries = logins::entries()?;
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
    logins::erase(&host, &entry);
    Ok(())
}

fn list() -> Result<Value, String> {
    Ok(json!(logins::cached_usernames()?))
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
