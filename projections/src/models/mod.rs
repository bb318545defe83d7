//! The read models: one projector per file, plus the query functions over its rows.

pub mod cabinet;
pub mod commitments;
pub mod compliance;
pub mod correspondence;
pub mod history;
pub mod item;
pub mod petitions;
pub mod semaforo;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use rust_decimal::{Decimal, RoundingStrategy};

/// Local wall-clock time in Sonora (UTC−7 all year, no daylight saving): months and days
/// are counted there.
pub(crate) fn sonora(t: DateTime<Utc>) -> NaiveDateTime {
    t.naive_utc() - TimeDelta::hours(7)
}

/// (year, month) of an instant in Sonora.
pub(crate) fn year_month(t: DateTime<Utc>) -> (i32, u32) {
    let l = sonora(t);
    (l.year(), l.month())
}

/// The local date of an instant in Sonora.
pub(crate) fn local_date(t: DateTime<Utc>) -> NaiveDate {
    sonora(t).date()
}

/// Rounds half up (away from zero; all our figures are non-negative).
pub fn round_half_up(d: Decimal, dp: u32) -> Decimal {
    d.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero)
}

/// Exact mean of a list of decimals; 0 when empty.
pub fn mean(sum: Decimal, count: u64) -> Decimal {
    if count == 0 {
        Decimal::ZERO
    } else {
        sum / Decimal::from(count)
    }
}

/// `part / whole` as a percentage with two decimals; 0 when `whole` is 0.
pub fn percent(part: u64, whole: u64) -> Decimal {
    if whole == 0 {
        Decimal::ZERO
    } else {
        round_half_up(
            Decimal::from(part) * Decimal::ONE_HUNDRED / Decimal::from(whole),
            2,
        )
    }
}
