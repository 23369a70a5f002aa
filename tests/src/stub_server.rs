//! The ECR stub server (`src/bin/ecr-stub-server.rs`) started for one benchmark or
//! test, stopped when dropped (it must have been built:
//! `cargo build --release -p artifact-registry-tests --bin ecr-stub-server`); and a
//! server that never answers, for deadline tests.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

/// A running stub server.
pub struct StubServer {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
}

impl StubServer {
    /// Starts the release build of the stub, holding each answer `delay_ms`.
    pub fn start(delay_ms: u64) -> StubServer {
        let target =
            std::env::var("CARGO_TARGET_DIR").map(Into::into).unwrap_or_else(|_| crate::repo_root().join("target"));
        let path = target.join("release").join("ecr-stub-server");
        let mut child = Command::new(&path)
            .args(["--delay-ms", &delay_ms.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{} does not run ({e}): build it first", path.display()));
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("the stub prints its port");
        let ready: Value = serde_json::from_str(&line).expect("the stub's ready line");
        StubServer { endpoint: format!("http://127.0.0.1:{}", ready["port"]), child }
    }

    /// An ECR configuration pointing at the stub (it checks no signature).
    pub fn ecr_config(&self) -> Value {
        json!({
            "name": "artifacts",
            "binding": { "service": "ecr", "repositoryPrefix": "acme" },
            "aws": { "region": "us-east-1", "accountId": "123456789012",
                     "credentials": { "accessKeyId": "AKIDEXAMPLE", "secretAccessKey": crate::canary("stubSecretAccessKey") },
                     "endpoints": { "ecr": self.endpoint, "sts": self.endpoint } }
        })
    }
}

impl Drop for StubServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A listener that accepts connections (the kernel does, into its backlog) and never
/// answers, and an ECR configuration pointing at it with a 0.5 s request timeout and
/// a 2 s deadline. Keep the listener alive for the test.
pub fn never_answering_ecr() -> (std::net::TcpListener, Value) {
    let hole = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let config = json!({
        "name": "artifacts",
        "binding": { "service": "ecr", "repositoryPrefix": "acme" },
        "aws": { "region": "us-east-1", "accountId": "123456789012",
                 "credentials": { "accessKeyId": "AKIDEXAMPLE", "secretAccessKey": crate::canary("stubSecretAccessKey") },
                 "endpoints": { "ecr": format!("http://{}", hole.local_addr().unwrap()) } },
        "timeouts": { "requestSeconds": 0.5, "operationSeconds": 2 }
    });
    (hole, config)
}
