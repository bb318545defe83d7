//! How the GraphQL API shows the report structs (feature `graphql`): the structs derive
//! their output types, and these functions turn exact decimals into the published
//! two-decimal strings and catalogue counts into their typed codes.

use async_graphql::SimpleObject;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use seguimiento_domain::values::{Channel, Topic};

use crate::models::catalogue::CodeCount;
use crate::models::two_decimals;

/// A percentage or amount, two decimals ("93.48").
pub fn pct(d: Decimal) -> String {
    two_decimals(d)
}

/// [`pct`] of a figure that may be missing.
pub fn opt_pct(d: Option<Decimal>) -> Option<String> {
    d.map(two_decimals)
}

/// A whole percent already rounded by the projection.
pub fn whole(d: Decimal) -> i64 {
    d.to_i64().unwrap_or_default()
}

/// Petitions of one topic: every topic of the catalogue in its order, zeros included.
#[derive(Debug, Clone, SimpleObject)]
pub struct TopicCount {
    pub topic: Topic,
    /// The catalogue's label (the code, for a code it does not hold).
    pub label: String,
    pub count: u64,
}

/// Petitions of one channel: every channel of the catalogue in its order, zeros included.
#[derive(Debug, Clone, SimpleObject)]
pub struct ChannelCount {
    pub channel: Channel,
    /// The catalogue's label (the code, for a code it does not hold).
    pub label: String,
    pub count: u64,
}

pub fn topics(counts: Vec<CodeCount>) -> Vec<TopicCount> {
    counts
        .into_iter()
        .map(|c| TopicCount {
            topic: Topic::new(c.code),
            label: c.label,
            count: c.count,
        })
        .collect()
}

pub fn channels(counts: Vec<CodeCount>) -> Vec<ChannelCount> {
    counts
        .into_iter()
        .map(|c| ChannelCount {
            channel: Channel::new(c.code),
            label: c.label,
            count: c.count,
        })
        .collect()
}
