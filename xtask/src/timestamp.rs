//! Migration versions are UTC timestamps, `YYYYMMDDHHMMSS`, read as one 14-digit number.
//!
//! The conversions are the civil-calendar algorithms from Howard Hinnant's `chrono`-compatible
//! date library: a few lines here instead of a date crate in the xtask's build.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, now.
pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// `20261125150000` for 2026-11-25 15:00:00 UTC.
pub fn to_version(unix: i64) -> i64 {
    let (days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    ((y * 100 + m) * 100 + d) * 1_000_000 + (secs / 3600) * 10_000 + (secs % 3600 / 60) * 100 + secs % 60
}

/// The instant a version names, or `None` when its digits are not a real date and time.
pub fn from_version(version: i64) -> Option<i64> {
    if !(10_000_000_000_000..=99_991_231_235_959).contains(&version) {
        return None;
    }
    let (date, time) = (version / 1_000_000, version % 1_000_000);
    let (y, m, d) = (date / 10_000, date / 100 % 100, date % 100);
    let (hh, mm, ss) = (time / 10_000, time / 100 % 100, time % 100);
    let valid = (1..=12).contains(&m) && (1..=days_in_month(y, m)).contains(&d) && hh < 24 && mm < 60 && ss < 60;
    valid.then(|| days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// `2026-11-25 15:00:00 UTC`, for headers and messages.
pub fn display(version: i64) -> String {
    let v = format!("{version:014}");
    format!("{}-{}-{} {}:{}:{} UTC", &v[0..4], &v[4..6], &v[6..8], &v[8..10], &v[10..12], &v[12..14])
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_impossible_dates() {
        assert_eq!(to_version(0), 19700101000000);
        assert_eq!(to_version(1_795_618_800), 20261125150000);
        for version in [20240229235959, 20261231235959, 20000101000000] {
            assert_eq!(from_version(version).map(to_version), Some(version));
        }
        for bad in [20230229000000, 20261301000000, 20261125240000, 20261125156000, 99] {
            assert_eq!(from_version(bad), None, "{bad}");
        }
        assert_eq!(display(20261125150000), "2026-11-25 15:00:00 UTC");
    }
}
