//! Helpers shared by the cross-surface tests: transports that record or replay, and
//! servers the tests start themselves.

pub mod acr_server;
pub mod contract_server;
pub mod gar_server;
pub mod moto;
pub mod oci_registry;
pub mod plain_http;
pub mod sdk;
pub mod stub_server;
pub mod transports;
pub mod vectors;

use std::path::PathBuf;

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// A canary secret of `tests/canaries.json`, by name: every secret the suite
/// configures is one, so that scanning what the suite printed for them
/// (`tests/canary_scan.py`, run by `scripts/test`) finds any that leaked.
pub fn canary(name: &str) -> &'static str {
    static CANARIES: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    let canaries =
        CANARIES.get_or_init(|| serde_json::from_str(include_str!("../canaries.json")).expect("canaries.json"));
    canaries["secrets"][name].as_str().unwrap_or_else(|| panic!("no canary named {name}"))
}
