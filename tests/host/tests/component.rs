//! The component, run by a wasmtime host: scenario vectors (requests byte-identical
//! to the native driver's), ECR against moto, local against Debian's registry, a
//! host allow-list, and typed errors for bad input.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use artifact_registry_component_host::{Canned, ComponentHost, Network, Replay, SeenRequest, component_path};
use artifact_registry_core::Timestamp;
use artifact_registry_tests::moto::MotoServer;
use artifact_registry_tests::oci_registry::{DockerRegistry, RegistryAuth};
use artifact_registry_tests::vectors;
use serde_json::{Value, json};

fn host() -> &'static ComponentHost {
    static HOST: OnceLock<ComponentHost> = OnceLock::new();
    HOST.get_or_init(|| ComponentHost::load(&component_path()).expect("the component loads"))
}

fn seen(r: &artifact_registry_core::HttpRequest) -> SeenRequest {
    SeenRequest {
        method: r.method.clone(),
        url: r.url.clone(),
        // As the host records them: framing (content-length) left out.
        headers: r
            .headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .filter(|(k, _)| k != "content-length")
            .collect(),
        body: r.body.clone(),
    }
}

fn replay_of(vector: &Value) -> Arc<Mutex<Replay>> {
    Arc::new(Mutex::new(Replay { answers: Canned::from_vector(vector), requests: Vec::new() }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_vector_through_the_component_matches_the_native_driver() {
    let files = vectors::files();
    assert!(files.len() >= 40, "expected the whole vector set, found {}", files.len());
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let vector: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let native = vectors::run(&vector).await;

        let now = Timestamp::parse_rfc3339(vector["now"].as_str().unwrap()).unwrap();
        let replay = replay_of(&vector);
        let mut instance = host()
            .instantiate(Network::Replay(replay.clone()), Some(Duration::from_secs(now.unix_seconds() as u64)))
            .await
            .unwrap();
        let registry = instance.open(&vector["config"].to_string()).await.unwrap().expect("vector config opens");
        let outcome = instance.call(registry, vector["operation"].as_str().unwrap(), &vector["args"]).await.unwrap();

        let ours = replay.lock().unwrap().requests.clone();
        let theirs: Vec<SeenRequest> = native.requests.iter().map(seen).collect();
        assert_eq!(ours.len(), theirs.len(), "{name}: number of requests");
        for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            assert_eq!(a, b, "{name}: request {i} differs from the native driver's");
        }
        assert_eq!(outcome, vector["expect"], "{name}: outcome");
        assert_eq!(outcome, native.outcome, "{name}: outcome differs from the native driver's");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecr_lifecycle_against_moto() {
    let moto = MotoServer::start();
    moto.create_roles(&["push"]);
    let authority = moto.endpoint.trim_start_matches("http://").to_owned();
    let mut instance = host().instantiate(Network::Allow(Some(vec![authority])), None).await.unwrap();
    let config = moto.ecr_config("acme", json!({ "pushRoleArn": "arn:aws:iam::123456789012:role/push" }));
    let r = instance.open(&config.to_string()).await.unwrap().unwrap();

    let created = instance.call(r, "create-repository", &json!({ "name": "wasm-app" })).await.unwrap();
    assert_eq!(created["result"]["name"], "acme-wasm-app", "{created}");
    assert_eq!(created["result"]["uri"], "123456789012.dkr.ecr.us-east-1.amazonaws.com/acme-wasm-app");
    assert_eq!(instance.call(r, "create-repository", &json!({ "name": "wasm-app" })).await.unwrap(), created);
    assert_eq!(instance.call(r, "get-repository", &json!({ "repository": "acme-wasm-app" })).await.unwrap(), created);

    let grant = json!({ "platform": "aws", "accountIds": ["111111111111"], "regions": ["us-east-1"], "allowedServiceTypes": ["worker"], "roleArns": [] });
    let args = json!({ "repository": "acme-wasm-app", "access": grant });
    assert_eq!(instance.call(r, "add-cross-account-access", &args).await.unwrap(), json!({ "result": null }));
    let read = instance.call(r, "get-cross-account-access", &json!({ "repository": "acme-wasm-app" })).await.unwrap();
    assert_eq!(read["result"]["access"], grant, "{read}");
    assert_eq!(instance.call(r, "remove-cross-account-access", &args).await.unwrap(), json!({ "result": null }));

    let creds = instance
        .call(
            r,
            "generate-credentials",
            &json!({ "repository": "acme-wasm-app", "permissions": "push-pull", "ttlSeconds": 900 }),
        )
        .await
        .unwrap();
    assert_eq!(creds["result"]["username"], "AWS", "{creds}");
    assert_eq!(creds["result"]["authMethod"], "basic");

    assert_eq!(
        instance.call(r, "delete-repository", &json!({ "repository": "acme-wasm-app" })).await.unwrap(),
        json!({ "result": null })
    );
    let gone = instance.call(r, "get-repository", &json!({ "repository": "acme-wasm-app" })).await.unwrap();
    assert_eq!(gone["error"]["code"], "not-found", "{gone}");
    assert_eq!(gone["error"]["providerCode"], "RepositoryNotFoundException");
    instance.close(r).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_lifecycle_against_debian_registry() {
    let server = DockerRegistry::start(RegistryAuth::Htpasswd, true);
    let mut instance = host().instantiate(Network::Allow(Some(vec![server.addr.clone()])), None).await.unwrap();
    let r = instance.open(&server.config("artifacts").to_string()).await.unwrap().unwrap();
    let created = instance.call(r, "create-repository", &json!({ "name": "from-wasm" })).await.unwrap();
    assert_eq!(created["result"]["name"], "artifacts/from-wasm", "{created}");
    assert_eq!(
        instance.call(r, "get-repository", &json!({ "repository": "artifacts/from-wasm" })).await.unwrap(),
        created
    );
    let creds = instance
        .call(r, "generate-credentials", &json!({ "repository": "artifacts/from-wasm", "permissions": "push-pull" }))
        .await
        .unwrap();
    assert_eq!(creds["result"]["username"], "deployer", "{creds}");
    let denied = instance
        .call(r, "add-cross-account-access", &json!({ "repository": "artifacts/from-wasm", "access": { "platform": "aws", "accountIds": ["111111111111"] } }))
        .await
        .unwrap();
    assert_eq!(denied["error"]["code"], "not-supported");
    assert_eq!(
        instance.call(r, "delete-repository", &json!({ "repository": "artifacts/from-wasm" })).await.unwrap(),
        json!({ "result": null })
    );
    let gone = instance.call(r, "get-repository", &json!({ "repository": "artifacts/from-wasm" })).await.unwrap();
    assert_eq!(gone["error"]["code"], "not-found", "{gone}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_allow_list_turns_other_hosts_into_transport_errors() {
    let moto = MotoServer::start();
    // Only a host that is not moto's is allowed.
    let mut instance = host().instantiate(Network::Allow(Some(vec!["127.0.0.1:1".into()])), None).await.unwrap();
    let r = instance.open(&moto.ecr_config("acme", json!({})).to_string()).await.unwrap().unwrap();
    let denied = instance.call(r, "get-repository", &json!({ "repository": "acme-app" })).await.unwrap();
    assert_eq!(denied["error"]["code"], "transport", "{denied}");
    // The same instance still works: a denied request is an error, not a trap.
    let endpoint = instance.call(r, "registry-endpoint", &json!({})).await.unwrap();
    assert_eq!(endpoint["result"], "https://123456789012.dkr.ecr.us-east-1.amazonaws.com");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_is_a_timeout_within_the_deadline() {
    let (_hole, config) = artifact_registry_tests::stub_server::never_answering_ecr();
    let mut instance = host().instantiate(Network::Allow(None), None).await.unwrap();
    let r = instance.open(&config.to_string()).await.unwrap().unwrap();
    let started = std::time::Instant::now();
    let outcome = instance.call(r, "get-repository", &json!({ "repository": "acme-app" })).await.unwrap();
    assert_eq!(outcome["error"]["code"], "timeout", "{outcome}");
    // An upper bound only (the deadline plus a margin for a loaded machine), measured
    // by the host: the component's deadline runs on its monotonic clock.
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configurations_and_inputs_are_typed_errors_and_send_nothing() {
    let replay = Arc::new(Mutex::new(Replay::default()));
    let mut instance = host().instantiate(Network::Replay(replay.clone()), None).await.unwrap();
    for config in
        ["{not json", "[]", r#"{"name":"a"}"#, r#"{"name":"a","binding":{"service":"ecr","repositoryPrefix":"acme"}}"#]
    {
        let err = instance.open(config).await.unwrap().err().unwrap_or_else(|| panic!("{config} opened"));
        assert_eq!(err["code"], "invalid-input", "{config}: {err}");
    }
    let config = json!({ "name": "artifacts", "binding": { "service": "ecr", "repositoryPrefix": "acme", "pullRoleArn": "arn:aws:iam::123456789012:role/pull" },
                         "aws": { "region": "us-east-1", "accountId": "123456789012", "credentials": { "accessKeyId": "AKIDEXAMPLE", "secretAccessKey": artifact_registry_tests::canary("awsSecretAccessKey") } } });
    let r = instance.open(&config.to_string()).await.unwrap().unwrap();
    let invalid = [
        ("create-repository", json!({ "name": "Bad Name" })),
        ("get-repository", json!({ "repository": "other-team-app" })),
        ("delete-repository", json!({ "repository": "ACME-app" })),
        (
            "add-cross-account-access",
            json!({ "repository": "acme-app", "access": { "platform": "aws", "accountIds": ["123"] } }),
        ),
        (
            "remove-cross-account-access",
            json!({ "repository": "acme-app", "access": { "platform": "aws", "roleArns": ["arn:aws-cn:iam::123456789012:role/x"] } }),
        ),
        (
            "add-cross-account-access",
            json!({ "repository": "acme-app", "access": { "platform": "gcp", "projectNumbers": ["1"] } }),
        ),
        ("get-cross-account-access", json!({ "repository": "" })),
        ("generate-credentials", json!({ "repository": "acme-app", "permissions": "pull", "ttlSeconds": 60 })),
        ("generate-credentials", json!({ "repository": "acme-app", "permissions": "push-pull", "ttlSeconds": 43201 })),
    ];
    for (op, args) in invalid {
        let outcome = instance.call(r, op, &args).await.unwrap();
        assert_eq!(outcome["error"]["code"], "invalid-input", "{op} {args}: {outcome}");
    }
    assert!(replay.lock().unwrap().requests.is_empty(), "a request was sent");
}

#[test]
fn the_component_imports_only_what_it_needs() {
    let imports = host().imports();
    for needed in [
        "wasi:http/outgoing-handler@0.2.12",
        "wasi:clocks/wall-clock@0.2.12",
        "wasi:clocks/monotonic-clock@0.2.12",
        "wasi:random/random@0.2.12",
    ] {
        assert!(imports.iter().any(|i| i == needed), "{needed} missing from {imports:?}");
    }
    for never in ["wasi:sockets/tcp@0.2.12", "wasi:sockets/udp@0.2.12", "wasi:sockets/ip-name-lookup@0.2.12"] {
        assert!(!imports.iter().any(|i| i == never), "{never} imported: {imports:?}");
    }
    eprintln!("component imports: {imports:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gar_lifecycle_against_the_contract_server() {
    use artifact_registry_tests::gar_server::GarServer;
    let server = GarServer::start();
    server.control("/_contract/configure", Some(json!({ "lroPolls": 1 })));
    let pull = "pull-sa@acme-p1.iam.gserviceaccount.com";
    server.control(
        "/_contract/configure",
        Some(json!({ "tokenCreators": { pull: ["deployer@acme-p1.iam.gserviceaccount.com"] } })),
    );
    let authority = server.endpoint.trim_start_matches("http://").to_owned();
    let mut instance = host().instantiate(Network::Allow(Some(vec![authority])), None).await.unwrap();
    let config = server.config("images", json!({ "pullServiceAccountEmail": pull }));
    let r = instance.open(&config.to_string()).await.unwrap().unwrap();

    let created = instance.call(r, "create-repository", &json!({ "name": "wasm-app" })).await.unwrap();
    assert_eq!(created["result"]["name"], "acme-p1/images/wasm-app", "{created}");
    assert_eq!(created["result"]["uri"], "us-central1-docker.pkg.dev/acme-p1/images/wasm-app");
    let grant = json!({ "platform": "gcp", "projectNumbers": ["123456789012"], "allowedServiceTypes": ["worker"], "serviceAccountEmails": ["reader@p2.iam.gserviceaccount.com"] });
    let args = json!({ "repository": "acme-p1/images/wasm-app", "access": grant });
    assert_eq!(instance.call(r, "add-cross-account-access", &args).await.unwrap(), json!({ "result": null }));
    let read = instance
        .call(r, "get-cross-account-access", &json!({ "repository": "acme-p1/images/wasm-app" }))
        .await
        .unwrap();
    assert_eq!(read["result"]["access"], grant, "{read}");

    let creds = instance
        .call(
            r,
            "generate-credentials",
            &json!({ "repository": "acme-p1/images/wasm-app", "permissions": "pull", "ttlSeconds": 900 }),
        )
        .await
        .unwrap();
    let password = creds["result"]["password"].as_str().unwrap().to_owned();
    assert_eq!(creds["result"]["username"], "oauth2accesstoken");
    assert_eq!(server.state()["tokens"][&password]["email"], pull, "the server accepts it as the pull account's token");

    assert_eq!(
        instance.call(r, "delete-repository", &json!({ "repository": "acme-p1/images/wasm-app" })).await.unwrap(),
        json!({ "result": null })
    );
    // One token exchange served every call of the instance.
    let state = server.state();
    assert_eq!(state["requests"].as_array().unwrap().iter().filter(|q| q["path"] == "/token").count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acr_lifecycle_against_the_contract_server() {
    use artifact_registry_tests::acr_server::AcrServer;
    let server = AcrServer::start();
    server.control("/_contract/image", Some(json!({ "repository": "team-a/wasm-app", "tag": "v1" })));
    let authority = server.endpoint.trim_start_matches("http://").to_owned();
    let mut instance = host().instantiate(Network::Allow(Some(vec![authority.clone()])), None).await.unwrap();
    let r = instance.open(&server.config(json!({})).to_string()).await.unwrap().unwrap();

    let created = instance.call(r, "create-repository", &json!({ "name": "wasm-app" })).await.unwrap();
    assert_eq!(created["result"]["uri"], format!("{authority}/team-a/wasm-app"), "{created}");
    let got = instance.call(r, "get-repository", &json!({ "repository": "team-a/wasm-app" })).await.unwrap();
    assert!(got["result"]["createdAt"].is_string(), "{got}");
    let creds = instance
        .call(
            r,
            "generate-credentials",
            &json!({ "repository": "team-a/wasm-app", "permissions": "pull", "ttlSeconds": 900 }),
        )
        .await
        .unwrap();
    assert_eq!(creds["result"]["authMethod"], "bearer", "{creds}");
    let denied = instance
        .call(r, "add-cross-account-access", &json!({ "repository": "team-a/wasm-app", "access": { "platform": "aws", "accountIds": ["111111111111"] } }))
        .await
        .unwrap();
    assert_eq!(denied["error"]["code"], "invalid-input", "{denied}");

    // Cross-account pull through an ABAC role assignment: granted, the grantee (its
    // own instance and identity) pulls this repository and nothing else; revoked, it
    // pulls nothing.
    let (grantee_app, grantee) = ("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c60", "3f2e1d0c-9b8a-4c7d-8e6f-5a4b3c2d1e00");
    server.control("/_contract/image", Some(json!({ "repository": "team-a/other", "tag": "v1" })));
    server.control(
        "/_contract/configure",
        Some(json!({ "roleAssignmentMode": "AbacRepositoryPermissions", "servicePrincipals": [{ "clientId": grantee_app, "objectId": grantee }] })),
    );
    let access = json!({ "platform": "azure", "principalIds": [grantee] });
    let added = instance
        .call(r, "add-cross-account-access", &json!({ "repository": "team-a/wasm-app", "access": access }))
        .await
        .unwrap();
    assert_eq!(added, json!({ "result": null }));
    let got = instance.call(r, "get-cross-account-access", &json!({ "repository": "team-a/wasm-app" })).await.unwrap();
    assert_eq!(
        got["result"]["access"],
        json!({ "platform": "azure", "principalIds": [grantee], "allowedServiceTypes": [] }),
        "{got}"
    );
    let config = server.config_as(grantee_app);
    let mut other = host().instantiate(Network::Allow(Some(vec![authority.clone()])), None).await.unwrap();
    let g = other.open(&config.to_string()).await.unwrap().unwrap();
    assert_eq!(registry_status(&mut other, g, &server.endpoint, "team-a/wasm-app", "pull").await, 200);
    assert_eq!(registry_status(&mut other, g, &server.endpoint, "team-a/other", "pull").await, 401);
    assert_eq!(registry_status(&mut other, g, &server.endpoint, "team-a/wasm-app", "push-pull").await, 401, "no push");
    let removed = instance
        .call(r, "remove-cross-account-access", &json!({ "repository": "team-a/wasm-app", "access": access }))
        .await
        .unwrap();
    assert_eq!(removed, json!({ "result": null }));
    let got = instance.call(r, "get-cross-account-access", &json!({ "repository": "team-a/wasm-app" })).await.unwrap();
    assert_eq!(got["result"]["access"]["principalIds"], json!([]), "{got}");
    let mut after = host().instantiate(Network::Allow(Some(vec![authority.clone()])), None).await.unwrap();
    let g = after.open(&config.to_string()).await.unwrap().unwrap();
    assert_eq!(registry_status(&mut after, g, &server.endpoint, "team-a/wasm-app", "pull").await, 401, "revoked");
    assert_eq!(
        instance.call(r, "delete-repository", &json!({ "repository": "team-a/wasm-app" })).await.unwrap(),
        json!({ "result": null })
    );
    assert!(server.state()["repositories"].get("team-a/wasm-app").is_none());
    // One refresh token served the instance (the grantee's two instances had one each).
    assert_eq!(server.count("/oauth2/exchange"), 3);
}

/// What the registry answers a request made with the credentials the component
/// generates for `repo`: a manifest read with `pull`, a manifest write with `push-pull`.
async fn registry_status(
    instance: &mut artifact_registry_component_host::Instance,
    r: artifact_registry_component_host::OpenedRegistry,
    endpoint: &str,
    repo: &str,
    permissions: &str,
) -> u16 {
    let args = json!({ "repository": repo, "permissions": permissions, "ttlSeconds": 900 });
    let creds = instance.call(r, "generate-credentials", &args).await.unwrap();
    let bearer = format!("Bearer {}", creds["result"]["password"].as_str().unwrap());
    let (method, tag, body): (&str, &str, &[u8]) =
        if permissions == "pull" { ("GET", "v1", b"") } else { ("PUT", "v2", b"{}") };
    let url = format!("{endpoint}/v2/{repo}/manifests/{tag}");
    let headers = [("Authorization", bearer.as_str()), ("Content-Type", "application/vnd.oci.image.manifest.v1+json")];
    artifact_registry_tests::plain_http::request(method, &url, &headers, body).status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecr_with_credentials_from_the_granted_environment() {
    let moto = MotoServer::start();
    let authority = moto.endpoint.trim_start_matches("http://").to_owned();
    let mut config = moto.ecr_config("wasm-amb", json!({ "unscopedCredentials": true }));
    config["aws"].as_object_mut().unwrap().remove("credentials");
    config["aws"].as_object_mut().unwrap().remove("region");

    // Without a region in the configuration or the granted environment, `open` says so.
    let mut bare = host().instantiate(Network::Allow(Some(vec![authority.clone()])), None).await.unwrap();
    let Err(no_region) = bare.open(&config.to_string()).await.unwrap() else { panic!("opened without a region") };
    assert_eq!(no_region["code"], "invalid-input", "{no_region}");
    config["aws"]["region"] = json!("us-east-1");

    // Nothing granted: the chain finds nothing (no files or commands in a component)
    // and says what it tried.
    let mut bare = host().instantiate(Network::Allow(Some(vec![authority.clone()])), None).await.unwrap();
    let r = bare.open(&config.to_string()).await.unwrap().unwrap();
    let none = bare.call(r, "create-repository", &json!({ "name": "app" })).await.unwrap();
    assert_eq!(none["error"]["code"], "access-denied", "{none}");

    let env = [
        ("AWS_ACCESS_KEY_ID", moto.access_key_id.as_str()),
        ("AWS_SECRET_ACCESS_KEY", moto.secret_access_key.as_str()),
        ("AWS_REGION", "us-east-1"),
    ];
    config["aws"].as_object_mut().unwrap().remove("region");
    let mut instance = host().instantiate_with_env(Network::Allow(Some(vec![authority])), None, &env).await.unwrap();
    let r = instance.open(&config.to_string()).await.unwrap().unwrap();
    let who = instance.call(r, "describe-credentials", &json!({})).await.unwrap();
    assert_eq!((&who["result"]["source"], &who["result"]["method"]), (&json!("environment"), &json!("env")), "{who}");
    assert_eq!(who["result"]["account"], "123456789012", "{who}");
    assert!(!who.to_string().contains(&moto.secret_access_key), "describe-credentials shows the secret");
    let created = instance.call(r, "create-repository", &json!({ "name": "app" })).await.unwrap();
    assert_eq!(created["result"]["name"], "wasm-amb-app", "{created}");
    let creds = instance
        .call(r, "generate-credentials", &json!({ "repository": "wasm-amb-app", "permissions": "pull" }))
        .await
        .unwrap();
    assert_eq!(creds["result"]["username"], "AWS", "{creds}");
    assert_eq!(
        instance.call(r, "delete-repository", &json!({ "repository": "wasm-amb-app" })).await.unwrap(),
        json!({ "result": null })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acr_abac_eight_concurrent_instances_add_and_a_foreign_look_alike_survives() {
    use artifact_registry_tests::acr_server::AcrServer;
    let server = AcrServer::start();
    let grantees: Vec<(String, String)> = (0..8)
        .map(|i| (format!("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6{i}"), format!("3f2e1d0c-9b8a-4c7d-8e6f-5a4b3c2d1e0{i}")))
        .collect();
    let apps: Vec<_> = grantees.iter().map(|(c, o)| json!({ "clientId": c, "objectId": o })).collect();
    server.control(
        "/_contract/configure",
        Some(json!({ "roleAssignmentMode": "AbacRepositoryPermissions", "servicePrincipals": apps })),
    );
    let authority = server.endpoint.trim_start_matches("http://").to_owned();
    let config = server.config(json!({})).to_string();

    // Someone else's look-alike for the first grantee: our condition's prefix form.
    let look_alike = "((!(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/content/read'}) AND !(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/metadata/read'})) OR (@Request[Microsoft.ContainerRegistry/registries/repositories:name] StringStartsWithIgnoreCase 'team-a/web'))";
    let properties = json!({
        "roleDefinitionId": server.role_definition("b93aa761-3e63-49ed-ac28-beffa264f7ac"),
        "principalId": grantees[0].1, "principalType": "ServicePrincipal", "condition": look_alike, "conditionVersion": "2.0",
        "description": "artifact-registry: cross-account pull of the repository team-a/web" });
    assert_eq!(server.put_role_assignment("a1000000-0000-4000-8000-000000000001", properties), 201);
    let foreign = server.state()["roleAssignments"]["a1000000-0000-4000-8000-000000000001"].clone();

    // Eight instances, each granting one principal, at once.
    let mut tasks = Vec::new();
    for (_, principal) in grantees.clone() {
        let (config, authority) = (config.clone(), authority.clone());
        tasks.push(tokio::spawn(async move {
            let mut instance = host().instantiate(Network::Allow(Some(vec![authority])), None).await.unwrap();
            let r = instance.open(&config).await.unwrap().unwrap();
            let access = json!({ "platform": "azure", "principalIds": [principal] });
            instance
                .call(r, "add-cross-account-access", &json!({ "repository": "team-a/web", "access": access }))
                .await
                .unwrap()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), json!({ "result": null }));
    }
    let mut instance = host().instantiate(Network::Allow(Some(vec![authority])), None).await.unwrap();
    let r = instance.open(&config).await.unwrap().unwrap();
    let got = instance.call(r, "get-cross-account-access", &json!({ "repository": "team-a/web" })).await.unwrap();
    let mut expected: Vec<_> = grantees.iter().map(|(_, p)| p.clone()).collect();
    expected.sort();
    assert_eq!(got["result"]["access"]["principalIds"], json!(expected), "{got}");
    let all = json!({ "platform": "azure", "principalIds": expected });
    let removed = instance
        .call(r, "remove-cross-account-access", &json!({ "repository": "team-a/web", "access": all }))
        .await
        .unwrap();
    assert_eq!(removed, json!({ "result": null }));
    let got = instance.call(r, "get-cross-account-access", &json!({ "repository": "team-a/web" })).await.unwrap();
    assert_eq!(got["result"]["access"]["principalIds"], json!([]), "{got}");
    let state = server.state();
    let left = state["roleAssignments"].as_object().unwrap();
    assert_eq!(left["a1000000-0000-4000-8000-000000000001"], foreign, "someone else's assignment changed");
    assert_eq!(left.len(), 5, "the server's four and the look-alike: {left:?}");
}
