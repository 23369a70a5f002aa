//! Debian's `docker-registry` (a real OCI distribution registry, 2.8) started for one
//! test on a free loopback port, in one of three auth modes, stopped when dropped.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How the registry authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistryAuth {
    /// Anyone may push and pull.
    None,
    /// HTTP Basic against an htpasswd (bcrypt) file.
    Htpasswd,
    /// Bearer tokens from the tests' token server (`tests/servers/token_server.py`).
    Token,
}

/// User and password the authenticated modes accept.
pub const USER: &str = "deployer";
/// The password of [`USER`]: the `registryPassword` canary.
pub fn password() -> &'static str {
    crate::canary("registryPassword")
}

/// A running registry.
pub struct DockerRegistry {
    registry: Child,
    token_server: Option<Child>,
    dir: PathBuf,
    /// `127.0.0.1:PORT`
    pub addr: String,
    /// The auth mode.
    pub auth: RegistryAuth,
}

/// A free loopback port (bound, then released for the server to take).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_for_port(addr: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect(addr).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the registry exited before listening on {addr}: {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the registry did not listen on {addr} within 20 s");
}

/// A fresh directory under the system temp dir, removed by its owner.
pub fn scratch_dir(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let dir = std::env::temp_dir().join(format!("artifact-registry-{tag}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl DockerRegistry {
    /// Starts `docker-registry serve` with the given auth; `delete` enables manifest
    /// deletes.
    pub fn start(auth: RegistryAuth, delete: bool) -> DockerRegistry {
        let dir = scratch_dir("registry");
        let addr = format!("127.0.0.1:{}", free_port());
        let mut token_server = None;
        let auth_section = match auth {
            RegistryAuth::None => String::new(),
            RegistryAuth::Htpasswd => {
                let out = Command::new("htpasswd")
                    .args(["-Bbn", USER, password()])
                    .output()
                    .expect("htpasswd runs (apache2-utils: see scripts/setup)");
                assert!(out.status.success());
                std::fs::write(dir.join("htpasswd"), out.stdout).unwrap();
                format!(
                    "auth:\n  htpasswd:\n    realm: artifact-registry-tests\n    path: {}\n",
                    dir.join("htpasswd").display()
                )
            }
            RegistryAuth::Token => {
                let script = crate::repo_root().join("tests/servers/token_server.py");
                let mut child = Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()))
                    .arg(script)
                    .args([dir.to_str().unwrap(), USER, password()])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::inherit())
                    .spawn()
                    .expect("python3 runs");
                let mut line = String::new();
                BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
                let ready: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("token server: {line:?}"));
                token_server = Some(child);
                format!(
                    "auth:\n  token:\n    realm: http://127.0.0.1:{}/token\n    service: artifact-registry-tests\n    issuer: artifact-registry-tests-issuer\n    rootcertbundle: {}\n",
                    ready["port"],
                    ready["cert"].as_str().unwrap()
                )
            }
        };
        let config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: {delete}\nhttp:\n  addr: {addr}\n{auth_section}",
            dir.join("data").display()
        );
        std::fs::write(dir.join("config.yml"), config).unwrap();
        let mut registry = Command::new("docker-registry")
            .arg("serve")
            .arg(dir.join("config.yml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry runs (Debian's docker-registry package: see scripts/setup)");
        wait_for_port(&addr, &mut registry);
        DockerRegistry { registry, token_server, dir, addr, auth }
    }

    /// A local-provider configuration for this registry, with the credentials the
    /// auth mode needs. With htpasswd (Basic auth, which cannot be scoped) the binding
    /// opts in to handing out the user's password (`unscopedCredentials`), as a user
    /// of such a registry must.
    pub fn config(&self, name: &str) -> Value {
        let mut config = json!({ "name": name, "binding": { "service": "local", "registryUrl": self.addr } });
        if self.auth != RegistryAuth::None {
            config["local"] = json!({ "credentials": { "username": USER, "password": password() } });
        }
        if self.auth == RegistryAuth::Htpasswd {
            config["binding"]["unscopedCredentials"] = json!(true);
        }
        config
    }
}

impl Drop for DockerRegistry {
    fn drop(&mut self) {
        let _ = self.registry.kill();
        let _ = self.registry.wait();
        if let Some(mut t) = self.token_server.take() {
            drop(t.stdin.take());
            let _ = t.kill();
            let _ = t.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
