//! The ECR provider end to end against moto's server with request-signature
//! checking on, through the native driver and reqwest transport.

use artifact_registry_core::{ArtifactRegistry, AuthMethod, CrossAccountAccess, ErrorCode, Permissions, ServiceType};
use artifact_registry_native::connect;
use artifact_registry_tests::moto::MotoServer;
use serde_json::{Value, json};

fn access(v: Value) -> CrossAccountAccess {
    CrossAccountAccess::from_json(&v).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_lifecycle() {
    let moto = MotoServer::start();
    moto.create_roles(&["pull", "push"]);
    let config = moto.ecr_config(
        "acme",
        json!({ "pullRoleArn": "arn:aws:iam::123456789012:role/pull", "pushRoleArn": "arn:aws:iam::123456789012:role/push" }),
    );
    let registry = connect(&config.to_string()).unwrap();

    // Create, idempotently: the second create returns the same repository.
    let created = registry.create_repository("my-app").await.unwrap();
    assert_eq!(created.name, "acme-my-app");
    assert_eq!(created.uri.as_deref(), Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/acme-my-app"));
    assert!(created.created_at.is_some());
    let again = registry.create_repository("my-app").await.unwrap();
    assert_eq!(again, created);
    assert_eq!(registry.get_repository(&created.name).await.unwrap(), created);
    let shared = registry.create_repository("").await.unwrap();
    assert_eq!(shared.name, "acme");

    // Not found is typed.
    let missing = registry.get_repository("acme-missing").await.unwrap_err();
    assert_eq!(missing.code(), ErrorCode::NotFound, "{missing}");
    assert_eq!(missing.provider_code(), Some("RepositoryNotFoundException"));

    // Cross-account access: another client's statement survives add and remove.
    moto.boto3(
        "us-east-1",
        r#"ecr.set_repository_policy(repositoryName='acme-my-app', policyText=json.dumps({"Version": "2012-10-17", "Statement": [{"Sid": "TheirCiPush", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": ["ecr:PutImage"]}]}))"#,
    );
    let empty = registry.get_cross_account_access(&created.name).await.unwrap();
    assert_eq!(empty.access, access(json!({ "platform": "aws" })));

    let grant = access(json!({
        "platform": "aws", "accountIds": ["111111111111", "333333333333"], "regions": ["us-east-1"],
        "allowedServiceTypes": ["worker"], "roleArns": ["arn:aws:iam::222222222222:role/deployer"]
    }));
    registry.add_cross_account_access(&created.name, &grant).await.unwrap();
    let read = registry.get_cross_account_access(&created.name).await.unwrap();
    assert_eq!(read.access, grant);
    let policy =
        moto.boto3("us-east-1", "print(ecr.get_repository_policy(repositoryName='acme-my-app')['policyText'])");
    assert!(policy.contains("TheirCiPush"), "the other client's statement is gone: {policy}");
    assert!(policy.contains("arn:aws:lambda:us-east-1:111111111111:function:*"), "{policy}");

    registry
        .remove_cross_account_access(
            &created.name,
            &access(json!({ "platform": "aws", "accountIds": ["333333333333"] })),
        )
        .await
        .unwrap();
    let CrossAccountAccess::Aws(after) = registry.get_cross_account_access(&created.name).await.unwrap().access else {
        panic!("aws access expected")
    };
    assert_eq!(after.account_ids, ["111111111111"]);
    assert_eq!(after.role_arns, ["arn:aws:iam::222222222222:role/deployer"]);
    assert_eq!(after.allowed_service_types, [ServiceType::Worker]);

    // Removing every grant leaves the other client's statement, and only it.
    registry
        .remove_cross_account_access(
            &created.name,
            &access(json!({ "platform": "aws", "accountIds": ["111111111111"], "roleArns": ["arn:aws:iam::222222222222:role/deployer"] })),
        )
        .await
        .unwrap();
    let policy =
        moto.boto3("us-east-1", "print(ecr.get_repository_policy(repositoryName='acme-my-app')['policyText'])");
    assert!(policy.contains("TheirCiPush"), "{policy}");
    assert!(!policy.contains("CrossAccountRolePermission"), "{policy}");
    assert!(!policy.contains("LambdaECRImageCrossAccountRetrievalPolicy"), "{policy}");

    // Credentials: assume the role, then GetAuthorizationToken with the assumed keys.
    for permissions in [Permissions::Pull, Permissions::PushPull] {
        let creds = registry.generate_credentials(&created.name, permissions, Some(900)).await.unwrap();
        assert_eq!(creds.auth_method, AuthMethod::Basic);
        assert_eq!(creds.username, "AWS");
        assert_eq!(creds.password.expose(), "123456789012-auth-token");
        assert!(creds.expires_at.is_some());
        assert!(!format!("{creds:?}").contains("auth-token"), "Debug shows the password");
    }

    // Delete (forced), then it is gone.
    registry.delete_repository(&created.name).await.unwrap();
    assert_eq!(registry.get_repository(&created.name).await.unwrap_err().code(), ErrorCode::NotFound);
    registry.delete_repository(&shared.name).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_secret_is_rejected_by_signature_checking() {
    let moto = MotoServer::start();
    let mut config = moto.ecr_config("acme", json!({}));
    config["aws"]["credentials"]["secretAccessKey"] = json!("not-the-secret-at-all");
    let registry = connect(&config.to_string()).unwrap();
    let err = registry.create_repository("my-app").await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::AccessDenied, "{err}");
    assert_eq!(err.provider_code(), Some("SignatureDoesNotMatch"));
    assert_eq!(err.http_status(), Some(403));
    assert!(!err.to_string().contains("not-the-secret-at-all"));

    let mut config = moto.ecr_config("acme", json!({}));
    config["aws"]["credentials"]["accessKeyId"] = json!("AKIAUNKNOWNKEY000000");
    let err = connect(&config.to_string()).unwrap().create_repository("my-app").await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::AccessDenied, "{err}");
    assert_eq!(err.provider_code(), Some("InvalidClientTokenId"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grants_are_mirrored_on_replica_regions() {
    let moto = MotoServer::start();
    let registry = connect(&moto.ecr_config("acme", json!({})).to_string()).unwrap();
    moto.boto3(
        "us-east-1",
        "ecr.put_replication_configuration(replicationConfiguration={'rules': [{'destinations': [{'region': 'us-west-2', 'registryId': '123456789012'}]}]})",
    );
    let repo = registry.create_repository("replicated").await.unwrap();
    // The replica, as ECR replication would create it.
    moto.boto3("us-west-2", "ecr.create_repository(repositoryName='acme-replicated')");

    let grant = access(
        json!({ "platform": "aws", "accountIds": ["111111111111"], "regions": ["us-west-2"], "allowedServiceTypes": ["worker"] }),
    );
    registry.add_cross_account_access(&repo.name, &grant).await.unwrap();
    let replica_policy =
        moto.boto3("us-west-2", "print(ecr.get_repository_policy(repositoryName='acme-replicated')['policyText'])");
    assert!(replica_policy.contains("arn:aws:iam::111111111111:root"), "{replica_policy}");
    assert!(replica_policy.contains("arn:aws:lambda:us-west-2:111111111111:function:*"), "{replica_policy}");

    // Removing the account removes it from the replica too (the policy goes).
    registry
        .remove_cross_account_access(&repo.name, &access(json!({ "platform": "aws", "accountIds": ["111111111111"] })))
        .await
        .unwrap();
    let gone = moto.boto3(
        "us-west-2",
        "try:\n    ecr.get_repository_policy(repositoryName='acme-replicated')\n    print('still there')\nexcept ecr.exceptions.RepositoryPolicyNotFoundException:\n    print('gone')",
    );
    assert_eq!(gone.trim(), "gone");
    assert_eq!(
        registry.get_cross_account_access(&repo.name).await.unwrap().access,
        access(json!({ "platform": "aws" }))
    );
}
