//! Semáforo (compliance per agency) for three scopes, computed from the `compliance`
//! rows: per key, assigned / items / concluded / in progress / pending / overdue and the
//! mean item progress (exact decimals; two decimals and whole percent, half up).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use seguimiento_domain::values::Status;
use seguimiento_eventstore::EventStore;
use serde::{Deserialize, Serialize};

use super::compliance::{agency_key, Compliance, ComplianceRow};
use super::item::{EventRef, Tally, Track};
use super::{AmountSum, FigureError, Pct};
use crate::error::Result;
use crate::rows::Rows;
use crate::runner::as_of::{load, View};

/// Which items a semáforo counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::Enum),
    graphql(name = "ComplianceScope")
)]
pub enum Scope {
    /// Acciones registradas sobre compromisos de campaña, per agency.
    CommitmentActions,
    /// Acuerdos e instrucciones (not cancelled), counted for every responsible agency.
    CabinetAgreements,
    /// (actividad, responsable) pairs, per responsible person.
    Activities,
}

impl Scope {
    pub const ALL: [Scope; 3] = [
        Scope::CommitmentActions,
        Scope::CabinetAgreements,
        Scope::Activities,
    ];

    /// The scope name used in notifications.
    pub fn name(self) -> &'static str {
        use super::compliance::scope;
        match self {
            Scope::CommitmentActions => scope::COMMITMENT_ACTIONS,
            Scope::CabinetAgreements => scope::CABINET_AGREEMENTS,
            Scope::Activities => scope::ACTIVITIES,
        }
    }
}

report! {
    /// One row of a semáforo.
    pub struct SemaforoRow as "ComplianceRow" {
        /// Agency acronym or responsible person; `TOTAL` for the total row.
        pub key: String,
        /// Agency name from the catalog (the acronym when unknown) or the person.
        pub name: String,
        /// Commitments assigned (commitment actions) or items (other scopes).
        pub assigned: u64,
        pub items: u64,
        pub concluded: u64,
        pub in_progress: u64,
        pub pending: u64,
        /// Due before the report date and not concluded.
        pub overdue: u64,
        /// Mean item progress, two decimals, half up.
        pub compliance_pct: Pct,
        /// Mean item progress, whole percent, half up (as published).
        pub compliance_whole: u64,
        /// Sum of the actions' investment (commitment actions; "0.00" otherwise), exact;
        /// null when the stored amounts do not add up (see `error`).
        pub investment_mxn: Option<String>,
        /// Why a figure of this row is null; every other row answers as usual.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub error: Option<FigureError>,
    }
}

report! {
    /// A semáforo: rows sorted by compliance (descending, exact), then key; plus the total.
    pub struct SemaforoReport as "ComplianceReport" {
        pub scope: Scope,
        /// The date "overdue" is judged on.
        pub report_date: NaiveDate,
        pub rows: Vec<SemaforoRow>,
        pub total: SemaforoRow,
    }
}

report! {
    /// One item behind a semáforo row.
    pub struct ExplainedItem as "ExplainedItem" {
        /// Action, agreement or activity id.
        pub item_id: String,
        /// Human reference: "Compromiso 12", the agreement's description, the activity title.
        pub reference: String,
        pub status: Status,
        /// The progress the item counts with.
        pub progress_used: Pct,
        pub overdue: bool,
        /// The event that set the current status.
        pub status_event: Option<EventRef>,
        /// The event the used progress comes from.
        pub progress_event: Option<EventRef>,
    }
}

struct Item<'a> {
    key: String,
    id: String,
    reference: String,
    track: &'a Track,
    investment: Decimal,
    /// The event the investment was registered by.
    position: u64,
}

fn items<'a>(rows: &'a Rows<ComplianceRow>, scope: Scope) -> Vec<Item<'a>> {
    let mut out = Vec::new();
    for (_, row) in rows.iter() {
        match (scope, row) {
            (Scope::CommitmentActions, ComplianceRow::Action(a)) => out.push(Item {
                key: a.agency.clone(),
                id: a.action_id.to_string(),
                reference: format!("Compromiso {}", a.number),
                track: &a.track,
                investment: a.investment_mxn,
                position: a.track.facts.first().map_or(0, |f| f.position),
            }),
            (Scope::CabinetAgreements, ComplianceRow::Agreement(a)) if !a.cancelled => {
                for agency in &a.agencies {
                    out.push(Item {
                        key: agency.clone(),
                        id: a.agreement_id.to_string(),
                        reference: a.description.clone(),
                        track: &a.track,
                        investment: Decimal::ZERO,
                        position: 0,
                    });
                }
            }
            (Scope::Activities, ComplianceRow::Activity(a)) => {
                for (person, track) in &a.responsibles {
                    out.push(Item {
                        key: person.clone(),
                        id: a.activity_id.to_string(),
                        reference: a.title.clone(),
                        track,
                        investment: Decimal::ZERO,
                        position: 0,
                    });
                }
            }
            _ => {}
        }
    }
    out
}

fn name_of(rows: &Rows<ComplianceRow>, scope: Scope, key: &str) -> String {
    match (scope, rows.get(&agency_key(key))) {
        (Scope::Activities, _) => key.to_owned(),
        (_, Some(ComplianceRow::Agency(a))) => a.name.clone(),
        _ => key.to_owned(),
    }
}

fn row(key: String, name: String, assigned: u64, t: &Tally, investment: &AmountSum) -> SemaforoRow {
    SemaforoRow {
        key,
        name,
        assigned,
        items: t.items,
        concluded: t.concluded,
        in_progress: t.in_progress,
        pending: t.pending,
        overdue: t.overdue,
        compliance_pct: t.pct(),
        compliance_whole: t.whole(),
        investment_mxn: investment.text(),
        error: investment.error(),
    }
}

/// Computes a semáforo from the `compliance` rows; `report_date` decides "overdue".
pub fn semaforo(
    rows: &Rows<ComplianceRow>,
    scope: Scope,
    report_date: NaiveDate,
) -> SemaforoReport {
    let mut tallies: BTreeMap<String, (Tally, AmountSum)> = BTreeMap::new();
    // Amounts are added in log order, so a sum that overflows names the event that made
    // it overflow whatever the order of the rows' keys.
    let mut its = items(rows, scope);
    its.sort_by_key(|it| it.position);
    for it in its {
        let e = tallies.entry(it.key).or_default();
        e.0.add_track(it.track, Some(report_date));
        e.1.add(it.investment, it.position);
    }
    let mut assigned: BTreeMap<String, u64> = BTreeMap::new();
    if scope == Scope::CommitmentActions {
        for (_, r) in rows.iter() {
            if let ComplianceRow::Commitment(c) = r {
                for a in &c.agencies {
                    *assigned.entry(a.clone()).or_default() += 1;
                    tallies.entry(a.clone()).or_default();
                }
            }
        }
    }
    let mut total = Tally::default();
    let mut total_inv = AmountSum::default();
    let mut total_assigned = 0;
    let mut out: Vec<(Decimal, SemaforoRow)> = Vec::new();
    for (key, (t, inv)) in &tallies {
        let asg = match scope {
            Scope::CommitmentActions => assigned.get(key).copied().unwrap_or(0),
            _ => t.items,
        };
        total.merge(t);
        total_inv.merge(inv);
        total_assigned += asg;
        out.push((
            t.mean(),
            row(key.clone(), name_of(rows, scope, key), asg, t, inv),
        ));
    }
    out.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.key.cmp(&b.1.key)));
    SemaforoReport {
        scope,
        report_date,
        rows: out.into_iter().map(|(_, r)| r).collect(),
        total: row(
            "TOTAL".into(),
            "Total".into(),
            total_assigned,
            &total,
            &total_inv,
        ),
    }
}

/// The items behind one semáforo row, in key order of the items.
pub fn explain(
    rows: &Rows<ComplianceRow>,
    scope: Scope,
    key: &str,
    report_date: NaiveDate,
) -> Vec<ExplainedItem> {
    items(rows, scope)
        .into_iter()
        .filter(|it| it.key == key)
        .map(|it| ExplainedItem {
            item_id: it.id,
            reference: it.reference,
            status: it.track.status(),
            progress_used: Pct(it.track.progress_used()),
            overdue: it.track.overdue(report_date),
            status_event: it.track.status_source(),
            progress_event: it.track.progress_source(),
        })
        .collect()
}

/// Semáforo from the store: the live read model, or a past view (see [`View`]).
/// `report_date` defaults to the view's instant or today (in Sonora).
pub async fn query(
    store: &EventStore,
    scope: Scope,
    view: View,
    report_date: Option<NaiveDate>,
) -> Result<SemaforoReport> {
    let rows = load::<Compliance>(store, view).await?;
    let date = report_date.unwrap_or_else(|| default_date(view));
    if !view.is_live() {
        return Ok(semaforo(&rows, scope, date));
    }
    Ok(store.shared::<LiveMemo>().get_or_compute(rows, scope, date))
}

/// Live semáforos computed once per (read-model snapshot, scope, date), kept with the
/// store handle ([`EventStore::shared`]). The live rows are shared snapshots replaced
/// whenever the projection moves (see [`load`]): an entry holds its snapshot and is used
/// only for that same snapshot (`Arc::ptr_eq`), so a newer one never gets an old answer.
#[derive(Default)]
struct LiveMemo(Mutex<Vec<MemoEntry>>);

struct MemoEntry {
    rows: Arc<Rows<ComplianceRow>>,
    scope: Scope,
    date: NaiveDate,
    report: SemaforoReport,
}

/// Entries kept before the memo is cleared: a few scopes and dates of the current snapshot.
const MEMO_CAPACITY: usize = 32;

impl LiveMemo {
    fn get_or_compute(
        &self,
        rows: Arc<Rows<ComplianceRow>>,
        scope: Scope,
        date: NaiveDate,
    ) -> SemaforoReport {
        let same =
            |e: &MemoEntry| Arc::ptr_eq(&e.rows, &rows) && e.scope == scope && e.date == date;
        if let Some(e) = self
            .0
            .lock()
            .ok()
            .as_ref()
            .and_then(|m| m.iter().find(|e| same(e)))
        {
            return e.report.clone();
        }
        let report = semaforo(&rows, scope, date);
        if let Ok(mut memo) = self.0.lock() {
            // Entries of older snapshots are never used again.
            memo.retain(|e| Arc::ptr_eq(&e.rows, &rows));
            if memo.len() >= MEMO_CAPACITY {
                memo.clear();
            }
            memo.push(MemoEntry {
                rows,
                scope,
                date,
                report: report.clone(),
            });
        }
        report
    }
}

/// [`explain`] from the store.
pub async fn query_explain(
    store: &EventStore,
    scope: Scope,
    key: &str,
    view: View,
    report_date: Option<NaiveDate>,
) -> Result<Vec<ExplainedItem>> {
    let rows = load::<Compliance>(store, view).await?;
    Ok(explain(
        &rows,
        scope,
        key,
        report_date.unwrap_or_else(|| default_date(view)),
    ))
}

/// The report date of a view: its instant, or now, as a date in Sonora.
pub fn default_date(view: View) -> NaiveDate {
    super::local_date(view.instant().unwrap_or_else(chrono::Utc::now))
}
