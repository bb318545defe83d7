//! Sonora's clock. The Office works in Sonora, which keeps UTC−7 all year (it has not
//! observed daylight saving since 1998), so months, days, "today" and a bare date's
//! instant are all counted on this one fixed offset.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};

/// Hours Sonora's clock is behind UTC.
const HOURS_BEHIND_UTC: i64 = 7;

/// Sonora's offset, UTC−7.
pub const OFFSET: FixedOffset = match FixedOffset::west_opt(7 * 3600) {
    Some(offset) => offset,
    // Checked when compiling: seven hours is within the ±24 h a `FixedOffset` holds.
    None => panic!("UTC-7 is a valid offset"),
};

/// The wall-clock time in Sonora at an instant.
pub fn local(t: DateTime<Utc>) -> NaiveDateTime {
    t.naive_utc() - TimeDelta::hours(HOURS_BEHIND_UTC)
}

/// The date in Sonora at an instant.
pub fn local_date(t: DateTime<Utc>) -> NaiveDate {
    local(t).date()
}

/// The instant of a Sonora wall-clock time.
pub fn instant(local: NaiveDateTime) -> DateTime<Utc> {
    (local + TimeDelta::hours(HOURS_BEHIND_UTC)).and_utc()
}

/// Midnight of a date in Sonora: the instant the domain gives a bare date.
pub fn midnight(date: NaiveDate) -> DateTime<Utc> {
    instant(date.and_time(NaiveTime::MIN))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn every_conversion_agrees_with_the_offset() {
        let t = Utc.with_ymd_and_hms(2024, 2, 13, 4, 39, 43).unwrap();
        assert_eq!(local(t), t.with_timezone(&OFFSET).naive_local());
        assert_eq!(local_date(t), NaiveDate::from_ymd_opt(2024, 2, 12).unwrap());
        assert_eq!(instant(local(t)), t);
        let day = NaiveDate::from_ymd_opt(2023, 12, 31).unwrap();
        assert_eq!(
            midnight(day),
            Utc.with_ymd_and_hms(2023, 12, 31, 7, 0, 0).unwrap()
        );
    }
}
