//! Periodic sync (`sync --every 15m`, the seed's EventBridge rate) and the
//! stop signal: the first Ctrl-C or SIGTERM asks the pipeline to stop after
//! the batch in progress; a second one exits at once (still safe, since a
//! sync survives being killed anywhere, but it may redo one batch).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::exit;

/// The seed's schedule: every 15 minutes.
pub const DEFAULT_EVERY: &str = "15m";

/// Parses `90s`, `15m`, `2h` or `1d` (a whole number and a unit).
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not an interval; expected e.g. 90s, 15m, 2h or 1d"))?;
    let seconds = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        "d" => n.saturating_mul(86_400),
        _ => {
            return Err(format!(
                "`{text}` has no unit; expected a number followed by s, m, h or d (e.g. 15m)"
            ))
        }
    };
    if seconds == 0 {
        return Err("the interval must be at least 1s".to_string());
    }
    Ok(Duration::from_secs(seconds))
}

/// Set by the first Ctrl-C/SIGTERM; readable by the pipeline and awaitable.
#[derive(Debug, Clone)]
pub struct StopSignal {
    flag: Arc<AtomicBool>,
    changed: watch::Receiver<bool>,
}

impl StopSignal {
    /// Starts listening for Ctrl-C and SIGTERM.
    pub fn listen(quiet: bool) -> Self {
        let flag = Arc::new(AtomicBool::new(false));
        let (tx, changed) = watch::channel(false);
        let set = flag.clone();
        tokio::spawn(async move {
            vaultiq_examples::server::shutdown_signal().await;
            set.store(true, Ordering::SeqCst);
            tx.send_replace(true);
            if !quiet {
                eprintln!("stopping after the current batch (press Ctrl-C again to quit now)");
            }
            vaultiq_examples::server::shutdown_signal().await;
            std::process::exit(i32::from(exit::INTERRUPTED));
        });
        StopSignal { flag, changed }
    }

    /// The flag for [`vaultiq_core::SyncOptions::stop`].
    pub fn flag(&self) -> Arc<AtomicBool> {
        self.flag.clone()
    }

    /// True once a stop was requested.
    pub fn requested(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Waits `duration`, or less if a stop arrives; true when stopped.
    pub async fn sleep(&mut self, duration: Duration) -> bool {
        if self.requested() {
            return true;
        }
        let flag = self.flag.clone();
        tokio::select! {
            () = tokio::time::sleep(duration) => flag.load(Ordering::SeqCst),
            _ = self.changed.wait_for(|stopped| *stopped) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_parse_with_units() {
        assert_eq!(parse_interval("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_interval("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_interval("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_interval("1d"), Ok(Duration::from_secs(86_400)));
        assert!(parse_interval("15").is_err_and(|e| e.contains("unit")));
        assert!(parse_interval("0m").is_err());
        assert!(parse_interval("m").is_err());
        assert!(parse_interval("15 minutes").is_err());
    }
}
