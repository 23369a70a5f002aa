//! The ACR contract server (`tests/servers/acr_server.py`) started for one test,
//! stopped when dropped.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

/// A running contract server and the identity it knows.
pub struct AcrServer {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    /// What the server printed when ready (tenant, subscription, client, registry, ...).
    pub ready: Value,
}

impl AcrServer {
    /// Starts the server and waits until it is ready.
    pub fn start() -> AcrServer {
        let script = crate::repo_root().join("tests/servers/acr_server.py");
        let mut child = Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()))
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("the server prints its port");
        let ready: Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("the ACR server did not start: {line:?}"));
        AcrServer { endpoint: format!("http://127.0.0.1:{}", ready["port"]), ready, child }
    }

    /// An ACR configuration pointing Azure AD, ARM and the registry at this server.
    pub fn config(&self, extra_binding: Value) -> Value {
        let mut binding = json!({ "service": "acr", "registryName": self.ready["registryName"], "resourceGroupName": self.ready["resourceGroup"], "repositoryPrefix": "team-a" });
        if let (Value::Object(b), Value::Object(extra)) = (&mut binding, extra_binding) {
            b.extend(extra);
        }
        json!({
            "name": "artifacts",
            "binding": binding,
            "azure": {
                "tenantId": self.ready["tenantId"],
                "subscriptionId": self.ready["subscriptionId"],
                "credentials": { "clientId": self.ready["clientId"], "clientSecret": self.ready["clientSecret"] },
                "endpoints": { "activeDirectory": self.endpoint, "resourceManager": self.endpoint, "containerRegistry": self.endpoint }
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
        child.stdin.take().unwrap().write_all(body.map(|b| b.to_string()).unwrap_or_default().as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "control call {path} failed");
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// The server's state.
    pub fn state(&self) -> Value {
        self.control("/_contract/state", None)
    }

    /// How many requests went to `path` so far.
    pub fn count(&self, path: &str) -> usize {
        self.state()["requests"].as_array().unwrap().iter().filter(|r| r["path"] == path).count()
    }
}

impl Drop for AcrServer {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
