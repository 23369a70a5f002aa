//! The AWS credential chain, differential against botocore: for each environment
//! (variables, shared config and credentials files, web identity, a container
//! endpoint, instance metadata, and combinations that shadow each other), the source
//! (botocore's `method`) and access key our chain resolves must equal what
//! `botocore.session.Session().get_credentials()` resolves from the same environment
//! and files.
//!
//! Where moto's STS issues the credentials (`assume-role`), each call gets fresh
//! keys, so both sides must get *an* STS key (`ASIA...`) from the same method, not
//! the same key. Web identity goes to the tests' metadata server, which plays STS for
//! it (moto with signature checks on cannot take an unsigned call) and gives fixed
//! keys, compared exactly.

use std::collections::BTreeMap;
use std::path::Path;

use artifact_registry_tests::contract_server::ContractServer;
use artifact_registry_tests::moto::MotoServer;
use artifact_registry_tests::oci_registry::scratch_dir;
use serde_json::{Value, json};

const BOTOCORE: &str = r#"
import json, botocore.session, botocore.exceptions
try:
    c = botocore.session.Session().get_credentials()
    if c is None:
        print(json.dumps({"none": True}))
    else:
        f = c.get_frozen_credentials()
        print(json.dumps({"method": c.method, "key": f.access_key}))
except Exception as e:
    print(json.dumps({"error": type(e).__name__, "message": str(e)}))
"#;

fn botocore(env: &BTreeMap<String, String>) -> Value {
    artifact_registry_tests::sdk::python_json("botocore", BOTOCORE, env)
}

async fn ours(env: &BTreeMap<String, String>, moto: &MotoServer) -> Value {
    // STS where botocore is sent too.
    let sts = env.get("AWS_ENDPOINT_URL_STS").cloned().unwrap_or_else(|| moto.endpoint.clone());
    let config = json!({ "name": "a", "binding": { "service": "ecr", "repositoryPrefix": "acme" },
        "aws": { "region": "us-east-1", "accountId": "123456789012", "endpoints": { "ecr": moto.endpoint, "sts": sts } } });
    let registry = artifact_registry_tests::transports::registry_in_env(&config, env.clone());
    match registry.run(registry.client().describe_credentials()).await {
        Ok(v) => json!({ "method": v["method"], "key": v["accessKeyId"] }),
        Err(e) => json!({ "error": e.code().as_str(), "message": e.message() }),
    }
}

struct Case {
    name: &'static str,
    env: BTreeMap<String, String>,
    /// Botocore's answer kind when it is not credentials: `none` or an error class.
    expect_failure: Option<&'static str>,
}

fn write(dir: &Path, rel: &str, text: &str) -> String {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

fn cases(moto: &MotoServer, metadata: &str, root: &Path) -> Vec<Case> {
    let (akid, secret) = (moto.access_key_id.as_str(), moto.secret_access_key.as_str());
    let mut out = Vec::new();
    let mut case = |name: &'static str,
                    setup: &dyn Fn(&Path, &mut BTreeMap<String, String>),
                    expect_failure: Option<&'static str>| {
        let home = root.join(name);
        std::fs::create_dir_all(&home).unwrap();
        let mut env = BTreeMap::new();
        env.insert("HOME".to_owned(), home.to_str().unwrap().to_owned());
        env.insert("AWS_DEFAULT_REGION".to_owned(), "us-east-1".to_owned());
        env.insert("AWS_ENDPOINT_URL_STS".to_owned(), moto.endpoint.clone());
        env.insert("AWS_EC2_METADATA_DISABLED".to_owned(), "true".to_owned());
        setup(&home, &mut env);
        out.push(Case { name, env, expect_failure });
    };
    let set = |env: &mut BTreeMap<String, String>, k: &str, v: &str| {
        env.insert(k.to_owned(), v.to_owned());
    };
    case(
        "env-keys",
        &|_, e| {
            set(e, "AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT00001");
            set(e, "AWS_SECRET_ACCESS_KEY", "env-secret");
        },
        None,
    );
    case(
        "env-keys-with-session-token",
        &|_, e| {
            set(e, "AWS_ACCESS_KEY_ID", "ASIAENVIRONMENT00002");
            set(e, "AWS_SECRET_ACCESS_KEY", "env-secret");
            set(e, "AWS_SESSION_TOKEN", "env-token");
        },
        None,
    );
    case(
        "env-shadows-profile",
        &|h, e| {
            set(e, "AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT00003");
            set(e, "AWS_SECRET_ACCESS_KEY", "env-secret");
            set(e, "AWS_PROFILE", "deploy");
            write(
                h,
                ".aws/credentials",
                "[deploy]\naws_access_key_id = AKIAPROFILEDEPLOY001\naws_secret_access_key = s\n",
            );
        },
        None,
    );
    case("env-partial", &|_, e| set(e, "AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT00004"), Some("PartialCredentialsError"));
    case(
        "credentials-file-default",
        &|h, _| {
            write(
                h,
                ".aws/credentials",
                "[default]\naws_access_key_id = AKIACREDSFILEDEFAULT\naws_secret_access_key = s\n",
            );
        },
        None,
    );
    case(
        "credentials-file-named-profile",
        &|h, e| {
            set(e, "AWS_PROFILE", "deploy");
            write(
                h,
                ".aws/credentials",
                "[default]\naws_access_key_id = AKIACREDSFILEDEFAULT\naws_secret_access_key = s\n[deploy]\naws_access_key_id = AKIACREDSFILEDEPLOY1\naws_secret_access_key = s\n",
            );
        },
        None,
    );
    case(
        "aws-default-profile-variable",
        &|h, e| {
            set(e, "AWS_DEFAULT_PROFILE", "deploy");
            write(
                h,
                ".aws/credentials",
                "[deploy]\naws_access_key_id = AKIADEFAULTPROFILE01\naws_secret_access_key = s\n",
            );
        },
        None,
    );
    case(
        "config-file-keys",
        &|h, e| {
            set(e, "AWS_PROFILE", "cfg");
            write(
                h,
                ".aws/config",
                "[profile cfg]\naws_access_key_id = AKIACONFIGFILEKEYS01\naws_secret_access_key = s\n",
            );
        },
        None,
    );
    case(
        "credentials-file-shadows-config-file",
        &|h, _| {
            write(h, ".aws/config", "[default]\naws_access_key_id = AKIACONFIGFILEKEYS02\naws_secret_access_key = s\n");
            write(
                h,
                ".aws/credentials",
                "[default]\naws_access_key_id = AKIACREDSFILEWINS001\naws_secret_access_key = s\n",
            );
        },
        None,
    );
    case(
        "custom-file-paths",
        &|h, e| {
            let creds = write(
                h,
                "elsewhere/creds.ini",
                "[default]\naws_access_key_id = AKIACUSTOMPATHFILE01\naws_secret_access_key = s\n",
            );
            let config = write(h, "elsewhere/config.ini", "[default]\nregion = eu-west-1\n");
            set(e, "AWS_SHARED_CREDENTIALS_FILE", &creds);
            set(e, "AWS_CONFIG_FILE", &config);
        },
        None,
    );
    case(
        "credential-process",
        &|h, _| {
            let script = write(
                h,
                "bin/creds.sh",
                "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"AKIAPROCESSOUTPUT001\", \"SecretAccessKey\": \"p\"}'\n",
            );
            std::process::Command::new("chmod").args(["+x", &script]).status().unwrap();
            write(h, ".aws/config", &format!("[default]\ncredential_process = {script} --profile default\n"));
        },
        None,
    );
    case(
        "credentials-file-shadows-credential-process",
        &|h, _| {
            write(h, ".aws/config", "[default]\ncredential_process = /bin/false\n");
            write(
                h,
                ".aws/credentials",
                "[default]\naws_access_key_id = AKIACREDSFILEWINS002\naws_secret_access_key = s\n",
            );
        },
        None,
    );
    case(
        "role-with-source-profile",
        &|h, e| {
            set(e, "AWS_PROFILE", "deploy");
            write(
                h,
                ".aws/credentials",
                &format!("[base]\naws_access_key_id = {akid}\naws_secret_access_key = {secret}\n"),
            );
            write(
                h,
                ".aws/config",
                "[profile deploy]\nrole_arn = arn:aws:iam::123456789012:role/deployer\nsource_profile = base\n",
            );
        },
        None,
    );
    case(
        "role-chain-of-two",
        &|h, e| {
            set(e, "AWS_PROFILE", "outer");
            write(
                h,
                ".aws/credentials",
                &format!("[base]\naws_access_key_id = {akid}\naws_secret_access_key = {secret}\n"),
            );
            write(
                h,
                ".aws/config",
                "[profile inner]\nrole_arn = arn:aws:iam::123456789012:role/inner\nsource_profile = base\n[profile outer]\nrole_arn = arn:aws:iam::123456789012:role/outer\nsource_profile = inner\n",
            );
        },
        None,
    );
    case(
        "role-shadows-credentials-file",
        &|h, e| {
            set(e, "AWS_PROFILE", "deploy");
            write(
                h,
                ".aws/credentials",
                &format!(
                    "[base]\naws_access_key_id = {akid}\naws_secret_access_key = {secret}\n[deploy]\naws_access_key_id = AKIASHADOWEDBYROLE01\naws_secret_access_key = s\n"
                ),
            );
            write(
                h,
                ".aws/config",
                "[profile deploy]\nrole_arn = arn:aws:iam::123456789012:role/deployer\nsource_profile = base\n",
            );
        },
        None,
    );
    case(
        "role-with-credential-source-environment",
        &|h, e| {
            set(e, "AWS_PROFILE", "deploy");
            write(
                h,
                ".aws/config",
                "[profile deploy]\nrole_arn = arn:aws:iam::123456789012:role/deployer\ncredential_source = Environment\n",
            );
            // Environment credentials would win outright; this profile sources from them
            // only when named explicitly, so the case sets none and botocore must fail
            // the same way we do.
        },
        Some("CredentialRetrievalError"),
    );
    case(
        "web-identity-from-environment",
        &|h, e| {
            let token = write(h, "token", "web-identity-token");
            set(e, "AWS_ENDPOINT_URL_STS", &format!("{metadata}/sts/"));
            set(e, "AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/ci");
            set(e, "AWS_WEB_IDENTITY_TOKEN_FILE", &token);
            set(e, "AWS_ROLE_SESSION_NAME", "ci-session");
        },
        None,
    );
    case(
        "web-identity-from-profile",
        &|h, e| {
            let token = write(h, "token", "web-identity-token");
            set(e, "AWS_ENDPOINT_URL_STS", &format!("{metadata}/sts/"));
            set(e, "AWS_PROFILE", "wi");
            write(
                h,
                ".aws/config",
                &format!(
                    "[profile wi]\nrole_arn = arn:aws:iam::123456789012:role/ci\nweb_identity_token_file = {token}\n"
                ),
            );
        },
        None,
    );
    case(
        "container-full-uri",
        &|_, e| set(e, "AWS_CONTAINER_CREDENTIALS_FULL_URI", &format!("{metadata}/container/creds")),
        None,
    );
    case(
        "env-shadows-container",
        &|_, e| {
            set(e, "AWS_CONTAINER_CREDENTIALS_FULL_URI", &format!("{metadata}/container/creds"));
            set(e, "AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT00005");
            set(e, "AWS_SECRET_ACCESS_KEY", "env-secret");
        },
        None,
    );
    case(
        "instance-metadata-v2",
        &|_, e| {
            e.remove("AWS_EC2_METADATA_DISABLED");
            set(e, "AWS_EC2_METADATA_SERVICE_ENDPOINT", metadata);
        },
        None,
    );
    // Where the container credentials request (with its authorization token) may go:
    // botocore refuses these before sending anything (a ValueError), and so do we
    // (invalid-input). `.invalid` names resolve nowhere, so nothing could leave anyway.
    case(
        "container-full-uri-plain-http-elsewhere",
        &|_, e| {
            set(e, "AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://evil.invalid/creds");
            set(e, "AWS_CONTAINER_AUTHORIZATION_TOKEN", artifact_registry_tests::canary("awsSessionToken"));
        },
        Some("ValueError"),
    );
    case(
        "container-relative-uri-naming-another-host",
        &|_, e| set(e, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "@evil.invalid/creds"),
        Some("ValueError"),
    );
    case("nothing-anywhere", &|_, _| {}, Some("none"));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chain_resolves_what_botocore_resolves() {
    let moto = MotoServer::start();
    // moto authorizes calls made with assumed-role credentials against the role's
    // policies, so the roles of the chains must exist.
    moto.create_roles(&["deployer", "inner", "outer", "ci"]);
    // A chain: `outer` is assumed with `inner`'s session, so it must trust it.
    moto.boto3(
        "us-east-1",
        "iam.update_assume_role_policy(RoleName='outer', PolicyDocument=json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Principal': {'AWS': '*'}, 'Action': 'sts:AssumeRole'}]}))",
    );
    let metadata = ContractServer::start("metadata_server.py");
    let root = scratch_dir("aws-chain");
    let cases = cases(&moto, &metadata.endpoint, &root);
    assert!(cases.len() >= 20, "{} cases", cases.len());
    let mut table = Vec::new();
    for case in &cases {
        let theirs = botocore(&case.env);
        let ours = ours(&case.env, &moto).await;
        match case.expect_failure {
            Some(kind) => {
                let botocore_failed = theirs.get("none").is_some() || theirs["error"] == kind;
                assert!(botocore_failed, "{}: botocore found {theirs}", case.name);
                assert!(
                    ours["error"].is_string(),
                    "{}: botocore found nothing ({theirs}) but we found {ours}",
                    case.name
                );
                // What botocore refuses outright is bad input to us, before any request.
                if kind == "ValueError" {
                    assert_eq!(ours["error"], "invalid-input", "{}: {ours}", case.name);
                }
            }
            None => {
                assert!(theirs["method"].is_string(), "{}: botocore found no credentials: {theirs}", case.name);
                assert_eq!(ours["method"], theirs["method"], "{}: ours {ours}, botocore {theirs}", case.name);
                let sts = theirs["method"] == "assume-role";
                if sts {
                    for side in [&ours, &theirs] {
                        assert!(side["key"].as_str().is_some_and(|k| k.starts_with("ASIA")), "{}: {side}", case.name);
                    }
                } else {
                    assert_eq!(ours["key"], theirs["key"], "{}: ours {ours}, botocore {theirs}", case.name);
                }
            }
        }
        table.push(format!("{:<45} botocore {:<32} ours {}", case.name, theirs, ours));
    }
    println!("{}", table.join("\n"));

    // IMDS behind a hop limit: the token PUT never answers in time; both fall back to
    // IMDSv1 and get the instance role.
    metadata.control("/_contract/configure", Some(json!({ "hopLimitExceeded": true })));
    let hop = cases.iter().find(|c| c.name == "instance-metadata-v2").unwrap();
    let (theirs, ours) = (botocore(&hop.env), ours(&hop.env, &moto).await);
    assert_eq!(ours["method"], "iam-role", "{ours}");
    assert_eq!(ours["key"], theirs["key"], "ours {ours}, botocore {theirs}");
    let _ = std::fs::remove_dir_all(root);
}

/// Credentials that expire come through the client's cache: concurrent operations
/// share one fetch, later ones reuse it until the refresh margin before expiry, and
/// credentials inside that margin are fetched again before use.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn container_credentials_are_shared_and_refreshed_ahead_of_expiry() {
    let moto = MotoServer::start();
    let metadata = ContractServer::start("metadata_server.py");
    let home = scratch_dir("aws-chain-share");
    let env: BTreeMap<String, String> = [
        ("HOME", home.to_str().unwrap().to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI", format!("{}/container/creds", metadata.endpoint)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let registry_for = |prefix: &str| {
        let config = json!({ "name": "a", "binding": { "service": "ecr", "repositoryPrefix": prefix },
            "aws": { "region": "us-east-1", "accountId": "123456789012", "endpoints": { "ecr": moto.endpoint, "sts": moto.endpoint } } });
        artifact_registry_tests::transports::registry_in_env(&config, env.clone())
    };
    let keys = json!({ "AccessKeyId": moto.access_key_id, "SecretAccessKey": moto.secret_access_key });

    // An hour of validity: 8 concurrent creates, then 8 more calls, one fetch.
    metadata.control("/_contract/configure", Some(json!({ "containerKeys": keys, "containerExpiresIn": 3600 })));
    let registry = registry_for("shared");
    let create = |i: usize| registry.run(registry.client().create_repository(&format!("app{i}")));
    let created = tokio::join!(create(0), create(1), create(2), create(3), create(4), create(5), create(6), create(7));
    for result in [created.0, created.1, created.2, created.3, created.4, created.5, created.6, created.7] {
        result.unwrap();
    }
    for i in 0..8 {
        registry.run(registry.client().delete_repository(&format!("shared-app{i}"))).await.unwrap();
    }
    assert_eq!(metadata.count("/container/creds"), 1, "concurrent and later calls share one fetch");

    // Two minutes left, inside the refresh margin: each operation fetches anew first.
    metadata.control("/_contract/configure", Some(json!({ "containerExpiresIn": 120 })));
    let registry = registry_for("short");
    registry.run(registry.client().create_repository("app")).await.unwrap();
    let after_create = metadata.count("/container/creds");
    registry.run(registry.client().delete_repository("short-app")).await.unwrap();
    let after_delete = metadata.count("/container/creds");
    assert!(
        1 < after_create && after_create < after_delete,
        "credentials about to expire are refreshed before use: {after_create}, {after_delete}"
    );
    let _ = std::fs::remove_dir_all(home);
}
