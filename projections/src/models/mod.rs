//! The read models: one projector per file, plus the query functions over its rows.

/// Declares a struct a query returns: serialized in camelCase and, with the `graphql`
/// feature, the GraphQL object named after `as` (percentages typed [`Pct`]).
macro_rules! report {
    ($(#[$attr:meta])* pub struct $name:ident as $gql:literal { $($body:tt)* }) => {
        $(#[$attr])*
        #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        #[cfg_attr(feature = "graphql", derive(crate::Gql), graphql(name = $gql))]
        pub struct $name { $($body)* }
    };
}

pub mod cabinet;
pub mod catalogue;
pub mod commitments;
pub mod compliance;
pub mod correspondence;
pub mod item;
pub mod petitions;
pub mod press_conferences;
pub mod semaforo;

use chrono::{DateTime, Datelike, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use seguimiento_domain::time;
use serde::{Deserialize, Serialize};

/// (year, month) of an instant in Sonora, where months are counted.
pub(crate) fn year_month(t: DateTime<Utc>) -> (i32, u32) {
    let l = time::local(t);
    (l.year(), l.month())
}

pub(crate) use seguimiento_domain::time::local_date;

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

/// A percentage or amount the reports show with exactly two decimals ("93.48", "100.00"):
/// an exact decimal, serialized as one, shown as a two-decimal string in GraphQL and text.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Pct(pub Decimal);

impl std::fmt::Display for Pct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.2}", self.0)
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

report! {
    /// Why a figure of one row could not be computed from the stored events: a stable `code`
    /// and the log position of the event that caused it. The rest of the report is computed
    /// as usual.
    pub struct FigureError as "FigureError" {
        /// Stable code: `AMOUNT_OVERFLOW` (amounts stored by an older release, before amounts
        /// were bounded, add up beyond what a decimal holds).
        pub code: String,
        /// Log position of the event that caused it; null on a record folded from its
        /// stream, where the message names the record instead.
        pub position: Option<u64>,
        pub message: String,
    }
}

/// [`FigureError::code`] of a sum of amounts that does not fit a decimal (only amounts an
/// older release accepted, before amounts were bounded, can add up that far).
pub const AMOUNT_OVERFLOW: &str = "AMOUNT_OVERFLOW";

/// A running sum of amounts in pesos that never overflows: past what a decimal holds it
/// keeps the first event it could not add, and has no total.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AmountSum {
    sum: Decimal,
    /// Position of the last event added, to name when a total of sums overflows.
    last: u64,
    error: Option<FigureError>,
}

impl AmountSum {
    /// Adds the amount of the event at `position`.
    pub fn add(&mut self, amount: Decimal, position: u64) {
        if self.error.is_some() {
            return;
        }
        match self.sum.checked_add(amount) {
            Some(s) => {
                self.sum = s;
                self.last = self.last.max(position);
            }
            None => {
                self.error = Some(FigureError {
                    code: AMOUNT_OVERFLOW.into(),
                    position: Some(position),
                    message: format!(
                        "the amounts add up beyond {} pesos at the event at position {position}",
                        Decimal::MAX
                    ),
                })
            }
        }
    }

    /// Adds another sum (a row into a total); the first error wins.
    pub fn merge(&mut self, other: &AmountSum) {
        if self.error.is_some() {
            return;
        }
        match &other.error {
            Some(e) => self.error = Some(e.clone()),
            // An overflow of the total is reported at the other sum's latest event.
            None => self.add(other.sum, other.last),
        }
    }

    /// The total with two decimals, `None` when it could not be computed.
    pub fn text(&self) -> Option<String> {
        self.error.is_none().then(|| format!("{:.2}", self.sum))
    }

    /// Why there is no total.
    pub fn error(&self) -> Option<FigureError> {
        self.error.clone()
    }
}
