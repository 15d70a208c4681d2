//! Maps `vaultiq_core::Error` onto the `vaultiq.errors` exception classes.
//!
//! The classes are defined in Python (`python/vaultiq/errors.py`) so they
//! pickle like any Python exception; this module only picks the class and
//! fills in `retryable` / `source_name`.

use pyo3::exceptions::{PyKeyboardInterrupt, PyRuntimeError};
use pyo3::prelude::*;
use vaultiq_core::Error;

/// Raises `class_name` from `vaultiq.errors` with `args`; falls back to a
/// `RuntimeError` with the same message if the module cannot be imported.
fn raise(py: Python<'_>, class_name: &str, message: String, retryable: bool) -> PyErr {
    let built = py
        .import("vaultiq.errors")
        .and_then(|module| module.getattr(class_name))
        .and_then(|class| class.call1((message.clone(), retryable)));
    match built {
        Ok(value) => PyErr::from_value(value),
        Err(import_error) => PyRuntimeError::new_err(format!(
            "{message} (and vaultiq.errors failed: {import_error})"
        )),
    }
}

/// The Python exception for a core error.
pub fn to_py(py: Python<'_>, err: Error) -> PyErr {
    let retryable = err.is_retryable();
    let message = err.to_string();
    match err {
        Error::Config(_) => raise(py, "ConfigError", message, retryable),
        Error::InvalidInput(_) => raise(py, "InvalidInputError", message, retryable),
        Error::Io { .. } => raise(py, "VaultIQIOError", message, retryable),
        Error::Source { source_name, .. } => {
            let exc = raise(py, "SourceError", message, retryable);
            // Which configured source failed, for retry decisions per source.
            if let Err(e) = exc.value(py).setattr("source_name", source_name) {
                return e;
            }
            exc
        }
        Error::Store { .. } => raise(py, "StoreError", message, retryable),
        Error::Corrupt(_) => raise(py, "CorruptDataError", message, retryable),
        Error::Model { .. } => raise(py, "ModelError", message, retryable),
        Error::Cancelled => PyKeyboardInterrupt::new_err(message),
        _ => raise(py, "VaultIQError", message, retryable),
    }
}

/// Converts a core result, attaching to the interpreter only on error.
pub fn check<T>(result: vaultiq_core::Result<T>) -> PyResult<T> {
    result.map_err(|err| Python::attach(|py| to_py(py, err)))
}

/// A model error from a Python component (embedder, answerer, chunker),
/// keeping the Python exception text.
pub fn component_error(what: &str, err: &PyErr) -> Error {
    Error::model(format!("{what}: {err}"))
}
