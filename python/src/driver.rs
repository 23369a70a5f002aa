//! Drives the core's operations for Python: on the calling thread for the blocking
//! client (the GIL released while waiting), as a tokio future for the asyncio one.
//! Requests go to reqwest, or to the user's `transport=` callable.

use std::time::Duration;

use artifact_registry_core::Clock as _;
use artifact_registry_core::{
    Client, HttpRequest, HttpResponse, Operation, Step, Timestamp, Transport as _, TransportError,
};
use artifact_registry_native::{ReqwestTransport, SystemClock};
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

impl Backend {
    fn now(&self, py: Python<'_>) -> PyResult<Timestamp> {
        match &self.clock {
            Some(clock) => convert::timestamp(&clock.call0(py)?.into_bound(py)),
            None => Ok(SystemClock.now()),
        }
    }

    /// Runs an operation to its end on this thread.
    pub fn run_sync<T: Send + 'static>(&self, py: Python<'_>, mut op: Operation<T>) -> PyResult<T> {
        loop {
            let now = self.now(py)?;
            match op.step(now) {
                Step::Send(request) => {
                    let answer = match &self.transport {
                        Transport::Native(_) => {
                            py.detach(|| BLOCKING.with(|(runtime, t)| runtime.block_on(t.send(request))))
                        }
                        Transport::Python(f) => call_sync(py, f, &request),
                    };
                    match answer {
                        Ok(response) => op.receive(response),
                        Err(e) => op.fail(e),
                    }
                }
                Step::Sleep(d) => py.detach(|| std::thread::sleep(d)),
                Step::Ask(q) => op.answer(py.detach(|| artifact_registry_native::answer(&q))),
                Step::Done(result) => return result.map_err(|e| convert::error(py, e)),
            }
        }
    }

    /// Runs an operation to its end as a future. The GIL is taken only to call a
    /// Python clock or transport; errors stay core errors until they are delivered.
    pub async fn run_async<T: Send + 'static>(&self, mut op: Operation<T>) -> Result<T, artifact_registry_core::Error> {
        loop {
            let now = match &self.clock {
                Some(_) => Python::attach(|py| self.now(py))
                    .map_err(|e| artifact_registry_core::Error::invalid_input(format!("clock() failed: {e}")))?,
                None => SystemClock.now(),
            };
            match op.step(now) {
                Step::Send(request) => {
                    let answer = match &self.transport {
                        Transport::Native(t) => t.send(request).await,
                        Transport::Python(f) => call_async(f, &request).await,
                    };
                    match answer {
                        Ok(response) => op.receive(response),
                        Err(e) => op.fail(e),
                    }
                }
                Step::Sleep(d) => tokio::time::sleep(d).await,
                Step::Ask(q) => op.answer(artifact_registry_native::answer(&q)),
                Step::Done(result) => return result,
            }
        }
    }
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

/// The default per-request timeout of the native transport.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
