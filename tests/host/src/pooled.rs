//! A `wasi:http` sender that reuses connections, for wasmtime plugin hosts.
//!
//! `wasmtime-wasi-http`'s default sender opens a TCP connection (and a TLS session)
//! for every request a component sends, and builds its TLS configuration anew each
//! time. A component that makes many calls to one registry API pays a handshake for
//! each. [`PooledSender`] keeps idle HTTP/1.1 connections per scheme and authority
//! (hyper-util's pool; TLS by rustls with the webpki roots, as the default sender)
//! and hands them out again.
//!
//! It is a drop-in body for [`WasiHttpHooks::send_request`](wasmtime_wasi_http::WasiHttpHooks::send_request):
//!
//! ```no_run
//! use std::sync::Arc;
//! use artifact_registry_component_host::pooled::{PooledSender, SendFuture};
//! use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};
//!
//! struct Hooks {
//!     sender: Arc<PooledSender>, // one per host, shared by every store
//!     allowed: Vec<String>,      // `host:port` authorities the plugin may call
//! }
//!
//! impl WasiHttpHooks for Hooks {
//!     fn send_request(
//!         &mut self,
//!         request: http::Request<WasiBody>,
//!         options: Option<RequestOptions>,
//!         _fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
//!     ) -> SendFuture {
//!         let authority = request.uri().authority().map(|a| a.to_string()).unwrap_or_default();
//!         if !self.allowed.contains(&authority) {
//!             return Box::new(async { Err(Error::HttpRequestDenied) });
//!         }
//!         self.sender.clone().send(request, options)
//!     }
//! }
//! ```
//!
//! What stays as the default sender has it: the request options' timeouts (the
//! first-byte timeout runs from the send, so it covers a new connection too; the
//! between-bytes timeout per body frame), the error codes a component sees for a
//! refused or timed-out connection, and certificate checking against the webpki
//! roots. What differs: a connection comes back to the pool once its response body
//! is read to the end, and idle ones close after [`PooledSender::IDLE_TIMEOUT`].
//! Connections are kept per scheme and authority, so a request never travels on a
//! connection opened to another host.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

/// What `send_request` answers: the response, and a future that drives the
/// connection's remaining I/O.
pub type Answer =
    wasmtime_wasi_http::Result<(http::Response<WasiBody>, Box<dyn Future<Output = Result<(), Error>> + Send>)>;

/// The future a [`PooledSender`] answers with, as `send_request` returns it boxed.
pub type SendFuture = Box<dyn Future<Output = Answer> + Send>;

/// Sends `wasi:http` requests over pooled HTTP/1.1 connections. One per host
/// process (or per tenant), shared behind an `Arc` by every store.
pub struct PooledSender {
    client: Client<HttpsConnector<HttpConnector>, WasiBody>,
    connect_timeout: Duration,
}

impl std::fmt::Debug for PooledSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PooledSender").field("connect_timeout", &self.connect_timeout).finish_non_exhaustive()
    }
}

impl Default for PooledSender {
    fn default() -> Self {
        PooledSender::new()
    }
}

/// What the default sender waits for when the request options say nothing.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

impl PooledSender {
    /// How long an idle connection stays open.
    pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
    /// Idle connections kept per authority.
    pub const MAX_IDLE_PER_HOST: usize = 32;

    /// A sender with an empty pool and a 10 s connect timeout. A request waits for
    /// its first byte at most its `first-byte-timeout` plus the shorter of its
    /// `connect-timeout` and the sender's.
    pub fn new() -> PooledSender {
        PooledSender::with_connect_timeout(Duration::from_secs(10))
    }

    /// A sender whose new connections give up after `connect_timeout`.
    pub fn with_connect_timeout(connect_timeout: Duration) -> PooledSender {
        let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        PooledSender::with_roots(roots, connect_timeout)
    }

    /// A sender that trusts these roots instead of the webpki roots (a private
    /// registry's CA, a proxy's).
    pub fn with_roots(roots: rustls::RootCertStore, connect_timeout: Duration) -> PooledSender {
        // The provider is named, not taken from the process: a host linking a second
        // rustls provider would otherwise have no default, and fail at first use.
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("ring supports rustls' default protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut http = HttpConnector::new();
        // `https` URLs go through the TLS layer, which needs the plain connector to
        // accept them.
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(connect_timeout));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Self::IDLE_TIMEOUT)
            .pool_max_idle_per_host(Self::MAX_IDLE_PER_HOST)
            .build(connector);
        PooledSender { client, connect_timeout }
    }

    /// Sends `request` (an absolute URI, as `wasi:http` hands it over) and answers as
    /// [`WasiHttpHooks::send_request`](wasmtime_wasi_http::WasiHttpHooks::send_request)
    /// does. Call it on a Tokio runtime: connections are driven by tasks on it.
    pub fn send(self: Arc<Self>, request: http::Request<WasiBody>, options: Option<RequestOptions>) -> SendFuture {
        Box::new(async move {
            let options = options.unwrap_or_default();
            let first_byte = options.first_byte_timeout.unwrap_or(DEFAULT_TIMEOUT);
            let between_bytes = options.between_bytes_timeout.unwrap_or(DEFAULT_TIMEOUT).max(Duration::from_nanos(1));
            // A new connection may be part of the wait for the first byte; a request
            // asking for a shorter connect timeout than the pool's gets the shorter.
            let wait = match options.connect_timeout {
                Some(c) if c < self.connect_timeout => first_byte.saturating_add(c),
                _ => first_byte.saturating_add(self.connect_timeout),
            };
            let response = match tokio::time::timeout(wait, self.client.request(request)).await {
                Err(_) => return Err(Error::ConnectionReadTimeout),
                Ok(Err(e)) => return Err(client_error(&e)),
                Ok(Ok(response)) => response,
            };
            let response = response.map(|incoming| {
                let mut timer = tokio::time::interval(between_bytes);
                timer.reset();
                TimedBody { incoming, timer }.boxed_unsync()
            });
            // The pool's own tasks drive the connection: nothing is left to await.
            let io: Box<dyn Future<Output = Result<(), Error>> + Send> = Box::new(async { Ok(()) });
            Ok((response, io))
        })
    }
}

/// The `wasi:http` error for a failed request: refused and timed-out connections
/// keep their codes (a component retries on them), a certificate that does not
/// verify is a TLS certificate error, the rest say what failed.
fn client_error(e: &hyper_util::client::legacy::Error) -> Error {
    if let Some(tls) = find_in_chain::<rustls::Error>(e) {
        return match tls {
            rustls::Error::InvalidCertificate(_) => Error::TlsCertificateError,
            _ => Error::TlsProtocolError,
        };
    }
    if let Some(io) = find_in_chain::<std::io::Error>(e) {
        return match io.kind() {
            std::io::ErrorKind::ConnectionRefused => Error::ConnectionRefused,
            std::io::ErrorKind::TimedOut => Error::ConnectionTimeout,
            kind if e.is_connect() => Error::Connect(std::io::Error::new(kind, io.to_string())),
            _ => Error::ConnectionTerminated,
        };
    }
    if let Some(h) = find_in_chain::<hyper::Error>(e) {
        return if h.is_timeout() { Error::HttpResponseTimeout } else { Error::HttpProtocolError };
    }
    if e.is_connect() {
        // hyper-util's own connect timeout carries no io::Error.
        return Error::ConnectionTimeout;
    }
    Error::InternalError(Some(e.to_string()))
}

/// The first `T` in an error's chain, looking inside `io::Error`s too (whose
/// `source` skips the error they wrap).
fn find_in_chain<'e, T: std::error::Error + 'static>(e: &'e (dyn std::error::Error + 'static)) -> Option<&'e T> {
    if let Some(found) = e.downcast_ref::<T>() {
        return Some(found);
    }
    if let Some(inner) = e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref())
        && let Some(found) = find_in_chain::<T>(inner)
    {
        return Some(found);
    }
    e.source().and_then(find_in_chain::<T>)
}

/// A response body that fails when no frame arrives within the between-bytes timeout.
struct TimedBody {
    incoming: hyper::body::Incoming,
    timer: tokio::time::Interval,
}

impl http_body::Body for TimedBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Error>>> {
        match Pin::new(&mut self.incoming).poll_frame(cx) {
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Ready(Some(Err(e))) => {
                Poll::Ready(Some(Err(if e.is_timeout() { Error::HttpResponseTimeout } else { Error::from(e) })))
            }
            Poll::Ready(Some(Ok(frame))) => {
                self.timer.reset();
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Pending => {
                ready!(self.timer.poll_tick(cx));
                Poll::Ready(Some(Err(Error::ConnectionReadTimeout)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.incoming.size_hint()
    }
}
