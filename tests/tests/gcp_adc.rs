//! Google application default credentials, differential against google-auth: for each
//! environment (GOOGLE_APPLICATION_CREDENTIALS, gcloud's well-known file, the metadata
//! server, and combinations that shadow each other), the kind of credentials and the
//! principal our chain finds must equal what `google.auth.default()` finds from the
//! same environment and files.

use std::collections::BTreeMap;
use std::path::Path;

use artifact_registry_tests::contract_server::ContractServer;
use artifact_registry_tests::oci_registry::scratch_dir;
use serde_json::{Value, json};

const GOOGLE_AUTH: &str = r#"
import json
try:
    import google.auth
    c, _ = google.auth.default()
    kind = {"google.oauth2.service_account": "service_account", "google.oauth2.credentials": "authorized_user",
            "google.auth.compute_engine.credentials": "compute_engine",
            "google.auth.identity_pool": "external_account",
            "google.auth.impersonated_credentials": "impersonated_service_account"}.get(type(c).__module__, type(c).__module__)
    principal = (getattr(c, "service_account_email", None)
                 if kind in ("service_account", "external_account", "impersonated_service_account")
                 else getattr(c, "client_id", None))
    print(json.dumps({"method": kind, "principal": principal if kind != "compute_engine" else None}))
except Exception as e:
    print(json.dumps({"error": type(e).__name__, "message": str(e)}))
"#;

fn google_auth(env: &BTreeMap<String, String>) -> Value {
    artifact_registry_tests::sdk::python_json("google-auth", GOOGLE_AUTH, env)
}

async fn ours(env: &BTreeMap<String, String>) -> Value {
    let config = json!({ "name": "a", "binding": { "service": "gar", "repositoryName": "images" },
                         "gcp": { "projectId": "acme-images", "region": "us-central1" } });
    let registry = artifact_registry_tests::transports::registry_in_env(&config, env.clone());
    match registry.describe_credentials().await {
        Ok(v) => json!({ "method": v["method"], "principal": v["principal"] }),
        Err(e) => json!({ "error": e.code().as_str(), "message": e.message() }),
    }
}

fn write(dir: &Path, rel: &str, text: &str) -> String {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

fn service_account(email: &str) -> String {
    json!({ "type": "service_account", "project_id": "acme-images", "private_key_id": "k1", "client_email": email,
            "private_key": include_str!("../../core/testdata/gcp-test-key.pem"), "client_id": "1",
            "token_uri": "https://oauth2.googleapis.com/token" })
    .to_string()
}

fn authorized_user(client_id: &str) -> String {
    json!({ "type": "authorized_user", "client_id": client_id, "client_secret": "user-client-secret",
            "refresh_token": "1//user-refresh-token" })
    .to_string()
}

fn external_account(source: Value, impersonate: Option<&str>) -> String {
    let mut file = json!({ "type": "external_account",
        "audience": "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/ci/providers/github",
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt", "token_url": "https://sts.googleapis.com/v1/token",
        "credential_source": source });
    if let Some(email) = impersonate {
        file["service_account_impersonation_url"] = json!(format!(
            "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/{email}:generateAccessToken"
        ));
    }
    file.to_string()
}

/// What `gcloud auth application-default login --impersonate-service-account` writes.
fn impersonated(source: &str, delegates: &[&str]) -> String {
    json!({ "type": "impersonated_service_account", "delegates": delegates,
            "service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/ci-deployer@acme-images.iam.gserviceaccount.com:generateAccessToken",
            "source_credentials": serde_json::from_str::<Value>(source).unwrap() })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn application_default_credentials_match_google_auth() {
    let metadata = ContractServer::start("metadata_server.py");
    let host = metadata.endpoint.trim_start_matches("http://").to_owned();
    let root = scratch_dir("gcp-adc");
    type Setup = Box<dyn Fn(&Path, &mut BTreeMap<String, String>)>;
    let cases: Vec<(&str, Setup, bool)> = vec![
        (
            "env-service-account",
            Box::new(|h, e| {
                e.insert(
                    "GOOGLE_APPLICATION_CREDENTIALS".into(),
                    write(h, "sa.json", &service_account("deployer@acme-images.iam.gserviceaccount.com")),
                );
            }),
            true,
        ),
        (
            "env-authorized-user",
            Box::new(|h, e| {
                e.insert(
                    "GOOGLE_APPLICATION_CREDENTIALS".into(),
                    write(h, "user.json", &authorized_user("764086051850-user.apps.googleusercontent.com")),
                );
            }),
            true,
        ),
        (
            "gcloud-well-known-file",
            Box::new(|h, _| {
                write(
                    h,
                    ".config/gcloud/application_default_credentials.json",
                    &authorized_user("gcloud-login.apps.googleusercontent.com"),
                );
            }),
            true,
        ),
        (
            "cloudsdk-config-directory",
            Box::new(|h, e| {
                write(
                    h,
                    "sdk/application_default_credentials.json",
                    &service_account("sdk@acme-images.iam.gserviceaccount.com"),
                );
                e.insert("CLOUDSDK_CONFIG".into(), h.join("sdk").to_str().unwrap().to_owned());
            }),
            true,
        ),
        (
            "env-shadows-well-known-file",
            Box::new(|h, e| {
                write(
                    h,
                    ".config/gcloud/application_default_credentials.json",
                    &authorized_user("shadowed.apps.googleusercontent.com"),
                );
                e.insert(
                    "GOOGLE_APPLICATION_CREDENTIALS".into(),
                    write(h, "sa.json", &service_account("winner@acme-images.iam.gserviceaccount.com")),
                );
            }),
            true,
        ),
        (
            "well-known-file-shadows-metadata",
            Box::new(|h, _| {
                write(
                    h,
                    ".config/gcloud/application_default_credentials.json",
                    &authorized_user("file-wins.apps.googleusercontent.com"),
                );
            }),
            true,
        ),
        ("metadata-server", Box::new(|_, _| {}), true),
        (
            "external-account-file-source",
            Box::new(|h, e| {
                let token = write(h, "oidc-token", "subject");
                e.insert(
                    "GOOGLE_APPLICATION_CREDENTIALS".into(),
                    write(h, "wif.json", &external_account(json!({ "file": token }), None)),
                );
            }),
            true,
        ),
        (
            "external-account-url-source-impersonating",
            Box::new(|h, _| {
                let source = json!({ "url": "http://127.0.0.1:1/token", "headers": { "Metadata-Flavor": "Test" },
                                     "format": { "type": "json", "subject_token_field_name": "id_token" } });
                write(
                    h,
                    ".config/gcloud/application_default_credentials.json",
                    &external_account(source, Some("ci-deployer@acme-images.iam.gserviceaccount.com")),
                );
            }),
            true,
        ),
        (
            "impersonated-from-a-user-login",
            Box::new(|h, _| {
                write(
                    h,
                    ".config/gcloud/application_default_credentials.json",
                    &impersonated(
                        &authorized_user("impersonator.apps.googleusercontent.com"),
                        &["relay@acme-images.iam.gserviceaccount.com"],
                    ),
                );
            }),
            true,
        ),
        (
            "impersonated-from-a-service-account-key",
            Box::new(|h, e| {
                e.insert(
                    "GOOGLE_APPLICATION_CREDENTIALS".into(),
                    write(
                        h,
                        "imp.json",
                        &impersonated(&service_account("source@acme-images.iam.gserviceaccount.com"), &[]),
                    ),
                );
            }),
            true,
        ),
        (
            "env-names-a-missing-file",
            Box::new(|h, e| {
                e.insert("GOOGLE_APPLICATION_CREDENTIALS".into(), h.join("missing.json").to_str().unwrap().to_owned());
            }),
            false,
        ),
        (
            "nothing-and-no-metadata-check",
            Box::new(|_, e| {
                e.insert("NO_GCE_CHECK".into(), "true".into());
            }),
            false,
        ),
    ];
    let mut table = Vec::new();
    for (name, setup, found) in &cases {
        let home = root.join(name);
        std::fs::create_dir_all(&home).unwrap();
        let mut env = BTreeMap::new();
        env.insert("HOME".to_owned(), home.to_str().unwrap().to_owned());
        env.insert("GCE_METADATA_IP".to_owned(), host.clone());
        env.insert("GCE_METADATA_HOST".to_owned(), host.clone());
        setup(&home, &mut env);
        let (theirs, ours) = (google_auth(&env), ours(&env).await);
        if *found {
            assert!(theirs["method"].is_string(), "{name}: google-auth found nothing: {theirs}");
            assert_eq!(ours, theirs, "{name}");
        } else {
            assert!(theirs["error"].is_string(), "{name}: google-auth found {theirs}");
            assert!(ours["error"].is_string(), "{name}: google-auth found nothing but we found {ours}");
        }
        table.push(format!("{name:<36} google-auth {theirs:<70} ours {ours}"));
    }
    println!("{}", table.join("\n"));
    let _ = std::fs::remove_dir_all(root);
}
