//! Exit codes scripts can rely on (also listed in `vaultiq --help` and the
//! README): they tell "try again later" apart from "fix your setup".

use std::process::ExitCode;

use vaultiq_core::Error;

use crate::lock::LockBusy;

/// Everything worked.
pub const OK: u8 = 0;
/// A source, the store, the model or the file system failed (see stderr).
pub const FAILURE: u8 = 1;
/// Bad arguments, an invalid `vaultiq.toml` or a missing index: fix and rerun.
pub const USAGE: u8 = 2;
/// Another sync, ingest or reindex holds the data directory: try again later.
pub const BUSY: u8 = 3;
/// The run finished but with warnings (e.g. a mass deletion was refused).
pub const WARNINGS: u8 = 4;
/// Stopped by Ctrl-C or SIGTERM after the current batch was committed.
pub const INTERRUPTED: u8 = 130;

/// The table printed after `--help`.
pub const HELP: &str = "\
Exit codes:
  0    success
  1    failure: a source, the store, the model or the file system failed
  2    usage: bad arguments, an invalid vaultiq.toml, or no index yet
  3    busy: another sync, ingest or reindex holds the data directory
  4    finished with warnings (e.g. a mass deletion was refused)
  130  interrupted: stopped by Ctrl-C/SIGTERM after the current batch

Environment:
  VAULTIQ_CONFIG, VAULTIQ_DATA_DIR, VAULTIQ_SERVER_ADDR, VAULTIQ_SERVER_MAX_CONCURRENCY,
  VAULTIQ_EMBEDDER_MODEL_DIR, ... override the matching vaultiq.toml key
  (VAULTIQ_ + SECTION_ + KEY in capitals); see the README.";

/// A usage problem found by the CLI itself (as opposed to the library).
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// Shorthand for returning a [`Usage`] error.
macro_rules! usage {
    ($($arg:tt)*) => {
        return Err(anyhow::Error::new($crate::exit::Usage(format!($($arg)*))))
    };
}
pub(crate) use usage;

/// The exit code an error maps to.
pub fn code_of(err: &anyhow::Error) -> u8 {
    if err.downcast_ref::<LockBusy>().is_some() {
        return BUSY;
    }
    if err.downcast_ref::<Usage>().is_some() {
        return USAGE;
    }
    match err.downcast_ref::<Error>() {
        Some(Error::Config(_) | Error::InvalidInput(_)) => USAGE,
        Some(Error::Cancelled) => INTERRUPTED,
        _ => FAILURE,
    }
}

/// Prints the error and returns its exit code.
pub fn report(err: &anyhow::Error) -> ExitCode {
    let code = code_of(err);
    if code == INTERRUPTED {
        eprintln!("stopped: {err:#}; the last batch was committed, the next run resumes there");
    } else {
        eprintln!("error: {err:#}");
    }
    ExitCode::from(code)
}
