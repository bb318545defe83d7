//! Compromisos de campaña: per commitment its text, agencies, actions registered,
//! investment and progress (mean item progress of its actions; 0 without actions); and
//! the overall compliance.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use seguimiento_eventstore::EventStore;

use super::compliance::{Compliance, ComplianceRow};
use super::item::Tally;
use super::{mean, round_half_up, AmountSum, FigureError, Pct};
use crate::error::Result;
use crate::rows::Rows;
use crate::runner::as_of::{load, View};

report! {
    pub struct CommitmentRow as "CommitmentFigures" {
        pub number: u32,
        pub text: String,
        #[cfg_attr(feature = "graphql", graphql(name = "agencyAcronyms"))]
        pub agencies: Vec<String>,
        pub actions: u64,
        pub concluded: u64,
        pub in_progress: u64,
        pub pending: u64,
        /// Exact decimal string, two decimals; null when the stored amounts do not add up
        /// (see `error`).
        pub investment_mxn: Option<String>,
        /// Mean item progress of its actions, two decimals.
        pub progress_pct: Pct,
        /// Why a figure of this row is null.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub error: Option<FigureError>,
    }
}

report! {
    pub struct CommitmentsReport as "CommitmentsTotals" {
        /// By number.
        #[cfg_attr(feature = "graphql", graphql(skip))]
        pub rows: Vec<CommitmentRow>,
        pub commitments: u64,
        pub actions: u64,
        /// Null when some commitment's investment could not be added up (see `error`).
        pub investment_mxn: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub error: Option<FigureError>,
        /// Mean of the commitments' progress (each commitment weighs the same).
        pub compliance_pct: Pct,
        /// Mean item progress over all actions (each action weighs the same).
        pub actions_compliance_pct: Pct,
    }
}

pub fn report(rows: &Rows<ComplianceRow>) -> CommitmentsReport {
    let mut by_number: BTreeMap<
        u32,
        (Option<&super::compliance::CommitmentDoc>, Tally, AmountSum),
    > = BTreeMap::new();
    let mut actions = Vec::new();
    for (_, row) in rows.iter() {
        match row {
            ComplianceRow::Commitment(c) => by_number.entry(c.number).or_default().0 = Some(c),
            ComplianceRow::Action(a) => {
                actions.push((a.track.facts.first().map_or(0, |f| f.position), a));
            }
            _ => {}
        }
    }
    // Amounts are added in log order, so a sum that overflows names the event that made
    // it overflow.
    actions.sort_by_key(|(position, _)| *position);
    for (position, a) in actions {
        let e = by_number.entry(a.number).or_default();
        e.1.add_track(&a.track, None);
        e.2.add(a.investment_mxn, position);
    }
    let mut all = Tally::default();
    let mut sum_of_means = Decimal::ZERO;
    let mut investment = AmountSum::default();
    let mut out = Vec::new();
    for (number, (doc, tally, inv)) in by_number {
        let Some(doc) = doc else { continue };
        all.merge(&tally);
        sum_of_means += tally.mean();
        investment.merge(&inv);
        out.push(CommitmentRow {
            number,
            text: doc.text.clone(),
            agencies: doc.agencies.clone(),
            actions: tally.items,
            concluded: tally.concluded,
            in_progress: tally.in_progress,
            pending: tally.pending,
            investment_mxn: inv.text(),
            progress_pct: tally.pct(),
            error: inv.error(),
        });
    }
    let n = out.len() as u64;
    CommitmentsReport {
        commitments: n,
        actions: all.items,
        investment_mxn: investment.text(),
        error: investment.error(),
        compliance_pct: Pct(round_half_up(mean(sum_of_means, n), 2)),
        actions_compliance_pct: all.pct(),
        rows: out,
    }
}

pub async fn query(store: &EventStore, view: View) -> Result<CommitmentsReport> {
    let rows = load::<Compliance>(store, view).await?;
    Ok(report(&rows))
}
