//! `--trace`: one JSON line per HTTP exchange on stderr, so a user sees exactly what
//! an operation did: method, URL, status (or the transport error), duration, and
//! the names of the headers sent and received. Never a header value or a body, and
//! query values that could carry a credential (signatures, tokens) are redacted.

use std::time::{Duration, Instant};

use artifact_registry_core::{HttpRequest, HttpResponse, Transport, TransportError};
use async_trait::async_trait;
use serde_json::json;

/// Wraps a transport and traces every exchange to stderr.
pub struct Tracing<T>(pub T);

/// Query parameters whose values are secrets (presigned URLs, token requests).
fn sensitive(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["sig", "token", "credential", "secret", "password", "key", "assertion", "code"].iter().any(|s| key.contains(s))
}

/// The URL with sensitive query values replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else { return url.to_owned() };
    let query: Vec<String> = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if sensitive(k) => format!("{k}=***"),
            _ => kv.to_owned(),
        })
        .collect();
    format!("{base}?{}", query.join("&"))
}

#[async_trait]
impl<T: Transport> Transport for Tracing<T> {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let (method, url) = (request.method.clone(), redact_url(&request.url));
        let sent: Vec<String> = request.headers.iter().map(|(k, _)| k.clone()).collect();
        let started = Instant::now();
        let result = self.0.send(request).await;
        let ms = (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0;
        let line = match &result {
            Ok(r) => json!({
                "method": method, "url": url, "status": r.status, "durationMs": ms,
                "requestHeaders": sent, "responseHeaders": r.headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            }),
            Err(e) => json!({
                "method": method, "url": url, "error": if e.timed_out { "timeout" } else { "transport" },
                "durationMs": ms, "requestHeaders": sent,
            }),
        };
        eprintln!("{line}");
        result
    }

    async fn sleep(&self, duration: Duration) {
        eprintln!("{}", json!({ "sleepMs": duration.as_millis() }));
        self.0.sleep(duration).await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sensitive_query_values_are_redacted() {
        assert_eq!(
            super::redact_url("https://s3/x?X-Amz-Signature=abc&X-Amz-Credential=AKID&part=1"),
            "https://s3/x?X-Amz-Signature=***&X-Amz-Credential=***&part=1"
        );
        assert_eq!(
            super::redact_url("http://r/token?service=r&scope=repository:a:pull"),
            "http://r/token?service=r&scope=repository:a:pull"
        );
    }
}
