//! Azure credentials from the environment, differential against azure-identity's
//! `DefaultAzureCredential` where its sources can be pointed at loopback: managed
//! identity through App Service (`IDENTITY_ENDPOINT`) and through IMDS
//! (`AZURE_POD_IDENTITY_AUTHORITY_HOST`). azure-identity refuses an `http://`
//! authority for the client-secret and workload-identity members, so those are
//! checked end to end against the ACR contract server's Azure AD instead
//! (`acr_contract.rs`), a deliberate difference in how they are tested.

use std::collections::BTreeMap;

use artifact_registry_tests::contract_server::ContractServer;
use artifact_registry_tests::oci_registry::scratch_dir;
use serde_json::{Value, json};

const AZURE_IDENTITY: &str = r#"
import json
try:
    from azure.identity import DefaultAzureCredential
    c = DefaultAzureCredential(exclude_cli_credential=True, exclude_powershell_credential=True,
                               exclude_developer_cli_credential=True, exclude_shared_token_cache_credential=True,
                               exclude_visual_studio_code_credential=True)
    t = c.get_token("https://containerregistry.azure.net/.default")
    print(json.dumps({"method": type(c._successful_credential).__name__, "token": t.token}))
except Exception as e:
    print(json.dumps({"error": type(e).__name__, "message": str(e)[:300]}))
"#;

fn azure_identity(env: &BTreeMap<String, String>) -> Value {
    artifact_registry_tests::sdk::python_json("azure-identity", AZURE_IDENTITY, env)
}

async fn ours(env: &BTreeMap<String, String>) -> Value {
    let config = json!({ "name": "a", "binding": { "service": "acr", "registryName": "acmeregistry", "resourceGroupName": "rg" },
        "azure": { "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47", "subscriptionId": "0b1f6471-1bf0-4dda-aec3-cb9272f09590" } });
    let registry = artifact_registry_tests::transports::registry_in_env(&config, env.clone());
    match registry.describe_credentials().await {
        Ok(v) => json!({ "method": v["method"], "principal": v["principal"], "expiresAt": v["expiresAt"] }),
        Err(e) => json!({ "error": e.code().as_str(), "message": e.message() }),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_identity_matches_default_azure_credential() {
    let metadata = ContractServer::start("metadata_server.py");
    let home = scratch_dir("azure-default");
    let base = |extra: &[(&str, String)]| {
        let mut env: BTreeMap<String, String> = [("HOME".to_owned(), home.to_str().unwrap().to_owned())].into();
        env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        env
    };
    let app_service = [
        ("IDENTITY_ENDPOINT", format!("{}/msi/token", metadata.endpoint)),
        ("IDENTITY_HEADER", "app-service-identity-header".to_owned()),
    ];
    let imds = [("AZURE_POD_IDENTITY_AUTHORITY_HOST", metadata.endpoint.clone())];
    let cases: Vec<(&str, BTreeMap<String, String>, &str)> = vec![
        ("app-service", base(&app_service), "/msi/token"),
        (
            "app-service-user-assigned",
            base(
                &[&app_service[..], &[("AZURE_CLIENT_ID", "11111111-2222-3333-4444-555555555555".to_owned())]].concat(),
            ),
            "/msi/token",
        ),
        ("imds", base(&imds), "/metadata/identity/oauth2/token"),
        ("app-service-shadows-imds", base(&[&app_service[..], &imds[..]].concat()), "/msi/token"),
    ];
    for (name, env, path) in &cases {
        let before = metadata.count(path);
        let theirs = azure_identity(env);
        let after_theirs = metadata.count(path);
        let ours = ours(env).await;
        assert_eq!(theirs["method"], "ManagedIdentityCredential", "{name}: azure-identity {theirs}");
        assert_eq!(ours["method"], theirs["method"], "{name}: ours {ours}, azure-identity {theirs}");
        assert!(ours["expiresAt"].is_string(), "{name}: {ours}");
        assert!(after_theirs > before && metadata.count(path) > after_theirs, "{name}: both asked {path}");
        println!("{name:<28} azure-identity {:<30} ours {ours}", theirs["method"]);
    }
    // The requests were the SDK's: the resource, the api-version, the client id.
    let requests = metadata.state()["requests"].clone();
    let ours_user = requests.as_array().unwrap().iter().filter(|r| r["path"] == "/msi/token").any(|r| {
        let q = r["query"].as_str().unwrap();
        q.contains("resource=https%3A%2F%2Fcontainerregistry.azure.net") && q.contains("client_id=11111111")
    });
    assert!(ours_user, "no /msi/token request with the resource and client id: {requests}");
    let _ = std::fs::remove_dir_all(home);
}
