//! Logging: `tracing` events to stdout, filtered by `RUST_LOG` (default `info`), as text or
//! JSON lines. Request spans carry the method, route, status and request id, never headers
//! or bodies, so tokens and personal data stay out of the logs.
//!
//! A fault must not flood the log: [`admit`] lets a line repeated with the same cause
//! through a few times a second and counts the rest, so an outage under load writes a few
//! lines a second, the next of which says how many it stands for, rather than one per
//! failed request.

use std::{
    collections::HashMap,
    io::IsTerminal,
    sync::{LazyLock, Mutex},
    time::{Duration, Instant},
};

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::LogFormat;

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let registry = tracing_subscriber::registry().with(filter);
    // A second init (tests build several applications in one process) keeps the first.
    let _ = match format {
        LogFormat::Text => registry
            .with(fmt::layer().with_ansi(std::io::stdout().is_terminal()))
            .try_init(),
        LogFormat::Json => registry
            .with(fmt::layer().json().flatten_event(true))
            .try_init(),
    };
}

/// The window over which one line (a message and its cause) is counted...
const WINDOW: Duration = Duration::from_secs(1);
/// ...and how many times it is written within it before the rest are held back.
const WRITTEN_PER_WINDOW: u64 = 5;
/// Lines whose repetitions are counted at once; beyond this the counts start afresh.
const TRACKED: usize = 256;

/// Counts repetitions of log lines, by key.
#[derive(Debug, Default)]
struct Throttle {
    windows: HashMap<String, Window>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    opened: Instant,
    written: u64,
    /// Lines of this key not written since the window opened.
    held_back: u64,
}

impl Window {
    fn opened(now: Instant) -> Self {
        Self {
            opened: now,
            written: 1,
            held_back: 0,
        }
    }
}

impl Throttle {
    /// `Some(n)` when the line is to be written now, `n` being how many like it were held
    /// back since the last one written; `None` when it is held back.
    fn admit(&mut self, key: &str, now: Instant) -> Option<u64> {
        if let Some(window) = self.windows.get_mut(key) {
            if now.duration_since(window.opened) >= WINDOW {
                let held_back = window.held_back;
                *window = Window::opened(now);
                return Some(held_back);
            }
            if window.written < WRITTEN_PER_WINDOW {
                window.written += 1;
                return Some(0);
            }
            window.held_back += 1;
            return None;
        }
        if self.windows.len() >= TRACKED {
            self.windows.clear();
        }
        self.windows.insert(key.to_owned(), Window::opened(now));
        Some(0)
    }
}

static THROTTLE: LazyLock<Mutex<Throttle>> = LazyLock::new(Mutex::default);

/// Whether a line `what` with this `cause` is written now: `Some(n)` with the number of
/// identical lines held back since the last one written (write it as `repeated = n`), or
/// `None`.
pub fn admit(what: &str, cause: &str) -> Option<u64> {
    let key = format!("{what}\u{1f}{cause}");
    THROTTLE
        .lock()
        .map_or(Some(0), |mut throttle| throttle.admit(&key, Instant::now()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_line_is_written_a_few_times_a_second_then_with_the_count_it_stands_for() {
        let mut throttle = Throttle::default();
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        for ms in 0..WRITTEN_PER_WINDOW {
            assert_eq!(throttle.admit("db down", at(ms)), Some(0));
        }
        for ms in WRITTEN_PER_WINDOW..500 {
            assert_eq!(throttle.admit("db down", at(ms)), None);
        }
        assert_eq!(throttle.admit("db down", at(1001)), Some(495));
        assert_eq!(throttle.admit("db down", at(1002)), Some(0));
    }

    #[test]
    fn different_causes_are_counted_apart() {
        let mut throttle = Throttle::default();
        let now = Instant::now();
        for _ in 0..WRITTEN_PER_WINDOW {
            assert_eq!(throttle.admit("a", now), Some(0));
        }
        assert_eq!(throttle.admit("b", now), Some(0));
        assert_eq!(throttle.admit("a", now), None);
    }

    #[test]
    fn the_counts_kept_are_bounded() {
        let mut throttle = Throttle::default();
        let now = Instant::now();
        for i in 0..10 * TRACKED {
            throttle.admit(&i.to_string(), now);
        }
        assert!(throttle.windows.len() <= TRACKED);
    }
}
