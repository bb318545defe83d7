//! Informe de cumplimiento de gabinetes: per meeting type (every tipo de gabinete of the
//! catalogue in its order, zeros included) meetings held, agreements and general compliance; and
//! the overall summary over ALL agreements and instructions (any origin), not cancelled.

use super::Pct;
use chrono::Datelike;
use seguimiento_domain::catalogue::Catalogue;
use seguimiento_domain::values::MeetingType;
use seguimiento_eventstore::EventStore;

use super::catalogue;
use super::compliance::{Compliance, ComplianceRow};
use super::item::Tally;
use crate::error::Result;
use crate::rows::Rows;
use crate::runner::as_of::{load, View};

report! {
    /// One meeting type.
    pub struct MeetingTypeRow as "MeetingTypeCompliance" {
        pub meeting_type: MeetingType,
        /// As published ("GABINETE PRIORITARIO DE AGUA").
        pub label: String,
        pub meetings_held: u64,
        pub agreements: u64,
        pub concluded: u64,
        pub in_progress: u64,
        pub pending: u64,
        /// Mean item progress of its agreements, two decimals (0 without agreements).
        pub general_compliance_pct: Pct,
    }
}

report! {
    /// Overall cabinet compliance.
    pub struct CabinetSummary as "CabinetOverall" {
        pub agreements: u64,
        pub concluded: u64,
        pub in_progress: u64,
        pub pending: u64,
        pub compliance_pct: Pct,
    }
}

report! {
    /// Cabinet compliance report: per meeting type and overall.
    pub struct CabinetReport as "CabinetReport" {
        pub year: Option<i32>,
        #[cfg_attr(feature = "graphql", graphql(name = "meetingTypes"))]
        pub rows: Vec<MeetingTypeRow>,
        #[cfg_attr(feature = "graphql", graphql(name = "overall"))]
        pub summary: CabinetSummary,
    }
}

/// Computes the report; `year` filters meetings by date and agreements by issue date.
/// Rows: every tipo de gabinete of the catalogue in its order (zeros included), then any
/// type stored meetings name that the catalogue does not hold, labelled with its code.
pub fn report(rows: &Rows<ComplianceRow>, year: Option<i32>) -> CabinetReport {
    let in_year = |y: i32| year.is_none_or(|want| want == y);
    let mut per_type: Vec<(MeetingType, String, u64, Tally)> =
        catalogue::entries(rows, Catalogue::MeetingType)
            .into_iter()
            .map(|e| {
                let t = MeetingType::new(e.code.clone());
                (t, e.label.clone(), 0, Tally::default())
            })
            .collect();
    let known = per_type.len();
    let mut all = Tally::default();
    for (_, row) in rows.iter() {
        match row {
            ComplianceRow::Meeting(m) if in_year(m.date.year()) => {
                let i = slot(&mut per_type, &m.meeting_type);
                per_type[i].2 += 1;
            }
            ComplianceRow::Agreement(a) if !a.cancelled && in_year(a.issued_on.year()) => {
                all.add_track(&a.track, None);
                if let Some(t) = &a.meeting_type {
                    let i = slot(&mut per_type, t);
                    per_type[i].3.add_track(&a.track, None);
                }
            }
            _ => {}
        }
    }
    // Types outside the catalogue in code order, after the catalogue's.
    per_type[known..].sort_by(|a, b| a.0.cmp(&b.0));
    CabinetReport {
        year,
        rows: per_type
            .into_iter()
            .map(|(meeting_type, label, held, tally)| MeetingTypeRow {
                meeting_type,
                label,
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

/// The row of `meeting_type`, added (labelled with its code) when the catalogue lacks it.
fn slot(
    per_type: &mut Vec<(MeetingType, String, u64, Tally)>,
    meeting_type: &MeetingType,
) -> usize {
    match per_type.iter().position(|(t, ..)| t == meeting_type) {
        Some(i) => i,
        None => {
            let label = meeting_type.to_string();
            per_type.push((meeting_type.clone(), label, 0, Tally::default()));
            per_type.len() - 1
        }
    }
}

/// The report from the store (live or a past view).
pub async fn query(store: &EventStore, view: View, year: Option<i32>) -> Result<CabinetReport> {
    let rows = load::<Compliance>(store, view).await?;
    Ok(report(&rows, year))
}
