//! How far an import is: an `indicatif` bar on a terminal (a plain line every few seconds elsewhere) for the command
//! line, and the state `/admin/import` shows for an import started from the web admin.

use std::{
    io::IsTerminal,
    sync::Mutex,
    time::{Duration, Instant},
};

use indicatif::{ProgressBar, ProgressStyle};

/// Shows how far `steppe import wxr` is.
pub struct Terminal {
    bar: Option<ProgressBar>,
    /// Without a terminal: when the last line was printed, and the file's size.
    plain: Mutex<(Instant, u64)>,
}

impl Terminal {
    pub fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(0);
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({eta}) {msg}",
            ) {
                bar.set_style(style);
            }
            bar
        });
        Self {
            bar,
            plain: Mutex::new((Instant::now(), 0)),
        }
    }
}

impl Default for Terminal {
    fn default() -> Self {
        Self::new()
    }
}

impl super::Progress for Terminal {
    fn start(&self, total_bytes: u64) {
        match &self.bar {
            Some(bar) => bar.set_length(total_bytes),
            None => {
                let mut plain = self
                    .plain
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                *plain = (Instant::now(), total_bytes);
                eprintln!("importing {total_bytes} bytes");
            }
        }
    }

    fn advance(&self, position: u64, label: &str) -> bool {
        match &self.bar {
            Some(bar) => {
                bar.set_position(position);
                bar.set_message(label.to_string());
            }
            None => {
                let mut plain = self
                    .plain
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if plain.0.elapsed() >= Duration::from_secs(5) {
                    plain.0 = Instant::now();
                    let percent = position
                        .saturating_mul(100)
                        .checked_div(plain.1)
                        .unwrap_or(100);
                    eprintln!("{percent}% ({position} of {} bytes), at {label}", plain.1);
                }
            }
        }
        true
    }

    fn finish(&self) {
        match &self.bar {
            Some(bar) => bar.finish_and_clear(),
            None => eprintln!("100%"),
        }
    }
}

/// An import started from `/admin/import`, as its page shows it: how far it is, then its summary or its error.
#[derive(Debug, Clone, Default)]
pub struct JobState {
    pub running: bool,
    pub position: u64,
    pub total: u64,
    pub label: String,
    pub summary: Option<super::Summary>,
    pub error: Option<String>,
}

impl JobState {
    /// How far the import is, in percent of the file read.
    pub fn percent(&self) -> u64 {
        self.position
            .saturating_mul(100)
            .checked_div(self.total)
            .unwrap_or(0)
            .min(100)
    }
}

/// The one import this process runs from the web admin at a time (shared by the handler and its task).
#[derive(Debug, Clone, Default)]
pub struct Job(std::sync::Arc<Mutex<JobState>>);

impl Job {
    pub fn state(&self) -> JobState {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Marks the job as started; `false` when one is already running.
    pub fn begin(&self) -> bool {
        let mut s = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if s.running {
            return false;
        }
        *s = JobState {
            running: true,
            ..JobState::default()
        };
        true
    }

    pub fn end(&self, outcome: Result<super::Summary, String>) {
        let mut s = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        s.running = false;
        match outcome {
            Ok(summary) => s.summary = Some(summary),
            Err(e) => s.error = Some(e),
        }
    }
}

impl super::Progress for Job {
    fn start(&self, total_bytes: u64) {
        let mut s = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        s.total = total_bytes;
    }

    fn advance(&self, position: u64, label: &str) -> bool {
        let mut s = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        s.position = position;
        label.clone_into(&mut s.label);
        true
    }

    fn finish(&self) {
        let mut s = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        s.position = s.total;
    }
}
