//! ECR grants against moto (signature checking on): exact, least-privilege, replicas
//! found from the registry, and nothing lost when writers race (ECR has no ETag).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use artifact_registry_core::{
    ArtifactRegistry, Client, CrossAccountAccess, ErrorCode, HttpRequest, HttpResponse, Registry, Transport,
    TransportError,
};
use artifact_registry_native::{ReqwestTransport, SystemClock, jitter_seed};
use artifact_registry_tests::moto::MotoServer;
use async_trait::async_trait;
use serde_json::{Value, json};

fn access(v: Value) -> CrossAccountAccess {
    CrossAccountAccess::from_json(&v).unwrap()
}

/// Counts the policy writes one registry makes (the rounds a change needed) and
/// keeps the bodies of STS calls.
struct CountingTransport {
    inner: ReqwestTransport,
    writes: Arc<AtomicU32>,
    sts_bodies: Arc<std::sync::Mutex<Vec<String>>>,
}

#[async_trait]
impl Transport for CountingTransport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let target = request.header_value("X-Amz-Target").unwrap_or("");
        if target.ends_with("SetRepositoryPolicy") || target.ends_with("DeleteRepositoryPolicy") {
            self.writes.fetch_add(1, Ordering::Relaxed);
        }
        if request.header_value("X-Amz-Target").is_none() {
            self.sts_bodies.lock().unwrap().push(String::from_utf8_lossy(&request.body).into_owned());
        }
        self.inner.send(request).await
    }
    async fn sleep(&self, duration: Duration) {
        self.inner.sleep(duration).await
    }
}

fn counting_registry(config: &Value) -> (Registry<CountingTransport, SystemClock>, Arc<AtomicU32>) {
    let writes = Arc::new(AtomicU32::new(0));
    let client = Client::from_json_str(&config.to_string()).unwrap().with_jitter_seed(jitter_seed());
    let transport = CountingTransport {
        inner: ReqwestTransport::default(),
        writes: writes.clone(),
        sts_bodies: Default::default(),
    };
    (Registry::new(client, transport, SystemClock), writes)
}

fn policy(moto: &MotoServer, region: &str, repo: &str) -> Value {
    let text = moto.boto3(
        region,
        &format!(
            "try:\n    print(ecr.get_repository_policy(repositoryName='{repo}')['policyText'])\nexcept ecr.exceptions.RepositoryPolicyNotFoundException:\n    print('null')"
        ),
    );
    serde_json::from_str(text.trim()).unwrap()
}

fn statement<'a>(policy: &'a Value, sid: &str) -> Option<&'a Value> {
    policy["Statement"].as_array()?.iter().find(|s| s["Sid"] == sid)
}

fn root_principals(policy: &Value) -> Vec<String> {
    let mut out: Vec<String> = statement(policy, "CrossAccountRolePermission")
        .map(|s| s["Principal"]["AWS"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    out.sort();
    out
}

const FOREIGN: &str = r#"{"Sid": "TheirCiPush", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": ["ecr:PutImage"]}"#;

fn set_foreign_policy(moto: &MotoServer, repo: &str) {
    moto.boto3(
        "us-east-1",
        &format!(
            "ecr.set_repository_policy(repositoryName='{repo}', policyText=json.dumps({{'Version': '2012-10-17', 'Statement': [json.loads('{FOREIGN}')]}}))"
        ),
    );
}

fn median(v: &mut [u32]) -> f64 {
    v.sort();
    let n = v.len();
    if n % 2 == 1 { v[n / 2] as f64 } else { (v[n / 2 - 1] + v[n / 2]) as f64 / 2.0 }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_adds_all_land() {
    let moto = MotoServer::start();
    let config = moto.ecr_config("acme", json!({}));
    let (setup, _) = counting_registry(&config);
    let repo = setup.create_repository("race").await.unwrap();
    set_foreign_policy(&moto, &repo.name);

    let mut tasks = Vec::new();
    for i in 0..16u64 {
        let (registry, writes) = counting_registry(&config);
        let name = repo.name.clone();
        tasks.push(tokio::spawn(async move {
            let grant = access(json!({ "platform": "aws", "accountIds": [format!("{:012}", 100_000_000_000 + i)] }));
            registry.add_cross_account_access(&name, &grant).await.map(|_| writes.load(Ordering::Relaxed))
        }));
    }
    let mut rounds = Vec::new();
    for t in tasks {
        rounds.push(t.await.unwrap().unwrap());
    }
    let policy = policy(&moto, "us-east-1", &repo.name);
    let expected: Vec<String> = (0..16u64).map(|i| format!("arn:aws:iam::{:012}:root", 100_000_000_000 + i)).collect();
    assert_eq!(root_principals(&policy), expected, "{policy}");
    assert!(statement(&policy, "TheirCiPush").is_some(), "the foreign statement was lost: {policy}");
    let max = *rounds.iter().max().unwrap();
    println!("16 concurrent adds: 16/16 present; policy writes per add: max {max}, median {}", median(&mut rounds));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn interleaved_adds_and_removes_end_exactly_as_asked() {
    let moto = MotoServer::start();
    let config = moto.ecr_config("acme", json!({}));
    let (setup, _) = counting_registry(&config);
    let repo = setup.create_repository("interleaved").await.unwrap();
    set_foreign_policy(&moto, &repo.name);
    let account = |i: u64| format!("{:012}", 200_000_000_000 + i);
    let first: Vec<String> = (0..8).map(account).collect();
    setup
        .add_cross_account_access(&repo.name, &access(json!({ "platform": "aws", "accountIds": first })))
        .await
        .unwrap();

    let mut tasks = Vec::new();
    for i in 0..8u64 {
        for (adding, id) in [(true, account(8 + i)), (false, account(i))] {
            let (registry, writes) = counting_registry(&config);
            let name = repo.name.clone();
            tasks.push(tokio::spawn(async move {
                let grant = access(json!({ "platform": "aws", "accountIds": [id] }));
                let result = if adding {
                    registry.add_cross_account_access(&name, &grant).await
                } else {
                    registry.remove_cross_account_access(&name, &grant).await
                };
                result.map(|_| writes.load(Ordering::Relaxed))
            }));
        }
    }
    let mut rounds = Vec::new();
    for t in tasks {
        rounds.push(t.await.unwrap().unwrap());
    }
    let policy = policy(&moto, "us-east-1", &repo.name);
    let expected: Vec<String> = (8..16).map(|i| format!("arn:aws:iam::{}:root", account(i))).collect();
    assert_eq!(root_principals(&policy), expected, "{policy}");
    assert!(statement(&policy, "TheirCiPush").is_some(), "the foreign statement was lost: {policy}");
    let max = *rounds.iter().max().unwrap();
    println!(
        "8 adds + 8 removes: exact final set; policy writes per change: max {max}, median {}",
        median(&mut rounds)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_come_from_the_registry_on_add_and_remove() {
    let moto = MotoServer::start();
    let registry = artifact_registry_native::connect(&moto.ecr_config("acme", json!({})).to_string()).unwrap();
    moto.boto3(
        "us-east-1",
        "ecr.put_replication_configuration(replicationConfiguration={'rules': [{'destinations': [{'region': 'us-west-2', 'registryId': '123456789012'}], 'repositoryFilters': [{'filter': 'acme-', 'filterType': 'PREFIX_MATCH'}]}]})",
    );
    let repo = registry.create_repository("replicated").await.unwrap();
    moto.boto3("us-west-2", "ecr.create_repository(repositoryName='acme-replicated')");

    // The review's sequence: a grant that names a region but no worker, then a
    // removal that names no region. The replica must lose the account too.
    let grant = access(json!({ "platform": "aws", "accountIds": ["111111111111"], "regions": ["us-west-2"] }));
    registry.add_cross_account_access(&repo.name, &grant).await.unwrap();
    let replica = policy(&moto, "us-west-2", &repo.name);
    assert_eq!(root_principals(&replica), ["arn:aws:iam::111111111111:root"], "{replica}");
    registry
        .remove_cross_account_access(&repo.name, &access(json!({ "platform": "aws", "accountIds": ["111111111111"] })))
        .await
        .unwrap();
    assert_eq!(policy(&moto, "us-west-2", &repo.name), Value::Null, "the replica kept the account");
    assert_eq!(policy(&moto, "us-east-1", &repo.name), Value::Null);

    // A worker grant on a replicated repository: exact (account, region) pairs on both.
    let worker = access(
        json!({ "platform": "aws", "accountIds": ["111111111111"], "regions": ["eu-west-1"], "allowedServiceTypes": ["worker"] }),
    );
    registry.add_cross_account_access(&repo.name, &worker).await.unwrap();
    for region in ["us-east-1", "us-west-2"] {
        let p = policy(&moto, region, &repo.name);
        let arns = &statement(&p, "LambdaECRImageCrossAccountRetrievalPolicy").unwrap()["Condition"]["StringLike"]["aws:sourceArn"];
        assert_eq!(arns, &json!(["arn:aws:lambda:eu-west-1:111111111111:function:*"]), "{region}: {p}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grants_are_pull_only_and_never_widened() {
    let moto = MotoServer::start();
    let registry = artifact_registry_native::connect(&moto.ecr_config("acme", json!({})).to_string()).unwrap();
    let repo = registry.create_repository("exact").await.unwrap();

    let a = access(
        json!({ "platform": "aws", "accountIds": ["111111111111"], "regions": ["us-west-2"], "allowedServiceTypes": ["worker"] }),
    );
    let b = access(
        json!({ "platform": "aws", "accountIds": ["222222222222"], "regions": ["eu-west-1"], "allowedServiceTypes": ["worker"] }),
    );
    registry.add_cross_account_access(&repo.name, &a).await.unwrap();
    registry.add_cross_account_access(&repo.name, &b).await.unwrap();
    let p = policy(&moto, "us-east-1", &repo.name);
    for s in p["Statement"].as_array().unwrap() {
        assert_eq!(s["Action"], json!(["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]), "{p}");
    }
    let arns = &statement(&p, "LambdaECRImageCrossAccountRetrievalPolicy").unwrap()["Condition"]["StringLike"]["aws:sourceArn"];
    assert_eq!(
        arns,
        &json!([
            "arn:aws:lambda:us-west-2:111111111111:function:*",
            "arn:aws:lambda:eu-west-1:222222222222:function:*"
        ]),
        "no cross product of accounts and regions: {p}"
    );

    // A Deny squatting on our Sid: refused, nothing written, and never read as ours.
    let squatted = r#"{"Version": "2012-10-17", "Statement": [{"Sid": "CrossAccountRolePermission", "Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::444444444444:root"}, "Action": "ecr:*"}]}"#;
    moto.boto3(
        "us-east-1",
        &format!("ecr.set_repository_policy(repositoryName='{}', policyText='{squatted}')", repo.name),
    );
    let err = registry
        .add_cross_account_access(&repo.name, &access(json!({ "platform": "aws", "accountIds": ["444444444444"] })))
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Conflict, "{err}");
    assert!(err.message().contains("Deny"), "the message names the statement: {err}");
    let after = policy(&moto, "us-east-1", &repo.name);
    assert_eq!(after, serde_json::from_str::<Value>(squatted).unwrap(), "a refused write changed the policy");
    let read = registry.get_cross_account_access(&repo.name).await.unwrap();
    assert_eq!(read.access, access(json!({ "platform": "aws" })), "a Deny was reported as a grant");

    // Earlier tools' forms under our Sid, three reads or some of them, are ours: read
    // as the pull grant, and the next write writes the two-action form.
    for actions in [
        r#"["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]"#,
        r#"["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage"]"#,
    ] {
        let earlier = format!(
            r#"{{"Version": "2012-10-17", "Statement": [{{"Sid": "CrossAccountRolePermission", "Effect": "Allow", "Principal": {{"AWS": "arn:aws:iam::444444444444:root"}}, "Action": {actions}}}]}}"#
        );
        moto.boto3(
            "us-east-1",
            &format!("ecr.set_repository_policy(repositoryName='{}', policyText='{earlier}')", repo.name),
        );
        let read = registry.get_cross_account_access(&repo.name).await.unwrap();
        assert_eq!(read.access, access(json!({ "platform": "aws", "accountIds": ["444444444444"] })), "{actions}");
        registry
            .add_cross_account_access(&repo.name, &access(json!({ "platform": "aws", "accountIds": ["555555555555"] })))
            .await
            .unwrap();
        let p = policy(&moto, "us-east-1", &repo.name);
        let role = statement(&p, "CrossAccountRolePermission").unwrap();
        assert_eq!(role["Action"], json!(["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]), "{p}");
        assert_eq!(root_principals(&p), ["arn:aws:iam::444444444444:root", "arn:aws:iam::555555555555:root"], "{p}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scoped_credentials_carry_a_session_policy_for_one_repository() {
    use artifact_registry_core::Permissions;
    let moto = MotoServer::start();
    moto.create_roles(&["pull", "push"]);
    let config = moto.ecr_config(
        "acme",
        json!({ "pullRoleArn": "arn:aws:iam::123456789012:role/pull", "pushRoleArn": "arn:aws:iam::123456789012:role/push" }),
    );
    let (registry, _) = counting_registry(&config);
    let repo = registry.create_repository("scoped").await.unwrap();
    let pull = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"];
    let push = ["ecr:CompleteLayerUpload", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart"];
    for (permissions, actions) in
        [(Permissions::Pull, pull.to_vec()), (Permissions::PushPull, [&pull[..], &push[..]].concat())]
    {
        // moto accepts the session policy and issues a token with the session's keys.
        let creds = registry.generate_credentials(&repo.name, permissions, Some(900)).await.unwrap();
        assert_eq!(creds.username, "AWS");
        assert!(creds.expires_at.is_some());
        let body = registry.transport().sts_bodies.lock().unwrap().pop().unwrap();
        let policy = body
            .split('&')
            .find_map(|kv| kv.strip_prefix("Policy="))
            .map(percent_decode)
            .expect("AssumeRole carries a session policy");
        let policy: Value = serde_json::from_str(&policy).unwrap();
        let statements = policy["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 2, "{policy}");
        assert_eq!(statements[0]["Action"], "ecr:GetAuthorizationToken");
        assert_eq!(statements[0]["Resource"], "*", "GetAuthorizationToken has no resource-level scope");
        assert_eq!(statements[1]["Action"], json!(actions), "{policy}");
        assert_eq!(statements[1]["Resource"], "arn:aws:ecr:us-east-1:123456789012:repository/acme-scoped", "{policy}");
        assert!(statements.iter().all(|s| s["Effect"] == "Allow"));
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}
