//! The GAR contract server (`tests/servers/gar_server.py`) started for one test,
//! stopped when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

/// A running contract server and the service-account key it trusts.
pub struct GarServer {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    /// The key of `deployer@acme-p1.iam.gserviceaccount.com`, `token_uri` on this server.
    pub key: Value,
}

impl GarServer {
    /// Starts the server and waits until it is ready.
    pub fn start() -> GarServer {
        let script = crate::repo_root().join("tests/servers/gar_server.py");
        let mut child = Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()))
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs (cryptography must be installed: see scripts/setup)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("the server prints its port");
        let ready: Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("the GAR server did not start: {line:?}"));
        GarServer {
            endpoint: format!("http://127.0.0.1:{}", ready["port"]),
            key: ready["serviceAccountKey"].clone(),
            child,
        }
    }

    /// A GAR configuration pointing every Google endpoint at this server.
    pub fn config(&self, repository: &str, extra_binding: Value) -> Value {
        let mut binding = json!({ "service": "gar", "repositoryName": repository });
        if let (Value::Object(b), Value::Object(extra)) = (&mut binding, extra_binding) {
            b.extend(extra);
        }
        json!({
            "name": "artifacts",
            "binding": binding,
            "gcp": {
                "projectId": "acme-p1",
                "region": "us-central1",
                "credentials": self.key,
                "endpoints": { "artifactRegistry": self.endpoint, "iamCredentials": self.endpoint, "oauth2": format!("{}/token", self.endpoint) }
            }
        })
    }

    /// Calls a test-control endpoint (`/_contract/...`).
    pub fn control(&self, path: &str, body: Option<Value>) -> Value {
        let program = format!(
            "import json, sys, urllib.request\nbody = sys.stdin.read()\nreq = urllib.request.Request('{}{path}', data=body.encode() if body else None, method='POST' if body else 'GET', headers={{'Content-Type': 'application/json'}})\nprint(urllib.request.urlopen(req).read().decode())",
            self.endpoint
        );
        let mut child = Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()))
            .args(["-c", &program])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        use std::io::Write;
        child.stdin.take().unwrap().write_all(body.map(|b| b.to_string()).unwrap_or_default().as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "control call {path} failed");
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// The server's state (repositories, policies, packages, tokens, requests).
    pub fn state(&self) -> Value {
        self.control("/_contract/state", None)
    }
}

impl Drop for GarServer {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
