//! A contract server under `tests/servers/` (a Python script that prints one JSON
//! line when ready and serves until its stdin closes), started for one test and
//! stopped when dropped, with its test-control API (`/_contract/...`).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".into())
}

/// A running contract server.
pub struct ContractServer {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    /// What the server printed when it was ready.
    pub ready: Value,
}

impl ContractServer {
    /// Starts `tests/servers/{script}` and waits until it is ready.
    pub fn start(script: &str) -> ContractServer {
        ContractServer::start_with(script, &[])
    }

    /// Starts `tests/servers/{script}` with arguments (the fault proxy takes its
    /// upstream) and waits until it is ready.
    pub fn start_with(script: &str, args: &[&str]) -> ContractServer {
        let path = crate::repo_root().join("tests/servers").join(script);
        let mut child = Command::new(python())
            .arg(&path)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs (cryptography must be installed: see scripts/setup)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("the server prints its port");
        let ready: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("{script} did not start: {line:?}"));
        ContractServer { endpoint: format!("http://127.0.0.1:{}", ready["port"]), ready, child }
    }

    /// Calls a test-control endpoint: `GET` without a body, `POST` with one.
    pub fn control(&self, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.endpoint);
        let answer = match body {
            Some(body) => crate::plain_http::request(
                "POST",
                &url,
                &[("Content-Type", "application/json")],
                body.to_string().as_bytes(),
            ),
            None => crate::plain_http::request("GET", &url, &[], b""),
        };
        assert!(
            answer.status < 300,
            "control call {path}: {} {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
        serde_json::from_slice(&answer.body).unwrap_or_else(|e| panic!("control call {path}: {e}"))
    }

    /// The server's state (what it stores, and the requests it served).
    pub fn state(&self) -> Value {
        self.control("/_contract/state", None)
    }

    /// How many requests went to `path` so far.
    pub fn count(&self, path: &str) -> usize {
        self.state()["requests"].as_array().unwrap().iter().filter(|r| r["path"] == path).count()
    }
}

impl Drop for ContractServer {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
