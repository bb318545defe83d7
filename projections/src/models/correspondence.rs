//! Projector `correspondence`: monthly totals of the reception (columns of the published
//! DGGD table) and per-letter turn/answer facts for per-agency figures.
//!
//! Keys: `month/<yyyy>-<mm>` (counters, month in Sonora time of the event's own date:
//! received, turned, opened, issued, recorded) and `letter/<stream>`.
//!
//! - relevantes / ccp: LetterReceived by classification;
//! - folios_*: LetterTurned on letters of that unit (each turn gets a turn folio);
//! - oficios_*: OutgoingLetterIssued; expedientes_*: CaseFileOpened;
//! - seguimientos_dggd: LetterFollowUpRecorded on DGGD letters.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use seguimiento_domain::values::{Classification, Unit};
use seguimiento_domain::{AggregateKind, DomainEvent};
use seguimiento_eventstore::EventStore;
use serde::{Deserialize, Serialize};

use super::{percent, round_half_up, year_month, Pct};
use crate::error::Result;
use crate::event::ProjectedEvent;
use crate::projector::Projector;
use crate::rows::Rows;
use crate::runner::as_of::{load, View};

/// The projector (registered as `correspondence`).
pub struct Correspondence;

report! {
    /// The columns of `correspondencia_2023.csv`.
    #[derive(Copy, Default)]
    pub struct MonthCounts as "CorrespondenceCounts" {
        pub relevantes: u64,
        pub ccp: u64,
        pub folios_dggd: u64,
        pub oficios_dggd: u64,
        pub expedientes_dggd: u64,
        pub seguimientos_dggd: u64,
        pub folios_oee: u64,
        pub oficios_oee: u64,
        pub expedientes_oee: u64,
        /// Seguimientos on OEE letters (not a published column).
        #[serde(default)]
        pub seguimientos_oee: u64,
    }
}

impl MonthCounts {
    fn add(&mut self, o: &MonthCounts) {
        self.relevantes += o.relevantes;
        self.ccp += o.ccp;
        self.folios_dggd += o.folios_dggd;
        self.oficios_dggd += o.oficios_dggd;
        self.expedientes_dggd += o.expedientes_dggd;
        self.seguimientos_dggd += o.seguimientos_dggd;
        self.folios_oee += o.folios_oee;
        self.oficios_oee += o.oficios_oee;
        self.expedientes_oee += o.expedientes_oee;
        self.seguimientos_oee += o.seguimientos_oee;
    }
}

/// A letter's facts (no sender/subject: not needed for any figure).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LetterDoc {
    pub folio: String,
    pub unit: Unit,
    pub classification: Classification,
    pub received_at: DateTime<Utc>,
    /// Every turn: (agency, turned at).
    pub turns: Vec<(String, DateTime<Utc>)>,
    pub answered_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "row", rename_all = "camelCase")]
pub enum CorrespondenceRow {
    Month(MonthCounts),
    Letter(LetterDoc),
}

fn month_key(t: DateTime<Utc>) -> String {
    let (y, m) = year_month(t);
    format!("month/{y:04}-{m:02}")
}

fn bump(rows: &mut Rows<CorrespondenceRow>, t: DateTime<Utc>, f: impl FnOnce(&mut MonthCounts)) {
    let row = rows.upsert_with(month_key(t), || {
        CorrespondenceRow::Month(MonthCounts::default())
    });
    if let CorrespondenceRow::Month(m) = row {
        f(m);
    }
}

fn letter_unit(rows: &Rows<CorrespondenceRow>, stream: &str) -> Option<Unit> {
    match rows.get(&format!("letter/{stream}")) {
        Some(CorrespondenceRow::Letter(l)) => Some(l.unit),
        _ => None,
    }
}

impl Projector for Correspondence {
    const NAME: &'static str = "correspondence";
    const READS: &'static [AggregateKind] = &[AggregateKind::Letter];
    type Row = CorrespondenceRow;

    fn apply(rows: &mut Rows<CorrespondenceRow>, ev: &ProjectedEvent) -> Result<()> {
        use DomainEvent as E;
        // A rebuild folds every event into every projection: other aggregates' events
        // leave before this projection's key is built for them.
        if ev.event.aggregate_kind() != AggregateKind::Letter {
            return Ok(());
        }
        let key = format!("letter/{}", ev.stream);
        match &ev.event {
            E::LetterReceived {
                folio,
                unit,
                classification,
                received_at,
                ..
            } => {
                rows.insert(
                    key,
                    CorrespondenceRow::Letter(LetterDoc {
                        folio: folio.clone(),
                        unit: *unit,
                        classification: *classification,
                        received_at: *received_at,
                        turns: Vec::new(),
                        answered_at: None,
                    }),
                );
                bump(rows, *received_at, |m| match classification {
                    Classification::Relevant => m.relevantes += 1,
                    Classification::Cc => m.ccp += 1,
                });
            }
            E::LetterTurned { agency, turned_at } => {
                let Some(unit) = letter_unit(rows, &ev.stream) else {
                    return Ok(());
                };
                if let Some(CorrespondenceRow::Letter(l)) = rows.get_mut(&key) {
                    l.turns.push((agency.clone(), *turned_at));
                }
                bump(rows, *turned_at, |m| match unit {
                    Unit::Dggd => m.folios_dggd += 1,
                    Unit::Oee => m.folios_oee += 1,
                });
            }
            E::CaseFileOpened { opened_at, .. } => {
                if let Some(unit) = letter_unit(rows, &ev.stream) {
                    bump(rows, *opened_at, |m| match unit {
                        Unit::Dggd => m.expedientes_dggd += 1,
                        Unit::Oee => m.expedientes_oee += 1,
                    });
                }
            }
            E::OutgoingLetterIssued { issued_at, .. } => {
                if let Some(unit) = letter_unit(rows, &ev.stream) {
                    bump(rows, *issued_at, |m| match unit {
                        Unit::Dggd => m.oficios_dggd += 1,
                        Unit::Oee => m.oficios_oee += 1,
                    });
                }
            }
            E::LetterFollowUpRecorded { recorded_at, .. } => {
                if let Some(unit) = letter_unit(rows, &ev.stream) {
                    bump(rows, *recorded_at, |m| match unit {
                        Unit::Dggd => m.seguimientos_dggd += 1,
                        Unit::Oee => m.seguimientos_oee += 1,
                    });
                }
            }
            E::LetterAnswered { answered_at } => {
                if let Some(CorrespondenceRow::Letter(l)) = rows.get_mut(&key) {
                    l.answered_at = Some(*answered_at);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn scopes(ev: &ProjectedEvent) -> Vec<String> {
        match ev.event.aggregate_kind() {
            AggregateKind::Letter => vec!["CORRESPONDENCE".to_owned()],
            _ => Vec::new(),
        }
    }
}

report! {
    /// One month (1..=12) of the table.
    pub struct MonthRow as "CorrespondenceMonth" {
        pub month: u32,
        #[serde(flatten)]
        #[cfg_attr(feature = "graphql", graphql(flatten))]
        pub counts: MonthCounts,
    }
}

report! {
    /// Turn figures of one agency (letters received in the year).
    pub struct AgencyTurns as "AgencyTurnFigures" {
        #[cfg_attr(feature = "graphql", graphql(name = "acronym"))]
        pub agency: String,
        /// Letters turned to the agency.
        pub letters_turned: u64,
        /// Share turned within 48 hours of receipt (first turn to the agency), two decimals.
        #[cfg_attr(feature = "graphql", graphql(name = "within48hPct"))]
        pub within_48h_pct: Pct,
        /// Turned letters not answered yet.
        pub unanswered: u64,
        /// Median hours from receipt to turn, two decimals.
        pub median_turn_hours: Pct,
    }
}

report! {
    pub struct CorrespondenceReport as "CorrespondenceMonthly" {
        pub year: i32,
        /// Always 12 rows, months 1..=12.
        pub months: Vec<MonthRow>,
        pub total: MonthCounts,
        /// By agency acronym.
        #[cfg_attr(feature = "graphql", graphql(skip))]
        pub agencies: Vec<AgencyTurns>,
    }
}

pub fn report(rows: &Rows<CorrespondenceRow>, year: i32) -> CorrespondenceReport {
    let mut total = MonthCounts::default();
    let months = (1..=12u32)
        .map(|m| {
            let counts = match rows.get(&format!("month/{year:04}-{m:02}")) {
                Some(CorrespondenceRow::Month(c)) => *c,
                _ => MonthCounts::default(),
            };
            total.add(&counts);
            MonthRow { month: m, counts }
        })
        .collect();
    // agency -> (hours to turn of each letter, within 48h, unanswered)
    let mut per: BTreeMap<String, (Vec<Decimal>, u64, u64)> = BTreeMap::new();
    for (_, row) in rows.with_prefix("letter/") {
        let CorrespondenceRow::Letter(l) = row else {
            continue;
        };
        if year_month(l.received_at).0 != year {
            continue;
        }
        let mut seen: Vec<&str> = Vec::new();
        for (agency, at) in &l.turns {
            if seen.contains(&agency.as_str()) {
                continue;
            }
            seen.push(agency);
            let secs = (*at - l.received_at).num_seconds().max(0);
            let hours = Decimal::from(secs) / Decimal::from(3600);
            let e = per.entry(agency.clone()).or_default();
            if secs <= 48 * 3600 {
                e.1 += 1;
            }
            if l.answered_at.is_none() {
                e.2 += 1;
            }
            e.0.push(hours);
        }
    }
    let agencies = per
        .into_iter()
        .map(|(agency, (mut hours, within, unanswered))| {
            hours.sort();
            let n = hours.len();
            let median = match n {
                0 => Decimal::ZERO,
                _ if n % 2 == 1 => hours[n / 2],
                _ => (hours[n / 2 - 1] + hours[n / 2]) / Decimal::TWO,
            };
            AgencyTurns {
                agency,
                letters_turned: n as u64,
                within_48h_pct: Pct(percent(within, n as u64)),
                unanswered,
                median_turn_hours: Pct(round_half_up(median, 2)),
            }
        })
        .collect();
    CorrespondenceReport {
        year,
        months,
        total,
        agencies,
    }
}

pub async fn query(store: &EventStore, view: View, year: i32) -> Result<CorrespondenceReport> {
    let rows = load::<Correspondence>(store, view).await?;
    Ok(report(&rows, year))
}
