//! The command line's progress report: an `indicatif` bar on a terminal, a plain line every few seconds elsewhere.

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
