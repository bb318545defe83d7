//! GraphQL output types of the domain's aggregate states, the history and the catalogues;
//! the reports are the projections' own structs. Percentages are two-decimal strings
//! ("93.48"), amounts exact decimal strings with two decimals.

pub mod agency;
pub mod catalogue;
pub mod history;
pub mod outcome;
pub mod records;
pub mod reports;
