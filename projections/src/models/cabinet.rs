//! Informe de cumplimiento de gabinetes: per meeting type (every [`MeetingType`] in
//! published order, zeros included) meetings held, agreements and general compliance; and
//! the overall summary over ALL agreements and instructions (any origin), not cancelled.

use chrono::Datelike;
use rust_decimal::Decimal;
use seguimiento_domain::values::MeetingType;
use seguimiento_eventstore::EventStore;
use serde::{Deserialize, Serialize};

use super::compliance::{Compliance, ComplianceRow};
use super::item::Tally;
use crate::error::Result;
use crate::rows::Rows;
use crate::runner::as_of::{load, View};

/// One meeting type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeetingTypeRow {
    pub meeting_type: MeetingType,
    /// As published ("GABINETE PRIORITARIO DE AGUA").
    pub label: String,
    pub meetings_held: u64,
    pub agreements: u64,
    pub concluded: u64,
    pub in_progress: u64,
    pub pending: u64,
    /// Mean item progress of its agreements, two decimals (0 without agreements).
    pub general_compliance_pct: Decimal,
}

/// Overall summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CabinetSummary {
    pub agreements: u64,
    pub concluded: u64,
    pub in_progress: u64,
    pub pending: u64,
    pub compliance_pct: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CabinetReport {
    pub year: Option<i32>,
    pub rows: Vec<MeetingTypeRow>,
    pub summary: CabinetSummary,
}

/// Computes the report; `year` filters meetings by date and agreements by issue date.
pub fn report(rows: &Rows<ComplianceRow>, year: Option<i32>) -> CabinetReport {
    let in_year = |y: i32| year.is_none_or(|want| want == y);
    let mut per_type: Vec<(u64, Tally)> = vec![(0, Tally::default()); MeetingType::ALL.len()];
    let idx = |t: MeetingType| MeetingType::ALL.iter().position(|m| *m == t);
    let mut all = Tally::default();
    for (_, row) in rows.iter() {
        match row {
            ComplianceRow::Meeting(m) if in_year(m.date.year()) => {
                if let Some(i) = idx(m.meeting_type) {
                    per_type[i].0 += 1;
                }
            }
            ComplianceRow::Agreement(a) if !a.cancelled && in_year(a.issued_on.year()) => {
                all.add_track(&a.track, None);
                if let Some(i) = a.meeting_type.and_then(idx) {
                    per_type[i].1.add_track(&a.track, None);
                }
            }
            _ => {}
        }
    }
    CabinetReport {
        year,
        rows: MeetingType::ALL
            .iter()
            .zip(per_type)
            .map(|(t, (held, tally))| MeetingTypeRow {
                meeting_type: *t,
                label: t.label().to_owned(),
                meetings_held: held,
                agreements: tally.items,
                concluded: tally.concluded,
                in_progress: tally.in_progress,
                pending: tally.pending,
                general_compliance_pct: tally.pct(),
            })
            .collect(),
        summary: CabinetSummary {
            agreements: all.items,
            concluded: all.concluded,
            in_progress: all.in_progress,
            pending: all.pending,
            compliance_pct: all.pct(),
        },
    }
}

/// The report from the store (live or a past view).
pub async fn query(store: &EventStore, view: View, year: Option<i32>) -> Result<CabinetReport> {
    let rows = load::<Compliance>(store, view).await?;
    Ok(report(&rows, year))
}
