//! Fault injection at the sync pipeline's stage boundaries, compiled in only
//! with the `failpoints` feature, to prove a crash anywhere loses nothing.

use crate::Result;

/// A stage boundary of the sync pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failpoint {
    /// Raw documents are in the lake; nothing is indexed yet.
    AfterLakeWrite,
    /// Chunks are embedded; nothing is indexed yet.
    AfterEmbed,
    /// The batch is in the store; hashes and checkpoint are not recorded.
    AfterUpsert,
    /// Hashes are recorded; the checkpoint is not committed.
    BeforeCheckpoint,
}

impl Failpoint {
    /// Every failpoint, in pipeline order.
    pub const ALL: [Failpoint; 4] = [
        Failpoint::AfterLakeWrite,
        Failpoint::AfterEmbed,
        Failpoint::AfterUpsert,
        Failpoint::BeforeCheckpoint,
    ];

    /// The name used in `VAULTIQ_FAILPOINT` and in errors.
    pub fn name(self) -> &'static str {
        match self {
            Failpoint::AfterLakeWrite => "after_lake_write",
            Failpoint::AfterEmbed => "after_embed",
            Failpoint::AfterUpsert => "after_upsert",
            Failpoint::BeforeCheckpoint => "before_checkpoint",
        }
    }
}

/// Fails (or pauses) at `point` when asked to.
///
/// `configured` comes from [`crate::SyncOptions`] and makes the sync return
/// [`crate::Error::Failpoint`]. The environment variable
/// `VAULTIQ_FAILPOINT=name:pause` (or `name:pause@N`, the N-th time the
/// boundary is reached) makes the process print `failpoint NAME reached` to
/// stderr and stop there, so a test can SIGKILL it at exactly that boundary.
#[cfg(feature = "failpoints")]
pub(crate) fn check(configured: Option<Failpoint>, point: Failpoint) -> Result<()> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static REACHED: AtomicUsize = AtomicUsize::new(0);

    if configured == Some(point) {
        return Err(crate::Error::Failpoint(point.name()));
    }
    let Ok(spec) = std::env::var("VAULTIQ_FAILPOINT") else {
        return Ok(());
    };
    let (name, nth) = match spec.split_once('@') {
        Some((name, n)) => (name.to_string(), n.parse::<usize>().unwrap_or(1)),
        None => (spec, 1),
    };
    if name == format!("{}:pause", point.name())
        && REACHED.fetch_add(1, Ordering::SeqCst) + 1 == nth
    {
        eprintln!("failpoint {} reached", point.name());
        loop {
            std::thread::park();
        }
    }
    Ok(())
}

#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub(crate) fn check(_configured: Option<Failpoint>, _point: Failpoint) -> Result<()> {
    Ok(())
}
