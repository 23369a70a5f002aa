//! The official AWS SigV4 test suite (`tests/vectors/aws-sigv4/`; its origin and
//! licence are in the README there): every case, header signing and presigning,
//! checked step by step (canonical request, string to sign, signature) and on the
//! final request.

use std::fs;
use std::path::{Path, PathBuf};

use artifact_registry_core::aws::sigv4::{AwsCredentials, Scope, Signer, SigningSettings};
use artifact_registry_core::{HttpRequest, Secret, Timestamp};
use serde_json::Value;

fn suite_dir() -> PathBuf {
    let dir = artifact_registry_tests::repo_root().join("tests/vectors/aws-sigv4");
    assert!(dir.is_dir(), "the SigV4 suite is missing at {}", dir.display());
    dir
}

struct Case {
    name: String,
    request: HttpRequest,
    creds: AwsCredentials,
    region: String,
    service: String,
    time: Timestamp,
    expires: u64,
    settings: SigningSettings,
}

/// Parses `request.txt`: request line, headers (with folded continuation lines), body.
fn parse_request(text: &str) -> HttpRequest {
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let request_line = lines.next().unwrap();
    let (method, rest) = request_line.split_once(' ').unwrap();
    let target = rest.rsplit_once(' ').unwrap().0;
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            let last = headers.last_mut().unwrap();
            last.1.push(' ');
            last.1.push_str(line.trim());
        } else {
            let (k, v) = line.split_once(':').unwrap();
            headers.push((k.to_owned(), v.to_owned()));
        }
    }
    let host = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("host")).unwrap().1.clone();
    HttpRequest {
        method: method.to_owned(),
        url: format!("https://{host}{target}"),
        headers,
        body: body.as_bytes().to_vec(),
        timeout: None,
    }
}

fn load(dir: &Path) -> Case {
    let ctx: Value = serde_json::from_str(&fs::read_to_string(dir.join("context.json")).unwrap()).unwrap();
    let c = &ctx["credentials"];
    Case {
        name: dir.file_name().unwrap().to_string_lossy().into_owned(),
        request: parse_request(&fs::read_to_string(dir.join("request.txt")).unwrap()),
        creds: AwsCredentials {
            access_key_id: c["access_key_id"].as_str().unwrap().to_owned(),
            secret_access_key: Secret::new(c["secret_access_key"].as_str().unwrap()),
            session_token: c["token"].as_str().map(Secret::new),
        },
        region: ctx["region"].as_str().unwrap().to_owned(),
        service: ctx["service"].as_str().unwrap().to_owned(),
        time: Timestamp::parse_rfc3339(ctx["timestamp"].as_str().unwrap()).unwrap(),
        expires: ctx["expiration_in_seconds"].as_u64().unwrap(),
        settings: SigningSettings {
            normalize_path: ctx["normalize"].as_bool().unwrap(),
            payload_hash_header: ctx["sign_body"].as_bool().unwrap_or(false),
            sign_session_token: !ctx["omit_session_token"].as_bool().unwrap_or(false),
        },
    }
}

fn cases() -> Vec<Case> {
    let mut dirs: Vec<PathBuf> =
        fs::read_dir(suite_dir()).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    let cases: Vec<Case> = dirs.iter().map(|d| load(d)).collect();
    assert!(cases.len() >= 38, "expected the whole suite, found {} cases", cases.len());
    cases
}

fn expected(case: &Case, file: &str) -> String {
    fs::read_to_string(suite_dir().join(&case.name).join(file)).unwrap()
}

#[test]
fn header_signing_matches_every_case_step_by_step() {
    for case in cases() {
        let scope = Scope { region: &case.region, service: &case.service, time: case.time };
        let out = Signer::new().sign_headers(&case.request, &case.creds, scope, case.settings).unwrap();
        assert_eq!(
            out.canonical_request,
            expected(&case, "header-canonical-request.txt"),
            "{}: canonical request",
            case.name
        );
        assert_eq!(out.string_to_sign, expected(&case, "header-string-to-sign.txt"), "{}: string to sign", case.name);
        assert_eq!(out.signature, expected(&case, "header-signature.txt").trim(), "{}: signature", case.name);
        // The final request: every header the suite's signed request has, with the
        // same value (the suite prints them in its own order and case).
        let signed = expected(&case, "header-signed-request.txt");
        let signed = parse_request(&signed);
        for (name, value) in &out.headers {
            let want = signed.header_value(name).unwrap_or_else(|| panic!("{}: unexpected header {name}", case.name));
            assert_eq!(value, want, "{}: header {name}", case.name);
        }
        assert_eq!(signed.headers.len(), case.request.headers.len() + out.headers.len(), "{}: header count", case.name);
    }
}

fn query_pairs(url: &str) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = url
        .split_once('?')
        .map(|(_, q)| q)
        .unwrap_or("")
        .split('&')
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect();
    pairs.sort();
    pairs
}

#[test]
fn presigning_matches_every_case_step_by_step() {
    for case in cases() {
        let scope = Scope { region: &case.region, service: &case.service, time: case.time };
        let out = Signer::new().presign(&case.request, &case.creds, scope, case.expires, case.settings).unwrap();
        assert_eq!(
            out.canonical_request,
            expected(&case, "query-canonical-request.txt"),
            "{}: canonical request",
            case.name
        );
        assert_eq!(out.string_to_sign, expected(&case, "query-string-to-sign.txt"), "{}: string to sign", case.name);
        assert_eq!(out.signature, expected(&case, "query-signature.txt").trim(), "{}: signature", case.name);
        let signed = expected(&case, "query-signed-request.txt");
        let line = signed.lines().next().unwrap();
        let target = line.split_once(' ').unwrap().1.rsplit_once(' ').unwrap().0;
        // The suite writes the original query raw; compare the X-Amz-* parameters.
        let ours: Vec<_> = query_pairs(&out.url).into_iter().filter(|(k, _)| k.starts_with("X-Amz-")).collect();
        let theirs: Vec<_> = query_pairs(target).into_iter().filter(|(k, _)| k.starts_with("X-Amz-")).collect();
        assert_eq!(ours, theirs, "{}: presigned query", case.name);
    }
}

#[test]
fn one_signer_reused_across_cases_gives_the_same_answers() {
    // The signing-key cache must never hand one case's key to another.
    let signer = Signer::new();
    for case in cases().iter().chain(cases().iter().rev()) {
        let scope = Scope { region: &case.region, service: &case.service, time: case.time };
        let out = signer.sign_headers(&case.request, &case.creds, scope, case.settings).unwrap();
        assert_eq!(out.signature, expected(case, "header-signature.txt").trim(), "{}", case.name);
        // What sending uses: the same headers, from buffers the thread reuses.
        let headers = signer.signed_headers(&case.request, &case.creds, scope, case.settings).unwrap();
        assert_eq!(headers, out.headers, "{}", case.name);
    }
}
