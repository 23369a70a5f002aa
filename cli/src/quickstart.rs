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
    let auth = Auth::Basic { user: USER.to_owned(), password: password.clone() };
    let server = EmbeddedRegistry::start(([127, 0, 0, 1], 0).into(), None, auth)
        .await
        .map_err(|e| format!("cannot start the embedded registry: {e}"))?;
    steps.done(&format!("started the embedded registry at http://{} (user {USER:?})", server.addr));

    let config = json!({
        "name": "artifacts",
        "binding": { "service": "local", "registryUrl": server.addr.to_string() },
        "local": { "credentials": { "username": USER, "password": password } }
    });
    let registry = artifact_registry_native::connect(&config.to_string()).map_err(|e| e.to_string())?;
    let outcome = steps_against(&registry, &mut steps).await;
    match (outcome, keep) {
        (Ok(pull), true) => {
            println!("\nThe registry keeps serving at http://{} until Ctrl-C. Try:", server.addr);
            println!("  docker login {} -u {USER} -p {password}\n  docker pull {pull}", server.addr);
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

async fn steps_against(registry: &NativeRegistry, steps: &mut Steps) -> Result<String, String> {
    let repo = registry.create_repository(REPOSITORY).await.map_err(|e| e.to_string())?;
    steps.done(&format!("created repository {} ({})", repo.name, repo.uri.as_deref().unwrap_or("")));

    let got = registry.get_repository(&repo.name).await.map_err(|e| e.to_string())?;
    steps.done(&format!("got it back: created at {}", got.created_at.as_deref().unwrap_or("(unknown)")));

    let creds =
        registry.generate_credentials(&repo.name, Permissions::PushPull, Some(900)).await.map_err(|e| e.to_string())?;
    steps.done(&format!("generated push credentials ({:?} auth as {:?})", creds.auth_method, creds.username));

    let endpoint = registry.registry_endpoint();
    let client = OciClient::new(&endpoint, OciAuth::from_credentials(&creds)).map_err(|e| e.to_string())?;
    let layer = b"Hello from the artifact-registry quickstart!\n".to_vec();
    let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#.to_vec();
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
    registry.delete_repository(&repo.name).await.map_err(|e| e.to_string())?;
    let kept = registry.get_repository(&repo.name).await.is_ok();
    steps.done(if kept {
        "deleted the repository (this registry refuses deletes: its images stay)"
    } else {
        "deleted the repository"
    });
    Ok(pull)
}
