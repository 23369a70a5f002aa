//! Real clients: `skopeo` (Debian's) pushes and pulls a real image with credentials
//! from `artifact-registry generate-credentials`, against the embedded registry and
//! Debian's `docker-registry` (htpasswd and token auth); a pull credential is refused
//! on push; and with no credentials given, the docker credential helper configured in
//! skopeo's `auth.json` (`credHelpers`) supplies them, one provider call for a storm.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use artifact_registry_core::oci;
use artifact_registry_tests::gar_server::GarServer;
use artifact_registry_tests::oci_registry::{DockerRegistry, RegistryAuth, free_port, scratch_dir};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_artifact-registry");
const HELPER: &str = env!("CARGO_BIN_EXE_docker-credential-artifact-registry");

/// Writes an OCI image layout holding one real image (a tar layer whose digest is the
/// config's diff_id), tagged `v1`.
fn image_layout(dir: &Path) -> PathBuf {
    let layout = dir.join("layout");
    let blobs = layout.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let write = |bytes: &[u8]| {
        let digest = oci::digest(bytes);
        std::fs::write(blobs.join(digest.trim_start_matches("sha256:")), bytes).unwrap();
        digest
    };
    // A one-file tar (what an image layer is), made by the system's tar.
    let src = dir.join("layer-src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("hello.txt"), "hello from skopeo\n").unwrap();
    let tar = dir.join("layer.tar");
    let status = Command::new("tar")
        .args(["-cf", tar.to_str().unwrap(), "-C", src.to_str().unwrap(), "hello.txt"])
        .status()
        .unwrap();
    assert!(status.success());
    let layer = std::fs::read(&tar).unwrap();
    let layer_digest = write(&layer);
    let config =
        json!({ "architecture": "amd64", "os": "linux", "rootfs": { "type": "layers", "diff_ids": [layer_digest] } })
            .to_string();
    let config_digest = write(config.as_bytes());
    let manifest = oci::image_manifest(
        (oci::OCI_CONFIG, &config_digest, config.len()),
        &[("application/vnd.oci.image.layer.v1.tar", &layer_digest, layer.len())],
        &[],
    );
    let manifest_digest = write(&manifest);
    std::fs::write(layout.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let index = json!({ "schemaVersion": 2, "manifests": [{ "mediaType": oci::OCI_MANIFEST, "digest": manifest_digest,
        "size": manifest.len(), "annotations": { "org.opencontainers.image.ref.name": "v1" } }] });
    std::fs::write(layout.join("index.json"), index.to_string()).unwrap();
    layout
}

fn skopeo(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new("skopeo");
    c.arg("--insecure-policy").args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("skopeo runs (Debian package skopeo: see scripts/setup)")
}

fn ok(out: &Output, what: &str) {
    assert!(out.status.success(), "{what}: {}", String::from_utf8_lossy(&out.stderr));
}

/// `artifact-registry generate-credentials` as a user runs it.
fn credentials(config: &Value, repository: &str, permissions: &str) -> Value {
    let out = Command::new(BIN)
        .args(["--config", "-", "generate-credentials", repository, "--permissions", permissions])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(config.to_string().as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    ok(&out, "generate-credentials");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// skopeo's options for credentials: Basic as --creds, a bearer token as --registry-token.
fn creds_args(side: &str, creds: &Value) -> Vec<String> {
    let secret = creds["password"].as_str().unwrap();
    if creds["authMethod"] == "bearer" {
        vec![format!("--{side}-registry-token={secret}")]
    } else {
        vec![format!("--{side}-creds={}:{secret}", creds["username"].as_str().unwrap())]
    }
}

/// Push with push-pull credentials, pull back with pull credentials, and a push with
/// the pull credentials must fail.
fn round_trip(addr: &str, config: &Value, dir: &Path) {
    let layout = image_layout(dir);
    let repo = format!("{}/app", config["name"].as_str().unwrap());
    let push_creds = credentials(config, &repo, "push-pull");
    let pull_creds = credentials(config, &repo, "pull");
    let dest = format!("docker://{addr}/{repo}:v1");
    let mut args = vec!["copy".to_owned(), "--dest-tls-verify=false".to_owned()];
    args.extend(creds_args("dest", &push_creds));
    args.extend([format!("oci:{}:v1", layout.display()), dest.clone()]);
    ok(&skopeo(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[]), "push with push-pull credentials");

    let out_dir = dir.join("pulled");
    let mut args = vec!["copy".to_owned(), "--src-tls-verify=false".to_owned()];
    args.extend(creds_args("src", &pull_creds));
    args.extend([dest.clone(), format!("dir:{}", out_dir.display())]);
    ok(&skopeo(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[]), "pull with pull credentials");
    assert!(out_dir.join("manifest.json").exists());

    if pull_creds["authMethod"] == "bearer" {
        let mut args = vec!["copy".to_owned(), "--dest-tls-verify=false".to_owned()];
        args.extend(creds_args("dest", &pull_creds));
        args.extend([format!("oci:{}:v1", layout.display()), format!("docker://{addr}/{repo}:v2")]);
        let refused = skopeo(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
        assert!(!refused.status.success(), "a pull credential pushed");
    }
}

struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(data: &Path, extra: &[&str], password: &str) -> (Served, String) {
    let addr = format!("127.0.0.1:{}", free_port());
    let child = Command::new(BIN)
        .args(["serve", "--addr", &addr, "--data-dir", data.to_str().unwrap()])
        .args(extra)
        .env("ARTIFACT_REGISTRY_PASSWORD", password)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let served = Served(child);
    for _ in 0..400 {
        if std::net::TcpStream::connect(&addr).is_ok() {
            return (served, addr);
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("serve did not listen on {addr}");
}

/// The served registry's configuration; Basic auth cannot scope, so the binding opts in
/// to handing out the user's password (token auth gives scoped tokens regardless).
fn local_config(addr: &str, user: &str, password: &str) -> Value {
    json!({ "name": "artifacts", "binding": { "service": "local", "registryUrl": addr, "unscopedCredentials": true },
            "local": { "credentials": { "username": user, "password": password } } })
}

#[test]
fn skopeo_with_the_embedded_registry() {
    for mode in ["basic", "token"] {
        let dir = scratch_dir(&format!("skopeo-embedded-{mode}"));
        let (_server, addr) = serve(&dir.join("data"), &["--user", "ci", "--auth", mode], "s3cret-pass");
        round_trip(&addr, &local_config(&addr, "ci", "s3cret-pass"), &dir);
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn skopeo_with_debian_docker_registry() {
    for auth in [RegistryAuth::Htpasswd, RegistryAuth::Token] {
        let server = DockerRegistry::start(auth, true);
        let dir = scratch_dir("skopeo-distribution");
        round_trip(&server.addr, &server.config("artifacts"), &dir);
        let _ = std::fs::remove_dir_all(dir);
    }
}

fn helper_env(dir: &Path, addr: &str, config: &Value) -> Vec<(String, String)> {
    let auth = dir.join("auth.json");
    std::fs::write(&auth, json!({ "credHelpers": { addr: "artifact-registry" } }).to_string()).unwrap();
    let helper_dir = Path::new(HELPER).parent().unwrap();
    vec![
        ("REGISTRY_AUTH_FILE".into(), auth.to_str().unwrap().into()),
        ("PATH".into(), format!("{}:{}", helper_dir.display(), std::env::var("PATH").unwrap_or_default())),
        ("ARTIFACT_REGISTRY_CONFIG".into(), config.to_string()),
        ("ARTIFACT_REGISTRY_CACHE_DIR".into(), dir.join("cache").to_str().unwrap().into()),
        ("ARTIFACT_REGISTRY_HELPER_CONFIG".into(), dir.join("no-helper-config.json").to_str().unwrap().into()),
    ]
}

#[test]
fn skopeo_through_the_credential_helper() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch_dir("skopeo-helper");
    let (_server, addr) = serve(&dir.join("data"), &["--user", "ci", "--auth", "token"], "h3lper-pass");
    let config = local_config(&addr, "ci", "h3lper-pass");
    let layout = image_layout(&dir);
    let env = helper_env(&dir, &addr, &config);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();

    // No credentials on the command line: the helper supplies them.
    ok(
        &skopeo(
            &[
                "copy",
                "--dest-tls-verify=false",
                &format!("oci:{}:v1", layout.display()),
                &format!("docker://{addr}/artifacts/app:v1"),
            ],
            &env,
        ),
        "push through the helper",
    );
    let out = dir.join("pulled");
    ok(
        &skopeo(
            &[
                "copy",
                "--src-tls-verify=false",
                &format!("docker://{addr}/artifacts/app:v1"),
                &format!("dir:{}", out.display()),
            ],
            &env,
        ),
        "pull through the helper",
    );
    // The cache is private.
    let cache = dir.join("cache");
    assert_eq!(std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777, 0o700);
    for entry in std::fs::read_dir(&cache).unwrap() {
        let mode = entry.unwrap().metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // Without the helper's configuration, skopeo has no credentials and is refused.
    let bare: Vec<(&str, &str)> = env.iter().filter(|(k, _)| *k != "ARTIFACT_REGISTRY_CONFIG").copied().collect();
    let refused = skopeo(&["inspect", "--tls-verify=false", &format!("docker://{addr}/artifacts/app:v1")], &bare);
    assert!(!refused.status.success());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_pull_storm_makes_one_provider_call() {
    let server = GarServer::start();
    server.control("/_contract/configure", Some(json!({ "lroPolls": 0 })));
    let pull = "pull-sa@acme-p1.iam.gserviceaccount.com";
    server.control(
        "/_contract/configure",
        Some(json!({ "tokenCreators": { pull: ["deployer@acme-p1.iam.gserviceaccount.com"] } })),
    );
    let config = server.config("images", json!({ "pullServiceAccountEmail": pull }));
    let dir = scratch_dir("helper-storm");
    let env = helper_env(&dir, "us-central1-docker.pkg.dev", &config);
    let children: Vec<Child> = (0..8)
        .map(|_| {
            let mut c = Command::new(HELPER);
            c.arg("get").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
            for (k, v) in &env {
                c.env(k, v);
            }
            let mut child = c.spawn().unwrap();
            use std::io::Write;
            child.stdin.take().unwrap().write_all(b"https://us-central1-docker.pkg.dev").unwrap();
            child
        })
        .collect();
    let mut secrets = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
        let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(answer["Username"], "oauth2accesstoken");
        secrets.push(answer["Secret"].as_str().unwrap().to_owned());
    }
    assert!(secrets.windows(2).all(|w| w[0] == w[1]), "every helper got the same cached token");
    let impersonations = server.state()["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["path"].as_str().unwrap().ends_with(":generateAccessToken"))
        .count();
    assert_eq!(impersonations, 1, "8 concurrent helpers made {impersonations} provider calls");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_quickstart_keep_hint_works_with_skopeo() {
    use std::io::{BufRead, BufReader};
    let mut child =
        Command::new(BIN).args(["quickstart", "--keep"]).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut hint = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if line.trim_start().starts_with("skopeo copy") {
            hint = Some(line.trim().to_owned());
            break;
        }
    }
    let served = Served(child);
    let hint = hint.expect("quickstart --keep prints a skopeo command");
    let dir = scratch_dir("quickstart-hint");
    // The printed command, as a user would paste it (run in a scratch directory).
    let args: Vec<&str> = hint.split_whitespace().skip(1).collect();
    let out = Command::new("skopeo").arg("--insecure-policy").args(&args).current_dir(&dir).output().unwrap();
    assert!(out.status.success(), "{hint}: {}", String::from_utf8_lossy(&out.stderr));
    assert!(dir.join("hello-world/manifest.json").exists(), "{hint}");
    drop(served);
    let _ = std::fs::remove_dir_all(dir);
}
