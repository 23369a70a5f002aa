//! AWS Signature Version 4: header signing and presigned URLs.
//!
//! Follows the published algorithm step by step (canonical request, string to sign,
//! signature) and exposes each step, so the official test suite can check all three.
//! The signing key is derived once per (secret, day, region, service) and cached.

use std::borrow::Cow;
use std::sync::Mutex;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::engine::http::{HttpRequest, UrlParts, percent_decode, percent_encode};
use crate::engine::time::Timestamp;
use crate::error::{Error, Result};
use crate::secret::Secret;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// AWS credentials: an access key, its secret and, for temporary credentials, a
/// session token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsCredentials {
    /// The access key id (`AKIA...`, `ASIA...`); not secret.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: Secret,
    /// The session token of temporary credentials.
    pub session_token: Option<Secret>,
}

/// How to sign. The defaults are what AWS services other than S3 expect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigningSettings {
    /// Remove `.`/`..` segments and empty segments from the path before signing.
    pub normalize_path: bool,
    /// Add and sign an `X-Amz-Content-Sha256` header (header signing only).
    pub payload_hash_header: bool,
    /// Sign the session token; when false it is added after signing (as some
    /// services, STS among them, historically expected).
    pub sign_session_token: bool,
}

impl Default for SigningSettings {
    fn default() -> Self {
        SigningSettings { normalize_path: true, payload_hash_header: false, sign_session_token: true }
    }
}

/// The intermediate and final results of one signing, for tests and debugging.
/// Holds no secret: the canonical request may hold a session token, which is why
/// this type has no `Debug`.
pub struct SigningOutput {
    /// Step 1: the canonical request.
    pub canonical_request: String,
    /// Step 2: the string to sign.
    pub string_to_sign: String,
    /// Step 3: the hex signature.
    pub signature: String,
    /// Header signing: the headers to add to the request, in order
    /// (`X-Amz-Date`, `X-Amz-Security-Token`, `X-Amz-Content-Sha256`, `Authorization`).
    /// Presigning: empty.
    pub headers: Vec<(String, String)>,
    /// Presigning: the presigned URL. Header signing: the request's URL unchanged.
    pub url: String,
}

/// What the request and credentials are signed for.
#[derive(Clone, Copy, Debug)]
pub struct Scope<'a> {
    /// The region, e.g. `us-east-1`.
    pub region: &'a str,
    /// The signing name of the service, e.g. `ecr`, `sts`.
    pub service: &'a str,
    /// The signing time.
    pub time: Timestamp,
}

struct CachedKey {
    secret: String,
    date: String,
    region: String,
    service: String,
    /// HMAC already keyed with the signing key: cloning it skips re-keying.
    mac: HmacSha256,
}

/// Steps 1 and 2 of a signing, written in place.
#[derive(Default)]
struct Steps {
    canonical_request: String,
    string_to_sign: String,
}

impl Steps {
    /// Overwrites what the buffers held (a canonical request may hold a session
    /// token), keeping their capacity.
    fn wipe(&mut self) {
        for buffer in [&mut self.canonical_request, &mut self.string_to_sign] {
            let mut bytes = std::mem::take(buffer).into_bytes();
            bytes.fill(0);
            bytes.clear();
            *buffer = String::from_utf8(bytes).unwrap_or_default();
        }
    }
}

/// A SigV4 signer. Cheap to share; caches the last derived signing key.
#[derive(Default)]
pub struct Signer {
    cache: Mutex<Option<CachedKey>>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer")
    }
}

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Lower-case hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        let [hi, lo] = hex_byte(b);
        s.push(hi as char);
        s.push(lo as char);
    }
    s
}

/// The two hex digits of every byte, so that encoding is one load a byte.
const HEX_PAIRS: [[u8; 2]; 256] = {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut pairs = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        pairs[i] = [HEX[i >> 4], HEX[i & 15]];
        i += 1;
    }
    pairs
};

fn hex_byte(b: u8) -> [u8; 2] {
    HEX_PAIRS[b as usize]
}

/// The lower-case hex of a SHA-256 digest, on the stack: signing hashes twice per
/// request and only copies the hex into strings it already builds.
struct Hex64([u8; 64]);

impl Hex64 {
    fn of(digest: &[u8]) -> Hex64 {
        let mut out = [0u8; 64];
        for (i, &b) in digest.iter().take(32).enumerate() {
            [out[2 * i], out[2 * i + 1]] = hex_byte(b);
        }
        Hex64(out)
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("hex digits are ASCII")
    }
}

/// Hex SHA-256 of a payload.
pub fn payload_hash(body: &[u8]) -> String {
    hex(&Sha256::digest(body))
}

impl Signer {
    /// A signer with an empty key cache.
    pub fn new() -> Signer {
        Signer::default()
    }

    fn signing_mac(&self, secret: &str, date: &str, region: &str, service: &str) -> HmacSha256 {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = cache.as_ref()
            && c.date == date
            && c.region == region
            && c.service == service
            && c.secret == secret
        {
            return c.mac.clone();
        }
        let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
        let k_region = hmac(&k_date, region.as_bytes());
        let k_service = hmac(&k_region, service.as_bytes());
        let key = hmac(&k_service, b"aws4_request");
        let mac = HmacSha256::new_from_slice(&key).expect("HMAC takes keys of any length");
        *cache = Some(CachedKey {
            secret: secret.to_owned(),
            date: date.to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
            mac: mac.clone(),
        });
        mac
    }

    /// Signs `request` in place: adds `X-Amz-Date`, the session token, and
    /// `Authorization` (see [`Signer::sign_headers`]).
    pub fn sign(&self, request: &mut HttpRequest, creds: &AwsCredentials, scope: Scope<'_>) -> Result<()> {
        let headers = self.signed_headers(request, creds, scope, SigningSettings::default())?;
        request.headers.extend(headers);
        Ok(())
    }

    /// Header signing: computes the headers to add, and keeps the steps. Every
    /// header already on the request is signed, plus `host` (from the request's
    /// `Host` header, else from its URL).
    pub fn sign_headers(
        &self,
        request: &HttpRequest,
        creds: &AwsCredentials,
        scope: Scope<'_>,
        settings: SigningSettings,
    ) -> Result<SigningOutput> {
        let mut steps = Steps::default();
        let (headers, signature) = self.header_signing(request, creds, scope, settings, &mut steps)?;
        Ok(SigningOutput {
            canonical_request: steps.canonical_request,
            string_to_sign: steps.string_to_sign,
            signature: signature.as_str().to_owned(),
            headers,
            url: request.url.clone(),
        })
    }

    /// [`Signer::sign_headers`]' headers alone, in the same order: what sending a
    /// request needs. The steps are written into buffers this thread reuses, so
    /// signing allocates only what it returns.
    pub fn signed_headers(
        &self,
        request: &HttpRequest,
        creds: &AwsCredentials,
        scope: Scope<'_>,
        settings: SigningSettings,
    ) -> Result<Vec<(String, String)>> {
        thread_local! {
            static STEPS: std::cell::RefCell<Steps> = std::cell::RefCell::default();
        }
        STEPS.with(|steps| {
            // Signing never re-enters itself; were it to, it would use fresh buffers.
            let Ok(mut steps) = steps.try_borrow_mut() else {
                return self.header_signing(request, creds, scope, settings, &mut Steps::default()).map(|(h, _)| h);
            };
            let signed = self.header_signing(request, creds, scope, settings, &mut steps);
            if creds.session_token.is_some() {
                // The canonical request held the session token: wipe it.
                steps.wipe();
            }
            signed.map(|(headers, _)| headers)
        })
    }

    fn header_signing(
        &self,
        request: &HttpRequest,
        creds: &AwsCredentials,
        scope: Scope<'_>,
        settings: SigningSettings,
        steps: &mut Steps,
    ) -> Result<(Vec<(String, String)>, Hex64)> {
        let url = UrlParts::parse(&request.url)
            .ok_or_else(|| Error::invalid_input(format!("cannot sign: '{}' is not an absolute URL", request.url)))?;
        let amz_date = scope.time.amz_date();
        let body_hash = Hex64::of(&Sha256::digest(&request.body));
        let token = creds.session_token.as_ref().map(Secret::expose);

        // The headers signing adds, signed with the request's own.
        let mut signed_added: [(&str, &str); 3] = [("", ""); 3];
        let mut n = 0;
        for (name, value, add) in [
            ("X-Amz-Date", amz_date.as_str(), true),
            ("X-Amz-Security-Token", token.unwrap_or(""), token.is_some() && settings.sign_session_token),
            ("X-Amz-Content-Sha256", body_hash.as_str(), settings.payload_hash_header),
        ] {
            if add {
                signed_added[n] = (name, value);
                n += 1;
            }
        }
        let signed_added = &signed_added[..n];
        let query = canonical_query(url.query, &[]);
        // The signed header names are written straight into `Authorization`.
        let mut authorization = String::with_capacity(ALGORITHM.len() + 176 + creds.access_key_id.len());
        for part in [
            ALGORITHM,
            " Credential=",
            &creds.access_key_id,
            "/",
            &amz_date[..8],
            "/",
            scope.region,
            "/",
            scope.service,
            "/aws4_request, SignedHeaders=",
        ] {
            authorization.push_str(part);
        }
        let canonical = CanonicalParts {
            method: &request.method,
            path: url.path,
            query: &query,
            headers: HeadersToSign { existing: &request.headers, added: signed_added, host: url.host_header() },
            body_hash: body_hash.as_str(),
            normalize_path: settings.normalize_path,
        };
        let signature = self.finish(canonical, &mut authorization, steps, creds, scope, &amz_date)?;
        authorization.push_str(", Signature=");
        authorization.push_str(signature.as_str());
        let mut added: Vec<(String, String)> = Vec::with_capacity(n + 1);
        for (name, value) in &signed_added[1..] {
            added.push(((*name).into(), (*value).into()));
        }
        added.insert(0, ("X-Amz-Date".into(), amz_date));
        added.push(("Authorization".into(), authorization));
        if let (Some(t), false) = (token, settings.sign_session_token) {
            added.push(("X-Amz-Security-Token".into(), t.to_owned()));
        }
        Ok((added, signature))
    }

    /// Presigning: the signature goes into the URL's query (`X-Amz-Signature`), valid
    /// for `expires_in` seconds.
    pub fn presign(
        &self,
        request: &HttpRequest,
        creds: &AwsCredentials,
        scope: Scope<'_>,
        expires_in: u64,
        settings: SigningSettings,
    ) -> Result<SigningOutput> {
        let url = UrlParts::parse(&request.url)
            .ok_or_else(|| Error::invalid_input(format!("cannot sign: '{}' is not an absolute URL", request.url)))?;
        let host = url.host_header();
        let credential = format!(
            "{}/{}/{}/{}/aws4_request",
            creds.access_key_id,
            scope.time.date_stamp(),
            scope.region,
            scope.service
        );
        let mut params: Vec<(String, String)> = vec![
            ("X-Amz-Algorithm".into(), ALGORITHM.into()),
            ("X-Amz-Credential".into(), credential),
            ("X-Amz-Date".into(), scope.time.amz_date()),
            ("X-Amz-SignedHeaders".into(), signed_header_names(&request.headers, host)),
            ("X-Amz-Expires".into(), expires_in.to_string()),
        ];
        let token = creds.session_token.as_ref().map(Secret::expose);
        if let (Some(t), true) = (token, settings.sign_session_token) {
            params.push(("X-Amz-Security-Token".into(), t.to_owned()));
        }
        let query = canonical_query(url.query, &params);
        let body_hash = Hex64::of(&Sha256::digest(&request.body));
        let amz_date = scope.time.amz_date();
        let mut steps = Steps::default();
        let canonical = CanonicalParts {
            method: &request.method,
            path: url.path,
            query: &query,
            headers: HeadersToSign { existing: &request.headers, added: &[], host },
            body_hash: body_hash.as_str(),
            normalize_path: settings.normalize_path,
        };
        let signature = self.finish(canonical, &mut String::new(), &mut steps, creds, scope, &amz_date)?;
        if let (Some(t), false) = (token, settings.sign_session_token) {
            params.push(("X-Amz-Security-Token".into(), t.to_owned()));
        }
        let signature = signature.as_str().to_owned();
        params.push(("X-Amz-Signature".into(), signature.clone()));
        let mut presigned = request.url.split(['?', '#']).next().unwrap_or_default().to_owned();
        let mut sep = '?';
        if !url.query.is_empty() {
            presigned.push('?');
            presigned.push_str(url.query);
            sep = '&';
        }
        for (k, v) in &params {
            presigned.push(sep);
            presigned.push_str(&percent_encode(k, false));
            presigned.push('=');
            presigned.push_str(&percent_encode(v, false));
            sep = '&';
        }
        Ok(SigningOutput {
            canonical_request: steps.canonical_request,
            string_to_sign: steps.string_to_sign,
            signature,
            headers: Vec::new(),
            url: presigned,
        })
    }

    /// Steps 1 to 3: writes the canonical request and the string to sign into
    /// `steps`, and returns the signature. The signed header names are appended to
    /// `names_into` as well.
    fn finish(
        &self,
        canonical: CanonicalParts<'_>,
        names_into: &mut String,
        steps: &mut Steps,
        creds: &AwsCredentials,
        scope: Scope<'_>,
        amz_date: &str,
    ) -> Result<Hex64> {
        let CanonicalParts { method, path, query, headers, body_hash, normalize_path } = canonical;
        if creds.access_key_id.is_empty() || creds.secret_access_key.expose().is_empty() {
            return Err(Error::invalid_input("cannot sign: the AWS access key id and secret must not be empty"));
        }
        let path = canonical_path(path, normalize_path);
        let header_len: usize = headers.existing.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
            + headers.added.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
        let Steps { canonical_request, string_to_sign } = steps;
        canonical_request.clear();
        canonical_request.reserve(method.len() + path.len() + query.len() + 2 * header_len + headers.host.len() + 160);
        for part in [method, "\n", &path, "\n", query, "\n"] {
            canonical_request.push_str(part);
        }
        let names_at = names_into.len();
        write_canonical_headers(canonical_request, names_into, headers);
        canonical_request.push('\n');
        canonical_request.push_str(&names_into[names_at..]);
        canonical_request.push('\n');
        canonical_request.push_str(body_hash);

        let date = &amz_date[..8];
        let request_hash = Hex64::of(&Sha256::digest(canonical_request.as_bytes()));
        string_to_sign.clear();
        string_to_sign.reserve(ALGORITHM.len() + 64 + 40 + scope.region.len() + scope.service.len());
        for part in [
            ALGORITHM,
            "\n",
            amz_date,
            "\n",
            date,
            "/",
            scope.region,
            "/",
            scope.service,
            "/aws4_request\n",
            request_hash.as_str(),
        ] {
            string_to_sign.push_str(part);
        }
        let mut mac = self.signing_mac(creds.secret_access_key.expose(), date, scope.region, scope.service);
        mac.update(string_to_sign.as_bytes());
        Ok(Hex64::of(&mac.finalize().into_bytes()))
    }
}

/// Headers most requests carry at most: up to this many are sorted on the stack.
const INLINE_HEADERS: usize = 8;

/// What the canonical request is made of.
struct CanonicalParts<'a> {
    method: &'a str,
    path: &'a str,
    query: &'a str,
    headers: HeadersToSign<'a>,
    /// The hex SHA-256 of the body.
    body_hash: &'a str,
    /// Whether `.`, `..` and empty path segments are resolved first.
    normalize_path: bool,
}

/// The headers a signature covers: the request's own, those signing adds, and the
/// host the request goes to (signed as `host` unless the request has a `Host`).
#[derive(Clone, Copy)]
struct HeadersToSign<'a> {
    existing: &'a [(String, String)],
    added: &'a [(&'a str, &'a str)],
    host: &'a str,
}

/// Appends the canonical header lines (`name:value\n`, values of a repeated name
/// joined with `,`) to `out` and the signed header names (`name;name;...`) to
/// `names`: every header but `Authorization`, sorted by lower-cased name (stably:
/// repeated headers keep their order).
fn write_canonical_headers(out: &mut String, names: &mut String, headers: HeadersToSign<'_>) {
    let HeadersToSign { existing, added, host } = headers;
    let total = existing.len() + added.len() + 1;
    let mut inline = [const { ("", Cow::Borrowed("")) }; INLINE_HEADERS];
    let mut heap;
    let slots: &mut [(&str, Cow<'_, str>)] = if total <= INLINE_HEADERS {
        &mut inline[..total]
    } else {
        heap = vec![("", Cow::Borrowed("")); total];
        &mut heap
    };
    let mut n = 0;
    let mut has_host = false;
    for (k, v) in existing.iter().map(|(k, v)| (k.as_str(), v.as_str())).chain(added.iter().copied()) {
        if k.eq_ignore_ascii_case("authorization") {
            continue;
        }
        has_host |= k.eq_ignore_ascii_case("host");
        slots[n] = (k, normalize_value(v));
        n += 1;
    }
    if !has_host {
        slots[n] = ("host", Cow::Borrowed(host));
        n += 1;
    }
    let all = &mut slots[..n];
    // Names are compared lower-cased without lower-casing copies: this runs for
    // every request signed.
    all.sort_by(|a, b| a.0.bytes().map(|c| c.to_ascii_lowercase()).cmp(b.0.bytes().map(|c| c.to_ascii_lowercase())));
    let mut i = 0;
    while i < all.len() {
        let name = all[i].0;
        if i > 0 {
            names.push(';');
        }
        push_lower(names, name);
        push_lower(out, name);
        out.push(':');
        let mut j = i;
        while j < all.len() && all[j].0.eq_ignore_ascii_case(name) {
            if j > i {
                out.push(',');
            }
            out.push_str(&all[j].1);
            j += 1;
        }
        out.push('\n');
        i = j;
    }
}

/// The signed header names alone, for a presigned URL's `X-Amz-SignedHeaders`.
fn signed_header_names(existing: &[(String, String)], host: &str) -> String {
    let mut names = String::new();
    write_canonical_headers(&mut String::new(), &mut names, HeadersToSign { existing, added: &[], host });
    names
}

fn push_lower(out: &mut String, s: &str) {
    let start = out.len();
    out.push_str(s);
    out[start..].make_ascii_lowercase();
}

/// Trims and folds runs of white space (line folds included) to one space.
fn normalize_value(v: &str) -> Cow<'_, str> {
    // Most values hold no byte at or below a space at all.
    if !has_byte_at_or_below_space(v.as_bytes()) {
        return Cow::Borrowed(v);
    }
    // Otherwise a clean value has no white space but single spaces between words.
    let mut after_space = true;
    let mut clean = true;
    for &c in v.as_bytes() {
        if c == b' ' {
            clean &= !after_space;
            after_space = true;
        } else {
            clean &= !c.is_ascii_whitespace();
            after_space = false;
        }
    }
    if clean && (!after_space || v.is_empty()) {
        return Cow::Borrowed(v);
    }
    let mut out = String::with_capacity(v.len());
    for word in v.split_ascii_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    Cow::Owned(out)
}

/// Whether any byte is a space or a control character (`<= 0x20`), eight bytes at
/// a time: a word holds a byte below 0x21 exactly when subtracting 0x21 from every
/// byte borrows out of one that had its top bit clear.
fn has_byte_at_or_below_space(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x21; 8]);
    const TOPS: u64 = u64::from_ne_bytes([0x80; 8]);
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let x = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        if x.wrapping_sub(ONES) & !x & TOPS != 0 {
            return true;
        }
    }
    words.remainder().iter().any(|&c| c <= b' ')
}

fn canonical_path(path: &str, normalize: bool) -> Cow<'_, str> {
    let path = if path.is_empty() { "/" } else { path };
    if is_canonical_path(path, normalize) {
        return Cow::Borrowed(path);
    }
    Cow::Owned(rebuild_path(path, normalize))
}

/// The canonical form built segment by segment.
fn rebuild_path(path: &str, normalize: bool) -> String {
    if !normalize {
        return percent_encode(path, true);
    }
    let mut segments: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(path.len() + 1);
    for seg in &segments {
        out.push('/');
        out.push_str(&percent_encode(seg, false));
    }
    // A trailing slash stays (`/a/` is not `/a`); a trailing `.` or `..` segment
    // leaves none, as botocore and AWS normalize (`/a/.` is `/a`).
    if segments.is_empty() || path.ends_with('/') {
        out.push('/');
    }
    out
}

/// Whether `path` is already its own canonical form, as almost every API path is
/// (`/`, `/v2/name/manifests/tag`): only unreserved characters and `/` and, when
/// normalizing, rooted with no empty, `.` or `..` segment but a trailing one.
fn is_canonical_path(path: &str, normalize: bool) -> bool {
    let plain = path.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/'));
    if !plain || !normalize {
        return plain;
    }
    let Some(rest) = path.strip_prefix('/') else { return false };
    let mut segments = rest.split('/').peekable();
    while let Some(seg) = segments.next() {
        let last = segments.peek().is_none();
        if matches!(seg, "." | "..") || (seg.is_empty() && !last) {
            return false;
        }
    }
    true
}

fn canonical_query(query: &str, extra: &[(String, String)]) -> String {
    if query.is_empty() && extra.is_empty() {
        return String::new();
    }
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_encode(&percent_decode(k, false), false), percent_encode(&percent_decode(v, false), false))
        })
        .chain(extra.iter().map(|(k, v)| (percent_encode(k, false), percent_encode(v, false))))
        .collect();
    pairs.sort();
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(canonical_path("//example//", true), "/example/");
        assert_eq!(canonical_path("/example/..", true), "/");
        assert_eq!(canonical_path("/./", true), "/");
        assert_eq!(canonical_path("/a/b/../c/", true), "/a/c/");
        assert_eq!(canonical_path("/a/.", true), "/a");
        assert_eq!(canonical_path("/a/b/..", true), "/a");
        assert_eq!(canonical_path("/a%2Fb", true), "/a%252Fb");
        assert_eq!(canonical_path("//example//", false), "//example//");
        assert_eq!(canonical_path("", true), "/");
        assert_eq!(canonical_path("/v2/a-b_c~d.e/manifests/", true), "/v2/a-b_c~d.e/manifests/");
        assert_eq!(canonical_path("/a b", false), "/a%20b");
        // The shortcut is taken only where building the path gives it back unchanged.
        let paths = ["/", "/a", "/a/", "/a/b", "/.a/..b", "/a.", "a", "//", "/a//b", "/./a", "/a/..", "/%41", "/a:b"];
        for path in paths {
            for normalize in [true, false] {
                if is_canonical_path(path, normalize) {
                    assert_eq!(rebuild_path(path, normalize), path, "{path} {normalize}");
                }
            }
        }
        assert!(
            is_canonical_path("/a/b/", true) && !is_canonical_path("/a//b", true) && is_canonical_path("/a//b", false)
        );
    }

    #[test]
    fn spaces_and_controls_are_found_in_every_position() {
        for len in 0..20 {
            assert!(!has_byte_at_or_below_space(&vec![b'a'; len]));
            for at in 0..len {
                for c in [0u8, b'\t', b'\n', b'\r', b' '] {
                    let mut v = vec![0xffu8; len];
                    v[at] = c;
                    assert!(has_byte_at_or_below_space(&v), "{c} at {at} of {len}");
                }
                let mut v = vec![b'~'; len];
                v[at] = b'!';
                assert!(!has_byte_at_or_below_space(&v));
            }
        }
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
    }

    #[test]
    fn signed_headers_are_sign_headers_headers() {
        let signer = Signer::new();
        let request = HttpRequest::new("POST", "https://ecr.us-east-1.amazonaws.com/")
            .header("X-Amz-Target", "T")
            .body(b"{}".to_vec());
        let scope = Scope { region: "us-east-1", service: "ecr", time: Timestamp::from_unix(1_795_849_200) };
        for token in [None, Some(Secret::new("token"))] {
            let creds = AwsCredentials {
                access_key_id: "AKID".into(),
                secret_access_key: Secret::new("s"),
                session_token: token,
            };
            for settings in [
                SigningSettings::default(),
                SigningSettings { sign_session_token: false, payload_hash_header: true, ..Default::default() },
            ] {
                let full = signer.sign_headers(&request, &creds, scope, settings).unwrap().headers;
                // Twice: the second signing reuses (and, with a token, wiped) buffers.
                assert_eq!(signer.signed_headers(&request, &creds, scope, settings).unwrap(), full);
                assert_eq!(signer.signed_headers(&request, &creds, scope, settings).unwrap(), full);
            }
        }
    }

    #[test]
    fn cached_key_matches_fresh_key() {
        let signer = Signer::new();
        let key = |s: &Signer, secret| s.signing_mac(secret, "20150830", "us-east-1", "ecr").finalize().into_bytes();
        let a = key(&signer, "secret");
        let b = key(&signer, "secret");
        let c = key(&Signer::new(), "secret");
        let d = key(&signer, "other");
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_ne!(a, d);
    }
}
