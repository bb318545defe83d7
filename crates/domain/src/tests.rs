//! Given events / when command / then events or error. No database.

mod activity;
mod agency;
mod agreement;
mod catalogue;
mod commitment;
mod correspondence;
mod fixtures;
#[cfg(feature = "graphql")]
mod graphql;
mod petition;
mod press_conference;
mod properties;
mod serde_roundtrip;
