//! One writer per data directory: sync, ingest and reindex take an
//! exclusive OS file lock on `{data dir}/sync.lock`, so overlapping runs
//! (a cron job and an operator, two `--every` loops) cannot interleave. The
//! OS releases the lock when the process ends, even on SIGKILL, so a crash
//! never leaves a stale lock behind.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

/// Held while this process writes the data directory; unlocks on drop.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

/// Another process holds the lock.
#[derive(Debug)]
pub struct LockBusy {
    path: PathBuf,
    holder: String,
}

impl std::fmt::Display for LockBusy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "another vaultiq run ({}) is writing this data directory (lock {}); \
             wait for it to finish or stop it, then try again",
            self.holder,
            self.path.display()
        )
    }
}

impl std::error::Error for LockBusy {}

impl DataDirLock {
    /// Takes the lock or fails at once with [`LockBusy`]; never waits.
    pub fn acquire(data_dir: &Path, what: &str) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
        let path = data_dir.join("sync.lock");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("cannot open lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(anyhow::Error::new(LockBusy {
                    path,
                    holder: if holder.is_empty() {
                        "unknown process".to_string()
                    } else {
                        holder.to_string()
                    },
                }));
            }
            Err(TryLockError::Error(err)) => {
                return Err(err).with_context(|| format!("cannot lock {}", path.display()))
            }
        }
        // Who holds it, for the message a second process prints.
        let note = format!(
            "`vaultiq {what}`, pid {}, since {}",
            std::process::id(),
            vaultiq_core::api::timestamp(chrono::Utc::now())
        );
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)).map(|_| ()))
            .and_then(|()| file.write_all(note.as_bytes()))
            .and_then(|()| file.flush())
            .with_context(|| format!("cannot write lock file {}", path.display()))?;
        Ok(DataDirLock { _file: file })
    }
}
