//! Completes asyncio futures from tokio without tokio threads taking the GIL.
//!
//! Finished operations go onto a queue, and the first one after a drain writes a
//! byte to a socketpair; the event loop, which watches the other end with
//! `loop.add_reader` while any future is pending, drains the queue in its own thread
//! (holding the GIL anyway) and resolves the futures. The reader is removed when
//! none is left, so an idle bridge holds nothing of the loop's and the loop nothing
//! of the bridge's: dropping the client closes the socketpair. One wake-up serves every completion that arrived
//! meanwhile. (Taking the GIL from a runtime thread per completion, as a generic
//! bridge must, made each call cost tens of microseconds under load.)

use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;

/// Turns a finished operation into the future's result (run with the GIL held).
pub type Deliver = Box<dyn FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send>;

/// One event loop's completion queue.
pub struct Bridge {
    event_loop: Py<PyAny>,
    /// The pending futures; the reader is registered exactly while there are any.
    futures: Mutex<HashMap<u64, Py<PyAny>>>,
    done: Mutex<Vec<(u64, Deliver)>>,
    signalled: AtomicBool,
    next_id: AtomicU64,
    writer: UnixStream,
    reader: UnixStream,
}

/// The callable `loop.add_reader` runs.
#[pyclass(frozen)]
struct Drain {
    bridge: Arc<Bridge>,
}

#[pymethods]
impl Drain {
    fn __call__(&self, py: Python<'_>) -> PyResult<()> {
        self.bridge.drain(py)
    }
}

impl Bridge {
    /// A bridge for the running event loop.
    pub fn new(event_loop: Bound<'_, PyAny>) -> PyResult<Arc<Bridge>> {
        let (writer, reader) = UnixStream::pair()?;
        writer.set_nonblocking(true)?;
        reader.set_nonblocking(true)?;
        let bridge = Arc::new(Bridge {
            event_loop: event_loop.clone().unbind(),
            futures: Mutex::new(HashMap::new()),
            done: Mutex::new(Vec::new()),
            signalled: AtomicBool::new(false),
            next_id: AtomicU64::new(0),
            writer,
            reader,
        });
        Ok(bridge)
    }

    /// Whether this bridge serves `event_loop`.
    pub fn serves(&self, event_loop: &Bound<'_, PyAny>) -> bool {
        self.event_loop.bind(event_loop.py()).is(event_loop)
    }

    /// A new future on the loop, and the id to complete it with (on the loop's
    /// thread).
    pub fn future<'py>(self: &Arc<Self>, py: Python<'py>) -> PyResult<(u64, Bound<'py, PyAny>)> {
        let event_loop = self.event_loop.bind(py);
        let future = event_loop.call_method0("create_future")?;
        if self.futures.lock().unwrap_or_else(|p| p.into_inner()).is_empty() {
            let drain = Py::new(py, Drain { bridge: self.clone() })?;
            event_loop.call_method1("add_reader", (self.reader.as_raw_fd(), drain))?;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.futures.lock().unwrap_or_else(|p| p.into_inner()).insert(id, future.clone().unbind());
        Ok((id, future))
    }

    /// Queues a result (from any thread, without the GIL).
    pub fn complete(&self, id: u64, deliver: Deliver) {
        self.done.lock().unwrap_or_else(|p| p.into_inner()).push((id, deliver));
        if !self.signalled.swap(true, Ordering::AcqRel) {
            // A full socket buffer means a wake-up is pending already.
            let _ = (&self.writer).write(&[1]);
        }
    }

    fn drain(&self, py: Python<'_>) -> PyResult<()> {
        let mut sink = [0u8; 64];
        while matches!((&self.reader).read(&mut sink), Ok(n) if n > 0) {}
        self.signalled.store(false, Ordering::Release);
        let done = std::mem::take(&mut *self.done.lock().unwrap_or_else(|p| p.into_inner()));
        for (id, deliver) in done {
            let Some(future) = self.futures.lock().unwrap_or_else(|p| p.into_inner()).remove(&id) else { continue };
            let future = future.bind(py);
            if future.call_method0("cancelled")?.is_truthy()? {
                continue;
            }
            match deliver(py) {
                Ok(value) => future.call_method1("set_result", (value,))?,
                Err(e) => future.call_method1("set_exception", (e.into_value(py),))?,
            };
        }
        if self.futures.lock().unwrap_or_else(|p| p.into_inner()).is_empty() {
            self.event_loop.bind(py).call_method1("remove_reader", (self.reader.as_raw_fd(),))?;
        }
        Ok(())
    }
}
