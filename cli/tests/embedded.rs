//! `artifact-registry serve`, the embedded registry, as its users meet it: OCI
//! distribution basics, metadata that survives a restart, requests that cannot reach
//! outside the data directory, and the three auth modes.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use artifact_registry_core::oci::{self, OciAuth, OciClient};
use artifact_registry_core::{ArtifactRegistry, ErrorCode, HttpRequest, HttpResponse, Permissions, Transport};
use artifact_registry_native::{ReqwestTransport, connect};
use artifact_registry_tests::oci_registry::{free_port, scratch_dir};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_artifact-registry");

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(data: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
    let addr = format!("127.0.0.1:{}", free_port());
    let mut command = Command::new(BIN);
    command.args(["serve", "--addr", &addr, "--data-dir", data.to_str().unwrap()]).args(extra);
    for (k, v) in env {
        command.env(k, v);
    }
    let child = command.stderr(Stdio::null()).spawn().unwrap();
    let server = Server { child, addr };
    for _ in 0..400 {
        if std::net::TcpStream::connect(&server.addr).is_ok() {
            return server;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("serve did not listen on {}", server.addr);
}

async fn http(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> HttpResponse {
    let mut request = HttpRequest::new(method, url).body(body.to_vec());
    for (k, v) in headers {
        request = request.header(k, *v);
    }
    ReqwestTransport::default().send(request).await.expect("the server answers")
}

fn config(addr: &str, credentials: Option<(&str, &str)>) -> Value {
    let mut c = json!({ "name": "artifacts", "binding": { "service": "local", "registryUrl": addr }, "local": {} });
    if let Some((u, p)) = credentials {
        c["local"]["credentials"] = json!({ "username": u, "password": p });
    }
    c
}

/// Pushes a one-blob image to `repo:tag` through the core's OCI client.
async fn push(addr: &str, auth: OciAuth, repo: &str, tag: &str) -> artifact_registry_core::Result<String> {
    let registry = connect(&config(addr, None).to_string()).unwrap();
    let client = OciClient::new(addr, auth)?;
    let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#.to_vec();
    let digest = registry.run(client.push_blob(repo, config.clone())).await?;
    let manifest = oci::image_manifest((oci::OCI_CONFIG, &digest, config.len()), &[], &[]);
    registry.run(client.push_manifest(repo, tag, oci::OCI_MANIFEST, manifest)).await
}

fn json_of(r: &HttpResponse) -> Value {
    serde_json::from_slice(&r.body).unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_and_manifests_survive_a_restart() {
    let dir = scratch_dir("embedded-restart");
    let data = dir.join("data");
    let first = serve(&data, &[], &[]);
    let digest = push(&first.addr, OciAuth::Anonymous, "team/app/web", "v1").await.unwrap();
    drop(first);

    let again = serve(&data, &[], &[]);
    let base = format!("http://{}", again.addr);
    let manifest =
        http("GET", &format!("{base}/v2/team/app/web/manifests/v1"), &[("Accept", oci::OCI_MANIFEST)], b"").await;
    assert_eq!(manifest.status, 200, "the tag is gone after a restart");
    assert_eq!(manifest.header_value("Docker-Content-Digest"), Some(digest.as_str()));
    assert_eq!(
        json_of(&http("GET", &format!("{base}/v2/team/app/web/tags/list"), &[], b"").await)["tags"],
        json!(["v1"])
    );
    let catalog = json_of(&http("GET", &format!("{base}/v2/_catalog"), &[], b"").await);
    assert!(catalog["repositories"].as_array().unwrap().iter().any(|r| r == "team/app/web"), "{catalog}");
    drop(again);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distribution_basics() {
    let dir = scratch_dir("embedded-spec");
    let server = serve(&dir.join("data"), &[], &[]);
    let base = format!("http://{}", server.addr);
    let blob = b"a blob in two chunks".to_vec();
    let digest = oci::digest(&blob);

    // Chunked upload: POST, PATCH, PATCH, PUT ?digest=.
    let start = http("POST", &format!("{base}/v2/a/b/c/blobs/uploads/"), &[("Content-Length", "0")], b"").await;
    assert_eq!(start.status, 202);
    let mut location = start.header_value("Location").unwrap().to_owned();
    for (at, chunk) in [(0, &blob[..8]), (8, &blob[8..])] {
        let url = if location.starts_with('/') { format!("{base}{location}") } else { location.clone() };
        let range = format!("{at}-{}", at + chunk.len() - 1);
        let r = http("PATCH", &url, &[("Content-Type", "application/octet-stream"), ("Content-Range", &range)], chunk)
            .await;
        assert_eq!(r.status, 202, "{}", r.text());
        location = r.header_value("Location").unwrap().to_owned();
    }
    let url = if location.starts_with('/') { format!("{base}{location}") } else { location };
    let sep = if url.contains('?') { '&' } else { '?' };
    let done = http("PUT", &format!("{url}{sep}digest={digest}"), &[("Content-Length", "0")], b"").await;
    assert_eq!(done.status, 201, "{}", done.text());
    assert_eq!(http("GET", &format!("{base}/v2/a/b/c/blobs/{digest}"), &[], b"").await.body, blob);

    // Cross-repository mount.
    let mount = http("POST", &format!("{base}/v2/other/blobs/uploads/?mount={digest}&from=a/b/c"), &[], b"").await;
    assert_eq!(mount.status, 201, "{}", mount.text());
    assert_eq!(http("HEAD", &format!("{base}/v2/other/blobs/{digest}"), &[], b"").await.status, 200);

    // Manifests by tag and digest, tag lists with pagination, delete.
    let m1 = push(&server.addr, OciAuth::Anonymous, "a/b/c", "v1").await.unwrap();
    push(&server.addr, OciAuth::Anonymous, "a/b/c", "v2").await.unwrap();
    assert_eq!(
        http("GET", &format!("{base}/v2/a/b/c/manifests/{m1}"), &[("Accept", oci::OCI_MANIFEST)], b"").await.status,
        200
    );
    let page = http("GET", &format!("{base}/v2/a/b/c/tags/list?n=1"), &[], b"").await;
    assert_eq!(json_of(&page)["tags"], json!(["v1"]));
    assert!(page.header_value("Link").is_some_and(|l| l.contains("rel=\"next\"")), "no Link to the next page");
    let deleted = http("DELETE", &format!("{base}/v2/a/b/c/manifests/{m1}"), &[], b"").await;
    assert_eq!(deleted.status, 202, "{}", deleted.text());
    let gone = http("GET", &format!("{base}/v2/a/b/c/manifests/{m1}"), &[("Accept", oci::OCI_MANIFEST)], b"").await;
    assert_eq!(gone.status, 404);
    assert!(json_of(&gone)["errors"][0]["code"].is_string(), "the spec's error envelope: {}", gone.text());
    let _ = std::fs::remove_dir_all(dir);
}

fn listing(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() && !path.is_symlink() {
            out.extend(listing(&path));
        }
        out.push(path);
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_request_reaches_outside_the_data_directory() {
    let outer = scratch_dir("embedded-escape");
    std::fs::write(outer.join("secret"), b"keep out").unwrap();
    let data = outer.join("data");
    let server = serve(&data, &[], &[]);
    let base = format!("http://{}", server.addr);
    let manifest = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#;
    let before: Vec<PathBuf> = listing(&outer).into_iter().filter(|p| !p.starts_with(&data)).collect();
    let hostile = [
        ("PUT", "/v2/..%2F..%2Fescape/manifests/latest"),
        ("PUT", "/v2/a/..%2F..%2F..%2Fescape/manifests/latest"),
        ("PUT", "/v2/a/manifests/..%2F..%2F..%2Fsecret"),
        ("PUT", "/v2/%2Fetc%2Fescape/manifests/latest"),
        ("POST", "/v2/..%2F..%2Fescape/blobs/uploads/"),
        ("GET", "/v2/a/blobs/sha256:..%2F..%2Fsecret"),
        ("GET", "/v2/a/blobs/..%2F..%2F..%2Fsecret"),
        ("PUT", "/v2/%2E%2E/%2E%2E/escape/manifests/latest"),
        ("DELETE", "/v2/a/manifests/sha256:..%2F..%2Fsecret"),
    ];
    for (method, path) in hostile {
        let r = http(method, &format!("{base}{path}"), &[("Content-Type", oci::OCI_MANIFEST)], manifest).await;
        assert!((400..500).contains(&r.status), "{method} {path} answered {}: {}", r.status, r.text());
    }
    let after: Vec<PathBuf> = listing(&outer).into_iter().filter(|p| !p.starts_with(&data)).collect();
    assert_eq!(after, before, "a request wrote outside the data directory");
    assert_eq!(std::fs::read(outer.join("secret")).unwrap(), b"keep out");
    drop(server);

    // A symbolic link planted in the data directory: serve refuses to start.
    let outside = outer.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::create_dir_all(data.join("blobs")).unwrap();
    let link = data.join("blobs/sha256");
    let _ = std::fs::remove_dir_all(&link);
    std::os::unix::fs::symlink(&outside, &link).unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--addr", &format!("127.0.0.1:{}", free_port()), "--data-dir", data.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("symbolic link"), "{}", String::from_utf8_lossy(&out.stderr));
    let _ = std::fs::remove_dir_all(outer);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_modes() {
    let dir = scratch_dir("embedded-auth");

    // Open on a non-loopback address: refused unless asked for; warned about when asked.
    let refused = Command::new(BIN)
        .args([
            "serve",
            "--addr",
            &format!("0.0.0.0:{}", free_port()),
            "--data-dir",
            dir.join("open").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--insecure-public"));
    // A password on the command line is not an option.
    let argv = Command::new(BIN).args(["serve", "--user", "ci", "--password", "x"]).output().unwrap();
    assert_eq!(argv.status.code(), Some(2));

    // Basic (asked for: it is not the default): every request needs the user.
    let basic = serve(
        &dir.join("basic"),
        &["--user", "ci", "--auth", "basic"],
        &[("ARTIFACT_REGISTRY_PASSWORD", "s3cret-pass")],
    );
    let base = format!("http://{}", basic.addr);
    let anonymous = http("GET", &format!("{base}/v2/"), &[], b"").await;
    assert_eq!(anonymous.status, 401);
    assert!(anonymous.header_value("WWW-Authenticate").unwrap().starts_with("Basic"));
    let registry = connect(&config(&basic.addr, Some(("ci", "s3cret-pass"))).to_string()).unwrap();
    registry.create_repository("web").await.unwrap();
    let wrong = connect(&config(&basic.addr, Some(("ci", "wrong"))).to_string()).unwrap();
    assert_eq!(wrong.get_repository("artifacts/web").await.unwrap_err().code(), ErrorCode::AccessDenied);

    // Token, the default with --user: repository-scoped tokens from /token; pull
    // credentials cannot push.
    let password_file = dir.join("pw");
    std::fs::write(&password_file, "t0ken-pass\n").unwrap();
    let token = serve(&dir.join("token"), &["--user", "ci", "--password-file", password_file.to_str().unwrap()], &[]);
    let registry = connect(&config(&token.addr, Some(("ci", "t0ken-pass"))).to_string()).unwrap();
    let repo = registry.create_repository("web").await.unwrap();
    let pull = registry.generate_credentials(&repo.name, Permissions::Pull, None).await.unwrap();
    let push_pull = registry.generate_credentials(&repo.name, Permissions::PushPull, None).await.unwrap();
    assert_eq!(pull.auth_method, artifact_registry_core::AuthMethod::Bearer);
    push(&token.addr, OciAuth::from_credentials(&push_pull), &repo.name, "v1").await.unwrap();
    let refused = push(&token.addr, OciAuth::from_credentials(&pull), &repo.name, "v2").await.unwrap_err();
    assert_eq!(refused.code(), ErrorCode::AccessDenied, "a pull token pushed: {refused}");
    let reader = OciClient::new(&token.addr, OciAuth::from_credentials(&pull)).unwrap();
    assert!(registry.run(reader.get_manifest(&repo.name, "v1")).await.is_ok(), "a pull token cannot pull");
    // Another repository is out of the token's reach.
    let other = OciClient::new(&token.addr, OciAuth::from_credentials(&push_pull)).unwrap();
    assert!(registry.run(other.get_manifest("artifacts/other", "latest")).await.is_err());
    drop((basic, token));
    let _ = std::fs::remove_dir_all(dir);
}

/// The data directory is the serving user's alone: what the registry writes is 0700 /
/// 0600, another user cannot read a layer (checked as `nobody` when the test runs as
/// root, with `setpriv`), and a directory others can write to is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_directory_is_private() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = scratch_dir("embedded-private");
    let data = dir.join("data");
    let server = serve(&data, &["--user", "ci"], &[("ARTIFACT_REGISTRY_PASSWORD", "pr1vate-pass")]);
    let registry = connect(&config(&server.addr, Some(("ci", "pr1vate-pass"))).to_string()).unwrap();
    let repo = registry.create_repository("secret").await.unwrap();
    let creds = registry.generate_credentials(&repo.name, Permissions::PushPull, None).await.unwrap();
    push(&server.addr, OciAuth::from_credentials(&creds), &repo.name, "v1").await.unwrap();
    let mut files = 0;
    for path in listing(&data) {
        let mode = std::fs::symlink_metadata(&path).unwrap().mode() & 0o777;
        let private = if path.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode & !private, 0, "{} is {mode:o}", path.display());
        files += usize::from(path.is_file());
    }
    assert!(files >= 3, "the blobs, the metadata and the key are there: {files} files");
    assert_eq!(std::fs::metadata(&data).unwrap().mode() & 0o777, 0o700);
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc_geteuid() } == 0 && Command::new("setpriv").arg("--version").output().is_ok() {
        let blob = listing(&data).into_iter().find(|p| p.is_file() && !p.ends_with("token.key")).unwrap();
        let other = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "cat", blob.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(!other.status.success(), "another user read {}", blob.display());
        let list = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "ls", data.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(!list.status.success(), "another user listed the data directory");
    } else {
        println!("skipped the second-user check: it needs root and setpriv (util-linux)");
    }
    drop(server);

    // A directory others can write to is refused at start.
    let shared = dir.join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--addr", &format!("127.0.0.1:{}", free_port()), "--data-dir", shared.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("can be written by other users"), "{out:?}");
    let _ = std::fs::remove_dir_all(dir);
}

unsafe extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

/// Tokens are signed with a key kept in the data directory: credentials handed out
/// before a restart still pull after it, and none does after `--rotate-key`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_outlive_a_restart_until_the_key_is_rotated() {
    let dir = scratch_dir("embedded-key");
    let data = dir.join("data");
    let env = [("ARTIFACT_REGISTRY_PASSWORD", "k3y-pass")];
    let server = serve(&data, &["--user", "ci"], &env);
    let registry = connect(&config(&server.addr, Some(("ci", "k3y-pass"))).to_string()).unwrap();
    let repo = registry.create_repository("kept").await.unwrap();
    let pull = registry.generate_credentials(&repo.name, Permissions::Pull, None).await.unwrap();
    let pulls = |addr: String, creds: artifact_registry_core::Credentials| async move {
        let reader = OciClient::new(&addr, OciAuth::from_credentials(&creds)).unwrap();
        connect(&config(&addr, None).to_string()).unwrap().run(reader.get_manifest("artifacts/kept", "latest")).await
    };
    assert!(pulls(server.addr.clone(), pull.clone()).await.is_ok());
    drop(server);

    let again = serve(&data, &["--user", "ci"], &env);
    assert!(pulls(again.addr.clone(), pull.clone()).await.is_ok(), "a token from before the restart was refused");
    drop(again);

    let rotated = serve(&data, &["--user", "ci", "--rotate-key"], &env);
    let refused = pulls(rotated.addr.clone(), pull).await.unwrap_err();
    assert_eq!(refused.code(), ErrorCode::AccessDenied, "a token from before --rotate-key pulled: {refused}");
    drop(rotated);
    let _ = std::fs::remove_dir_all(dir);
}

/// A token for the scopes asked, straight from `/token` (Basic with the user).
async fn token_for(addr: &str, scopes: &[&str]) -> String {
    let query: Vec<String> =
        scopes.iter().map(|s| format!("scope={}", s.replace(':', "%3A").replace(',', "%2C"))).collect();
    let basic = format!("Basic {}", base64_of("ci:bl0b-pass"));
    let answer = http(
        "GET",
        &format!("http://{addr}/token?service=artifact-registry&{}", query.join("&")),
        &[("Authorization", &basic)],
        b"",
    )
    .await;
    assert_eq!(answer.status, 200);
    json_of(&answer)["token"].as_str().unwrap().to_owned()
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// The blob store is shared, but a repository's blobs are its own: a token for one
/// repository cannot read, probe, delete or mount another's layer by its digest, nor
/// claim it in a manifest; a blob two repositories hold survives a delete through one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_belong_to_the_repositories_that_hold_them() {
    let dir = scratch_dir("embedded-blobs");
    let server = serve(&dir.join("data"), &["--user", "ci"], &[("ARTIFACT_REGISTRY_PASSWORD", "bl0b-pass")]);
    let addr = server.addr.clone();
    let base = format!("http://{addr}/v2");
    let bearer = |t: &str| format!("Bearer {t}");
    // prod holds a layer (its image's config blob), pushed with a prod token.
    let prod_token = token_for(&addr, &["repository:artifacts/prod:pull,push,delete"]).await;
    let layer =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"prod":true}"#.to_vec();
    let registry = connect(&config(&addr, None).to_string()).unwrap();
    let client =
        OciClient::new(&addr, OciAuth::Bearer(artifact_registry_core::Secret::new(prod_token.clone()))).unwrap();
    let digest = registry.run(client.push_blob("artifacts/prod", layer.clone())).await.unwrap();
    let blob = |repo: &str| format!("{base}/{repo}/blobs/{digest}");
    assert_eq!(http("GET", &blob("artifacts/prod"), &[("Authorization", &bearer(&prod_token))], b"").await.status, 200);

    // A token with every right on scratch, and the right to pull another empty repository.
    let scratch =
        token_for(&addr, &["repository:artifacts/scratch:pull,push,delete", "repository:artifacts/empty:pull"]).await;
    let as_scratch = [("Authorization", bearer(&scratch))];
    let as_scratch: Vec<(&str, &str)> = as_scratch.iter().map(|(k, v)| (*k, v.as_str())).collect();
    for method in ["GET", "HEAD"] {
        let answer = http(method, &blob("artifacts/scratch"), &as_scratch, b"").await;
        assert_eq!(answer.status, 404, "{method} read prod's blob through scratch");
    }
    assert_eq!(http("DELETE", &blob("artifacts/scratch"), &as_scratch, b"").await.status, 404);
    // A mount from a repository the caller may not pull: refused by the auth layer.
    let mount = |from: &str| format!("{base}/artifacts/scratch/blobs/uploads/?mount={digest}&from={from}");
    assert_eq!(http("POST", &mount("artifacts/prod"), &as_scratch, b"").await.status, 401);
    // From one it may pull but that does not hold the blob: an upload session, no mount.
    let answer = http("POST", &mount("artifacts/empty"), &as_scratch, b"").await;
    assert_eq!(answer.status, 202, "{}", String::from_utf8_lossy(&answer.body));
    assert_eq!(http("GET", &blob("artifacts/scratch"), &as_scratch, b"").await.status, 404);
    // A manifest cannot claim the layer.
    let manifest = oci::image_manifest((oci::OCI_CONFIG, &digest, layer.len()), &[], &[]);
    let put = http(
        "PUT",
        &format!("{base}/artifacts/scratch/manifests/claim"),
        &[as_scratch[0], ("Content-Type", oci::OCI_MANIFEST)],
        &manifest,
    )
    .await;
    assert_eq!((put.status, json_of(&put)["errors"][0]["code"].clone()), (400, json!("MANIFEST_BLOB_UNKNOWN")));
    // prod still has its layer.
    assert_eq!(http("GET", &blob("artifacts/prod"), &[("Authorization", &bearer(&prod_token))], b"").await.status, 200);

    // A real mount (pull on prod, push on scratch): both hold it, and a delete through
    // one leaves the other's.
    let both =
        token_for(&addr, &["repository:artifacts/prod:pull", "repository:artifacts/scratch:pull,push,delete"]).await;
    let as_both = [("Authorization", bearer(&both))];
    let as_both: Vec<(&str, &str)> = as_both.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(http("POST", &mount("artifacts/prod"), &as_both, b"").await.status, 201);
    assert_eq!(http("GET", &blob("artifacts/scratch"), &as_both, b"").await.status, 200);
    assert_eq!(http("DELETE", &blob("artifacts/scratch"), &as_both, b"").await.status, 202);
    assert_eq!(http("GET", &blob("artifacts/scratch"), &as_both, b"").await.status, 404);
    assert_eq!(http("GET", &blob("artifacts/prod"), &[("Authorization", &bearer(&prod_token))], b"").await.status, 200);
    // The record survives a restart.
    drop(server);
    let again = serve(&dir.join("data"), &["--user", "ci"], &[("ARTIFACT_REGISTRY_PASSWORD", "bl0b-pass")]);
    let base = format!("http://{}/v2", again.addr);
    let prod_blob = format!("{base}/artifacts/prod/blobs/{digest}");
    assert_eq!(http("GET", &prod_blob, &[("Authorization", &bearer(&prod_token))], b"").await.status, 200);
    assert_eq!(http("GET", &format!("{base}/artifacts/scratch/blobs/{digest}"), &as_both, b"").await.status, 404);
    // The last holder's delete removes the bytes.
    assert_eq!(http("DELETE", &prod_blob, &[("Authorization", &bearer(&prod_token))], b"").await.status, 202);
    assert_eq!(http("GET", &prod_blob, &[("Authorization", &bearer(&prod_token))], b"").await.status, 404);
    drop(again);
    let _ = std::fs::remove_dir_all(dir);
}
