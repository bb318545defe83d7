//! GraphQL output types: thin mirrors of the projections' report structs and of the
//! domain's aggregate states. Percentages are two-decimal strings ("93.48"), amounts exact
//! decimal strings with two decimals.

pub mod agency;
pub mod catalogue;
pub mod history;
pub mod outcome;
pub mod records;
pub mod reports;

use rust_decimal::Decimal;

/// A percentage or amount with exactly two decimals, as published ("93.48", "100.00").
pub(crate) fn two_decimals(d: Decimal) -> String {
    format!("{d:.2}")
}
