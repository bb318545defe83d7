//! Progress of long work: a bar on a terminal (indicatif), plain lines on stderr otherwise
//! (at most one every few seconds, plus the last one).

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

const PLAIN_EVERY: Duration = Duration::from_secs(2);

/// One progress display; cheap to update from any thread.
pub struct Progress {
    label: String,
    bar: Option<ProgressBar>,
    plain: Mutex<PlainState>,
}

struct PlainState {
    last: Option<Instant>,
    phase: String,
}

impl Progress {
    /// A display for work of `total` units (`None`: unknown, a spinner).
    pub fn new(label: &str, total: Option<u64>) -> Progress {
        let bar = if std::io::stderr().is_terminal() {
            let bar = match total {
                Some(t) => ProgressBar::new(t),
                None => ProgressBar::new_spinner(),
            };
            let template = if total.is_some() {
                "{prefix:>12} [{bar:40}] {pos}/{len} {msg} ({elapsed}, eta {eta})"
            } else {
                "{prefix:>12} {spinner} {pos} {msg} ({elapsed})"
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_prefix(label.to_owned());
            bar.enable_steady_tick(Duration::from_millis(200));
            Some(bar)
        } else {
            None
        };
        Progress {
            label: label.to_owned(),
            bar,
            plain: Mutex::new(PlainState {
                last: None,
                phase: String::new(),
            }),
        }
    }

    /// Reports `done` of `total` units in `phase` (a word such as "validating").
    pub fn update(&self, phase: &str, done: u64, total: u64) {
        self.update_noted(phase, done, Some(total), "");
    }

    /// Counts without a known total.
    pub fn tick(&self, phase: &str, done: u64) {
        self.update_noted(phase, done, None, "");
    }

    /// Reports `done` (of `total`, when known) units in `phase`, followed by `note`, a detail
    /// that changes as the work goes (e.g. "(1200 events committed)") without being a new
    /// phase: plain lines still come at most every few seconds.
    pub fn update_noted(&self, phase: &str, done: u64, total: Option<u64>, note: &str) {
        let text = if note.is_empty() {
            phase.to_owned()
        } else {
            format!("{phase} {note}")
        };
        if let Some(bar) = &self.bar {
            if let Some(t) = total.filter(|t| bar.length() != Some(*t)) {
                bar.set_length(t);
            }
            bar.set_message(text);
            bar.set_position(done);
            return;
        }
        let Ok(mut st) = self.plain.lock() else {
            return;
        };
        let new_phase = st.phase != phase;
        let due = st.last.is_none_or(|t| t.elapsed() >= PLAIN_EVERY);
        if new_phase || due || Some(done) == total {
            let count = match total {
                Some(total) => format!("{done}/{total}"),
                None => done.to_string(),
            };
            let sep = if note.is_empty() { "" } else { " " };
            eprintln!("{}: {phase} {count}{sep}{note}", self.label);
            st.last = Some(Instant::now());
            st.phase = phase.to_owned();
        }
    }

    /// Removes the bar (before printing other output).
    pub fn clear(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
