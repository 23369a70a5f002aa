//! The core's requests over `wasi:http/outgoing-handler`, blocking on pollables.

use artifact_registry_core::http::UrlParts;
use artifact_registry_core::{HttpRequest, HttpResponse, TransportError};
use wasip2::clocks::monotonic_clock;
use wasip2::http::outgoing_handler;
use wasip2::http::types::{ErrorCode, Fields, Method, OutgoingBody, OutgoingRequest, RequestOptions, Scheme};
use wasip2::io::poll::{self, Pollable};
use wasip2::io::streams::StreamError;

/// Per-request timeouts (connect, first byte, between bytes), in nanoseconds.
const TIMEOUT_NS: u64 = 30_000_000_000;

/// Sends one request and reads the whole response.
pub fn send(request: HttpRequest) -> Result<HttpResponse, TransportError> {
    let url = UrlParts::parse(&request.url)
        .ok_or_else(|| TransportError::other(format!("cannot send to {:?}: not an absolute URL", request.url)))?;
    let mut entries: Vec<(String, Vec<u8>)> =
        request.headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.as_bytes().to_vec())).collect();
    // The body's length up front, as native clients send it: without it the host
    // sends the body chunked, which some servers do not read.
    let sends_body = !request.body.is_empty() || matches!(request.method.as_str(), "POST" | "PUT" | "PATCH");
    if sends_body && !entries.iter().any(|(k, _)| k == "content-length") {
        entries.push(("content-length".to_owned(), request.body.len().to_string().into_bytes()));
    }
    let headers = Fields::from_list(&entries)
        .map_err(|e| TransportError::other(format!("the host refused a request header: {e:?}")))?;
    let outgoing = OutgoingRequest::new(headers);
    let method = match request.method.as_str() {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        "PATCH" => Method::Patch,
        "OPTIONS" => Method::Options,
        other => Method::Other(other.to_owned()),
    };
    let scheme = match url.scheme {
        "https" => Scheme::Https,
        "http" => Scheme::Http,
        other => Scheme::Other(other.to_owned()),
    };
    let path = if url.query.is_empty() { url.path.to_owned() } else { format!("{}?{}", url.path, url.query) };
    let invalid = |what: &str| TransportError::other(format!("the host refused the request's {what}"));
    outgoing.set_method(&method).map_err(|_| invalid("method"))?;
    outgoing.set_scheme(Some(&scheme)).map_err(|_| invalid("scheme"))?;
    outgoing.set_authority(Some(url.authority)).map_err(|_| invalid("authority"))?;
    outgoing.set_path_with_query(Some(&path)).map_err(|_| invalid("path"))?;

    let options = RequestOptions::new();
    // Hosts may not support setting timeouts; their defaults then apply.
    let timeout = request.timeout.map_or(TIMEOUT_NS, |t| t.as_nanos().min(u64::MAX as u128) as u64);
    let _ = options.set_connect_timeout(Some(timeout));
    let _ = options.set_first_byte_timeout(Some(timeout));
    let _ = options.set_between_bytes_timeout(Some(timeout));

    let body = outgoing.body().map_err(|_| TransportError::other("the request body was already taken"))?;
    let pending = outgoing_handler::handle(outgoing, Some(options)).map_err(transport_error)?;
    if !request.body.is_empty() {
        write_body(&body, &request.body)?;
    }
    OutgoingBody::finish(body, None).map_err(transport_error)?;

    // The whole exchange, body included, within the request's timeout: the host's
    // timeouts above bound each wait, not the sum of them (a body that trickles).
    let deadline = monotonic_clock::subscribe_instant(monotonic_clock::now().saturating_add(timeout));
    wait(&pending.subscribe(), &deadline)?;
    let response = match pending.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(code))) => return Err(transport_error(code)),
        Some(Err(())) | None => return Err(TransportError::other("the host lost the response")),
    };
    let status = response.status();
    let headers: Vec<(String, String)> =
        response.headers().entries().into_iter().map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned())).collect();
    let incoming = response.consume().map_err(|_| TransportError::other("the response body was already taken"))?;
    let stream = incoming.stream().map_err(|_| TransportError::other("the response body stream was already taken"))?;
    // With a Content-Length, stop as soon as it has arrived instead of waiting once
    // more for the end of the stream.
    // A HEAD answer, a 204 and a 304 have no body, whatever Content-Length says.
    let bodiless = request.method == "HEAD" || status == 204 || status == 304;
    let expected = if bodiless {
        Some(0)
    } else {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse::<usize>().ok())
    };
    let mut body = Vec::with_capacity(expected.unwrap_or(0));
    let mut readable: Option<Pollable> = None;
    while expected.is_none_or(|n| body.len() < n) {
        // Read first and wait only when nothing had arrived: a body that is
        // already there (most answers are one small frame) costs no poll.
        match stream.read(64 * 1024) {
            Ok(chunk) if chunk.is_empty() => wait(readable.get_or_insert_with(|| stream.subscribe()), &deadline)?,
            Ok(chunk) => body.extend_from_slice(&chunk),
            Err(StreamError::Closed) => match expected {
                Some(n) => {
                    return Err(TransportError::other(format!(
                        "the response body ended after {} of its {n} bytes",
                        body.len()
                    )));
                }
                None => break,
            },
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(TransportError::other(format!("reading the response failed: {}", e.to_debug_string())));
            }
        }
    }
    drop(readable);
    drop(stream);
    drop(incoming);
    Ok(HttpResponse { status, headers, body })
}

/// Blocks until `ready` is, or fails with a timeout once `deadline` (a clock
/// pollable, made once per request) is.
fn wait(ready: &Pollable, deadline: &Pollable) -> Result<(), TransportError> {
    let woken = poll::poll(&[ready, deadline]);
    if woken.contains(&0) {
        Ok(())
    } else {
        Err(TransportError::timeout("no complete response within the request timeout"))
    }
}

fn write_body(body: &OutgoingBody, bytes: &[u8]) -> Result<(), TransportError> {
    let stream = body.write().map_err(|_| TransportError::other("the request body stream was already taken"))?;
    for chunk in bytes.chunks(4096) {
        stream
            .blocking_write_and_flush(chunk)
            .map_err(|e| TransportError::other(format!("writing the request body failed: {e:?}")))?;
    }
    Ok(())
}

fn transport_error(code: ErrorCode) -> TransportError {
    let message = format!("wasi:http: {code:?}");
    match code {
        ErrorCode::ConnectionTimeout | ErrorCode::ConnectionReadTimeout | ErrorCode::ConnectionWriteTimeout => {
            TransportError::timeout(message)
        }
        _ => TransportError::other(message),
    }
}
