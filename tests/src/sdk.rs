//! The clouds' own Python SDKs as references for the differential tests: a snippet
//! that prints one JSON line, run in exactly the environment given (nothing
//! inherited but `PATH`), with `$PYTHON` (else `python3`).

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;

/// Runs `script` with `python -c` in `env` only and parses the JSON it prints; `what`
/// names the SDK in the panic message when it prints none.
pub fn python_json(what: &str, script: &str, env: &BTreeMap<String, String>) -> Value {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(python)
        .args(["-c", script])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env)
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{what}: {}", String::from_utf8_lossy(&out.stderr)))
}
