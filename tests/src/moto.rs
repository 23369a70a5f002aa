//! A moto server started for one test, stopped when dropped.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;

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
    /// The boto3 process behind [`MotoServer::boto3`], started on first use.
    boto3: Mutex<Option<Boto3Process>>,
}

/// One Python process with boto3 loaded, running snippets sent as JSON lines (so
/// that a test reading state back after every step does not start Python each time).
struct Boto3Process {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

/// Runs each snippet with `ecr` and `iam` clients for its region (made once per
/// region), `json` and `boto3`; answers with what it printed, or its traceback.
const BOTO3_LOOP: &str = r#"
import boto3, contextlib, io, json, sys, traceback
kw = json.loads(sys.argv[1])
clients = {}
for line in sys.stdin:
    job = json.loads(line)
    if job["region"] not in clients:
        clients[job["region"]] = {name: boto3.client(name, region_name=job["region"], **kw) for name in ("ecr", "iam")}
    out, error = io.StringIO(), None
    try:
        with contextlib.redirect_stdout(out):
            exec(job["code"], {"boto3": boto3, "json": json, **clients[job["region"]]})
    except Exception:
        error = traceback.format_exc()
    print(json.dumps({"out": out.getvalue(), "error": error}), flush=True)
"#;

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
            boto3: Mutex::new(None),
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
    /// clients for `region`. Returns what the snippet prints; panics with its
    /// traceback if it raises.
    pub fn boto3(&self, region: &str, snippet: &str) -> String {
        let mut process = self.boto3.lock().unwrap_or_else(|p| p.into_inner());
        let process = process.get_or_insert_with(|| {
            let kw = json!({ "endpoint_url": self.endpoint, "aws_access_key_id": self.access_key_id, "aws_secret_access_key": self.secret_access_key });
            let mut child = Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()))
                .args(["-c", BOTO3_LOOP, &kw.to_string()])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("python3 runs");
            let (input, output) = (child.stdin.take().unwrap(), BufReader::new(child.stdout.take().unwrap()));
            Boto3Process { child, input, output }
        });
        writeln!(process.input, "{}", json!({ "region": region, "code": snippet })).expect("the boto3 process reads");
        let mut line = String::new();
        process.output.read_line(&mut line).expect("the boto3 process answers");
        let answer: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("the boto3 process said {line:?}"));
        if let Some(error) = answer["error"].as_str() {
            panic!("boto3 snippet failed: {error}");
        }
        answer["out"].as_str().unwrap_or_default().to_owned()
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
        if let Some(mut process) = self.boto3.get_mut().unwrap_or_else(|p| p.into_inner()).take() {
            drop(process.input);
            let _ = process.child.wait();
        }
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
