//! SigV4 signing of one ECR `CreateRepository` request: this project's signer versus
//! the `aws-sigv4` crate, in one run; building and parsing a repository policy; and
//! the Google service-account token request (an RS256 JWT) against the bare `rsa`
//! signature it is built on.
//!
//! Run: `cargo bench -p artifact-registry-tests --bench signing`
//!
//! The signing benches take 500 samples of 100 signatures each: a signature is about
//! a microsecond, and one per sample would measure the timer as much as the signer.

use std::time::{Duration, SystemTime};

use artifact_registry_core::aws::Partition;
use artifact_registry_core::aws::sigv4::{AwsCredentials, Scope, Signer, SigningSettings};
use artifact_registry_core::{AwsAccess, EcrPolicy, HttpRequest, Secret, ServiceType, Timestamp};
use divan::black_box;

const URL: &str = "https://api.ecr.us-east-1.amazonaws.com/";
const BODY: &[u8] = br#"{"repositoryName":"acme-my-app"}"#;
const TARGET: &str = "AmazonEC2ContainerRegistry_V20150921.CreateRepository";
const AKID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const NOW: u64 = 1_795_849_200;

fn main() {
    divan::main();
}

/// What a sender does with a signature: uses it (here: hides it from the
/// optimizer) and drops it, within the sample. Dropping outside the timing instead
/// (divan's default for returned values) piles up a sample's worth of allocations
/// and sends every signer's next ones down malloc's slow paths.
fn sent<T>(signed: T) {
    drop(black_box(signed));
}

fn request() -> HttpRequest {
    HttpRequest::new("POST", URL)
        .header("Content-Type", "application/x-amz-json-1.1")
        .header("X-Amz-Target", TARGET)
        .body(BODY)
}

fn scope() -> Scope<'static> {
    Scope { region: "us-east-1", service: "ecr", time: Timestamp::from_unix(NOW as i64) }
}

fn creds() -> AwsCredentials {
    AwsCredentials { access_key_id: AKID.into(), secret_access_key: Secret::new(SECRET), session_token: None }
}

/// This project's signer, as operations use it (`Signer::sign`): one signer per
/// client, so the signing key is derived once per day, region and service.
#[divan::bench(sample_count = 500, sample_size = 100)]
fn ours(bencher: divan::Bencher) {
    let signer = Signer::new();
    let (req, creds, scope) = (request(), creds(), scope());
    bencher.bench_local(|| sent(signer.signed_headers(black_box(&req), &creds, scope, SigningSettings::default())));
}

/// The same, keeping every step (canonical request, string to sign), as the test
/// suite reads them.
#[divan::bench(sample_count = 500, sample_size = 100)]
fn ours_with_steps(bencher: divan::Bencher) {
    let signer = Signer::new();
    let (req, creds, scope) = (request(), creds(), scope());
    bencher.bench_local(|| sent(signer.sign_headers(black_box(&req), &creds, scope, SigningSettings::default())));
}

/// This project's signer with a fresh key cache every time (key derived per call).
#[divan::bench(sample_count = 500, sample_size = 100)]
fn ours_uncached(bencher: divan::Bencher) {
    let (req, creds, scope) = (request(), creds(), scope());
    bencher
        .bench_local(|| sent(Signer::new().sign_headers(black_box(&req), &creds, scope, SigningSettings::default())));
}

/// The floor under any signer of this request: the three hashes SigV4 requires
/// (the body, the canonical request, and the HMAC of the string to sign with a key
/// already derived), on the exact bytes `ours` hashes, and nothing else.
#[divan::bench(sample_count = 500, sample_size = 100)]
fn hash_floor(bencher: divan::Bencher) {
    use hmac::{KeyInit, Mac};
    use sha2::{Digest, Sha256};
    let out = Signer::new().sign_headers(&request(), &creds(), scope(), SigningSettings::default()).unwrap();
    let (canonical, to_sign) = (out.canonical_request, out.string_to_sign);
    let keyed = hmac::Hmac::<Sha256>::new_from_slice(&[7u8; 32]).unwrap();
    bencher.bench_local(|| {
        let body = Sha256::digest(black_box(BODY));
        let request = Sha256::digest(black_box(canonical.as_bytes()));
        let mut mac = keyed.clone();
        mac.update(black_box(to_sign.as_bytes()));
        sent((body, request, mac.finalize().into_bytes()))
    });
}

/// The `aws-sigv4` crate on the same request.
#[divan::bench(sample_count = 500, sample_size = 100)]
fn aws_sigv4_crate(bencher: divan::Bencher) {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use aws_sigv4::sign::v4;
    let identity = aws_credential_types::Credentials::new(AKID, SECRET, None, None, "bench").into();
    let time = SystemTime::UNIX_EPOCH + Duration::from_secs(NOW);
    let headers = [("content-type", "application/x-amz-json-1.1"), ("x-amz-target", TARGET)];
    bencher.bench_local(|| {
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("ecr")
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let signable =
            SignableRequest::new("POST", URL, headers.iter().copied(), SignableBody::Bytes(black_box(BODY))).unwrap();
        sent(sign(signable, &params).unwrap().into_parts())
    });
}

fn grant() -> AwsAccess {
    AwsAccess {
        account_ids: (0..5).map(|i| format!("11111111111{i}")).collect(),
        regions: vec!["us-east-1".into(), "us-west-2".into(), "eu-west-1".into()],
        allowed_service_types: vec![ServiceType::Worker],
        role_arns: (0..5).map(|i| format!("arn:aws:iam::22222222222{i}:role/deployer")).collect(),
    }
}

/// Merge a grant into a policy holding another party's statement and render it.
#[divan::bench]
fn policy_build(bencher: divan::Bencher) {
    let base = EcrPolicy::parse(r#"{"Version":"2012-10-17","Statement":[{"Sid":"Theirs","Effect":"Allow","Principal":"*","Action":"ecr:BatchGetImage"}]}"#, Partition::Aws).unwrap();
    let access = grant();
    bencher.bench_local(|| {
        let grants = base.grants.add(black_box(&access));
        base.with_grants(grants).render()
    });
}

/// Parse that policy back into grants.
#[divan::bench]
fn policy_parse(bencher: divan::Bencher) {
    let base = EcrPolicy::empty(Partition::Aws);
    let text = base.with_grants(base.grants.add(&grant())).render().unwrap();
    bencher.bench_local(|| EcrPolicy::parse(black_box(&text), Partition::Aws).unwrap().grants);
}

const GCP_KEY: &str = include_str!("../../core/testdata/gcp-test-key.pem");

fn gar_client() -> artifact_registry_core::Client {
    let config = serde_json::json!({
        "name": "artifacts",
        "binding": { "service": "gar", "repositoryName": "images" },
        "gcp": { "projectId": "acme-images", "region": "us-central1", "credentials": {
            "type": "service_account", "client_email": "deployer@acme-images.iam.gserviceaccount.com",
            "private_key_id": "4f2b9c1d8e7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c", "private_key": GCP_KEY } }
    });
    artifact_registry_core::Client::from_json_str(&config.to_string()).unwrap()
}

/// The first request of a GAR operation on a client with no token yet: the
/// JWT-bearer token request, its assertion signed with RS256 (what a token refresh
/// costs this side of the network).
#[divan::bench]
fn gcp_token_request(bencher: divan::Bencher) {
    let client = gar_client();
    let now = Timestamp::from_unix(NOW as i64);
    bencher.bench_local(|| {
        let mut op = client.get_repository(black_box("acme-images/images/web"));
        match op.step(now) {
            artifact_registry_core::Step::Send(request) => request.body.len(),
            _ => unreachable!("a fresh client asks for a token first"),
        }
    });
}

/// The bare RS256 signature (the `rsa` crate, PKCS#1 v1.5 with SHA-256) of an input
/// as long as a JWT's signing input: the floor of `gcp_token_request`.
#[divan::bench]
fn rsa_sign_only(bencher: divan::Bencher) {
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::signature::{SignatureEncoding, Signer as _};
    let key = rsa::PrivateKey::from_pkcs8_pem(GCP_KEY).unwrap();
    let signing_key = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key);
    let input = vec![b'a'; 420];
    bencher.bench_local(|| signing_key.sign(black_box(&input)).to_vec());
}

/// Reading the service-account key from the configuration (once per client).
#[divan::bench]
fn gcp_client_from_config(bencher: divan::Bencher) {
    bencher.bench_local(gar_client);
}
