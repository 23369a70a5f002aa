//! Memory under load without Python or Node: 1,000 concurrent `get-repository`
//! calls per round against the ECR stub server (started here), printing RSS every 25
//! rounds. `--raw` sends the same requests through the reqwest transport alone (no
//! core), to tell the core's memory from the HTTP stack's.
//!
//! `cargo build --release -p artifact-registry-tests --bin ecr-stub-server`
//! `cargo run --release -p artifact-registry-tests --example native_rss -- [--raw] [ROUNDS]`
//! (`MALLOC_ARENA_MAX=1` in front shows glibc's arenas' share; `TOKIO_WORKER_THREADS=1`
//! runs one worker, as the Python and Node surfaces do; `STUB_DELAY_MS=200` holds each
//! answer, as the load tests do, so that all 1,000 calls are in flight at once). Each
//! line gives the open fds as well: the connection pool's size.

use std::sync::Arc;

use artifact_registry_core::{ArtifactRegistry as _, HttpRequest, Transport as _};
use artifact_registry_tests::stub_server::StubServer;

fn rss_mb() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc");
    statm.split_whitespace().nth(1).and_then(|p| p.parse::<f64>().ok()).unwrap_or(0.0) * 4096.0 / 1e6
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let raw = args.iter().any(|a| a == "--raw");
    let rounds: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(40);
    let hold_ms = std::env::var("STUB_DELAY_MS").ok().and_then(|d| d.parse().ok()).unwrap_or(0);
    let stub = StubServer::start(hold_ms);
    let registry = Arc::new(artifact_registry_native::connect(&stub.ecr_config().to_string()).unwrap());
    for round in 0..rounds {
        let calls: Vec<_> = (0..1000)
            .map(|i| {
                let (registry, endpoint) = (registry.clone(), stub.endpoint.clone());
                tokio::spawn(async move {
                    if raw {
                        let request = HttpRequest::new("POST", format!("{endpoint}/"))
                            .header("X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories")
                            .body(format!(r#"{{"repositoryNames":["acme-app-{i}"]}}"#).into_bytes());
                        registry.transport().send(request).await.map(|_| ()).map_err(|e| e.message)
                    } else {
                        registry.get_repository(&format!("acme-app-{i}")).await.map(|_| ()).map_err(|e| e.to_string())
                    }
                })
            })
            .collect();
        for call in calls {
            call.await.unwrap().expect("the stub answers");
        }
        if round < 3 || round % 25 == 0 || round + 1 == rounds {
            let fds = std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0);
            println!("round {:>4}: RSS {:.1} MB, {fds} open fds", round + 1, rss_mb());
        }
    }
}
