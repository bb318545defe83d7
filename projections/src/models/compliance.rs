//! Projector `compliance`: the facts behind every semáforo, the cabinet report and the
//! commitments report — agency catalog, cabinet meetings, agreements/instructions,
//! campaign commitments with their actions, and activities with their responsibles.
//!
//! Keys: `agency/<ACRONYM>`, `meeting/<stream>`, `agreement/<stream>`,
//! `commitment/<stream>`, `action/<actionId>`, `activity/<stream>`, and the tipos de
//! gabinete of the catalogue under `entry/MEETING_TYPE/<code>`. Aggregation happens
//! at query time (see [`super::semaforo`], [`super::cabinet`], [`super::commitments`]),
//! since "overdue" depends on the report date and reports filter by year.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use seguimiento_domain::catalogue::Catalogue;
use seguimiento_domain::values::{ItemKind, MeetingType, Origin, Status};
use seguimiento_domain::{AggregateKind, DomainEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::catalogue::{self, EntryDoc};
use super::item::{fold_agreement_event, Track};
use crate::error::Result;
use crate::event::ProjectedEvent;
use crate::projector::Projector;
use crate::rows::Rows;

/// The projector (registered as `compliance`).
pub struct Compliance;

/// Scope names used in change notifications.
pub mod scope {
    pub const COMMITMENT_ACTIONS: &str = "COMMITMENT_ACTIONS";
    pub const CABINET_AGREEMENTS: &str = "CABINET_AGREEMENTS";
    pub const ACTIVITIES: &str = "ACTIVITIES";
    pub const CABINET_REPORT: &str = "CABINET_REPORT";
    pub const COMMITMENTS: &str = "COMMITMENTS";
}

/// Dependencia del catálogo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgencyDoc {
    pub acronym: String,
    pub name: String,
    pub active: bool,
}

/// Reunión de gabinete celebrada.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeetingDoc {
    pub meeting_id: Uuid,
    pub meeting_type: MeetingType,
    pub date: NaiveDate,
}

/// Acuerdo o instrucción.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgreementDoc {
    pub agreement_id: Uuid,
    pub kind: ItemKind,
    pub origin: Origin,
    pub meeting_type: Option<MeetingType>,
    pub description: String,
    /// Current responsible agencies (after reassignments).
    pub agencies: Vec<String>,
    pub issued_on: NaiveDate,
    pub cancelled: bool,
    pub track: Track,
}

/// Compromiso de campaña.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitmentDoc {
    pub number: u32,
    pub text: String,
    pub agencies: Vec<String>,
}

/// Acción registrada por una dependencia sobre un compromiso.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionDoc {
    pub action_id: Uuid,
    pub number: u32,
    pub agency: String,
    pub investment_mxn: Decimal,
    pub track: Track,
}

/// Actividad with the track of each responsible.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityDoc {
    pub activity_id: Uuid,
    pub title: String,
    pub due_on: NaiveDate,
    pub responsibles: BTreeMap<String, Track>,
    pub concluded: bool,
}

/// One stored row of the projection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "row", rename_all = "camelCase")]
pub enum ComplianceRow {
    Agency(AgencyDoc),
    Meeting(MeetingDoc),
    Agreement(AgreementDoc),
    Commitment(CommitmentDoc),
    Action(ActionDoc),
    Activity(ActivityDoc),
    /// A tipo de gabinete of the catalogue, for the cabinet report's labels and order.
    Entry(EntryDoc),
}

catalogue::holds_entries!(ComplianceRow::Entry);

pub(crate) fn agency_key(acronym: &str) -> String {
    format!("agency/{acronym}")
}
fn agreement_key(stream: &str) -> String {
    format!("agreement/{stream}")
}
fn commitment_key(stream: &str) -> String {
    format!("commitment/{stream}")
}
fn action_key(id: Uuid) -> String {
    format!("action/{id}")
}
fn activity_key(stream: &str) -> String {
    format!("activity/{stream}")
}

fn agreement_mut<'a>(
    rows: &'a mut Rows<ComplianceRow>,
    stream: &str,
) -> Option<&'a mut AgreementDoc> {
    match rows.get_mut(&agreement_key(stream)) {
        Some(ComplianceRow::Agreement(a)) => Some(a),
        _ => None,
    }
}

fn action_mut(rows: &mut Rows<ComplianceRow>, id: Uuid) -> Option<&mut ActionDoc> {
    match rows.get_mut(&action_key(id)) {
        Some(ComplianceRow::Action(a)) => Some(a),
        _ => None,
    }
}

fn activity_mut<'a>(
    rows: &'a mut Rows<ComplianceRow>,
    stream: &str,
) -> Option<&'a mut ActivityDoc> {
    match rows.get_mut(&activity_key(stream)) {
        Some(ComplianceRow::Activity(a)) => Some(a),
        _ => None,
    }
}

impl Projector for Compliance {
    const NAME: &'static str = "compliance";
    const READS: &'static [AggregateKind] = &[
        AggregateKind::AgencyCatalog,
        AggregateKind::CabinetMeeting,
        AggregateKind::Agreement,
        AggregateKind::Commitment,
        AggregateKind::Activity,
    ];
    type Row = ComplianceRow;

    /// Events about items the view does not contain (e.g. an as-of-effective view that
    /// excludes the creation) are ignored: there is nothing to update.
    fn apply(rows: &mut Rows<ComplianceRow>, ev: &ProjectedEvent) -> Result<()> {
        use DomainEvent as E;
        match &ev.event {
            E::CatalogueEntryRegistered { .. }
            | E::CatalogueEntryRenamed { .. }
            | E::CatalogueEntryRetired { .. } => {
                catalogue::apply(rows, &ev.event, &[Catalogue::MeetingType]);
            }
            E::AgencyRegistered { acronym, name, .. } => rows.insert(
                agency_key(acronym),
                ComplianceRow::Agency(AgencyDoc {
                    acronym: acronym.clone(),
                    name: name.clone(),
                    active: true,
                }),
            ),
            E::AgencyRenamed { acronym, name } => {
                if let Some(ComplianceRow::Agency(a)) = rows.get_mut(&agency_key(acronym)) {
                    a.name.clone_from(name);
                }
            }
            E::AgencyDeactivated { acronym } => {
                if let Some(ComplianceRow::Agency(a)) = rows.get_mut(&agency_key(acronym)) {
                    a.active = false;
                }
            }
            E::CabinetMeetingHeld {
                meeting_id,
                meeting_type,
                date,
                ..
            } => rows.insert(
                format!("meeting/{}", ev.stream),
                ComplianceRow::Meeting(MeetingDoc {
                    meeting_id: *meeting_id,
                    meeting_type: meeting_type.clone(),
                    date: *date,
                }),
            ),
            E::AgreementCreated {
                agreement_id,
                kind,
                origin,
                meeting_type,
                description,
                agencies,
                issued_on,
                due_on,
                ..
            } => {
                let track = Track::created(ev, *due_on);
                rows.insert(
                    agreement_key(&ev.stream),
                    ComplianceRow::Agreement(AgreementDoc {
                        agreement_id: *agreement_id,
                        kind: *kind,
                        origin: *origin,
                        meeting_type: meeting_type.clone(),
                        description: description.clone(),
                        agencies: agencies.clone(),
                        issued_on: *issued_on,
                        cancelled: false,
                        track,
                    }),
                );
            }
            E::ProgressReported { .. }
            | E::StatusChanged { .. }
            | E::AgreementCancelled { .. }
            | E::EventCorrected { .. } => {
                if let Some(a) = agreement_mut(rows, &ev.stream) {
                    fold_agreement_event(&mut a.track, &mut a.description, &mut a.cancelled, ev);
                }
            }
            E::AgreementReassigned { agencies, .. } => {
                if let Some(a) = agreement_mut(rows, &ev.stream) {
                    a.agencies.clone_from(agencies);
                }
            }
            E::CommitmentRegistered { number, text } => rows.insert(
                commitment_key(&ev.stream),
                ComplianceRow::Commitment(CommitmentDoc {
                    number: *number,
                    text: text.clone(),
                    agencies: Vec::new(),
                }),
            ),
            E::CommitmentAssigned { agencies } => {
                if let Some(ComplianceRow::Commitment(c)) =
                    rows.get_mut(&commitment_key(&ev.stream))
                {
                    for a in agencies {
                        if !c.agencies.contains(a) {
                            c.agencies.push(a.clone());
                        }
                    }
                }
            }
            E::ActionRegistered {
                action_id,
                agency,
                status,
                progress,
                investment_mxn,
                ..
            } => {
                let number = match rows.get(&commitment_key(&ev.stream)) {
                    Some(ComplianceRow::Commitment(c)) => c.number,
                    _ => return Ok(()),
                };
                let mut track = Track::default();
                track.record(ev, Some(*status), *progress, None);
                rows.insert(
                    action_key(*action_id),
                    ComplianceRow::Action(ActionDoc {
                        action_id: *action_id,
                        number,
                        agency: agency.clone(),
                        investment_mxn: investment_mxn.amount(),
                        track,
                    }),
                );
            }
            E::ActionStatusChanged { action_id, status } => {
                if let Some(a) = action_mut(rows, *action_id) {
                    a.track.record(ev, Some(*status), None, None);
                }
            }
            E::ActionProgressReported {
                action_id,
                progress,
            } => {
                if let Some(a) = action_mut(rows, *action_id) {
                    a.track.record(ev, None, Some(*progress), None);
                }
            }
            E::ActivityCreated {
                activity_id,
                title,
                due_on,
                responsibles,
                ..
            } => {
                let responsibles = responsibles
                    .iter()
                    .map(|r| {
                        let mut t = Track::default();
                        t.record(ev, Some(Status::Pending), None, Some(*due_on));
                        (r.clone(), t)
                    })
                    .collect();
                rows.insert(
                    activity_key(&ev.stream),
                    ComplianceRow::Activity(ActivityDoc {
                        activity_id: *activity_id,
                        title: title.clone(),
                        due_on: *due_on,
                        responsibles,
                        concluded: false,
                    }),
                );
            }
            E::ResponsibleReported {
                responsible,
                status,
                progress,
            } => {
                if let Some(a) = activity_mut(rows, &ev.stream) {
                    if let Some(t) = a.responsibles.get_mut(responsible) {
                        t.record(ev, Some(*status), Some(*progress), None);
                    }
                }
            }
            E::ResponsibleClosed { responsible } => {
                if let Some(a) = activity_mut(rows, &ev.stream) {
                    if let Some(t) = a.responsibles.get_mut(responsible) {
                        t.record(ev, Some(Status::Concluded), None, None);
                    }
                }
            }
            E::ActivityConcluded {} => {
                if let Some(a) = activity_mut(rows, &ev.stream) {
                    a.concluded = true;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn scopes(ev: &ProjectedEvent) -> Vec<String> {
        use DomainEvent as E;
        let s: &[&str] = match &ev.event {
            E::AgencyRegistered { .. } | E::AgencyRenamed { .. } | E::AgencyDeactivated { .. } => {
                &[scope::COMMITMENT_ACTIONS, scope::CABINET_AGREEMENTS]
            }
            E::CabinetMeetingHeld { .. } => &[scope::CABINET_REPORT],
            E::AgreementCreated { .. }
            | E::ProgressReported { .. }
            | E::StatusChanged { .. }
            | E::AgreementReassigned { .. }
            | E::AgreementCancelled { .. }
            | E::EventCorrected { .. } => &[scope::CABINET_AGREEMENTS, scope::CABINET_REPORT],
            E::CommitmentRegistered { .. }
            | E::CommitmentAssigned { .. }
            | E::ActionRegistered { .. }
            | E::ActionStatusChanged { .. }
            | E::ActionProgressReported { .. } => &[scope::COMMITMENT_ACTIONS, scope::COMMITMENTS],
            E::ActivityCreated { .. }
            | E::ResponsibleReported { .. }
            | E::ResponsibleClosed { .. }
            | E::ActivityConcluded {} => &[scope::ACTIVITIES],
            _ => &[],
        };
        s.iter().map(|s| (*s).to_owned()).collect()
    }
}
