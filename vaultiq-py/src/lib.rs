//! Python bindings of VaultIQ: the `vaultiq._native` extension module,
//! wrapped by the `vaultiq` package (`python/vaultiq`).
//!
//! A thin layer: every class holds a `vaultiq-core` value and forwards to
//! it. Blocking methods run on one shared tokio runtime with the GIL
//! released; `*_async` methods return awaitables on the same runtime.

mod components;
mod errors;
mod knowledge_base;
mod results;
mod runtime;
mod sources;

use pyo3::prelude::*;

/// The native module; import `vaultiq` instead.
#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<knowledge_base::PyKnowledgeBase>()?;
    module.add_class::<results::PyAnswer>()?;
    module.add_class::<results::PyCitation>()?;
    module.add_class::<results::PyHit>()?;
    module.add_class::<results::PyDocument>()?;
    module.add_class::<results::PySyncProgress>()?;
    module.add_class::<results::PySyncReport>()?;
    module.add_class::<sources::PySource>()?;
    module.add_class::<sources::PyConfluence>()?;
    module.add_class::<sources::PySlack>()?;
    module.add_class::<sources::PyJira>()?;
    module.add_class::<sources::PyGitHub>()?;
    module.add_class::<sources::PyFiles>()?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
