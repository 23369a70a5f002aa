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

/// `skopeo copy` of the image layout's `v1` to `dest`, logged in with `creds`.
fn push_layout(layout: &Path, creds: &Value, dest: &str) -> Output {
    let mut args = vec!["copy".to_owned(), "--dest-tls-verify=false".to_owned()];
    args.extend(creds_args("dest", creds));
    args.extend([format!("oci:{}:v1", layout.display()), dest.to_owned()]);
    skopeo(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[])
}

/// Push with push-pull credentials, pull back with pull credentials, and a push with
/// the pull credentials must fail.
fn round_trip(addr: &str, config: &Value, dir: &Path) {
    let layout = image_layout(dir);
    let repo = format!("{}/app", config["name"].as_str().unwrap());
    let push_creds = credentials(config, &repo, "push-pull");
    let pull_creds = credentials(config, &repo, "pull");
    let dest = format!("docker://{addr}/{repo}:v1");
    ok(&push_layout(&layout, &push_creds, &dest), "push with push-pull credentials");

    let out_dir = dir.join("pulled");
    let mut args = vec!["copy".to_owned(), "--src-tls-verify=false".to_owned()];
    args.extend(creds_args("src", &pull_creds));
    args.extend([dest.clone(), format!("dir:{}", out_dir.display())]);
    ok(&skopeo(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[]), "pull with pull credentials");
    assert!(out_dir.join("manifest.json").exists());

    if pull_creds["authMethod"] == "bearer" {
        let refused = push_layout(&layout, &pull_creds, &format!("docker://{addr}/{repo}:v2"));
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

/// `serve --user` with no `--auth` is token auth: its "pull" credentials are a
/// repository-scoped pull token, which skopeo cannot push with (a round trip checks
/// that), and the binding needs no opt-in to hand them out.
#[test]
fn serve_with_a_user_and_no_auth_flag_scopes_pull_credentials() {
    let dir = scratch_dir("skopeo-embedded-default");
    let (_server, addr) = serve(&dir.join("data"), &["--user", "ci"], "s3cret-pass");
    let mut config = local_config(&addr, "ci", "s3cret-pass");
    config["binding"].as_object_mut().unwrap().remove("unscopedCredentials");
    assert_eq!(credentials(&config, "artifacts/app", "pull")["authMethod"], "bearer");
    round_trip(&addr, &config, &dir);
    let _ = std::fs::remove_dir_all(dir);
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

/// Runs `program arg` with `input` on stdin, `unset` removed from the environment
/// and `env` added, as docker runs a helper and the kubelet a provider.
fn run_piped(program: &str, arg: &str, input: &str, env: &[(String, String)], unset: &[&str]) -> Output {
    use std::io::Write;
    let mut c = Command::new(program);
    c.arg(arg).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    for k in unset {
        c.env_remove(k);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.spawn().unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// Runs the helper as docker does: `action`, `input` on stdin, `env` added.
fn helper(action: &str, input: &str, env: &[(String, String)]) -> Output {
    run_piped(HELPER, action, input, env, &[])
}

fn secret_of(out: &Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    serde_json::from_slice::<Value>(&out.stdout).unwrap()["Secret"].as_str().unwrap().to_owned()
}

/// One host, one cache, two identities (a key, then an impersonated service account,
/// from GOOGLE_APPLICATION_CREDENTIALS): each gets its own token, never the other's.
#[test]
fn each_identity_gets_its_own_cached_token() {
    let server = GarServer::start();
    let target = "other@acme-p1.iam.gserviceaccount.com";
    server.control(
        "/_contract/configure",
        Some(json!({ "lroPolls": 0, "tokenCreators": { target: ["deployer@acme-p1.iam.gserviceaccount.com"] } })),
    );
    let dir = scratch_dir("helper-identities");
    let mut config = server.config("images", json!({ "unscopedCredentials": true }));
    config["gcp"].as_object_mut().unwrap().remove("credentials");
    let key = dir.join("key.json");
    std::fs::write(&key, server.key.to_string()).unwrap();
    let impersonated = dir.join("impersonated.json");
    std::fs::write(
        &impersonated,
        json!({ "type": "impersonated_service_account", "source_credentials": server.key,
                "service_account_impersonation_url": format!("https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/{target}:generateAccessToken") })
        .to_string(),
    )
    .unwrap();
    let mut env = helper_env(&dir, "us-central1-docker.pkg.dev", &config);
    env.push(("HOME".into(), dir.to_str().unwrap().into()));
    let with = |file: &Path| {
        let mut env = env.clone();
        env.push(("GOOGLE_APPLICATION_CREDENTIALS".into(), file.to_str().unwrap().into()));
        env
    };
    let url = "https://us-central1-docker.pkg.dev";
    let first = secret_of(&helper("get", url, &with(&key)));
    let second = secret_of(&helper("get", url, &with(&impersonated)));
    assert_ne!(first, second, "the second identity got the first one's cached token");
    let email = |token: &str| {
        let answer = artifact_registry_tests::plain_http::request(
            "GET",
            &format!("{}/tokeninfo?access_token={token}", server.endpoint),
            &[],
            b"",
        );
        serde_json::from_slice::<Value>(&answer.body).unwrap()["email"].as_str().unwrap_or("").to_owned()
    };
    assert_eq!(email(&first), "deployer@acme-p1.iam.gserviceaccount.com");
    assert_eq!(email(&second), target);
    // Each identity's entry is reused by that identity.
    assert_eq!(secret_of(&helper("get", url, &with(&key))), first);
    let _ = std::fs::remove_dir_all(dir);
}

/// What another user of a shared cache directory could plant, and what the cache
/// holds that says nothing: neither is used.
#[test]
fn the_cache_follows_no_link_and_reuses_nothing_without_an_expiry() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch_dir("helper-cache");
    let (_server, addr) = serve(&dir.join("data"), &["--user", "ci"], "c4che-pass");
    let config = local_config(&addr, "ci", "c4che-pass");
    let env = helper_env(&dir, &addr, &config);
    let url = format!("http://{addr}");
    assert_eq!(secret_of(&helper("get", &url, &env)), "c4che-pass");
    let cache = dir.join("cache");
    let entry = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .expect("an entry was cached");

    // A link at the entry's path to a file of someone else's choosing is not read.
    let planted = dir.join("planted.json");
    let fake = json!({ "username": "ci", "secret": "planted-secret", "expiresAt": "2099-01-01T00:00:00+00:00" });
    std::fs::write(&planted, fake.to_string()).unwrap();
    std::fs::remove_file(&entry).unwrap();
    std::os::unix::fs::symlink(&planted, &entry).unwrap();
    assert_eq!(secret_of(&helper("get", &url, &env)), "c4che-pass", "the planted link was followed");
    assert_eq!(std::fs::read_to_string(&planted).unwrap(), fake.to_string(), "the link's target was written");
    assert!(!std::fs::symlink_metadata(&entry).unwrap().file_type().is_symlink(), "the link is still in place");

    // An entry without an expiry is generated afresh.
    std::fs::write(&entry, json!({ "username": "ci", "secret": "no-expiry-secret" }).to_string()).unwrap();
    assert_eq!(secret_of(&helper("get", &url, &env)), "c4che-pass");

    // A cache directory others can use is not used: said on stderr, nothing cached.
    let shared = dir.join("shared-cache");
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    let mut env = env.clone();
    env.retain(|(k, _)| k != "ARTIFACT_REGISTRY_CACHE_DIR");
    env.push(("ARTIFACT_REGISTRY_CACHE_DIR".into(), shared.to_str().unwrap().into()));
    let out = helper("get", &url, &env);
    assert_eq!(secret_of(&out), "c4che-pass");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not caching credentials"), "{out:?}");
    assert_eq!(std::fs::read_dir(&shared).unwrap().count(), 0, "something was cached in a shared directory");
    let _ = std::fs::remove_dir_all(dir);
}

/// With the helper as docker's `credsStore`, `docker login` to a host it does not
/// manage must fail visibly, not "succeed" and lose the credentials.
#[test]
fn store_and_erase_fail_for_hosts_the_helper_does_not_manage() {
    let dir = scratch_dir("helper-store");
    let (_server, addr) = serve(&dir.join("data"), &["--user", "ci"], "st0re-pass");
    let env = helper_env(&dir, &addr, &local_config(&addr, "ci", "st0re-pass"));
    let login = json!({ "ServerURL": "https://registry.other.example", "Username": "me", "Secret": "typed-password" });
    for (action, input) in [("store", login.to_string()), ("erase", "https://registry.other.example".to_owned())] {
        let out = helper(action, &input, &env);
        assert_eq!(out.status.code(), Some(1), "{action}: {out:?}");
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(said.contains("does not manage registry.other.example"), "{action}: {said}");
        assert!(!said.contains("typed-password") && !String::from_utf8_lossy(&out.stdout).contains("typed-password"));
    }
    // A managed host: store is accepted (credentials are generated), erase works.
    let managed = json!({ "ServerURL": format!("http://{addr}"), "Username": "ci", "Secret": "x" });
    assert!(helper("store", &managed.to_string(), &env).status.success());
    assert!(helper("erase", &format!("http://{addr}"), &env).status.success());
    // list names the managed hosts only.
    let listed: Value = serde_json::from_slice(&helper("list", "", &env).stdout).unwrap();
    assert_eq!(listed.as_object().unwrap().keys().collect::<Vec<_>>(), [&addr]);
    let _ = std::fs::remove_dir_all(dir);
}

/// Runs `artifact-registry kubelet-credential-provider` as the kubelet does: the
/// request on stdin, `env` added.
fn kubelet(request: &str, env: &[(String, String)]) -> Output {
    run_piped(BIN, "kubelet-credential-provider", request, env, &[])
}

/// A `CredentialProviderRequest` as the kubelet's published types serialise it.
fn kubelet_request(image: &str) -> String {
    json!({ "apiVersion": "credentialprovider.kubelet.k8s.io/v1", "kind": "CredentialProviderRequest", "image": image })
        .to_string()
}

/// A Go duration (`1h54m0s`) in seconds.
fn go_seconds(d: &str) -> i64 {
    let (mut total, mut number) = (0, String::new());
    for c in d.chars() {
        match c {
            '0'..='9' => number.push(c),
            'h' | 'm' | 's' => {
                let n: i64 = number.parse().unwrap();
                total += n * match c {
                    'h' => 3600,
                    'm' => 60,
                    _ => 1,
                };
                number.clear();
            }
            _ => panic!("not a Go duration: {d}"),
        }
    }
    total
}

#[test]
fn the_kubelet_credential_provider_gives_a_login_that_pulls() {
    let dir = scratch_dir("kubelet-embedded");
    let password = artifact_registry_tests::canary("registryPassword");
    let (_server, addr) = serve(&dir.join("data"), &["--user", "ci"], password);
    let mut config = local_config(&addr, "ci", password);
    config["binding"].as_object_mut().unwrap().remove("unscopedCredentials");
    let layout = image_layout(&dir);
    let push = credentials(&config, "artifacts/app", "push-pull");
    ok(&push_layout(&layout, &push, &format!("docker://{addr}/artifacts/app:v1")), "push");

    let env = helper_env(&dir, &addr, &config);
    let out = kubelet(&kubelet_request(&format!("{addr}/artifacts/app:v1")), &env);
    ok(&out, "kubelet-credential-provider");
    let response: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(response["apiVersion"], "credentialprovider.kubelet.k8s.io/v1");
    assert_eq!(response["kind"], "CredentialProviderResponse");
    assert_eq!(response["cacheKeyType"], "Image");
    let auth = &response["auth"][format!("{addr}/artifacts/app")];
    let (user, pass) = (auth["username"].as_str().unwrap(), auth["password"].as_str().unwrap());
    // The login pulls the image, with nothing else configured.
    let pulled = dir.join("pulled");
    let creds = format!("{user}:{pass}");
    ok(
        &skopeo(
            &[
                "copy",
                "--src-tls-verify=false",
                "--src-creds",
                &creds,
                &format!("docker://{addr}/artifacts/app:v1"),
                &format!("dir:{}", pulled.display()),
            ],
            &[],
        ),
        "pull with the kubelet's login",
    );
    assert!(pulled.join("manifest.json").exists());

    // A host no binding serves: an answer without credentials, not an error.
    let other = kubelet(&kubelet_request("registry.example.com/x/y:1"), &env);
    ok(&other, "an unserved host");
    let other: Value = serde_json::from_slice(&other.stdout).unwrap();
    assert_eq!(other["auth"], json!({}), "{other}");
    assert_eq!(other["cacheDuration"], "0h0m0s");

    // A malformed request, another apiVersion, or a service-account token: a non-zero
    // exit with the reason on stderr (the kubelet logs it), never the token.
    let with_token = json!({ "apiVersion": "credentialprovider.kubelet.k8s.io/v1", "kind": "CredentialProviderRequest",
                             "image": format!("{addr}/artifacts/app:v1"), "serviceAccountToken": artifact_registry_tests::canary("serviceAccountToken"),
                             "serviceAccountAnnotations": {} })
    .to_string();
    for request in [
        "not json".to_owned(),
        kubelet_request(&format!("{addr}/artifacts/app:v1")).replace("/v1\"", "/v2\""),
        with_token,
    ] {
        let out = kubelet(&request, &env);
        assert!(!out.status.success(), "{request}");
        assert!(out.stdout.is_empty(), "{request}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("kubelet-credential-provider:"), "{stderr}");
        assert!(
            !stderr.contains(artifact_registry_tests::canary("serviceAccountToken")) && !stderr.contains(password),
            "{stderr}"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// The figure for the docs: 100 kubelet requests for 10 images (10 tags of each)
/// make one provider call per image repository, then come from the cache; each
/// answer's cacheDuration ends before the token does.
#[test]
fn a_hundred_kubelet_requests_for_ten_images_make_ten_provider_calls() {
    let server = GarServer::start();
    let pull = "pull-sa@acme-p1.iam.gserviceaccount.com";
    server.control(
        "/_contract/configure",
        Some(json!({ "tokenCreators": { pull: ["deployer@acme-p1.iam.gserviceaccount.com"] } })),
    );
    let config = server.config("images", json!({ "pullServiceAccountEmail": pull }));
    let project = config["gcp"]["projectId"].as_str().unwrap().to_owned();
    let dir = scratch_dir("kubelet-storm");
    let env = helper_env(&dir, "us-central1-docker.pkg.dev", &config);
    let started = std::time::Instant::now();
    for round in 0..10 {
        for image in 0..10 {
            let repository = format!("{project}/images/img{image}");
            let out = kubelet(&kubelet_request(&format!("us-central1-docker.pkg.dev/{repository}:v{round}")), &env);
            ok(&out, "kubelet-credential-provider");
            let response: Value = serde_json::from_slice(&out.stdout).unwrap();
            let auth = &response["auth"][format!("us-central1-docker.pkg.dev/{repository}")];
            assert_eq!(auth["username"], "oauth2accesstoken", "{response}");
            let duration = go_seconds(response["cacheDuration"].as_str().unwrap());
            assert!(duration > 0 && duration <= 3600 - 300, "cacheDuration {duration} s");
        }
    }
    let elapsed = started.elapsed();
    let impersonations = server.state()["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["path"].as_str().unwrap().ends_with(":generateAccessToken"))
        .count();
    eprintln!(
        "kubelet figure: 100 requests for 10 images made {impersonations} provider calls (generateAccessToken) in {:.2} s",
        elapsed.as_secs_f64()
    );
    assert_eq!(impersonations, 10, "100 requests for 10 images made {impersonations} provider calls");
    let _ = std::fs::remove_dir_all(dir);
}

/// `configure` writes the helper into docker's config.json and the containers
/// auth.json, keeping everything else; skopeo then pulls with that file alone; a
/// second run changes nothing; `--remove` takes away exactly what it added.
#[test]
fn configure_sets_up_skopeo_and_remove_undoes_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch_dir("configure");
    let password = artifact_registry_tests::canary("registryPassword");
    let (_server, addr) = serve(&dir.join("data"), &["--user", "ci", "--auth", "token"], password);
    let config = local_config(&addr, "ci", password);
    let layout = image_layout(&dir);
    let push = credentials(&config, "artifacts/app", "push-pull");
    ok(&push_layout(&layout, &push, &format!("docker://{addr}/artifacts/app:v1")), "push");

    // A docker config.json with entries of its own, readable by the group.
    let docker = dir.join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    let before = json!({ "auths": { "other.example": { "auth": "dXNlcjpwYXNz" } },
                         "credHelpers": { "gcr.io": "gcloud" }, "psFormat": "table {{.ID}}" });
    std::fs::write(docker.join("config.json"), before.to_string()).unwrap();
    std::fs::set_permissions(docker.join("config.json"), std::fs::Permissions::from_mode(0o640)).unwrap();
    let auth_file = dir.join("containers/auth.json");
    let mut env = helper_env(&dir, &addr, &config);
    env.retain(|(k, _)| k != "REGISTRY_AUTH_FILE");
    env.push(("DOCKER_CONFIG".into(), docker.to_str().unwrap().into()));
    env.push(("REGISTRY_AUTH_FILE".into(), auth_file.to_str().unwrap().into()));
    let run = |extra: &[&str]| {
        let mut c = Command::new(BIN);
        c.arg("configure").args(extra);
        for (k, v) in &env {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        assert!(out.status.success(), "configure {extra:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let read = |p: &Path| serde_json::from_str::<Value>(&std::fs::read_to_string(p).unwrap()).unwrap();

    let report = run(&["--containers"]);
    assert_eq!(report[docker.join("config.json").to_str().unwrap()]["added"], json!([addr]), "{report}");
    let written = read(&docker.join("config.json"));
    assert_eq!(written["credHelpers"], json!({ "gcr.io": "gcloud", addr.clone(): "artifact-registry" }));
    assert_eq!((&written["auths"], &written["psFormat"]), (&before["auths"], &before["psFormat"]), "kept: {written}");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&docker.join("config.json")), 0o640, "the file keeps its permissions");
    assert_eq!(mode(&auth_file), 0o600, "a new file is private");
    assert_eq!(read(&auth_file), json!({ "credHelpers": { addr.clone(): "artifact-registry" } }));

    // Idempotent: the second run adds nothing and leaves the bytes as they were.
    let bytes = std::fs::read(docker.join("config.json")).unwrap();
    let again = run(&["--containers"]);
    assert_eq!(again[docker.join("config.json").to_str().unwrap()]["added"], json!([]), "{again}");
    assert_eq!(std::fs::read(docker.join("config.json")).unwrap(), bytes);

    // skopeo, with the written auth.json and no other credentials, pulls through the helper.
    let skopeo_env: Vec<(&str, &str)> = env
        .iter()
        .filter(|(k, _)| {
            [
                "PATH",
                "REGISTRY_AUTH_FILE",
                "ARTIFACT_REGISTRY_CONFIG",
                "ARTIFACT_REGISTRY_CACHE_DIR",
                "ARTIFACT_REGISTRY_HELPER_CONFIG",
            ]
            .contains(&k.as_str())
        })
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let pulled = dir.join("pulled");
    ok(
        &skopeo(
            &[
                "copy",
                "--src-tls-verify=false",
                &format!("docker://{addr}/artifacts/app:v1"),
                &format!("dir:{}", pulled.display()),
            ],
            &skopeo_env,
        ),
        "pull with the configured auth.json",
    );

    // --remove: exactly what was added goes; an entry someone else made stays.
    let mut theirs = read(&auth_file);
    theirs["credHelpers"]["quay.io"] = json!("secretservice");
    std::fs::write(&auth_file, theirs.to_string()).unwrap();
    let removed = run(&["--remove", "--containers"]);
    assert_eq!(removed[auth_file.to_str().unwrap()]["removed"], json!([addr]), "{removed}");
    assert_eq!(read(&docker.join("config.json")), before, "config.json is as it was");
    assert_eq!(read(&auth_file), json!({ "credHelpers": { "quay.io": "secretservice" } }));
    let _ = std::fs::remove_dir_all(dir);
}

/// A pod's service-account token (Kubernetes 1.33+) is the identity on ECR: the role
/// its service account's annotation names is assumed with it (STS
/// `AssumeRoleWithWebIdentity`, played by the tests' metadata server because moto with
/// signature checks on cannot take an unsigned call; it hands out keys moto knows),
/// then moto's ECR gives the login. With no other AWS credentials anywhere, nothing
/// else could have made it. Without the annotation: refused, and the token never
/// printed.
#[test]
fn a_pods_service_account_token_is_its_identity_on_ecr() {
    let moto = artifact_registry_tests::moto::MotoServer::start();
    let sts = artifact_registry_tests::contract_server::ContractServer::start("metadata_server.py");
    let token = artifact_registry_tests::canary("serviceAccountToken");
    // Keys moto knows for the role: what real STS would hand the pod.
    moto.create_roles(&["pod-puller"]);
    let keys: Value = serde_json::from_str(&moto.boto3(
        "us-east-1",
        "sts = boto3.client('sts', region_name='us-east-1', endpoint_url=ecr.meta.endpoint_url, aws_access_key_id=ecr._request_signer._credentials.access_key, aws_secret_access_key=ecr._request_signer._credentials.secret_key)\nc = sts.assume_role(RoleArn='arn:aws:iam::123456789012:role/pod-puller', RoleSessionName='pod')['Credentials']\nprint(json.dumps({'AccessKeyId': c['AccessKeyId'], 'SecretAccessKey': c['SecretAccessKey'], 'Token': c['SessionToken']}))",
    ))
    .unwrap();
    sts.control(
        "/_contract/configure",
        Some(json!({ "webIdentityToken": token, "webIdentityRole": "arn:aws:iam::123456789012:role/pod-puller",
                     "webIdentityKeys": keys })),
    );
    let mut config = moto.ecr_config("acme", json!({ "unscopedCredentials": true }));
    config["aws"].as_object_mut().unwrap().remove("credentials"); // none: the node has no AWS identity
    config["aws"]["endpoints"]["sts"] = json!(format!("{}/sts/", sts.endpoint));
    let dir = scratch_dir("kubelet-pod-token");
    let host = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
    let mut env = helper_env(&dir, host, &config);
    env.extend([
        ("AWS_EC2_METADATA_DISABLED".to_owned(), "true".to_owned()),
        ("HOME".to_owned(), dir.to_str().unwrap().to_owned()),
    ]);
    let request = |annotations: Value| {
        json!({ "apiVersion": "credentialprovider.kubelet.k8s.io/v1", "kind": "CredentialProviderRequest",
                "image": format!("{host}/acme-app:v1"), "serviceAccountToken": token,
                "serviceAccountAnnotations": annotations })
        .to_string()
    };
    // The node has no AWS identity of its own, from any variable.
    let node_aws = [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ];
    let run = |request: &str| run_piped(BIN, "kubelet-credential-provider", request, &env, &node_aws);

    let refused = run(&request(json!({})));
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("artifact-registry/aws-role-arn") && !stderr.contains(token), "{stderr}");

    let out = run(&request(json!({ "artifact-registry/aws-role-arn": "arn:aws:iam::123456789012:role/pod-puller" })));
    ok(&out, "kubelet-credential-provider with a pod token");
    assert!(!String::from_utf8_lossy(&out.stderr).contains(token));
    let response: Value = serde_json::from_slice(&out.stdout).unwrap();
    let auth = &response["auth"][format!("{host}/acme-app")];
    assert_eq!(auth["username"], "AWS", "{response}");
    assert!(!auth["password"].as_str().unwrap().is_empty());
    // (moto dates its ECR tokens as it likes; the duration logic is checked against GAR.)
    go_seconds(response["cacheDuration"].as_str().unwrap());
    // STS (which takes only that token and that role) was asked once.
    let calls = sts.state()["requests"].as_array().unwrap().iter().filter(|r| r["path"] == "/sts/").count();
    assert_eq!(calls, 1);
    // Another role in the annotation: STS refuses it, and so does the provider.
    let other = run(&request(json!({ "artifact-registry/aws-role-arn": "arn:aws:iam::123456789012:role/other" })));
    assert!(!other.status.success());
    assert!(!String::from_utf8_lossy(&other.stderr).contains(token));
    let _ = std::fs::remove_dir_all(dir);
}

/// On GAR, a pod's token is exchanged at the workload identity provider its service
/// account names (Google STS, played by the GAR contract server, which trusts only
/// that token), then the annotation's service account is impersonated: the login is
/// that account's token, and the binding's own key is never used.
#[test]
fn a_pods_service_account_token_is_its_identity_on_gar() {
    const PROVIDER: &str =
        "//iam.googleapis.com/projects/123456/locations/global/workloadIdentityPools/k8s/providers/cluster";
    const PRINCIPAL: &str = "principal://iam.googleapis.com/projects/123456/locations/global/workloadIdentityPools/k8s/subject/system:serviceaccount:apps:puller";
    let token = artifact_registry_tests::canary("serviceAccountToken");
    let pod_account = "apps-puller@acme-p1.iam.gserviceaccount.com";
    let server = GarServer::start();
    server.control(
        "/_contract/configure",
        Some(
            json!({ "workloadAudience": PROVIDER, "federatedSubjects": { token: "system:serviceaccount:apps:puller" },
                     "tokenCreators": { pod_account: [PRINCIPAL] } }),
        ),
    );
    let mut config = server.config("images", json!({ "unscopedCredentials": true }));
    config["gcp"]["endpoints"]["sts"] = json!(server.endpoint);
    let project = config["gcp"]["projectId"].as_str().unwrap().to_owned();
    let dir = scratch_dir("kubelet-pod-token-gar");
    let env = helper_env(&dir, "us-central1-docker.pkg.dev", &config);
    let image = format!("us-central1-docker.pkg.dev/{project}/images/app:v1");
    let request = |annotations: Value| {
        json!({ "apiVersion": "credentialprovider.kubelet.k8s.io/v1", "kind": "CredentialProviderRequest",
                "image": image, "serviceAccountToken": token, "serviceAccountAnnotations": annotations })
        .to_string()
    };
    let refused = kubelet(&request(json!({})), &env);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("artifact-registry/gcp-workload-identity-provider") && !stderr.contains(token), "{stderr}");

    let out = kubelet(
        &request(json!({ "artifact-registry/gcp-workload-identity-provider": PROVIDER,
                         "artifact-registry/gcp-service-account": pod_account })),
        &env,
    );
    ok(&out, "kubelet-credential-provider with a pod token on GAR");
    assert!(!String::from_utf8_lossy(&out.stderr).contains(token));
    let response: Value = serde_json::from_slice(&out.stdout).unwrap();
    let auth = &response["auth"][format!("us-central1-docker.pkg.dev/{project}/images/app")];
    assert_eq!(auth["username"], "oauth2accesstoken", "{response}");
    let login = auth["password"].as_str().unwrap();
    assert_eq!(server.state()["tokens"][login]["email"], pod_account, "the login is the pod's service account's");
    let _ = std::fs::remove_dir_all(dir);
}

/// On ACR, a pod's token is the federated client assertion of the client id its
/// service account names (AKS workload identity's own annotation works too): the
/// contract server's Azure AD trusts only that assertion, and the login is a
/// scope-map token for the image's repository.
#[test]
fn a_pods_service_account_token_is_its_identity_on_acr() {
    let server = artifact_registry_tests::acr_server::AcrServer::start();
    let token = artifact_registry_tests::canary("serviceAccountToken");
    server.control("/_contract/configure", Some(json!({ "federatedAssertions": [token] })));
    server.control("/_contract/image", Some(json!({ "repository": "team-a/web", "tag": "v1" })));
    let mut config = server.config(json!({ "scopeMapTokens": true }));
    config["azure"].as_object_mut().unwrap().remove("credentials");
    let client_id = server.ready["clientId"].as_str().unwrap().to_owned();
    let dir = scratch_dir("kubelet-pod-token-acr");
    let host = server.endpoint.trim_start_matches("http://").to_owned();
    let env = helper_env(&dir, &host, &config);
    let request = |annotations: Value| {
        json!({ "apiVersion": "credentialprovider.kubelet.k8s.io/v1", "kind": "CredentialProviderRequest",
                "image": format!("{host}/team-a/web:v1"), "serviceAccountToken": token,
                "serviceAccountAnnotations": annotations })
        .to_string()
    };
    let refused = kubelet(&request(json!({})), &env);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("azure.workload.identity/client-id") && !stderr.contains(token), "{stderr}");

    let out = kubelet(&request(json!({ "azure.workload.identity/client-id": client_id })), &env);
    ok(&out, "kubelet-credential-provider with a pod token on ACR");
    assert!(!String::from_utf8_lossy(&out.stderr).contains(token));
    let response: Value = serde_json::from_slice(&out.stdout).unwrap();
    let auth = &response["auth"][format!("{host}/team-a/web")];
    let (user, pass) = (auth["username"].as_str().unwrap(), auth["password"].as_str().unwrap());
    assert!(!user.is_empty() && !pass.is_empty(), "{response}");
    // The login reads the repository's manifest, with the registry's own token
    // exchange, as a kubelet's pull would.
    let login = artifact_registry_core::Credentials {
        auth_method: artifact_registry_core::AuthMethod::Basic,
        username: user.to_owned(),
        password: artifact_registry_core::Secret::new(pass.to_owned()),
        expires_at: None,
    };
    let client = oci::OciClient::new(&server.endpoint, oci::OciAuth::from_credentials(&login)).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let manifest = runtime.block_on(artifact_registry_core::drive(
        client.get_manifest("team-a/web", "v1"),
        &artifact_registry_native::ReqwestTransport::default(),
        &artifact_registry_native::SystemClock,
    ));
    assert!(manifest.is_ok(), "{manifest:?}");
    let _ = std::fs::remove_dir_all(dir);
}

/// A docker config.json kept elsewhere behind a symbolic link (a dotfiles checkout)
/// stays a link: the file it points to gets the entry.
#[test]
fn configure_writes_through_a_linked_config_and_keeps_the_link() {
    let dir = scratch_dir("configure-link");
    let dotfiles = dir.join("dotfiles");
    let docker = dir.join("docker");
    std::fs::create_dir_all(&dotfiles).unwrap();
    std::fs::create_dir_all(&docker).unwrap();
    std::fs::write(dotfiles.join("config.json"), r#"{"psFormat":"x"}"#).unwrap();
    std::os::unix::fs::symlink(dotfiles.join("config.json"), docker.join("config.json")).unwrap();
    let config = local_config("127.0.0.1:5999", "ci", artifact_registry_tests::canary("registryPassword"));
    let out = Command::new(BIN)
        .arg("configure")
        .env("DOCKER_CONFIG", &docker)
        .env("ARTIFACT_REGISTRY_CONFIG", config.to_string())
        .env("ARTIFACT_REGISTRY_HELPER_CONFIG", dir.join("none.json"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::symlink_metadata(docker.join("config.json")).unwrap().file_type().is_symlink());
    let written: Value = serde_json::from_str(&std::fs::read_to_string(dotfiles.join("config.json")).unwrap()).unwrap();
    assert_eq!(written, json!({ "psFormat": "x", "credHelpers": { "127.0.0.1:5999": "artifact-registry" } }));
    let _ = std::fs::remove_dir_all(dir);
}
