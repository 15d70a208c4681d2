//! Sync progress: a live bar on a terminal, one line per batch otherwise
//! (logs and tests read those lines).

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use vaultiq_core::SyncProgress;

pub struct Reporter {
    bar: Option<ProgressBar>,
    quiet: bool,
}

impl Reporter {
    pub fn new(quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new_spinner();
            if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} [{elapsed}]") {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Reporter { bar, quiet }
    }

    pub fn update(&self, progress: &SyncProgress) {
        let line = format!(
            "{}: {} fetched, {} indexed, {} unchanged, {} chunks, {} deleted ({:.1} docs/s){}",
            progress.source_name,
            progress.fetched,
            progress.indexed,
            progress.unchanged,
            progress.chunks,
            progress.deleted,
            progress.rate(),
            if progress.finished { ", done" } else { "" }
        );
        match &self.bar {
            Some(bar) if progress.finished => bar.println(line),
            Some(bar) => bar.set_message(line),
            None if !self.quiet => eprintln!("{line}"),
            None => {}
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
