//! The HTTP messages operations emit and consume. Plain data: whoever drives an
//! operation turns them into real traffic.

use std::fmt;

/// A request an operation wants sent. `url` is absolute (`https://host[:port]/path?query`);
/// headers are in the order they were added and sent as given (no `Host`: the
/// transport derives it from the URL, and the signer signs exactly that value).
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET`, `POST`, `PUT`, `DELETE`, `HEAD`, `PATCH`.
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Header names and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body (empty for none).
    pub body: Vec<u8>,
    /// How long the transport may wait for this request (instance metadata is asked
    /// with a short one, as the SDKs do, so a laptop does not hang); `None` is the
    /// transport's own.
    pub timeout: Option<std::time::Duration>,
}

/// The response to one [`HttpRequest`].
#[derive(Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Header names and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// Why a request got no response. Drivers hand this to
/// [`Operation::fail`](crate::Operation::fail); the operation decides whether to retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportError {
    /// Whether the failure was a timeout (reported as `timeout`, not `transport`).
    pub timed_out: bool,
    /// What went wrong, for the error message.
    pub message: String,
}

impl TransportError {
    /// A connection-level failure (refused, reset, DNS, TLS, policy of the host).
    pub fn other(message: impl Into<String>) -> TransportError {
        TransportError { timed_out: false, message: message.into() }
    }

    /// A timeout.
    pub fn timeout(message: impl Into<String>) -> TransportError {
        TransportError { timed_out: true, message: message.into() }
    }
}

fn find<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

impl HttpRequest {
    /// A request with no headers and no body.
    pub fn new(method: &str, url: impl Into<String>) -> HttpRequest {
        HttpRequest { method: method.to_owned(), url: url.into(), headers: Vec::new(), body: Vec::new(), timeout: None }
    }

    /// A `POST` of an `application/x-www-form-urlencoded` body from `pairs` (OAuth 2.0
    /// token endpoints).
    pub fn post_form(url: impl Into<String>, pairs: &[(&str, &str)]) -> HttpRequest {
        HttpRequest::new("POST", url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form_encode(pairs))
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> HttpRequest {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// Sets a timeout for this request alone.
    pub fn timeout(mut self, timeout: std::time::Duration) -> HttpRequest {
        self.timeout = Some(timeout);
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> HttpRequest {
        self.body = body.into();
        self
    }

    /// The first value of a header, by case-insensitive name.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        find(&self.headers, name)
    }
}

impl HttpResponse {
    /// A response with a status, no headers and a body.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> HttpResponse {
        HttpResponse { status, headers: Vec::new(), body: body.into() }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> HttpResponse {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// The first value of a header, by case-insensitive name.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        find(&self.headers, name)
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as text (lossy), for error messages and parsing.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

// Requests carry signatures and tokens in headers and bodies: print only the shape.
impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("header_names", &names)
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("header_names", &names)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// The parts of an absolute URL that signing and routing need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UrlParts<'a> {
    /// `http` or `https`.
    pub scheme: &'a str,
    /// `host` or `host:port`, as written.
    pub authority: &'a str,
    /// The path, `/` when the URL has none.
    pub path: &'a str,
    /// The query without `?` (empty when none).
    pub query: &'a str,
}

impl<'a> UrlParts<'a> {
    /// Splits an absolute URL; `None` when it is not `scheme://authority[/path][?query]`.
    pub fn parse(url: &'a str) -> Option<UrlParts<'a>> {
        // Byte searches: this runs for every request sent and signed.
        let colon = url.bytes().position(|b| b == b':')?;
        let (scheme, rest) = (&url[..colon], url[colon..].strip_prefix("://")?);
        let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
        let end = rest.bytes().position(|b| b == b'/' || b == b'?').unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        if authority.is_empty() {
            return None;
        }
        let (path, query) = match tail.split_once('?') {
            Some((p, q)) => (p, q),
            None => (tail, ""),
        };
        Some(UrlParts { scheme, authority, path: if path.is_empty() { "/" } else { path }, query })
    }

    /// The host name or address alone: no port, no IPv6 brackets. `None` when the
    /// authority carries user information (`user@host`): such a URL is refused
    /// wherever a host is checked, since what precedes `@` is easily mistaken for the
    /// host.
    pub fn host(&self) -> Option<&'a str> {
        if self.authority.contains('@') {
            return None;
        }
        if let Some(rest) = self.authority.strip_prefix('[') {
            return rest.split_once(']').map(|(h, _)| h);
        }
        Some(self.authority.rsplit_once(':').map_or(self.authority, |(h, _)| h))
    }

    /// Whether the host is a loopback address or `localhost`: a request to it never
    /// leaves the machine.
    pub fn is_loopback(&self) -> bool {
        match self.host() {
            Some(h) if h.eq_ignore_ascii_case("localhost") => true,
            Some(h) => h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback()),
            None => false,
        }
    }

    /// The host as a `Host` header carries it: the port only when it is not the
    /// scheme's default.
    pub fn host_header(&self) -> &'a str {
        match (self.scheme, self.authority.rsplit_once(':')) {
            ("https", Some((host, "443"))) | ("http", Some((host, "80"))) => host,
            _ => self.authority,
        }
    }
}

/// Percent-encodes every byte outside RFC 3986's unreserved set (`A-Z a-z 0-9 - . _ ~`),
/// and `/` too unless `keep_slash`.
pub fn percent_encode(input: &str, keep_slash: bool) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(input.len() + 8);
    for &b in input.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
    }
    out
}

/// Decodes `%XX` escapes (malformed escapes stay as written); `plus_as_space` for
/// form encoding.
pub fn percent_decode(input: &str, plus_as_space: bool) -> String {
    let b = input.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
        match b[i] {
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus_as_space => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `application/x-www-form-urlencoded` body from pairs (AWS query APIs).
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k, false), percent_encode(v, false)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_parts() {
        let u = UrlParts::parse("http://127.0.0.1:5000/a/b?x=1").unwrap();
        assert_eq!((u.scheme, u.authority, u.path, u.query), ("http", "127.0.0.1:5000", "/a/b", "x=1"));
        assert_eq!(u.host_header(), "127.0.0.1:5000");
        let u = UrlParts::parse("https://api.ecr.us-east-1.amazonaws.com:443").unwrap();
        assert_eq!((u.path, u.host_header()), ("/", "api.ecr.us-east-1.amazonaws.com"));
        assert!(UrlParts::parse("not a url").is_none());
    }

    #[test]
    fn percent_round_trip() {
        assert_eq!(percent_encode("a b/ሴ", false), "a%20b%2F%E1%88%B4");
        assert_eq!(percent_encode("a b/c", true), "a%20b/c");
        assert_eq!(percent_decode("a%20b%2F%E1%88%B4", false), "a b/ሴ");
        assert_eq!(percent_decode("a+b%", true), "a b%");
        assert_eq!(percent_decode("%zz%4", false), "%zz%4");
    }
}
