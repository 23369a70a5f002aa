//! The local provider end to end against Debian's `docker-registry` (a real OCI
//! distribution registry) in three configurations: no auth, htpasswd Basic auth,
//! and token auth with the tests' own token server. The credentials that
//! `generate_credentials` returns must really push and pull there.

use artifact_registry_core::oci::{self, OciAuth, OciClient};
use artifact_registry_core::{ArtifactRegistry, AuthMethod, Credentials, CrossAccountAccess, ErrorCode, Permissions};
use artifact_registry_native::{NativeRegistry, connect};
use artifact_registry_tests::oci_registry::{DockerRegistry, RegistryAuth};
use serde_json::json;

/// Pushes a one-layer image tagged `tag` with `creds`; returns the manifest digest.
async fn push_image(
    registry: &NativeRegistry,
    endpoint: &str,
    repo: &str,
    tag: &str,
    creds: &Credentials,
) -> artifact_registry_core::Result<String> {
    let client = OciClient::new(endpoint, OciAuth::from_credentials(creds))?;
    let layer = b"hello from the artifact-registry tests\n".to_vec();
    let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#.to_vec();
    let layer_digest = registry.run(client.push_blob(repo, layer.clone())).await?;
    let config_digest = registry.run(client.push_blob(repo, config.clone())).await?;
    let manifest = oci::image_manifest(
        (oci::OCI_CONFIG, &config_digest, config.len()),
        &[("application/vnd.oci.image.layer.v1.tar", &layer_digest, layer.len())],
        &[],
    );
    registry.run(client.push_manifest(repo, tag, oci::OCI_MANIFEST, manifest)).await
}

async fn lifecycle(auth: RegistryAuth) {
    let server = DockerRegistry::start(auth, true);
    let registry = connect(&server.config("artifacts").to_string()).unwrap();
    let endpoint = registry.registry_endpoint();
    assert_eq!(endpoint, format!("http://{}", server.addr));
    assert_eq!(registry.upstream_repository_prefix(), "artifacts");

    let created = registry.create_repository("hello").await.unwrap_or_else(|e| panic!("{auth:?}: create: {e}"));
    assert_eq!(created.name, "artifacts/hello");
    assert_eq!(created.uri.as_deref(), Some(format!("{}/artifacts/hello", server.addr).as_str()));
    assert!(created.created_at.is_some());
    assert_eq!(registry.create_repository("hello").await.unwrap(), created, "{auth:?}: create is idempotent");
    assert_eq!(registry.get_repository(&created.name).await.unwrap(), created);
    let missing = registry.get_repository("artifacts/missing").await.unwrap_err();
    assert_eq!(missing.code(), ErrorCode::NotFound, "{auth:?}: {missing}");

    let grant = CrossAccountAccess::from_json(&json!({ "platform": "aws", "accountIds": ["111111111111"] })).unwrap();
    assert_eq!(
        registry.add_cross_account_access(&created.name, &grant).await.unwrap_err().code(),
        ErrorCode::NotSupported
    );
    assert_eq!(registry.get_cross_account_access(&created.name).await.unwrap_err().code(), ErrorCode::NotSupported);

    // Push credentials push; pull credentials pull.
    let push = registry.generate_credentials(&created.name, Permissions::PushPull, Some(600)).await.unwrap();
    let pull = registry.generate_credentials(&created.name, Permissions::Pull, None).await.unwrap();
    match auth {
        RegistryAuth::None => assert_eq!((push.auth_method, push.username.as_str()), (AuthMethod::Basic, "")),
        RegistryAuth::Htpasswd => {
            assert_eq!((push.auth_method, push.username.as_str()), (AuthMethod::Basic, "deployer"))
        }
        RegistryAuth::Token => {
            assert_eq!(push.auth_method, AuthMethod::Bearer);
            assert!(push.expires_at.is_some(), "bearer credentials carry the token's expiry");
        }
    }
    let digest = push_image(&registry, &endpoint, &created.name, "v1", &push)
        .await
        .unwrap_or_else(|e| panic!("{auth:?}: push: {e}"));
    let reader = OciClient::new(&endpoint, OciAuth::from_credentials(&pull)).unwrap();
    let pulled = registry.run(reader.get_manifest(&created.name, "v1")).await.unwrap();
    assert_eq!(pulled.digest, digest);
    if auth == RegistryAuth::Token {
        // A pull-scoped token cannot push.
        let denied = push_image(&registry, &endpoint, &created.name, "v2", &pull).await.unwrap_err();
        assert_eq!(denied.code(), ErrorCode::AccessDenied, "{denied}");
    }

    // Delete removes every manifest; the repository is gone.
    registry.delete_repository(&created.name).await.unwrap();
    assert_eq!(registry.get_repository(&created.name).await.unwrap_err().code(), ErrorCode::NotFound);
    assert_eq!(registry.delete_repository(&created.name).await.unwrap_err().code(), ErrorCode::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_without_auth() {
    lifecycle(RegistryAuth::None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_with_htpasswd_basic_auth() {
    lifecycle(RegistryAuth::Htpasswd).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_with_token_auth() {
    lifecycle(RegistryAuth::Token).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_disabled_is_not_supported_and_keeps_the_images() {
    let server = DockerRegistry::start(RegistryAuth::None, false);
    let registry = connect(&server.config("artifacts").to_string()).unwrap();
    let created = registry.create_repository("kept").await.unwrap();
    let refused = registry.delete_repository(&created.name).await.unwrap_err();
    assert_eq!(refused.code(), ErrorCode::NotSupported, "a delete that did not happen is not a success: {refused}");
    assert!(refused.message().contains("storage.delete.enabled"), "{refused}");
    assert_eq!(registry.get_repository(&created.name).await.unwrap(), created, "the images stay");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_are_access_denied() {
    for auth in [RegistryAuth::Htpasswd, RegistryAuth::Token] {
        let server = DockerRegistry::start(auth, true);
        let mut config = server.config("artifacts");
        config["local"]["credentials"]["password"] = json!("not-the-password");
        let registry = connect(&config.to_string()).unwrap();
        let err = registry.create_repository("hello").await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::AccessDenied, "{auth:?}: {err}");
        assert!(!err.to_string().contains("not-the-password"));
        let err = registry.generate_credentials("artifacts/hello", Permissions::Pull, None).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::AccessDenied, "{auth:?}: {err}");
        // And without any credentials.
        let mut config = server.config("artifacts");
        config.as_object_mut().unwrap().remove("local");
        let err = connect(&config.to_string()).unwrap().create_repository("hello").await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::AccessDenied, "{auth:?}: {err}");
    }
}
