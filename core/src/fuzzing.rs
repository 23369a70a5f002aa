//! Entry points for the coverage-guided fuzzers in `fuzz/` (feature `fuzzing`, off by
//! default): each takes arbitrary bytes and feeds them to the parsers of one kind of
//! input. None may panic, loop or allocate without bound; an `Err` is fine.
//!
//! `operations` is the widest: it runs whole operations of all four providers with
//! answers cut from the input, so every parser reachable from provider output
//! (errors, tokens, JWTs, policies, LROs, manifests, challenges) sees them in context.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::auth::aws::Partition;
use crate::engine::http::HttpResponse;
use crate::engine::operation::Step;
use crate::engine::time::Timestamp;
use crate::providers::ecr::policy::Policy;
use crate::types::{AwsAccess, AzureAccess, CrossAccountAccess, GcpAccess};
use crate::{Client, Config, HostAnswer, Permissions};

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// The configuration document.
pub fn config(data: &[u8]) {
    let _ = Config::from_json_str(&text(data));
    let _ = CrossAccountAccess::from_json_str(&text(data));
}

/// Every timestamp form read from providers: RFC 3339, HTTP dates, AMZ dates.
pub fn timestamps(data: &[u8]) {
    let s = text(data);
    for t in [Timestamp::parse_rfc3339(&s), Timestamp::parse_http_date(&s), Timestamp::parse_amz_date(&s)]
        .into_iter()
        .flatten()
    {
        let _ = (t.to_rfc3339(), t.amz_date(), t.plus(Duration::from_secs(u64::MAX / 2)));
    }
}

/// ECR repository policies: parse, check, render, and the grant algebra on them.
pub fn ecr_policy(data: &[u8]) {
    let Ok(policy) = Policy::parse(&text(data), Partition::Aws) else { return };
    let _ = policy.check_writable();
    let access = AwsAccess { account_ids: vec!["111111111111".into()], ..AwsAccess::default() };
    let added = policy.grants.add(&access);
    let _ = policy.with_grants(added.clone()).render();
    let _ = policy.with_grants(added.remove(&access)).render();
}

/// Error bodies and headers of AWS (JSON and XML, STS's XML fields), Google, Azure and
/// OCI registries; `WWW-Authenticate` challenges; JWT expiries; GAR IAM policies; ACR
/// role assignments.
pub fn provider_output(data: &[u8]) {
    let s = text(data);
    let (head, body) = s.split_once('\n').unwrap_or((&s, ""));
    for status in [200, 400, 401, 403, 404, 409, 429, 500] {
        let response = HttpResponse::new(status, body.to_owned())
            .with_header("x-amzn-ErrorType", head.to_owned())
            .with_header("WWW-Authenticate", head.to_owned())
            .with_header("Content-Type", head.to_owned());
        let _ = crate::protocol::aws::error_from_response(&response, "fuzz");
        let _ = crate::protocol::aws::is_throttled(&response);
        let _ = crate::protocol::google::error_from_response(&response, "fuzz");
        let _ = crate::protocol::google::is_throttled(&response);
        let _ = crate::protocol::azure::error_from_response(&response, "fuzz");
        let _ = crate::protocol::azure::is_throttled(&response);
        let _ = crate::oci::error_from_response(&response, "fuzz");
    }
    for name in ["Code", "Message", "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration", "Arn"] {
        let _ = crate::protocol::aws_xml::first(body, name);
    }
    let _ = crate::oci::parse_challenge(head);
    let _ = crate::protocol::azure::jwt_expiry(head);
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(body) {
        let _ = crate::protocol::google::operation_error(&value, "fuzz");
        let _ = crate::providers::gar::iam::grants_in(&value);
        let members: BTreeSet<String> = crate::providers::gar::iam::members_of(&GcpAccess {
            service_account_emails: vec!["a@b.iam.gserviceaccount.com".into()],
            ..GcpAccess::default()
        });
        let _ = crate::providers::gar::iam::with_members_added(&value, &members);
        let _ = crate::providers::gar::iam::with_members_removed(&value, &members);
        let registry = "/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerRegistry/registries/r";
        let _ = crate::providers::acr::abac::is_ours(&value, "s", registry, "team/app");
    }
}

const CONFIGS: [&str; 4] = [
    r#"{"name":"artifacts","binding":{"service":"ecr","repositoryPrefix":"acme","pullRoleArn":"arn:aws:iam::123456789012:role/pull"},"aws":{"region":"us-east-1","accountId":"123456789012","credentials":{"accessKeyId":"AKIDEXAMPLE","secretAccessKey":"secretsecret"}}}"#,
    r#"{"name":"artifacts","binding":{"service":"local","registryUrl":"localhost:5000"},"local":{"credentials":{"username":"u","password":"p"}}}"#,
    r#"{"name":"artifacts","binding":{"service":"gar","repositoryName":"images","pullServiceAccountEmail":"pull@p.iam.gserviceaccount.com"},"gcp":{"projectId":"acme-p1","region":"us-central1","credentials":{"accessToken":"ya29.token"}}}"#,
    r#"{"name":"artifacts","binding":{"service":"acr","registryName":"acme","resourceGroupName":"rg","repositoryPrefix":"team","scopeMapTokens":true},"azure":{"tenantId":"00000000-0000-0000-0000-000000000001","subscriptionId":"00000000-0000-0000-0000-000000000002","credentials":{"accessToken":"aad.token.value"}}}"#,
];

const STATUSES: [u16; 10] = [200, 201, 202, 204, 400, 401, 403, 404, 409, 500];

/// Whole operations of every provider, answered from the input: byte 0 picks the
/// provider and the operation; the rest, split at `\0`, are the answers, each a
/// status byte, then `header\n` (sent as `WWW-Authenticate`, `Location` and
/// `Retry-After`) and a body.
pub fn operations(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else { return };
    let Ok(client) = Client::from_json_str(CONFIGS[usize::from(pick) % CONFIGS.len()]) else { return };
    let Ok(name) = client.routable_name("app") else { return };
    let grant = match pick % 4 {
        2 => CrossAccountAccess::Gcp(GcpAccess {
            service_account_emails: vec!["r@p2.iam.gserviceaccount.com".into()],
            ..GcpAccess::default()
        }),
        3 => CrossAccountAccess::Azure(AzureAccess {
            principal_ids: vec!["3f2e1d0c-9b8a-4c7d-8e6f-5a4b3c2d1e00".into()],
            ..AzureAccess::default()
        }),
        _ => CrossAccountAccess::Aws(AwsAccess { account_ids: vec!["111111111111".into()], ..AwsAccess::default() }),
    };
    let mut operation = match (pick / 4) % 8 {
        0 => client.create_repository("app").map(|_| ()),
        1 => client.get_repository(&name).map(|_| ()),
        2 => client.delete_repository(&name),
        3 => client.add_cross_account_access(&name, &grant),
        4 => client.remove_cross_account_access(&name, &grant),
        5 => client.get_cross_account_access(&name).map(|_| ()),
        6 => client.generate_credentials(&name, Permissions::PushPull, Some(900)).map(|_| ()),
        _ => client.describe_credentials().map(|_| ()),
    };
    let mut answers = rest.split(|b| *b == 0);
    let now = Timestamp::from_unix(1_800_000_000);
    for _ in 0..500 {
        match operation.step(now) {
            Step::Send(_) => {
                let Some(answer) = answers.next() else { return };
                let (status, rest) = answer
                    .split_first()
                    .map_or((200, &[][..]), |(s, r)| (STATUSES[usize::from(*s) % STATUSES.len()], r));
                let rest = text(rest);
                let (header, body) = rest.split_once('\n').unwrap_or(("", &rest));
                operation.receive(
                    HttpResponse::new(status, body.to_owned())
                        .with_header("WWW-Authenticate", header.to_owned())
                        .with_header("Location", header.to_owned())
                        .with_header("Retry-After", header.to_owned()),
                );
            }
            Step::Sleep(d) => assert!(d <= Duration::from_secs(120), "a wait of {d:?}"),
            Step::Ask(_) => operation.answer(HostAnswer::Missing),
            Step::Done(_) => return,
        }
    }
    panic!("an operation did not end in 500 steps");
}

/// Password-protected key files: PKCS#12 (with and without a password, so that both
/// the MAC and the decryption paths run) and encrypted PKCS#8.
pub fn key_files(data: &[u8]) {
    use crate::auth::pkcs12;
    let _ = pkcs12::read_pkcs12(data, None);
    let _ = pkcs12::read_pkcs12(data, Some("x"));
    let _ = pkcs12::decrypt_encrypted_pem_key(data, "x");
}
