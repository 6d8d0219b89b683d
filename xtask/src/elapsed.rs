//! How durations read in every line the xtask prints: `12.3ms`, `1.24s`.

use std::time::{Duration, Instant};

/// Short enough to line up, precise enough to compare.
pub fn duration(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1000.0 { format!("{ms:.1}ms") } else { format!("{:.2}s", ms / 1000.0) }
}

/// Time since `start`, formatted as [`duration`].
pub fn since(start: Instant) -> String {
    duration(start.elapsed())
}
