//! Bad input gets a typed `invalid-input` error before any request is sent: every
//! operation is run over a recording transport that must see nothing.

use artifact_registry_core::{
    ArtifactRegistry, Client, Config, CrossAccountAccess, ErrorCode, FixedClock, Permissions, Registry, Timestamp,
};
use artifact_registry_tests::transports::ScriptedTransport;
use serde_json::{Value, json};

fn ecr_config() -> Value {
    json!({
        "name": "artifacts",
        "binding": { "service": "ecr", "repositoryPrefix": "acme", "pullRoleArn": "arn:aws:iam::123456789012:role/pull" },
        "aws": { "region": "us-east-1", "accountId": "123456789012",
                 "credentials": { "accessKeyId": "AKIDEXAMPLE", "secretAccessKey": "wJalrXUtnFEMI/K7MDENG" },
                 "endpoints": { "ecr": "http://127.0.0.1:9", "sts": "http://127.0.0.1:9" } }
    })
}

fn registry() -> Registry<ScriptedTransport, FixedClock> {
    let client = Client::from_json_str(&ecr_config().to_string()).unwrap();
    Registry::new(client, ScriptedTransport::recording(), FixedClock(Timestamp::from_unix(1_795_849_200)))
}

fn assert_invalid<T: std::fmt::Debug>(
    what: &str,
    result: artifact_registry_core::Result<T>,
    registry: &Registry<ScriptedTransport, FixedClock>,
) {
    let err = result.expect_err(what);
    assert_eq!(err.code(), ErrorCode::InvalidInput, "{what}: {err}");
    assert!(!err.message().is_empty());
    assert!(registry.transport().requests().is_empty(), "{what}: a request was sent");
}

const BAD_LOGICAL: &[&str] = &["My-App", "my app", "my_app!", "-app", "app-", "a..b", "a//b", "ünïcode"];
const BAD_ROUTABLE: &[&str] =
    &["", "a", "ACME-app", "acme-", "acme--app", "other-app", "acmeapp", "acme-app/", "acme-a b"];

#[tokio::test]
async fn create_rejects_bad_logical_names() {
    let r = registry();
    for name in BAD_LOGICAL {
        assert_invalid(&format!("create {name:?}"), r.create_repository(name).await, &r);
    }
    let long = "a".repeat(260);
    assert_invalid("create long", r.create_repository(&long).await, &r);
}

#[tokio::test]
async fn every_by_name_operation_rejects_bad_routable_names() {
    let r = registry();
    let grant = CrossAccountAccess::from_json(&json!({ "platform": "aws", "accountIds": ["111111111111"] })).unwrap();
    for name in BAD_ROUTABLE {
        assert_invalid(&format!("get {name:?}"), r.get_repository(name).await, &r);
        assert_invalid(&format!("delete {name:?}"), r.delete_repository(name).await, &r);
        assert_invalid(&format!("add {name:?}"), r.add_cross_account_access(name, &grant).await, &r);
        assert_invalid(&format!("remove {name:?}"), r.remove_cross_account_access(name, &grant).await, &r);
        assert_invalid(&format!("get access {name:?}"), r.get_cross_account_access(name).await, &r);
        assert_invalid(
            &format!("credentials {name:?}"),
            r.generate_credentials(name, Permissions::Pull, None).await,
            &r,
        );
    }
}

#[tokio::test]
async fn grants_with_bad_ids_arns_or_regions_are_rejected() {
    let r = registry();
    let bad = [
        json!({ "platform": "aws", "accountIds": ["12345"] }),
        json!({ "platform": "aws", "accountIds": ["1234567890123"] }),
        json!({ "platform": "aws", "accountIds": ["12345678901x"] }),
        json!({ "platform": "aws", "roleArns": ["arn:aws:iam::123:role/x"] }),
        json!({ "platform": "aws", "roleArns": ["arn:aws-cn:iam::123456789012:role/x"] }),
        json!({ "platform": "aws", "roleArns": ["arn:aws:iam::123456789012:user/x"] }),
        json!({ "platform": "aws", "roleArns": ["not-an-arn"] }),
        json!({ "platform": "aws", "accountIds": ["111111111111"], "regions": ["moon-1"] }),
        json!({ "platform": "aws", "accountIds": ["111111111111"], "regions": ["US-EAST-1"] }),
        json!({ "platform": "aws", "accountIds": ["111111111111"], "regions": ["cn-north-1"] }),
        json!({ "platform": "gcp", "projectNumbers": ["123"] }),
        json!({ "platform": "aws" }),
    ];
    for access in bad {
        let grant = CrossAccountAccess::from_json(&access).unwrap();
        assert_invalid(&format!("add {access}"), r.add_cross_account_access("acme-app", &grant).await, &r);
        assert_invalid(&format!("remove {access}"), r.remove_cross_account_access("acme-app", &grant).await, &r);
    }
}

#[test]
fn malformed_grant_documents_name_the_path() {
    for (doc, path) in [
        (json!({ "platform": "oci" }), "access.platform"),
        (json!({ "platform": "azure", "principalIds": "3f2e1d0c-9b8a-4c7d-8e6f-5a4b3c2d1e00" }), "access.principalIds"),
        (json!({ "platform": "azure", "accountIds": [] }), "access.accountIds"),
        (json!({ "accountIds": [] }), "access.platform"),
        (json!({ "platform": "aws", "accountIds": "111111111111" }), "access.accountIds"),
        (json!({ "platform": "aws", "allowedServiceTypes": ["cron"] }), "access.allowedServiceTypes"),
        (json!({ "platform": "aws", "accounts": [] }), "access.accounts"),
        (json!([]), "access"),
    ] {
        let err = CrossAccountAccess::from_json(&doc).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidInput);
        assert!(err.message().contains(path), "{doc}: {err}");
    }
}

#[tokio::test]
async fn ttls_outside_sts_bounds_are_rejected() {
    let r = registry();
    for ttl in [0, 1, 899, 43_201, u64::MAX] {
        assert_invalid(
            &format!("ttl {ttl}"),
            r.generate_credentials("acme-app", Permissions::Pull, Some(ttl)).await,
            &r,
        );
        assert_invalid(
            &format!("ttl {ttl}"),
            r.generate_credentials("acme-app", Permissions::PushPull, Some(ttl)).await,
            &r,
        );
    }
    assert_eq!(Permissions::parse("admin").unwrap_err().code(), ErrorCode::InvalidInput);
}

fn with(mut doc: Value, pointer: &str, value: Option<Value>) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let target = doc.pointer_mut(parent).unwrap().as_object_mut().unwrap();
    match value {
        Some(v) => target.insert(key.to_owned(), v),
        None => target.remove(key),
    };
    doc
}

#[test]
fn bad_configurations_name_the_offending_path() {
    let base = ecr_config();
    let cases = [
        (with(base.clone(), "/aws/credentials/accessKeyId", None), "aws.credentials.accessKeyId"),
        (with(base.clone(), "/aws/credentials/extra", Some(json!(1))), "aws.credentials.extra"),
        (with(base.clone(), "/aws/region", Some(json!(5))), "aws.region"),
        (with(base.clone(), "/aws/region", Some(json!("US-EAST-1"))), "aws.region"),
        (with(base.clone(), "/aws/accountId", Some(json!("123"))), "aws.accountId"),
        (with(base.clone(), "/aws/endpoints/ecr", Some(json!("127.0.0.1:5000"))), "aws.endpoints.ecr"),
        (with(base.clone(), "/aws/endpoints/s3", Some(json!("http://x"))), "aws.endpoints.s3"),
        (with(base.clone(), "/binding/repositoryPrefix", Some(json!("Acme"))), "binding.repositoryPrefix"),
        (
            with(base.clone(), "/binding/pullRoleArn", Some(json!("arn:aws-cn:iam::123456789012:role/pull"))),
            "binding.pullRoleArn",
        ),
        (with(base.clone(), "/binding/service", Some(json!("s3"))), "binding.service"),
        (with(base.clone(), "/binding/service", None), "binding.service"),
        (with(base.clone(), "/binding/repositoryName", Some(json!("x"))), "binding.repositoryName"),
        (with(base.clone(), "/name", None), "name"),
        (with(base.clone(), "/name", Some(json!("has space"))), "name"),
        (with(base.clone(), "/extra", Some(json!({}))), "extra"),
        (with(base.clone(), "/aws", None), "aws"),
        (with(base.clone(), "/gcp", Some(json!({}))), "gcp"),
        (with(base.clone(), "/aws/credentials", Some(json!("AKIA:secret"))), "aws.credentials"),
    ];
    for (doc, path) in cases {
        let err = Config::from_json(doc.clone()).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidInput, "{doc}");
        assert!(err.message().contains(&format!("`{path}`")), "expected path {path} in: {err}");
    }
    assert_eq!(Config::from_json_str("{not json").unwrap_err().code(), ErrorCode::InvalidInput);
    assert_eq!(Config::from_json(json!([1])).unwrap_err().code(), ErrorCode::InvalidInput);
}

#[test]
fn other_providers_configurations_are_validated_too() {
    let gcp = json!({
        "name": "artifacts",
        "binding": { "service": "gar", "repositoryName": "images", "pullServiceAccountEmail": "pull@my-project.iam.gserviceaccount.com" },
        "gcp": { "projectId": "my-project", "region": "us-central1", "credentials": { "accessToken": "ya29.token-value" } }
    });
    assert!(Config::from_json(gcp.clone()).is_ok());
    let azure = json!({
        "name": "artifacts",
        "binding": { "service": "acr", "registryName": "acmeregistry", "resourceGroupName": "rg-1", "repositoryPrefix": "acme" },
        "azure": { "tenantId": "00000000-0000-0000-0000-000000000001", "subscriptionId": "00000000-0000-0000-0000-000000000002",
                   "credentials": { "clientId": "app", "clientSecret": "s3cr3t-value" } }
    });
    assert!(Config::from_json(azure.clone()).is_ok());
    let local = json!({ "name": "artifacts", "binding": { "service": "local", "registryUrl": "localhost:5000" } });
    assert!(Config::from_json(local.clone()).is_ok());
    let cases = [
        (with(gcp.clone(), "/gcp/projectId", Some(json!("X"))), "gcp.projectId"),
        (with(gcp.clone(), "/binding/repositoryName", Some(json!("Images"))), "binding.repositoryName"),
        (
            with(gcp.clone(), "/binding/pullServiceAccountEmail", Some(json!("nobody"))),
            "binding.pullServiceAccountEmail",
        ),
        (
            with(
                gcp.clone(),
                "/gcp/credentials",
                Some(json!({ "type": "authorized_user", "client_email": "a@b.c", "private_key": "x" })),
            ),
            "gcp.credentials.type",
        ),
        (with(gcp.clone(), "/gcp/credentials", Some(json!({ "accessToken": 5 }))), "gcp.credentials.accessToken"),
        (with(azure.clone(), "/azure/tenantId", Some(json!("tenant"))), "azure.tenantId"),
        (
            with(azure.clone(), "/azure/credentials", Some(json!({ "clientId": "app" }))),
            "azure.credentials.clientSecret",
        ),
        (with(azure.clone(), "/binding/registryName", Some(json!("a-b"))), "binding.registryName"),
        (with(local.clone(), "/binding/registryUrl", Some(json!("ftp://x"))), "binding.registryUrl"),
        (with(local.clone(), "/name", Some(json!("Artifacts"))), "name"),
        (
            with(local.clone(), "/local", Some(json!({ "credentials": { "username": "u" } }))),
            "local.credentials.password",
        ),
    ];
    for (doc, path) in cases {
        let err = Config::from_json(doc.clone()).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidInput, "{doc}");
        assert!(err.message().contains(&format!("`{path}`")), "expected path {path} in: {err}");
    }
}

#[tokio::test]
async fn local_provider_rejects_bad_input_before_sending() {
    let config = json!({ "name": "artifacts", "binding": { "service": "local", "registryUrl": "127.0.0.1:9" } });
    let client = Client::from_json_str(&config.to_string()).unwrap();
    let r = Registry::new(client, ScriptedTransport::recording(), FixedClock(Timestamp::from_unix(0)));
    for name in ["", "Hello", "a b", "x/", "a___b"] {
        assert_invalid(&format!("create {name:?}"), r.create_repository(name).await, &r);
    }
    for name in ["artifacts", "other/app", "artifacts/App", "artifacts//app", "/artifacts/app"] {
        assert_invalid(&format!("get {name:?}"), r.get_repository(name).await, &r);
        assert_invalid(&format!("delete {name:?}"), r.delete_repository(name).await, &r);
        assert_invalid(
            &format!("credentials {name:?}"),
            r.generate_credentials(name, Permissions::Pull, None).await,
            &r,
        );
    }
    for ttl in [0, 43_201] {
        assert_invalid(
            &format!("ttl {ttl}"),
            r.generate_credentials("artifacts/app", Permissions::Pull, Some(ttl)).await,
            &r,
        );
    }
    let grant = CrossAccountAccess::from_json(&json!({ "platform": "aws", "accountIds": ["111111111111"] })).unwrap();
    let err = r.add_cross_account_access("artifacts/app", &grant).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotSupported);
    let err = r.get_cross_account_access("artifacts/app").await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotSupported);
    assert!(r.transport().requests().is_empty(), "a request was sent");
}
