//! Drives the core's operations for Python with the core's one step loop
//! ([`artifact_registry_core::drive`]): on the calling thread for the blocking client
//! (the GIL released while waiting, Ctrl-C honoured), as a tokio future for the
//! asyncio one. Requests go to reqwest, or to the user's `transport=` callable.
//!
//! What stopping means: the blocking client stops at once on a signal (Ctrl-C); the
//! operation is abandoned where it was, and a request already sent may have been
//! applied. Cancelling an asyncio awaitable does not stop the operation: it runs on
//! to its end (within its deadline) and its result is dropped, so a multi-step
//! write is never left half-applied by a cancellation.

use std::sync::Mutex;
use std::time::Duration;

use artifact_registry_core::{
    Client, Clock, HostAnswer, HostQuery, HttpRequest, HttpResponse, Operation, Timestamp, TransportError,
};
use artifact_registry_native::{ReqwestTransport, SystemClock};
use async_trait::async_trait;
use pyo3::prelude::*;

use crate::convert;

/// Where requests go.
pub enum Transport {
    /// reqwest on the shared tokio runtime.
    Native(ReqwestTransport),
    /// The user's callable: `transport(request: dict) -> response` (or an awaitable
    /// of one, for the asyncio client).
    Python(Py<PyAny>),
}

/// One binding: the core client, a transport, a clock.
pub struct Backend {
    pub client: Client,
    pub transport: Transport,
    pub clock: Option<Py<PyAny>>,
}

thread_local! {
    /// The blocking client's I/O: a current-thread runtime and connection pool per
    /// Python thread, so a call drives its own sockets instead of waiting for a
    /// runtime thread to wake it (two thread hops per request).
    static BLOCKING: (tokio::runtime::Runtime, ReqwestTransport) = (
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime starts"),
        ReqwestTransport::new(DEFAULT_TIMEOUT).expect("a reqwest client builds"),
    );
}

/// How often the blocking client looks for a pending signal while it waits.
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

/// The transport and clock one run of an operation is driven with.
struct Host<'a> {
    backend: &'a Backend,
    /// The connection pool of a blocking run (its thread's own); `None` when async.
    blocking: Option<&'a ReqwestTransport>,
    /// The first exception the user's clock raised: the run ends with it.
    clock_error: Mutex<Option<PyErr>>,
    /// Makes the first send panic: the test hook of panic containment.
    panic_on_send: bool,
}

impl<'a> Host<'a> {
    fn new(backend: &'a Backend, blocking: Option<&'a ReqwestTransport>, panic_on_send: bool) -> Host<'a> {
        Host { backend, blocking, clock_error: Mutex::new(None), panic_on_send }
    }

    /// The run's result, or the clock's exception if it raised one.
    fn finish<T>(&self, result: artifact_registry_core::Result<T>) -> Result<T, Failure> {
        if let Some(e) = self.clock_error.lock().unwrap_or_else(|p| p.into_inner()).take() {
            return Err(Failure::Python(e));
        }
        result.map_err(Failure::Core)
    }
}

#[async_trait]
impl artifact_registry_core::Transport for Host<'_> {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        if self.panic_on_send {
            panic!("panic_on_send");
        }
        match (&self.backend.transport, self.blocking) {
            (Transport::Native(_), Some(own)) => own.send(request).await,
            (Transport::Native(shared), None) => shared.send(request).await,
            (Transport::Python(f), Some(_)) => Python::attach(|py| call_sync(py, f, &request)),
            (Transport::Python(f), None) => call_async(f, &request).await,
        }
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }

    fn ask(&self, query: &HostQuery) -> HostAnswer {
        artifact_registry_native::answer(query)
    }
}

impl Clock for Host<'_> {
    fn now(&self) -> Timestamp {
        let Some(clock) = &self.backend.clock else { return SystemClock.now() };
        match Python::attach(|py| clock.call0(py).and_then(|t| convert::timestamp(t.bind(py)))) {
            Ok(t) => t,
            Err(e) => {
                self.clock_error.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(e);
                SystemClock.now()
            }
        }
    }

    fn monotonic(&self) -> Duration {
        // Deadlines are real time even under a user clock (which may stand still).
        artifact_registry_native::monotonic()
    }
}

/// Why a run failed: the core's error, or a Python exception (the clock's, Ctrl-C).
pub enum Failure {
    Core(artifact_registry_core::Error),
    Python(PyErr),
}

impl Failure {
    pub fn into_pyerr(self, py: Python<'_>) -> PyErr {
        match self {
            Failure::Core(e) => convert::error(py, e),
            Failure::Python(e) => e,
        }
    }
}

/// Resolves once a signal handler raised (Ctrl-C): checked every [`SIGNAL_CHECK`].
async fn interrupted() -> PyErr {
    loop {
        tokio::time::sleep(SIGNAL_CHECK).await;
        if let Err(e) = Python::attach(|py| py.check_signals()) {
            return e;
        }
    }
}

impl Backend {
    /// Runs an operation to its end on this thread.
    pub fn run_sync<T: Send + 'static>(&self, py: Python<'_>, op: Operation<T>) -> PyResult<T> {
        self.run_sync_with(py, op, false)
    }

    fn run_sync_with<T: Send + 'static>(&self, py: Python<'_>, op: Operation<T>, panic_on_send: bool) -> PyResult<T> {
        let outcome = py.detach(|| {
            BLOCKING.with(|(runtime, own)| {
                let host = Host::new(self, Some(own), panic_on_send);
                let run = async {
                    tokio::select! {
                        result = artifact_registry_native::contained(artifact_registry_core::drive(op, &host, &host)) => host.finish(result),
                        e = interrupted() => Err(Failure::Python(e)),
                    }
                };
                runtime.block_on(run)
            })
        });
        outcome.map_err(|f| f.into_pyerr(py))
    }

    /// Runs an operation to its end as a future. The GIL is taken only to call a
    /// Python clock or transport; errors stay Rust values until they are delivered.
    pub async fn run_async_with<T: Send + 'static>(&self, op: Operation<T>, panic_on_send: bool) -> Result<T, Failure> {
        let host = Host::new(self, None, panic_on_send);
        let result = artifact_registry_native::contained(artifact_registry_core::drive(op, &host, &host)).await;
        host.finish(result)
    }

    /// Runs `op` as a blocking run whose first send panics (the test hook behind
    /// `_panic_probe`).
    pub fn run_sync_panicking<T: Send + 'static>(&self, py: Python<'_>, op: Operation<T>) -> PyResult<T> {
        self.run_sync_with(py, op, true)
    }
}

fn failed(what: &str, e: PyErr) -> TransportError {
    TransportError::other(format!("{what}: {e}"))
}

/// A transport's exception: `TimeoutError` (or asyncio's) is a timeout, anything else
/// a transport failure.
fn raised(py: Python<'_>, e: PyErr) -> TransportError {
    let asyncio_timeout = py.import("asyncio").and_then(|m| m.getattr("TimeoutError")).ok();
    let timed_out = e.is_instance_of::<pyo3::exceptions::PyTimeoutError>(py)
        || asyncio_timeout.is_some_and(|t| e.get_type(py).is_subclass(&t).unwrap_or(false));
    let message = format!("the transport raised {e}");
    if timed_out { TransportError::timeout(message) } else { TransportError::other(message) }
}

fn call_sync(py: Python<'_>, f: &Py<PyAny>, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
    let dict = convert::request_dict(py, request).map_err(|e| failed("cannot build the request dict", e))?;
    let answer = f.call1(py, (dict,)).map_err(|e| raised(py, e))?.into_bound(py);
    if answer.hasattr("__await__").unwrap_or(false) {
        return Err(TransportError::other(
            "the transport returned an awaitable: use AsyncArtifactRegistry for async transports",
        ));
    }
    convert::response(&answer).map_err(|e| failed("the transport's answer is not a response", e))
}

async fn call_async(f: &Py<PyAny>, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
    // Call the transport; if it answered with an awaitable, await it on the event loop.
    let called = Python::attach(|py| -> Result<Result<HttpResponse, _>, TransportError> {
        let dict = convert::request_dict(py, request).map_err(|e| failed("cannot build the request dict", e))?;
        let answer = f.call1(py, (dict,)).map_err(|e| raised(py, e))?.into_bound(py);
        if answer.hasattr("__await__").unwrap_or(false) {
            let future =
                pyo3_async_runtimes::tokio::into_future(answer).map_err(|e| failed("cannot await the transport", e))?;
            Ok(Err(future))
        } else {
            Ok(Ok(convert::response(&answer).map_err(|e| failed("the transport's answer is not a response", e))?))
        }
    })?;
    match called {
        Ok(response) => Ok(response),
        Err(future) => {
            let answer = match future.await {
                Ok(answer) => answer,
                Err(e) => return Err(Python::attach(|py| raised(py, e))),
            };
            Python::attach(|py| {
                convert::response(answer.bind(py)).map_err(|e| failed("the transport's answer is not a response", e))
            })
        }
    }
}

/// The default per-request timeout of the native transport; the configuration's
/// `timeouts.requestSeconds` sets each request's own.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
