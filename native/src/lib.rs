//! A native transport (reqwest on tokio) and the system clock for the
//! artifact-registry core: what the Rust, Python and Node surfaces drive it with.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use artifact_registry_core::{
    Client, Clock, HostAnswer, HostQuery, HttpRequest, HttpResponse, Registry, Timestamp, Transport, TransportError,
};
use async_trait::async_trait;

/// Sends requests with reqwest; waits with tokio's timer.
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
}

impl ReqwestTransport {
    /// A transport with a per-request timeout (connect included).
    pub fn new(timeout: Duration) -> Result<ReqwestTransport, TransportError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| TransportError::other(format!("cannot build the HTTP client: {e}")))?;
        Ok(ReqwestTransport { client })
    }
}

impl Default for ReqwestTransport {
    fn default() -> Self {
        ReqwestTransport::new(Duration::from_secs(30)).expect("a default reqwest client builds")
    }
}

#[async_trait]
impl Transport for ReqwestTransport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| TransportError::other(format!("invalid HTTP method {:?}", request.method)))?;
        let mut builder = self.client.request(method, &request.url);
        if let Some(timeout) = request.timeout {
            builder = builder.timeout(timeout);
        }
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let response = builder.body(request.body).send().await.map_err(classify)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let body = response.bytes().await.map_err(classify)?.to_vec();
        Ok(HttpResponse { status, headers, body })
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }

    fn ask(&self, query: &HostQuery) -> HostAnswer {
        answer(query)
    }
}

/// Answers a host query from this process: its environment, its files, its commands.
pub fn answer(query: &HostQuery) -> HostAnswer {
    match query {
        HostQuery::Env(name) => match std::env::var(name) {
            Ok(v) => HostAnswer::Value(v),
            Err(std::env::VarError::NotPresent) => HostAnswer::Missing,
            Err(e) => HostAnswer::Refused(format!("{name} is not Unicode: {e}")),
        },
        HostQuery::File(path) => read_file(path, |p| std::fs::read_to_string(p), HostAnswer::Value),
        HostQuery::FileBytes(path) => read_file(path, |p| std::fs::read(p), HostAnswer::Bytes),
        HostQuery::Command { program, args } => match std::process::Command::new(program)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .output()
        {
            Ok(out) if out.status.success() => match String::from_utf8(out.stdout) {
                Ok(text) => HostAnswer::Value(text),
                Err(_) => HostAnswer::Refused(format!("{program} printed something that is not UTF-8")),
            },
            Ok(out) => HostAnswer::Refused(format!("{program} exited with {}", out.status)),
            Err(e) => HostAnswer::Refused(format!("cannot run {program}: {e}")),
        },
    }
}

/// A file's contents (`~/` is the user's home), as `wrap` makes an answer of them; a
/// file that is not there (or no home) is `Missing`.
fn read_file<T>(path: &str, read: fn(&std::path::Path) -> std::io::Result<T>, wrap: fn(T) -> HostAnswer) -> HostAnswer {
    let full = match path.strip_prefix("~/") {
        Some(rest) => match std::env::var_os("HOME") {
            Some(home) => std::path::PathBuf::from(home).join(rest),
            None => return HostAnswer::Missing,
        },
        None => std::path::PathBuf::from(path),
    };
    match read(&full) {
        Ok(contents) => wrap(contents),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => HostAnswer::Missing,
        Err(e) => HostAnswer::Refused(format!("cannot read {}: {e}", full.display())),
    }
}

fn classify(e: reqwest::Error) -> TransportError {
    // reqwest's Display names the URL, never headers or bodies.
    let message = match std::error::Error::source(&e) {
        Some(source) => format!("{e}: {source}"),
        None => e.to_string(),
    };
    if e.is_timeout() { TransportError::timeout(message) } else { TransportError::other(message) }
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        Timestamp::from_unix(d.as_secs() as i64).plus(Duration::from_nanos(d.subsec_nanos() as u64))
    }

    fn monotonic(&self) -> Duration {
        monotonic()
    }
}

/// This process's monotonic clock, from its first reading.
pub fn monotonic() -> Duration {
    static ORIGIN: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    ORIGIN.get_or_init(std::time::Instant::now).elapsed()
}

/// A seed for retry jitter from the clock and the process id, so that clients
/// started together do not back off in lockstep.
pub fn jitter_seed() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos() as u64
        ^ (std::process::id() as u64) << 32
}

/// The tokio runtime that Python's asyncio client and Node run their requests on:
/// one worker thread, unless `TOKIO_WORKER_THREADS` asks for more.
///
/// Why one: the work on it is waiting on sockets, plus microseconds of signing and
/// parsing per request, which one thread keeps up with (1,000 requests in flight
/// included). More workers hand each connection's buffers between threads, and
/// glibc gives every thread its own heap: under 1,000 concurrent calls a round, ten
/// rounds grew RSS by 7-8 MB (Python) and 9-12 MB (Node) with two workers, by 3 and
/// 5-6 MB with one. With one, RSS stops growing once warm: rounds 100 to 300 add
/// under 2 MB (`python/tests/test_load.py`, `node/test/load.test.js`,
/// `tests/tests/native_load.rs`). A library embedded in someone else's process
/// should also not start a thread per core.
pub fn io_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        builder.worker_threads(1);
    }
    builder.thread_name("artifact-registry-io").enable_all().build()
}

/// Runs `future`, turning a panic inside it into a `provider` error, so that a bug
/// reaches the caller as an error (a Python exception, a rejected Promise) instead of
/// killing the task that was to deliver the result.
pub async fn contained<T>(
    future: impl std::future::Future<Output = artifact_registry_core::Result<T>>,
) -> artifact_registry_core::Result<T> {
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(move |cx| {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(poll) => poll,
            Err(_) => std::task::Poll::Ready(Err(panic_error())),
        }
    })
    .await
}

/// The error a caught panic becomes. Its message does not quote the panic's,
/// which may hold a piece of the data being parsed (a token, say).
pub fn panic_error() -> artifact_registry_core::Error {
    artifact_registry_core::Error::provider("internal error: the binding panicked; please report it")
}

/// For command-line programs: a panic ends the process with one line on stderr and
/// exit status 70 (`EX_SOFTWARE`), not a backtrace; with `RUST_BACKTRACE` set, the
/// default report is printed first. The panic's own message is not printed: it may
/// quote the data being parsed.
pub fn exit_on_panic(program: &'static str) {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::env::var_os("RUST_BACKTRACE").is_some() {
            default(info);
        }
        eprintln!("{program}: internal error: the program panicked; please report it (RUST_BACKTRACE=1 shows where)");
        std::process::exit(70);
    }));
}

/// A registry driven by reqwest and the system clock.
pub type NativeRegistry = Registry<ReqwestTransport, SystemClock>;

/// A registry over reqwest and the system clock, from the configuration JSON text.
/// Retry jitter is seeded from the clock.
pub fn connect(config_json: &str) -> artifact_registry_core::Result<NativeRegistry> {
    Ok(Registry::new(client(config_json)?, ReqwestTransport::default(), SystemClock))
}

/// A client from the configuration JSON text, completed from this process's
/// environment as the cloud SDKs would (an AWS region from `AWS_REGION` and friends),
/// with retry jitter seeded from the clock.
pub fn client(config_json: &str) -> artifact_registry_core::Result<Client> {
    let text = artifact_registry_core::config::complete_from_environment(config_json, &mut answer)?;
    Ok(Client::from_json_str(&text)?.with_jitter_seed(jitter_seed()))
}
