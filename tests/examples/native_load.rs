//! The native Rust driver against the ECR stub server: operations per second,
//! sequential and with 64 in flight. A baseline for the Python and Node benchmarks
//! (same server, same machine).
//!
//! `cargo run --release -p artifact-registry-tests --example native_load -- http://127.0.0.1:PORT`

use std::time::Instant;

use artifact_registry_core::ArtifactRegistry;

#[tokio::main]
async fn main() {
    let endpoint = std::env::args().nth(1).expect("usage: native_load http://127.0.0.1:PORT");
    let config = serde_json::json!({
        "name": "artifacts",
        "binding": { "service": "ecr", "repositoryPrefix": "acme" },
        "aws": { "region": "us-east-1", "accountId": "123456789012",
                 "credentials": { "accessKeyId": "AKIDEXAMPLE", "secretAccessKey": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" },
                 "endpoints": { "ecr": endpoint, "sts": endpoint } }
    });
    let registry = std::sync::Arc::new(artifact_registry_native::connect(&config.to_string()).unwrap());
    let n = 4000;
    registry.get_repository("acme-app").await.unwrap();
    let started = Instant::now();
    for _ in 0..n {
        registry.get_repository("acme-app").await.unwrap();
    }
    println!("sequential: {:.0} ops/s", n as f64 / started.elapsed().as_secs_f64());
    let started = Instant::now();
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(64));
    let mut tasks = Vec::new();
    for _ in 0..n {
        let (registry, gate) = (registry.clone(), gate.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.unwrap();
            registry.get_repository("acme-app").await.unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    println!("64 in flight: {:.0} ops/s", n as f64 / started.elapsed().as_secs_f64());
}
