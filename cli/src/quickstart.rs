//! `artifact-registry quickstart`: the main job, end to end, on an embedded registry.

use std::time::Instant;

use artifact_registry_core::oci::{self, OciAuth, OciClient};
use artifact_registry_core::{ArtifactRegistry, Permissions};
use artifact_registry_native::NativeRegistry;
use serde_json::json;

use crate::embedded::{Auth, EmbeddedRegistry, ctrl_c, random_password};

const USER: &str = "quickstart";
const REPOSITORY: &str = "hello-world";

struct Steps {
    started: Instant,
    last: Instant,
}

impl Steps {
    fn done(&mut self, what: &str) {
        let now = Instant::now();
        println!("  ok {:>8.1} ms  {what}", (now - self.last).as_secs_f64() * 1000.0);
        self.last = now;
    }
}

/// Runs the quickstart; `keep` leaves the registry serving afterwards until Ctrl-C.
pub async fn run(keep: bool) -> Result<(), String> {
    let mut steps = Steps { started: Instant::now(), last: Instant::now() };
    println!("artifact-registry quickstart: the local provider against an embedded OCI registry\n");

    let password = random_password();
    // Token auth: the credentials generated below are scoped to the one repository.
    let auth = Auth::Token { user: USER.to_owned(), password: password.clone() };
    let server = EmbeddedRegistry::start(([127, 0, 0, 1], 0).into(), None, auth, false)
        .await
        .map_err(|e| format!("cannot start the embedded registry: {e}"))?;
    steps.done(&format!("started the embedded registry at http://{} (user {USER:?})", server.addr));

    let config = json!({
        "name": "artifacts",
        "binding": { "service": "local", "registryUrl": server.addr.to_string() },
        "local": { "credentials": { "username": USER, "password": password } }
    });
    let registry = artifact_registry_native::connect(&config.to_string()).map_err(|e| e.to_string())?;
    let outcome = steps_against(&registry, &mut steps, !keep).await;
    match (outcome, keep) {
        (Ok(pull), true) => {
            println!(
                "\nThe registry keeps serving at http://{} until Ctrl-C. Pull the image with a real client:",
                server.addr
            );
            println!(
                "  skopeo copy --src-tls-verify=false --src-creds {USER}:{password} docker://{pull} dir:./hello-world"
            );
            println!("  docker login {} -u {USER} --password-stdin <<< {password} && docker pull {pull}", server.addr);
            server.run_until(ctrl_c()).await.map_err(|e| e.to_string())?;
        }
        (Ok(pull), false) => {
            server.stop().await.map_err(|e| e.to_string())?;
            steps.done("stopped the embedded registry and removed its data");
            println!("\nA user would `docker pull {pull}` (run `artifact-registry quickstart --keep` to try it).");
        }
        (Err(e), _) => {
            let _ = server.stop().await;
            return Err(e);
        }
    }
    println!("Done in {:.1} ms.", steps.started.elapsed().as_secs_f64() * 1000.0);
    Ok(())
}

async fn steps_against(registry: &NativeRegistry, steps: &mut Steps, delete: bool) -> Result<String, String> {
    let repo = registry.create_repository(REPOSITORY).await.map_err(|e| e.to_string())?;
    steps.done(&format!("created repository {} ({})", repo.name, repo.uri.as_deref().unwrap_or("")));

    let got = registry.get_repository(&repo.name).await.map_err(|e| e.to_string())?;
    steps.done(&format!("got it back: created at {}", got.created_at.as_deref().unwrap_or("(unknown)")));

    let creds =
        registry.generate_credentials(&repo.name, Permissions::PushPull, Some(900)).await.map_err(|e| e.to_string())?;
    steps.done(&format!("generated push credentials ({:?} auth as {:?})", creds.auth_method, creds.username));

    let endpoint = registry.registry_endpoint();
    let client = OciClient::new(&endpoint, OciAuth::from_credentials(&creds)).map_err(|e| e.to_string())?;
    let layer = tar_with_one_file("hello.txt", b"Hello from the artifact-registry quickstart!\n");
    // An uncompressed layer's diff_id is its own digest: the config names it, so real
    // clients (skopeo, docker) accept the image.
    let diff_id = oci::digest(&layer);
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64",
        "os": "linux",
        "config": { "Cmd": ["/bin/cat", "/hello.txt"] },
        "rootfs": { "type": "layers", "diff_ids": [diff_id] },
    }))
    .map_err(|e| e.to_string())?;
    let layer_digest = registry.run(client.push_blob(&repo.name, layer.clone())).await.map_err(|e| e.to_string())?;
    let config_digest = registry.run(client.push_blob(&repo.name, config.clone())).await.map_err(|e| e.to_string())?;
    let manifest = oci::image_manifest(
        (oci::OCI_CONFIG, &config_digest, config.len()),
        &[("application/vnd.oci.image.layer.v1.tar", &layer_digest, layer.len())],
        &[("org.opencontainers.image.title", "artifact-registry quickstart")],
    );
    let digest = registry
        .run(client.push_manifest(&repo.name, "v1", oci::OCI_MANIFEST, manifest))
        .await
        .map_err(|e| e.to_string())?;
    steps.done(&format!("pushed a tiny image {}:v1 with those credentials", repo.name));

    let pulled = registry.run(client.get_manifest(&repo.name, "v1")).await.map_err(|e| e.to_string())?;
    if pulled.digest != digest {
        return Err(format!("pulled manifest {} is not the pushed {digest}", pulled.digest));
    }
    steps.done(&format!("pulled the manifest back: {digest}"));

    let pull = format!("{}:v1", repo.uri.clone().unwrap_or_else(|| repo.name.clone()));
    if delete {
        registry.delete_repository(&repo.name).await.map_err(|e| e.to_string())?;
        steps.done("deleted the repository");
    }
    Ok(pull)
}

/// A POSIX tar archive holding one regular file (what an image layer is).
fn tar_with_one_file(name: &str, contents: &[u8]) -> Vec<u8> {
    let mut header = [0u8; 512];
    let field = |header: &mut [u8; 512], at: usize, value: &[u8]| header[at..at + value.len()].copy_from_slice(value);
    field(&mut header, 0, name.as_bytes());
    field(&mut header, 100, b"0000644\0");
    field(&mut header, 108, b"0000000\0");
    field(&mut header, 116, b"0000000\0");
    field(&mut header, 124, format!("{:011o}\0", contents.len()).as_bytes());
    field(&mut header, 136, b"00000000000\0");
    field(&mut header, 156, b"0");
    field(&mut header, 257, b"ustar\0");
    field(&mut header, 263, b"00");
    // The checksum is computed with its own field as spaces.
    field(&mut header, 148, b"        ");
    let sum: u32 = header.iter().map(|b| u32::from(*b)).sum();
    field(&mut header, 148, format!("{sum:06o}\0 ").as_bytes());
    let mut out = header.to_vec();
    out.extend_from_slice(contents);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out.extend_from_slice(&[0u8; 1024]);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_layer_is_a_tar_that_tar_reads() {
        let tar = super::tar_with_one_file("hello.txt", b"Hello\n");
        assert_eq!(tar.len() % 512, 0);
        let path = std::env::temp_dir().join(format!("quickstart-layer-{}.tar", std::process::id()));
        std::fs::write(&path, &tar).unwrap();
        let out =
            std::process::Command::new("tar").args(["-xOf", path.to_str().unwrap(), "hello.txt"]).output().unwrap();
        let _ = std::fs::remove_file(&path);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.stdout, b"Hello\n");
    }
}
