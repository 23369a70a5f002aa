//! Runs every scenario vector in `tests/vectors/` through the native driver: the
//! requests must be byte-identical and the result (or error) exactly the expected one.
//!
//! `REGENERATE_VECTORS=1` rewrites the recorded requests from the current code (the
//! canned answers and expected results stay as written); review the diff.

use artifact_registry_tests::vectors::{files, request_json, run};
use serde_json::Value;

#[tokio::test]
async fn every_vector_matches_the_native_driver() {
    let files = files();
    assert!(files.len() >= 10, "expected the vector set, found {}", files.len());
    let regenerate = std::env::var_os("REGENERATE_VECTORS").is_some();
    assert!(!regenerate || std::env::var_os("CI").is_none(), "never regenerate vectors in CI");
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let mut vector: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let outcome = run(&vector).await;
        let mut exchanges = vector["exchanges"].as_array().cloned().unwrap_or_default();
        if regenerate {
            let mut updated = Vec::new();
            for (i, request) in outcome.requests.iter().enumerate() {
                let mut e = exchanges
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| serde_json::json!({"response": {"status": 599, "body": "MISSING"}}));
                e["request"] = request_json(request);
                updated.push(e);
            }
            vector["exchanges"] = Value::Array(updated.clone());
            exchanges = updated;
            std::fs::write(&path, serde_json::to_string_pretty(&vector).unwrap() + "\n").unwrap();
        }
        assert_eq!(outcome.requests.len(), exchanges.len(), "{name}: number of requests");
        for (i, (sent, exchange)) in outcome.requests.iter().zip(&exchanges).enumerate() {
            assert_eq!(request_json(sent), exchange["request"], "{name}: request {i}");
        }
        assert_eq!(outcome.outcome, vector["expect"], "{name}: outcome");
    }
}

/// The same vectors through the JSON-level API (`Client::json_operation`), which the
/// Node surface uses: same requests, same outcome.
#[tokio::test]
async fn every_vector_through_the_json_api() {
    use artifact_registry_core::{Client, FixedClock, Registry, Timestamp};
    use artifact_registry_tests::transports::ScriptedTransport;
    for path in files() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let vector: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let native = run(&vector).await;
        let client = Client::from_json_str(&vector["config"].to_string()).unwrap();
        let now = Timestamp::parse_rfc3339(vector["now"].as_str().unwrap()).unwrap();
        let answers =
            vector["exchanges"].as_array().unwrap().iter().map(artifact_registry_tests::vectors::answer).collect();
        let registry = Registry::new(client, ScriptedTransport::new(answers), FixedClock(now));
        let op = registry.client().json_operation(vector["operation"].as_str().unwrap(), &vector["args"]);
        let outcome = match registry.run(op).await {
            Ok(v) => serde_json::json!({ "result": v }),
            Err(e) => {
                serde_json::json!({ "error": { "code": e.code().as_str(), "httpStatus": e.http_status(), "providerCode": e.provider_code() } })
            }
        };
        assert_eq!(outcome, native.outcome, "{name}");
        assert_eq!(registry.transport().requests(), native.requests, "{name}");
    }
}
