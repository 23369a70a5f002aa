//! The GAR provider end to end against the contract server
//! (`tests/servers/gar_server.py`, itself checked by Google's own clients in
//! `tests/contract/`), through the native driver and reqwest.

use artifact_registry_core::{ArtifactRegistry, AuthMethod, CrossAccountAccess, ErrorCode, Permissions};
use artifact_registry_native::connect;
use artifact_registry_tests::gar_server::GarServer;
use serde_json::{Value, json};

fn access(v: Value) -> CrossAccountAccess {
    CrossAccountAccess::from_json(&v).unwrap()
}

fn tokeninfo(server: &GarServer, token: &str) -> Value {
    let state = server.state();
    state["tokens"][token].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_grants_and_credentials() {
    let server = GarServer::start();
    server.control("/_contract/configure", Some(json!({ "lroPolls": 2 })));
    let pull = "pull-sa@p1.iam.gserviceaccount.com";
    let push = "push-sa@p1.iam.gserviceaccount.com";
    let registry = connect(
        &server
            .config("images", json!({ "pullServiceAccountEmail": pull, "pushServiceAccountEmail": push }))
            .to_string(),
    )
    .unwrap();
    assert_eq!(registry.registry_endpoint(), "https://us-central1-docker.pkg.dev");
    assert_eq!(registry.upstream_repository_prefix(), "acme-p1/images");

    // Before create, the Artifact Registry repository does not exist.
    let missing = registry.get_repository("acme-p1/images/web").await.unwrap_err();
    assert_eq!(missing.code(), ErrorCode::NotFound, "{missing}");

    // Create runs the LRO to its end; the image has no package yet.
    let repo = registry.create_repository("web").await.unwrap();
    assert_eq!(repo.name, "acme-p1/images/web");
    assert_eq!(repo.uri.as_deref(), Some("us-central1-docker.pkg.dev/acme-p1/images/web"));
    assert_eq!(repo.created_at, None);
    let state = server.state();
    assert_eq!(state["repositories"]["images"]["format"], "DOCKER");
    let polls = state["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["path"].as_str().unwrap().contains("/operations/"))
        .count();
    assert_eq!(polls, 2, "the LRO is polled until done");
    // Idempotent.
    assert_eq!(registry.create_repository("web").await.unwrap(), repo);

    // Once an image is pushed, createdAt is its package's.
    server.control(
        "/_contract/package",
        Some(json!({ "repository": "images", "package": "web", "createTime": "2026-11-28T07:00:00.123456Z" })),
    );
    let got = registry.get_repository(&repo.name).await.unwrap();
    assert_eq!(got.created_at.as_deref(), Some("2026-11-28T07:00:00.123456+00:00"));

    // Grants: read back exactly, kept beside a conditional binding and other roles.
    server.control(
        "/_contract/policy",
        Some(json!({ "repository": "images", "policy": { "version": 3, "bindings": [
            { "role": "roles/artifactregistry.writer", "members": ["serviceAccount:ci@p1.iam.gserviceaccount.com"] },
            { "role": "roles/artifactregistry.reader", "members": ["user:alice@example.com"], "condition": { "expression": "request.time < timestamp('2030-01-01T00:00:00Z')", "title": "until-2030" } }
        ] } })),
    );
    let grant = access(
        json!({ "platform": "gcp", "projectNumbers": ["123456789012"], "allowedServiceTypes": ["worker"], "serviceAccountEmails": ["reader@p2.iam.gserviceaccount.com"] }),
    );
    registry.add_cross_account_access(&repo.name, &grant).await.unwrap();
    assert_eq!(registry.get_cross_account_access(&repo.name).await.unwrap().access, grant);
    let policy = &server.state()["policies"]["images"];
    assert_eq!(policy["bindings"][0]["role"], "roles/artifactregistry.writer");
    assert_eq!(policy["bindings"][1]["condition"]["title"], "until-2030");
    assert_eq!(
        policy["bindings"][2]["members"],
        json!([
            "serviceAccount:reader@p2.iam.gserviceaccount.com",
            "serviceAccount:service-123456789012@serverless-robot-prod.iam.gserviceaccount.com"
        ])
    );
    registry
        .remove_cross_account_access(
            &repo.name,
            &access(json!({ "platform": "gcp", "serviceAccountEmails": ["reader@p2.iam.gserviceaccount.com"] })),
        )
        .await
        .unwrap();
    let left = registry.get_cross_account_access(&repo.name).await.unwrap().access;
    assert_eq!(
        left,
        access(json!({ "platform": "gcp", "projectNumbers": ["123456789012"], "allowedServiceTypes": ["worker"] }))
    );
    // Project numbers without the worker type grant nothing: invalid, before any request.
    let bad = registry
        .add_cross_account_access(&repo.name, &access(json!({ "platform": "gcp", "projectNumbers": ["1"] })))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), ErrorCode::InvalidInput);

    // Credentials: refused until the binding may impersonate, then the server accepts
    // the token as the impersonated account's, with the TTL asked for.
    let denied = registry.generate_credentials(&repo.name, Permissions::Pull, Some(900)).await.unwrap_err();
    assert_eq!(denied.code(), ErrorCode::AccessDenied, "{denied}");
    assert!(denied.message().contains("serviceAccountTokenCreator"), "{denied}");
    server.control(
        "/_contract/configure",
        Some(json!({ "tokenCreators": { pull: ["deployer@acme-p1.iam.gserviceaccount.com"], push: ["deployer@acme-p1.iam.gserviceaccount.com"] } })),
    );
    for (permissions, account) in [(Permissions::Pull, pull), (Permissions::PushPull, push)] {
        let creds = registry.generate_credentials(&repo.name, permissions, Some(900)).await.unwrap();
        assert_eq!(creds.auth_method, AuthMethod::Basic);
        assert_eq!(creds.username, "oauth2accesstoken");
        assert_eq!(tokeninfo(&server, creds.password.expose())["email"], account);
        assert!(creds.expires_at.is_some());
        assert!(!format!("{creds:?}").contains(creds.password.expose()));
    }
    let too_long = registry.generate_credentials(&repo.name, Permissions::Pull, Some(7200)).await.unwrap_err();
    assert!(too_long.message().contains("allowServiceAccountCredentialLifetimeExtension"), "{too_long}");

    // Delete removes the package (versions and tags with it); gone is success.
    registry.delete_repository(&repo.name).await.unwrap();
    assert!(server.state()["packages"].as_object().unwrap().is_empty());
    registry.delete_repository(&repo.name).await.unwrap();
    assert_eq!(registry.get_repository(&repo.name).await.unwrap().created_at, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_token_serves_many_calls_and_a_refused_token_is_replaced() {
    let server = GarServer::start();
    server.control("/_contract/configure", Some(json!({ "lroPolls": 0 })));
    let registry = connect(&server.config("images", json!({ "unscopedCredentials": true })).to_string()).unwrap();
    registry.create_repository("a").await.unwrap();
    for _ in 0..5 {
        registry.get_repository("acme-p1/images/a").await.unwrap();
    }
    let token_requests = |s: &Value| s["requests"].as_array().unwrap().iter().filter(|r| r["path"] == "/token").count();
    assert_eq!(token_requests(&server.state()), 1, "the token is cached across operations");

    // The server forgets the token: the next call gets 401, refreshes once, succeeds.
    let tokens: Vec<String> = server.state()["tokens"].as_object().unwrap().keys().cloned().collect();
    server.control("/_contract/configure", Some(json!({ "revokeTokens": tokens })));
    registry.get_repository("acme-p1/images/a").await.unwrap();
    assert_eq!(token_requests(&server.state()), 2);

    // Without an account to impersonate, credentials are the binding's own token.
    let creds = registry.generate_credentials("acme-p1/images/a", Permissions::Pull, None).await.unwrap();
    assert_eq!(tokeninfo(&server, creds.password.expose())["email"], "deployer@acme-p1.iam.gserviceaccount.com");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_operation_is_an_error_not_a_success() {
    let server = GarServer::start();
    server.control(
        "/_contract/configure",
        Some(json!({ "lroPolls": 1, "lroErrors": [{ "status": "FAILED_PRECONDITION", "message": "the location is not enabled" }] })),
    );
    let registry = connect(&server.config("images", json!({})).to_string()).unwrap();
    let err = registry.create_repository("a").await.unwrap_err();
    assert_eq!(err.provider_code(), Some("FAILED_PRECONDITION"), "{err}");
    assert!(err.message().contains("the location is not enabled"), "{err}");
    // Nothing was created.
    assert!(server.state()["repositories"].as_object().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_grants_all_land() {
    let server = GarServer::start();
    server.control("/_contract/configure", Some(json!({ "lroPolls": 0 })));
    let config = server.config("images", json!({})).to_string();
    let registry = connect(&config).unwrap();
    let repo = registry.create_repository("race").await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let registry = connect(&config).unwrap();
        let name = repo.name.clone();
        tasks.push(tokio::spawn(async move {
            let grant = access(json!({ "platform": "gcp", "serviceAccountEmails": [format!("reader-{i:02}@p2.iam.gserviceaccount.com")] }));
            registry.add_cross_account_access(&name, &grant).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let CrossAccountAccess::Gcp(read) = registry.get_cross_account_access(&repo.name).await.unwrap().access else {
        panic!("gcp access expected")
    };
    let expected: Vec<String> = (0..16).map(|i| format!("reader-{i:02}@p2.iam.gserviceaccount.com")).collect();
    assert_eq!(read.service_account_emails, expected);
    let state = server.state();
    let sets = state["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["path"].as_str().unwrap().ends_with(":setIamPolicy"))
        .count();
    println!(
        "16 concurrent GAR grants: 16/16 present; {sets} setIamPolicy calls ({} refused with 409 and retried)",
        sets - 16
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn application_default_credentials_from_the_environment() {
    let server = GarServer::start();
    server.control("/_contract/configure", Some(json!({ "lroPolls": 0 })));
    let dir = artifact_registry_tests::oci_registry::scratch_dir("gar-adc");
    let key_file = dir.join("key.json");
    std::fs::write(&key_file, server.key.to_string()).unwrap();
    // No credentials in the configuration.
    let mut config = server.config("images", json!({ "unscopedCredentials": true }));
    config["gcp"].as_object_mut().unwrap().remove("credentials");
    // A registry whose application default credentials are `file`.
    let with_adc = |file: &std::path::Path| {
        let env = artifact_registry_tests::transports::env_of(&[
            ("GOOGLE_APPLICATION_CREDENTIALS", file.to_str().unwrap()),
            ("HOME", dir.to_str().unwrap()),
        ]);
        artifact_registry_tests::transports::registry_in_env(&config, env)
    };
    let registry = with_adc(&key_file);
    let who = registry.describe_credentials().await.unwrap();
    assert_eq!(
        (who["method"].as_str(), who["principal"].as_str()),
        (Some("service_account"), Some("deployer@acme-p1.iam.gserviceaccount.com"))
    );
    let repo = registry.create_repository("adc").await.unwrap();
    assert_eq!(repo.name, "acme-p1/images/adc");
    let creds = registry.generate_credentials(&repo.name, Permissions::Pull, None).await.unwrap();
    assert_eq!(tokeninfo(&server, creds.password.expose())["email"], "deployer@acme-p1.iam.gserviceaccount.com");

    // What `gcloud auth application-default login --impersonate-service-account`
    // writes: the key's token buys the target's through IAM Credentials (the
    // configuration's iamCredentials endpoint stands for Google's).
    let target = "ci-target@acme-p1.iam.gserviceaccount.com";
    server.control(
        "/_contract/configure",
        Some(json!({ "tokenCreators": { target: ["deployer@acme-p1.iam.gserviceaccount.com"] }, "projectMembers": [target] })),
    );
    let impersonated = dir.join("impersonated.json");
    let file = json!({ "type": "impersonated_service_account",
        "service_account_impersonation_url": format!("https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/{target}:generateAccessToken"),
        "delegates": [], "source_credentials": server.key });
    std::fs::write(&impersonated, file.to_string()).unwrap();
    let registry = with_adc(&impersonated);
    let who = registry.describe_credentials().await.unwrap();
    assert_eq!(
        (who["method"].as_str(), who["principal"].as_str()),
        (Some("impersonated_service_account"), Some(target))
    );
    let creds = registry.generate_credentials(&repo.name, Permissions::Pull, None).await.unwrap();
    assert_eq!(tokeninfo(&server, creds.password.expose())["email"], target);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workload_identity_federation_from_the_environment() {
    const AUDIENCE: &str =
        "//iam.googleapis.com/projects/123456/locations/global/workloadIdentityPools/ci/providers/github";
    const PRINCIPAL: &str = "principal://iam.googleapis.com/projects/123456/locations/global/workloadIdentityPools/ci/subject/repo:acme/app";
    let server = GarServer::start();
    let deployer = server.key["client_email"].as_str().unwrap().to_owned();
    let dir = artifact_registry_tests::oci_registry::scratch_dir("gar-wif");
    let token_file = dir.join("oidc-token");
    std::fs::write(&token_file, "oidc-subject-token").unwrap();
    let mut config = server.config("images", json!({ "unscopedCredentials": true }));
    config["gcp"].as_object_mut().unwrap().remove("credentials");
    // The files name Google's own STS and IAM Credentials, as gcloud writes them; the
    // configuration's endpoints (the operator's choice) send both to the server.
    config["gcp"]["endpoints"]["sts"] = json!(server.endpoint);
    let registry_with = |file: Value| {
        let path = dir.join("external.json");
        std::fs::write(&path, file.to_string()).unwrap();
        let env = artifact_registry_tests::transports::env_of(&[
            ("GOOGLE_APPLICATION_CREDENTIALS", path.to_str().unwrap()),
            ("HOME", dir.to_str().unwrap()),
        ]);
        artifact_registry_tests::transports::registry_in_env(&config, env)
    };
    let file_sourced = json!({ "type": "external_account", "audience": AUDIENCE,
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt", "token_url": "https://sts.googleapis.com/v1/token",
        "credential_source": { "file": token_file.to_str().unwrap() } });

    // The pool exists but does not trust the token yet: STS's refusal, typed, and
    // without the token in it.
    server.control("/_contract/configure", Some(json!({ "workloadAudience": AUDIENCE })));
    let refused = registry_with(file_sourced.clone()).create_repository("wif").await.unwrap_err();
    assert_eq!(refused.code(), artifact_registry_core::ErrorCode::AccessDenied, "{refused}");
    assert_eq!(refused.provider_code(), Some("invalid_grant"), "{refused}");
    assert!(!refused.to_string().contains("oidc-subject-token"), "{refused}");

    server.control(
        "/_contract/configure",
        Some(json!({ "lroPolls": 0, "workloadAudience": AUDIENCE,
                     "federatedSubjects": { "oidc-subject-token": "repo:acme/app" },
                     "projectMembers": [PRINCIPAL], "urlSubjectToken": "oidc-subject-token",
                     "tokenCreators": { deployer.clone(): [PRINCIPAL] } })),
    );
    // File-sourced, acting as the federated principal itself.
    let direct = registry_with(file_sourced.clone());
    let who = direct.describe_credentials().await.unwrap();
    assert_eq!(who["method"], "external_account", "{who}");
    let repo = direct.create_repository("wif").await.unwrap();
    let creds = direct.generate_credentials(&repo.name, Permissions::Pull, None).await.unwrap();
    assert_eq!(tokeninfo(&server, creds.password.expose())["email"], PRINCIPAL);

    // URL-sourced (JSON), impersonating the deployer service account.
    let mut url_sourced = file_sourced;
    url_sourced["credential_source"] = json!({ "url": format!("{}/_contract/subject-token", server.endpoint),
        "headers": { "Metadata-Flavor": "Test" }, "format": { "type": "json", "subject_token_field_name": "id_token" } });
    url_sourced["service_account_impersonation_url"] = json!(format!(
        "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/{deployer}:generateAccessToken"
    ));
    let impersonating = registry_with(url_sourced);
    let who = impersonating.describe_credentials().await.unwrap();
    assert_eq!(
        (who["method"].as_str(), who["principal"].as_str()),
        (Some("external_account"), Some(deployer.as_str()))
    );
    let creds = impersonating.generate_credentials(&repo.name, Permissions::Pull, None).await.unwrap();
    assert_eq!(tokeninfo(&server, creds.password.expose())["email"], deployer.as_str());
    impersonating.delete_repository(&repo.name).await.unwrap();

    // Without the configuration's endpoints, a file whose URLs are not Google's is
    // refused before the subject token is read or sent anywhere.
    let mut unconfigured = config.clone();
    unconfigured["gcp"]["endpoints"].as_object_mut().unwrap().remove("sts");
    unconfigured["gcp"]["endpoints"].as_object_mut().unwrap().remove("iamCredentials");
    for (field, url) in [
        ("token_url", format!("{}/v1/token", server.endpoint)),
        ("token_url", format!("{}/v1/token", server.endpoint.replacen("http://", "https://", 1))),
        ("token_url", "http://sts.googleapis.com/v1/token".to_owned()),
        (
            "service_account_impersonation_url",
            format!("{}/v1/projects/-/serviceAccounts/{deployer}:generateAccessToken", server.endpoint),
        ),
    ] {
        let mut file = json!({ "type": "external_account", "audience": AUDIENCE,
            "subject_token_type": "urn:ietf:params:oauth:token-type:jwt", "token_url": "https://sts.googleapis.com/v1/token",
            "credential_source": { "file": token_file.to_str().unwrap() } });
        file[field] = json!(url);
        let path = dir.join("untrusted.json");
        std::fs::write(&path, file.to_string()).unwrap();
        let env = artifact_registry_tests::transports::env_of(&[
            ("GOOGLE_APPLICATION_CREDENTIALS", path.to_str().unwrap()),
            ("HOME", dir.to_str().unwrap()),
        ]);
        let registry = artifact_registry_tests::transports::registry_in_env(&unconfigured, env);
        let before = server.state()["requests"].as_array().unwrap().len();
        let e = registry.get_repository(&repo.name).await.unwrap_err();
        assert_eq!(e.code(), artifact_registry_core::ErrorCode::InvalidInput, "{field} {url}: {e}");
        assert!(e.message().contains(field), "{e}");
        let after = server.state()["requests"].as_array().unwrap().len();
        assert_eq!(after, before, "{field} {url}: a request was sent");
    }
    let _ = std::fs::remove_dir_all(dir);
}
