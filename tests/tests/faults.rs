//! Faults between the native Rust driver and moto, through
//! `tests/servers/fault_proxy.py`: each kind of fault once on the key request of
//! create, delete and add-grant. After each case boto3 reads the state back. Every
//! case ends in success or a typed retryable error, a lost create or delete
//! answer reports what happened, and no grant is lost or widened. (The full
//! matrix, every operation of every provider, runs from Python:
//! `python/tests/test_faults.py`.)

use artifact_registry_core::{ArtifactRegistry as _, CrossAccountAccess, ErrorCode};
use artifact_registry_tests::contract_server::ContractServer;
use artifact_registry_tests::moto::MotoServer;
use serde_json::{Value, json};

const FAULTS: [&str; 9] =
    ["500", "503", "429", "reset-before", "reset-after", "truncate", "slow-body", "malformed", "content-type"];

fn retryable(code: ErrorCode) -> bool {
    matches!(code, ErrorCode::Throttled | ErrorCode::Timeout | ErrorCode::Transport | ErrorCode::Provider)
}

fn grant(account: &str) -> CrossAccountAccess {
    CrossAccountAccess::from_json(&json!({ "platform": "aws", "accountIds": [account] })).unwrap()
}

/// The repository's policy statements as boto3 reads them (empty without a policy).
fn statements(moto: &MotoServer, name: &str) -> Vec<Value> {
    let out = moto.boto3(
        "us-east-1",
        &format!(
            "try:\n    print(ecr.get_repository_policy(repositoryName='{name}')['policyText'])\nexcept ecr.exceptions.RepositoryPolicyNotFoundException:\n    print('{{\"Statement\": []}}')"
        ),
    );
    serde_json::from_str::<Value>(&out).unwrap()["Statement"].as_array().cloned().unwrap_or_default()
}

/// The fault proxy in front of moto, and a configuration that goes through it.
fn proxied(moto: &MotoServer, timeouts: Value) -> (ContractServer, Value) {
    let proxy = ContractServer::start_with("fault_proxy.py", &[&moto.endpoint]);
    let mut config = moto.ecr_config("acme", json!({}));
    config["aws"]["endpoints"] = json!({ "ecr": proxy.endpoint, "sts": proxy.endpoint });
    config["timeouts"] = timeouts;
    (proxy, config)
}

fn exists(moto: &MotoServer, name: &str) -> bool {
    moto.boto3(
        "us-east-1",
        "print(json.dumps([r['repositoryName'] for r in ecr.describe_repositories()['repositories']]))",
    )
    .contains(&format!("\"{name}\""))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_once_on_create_delete_and_grant_against_moto() {
    let moto = MotoServer::start();
    let (proxy, config) = proxied(&moto, json!({ "requestSeconds": 0.5, "operationSeconds": 30 }));
    let registry = artifact_registry_native::connect(&config.to_string()).unwrap();
    let fault = |target: &str, kind: &str| {
        proxy.control(
            "/_fault/script",
            Some(json!([{ "header": ["X-Amz-Target", target], "fault": kind, "seconds": 1 }])),
        );
    };
    let mut matrix = Vec::new();
    for (i, kind) in FAULTS.iter().enumerate() {
        // create: a lost answer is retried and the repository reported.
        fault("CreateRepository", kind);
        let created = registry.create_repository(&format!("c{i}")).await;
        let outcome = created.as_ref().map(|_| "ok".to_owned()).unwrap_or_else(|e| e.code().to_string());
        if let Err(e) = &created {
            assert!(retryable(e.code()), "create with {kind}: {e}");
            assert!(!["reset-after", "truncate", "slow-body"].contains(kind), "a lost create answer: {e}");
        }
        assert_eq!(registry.create_repository(&format!("c{i}")).await.unwrap().name, format!("acme-c{i}"));
        assert!(exists(&moto, &format!("acme-c{i}")));
        matrix.push(format!("create × {kind} → {outcome}"));

        // add: the foreign statement and the earlier grant stay; nothing but the new grant appears.
        let name = format!("acme-c{i}");
        moto.boto3("us-east-1", &format!("ecr.set_repository_policy(repositoryName='{name}', policyText=json.dumps({{'Version': '2012-10-17', 'Statement': [{{'Sid': 'Theirs', 'Effect': 'Deny', 'Principal': {{'AWS': 'arn:aws:iam::999999999999:root'}}, 'Action': 'ecr:PutImage'}}]}}))"));
        registry.add_cross_account_access(&name, &grant("111111111111")).await.unwrap();
        let before = statements(&moto, &name);
        fault("SetRepositoryPolicy", kind);
        let added = registry.add_cross_account_access(&name, &grant("222222222222")).await;
        let after = statements(&moto, &name);
        let text = serde_json::to_string(&after).unwrap();
        assert!(after.iter().any(|s| s["Sid"] == "Theirs" && s["Effect"] == "Deny"), "lost the foreign Deny: {text}");
        assert!(text.contains("111111111111"), "lost the earlier grant: {text}");
        for s in after.iter().filter(|s| s["Sid"] != "Theirs") {
            assert_eq!(s["Effect"], "Allow", "{text}");
            let principals = s["Principal"]["AWS"].to_string();
            assert!(!principals.contains('*'), "widened: {text}");
        }
        match &added {
            Ok(()) => assert!(text.contains("222222222222"), "{text}"),
            Err(e) => {
                assert!(retryable(e.code()), "add with {kind}: {e}");
                assert!(after.len() >= before.len(), "a failed write left less: {text}");
            }
        }
        matrix.push(format!(
            "add × {kind} → {}",
            added.map(|_| "ok".to_owned()).unwrap_or_else(|e| e.code().to_string())
        ));

        // delete: a lost answer is retried and reported as done.
        fault("DeleteRepository", kind);
        let deleted = registry.delete_repository(&name).await;
        if let Err(e) = &deleted {
            assert!(retryable(e.code()), "delete with {kind}: {e}");
            assert!(!["reset-after", "truncate", "slow-body"].contains(kind), "a lost delete answer: {e}");
        }
        assert!(!exists(&moto, &name) || deleted.is_err(), "reported deleted, but it is there");
        matrix.push(format!(
            "delete × {kind} → {}",
            deleted.map(|_| "ok".to_owned()).unwrap_or_else(|e| e.code().to_string())
        ));
    }
    println!("{}", matrix.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_is_a_timeout_within_the_deadline() {
    let (_hole, config) = artifact_registry_tests::stub_server::never_answering_ecr();
    let registry = artifact_registry_native::connect(&config.to_string()).unwrap();
    let started = std::time::Instant::now();
    let error = registry.get_repository("acme-app").await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::Timeout, "{error}");
    // An upper bound only: the deadline plus a margin for a loaded machine.
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_that_keeps_failing_leaves_no_region_changed() {
    let moto = MotoServer::start();
    let (proxy, config) = proxied(&moto, json!({ "requestSeconds": 1, "operationSeconds": 60 }));
    moto.boto3(
        "us-east-1",
        "ecr.put_replication_configuration(replicationConfiguration={'rules': [{'destinations': [{'region': 'us-west-2', 'registryId': '123456789012'}], 'repositoryFilters': [{'filter': 'acme-', 'filterType': 'PREFIX_MATCH'}]}]})",
    );
    let registry = artifact_registry_native::connect(&config.to_string()).unwrap();
    let repo = registry.create_repository("replicated").await.unwrap();
    moto.boto3("us-west-2", "ecr.create_repository(repositoryName='acme-replicated')");
    registry.add_cross_account_access(&repo.name, &grant("111111111111")).await.unwrap();
    let policies = || {
        ["us-east-1", "us-west-2"].map(|region| {
            moto.boto3(
                region,
                &format!("print(ecr.get_repository_policy(repositoryName='{}')['policyText'])", repo.name),
            )
        })
    };
    let before = policies();
    let replica_writes = |kind: &str| {
        let write = |action: &str| json!({ "headers": [["X-Amz-Target", action], ["Authorization", "/us-west-2/ecr/"]], "fault": kind, "times": 99 });
        json!([write("SetRepositoryPolicy"), write("DeleteRepositoryPolicy")])
    };
    let unchanged = |region: usize, before: &[String; 2]| {
        let after = policies();
        let parse = |t: &str| serde_json::from_str::<Value>(t).unwrap();
        assert_eq!(parse(&after[region]), parse(&before[region]), "region {region} was left changed");
    };

    // us-east-1 is written first; then every write to us-west-2 is refused (503):
    // us-east-1 is set back, for an add and for a remove alike.
    proxy.control("/_fault/script", Some(replica_writes("503")));
    let added = registry.add_cross_account_access(&repo.name, &grant("222222222222")).await.unwrap_err();
    assert!(retryable(added.code()) && added.message().contains("every region was set back"), "{added}");
    let removed = registry.remove_cross_account_access(&repo.name, &grant("111111111111")).await.unwrap_err();
    assert!(retryable(removed.code()) && removed.message().contains("every region was set back"), "{removed}");
    unchanged(0, &before);
    unchanged(1, &before);

    // Every write to us-west-2 lands but its answer is lost, setting it back too: the
    // error names the region that may hold the change, us-east-1 is set back, and
    // the same call, once the network heals, finishes it.
    proxy.control("/_fault/script", Some(replica_writes("reset-after")));
    let added = registry.add_cross_account_access(&repo.name, &grant("222222222222")).await.unwrap_err();
    assert!(retryable(added.code()) && added.message().contains("may still be in us-west-2"), "{added}");
    unchanged(0, &before);
    proxy.control("/_fault/script", Some(json!([])));
    registry.add_cross_account_access(&repo.name, &grant("222222222222")).await.unwrap();
    assert!(policies().iter().all(|p| p.contains("222222222222") && p.contains("111111111111")), "{:?}", policies());
}
