//! Acuerdo de gabinete o instrucción del Gobernador (stream `agreement-<uuid>`).
//!
//! Workflow: created (origin: cabinet meeting, press conference or special project) and
//! assigned to agencies and a responsible person → progress reports, follow-up actions
//! ("última acción realizada"), status changes Pendiente → En proceso → Concluido;
//! instructions also pass ordered stages (Oficio … Ejecución al 100%). Mistakes are fixed
//! with `EventCorrected`, the only way back from Concluido. A cancelled agreement accepts
//! no more writes.

use chrono::NaiveDate;
use uuid::Uuid;

use crate::agreement_stream;
use crate::command::{input, route, Agencies, Command, Route};
use crate::error::DomainError;
use crate::event::DomainEvent;
use crate::rules::{active_agencies, in_order, optional, required, status_transition};
use crate::values::{
    InstructionStage, ItemKind, MeetingType, Origin, Progress, Status, YearBudget,
};
use crate::{Aggregate, Context};

// ----- Commands: inputs and routing -----

input! {
    /// Registrar acuerdo o instrucción.
    pub struct CreateAgreementInput {
        pub agreement_id: Uuid,
        pub kind: ItemKind,
        pub origin: Origin,
        /// Required when the origin is a cabinet meeting.
        pub meeting_id: Option<Uuid>,
        /// The press conference an instruction was given at (origin press conference).
        #[serde(default)]
        #[cfg_attr(feature = "graphql", graphql(default))]
        pub conference_id: Option<Uuid>,
        pub description: String,
        pub agencies: Vec<String>,
        pub responsible_person: String,
        pub issuer: String,
        #[serde(deserialize_with = "crate::validate::strict_date")]
        pub issued_on: NaiveDate,
        #[serde(default, deserialize_with = "crate::validate::strict_optional_date")]
        pub due_on: Option<NaiveDate>,
        #[serde(default)]
        #[cfg_attr(feature = "graphql", graphql(default))]
        pub budget: Vec<YearBudget>,
    }
}

input! {
    pub struct ChangeInstructionStageInput { pub agreement_id: Uuid, pub stage: InstructionStage }
}

input! {
    pub struct ReportAgreementProgressInput {
        pub agreement_id: Uuid,
        pub progress: Progress,
        pub note: Option<String>,
    }
}

input! {
    /// Registrar "última acción realizada".
    pub struct RecordFollowUpActionInput {
        pub agreement_id: Uuid,
        pub text: String,
        #[serde(deserialize_with = "crate::validate::strict_date")]
        pub date: NaiveDate,
    }
}

input! {
    pub struct ChangeAgreementStatusInput { pub agreement_id: Uuid, pub status: Status }
}

input! {
    pub struct ReassignAgreementInput {
        pub agreement_id: Uuid,
        pub agencies: Vec<String>,
        pub responsible_person: String,
    }
}

input! {
    pub struct CancelAgreementInput { pub agreement_id: Uuid, pub reason: String }
}

input! {
    /// Corregir un evento: the values given win over the corrected event's.
    pub struct CorrectAgreementEventInput {
        pub agreement_id: Uuid,
        pub corrected_event_id: Uuid,
        pub reason: String,
        pub status: Option<Status>,
        pub progress: Option<Progress>,
        #[serde(default, deserialize_with = "crate::validate::strict_optional_date")]
        pub due_on: Option<NaiveDate>,
        pub description: Option<String>,
    }
}

impl Route for CreateAgreementInput {
    fn stream_id(&self) -> String {
        agreement_stream(self.agreement_id)
    }
    fn agencies_touched(&self, _: &[DomainEvent], out: &mut Agencies) {
        out.extend(&self.agencies);
    }
    fn reference(&self) -> Option<String> {
        match (self.meeting_id, self.conference_id) {
            (Some(m), _) => Some(crate::meeting_stream(m)),
            (None, Some(c)) => Some(crate::press_conference::conference_stream(c)),
            (None, None) => None,
        }
    }
}
impl Route for ReassignAgreementInput {
    fn stream_id(&self) -> String {
        agreement_stream(self.agreement_id)
    }
    /// Both the agencies it leaves and the ones it goes to.
    fn agencies_touched(&self, history: &[DomainEvent], out: &mut Agencies) {
        out.extend(agreement_agencies(history));
        out.extend(&self.agencies);
    }
}
route!(ChangeInstructionStageInput, ReportAgreementProgressInput, RecordFollowUpActionInput,
       ChangeAgreementStatusInput, CancelAgreementInput, CorrectAgreementEventInput
    => |i| agreement_stream(i.agreement_id),
       |_, history, out| out.extend(agreement_agencies(history)));

/// The agencies an agreement is currently assigned to.
fn agreement_agencies(history: &[DomainEvent]) -> Vec<String> {
    let mut current = Vec::new();
    for e in history {
        match e {
            DomainEvent::AgreementCreated { agencies, .. }
            | DomainEvent::AgreementReassigned { agencies, .. } => current.clone_from(agencies),
            _ => {}
        }
    }
    current
}

// ----- State and rules -----

/// An agreement as of the folded events.
#[derive(Debug, Clone, PartialEq)]
pub struct Agreement {
    pub agreement_id: Uuid,
    pub kind: ItemKind,
    pub origin: Origin,
    pub meeting_id: Option<Uuid>,
    pub meeting_type: Option<MeetingType>,
    pub description: String,
    pub agencies: Vec<String>,
    pub responsible_person: String,
    pub issuer: String,
    pub issued_on: NaiveDate,
    pub due_on: Option<NaiveDate>,
    pub budget: Vec<YearBudget>,
    pub status: Status,
    /// Last reported progress (or corrected value).
    pub progress: Option<Progress>,
    /// Instructions only; starts at `Oficio`.
    pub stage: Option<InstructionStage>,
    /// The cancellation reason once cancelled.
    pub cancelled: Option<String>,
    pub last_follow_up: Option<(NaiveDate, String)>,
}

/// State of an `agreement-<uuid>` stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgreementState {
    pub agreement: Option<Agreement>,
}

impl AgreementState {
    /// The agreement, which must exist and not be cancelled.
    fn writable(&self, cmd: &Command) -> Result<&Agreement, DomainError> {
        let a = self
            .agreement
            .as_ref()
            .ok_or_else(|| DomainError::NotFound(cmd.stream_id()))?;
        if a.cancelled.is_some() {
            return Err(DomainError::ForbiddenTransition {
                from: "Cancelled".into(),
                to: cmd.name().into(),
            });
        }
        Ok(a)
    }
}

impl Aggregate for AgreementState {
    fn apply(&mut self, event: &DomainEvent) {
        if let DomainEvent::AgreementCreated {
            agreement_id,
            kind,
            origin,
            meeting_id,
            meeting_type,
            description,
            agencies,
            responsible_person,
            issuer,
            issued_on,
            due_on,
            budget,
            ..
        } = event
        {
            self.agreement = Some(Agreement {
                agreement_id: *agreement_id,
                kind: *kind,
                origin: *origin,
                meeting_id: *meeting_id,
                meeting_type: meeting_type.clone(),
                description: description.clone(),
                agencies: agencies.clone(),
                responsible_person: responsible_person.clone(),
                issuer: issuer.clone(),
                issued_on: *issued_on,
                due_on: *due_on,
                budget: budget.clone(),
                status: Status::Pending,
                progress: None,
                stage: (*kind == ItemKind::Instruction).then_some(InstructionStage::Oficio),
                cancelled: None,
                last_follow_up: None,
            });
            return;
        }
        let Some(a) = self.agreement.as_mut() else {
            return;
        };
        match event {
            DomainEvent::InstructionStageChanged { stage } => a.stage = Some(*stage),
            DomainEvent::ProgressReported { progress, .. } => a.progress = Some(*progress),
            DomainEvent::FollowUpActionRecorded { text, date } => {
                a.last_follow_up = Some((*date, text.clone()));
            }
            DomainEvent::StatusChanged { status } => a.status = *status,
            DomainEvent::AgreementReassigned {
                agencies,
                responsible_person,
            } => {
                a.agencies.clone_from(agencies);
                a.responsible_person.clone_from(responsible_person);
            }
            DomainEvent::AgreementCancelled { reason } => a.cancelled = Some(reason.clone()),
            DomainEvent::EventCorrected {
                status,
                progress,
                due_on,
                description,
                ..
            } => {
                // The corrected event stays in the stream; the corrected values win.
                if let Some(s) = status {
                    a.status = *s;
                }
                if let Some(p) = progress {
                    a.progress = Some(*p);
                }
                if let Some(d) = due_on {
                    a.due_on = Some(*d);
                }
                if let Some(d) = description {
                    a.description.clone_from(d);
                }
            }
            _ => {}
        }
    }
    fn decide(&self, cmd: &Command, ctx: &Context) -> Result<Vec<DomainEvent>, DomainError> {
        decide(self, cmd, ctx)
    }
}

pub fn decide(
    state: &AgreementState,
    cmd: &Command,
    ctx: &Context,
) -> Result<Vec<DomainEvent>, DomainError> {
    match cmd {
        Command::CreateAgreement(i) => {
            if state.agreement.is_some() {
                return Err(DomainError::AlreadyExists(cmd.stream_id()));
            }
            let description = required("description", &i.description)?;
            let agencies = active_agencies("agencies", ctx.agencies, &i.agencies)?;
            let responsible_person = required("responsiblePerson", &i.responsible_person)?;
            let issuer = required("issuer", &i.issuer)?;
            if let Some(due) = i.due_on {
                in_order("issuedOn", i.issued_on, "dueOn", due)?;
            }
            let (meeting_id, meeting_type) = match (i.origin, i.meeting_id) {
                (_, Some(id)) => {
                    let m = ctx
                        .meeting()
                        .filter(|m| m.meeting_id == id)
                        .ok_or(DomainError::UnknownMeeting(id))?;
                    (Some(id), Some(m.meeting_type.clone()))
                }
                (Origin::CabinetMeeting, None) => return Err(DomainError::EmptyField("meetingId")),
                (_, None) => (None, None),
            };
            let conference_id = match (i.origin, i.conference_id) {
                (Origin::PressConference, Some(id)) => {
                    ctx.conference()
                        .filter(|c| c.conference_id == id)
                        .ok_or_else(|| DomainError::InvalidField {
                            field: "conferenceId".into(),
                            reason: format!("no press conference {id} was held"),
                        })?;
                    Some(id)
                }
                (_, Some(_)) => {
                    return Err(DomainError::InvalidField {
                        field: "conferenceId".into(),
                        reason: "only an item of origin PRESS_CONFERENCE comes from a conference"
                            .into(),
                    })
                }
                (_, None) => None,
            };
            Ok(vec![DomainEvent::AgreementCreated {
                agreement_id: i.agreement_id,
                kind: i.kind,
                origin: i.origin,
                meeting_id,
                meeting_type,
                conference_id,
                description,
                agencies,
                responsible_person,
                issuer,
                issued_on: i.issued_on,
                due_on: i.due_on,
                budget: i.budget.clone(),
            }])
        }
        Command::ChangeInstructionStage(i) => {
            let a = state.writable(cmd)?;
            if a.kind != ItemKind::Instruction {
                return Err(DomainError::NotAnInstruction);
            }
            if let Some(current) = a.stage {
                if i.stage <= current {
                    return Err(DomainError::ForbiddenTransition {
                        from: format!("{current:?}"),
                        to: format!("{:?}", i.stage),
                    });
                }
            }
            Ok(vec![DomainEvent::InstructionStageChanged {
                stage: i.stage,
            }])
        }
        Command::ReportAgreementProgress(i) => {
            let a = state.writable(cmd)?;
            if a.status == Status::Concluded {
                return Err(DomainError::ForbiddenTransition {
                    from: "Concluded".into(),
                    to: cmd.name().into(),
                });
            }
            let mut events = vec![DomainEvent::ProgressReported {
                progress: i.progress,
                note: optional(i.note.as_ref()),
            }];
            // Progress on a pending item means work has started.
            if a.status == Status::Pending {
                events.push(DomainEvent::StatusChanged {
                    status: Status::InProgress,
                });
            }
            Ok(events)
        }
        Command::RecordFollowUpAction(i) => {
            let a = state.writable(cmd)?;
            let text = required("text", &i.text)?;
            in_order("issuedOn", a.issued_on, "date", i.date)?;
            Ok(vec![DomainEvent::FollowUpActionRecorded {
                text,
                date: i.date,
            }])
        }
        Command::ChangeAgreementStatus(i) => {
            let a = state.writable(cmd)?;
            status_transition(a.status, i.status)?;
            Ok(vec![DomainEvent::StatusChanged { status: i.status }])
        }
        Command::ReassignAgreement(i) => {
            state.writable(cmd)?;
            let agencies = active_agencies("agencies", ctx.agencies, &i.agencies)?;
            let responsible_person = required("responsiblePerson", &i.responsible_person)?;
            Ok(vec![DomainEvent::AgreementReassigned {
                agencies,
                responsible_person,
            }])
        }
        Command::CancelAgreement(i) => {
            let a = state
                .agreement
                .as_ref()
                .ok_or_else(|| DomainError::NotFound(cmd.stream_id()))?;
            if a.cancelled.is_some() {
                return Err(DomainError::AlreadyClosed(cmd.stream_id()));
            }
            if a.status == Status::Concluded {
                return Err(DomainError::ForbiddenTransition {
                    from: "Concluded".into(),
                    to: "Cancelled".into(),
                });
            }
            let reason = required("reason", &i.reason)?;
            Ok(vec![DomainEvent::AgreementCancelled { reason }])
        }
        Command::CorrectAgreementEvent(i) => {
            let a = state.writable(cmd)?;
            let reason = required("reason", &i.reason)?;
            if !ctx.event_ids.contains(&i.corrected_event_id) {
                return Err(DomainError::UnknownEvent(i.corrected_event_id));
            }
            let description = match &i.description {
                Some(d) => Some(required("description", d)?),
                None => None,
            };
            if i.status.is_none()
                && i.progress.is_none()
                && i.due_on.is_none()
                && description.is_none()
            {
                return Err(DomainError::EmptyField("correction"));
            }
            if let Some(due) = i.due_on {
                in_order("issuedOn", a.issued_on, "dueOn", due)?;
            }
            Ok(vec![DomainEvent::EventCorrected {
                corrected_event_id: i.corrected_event_id,
                reason,
                status: i.status,
                progress: i.progress,
                due_on: i.due_on,
                description,
            }])
        }
        other => Err(crate::wrong_aggregate(other, "agreement")),
    }
}
