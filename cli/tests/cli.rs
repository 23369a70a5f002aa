//! The `artifact-registry` command as a user runs it: quickstart, serve, every
//! operation with its JSON output and exit codes, `--help` with examples.

use std::io::Write;
use std::process::{Child, Command, Output, Stdio};

use artifact_registry_tests::canary;
use artifact_registry_tests::oci_registry::{DockerRegistry, RegistryAuth, free_port, scratch_dir};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_artifact-registry");

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).env_remove("ARTIFACT_REGISTRY_CONFIG").output().unwrap()
}

/// The command with `config` in `ARTIFACT_REGISTRY_CONFIG`.
fn run_with(config: &Value, args: &[&str]) -> Output {
    Command::new(BIN).args(args).env("ARTIFACT_REGISTRY_CONFIG", config.to_string()).output().unwrap()
}

fn stdout_json(out: &Output) -> Value {
    assert!(out.status.success(), "failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&out.stdout)))
}

fn failure(out: &Output, exit: i32, code: &str) {
    assert_eq!(out.status.code(), Some(exit), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let err: Value = serde_json::from_slice(&out.stderr)
        .unwrap_or_else(|_| panic!("stderr not JSON: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(err["code"], code, "{err}");
    assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()));
}

#[test]
fn quickstart_runs_every_step() {
    let out = run(&["quickstart"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    for step in [
        "started the embedded registry",
        "created repository artifacts/hello-world",
        "got it back",
        "generated push credentials",
        "pushed a tiny image artifacts/hello-world:v1 with those credentials",
        "pulled the manifest back: sha256:",
        "deleted the repository",
        "docker pull 127.0.0.1:",
    ] {
        assert!(text.contains(step), "missing {step:?} in:\n{text}");
    }
    assert!(text.lines().filter(|l| l.trim_start().starts_with("ok")).all(|l| l.contains(" ms ")), "{text}");
}

struct Served(Child, std::path::PathBuf);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = std::fs::remove_dir_all(&self.1);
    }
}

fn serve(user: Option<(&str, &str)>) -> (Served, String) {
    let dir = scratch_dir("cli-serve");
    let addr = format!("127.0.0.1:{}", free_port());
    let data = dir.join("data");
    let mut args = vec!["serve", "--addr", &addr, "--data-dir", data.to_str().unwrap()];
    let mut command = Command::new(BIN);
    if let Some((user, password)) = user {
        // Basic, which these tests exercise (token auth, the default, has its own tests).
        args.extend(["--user", user, "--auth", "basic"]);
        command.env("ARTIFACT_REGISTRY_PASSWORD", password);
    }
    let child = command.args(&args).stderr(Stdio::null()).spawn().unwrap();
    let served = Served(child, dir);
    for _ in 0..200 {
        if std::net::TcpStream::connect(&addr).is_ok() {
            return (served, addr);
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    panic!("serve did not listen on {addr}");
}

#[test]
fn every_operation_against_the_served_registry() {
    let password = canary("registryPassword");
    let (_served, addr) = serve(Some(("ci", password)));
    let dir = scratch_dir("cli-config");
    let config = json!({ "name": "artifacts", "binding": { "service": "local", "registryUrl": addr, "unscopedCredentials": true },
                         "local": { "credentials": { "username": "ci", "password": password } } });
    let file = dir.join("config.json");
    std::fs::write(&file, config.to_string()).unwrap();
    let cfg = file.to_str().unwrap();

    let created = stdout_json(&run(&["--config", cfg, "create-repository", "web"]));
    assert_eq!(created["name"], "artifacts/web");
    assert_eq!(created["uri"], format!("{addr}/artifacts/web"));
    assert_eq!(stdout_json(&run(&["--config", cfg, "get-repository", "artifacts/web"])), created);
    let creds = stdout_json(&run(&[
        "--config",
        cfg,
        "generate-credentials",
        "artifacts/web",
        "--permissions",
        "push-pull",
        "--ttl",
        "600",
    ]));
    assert_eq!(creds, json!({ "authMethod": "basic", "username": "ci", "password": password, "expiresAt": null }));
    assert_eq!(stdout_json(&run(&["--config", cfg, "registry-endpoint"])), json!(format!("http://{addr}")));
    assert_eq!(stdout_json(&run(&["--config", cfg, "upstream-repository-prefix"])), json!("artifacts"));
    assert_eq!(stdout_json(&run(&["--config", cfg, "delete-repository", "artifacts/web"])), Value::Null);

    // Typed failures: exit 1 for operation failures, 2 for invalid input.
    failure(&run(&["--config", cfg, "get-repository", "artifacts/missing"]), 1, "not-found");
    let access = r#"{"platform":"aws","accountIds":["111111111111"]}"#;
    failure(
        &run(&["--config", cfg, "add-cross-account-access", "artifacts/web", "--access", access]),
        1,
        "not-supported",
    );
    failure(&run(&["--config", cfg, "create-repository", "Bad Name"]), 2, "invalid-input");
    failure(&run(&["--config", cfg, "get-repository", "other/web"]), 2, "invalid-input");
    failure(
        &run(&["--config", cfg, "generate-credentials", "artifacts/web", "--permissions", "admin"]),
        2,
        "invalid-input",
    );
    failure(
        &run(&["--config", cfg, "add-cross-account-access", "artifacts/web", "--access", "{not json"]),
        2,
        "invalid-input",
    );
    failure(&run(&["get-repository", "artifacts/web"]), 2, "invalid-input");
    failure(&run(&["--config", "/nonexistent/config.json", "registry-endpoint"]), 2, "invalid-input");

    // The configuration from stdin and from the environment.
    let mut child = Command::new(BIN)
        .args(["--config", "-", "get-repository", "artifacts/missing"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(config.to_string().as_bytes()).unwrap();
    failure(&child.wait_with_output().unwrap(), 1, "not-found");
    let out = run_with(&config, &["registry-endpoint"]);
    assert_eq!(stdout_json(&out), json!(format!("http://{addr}")));

    // A wrong password is access-denied, and never printed.
    let mut wrong = config.clone();
    wrong["local"]["credentials"]["password"] = json!("wrong-password-value");
    let out = run_with(&wrong, &["create-repository", "web"]);
    failure(&out, 1, "access-denied");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("wrong-password-value"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn serve_without_a_user_is_open_to_anyone() {
    let (_served, addr) = serve(None);
    let anonymous = json!({ "name": "artifacts", "binding": { "service": "local", "registryUrl": addr } });
    let created = stdout_json(&run_with(&anonymous, &["create-repository", "open"]));
    assert_eq!(created["name"], "artifacts/open");
    let creds =
        stdout_json(&run_with(&anonymous, &["generate-credentials", "artifacts/open", "--permissions", "push-pull"]));
    assert_eq!(creds, json!({ "authMethod": "basic", "username": "", "password": "", "expiresAt": null }));
    // Clients that send credentials anyway are served too.
    let with_user = json!({ "name": "artifacts", "binding": { "service": "local", "registryUrl": addr },
                            "local": { "credentials": { "username": "someone", "password": "anything-at-all" } } });
    assert_eq!(stdout_json(&run_with(&with_user, &["get-repository", "artifacts/open"])), created);
}

#[test]
fn lifecycle_against_debian_registry_through_the_cli() {
    let server = DockerRegistry::start(RegistryAuth::Htpasswd, true);
    let config = server.config("artifacts");
    let cli = |args: &[&str]| run_with(&config, args);
    let created = stdout_json(&cli(&["create-repository", "svc"]));
    assert_eq!(created["name"], "artifacts/svc");
    assert_eq!(stdout_json(&cli(&["get-repository", "artifacts/svc"])), created);
    assert_eq!(
        stdout_json(&cli(&["generate-credentials", "artifacts/svc", "--permissions", "pull"]))["authMethod"],
        "basic"
    );
    assert_eq!(stdout_json(&cli(&["delete-repository", "artifacts/svc"])), Value::Null);
    failure(&cli(&["get-repository", "artifacts/svc"]), 1, "not-found");
}

#[test]
fn every_command_has_help_with_an_example() {
    let commands = [
        "quickstart",
        "serve",
        "create-repository",
        "get-repository",
        "delete-repository",
        "add-cross-account-access",
        "remove-cross-account-access",
        "get-cross-account-access",
        "generate-credentials",
        "registry-endpoint",
        "upstream-repository-prefix",
    ];
    let top = run(&["--help"]);
    let text = String::from_utf8_lossy(&top.stdout);
    assert!(top.status.success() && text.contains("Examples:"), "{text}");
    for command in commands {
        assert!(text.contains(command), "top-level help lists {command}");
        let out = run(&[command, "--help"]);
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{command} --help");
        assert!(help.contains("Example:") && help.contains("artifact-registry "), "{command}: {help}");
    }
    assert_eq!(run(&["no-such-command"]).status.code(), Some(2));
}

#[test]
fn trace_prints_one_line_per_exchange_without_secrets() {
    let password = canary("registryPassword");
    let (_served, addr) = serve(Some(("ci", password)));
    let config = json!({ "name": "artifacts", "binding": { "service": "local", "registryUrl": addr, "unscopedCredentials": true },
                         "local": { "credentials": { "username": "ci", "password": password } } });
    let out = run_with(&config, &["--trace", "create-repository", "traced"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<Value> = stderr.lines().map(|l| serde_json::from_str(l).expect("each trace line is JSON")).collect();
    let exchanges: Vec<&Value> = lines.iter().filter(|l| l["method"].is_string()).collect();
    assert!(exchanges.len() >= 3, "{stderr}");
    for e in &exchanges {
        assert!(e["url"].as_str().unwrap().starts_with(&format!("http://{addr}/v2/")), "{e}");
        assert!(e["status"].is_u64() && e["durationMs"].is_number(), "{e}");
    }
    assert!(exchanges.iter().any(|e| e["method"] == "PUT" && e["status"] == 201), "{stderr}");
    assert!(exchanges[0]["requestHeaders"].as_array().unwrap().iter().any(|h| h == "Authorization"));
    for form in canary_forms(password, &["ci"]) {
        assert!(!stderr.contains(&form), "a secret in the trace: {stderr}");
    }
    assert!(!stderr.contains("Basic "), "a header value in the trace: {stderr}");
}

#[test]
fn ecr_with_credentials_from_the_environment_only() {
    use artifact_registry_tests::moto::MotoServer;
    let moto = MotoServer::start();
    let home = scratch_dir("cli-ambient");
    // No credentials in the configuration: they come from the environment.
    let config = json!({ "name": "artifacts", "binding": { "service": "ecr", "repositoryPrefix": "amb", "unscopedCredentials": true },
        "aws": { "accountId": "123456789012", "endpoints": { "ecr": moto.endpoint, "sts": moto.endpoint } } });
    let run_env = |args: &[&str], with_keys: bool| {
        let mut c = Command::new(BIN);
        c.args(args)
            .env("ARTIFACT_REGISTRY_CONFIG", config.to_string())
            .env("HOME", &home)
            .env("AWS_EC2_METADATA_DISABLED", "true");
        for k in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
            "AWS_CONFIG_FILE",
            "AWS_SHARED_CREDENTIALS_FILE",
            "AWS_ROLE_ARN",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
        ] {
            c.env_remove(k);
        }
        // The region too comes from the environment (none in the configuration).
        c.env("AWS_DEFAULT_REGION", "us-east-1");
        if with_keys {
            c.env("AWS_ACCESS_KEY_ID", &moto.access_key_id).env("AWS_SECRET_ACCESS_KEY", &moto.secret_access_key);
        }
        c.output().unwrap()
    };
    let who = stdout_json(&run_env(&["whoami"], true));
    assert_eq!((who["source"].as_str(), who["method"].as_str()), (Some("environment"), Some("env")), "{who}");
    assert_eq!(who["account"], "123456789012", "{who}");
    assert!(who["arn"].as_str().unwrap().ends_with(":user/artifact-registry-tests"), "{who}");
    assert!(!who.to_string().contains(&moto.secret_access_key), "whoami shows the secret");

    let created = stdout_json(&run_env(&["create-repository", "web"], true));
    assert_eq!(created["name"], "amb-web");
    stdout_json(&run_env(&["get-repository", "amb-web"], true));
    let grant = r#"{"platform":"aws","accountIds":["111111111111"]}"#;
    stdout_json(&run_env(&["add-cross-account-access", "amb-web", "--access", grant], true));
    let creds = stdout_json(&run_env(&["generate-credentials", "amb-web", "--permissions", "pull"], true));
    assert_eq!(creds["username"], "AWS");
    stdout_json(&run_env(&["delete-repository", "amb-web"], true));

    // Nothing in the environment: a clear error that lists every source tried.
    let none = run_env(&["whoami"], false);
    assert_eq!(none.status.code(), Some(1));
    let err: Value = serde_json::from_slice(&none.stderr).unwrap();
    assert_eq!(err["code"], "access-denied");
    let message = err["message"].as_str().unwrap();
    for source in ["environment", "web identity", "credentials", "credential_process", "container", "instance metadata"]
    {
        assert!(message.contains(source), "{source} missing from: {message}");
    }
    let _ = std::fs::remove_dir_all(home);
}

#[test]
fn a_panic_is_one_line_and_exit_70_not_a_backtrace() {
    let out = Command::new(BIN).arg("__panic-probe").env_remove("RUST_BACKTRACE").output().unwrap();
    assert_eq!(out.status.code(), Some(70));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("internal error") && !stderr.contains("panicked at"), "{stderr}");
}

#[test]
fn a_server_that_never_answers_is_a_timeout_within_the_deadline() {
    let (_hole, config) = artifact_registry_tests::stub_server::never_answering_ecr();
    let started = std::time::Instant::now();
    let out = run_with(&config, &["get-repository", "acme-app"]);
    failure(&out, 1, "timeout");
    // An upper bound only: the deadline plus a margin for a loaded machine.
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
}

/// The forms of a secret that must never print: raw, base64, percent-encoded, and
/// `Basic` with the users in play.
fn canary_forms(secret: &str, users: &[&str]) -> Vec<String> {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let mut forms = vec![secret.to_owned(), b64(secret), artifact_registry_core::http::percent_encode(secret, false)];
    forms.extend(users.iter().map(|u| b64(&format!("{u}:{secret}"))));
    forms
}

#[test]
fn canary_secrets_never_print_with_trace_on_any_command() {
    // A short password (under 8 characters), real: every call succeeds with it.
    let password = canary("registryPassword");
    let (aws_secret, aws_token) = (canary("awsSecretAccessKey"), canary("awsSessionToken"));
    let (_served, addr) = serve(Some(("ci", password)));
    let local = json!({ "name": "artifacts", "binding": { "service": "local", "registryUrl": addr, "unscopedCredentials": true },
                        "local": { "credentials": { "username": "ci", "password": password } } });
    // ECR with canaries a server refuses: the errors must be clean as well.
    let (_hole, mut ecr) = artifact_registry_tests::stub_server::never_answering_ecr();
    ecr["aws"]["credentials"] =
        json!({ "accessKeyId": "AKIDEXAMPLE", "secretAccessKey": aws_secret, "sessionToken": aws_token });
    ecr["aws"]["endpoints"]["sts"] = ecr["aws"]["endpoints"]["ecr"].clone();
    ecr["timeouts"] = json!({ "requestSeconds": 0.3, "operationSeconds": 1 });
    // So that generate-credentials gets as far as sending (and failing) too.
    ecr["binding"]["unscopedCredentials"] = json!(true);
    let grant = r#"{"platform":"aws","accountIds":["111111111111"]}"#;
    let mut printed = String::new();
    for (config, name, secrets) in
        [(&local, "artifacts/canary", vec![password]), (&ecr, "acme-canary", vec![aws_secret, aws_token])]
    {
        let commands: [&[&str]; 6] = [
            &["create-repository", "canary"],
            &["get-repository", name],
            &["generate-credentials", name, "--permissions", "push-pull"],
            &["whoami"],
            &["add-cross-account-access", name, "--access", grant],
            &["delete-repository", name],
        ];
        for args in commands {
            let out = run_with(config, &[&["--trace"], args].concat());
            let stderr = String::from_utf8_lossy(&out.stderr);
            // Each command runs: no usage error, no name refused before sending.
            assert!(!stderr.contains("Usage:") && !stderr.contains("invalid-input"), "{args:?}: {stderr}");
            printed.push_str(&String::from_utf8_lossy(&out.stderr));
            // generate-credentials prints the credentials on stdout: that is what it is for.
            if args[0] != "generate-credentials" {
                printed.push_str(&String::from_utf8_lossy(&out.stdout));
            }
        }
        for secret in secrets {
            for form in canary_forms(secret, &["ci", "AWS", ""]) {
                assert!(!printed.contains(&form), "{form:?} (a form of a canary) printed: {printed}");
            }
        }
    }
    assert!(printed.contains("\"method\""), "the trace ran: {printed}");
    // Printed too, for the scan of everything the suite printed (tests/canary_scan.py).
    println!("{printed}");
}
