//! Sync and reindex progress: a live bar with rate and ETA on a terminal
//! (a spinner with the rate when the total is unknown, as in a source sync),
//! one line per batch otherwise (logs and tests read those lines).

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use vaultiq_core::SyncProgress;

/// Shows [`SyncProgress`] reports; `--quiet` shows nothing.
pub struct Reporter {
    terminal: bool,
    quiet: bool,
    /// The bar of the source in progress (sources run one after another).
    bar: Mutex<Option<(String, ProgressBar)>>,
}

const SPINNER: &str = "{spinner} {prefix}: {msg} [{elapsed}]";
const BAR: &str =
    "{prefix}: [{bar:30}] {pos}/{len} docs · {per_sec} · ETA {eta} · {msg} [{elapsed}]";

impl Reporter {
    pub fn new(quiet: bool) -> Self {
        Reporter {
            terminal: !quiet && std::io::stderr().is_terminal(),
            quiet,
            bar: Mutex::new(None),
        }
    }

    fn counts(progress: &SyncProgress) -> String {
        format!(
            "{} indexed, {} unchanged, {} chunks, {} deleted",
            progress.indexed, progress.unchanged, progress.chunks, progress.deleted
        )
    }

    fn new_bar(progress: &SyncProgress) -> ProgressBar {
        let (bar, template) = match progress.total {
            Some(total) => (ProgressBar::new(total as u64), BAR),
            None => (ProgressBar::new_spinner(), SPINNER),
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(progress.source_name.clone());
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }

    pub fn update(&self, progress: &SyncProgress) {
        if self.quiet {
            return;
        }
        if !self.terminal {
            let of = progress
                .total
                .map(|t| format!(" of {t}"))
                .unwrap_or_default();
            let eta = match (progress.total, progress.rate()) {
                (Some(total), rate) if rate > 0.0 && !progress.finished => format!(
                    ", ETA {:.0}s",
                    total.saturating_sub(progress.fetched) as f64 / rate
                ),
                _ => String::new(),
            };
            eprintln!(
                "{}: {} fetched{of}, {} ({:.1} docs/s{eta}){}",
                progress.source_name,
                progress.fetched,
                Self::counts(progress),
                progress.rate(),
                if progress.finished { ", done" } else { "" }
            );
            return;
        }
        let Ok(mut slot) = self.bar.lock() else {
            return;
        };
        let same = matches!(&*slot, Some((name, _)) if *name == progress.source_name);
        if !same {
            if let Some((_, old)) = slot.take() {
                old.finish_and_clear();
            }
            *slot = Some((progress.source_name.clone(), Self::new_bar(progress)));
        }
        if let Some((_, bar)) = &*slot {
            if progress.total.is_some() {
                bar.set_position(progress.fetched as u64);
            }
            bar.set_message(format!(
                "{} fetched, {} ({:.1} docs/s)",
                progress.fetched,
                Self::counts(progress),
                progress.rate()
            ));
            if progress.finished {
                bar.finish_and_clear();
                eprintln!(
                    "{}: {} fetched, {} in {:.1}s, done",
                    progress.source_name,
                    progress.fetched,
                    Self::counts(progress),
                    progress.elapsed.as_secs_f64()
                );
                *slot = None;
            }
        }
    }

    pub fn finish(&self) {
        if let Ok(mut slot) = self.bar.lock() {
            if let Some((_, bar)) = slot.take() {
                bar.finish_and_clear();
            }
        }
    }
}
