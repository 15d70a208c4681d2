//! One tokio runtime shared by every knowledge base, the blocking methods
//! and the awaitables, and the wait that keeps Ctrl-C working.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use pyo3::prelude::*;

use crate::errors;

/// How often a waiting call looks at pending signals (Ctrl-C).
const SIGNAL_POLL: Duration = Duration::from_millis(50);

/// The runtime `pyo3-async-runtimes` drives awaitables on; blocking calls
/// spawn onto the same one.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    pyo3_async_runtimes::tokio::get_runtime()
}

/// Runs `work` on the shared runtime while the calling thread has released
/// the GIL, so other Python threads run meanwhile. Every [`SIGNAL_POLL`] the
/// caller re-attaches to run signal handlers: a `KeyboardInterrupt` (or any
/// exception a handler raises) cancels `work` at its next await point,
/// waits until it has stopped, and is raised. The pipelines commit each
/// step durably before the next, so a cancelled sync resumes cleanly.
pub fn block_on<T, F>(py: Python<'_>, work: F) -> PyResult<T>
where
    F: Future<Output = vaultiq_core::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    block_on_watching(py, work, &CallbackError::default(), None)
}

/// The first exception raised by a Python callback running inside a task
/// (a sync's progress callable), raised by the waiting call once the task
/// has finished. The task is not aborted for it: an abort leaves the
/// blocking writes already handed to the runtime running detached, and a
/// sync started right after could race them.
#[derive(Debug, Clone, Default)]
pub struct CallbackError(Arc<Mutex<Option<PyErr>>>);

impl CallbackError {
    /// Keeps `err` unless an earlier one is already kept.
    pub fn record(&self, err: PyErr) {
        if let Ok(mut slot) = self.0.lock() {
            slot.get_or_insert(err);
        }
    }

    /// The kept exception, if any (taking it).
    pub fn take(&self) -> Option<PyErr> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

/// [`block_on`], raising a callback's exception (if any) instead of the
/// result. With `stop` (a sync's [`vaultiq_core::SyncOptions::stop`]), the
/// first interrupt asks the pipeline to stop after the batch in progress is
/// stored and checkpointed, and waits for that: aborting mid-batch could
/// leave lake writes running detached, racing the next sync. A second
/// interrupt while waiting aborts at once.
pub fn block_on_watching<T, F>(
    py: Python<'_>,
    work: F,
    callback: &CallbackError,
    stop: Option<&Arc<AtomicBool>>,
) -> PyResult<T>
where
    F: Future<Output = vaultiq_core::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let (sender, receiver) = mpsc::sync_channel(1);
    let task = runtime().spawn(async move {
        // The receiver may be gone if the caller was interrupted; nothing to do then.
        let _ = sender.send(work.await);
    });
    // The receiver is not `Sync`: it moves into each detached wait and back.
    let mut receiver = receiver;
    let mut interrupted: Option<PyErr> = None;
    loop {
        let (outcome, back) = py.detach(move || (receiver.recv_timeout(SIGNAL_POLL), receiver));
        receiver = back;
        match outcome {
            Ok(result) => {
                if let Some(interrupt) = interrupted {
                    // Stopped cleanly (or finished first): the interrupt
                    // is what the caller asked for.
                    return Err(interrupt);
                }
                return match callback.take() {
                    Some(raised) => Err(raised),
                    None => errors::check(result),
                };
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Err(interrupt) = py.check_signals() {
                    match (stop, interrupted.is_some()) {
                        (Some(stop), false) => {
                            stop.store(true, Ordering::SeqCst);
                            interrupted = Some(interrupt);
                        }
                        _ => {
                            task.abort();
                            // Dropping the future releases its locks and handles;
                            // wait for that so nothing runs on after the exception.
                            py.detach(move || while receiver.recv().is_ok() {});
                            return Err(interrupt);
                        }
                    }
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                // Only if the task panicked.
                return Err(pyo3::exceptions::PyRuntimeError::new_err(
                    "the vaultiq worker task stopped without a result",
                ));
            }
        }
    }
}

/// An awaitable for `work` on the shared runtime, raising a callback's
/// exception (if any) instead of the result.
pub fn awaitable_watching<'py, T, F>(
    py: Python<'py>,
    work: F,
    callback: CallbackError,
) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = vaultiq_core::Result<T>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    let task = runtime().spawn(work);
    pyo3_async_runtimes::tokio::future_into_py(py, async move {
        let joined = task.await;
        if let Some(raised) = callback.take() {
            return Err(raised);
        }
        match joined {
            Ok(result) => errors::check(result),
            Err(join) => Err(pyo3::exceptions::PyRuntimeError::new_err(format!(
                "the vaultiq worker task failed: {join}"
            ))),
        }
    })
}

/// An awaitable for `work`, run on the shared runtime.
pub fn awaitable<'py, T, F>(py: Python<'py>, work: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = vaultiq_core::Result<T>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    pyo3_async_runtimes::tokio::future_into_py(py, async move { errors::check(work.await) })
}
