//! No secret ever prints: not in Debug, Display or error messages, for every
//! credential type the configuration takes, nor in results or requests.

use artifact_registry_core::{
    ArtifactRegistry, Client, Config, FixedClock, HttpResponse, Permissions, Registry, Timestamp,
};
use artifact_registry_tests::canary;
use artifact_registry_tests::transports::ScriptedTransport;
use serde_json::{Value, json};

/// A real (test) RSA key, so that the key is read and used to sign, not just carried.
const GCP_KEY: &str = include_str!("../../core/testdata/gcp-test-key.pem");
/// Lines of that key's body: none may show anywhere.
const GCP_KEY_LINES: [&str; 3] = [GCP_KEY_LINE_2, GCP_KEY_LINE_10, GCP_KEY_LINE_20];
const GCP_KEY_LINE_2: &str = "lmHlbWdceXrqlLtyqKURpp2M5ofP3x+BUZE9enY7YPirKA/ssI1BJ1tsQRzimczm";
const GCP_KEY_LINE_10: &str = "+0+aLt9mZLKL9MYqeyydcIoMN8GvEc+7uizmDkAxtTHpOo61Up41ocGwRugJ3/NV";
const GCP_KEY_LINE_20: &str = "HQVo/S9dy7RciDsrsI6P89A/J2I89gxMSTcDfZy8Pgyqvkh/Wo7u6aRnAoGAQO0K";
/// Each configuration with the secrets it holds: the suite's canaries.
fn configs() -> Vec<(Value, Vec<&'static str>)> {
    let (aws_secret, aws_token) = (canary("awsSecretAccessKey"), canary("awsSessionToken"));
    let (gcp_token, azure_secret) = (canary("gcpAccessToken"), canary("azureClientSecret"));
    let (azure_token, local_password) = (canary("azureAccessToken"), canary("registryPassword"));
    vec![
        (
            json!({ "name": "a", "binding": { "service": "ecr", "repositoryPrefix": "acme" },
                    "aws": { "region": "us-east-1", "accountId": "123456789012",
                             "credentials": { "accessKeyId": "AKIDEXAMPLE", "secretAccessKey": aws_secret, "sessionToken": aws_token },
                             "endpoints": { "ecr": "http://127.0.0.1:9" } } }),
            vec![aws_secret, aws_token],
        ),
        (
            json!({ "name": "a", "binding": { "service": "gar", "repositoryName": "images" },
                    "gcp": { "projectId": "my-project", "region": "us-central1",
                             "credentials": { "type": "service_account", "client_email": "sa@my-project.iam.gserviceaccount.com", "private_key": GCP_KEY, "private_key_id": "k1", "project_id": "my-project" } } }),
            GCP_KEY_LINES.to_vec(),
        ),
        (
            json!({ "name": "a", "binding": { "service": "gar", "repositoryName": "images" },
                    "gcp": { "projectId": "my-project", "region": "us-central1", "credentials": { "accessToken": gcp_token } } }),
            vec![gcp_token],
        ),
        (
            json!({ "name": "a", "binding": { "service": "acr", "registryName": "acmeregistry", "resourceGroupName": "rg" },
                    "azure": { "tenantId": "00000000-0000-0000-0000-000000000001", "subscriptionId": "00000000-0000-0000-0000-000000000002",
                               "credentials": { "clientId": "app", "clientSecret": azure_secret } } }),
            vec![azure_secret],
        ),
        (
            json!({ "name": "a", "binding": { "service": "acr", "registryName": "acmeregistry", "resourceGroupName": "rg" },
                    "azure": { "tenantId": "00000000-0000-0000-0000-000000000001", "subscriptionId": "00000000-0000-0000-0000-000000000002",
                               "credentials": { "accessToken": azure_token } } }),
            vec![azure_token],
        ),
        (
            json!({ "name": "a", "binding": { "service": "local", "registryUrl": "localhost:5000" },
                    "local": { "credentials": { "username": "user", "password": local_password } } }),
            vec![local_password],
        ),
    ]
}

/// No secret in `text`, which is printed too, for the scan of everything the suite
/// printed (`tests/canary_scan.py`).
fn assert_clean(what: &str, text: &str, secrets: &[&str]) {
    println!("{what}: {text}");
    for s in secrets {
        assert!(!text.contains(s), "{what} shows a secret: {text}");
    }
}

#[tokio::test]
async fn configs_clients_and_errors_never_show_secrets() {
    assert!(GCP_KEY_LINES.iter().all(|l| l.len() == 64 && GCP_KEY.contains(l)), "the key lines are the key's");
    for (doc, secrets) in configs() {
        let config = Config::from_json(doc.clone()).unwrap();
        let secrets = &secrets[..];
        assert_clean("Config Debug", &format!("{config:?} {config:#?}"), secrets);
        let client = Client::new(config).unwrap();
        assert_clean("Client Debug", &format!("{client:?}"), secrets);
        let registry = Registry::new(client, ScriptedTransport::recording(), FixedClock(Timestamp::from_unix(0)));
        // Whatever each provider answers (an error here), it must be clean.
        let outcomes = [
            registry.create_repository("app").await.map(|_| ()),
            registry.get_repository("acme-app").await.map(|_| ()),
            registry.generate_credentials("acme-app", Permissions::Pull, None).await.map(|_| ()),
        ];
        for outcome in outcomes {
            if let Err(e) = outcome {
                assert_clean("error", &format!("{e} {e:?} {}", e.message()), secrets);
            }
        }
        for request in registry.transport().requests() {
            assert_clean("request Debug", &format!("{request:?}"), secrets);
        }
    }
}

#[test]
fn wrongly_typed_secrets_are_not_echoed_in_config_errors() {
    for (path, value) in [
        ("/aws/credentials/secretAccessKey", json!(987_654_321_012_345_u64)),
        ("/aws/credentials/sessionToken", json!(["AWS-SESSION-TOKEN-FwoGZXIvYXdz"])),
        ("/aws/useFips", json!("AWS-SECRET-wJalrXUtnFEMI-K7MDENG")),
    ] {
        let mut doc = configs()[0].0.clone();
        let (parent, key) = path.rsplit_once('/').unwrap();
        doc.pointer_mut(parent).unwrap()[key] = value;
        let err = Config::from_json(doc).unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(
            !shown.contains("987654321012345") && !shown.contains("FwoGZXIvYXdz") && !shown.contains("wJalrXUtnFEMI"),
            "{shown}"
        );
    }
}

#[tokio::test]
async fn provider_messages_are_scrubbed_and_results_hide_passwords() {
    let doc = configs()[0].0.clone();
    // A provider that echoes the session token (as AWS's signature-mismatch message
    // does with the canonical request) must not get it into our error.
    let echo = format!(
        r#"{{"__type":"InvalidSignatureException","message":"canonical request had x-amz-security-token:{}"}}"#,
        canary("awsSessionToken")
    );
    let transport = ScriptedTransport::new(vec![Ok(HttpResponse::new(403, echo))]);
    let registry =
        Registry::new(Client::from_json_str(&doc.to_string()).unwrap(), transport, FixedClock(Timestamp::from_unix(0)));
    let err = registry.get_repository("acme-app").await.unwrap_err();
    assert_clean("scrubbed provider message", &format!("{err} {err:?}"), &[canary("awsSessionToken")]);
    assert!(err.message().contains("***"));

    let token = "QVdTOnRoZS1lY3ItcGFzc3dvcmQtdmFsdWU="; // base64("AWS:the-ecr-password-value")
    let answer = format!(r#"{{"authorizationData":[{{"authorizationToken":"{token}","expiresAt":1795892400}}]}}"#);
    let transport = ScriptedTransport::new(vec![Ok(HttpResponse::new(200, answer))]);
    // No pull role: the token is the base credentials' own, which the binding accepts.
    let mut doc = doc;
    doc["binding"]["unscopedCredentials"] = json!(true);
    let registry =
        Registry::new(Client::from_json_str(&doc.to_string()).unwrap(), transport, FixedClock(Timestamp::from_unix(0)));
    let creds = registry.generate_credentials("acme-app", Permissions::Pull, None).await.unwrap();
    assert_eq!(creds.password.expose(), "the-ecr-password-value");
    assert_clean("Credentials Debug", &format!("{creds:?} {creds:#?}"), &["the-ecr-password-value"]);
    // The JSON form does carry it: that is what the caller asked for.
    assert_eq!(serde_json::to_value(&creds).unwrap()["password"], "the-ecr-password-value");
}

/// A transport that answers the AWS credential sources (container endpoint, instance
/// metadata, STS) with the canary secret and session token, and every ECR call with a
/// `SignatureDoesNotMatch` whose message quotes every request header, as AWS's own
/// answer quotes the canonical request (the session token included).
struct EchoingAws;

#[async_trait::async_trait]
impl artifact_registry_core::Transport for EchoingAws {
    async fn send(
        &self,
        request: artifact_registry_core::HttpRequest,
    ) -> Result<HttpResponse, artifact_registry_core::TransportError> {
        let (secret, token) = (canary("awsSecretAccessKey"), canary("awsSessionToken"));
        let keys = json!({ "AccessKeyId": "ASIAECHO000000000001", "SecretAccessKey": secret, "Token": token,
                           "Expiration": "2099-01-01T00:00:00Z", "Code": "Success" });
        let url = request.url.as_str();
        let answer = if url.contains("/container/") || url.ends_with("/security-credentials/role") {
            HttpResponse::new(200, keys.to_string())
        } else if url.ends_with("/latest/api/token") {
            HttpResponse::new(200, "imds-session")
        } else if url.ends_with("/security-credentials/") {
            HttpResponse::new(200, "role")
        } else if url.starts_with("http://sts.") {
            HttpResponse::new(
                200,
                format!(
                    "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIAROLE000000000001</AccessKeyId><SecretAccessKey>{secret}</SecretAccessKey><SessionToken>{token}</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>"
                ),
            )
        } else {
            let quoted: Vec<String> =
                request.headers.iter().map(|(k, v)| format!("{}:{v}", k.to_lowercase())).collect();
            let message = format!(
                "The request signature we calculated does not match the signature you provided. The Canonical String for this request should have been 'POST\n/\n\n{}'",
                quoted.join("\n")
            );
            HttpResponse::new(400, json!({ "__type": "InvalidSignatureException", "message": message }).to_string())
                .with_header("x-amzn-ErrorType", "InvalidSignatureException")
        };
        Ok(answer)
    }

    async fn sleep(&self, _: std::time::Duration) {}
}

/// Every source of the AWS chain hands out a secret key and a session token; an error
/// that quotes the signed request (as `SignatureDoesNotMatch` does) shows neither, on
/// the call that resolved them and on the next one, served from the client's cache.
#[tokio::test]
async fn aws_secrets_from_every_source_are_redacted_where_errors_quote_requests() {
    use artifact_registry_tests::transports::{EnvTransport, env_of};
    let (secret, token) = (canary("awsSecretAccessKey"), canary("awsSessionToken"));
    let home = artifact_registry_tests::oci_registry::scratch_dir("aws-secrets");
    let file = |name: &str, text: String| {
        let path = home.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let keys = format!(
        "aws_access_key_id = AKIAFILE000000000001\naws_secret_access_key = {secret}\naws_session_token = {token}\n"
    );
    let credentials_file = file("credentials", format!("[default]\n{keys}"));
    let config_file = file("config", format!("[default]\n{keys}"));
    let process = format!(
        "echo '{{\"Version\": 1, \"AccessKeyId\": \"ASIAPROC000000000001\", \"SecretAccessKey\": \"{secret}\", \"SessionToken\": \"{token}\"}}'"
    );
    let process_config = file("process-config", format!("[default]\ncredential_process = {process}\n"));
    let role_config = file(
        "role-config",
        "[default]\nrole_arn = arn:aws:iam::123456789012:role/ci\ncredential_source = Environment\n".to_owned(),
    );
    let home_dir = home.to_str().unwrap();
    let none = "/nonexistent";
    let base = [
        ("HOME", home_dir),
        ("AWS_SHARED_CREDENTIALS_FILE", none),
        ("AWS_CONFIG_FILE", none),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let sources: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "environment",
            vec![
                ("AWS_ACCESS_KEY_ID", "ASIAENV0000000000001"),
                ("AWS_SECRET_ACCESS_KEY", secret),
                ("AWS_SESSION_TOKEN", token),
            ],
        ),
        ("credentials file", vec![("AWS_SHARED_CREDENTIALS_FILE", &credentials_file)]),
        ("config file", vec![("AWS_CONFIG_FILE", &config_file)]),
        ("credential_process", vec![("AWS_CONFIG_FILE", &process_config)]),
        (
            "credential_source = Environment",
            vec![
                ("AWS_CONFIG_FILE", &role_config),
                ("AWS_ACCESS_KEY_ID", "AKIAENV0000000000002"),
                ("AWS_SECRET_ACCESS_KEY", secret),
                ("AWS_SESSION_TOKEN", token),
            ],
        ),
        ("container", vec![("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/container/creds")]),
        (
            "instance metadata",
            vec![("AWS_EC2_METADATA_DISABLED", "false"), ("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:2")],
        ),
    ];
    for (source, vars) in sources {
        let mut env = env_of(&base);
        env.extend(env_of(&vars));
        let config = json!({ "name": "a", "binding": { "service": "ecr", "repositoryPrefix": "acme" },
            "aws": { "region": "us-east-1", "accountId": "123456789012",
                     "endpoints": { "ecr": "http://ecr.echo.test", "sts": "http://sts.echo.test" } } });
        let client = Client::from_json_str(&config.to_string()).unwrap();
        let registry = Registry::new(
            client,
            EnvTransport { inner: EchoingAws, env },
            FixedClock(Timestamp::from_unix(1_800_000_000)),
        );
        for call in ["first call (resolves)", "second call (cached)"] {
            let e = registry.get_repository("acme-app").await.unwrap_err();
            assert_eq!(e.provider_code(), Some("InvalidSignatureException"), "{source}, {call}: {e}");
            assert!(e.message().contains("x-amz-security-token:"), "{source}, {call}: the echo is in the message: {e}");
            assert_clean(&format!("{source}, {call}: error"), &format!("{e} {e:?} {}", e.message()), &[secret, token]);
        }
    }
    let _ = std::fs::remove_dir_all(home);
}
