//! The ACR provider end to end against the contract server
//! (`tests/servers/acr_server.py`, itself checked by Azure's own SDKs in
//! `tests/contract/`), through the native driver; the credentials it generates are
//! used with the core's OCI client, as a registry client would.

use std::time::{SystemTime, UNIX_EPOCH};

use artifact_registry_core::oci::{self, OciAuth, OciClient};
use artifact_registry_core::{
    ArtifactRegistry, AuthMethod, Credentials, CrossAccountAccess, ErrorCode, Permissions, Timestamp,
};
use artifact_registry_native::{NativeRegistry, connect};
use artifact_registry_tests::acr_server::AcrServer;
use serde_json::json;

async fn push(
    registry: &NativeRegistry,
    endpoint: &str,
    repo: &str,
    creds: &Credentials,
) -> artifact_registry_core::Result<String> {
    let client = OciClient::new(endpoint, OciAuth::from_credentials(creds))?;
    let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#.to_vec();
    let digest = registry.run(client.push_blob(repo, config.clone())).await?;
    let manifest = oci::image_manifest((oci::OCI_CONFIG, &digest, config.len()), &[], &[]);
    registry.run(client.push_manifest(repo, "v1", oci::OCI_MANIFEST, manifest)).await
}

async fn pull(
    registry: &NativeRegistry,
    endpoint: &str,
    repo: &str,
    creds: &Credentials,
) -> artifact_registry_core::Result<String> {
    let client = OciClient::new(endpoint, OciAuth::from_credentials(creds))?;
    Ok(registry.run(client.get_manifest(repo, "v1")).await?.digest)
}

/// How many `method` requests the server saw to a path containing `needle`.
fn requests_to(server: &AcrServer, method: &str, needle: &str) -> usize {
    let state = server.state();
    let requests = state["requests"].as_array().unwrap();
    requests.iter().filter(|r| r["method"] == method && r["path"].as_str().unwrap().contains(needle)).count()
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_with_repository_scoped_tokens() {
    let server = AcrServer::start();
    let registry = connect(&server.config(json!({})).to_string()).unwrap();
    let host = server.endpoint.trim_start_matches("http://");
    assert_eq!(registry.registry_endpoint(), server.endpoint);
    assert_eq!(registry.upstream_repository_prefix(), "team-a");

    // Create makes no call; get answers for a repository that exists only by name.
    let repo = registry.create_repository("web").await.unwrap();
    assert_eq!(
        (repo.name.as_str(), repo.uri.as_deref(), repo.created_at.as_deref()),
        ("team-a/web", Some(format!("{host}/team-a/web").as_str()), None)
    );
    assert!(server.state()["requests"].as_array().unwrap().is_empty(), "create made a request");
    assert_eq!(registry.get_repository(&repo.name).await.unwrap().created_at, None);

    // Cross-account access: an AWS grant is bad input, before any request; an Azure
    // grant on a registry in RBAC-only mode is not-supported, and nothing is written.
    let before = server.state()["requests"].as_array().unwrap().len();
    let e = registry
        .add_cross_account_access(
            &repo.name,
            &CrossAccountAccess::from_json(&json!({ "platform": "aws", "accountIds": ["111111111111"] })).unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    assert_eq!(server.state()["requests"].as_array().unwrap().len(), before);
    let e = registry.add_cross_account_access(&repo.name, &azure_grant(&[GRANTEES[0].1])).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotSupported);
    assert!(e.message().contains("--role-assignment-mode rbac-abac") && e.message().contains("AcrPull"), "{e}");
    assert_eq!(registry.get_cross_account_access(&repo.name).await.unwrap_err().code(), ErrorCode::NotSupported);
    assert_eq!(requests_to(&server, "PUT", "roleAssignments"), 0);

    // Push-pull credentials push; pull credentials pull and cannot push.
    let push_creds = registry.generate_credentials(&repo.name, Permissions::PushPull, None).await.unwrap();
    assert_eq!(
        (push_creds.auth_method, push_creds.username.as_str()),
        (AuthMethod::Bearer, "00000000-0000-0000-0000-000000000000")
    );
    let expires = Timestamp::parse_rfc3339(push_creds.expires_at.as_deref().unwrap()).unwrap().unix_seconds();
    assert!((expires - now() - 4500).abs() < 30, "the expiry is the token's own (the server issues 4500 s)");
    let digest = push(&registry, &server.endpoint, &repo.name, &push_creds).await.unwrap();
    let pull_creds = registry.generate_credentials(&repo.name, Permissions::Pull, Some(900)).await.unwrap();
    assert_eq!(pull(&registry, &server.endpoint, &repo.name, &pull_creds).await.unwrap(), digest);
    let refused = push(&registry, &server.endpoint, &repo.name, &pull_creds).await.unwrap_err();
    assert_eq!(refused.code(), ErrorCode::AccessDenied, "{refused}");
    // Another repository is out of reach of these credentials.
    assert!(pull(&registry, &server.endpoint, "team-a/other", &push_creds).await.is_err());

    // Now it has images: createdAt from ACR.
    assert!(registry.get_repository(&repo.name).await.unwrap().created_at.is_some());

    // One exchange served every call so far; two Azure AD tokens (the registry's, and
    // ARM's for the role-assignment mode read by the cross-account calls).
    assert_eq!(server.count("/oauth2/exchange"), 1);
    assert_eq!(server.count(&format!("/{}/oauth2/v2.0/token", server.ready["tenantId"].as_str().unwrap())), 2);

    // Refresh tokens expire: the next new scope's token request gets 401, and a new
    // exchange follows (tokens already cached for their scope are still served).
    server.control("/_contract/configure", Some(json!({ "expireRefreshTokens": true })));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    registry.generate_credentials("team-a/fresh", Permissions::Pull, Some(600)).await.unwrap();
    assert_eq!(server.count("/oauth2/exchange"), 2);

    // Delete is real; gone is success.
    registry.delete_repository(&repo.name).await.unwrap();
    assert!(server.state()["repositories"].get("team-a/web").is_none());
    registry.delete_repository(&repo.name).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_map_tokens_give_ttl_exact_basic_credentials() {
    let server = AcrServer::start();
    server.control("/_contract/configure", Some(json!({ "lroPolls": 2 })));
    let registry = connect(&server.config(json!({ "scopeMapTokens": true })).to_string()).unwrap();
    let repo = registry.create_repository("api").await.unwrap();

    let start = now();
    let push_creds = registry.generate_credentials(&repo.name, Permissions::PushPull, Some(1800)).await.unwrap();
    assert_eq!(push_creds.auth_method, AuthMethod::Basic);
    assert!(push_creds.username.starts_with("ar-push-"), "{}", push_creds.username);
    let expires = Timestamp::parse_rfc3339(push_creds.expires_at.as_deref().unwrap()).unwrap().unix_seconds();
    assert!((expires - (start + 1800)).abs() <= 2, "TTL-exact: {expires} vs {}", start + 1800);
    let digest = push(&registry, &server.endpoint, &repo.name, &push_creds).await.unwrap();

    let pull_creds = registry.generate_credentials(&repo.name, Permissions::Pull, Some(900)).await.unwrap();
    assert!(pull_creds.username.starts_with("ar-pull-"));
    assert_eq!(pull(&registry, &server.endpoint, &repo.name, &pull_creds).await.unwrap(), digest);
    assert_eq!(
        push(&registry, &server.endpoint, &repo.name, &pull_creds).await.unwrap_err().code(),
        ErrorCode::AccessDenied
    );

    // The scope map allows this repository only.
    let state = server.state();
    let actions = &state["scopeMaps"][&pull_creds.username]["properties"]["actions"];
    assert_eq!(actions, &json!(["repositories/team-a/api/content/read", "repositories/team-a/api/metadata/read"]));

    // Reused, not recreated: a second call regenerates only a password, and the
    // previous credentials keep working (the other password slot).
    let again = registry.generate_credentials(&repo.name, Permissions::Pull, Some(900)).await.unwrap();
    assert_eq!(again.username, pull_creds.username);
    assert_eq!(pull(&registry, &server.endpoint, &repo.name, &again).await.unwrap(), digest);
    let puts = server.state()["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["method"] == "PUT" && r["path"].as_str().unwrap().contains("/scopeMaps/"))
        .count();
    assert_eq!(puts, 2, "one scope map per repository and permission, created once");
}

/// ARM answers a long-running POST (and a token PUT) with `Location`, with
/// `Azure-AsyncOperation`, or with both; each way ends in working credentials.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_form_of_long_running_arm_answer_is_followed() {
    for style in ["location", "async-operation", "both"] {
        let server = AcrServer::start();
        server.control("/_contract/configure", Some(json!({ "lroPolls": 2, "lroStyle": style })));
        let registry = connect(&server.config(json!({ "scopeMapTokens": true })).to_string()).unwrap();
        let repo = registry.create_repository("lro").await.unwrap();
        let push_creds = registry
            .generate_credentials(&repo.name, Permissions::PushPull, Some(900))
            .await
            .unwrap_or_else(|e| panic!("{style}: {e}"));
        let digest = push(&registry, &server.endpoint, &repo.name, &push_creds).await.unwrap();
        let pull_creds = registry.generate_credentials(&repo.name, Permissions::Pull, Some(900)).await.unwrap();
        assert_eq!(pull(&registry, &server.endpoint, &repo.name, &pull_creds).await.unwrap(), digest, "{style}");
        let polled = requests_to(&server, "GET", "/operation");
        assert!(polled >= 2, "{style}: the operations were not polled ({polled} polls)");
    }
}

/// Eight calls of one client for the same repository and permission at once: each
/// password handed out is current when its call returns (a token has two password
/// slots, and two calls that read it together would pick the same one, the second
/// replacing the first's password before it is even returned).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_do_not_replace_each_others_passwords() {
    use sha2::{Digest, Sha256};
    let server = AcrServer::start();
    let registry = std::sync::Arc::new(connect(&server.config(json!({ "scopeMapTokens": true })).to_string()).unwrap());
    let repo = registry.create_repository("busy").await.unwrap();
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let (registry, name) = (registry.clone(), repo.name.clone());
            tokio::spawn(async move {
                let creds = registry.generate_credentials(&name, Permissions::Pull, Some(900)).await;
                let returned = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
                (creds, returned)
            })
        })
        .collect();
    let mut results = Vec::new();
    for call in calls {
        results.push(call.await.unwrap());
    }
    let log = server.state()["passwordLog"].as_array().unwrap().clone();
    assert_eq!(log.len(), 8, "one password per call: {log:?}");
    for (creds, returned) in results {
        let creds = creds.unwrap();
        let digest = Sha256::digest(creds.password.expose().as_bytes());
        let fingerprint: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        let entry = log.iter().find(|e| e["fingerprint"] == fingerprint.as_str()).expect("the password was generated");
        if let Some(replaced) = entry["replaced"].as_f64() {
            assert!(
                replaced > returned,
                "a password was replaced at {replaced} before its call returned at {returned}"
            );
        }
    }
}

/// An administrator disables a token to revoke its passwords: the next call must not
/// enable it again (that would revive every unexpired password).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_token_stays_disabled() {
    let server = AcrServer::start();
    let registry = connect(&server.config(json!({ "scopeMapTokens": true })).to_string()).unwrap();
    let repo = registry.create_repository("revoked").await.unwrap();
    let creds = registry.generate_credentials(&repo.name, Permissions::Pull, Some(900)).await.unwrap();
    server.control("/_contract/configure", Some(json!({ "tokenStatus": { &creds.username: "disabled" } })));
    let reads_before = requests_to(&server, "GET", "/tokens/");

    let e = registry.generate_credentials(&repo.name, Permissions::Pull, Some(900)).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::Conflict, "{e}");
    assert!(e.message().contains(&creds.username) && e.message().contains("disabled"), "{e}");
    let state = server.state();
    assert_eq!(state["tokens"][&creds.username]["properties"]["status"], "disabled");
    assert_eq!(requests_to(&server, "PUT", "/tokens/"), 1, "only the first call wrote the token");
    assert!(requests_to(&server, "GET", "/tokens/") > reads_before, "the token was read");
    assert_eq!(requests_to(&server, "POST", "/generateCredentials"), 1, "no password for the disabled token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_from_the_environment() {
    let server = AcrServer::start();
    let mut config = server.config(json!({}));
    config["azure"].as_object_mut().unwrap().remove("credentials");
    let r = &server.ready;
    let env = artifact_registry_tests::transports::env_of(&[
        ("AZURE_TENANT_ID", r["tenantId"].as_str().unwrap()),
        ("AZURE_CLIENT_ID", r["clientId"].as_str().unwrap()),
        ("AZURE_CLIENT_SECRET", r["clientSecret"].as_str().unwrap()),
    ]);
    let registry = artifact_registry_tests::transports::registry_in_env(&config, env);
    let who = registry.describe_credentials().await.unwrap();
    assert_eq!(who["method"], "EnvironmentCredential", "{who}");
    assert_eq!(who["principal"], r["clientId"]);
    assert!(!who.to_string().contains(r["clientSecret"].as_str().unwrap()));
    let creds = registry.generate_credentials("team-a/web", Permissions::Pull, None).await.unwrap();
    assert_eq!(creds.auth_method, AuthMethod::Bearer);
}

/// The registry acts as `method`'s identity (the contract server's client) and gets
/// pull credentials with it.
async fn acts_as<T: artifact_registry_core::Transport, C: artifact_registry_core::Clock>(
    registry: &artifact_registry_core::Registry<T, C>,
    method: &str,
    client_id: &serde_json::Value,
) {
    let who = registry.describe_credentials().await.unwrap();
    assert_eq!((who["method"].as_str(), &who["principal"]), (Some(method), client_id), "{who}");
    let creds = registry.generate_credentials("team-a/web", Permissions::Pull, None).await.unwrap();
    assert_eq!(creds.auth_method, AuthMethod::Bearer);
}

/// A service principal's certificate (`AZURE_CLIENT_CERTIFICATE_PATH`, PEM or PKCS#12
/// with the certificate and its key, `AZURE_CLIENT_CERTIFICATE_PASSWORD` when it is
/// encrypted), as CI systems use instead of a secret: the key signs a client assertion
/// naming the certificate by its thumbprint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificate_from_the_environment() {
    let server = AcrServer::start();
    let mut config = server.config(json!({}));
    config["azure"].as_object_mut().unwrap().remove("credentials");
    let r = &server.ready;
    let dir = artifact_registry_tests::oci_registry::scratch_dir("acr-certificate");
    let certificate = include_str!("../../core/testdata/azure-test-cert.pem");
    let key = include_str!("../../core/testdata/gcp-test-key.pem");
    let pem = dir.join("client.pem");
    std::fs::write(&pem, format!("{certificate}{key}")).unwrap();
    let env = artifact_registry_tests::transports::env_of(&[
        ("AZURE_TENANT_ID", r["tenantId"].as_str().unwrap()),
        ("AZURE_CLIENT_ID", r["clientId"].as_str().unwrap()),
        ("AZURE_CLIENT_CERTIFICATE_PATH", pem.to_str().unwrap()),
    ]);
    let registry = || artifact_registry_tests::transports::registry_in_env(&config, env.clone());

    // Azure AD does not know the certificate yet: refused, typed, no key in the error.
    let refused = registry().get_repository("team-a/web").await.unwrap_err();
    assert_eq!(refused.code(), ErrorCode::AccessDenied, "{refused}");
    assert!(!refused.to_string().contains("PRIVATE KEY"), "{refused}");

    server.control("/_contract/configure", Some(json!({ "certificates": [certificate] })));
    acts_as(&registry(), "EnvironmentCredential", &r["clientId"]).await;

    // The same identity from PKCS#12 in each encryption, and from a PEM file whose key
    // is encrypted, with AZURE_CLIENT_CERTIFICATE_PASSWORD (core/testdata/make-pkcs12.py).
    let password = artifact_registry_tests::canary("certificatePassword");
    let testdata = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/testdata");
    let at = |file: &str| testdata.join(file).to_str().unwrap().to_owned();
    let with = |path: &str, password: Option<&str>| {
        let mut env = env.clone();
        env.insert("AZURE_CLIENT_CERTIFICATE_PATH".into(), path.to_owned());
        if let Some(p) = password {
            env.insert("AZURE_CLIENT_CERTIFICATE_PASSWORD".into(), p.to_owned());
        }
        artifact_registry_tests::transports::registry_in_env(&config, env)
    };
    for file in ["client-aes256.p12", "client-3des.p12", "client-legacy.p12", "client-encrypted.pem"] {
        acts_as(&with(&at(file), Some(password)), "EnvironmentCredential", &r["clientId"]).await;
    }
    acts_as(&with(&at("client-nopass.p12"), None), "EnvironmentCredential", &r["clientId"]).await;

    // A file that is no key and certificate, or that the password does not open, is
    // bad input naming the variable, the password is in no message, and nothing is sent.
    let before = server.state()["requests"].as_array().unwrap().len();
    let mut bad = Vec::new();
    for (name, bytes) in [
        ("cert-only.pem", certificate.as_bytes().to_vec()),
        (
            "encrypted.pem",
            format!("{certificate}-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n")
                .into_bytes(),
        ),
        ("random.bin", (0..=255u8).collect()),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        bad.push((path.to_str().unwrap().to_owned(), None));
    }
    bad.push((at("client-encrypted.pem"), None));
    bad.push((at("client-aes256.p12"), None));
    bad.push((at("client-aes256.p12"), Some("not-the-password")));
    bad.push((at("client-legacy.p12"), Some("not-the-password")));
    bad.push((at("client-encrypted.pem"), Some("not-the-password")));
    for (path, password) in bad {
        let e = with(&path, password).get_repository("team-a/web").await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput, "{path}: {e}");
        assert!(e.message().contains("AZURE_CLIENT_CERTIFICATE_PATH"), "{e}");
        assert!(password.is_none() || e.message().contains("AZURE_CLIENT_CERTIFICATE_PASSWORD"), "{e}");
        assert!(!format!("{e} {e:?}").contains("not-the-password"), "{e}");
    }
    assert_eq!(server.state()["requests"].as_array().unwrap().len(), before, "a bad certificate file sent something");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workload_identity_from_the_environment() {
    let server = AcrServer::start();
    let mut config = server.config(json!({}));
    config["azure"].as_object_mut().unwrap().remove("credentials");
    let r = &server.ready;
    let dir = artifact_registry_tests::oci_registry::scratch_dir("acr-workload");
    let token_file = dir.join("azure-identity-token");
    // What the AKS workload identity webhook projects into the pod.
    std::fs::write(&token_file, "projected-service-account-token").unwrap();
    let env = artifact_registry_tests::transports::env_of(&[
        ("AZURE_TENANT_ID", r["tenantId"].as_str().unwrap()),
        ("AZURE_CLIENT_ID", r["clientId"].as_str().unwrap()),
        ("AZURE_FEDERATED_TOKEN_FILE", token_file.to_str().unwrap()),
    ]);
    let registry = || artifact_registry_tests::transports::registry_in_env(&config, env.clone());

    // Azure AD does not trust the assertion yet: refused, typed, the token kept out.
    let refused = registry().generate_credentials("team-a/web", Permissions::Pull, None).await.unwrap_err();
    assert_eq!(refused.code(), ErrorCode::AccessDenied, "{refused}");
    assert!(!refused.to_string().contains("projected-service-account-token"), "{refused}");

    server.control("/_contract/configure", Some(json!({ "federatedAssertions": ["projected-service-account-token"] })));
    acts_as(&registry(), "WorkloadIdentityCredential", &r["clientId"]).await;
    let _ = std::fs::remove_dir_all(dir);
}

/// `"unscopedCredentials": true` without scope maps: the registry's refresh token as a
/// login for the null-GUID user (what `az acr login --expose-token` gives), which
/// docker, the kubelet and image-pull Secrets take; it reaches what the identity
/// reaches, which is why it is opt-in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unscoped_acr_credentials_are_the_refresh_token_as_a_login() {
    let server = AcrServer::start();
    let registry = connect(&server.config(json!({})).to_string()).unwrap();
    let creds = registry.generate_credentials("team-a/web", Permissions::PushPull, None).await.unwrap();
    let digest = push(&registry, &server.endpoint, "team-a/web", &creds).await.unwrap();

    let unscoped = connect(&server.config(json!({ "unscopedCredentials": true })).to_string()).unwrap();
    let login = unscoped.generate_credentials("team-a/web", Permissions::Pull, None).await.unwrap();
    assert_eq!(
        (login.auth_method, login.username.as_str()),
        (AuthMethod::Basic, "00000000-0000-0000-0000-000000000000")
    );
    assert!(login.expires_at.is_some());
    assert_eq!(pull(&unscoped, &server.endpoint, "team-a/web", &login).await.unwrap(), digest);
    // A Secret can hold it.
    let secret = unscoped.run(unscoped.client().image_pull_secret("team-a/web", "acr-pull", None, None)).await.unwrap();
    assert_eq!(secret["type"], "kubernetes.io/dockerconfigjson");
    // Without the opt-in, no login: a bearer token for one repository.
    assert_eq!(creds.auth_method, AuthMethod::Bearer);
}

// ---- cross-account pull through ABAC role assignments ---------------------------------

/// Grantee applications (client id, object id of their service principal).
const GRANTEES: [(&str, &str); 8] = [
    ("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c60", "3f2e1d0c-9b8a-4c7d-8e6f-5a4b3c2d1e00"),
    ("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c61", "3f2e1d0c-9b8a-4c7d-8e6f-5a4b3c2d1e01"),
    ("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c62", "3f2e1d0c-9b8a-4c7d-8e6f-5a4b3c2d1e02"),
    ("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c63", "3f2e1d0c-9b8a-4c7d-8e6f-5a4b3c2d1e03"),
    ("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c64", "3f2e1d0c-9b8a-4c7d-8e6f-5a4b3c2d1e04"),
    ("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c65", "3f2e1d0c-9b8a-4c7d-8e6f-5a4b3c2d1e05"),
    ("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c66", "3f2e1d0c-9b8a-4c7d-8e6f-5a4b3c2d1e06"),
    ("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c67", "3f2e1d0c-9b8a-4c7d-8e6f-5a4b3c2d1e07"),
];
const READER: &str = "b93aa761-3e63-49ed-ac28-beffa264f7ac";

fn azure_grant(principals: &[&str]) -> CrossAccountAccess {
    CrossAccountAccess::from_json(&json!({ "platform": "azure", "principalIds": principals })).unwrap()
}

/// The server in ABAC mode with the grantees registered in its directory.
fn abac_server() -> AcrServer {
    let server = AcrServer::start();
    let apps: Vec<_> = GRANTEES.iter().map(|(c, o)| json!({ "clientId": c, "objectId": o })).collect();
    server.control(
        "/_contract/configure",
        Some(json!({ "roleAssignmentMode": "AbacRepositoryPermissions", "servicePrincipals": apps, "roleAssignmentPageSize": 2 })),
    );
    server
}

/// The grantee's own binding of the same registry (its client id, the suite's canary
/// secret), with a fresh token cache.
fn grantee(server: &AcrServer, client_id: &str) -> NativeRegistry {
    connect(&server.config_as(client_id).to_string()).unwrap()
}

fn granted(access: &CrossAccountAccess) -> Vec<String> {
    match access {
        CrossAccountAccess::Azure(z) => z.principal_ids.clone(),
        other => panic!("not an Azure grant: {other:?}"),
    }
}

fn role_assignments(server: &AcrServer) -> serde_json::Map<String, serde_json::Value> {
    server.state()["roleAssignments"].as_object().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abac_grant_lets_the_grantee_pull_that_repository_and_nothing_else() {
    let server = abac_server();
    let owner = connect(&server.config(json!({})).to_string()).unwrap();
    let (web, api) = ("team-a/web", "team-a/api");
    for repo in [web, api] {
        let creds = owner.generate_credentials(repo, Permissions::PushPull, None).await.unwrap();
        push(&owner, &server.endpoint, repo, &creds).await.unwrap();
    }
    let (client_id, principal) = GRANTEES[0];

    // Before the grant the grantee reads nothing.
    let before = grantee(&server, client_id);
    let creds = before.generate_credentials(web, Permissions::Pull, None).await.unwrap();
    assert!(pull(&before, &server.endpoint, web, &creds).await.is_err());

    // Grant: one Reader assignment at the registry's scope, its condition naming web.
    owner.add_cross_account_access(web, &azure_grant(&[&principal.to_uppercase()])).await.unwrap();
    let got = owner.get_cross_account_access(web).await.unwrap();
    assert_eq!(granted(&got.access), vec![principal.to_owned()]);
    assert!(got.last_updated.is_some());
    assert_eq!(granted(&owner.get_cross_account_access(api).await.unwrap().access), Vec::<String>::new());
    let ours: Vec<_> =
        role_assignments(&server).into_values().filter(|a| a["properties"]["principalId"] == principal).collect();
    assert_eq!(ours.len(), 1);
    let p = &ours[0]["properties"];
    assert!(p["roleDefinitionId"].as_str().unwrap().ends_with(READER));
    assert_eq!(p["scope"], json!(server.registry_id()), "at the registry's scope");
    assert!(p["condition"].as_str().unwrap().contains("StringEqualsIgnoreCase 'team-a/web'"));
    assert_eq!(p["principalType"], "ServicePrincipal");

    // The grantee pulls web; it is refused on api, and on push to web.
    let reader = grantee(&server, client_id);
    let creds = reader.generate_credentials(web, Permissions::Pull, None).await.unwrap();
    pull(&reader, &server.endpoint, web, &creds).await.unwrap();
    let other = reader.generate_credentials(api, Permissions::Pull, None).await.unwrap();
    assert_eq!(pull(&reader, &server.endpoint, api, &other).await.unwrap_err().code(), ErrorCode::AccessDenied);
    let push_creds = reader.generate_credentials(web, Permissions::PushPull, None).await.unwrap();
    assert_eq!(push(&reader, &server.endpoint, web, &push_creds).await.unwrap_err().code(), ErrorCode::AccessDenied);
    // Another grantee, not named, reads nothing.
    let stranger = grantee(&server, GRANTEES[1].0);
    let creds = stranger.generate_credentials(web, Permissions::Pull, None).await.unwrap();
    assert!(pull(&stranger, &server.endpoint, web, &creds).await.is_err());

    // A second add writes nothing; remove takes the assignment back.
    let puts = requests_to(&server, "PUT", "roleAssignments");
    owner.add_cross_account_access(web, &azure_grant(&[principal])).await.unwrap();
    assert_eq!(requests_to(&server, "PUT", "roleAssignments"), puts);
    owner.remove_cross_account_access(web, &azure_grant(&[principal])).await.unwrap();
    assert!(granted(&owner.get_cross_account_access(web).await.unwrap().access).is_empty());
    assert!(role_assignments(&server).values().all(|a| a["properties"]["principalId"] != principal));
    // Removing again is a no-op: nothing of ours is left to delete.
    let deletes = requests_to(&server, "DELETE", "roleAssignments");
    owner.remove_cross_account_access(web, &azure_grant(&[principal])).await.unwrap();
    assert_eq!(requests_to(&server, "DELETE", "roleAssignments"), deletes);

    // After the revoke the grantee's new tokens read nothing.
    let revoked = grantee(&server, client_id);
    let creds = revoked.generate_credentials(web, Permissions::Pull, None).await.unwrap();
    assert_eq!(pull(&revoked, &server.endpoint, web, &creds).await.unwrap_err().code(), ErrorCode::AccessDenied);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_concurrent_adds_for_eight_principals_all_stay() {
    let server = abac_server();
    let config = server.config(json!({})).to_string();
    let mut tasks = Vec::new();
    for (_, principal) in GRANTEES {
        let config = config.clone();
        // A client each: eight writers that share nothing, as eight processes would.
        tasks.push(tokio::spawn(async move {
            let registry = connect(&config).unwrap();
            registry.add_cross_account_access("team-a/web", &azure_grant(&[principal])).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let owner = connect(&config).unwrap();
    let mut expected: Vec<String> = GRANTEES.iter().map(|(_, p)| p.to_string()).collect();
    expected.sort();
    assert_eq!(granted(&owner.get_cross_account_access("team-a/web").await.unwrap().access), expected);
    // Each grantee pulls.
    let creds = owner.generate_credentials("team-a/web", Permissions::PushPull, None).await.unwrap();
    push(&owner, &server.endpoint, "team-a/web", &creds).await.unwrap();
    for (client_id, _) in GRANTEES {
        let g = grantee(&server, client_id);
        let creds = g.generate_credentials("team-a/web", Permissions::Pull, None).await.unwrap();
        pull(&g, &server.endpoint, "team-a/web", &creds).await.unwrap();
    }
    // Concurrent removes of four leave the other four.
    let mut tasks = Vec::new();
    for (_, principal) in &GRANTEES[..4] {
        let config = config.clone();
        tasks.push(tokio::spawn(async move {
            connect(&config).unwrap().remove_cross_account_access("team-a/web", &azure_grant(&[principal])).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(granted(&owner.get_cross_account_access("team-a/web").await.unwrap().access), expected[4..].to_vec());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_look_alike_assignments_survive_add_and_remove_and_are_never_reported() {
    let server = abac_server();
    let owner = connect(&server.config(json!({})).to_string()).unwrap();
    let (_, principal) = GRANTEES[0];
    let role = |id: &str| server.role_definition(id);
    let condition = |op: &str, repo: &str| {
        format!(
            "((!(ActionMatches{{'Microsoft.ContainerRegistry/registries/repositories/content/read'}}) AND !(ActionMatches{{'Microsoft.ContainerRegistry/registries/repositories/metadata/read'}})) OR (@Request[Microsoft.ContainerRegistry/registries/repositories:name] {op} '{repo}'))"
        )
    };
    let description = "artifact-registry: cross-account pull of the repository team-a/web";
    // Someone else's: a prefix condition, our condition without our description (for
    // another grantee), our condition and description with the Writer role, and ours
    // for another principal under a name of their own.
    let foreign = [
        (
            "a1000000-0000-4000-8000-000000000001",
            role(READER),
            condition("StringStartsWithIgnoreCase", "team-a/web"),
            description,
            principal,
        ),
        (
            "a1000000-0000-4000-8000-000000000002",
            role(READER),
            condition("StringEqualsIgnoreCase", "team-a/web"),
            "pull for the web team",
            GRANTEES[2].1,
        ),
        (
            "a1000000-0000-4000-8000-000000000003",
            role("2a1e307c-b015-4ebd-883e-5b7698a07328"),
            condition("StringEqualsIgnoreCase", "team-a/web"),
            description,
            principal,
        ),
        (
            "a1000000-0000-4000-8000-000000000004",
            role(READER),
            condition("StringEqualsIgnoreCase", "team-a/web"),
            description,
            GRANTEES[1].1,
        ),
    ];
    for (name, role, condition, description, principal) in &foreign {
        let properties = json!({ "roleDefinitionId": role, "principalId": principal, "principalType": "ServicePrincipal",
            "condition": condition, "conditionVersion": "2.0", "description": description });
        assert_eq!(server.put_role_assignment(name, properties), 201);
    }
    let before = role_assignments(&server);

    // None of them is reported; add writes ours beside them, remove takes only ours.
    assert!(granted(&owner.get_cross_account_access("team-a/web").await.unwrap().access).is_empty());
    owner.add_cross_account_access("team-a/web", &azure_grant(&[principal])).await.unwrap();
    assert_eq!(
        granted(&owner.get_cross_account_access("team-a/web").await.unwrap().access),
        vec![principal.to_owned()]
    );
    owner
        .remove_cross_account_access("team-a/web", &azure_grant(&[principal, GRANTEES[1].1, GRANTEES[2].1]))
        .await
        .unwrap();
    assert_eq!(role_assignments(&server), before, "someone else's assignments changed");
    assert!(granted(&owner.get_cross_account_access("team-a/web").await.unwrap().access).is_empty());

    // The same grant already made by someone else, under their name: ARM refuses a
    // second one, and add says so (a conflict) rather than claim a grant it did not make.
    let e = owner.add_cross_account_access("team-a/web", &azure_grant(&[GRANTEES[2].1])).await.unwrap_err();
    assert_eq!((e.code(), e.provider_code()), (ErrorCode::Conflict, Some("RoleAssignmentExists")), "{e}");
    assert_eq!(role_assignments(&server), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abac_errors_say_what_to_do_and_write_nothing() {
    let server = abac_server();
    let owner = connect(&server.config(json!({})).to_string()).unwrap();
    // The binding's identity may not write role assignments.
    server.control("/_contract/configure", Some(json!({ "roleAssignmentWriteDenied": true })));
    let e = owner.add_cross_account_access("team-a/web", &azure_grant(&[GRANTEES[0].1])).await.unwrap_err();
    assert_eq!((e.code(), e.http_status()), (ErrorCode::AccessDenied, Some(403)));
    assert!(e.message().contains("Microsoft.Authorization/roleAssignments/write"), "{e}");
    server.control("/_contract/configure", Some(json!({ "roleAssignmentWriteDenied": false })));
    // A principal the directory does not know.
    let e = owner
        .add_cross_account_access("team-a/web", &azure_grant(&["11111111-2222-4333-8444-555555555555"]))
        .await
        .unwrap_err();
    assert_eq!((e.code(), e.provider_code()), (ErrorCode::InvalidInput, Some("PrincipalNotFound")));
    assert!(e.message().contains("admin consent"), "{e}");
    // Bad input: nothing sent at all.
    let before = server.state()["requests"].as_array().unwrap().len();
    for bad in [
        json!({ "platform": "azure", "principalIds": ["not-a-guid"] }),
        json!({ "platform": "azure", "principalIds": [GRANTEES[0].1, GRANTEES[0].1.to_uppercase()] }),
        json!({ "platform": "azure", "principalIds": [] }),
        json!({ "platform": "azure", "principalIds": [GRANTEES[0].1], "allowedServiceTypes": ["worker"] }),
        json!({ "platform": "gcp", "projectNumbers": ["123"] }),
    ] {
        let access = CrossAccountAccess::from_json(&bad).unwrap();
        let e = owner.add_cross_account_access("team-a/web", &access).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput, "{bad}: {e}");
    }
    assert_eq!(server.state()["requests"].as_array().unwrap().len(), before);
    assert!(role_assignments(&server).values().all(|a| a["properties"]["principalId"] != GRANTEES[0].1));
}
