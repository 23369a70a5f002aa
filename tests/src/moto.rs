//! A moto server started for one test, stopped when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

/// A running moto server with signature checking on, and an IAM user's key.
pub struct MotoServer {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    /// The IAM user's access key id.
    pub access_key_id: String,
    /// The IAM user's secret access key.
    pub secret_access_key: String,
}

impl MotoServer {
    /// Starts the server (`tests/servers/moto_server.py`) and waits until it is ready.
    pub fn start() -> MotoServer {
        let script = crate::repo_root().join("tests/servers/moto_server.py");
        let mut child = Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()))
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs (moto[server] must be installed: see .ci/run)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("moto helper prints its port");
        let ready: Value = serde_json::from_str(&line)
            .unwrap_or_else(|_| panic!("moto helper did not start (is moto[server] installed?): {line:?}"));
        MotoServer {
            endpoint: format!("http://127.0.0.1:{}", ready["port"]),
            access_key_id: ready["accessKeyId"].as_str().unwrap().to_owned(),
            secret_access_key: ready["secretAccessKey"].as_str().unwrap().to_owned(),
            child,
        }
    }

    /// An ECR configuration document pointing at this server.
    pub fn ecr_config(&self, prefix: &str, extra_binding: Value) -> Value {
        let mut binding = json!({ "service": "ecr", "repositoryPrefix": prefix });
        if let (Value::Object(b), Value::Object(extra)) = (&mut binding, extra_binding) {
            b.extend(extra);
        }
        json!({
            "name": "artifacts",
            "binding": binding,
            "aws": {
                "region": "us-east-1",
                "accountId": "123456789012",
                "credentials": { "accessKeyId": self.access_key_id, "secretAccessKey": self.secret_access_key },
                "endpoints": { "ecr": self.endpoint, "sts": self.endpoint }
            }
        })
    }

    /// Runs a boto3 snippet as another client of this server; `ecr` and `iam` are
    /// clients for `region`. Returns what the snippet prints.
    pub fn boto3(&self, region: &str, snippet: &str) -> String {
        let program = format!(
            "import boto3, json\nkw = dict(endpoint_url='{}', region_name='{}', aws_access_key_id='{}', aws_secret_access_key='{}')\necr = boto3.client('ecr', **kw)\niam = boto3.client('iam', **kw)\n{}",
            self.endpoint, region, self.access_key_id, self.secret_access_key, snippet
        );
        let out = Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()))
            .args(["-c", &program])
            .output()
            .expect("python3 runs");
        assert!(out.status.success(), "boto3 snippet failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl MotoServer {
    /// Creates IAM roles with an allow-all inline policy. moto authorizes calls made
    /// with assumed-role credentials against the role's policies, as AWS does, so
    /// the roles must exist.
    pub fn create_roles(&self, names: &[&str]) {
        let names = names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ");
        self.boto3(
            "us-east-1",
            &format!(
                "trust = json.dumps({{'Version': '2012-10-17', 'Statement': [{{'Effect': 'Allow', 'Principal': {{'AWS': 'arn:aws:iam::123456789012:user/artifact-registry-tests'}}, 'Action': 'sts:AssumeRole'}}]}})\nallow = json.dumps({{'Version': '2012-10-17', 'Statement': [{{'Effect': 'Allow', 'Action': '*', 'Resource': '*'}}]}})\nfor name in [{names}]:\n    iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)\n    iam.put_role_policy(RoleName=name, PolicyName='allow-all', PolicyDocument=allow)"
            ),
        );
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
