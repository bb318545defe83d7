//! Compromiso de campaña (stream `commitment-<number>`).
//!
//! Workflow: a numbered campaign promise is registered → assigned to agencies → each
//! assigned agency registers actions (acciones) with status, progress and investment in
//! MXN, and later changes their status or reports progress.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use uuid::Uuid;

use crate::command::{input, route, Agencies, Command, Route};
use crate::commitment_stream;
use crate::error::DomainError;
use crate::event::DomainEvent;
use crate::rules::{required, status_transition};
use crate::values::{Mxn, Progress, Status};
use crate::{Aggregate, Context};

// ----- Commands: inputs and routing -----

input! {
    /// Registrar compromiso de campaña.
    pub struct RegisterCommitmentInput { pub number: u32, pub text: String }
}

input! {
    pub struct AssignCommitmentInput { pub number: u32, pub agencies: Vec<String> }
}

input! {
    /// Registrar acción de una dependencia sobre un compromiso.
    pub struct RegisterActionInput {
        pub number: u32,
        pub action_id: Uuid,
        pub agency: String,
        pub description: String,
        pub status: Status,
        pub progress: Option<Progress>,
        pub investment_mxn: Mxn,
        #[serde(deserialize_with = "crate::validate::strict_date")]
        pub date: NaiveDate,
    }
}

input! {
    pub struct ChangeActionStatusInput { pub number: u32, pub action_id: Uuid, pub status: Status }
}

input! {
    pub struct ReportActionProgressInput { pub number: u32, pub action_id: Uuid, pub progress: Progress }
}

impl Route for RegisterCommitmentInput {
    fn stream_id(&self) -> String {
        commitment_stream(self.number)
    }
}
impl Route for AssignCommitmentInput {
    fn stream_id(&self) -> String {
        commitment_stream(self.number)
    }
    fn agencies_touched(&self, _: &[DomainEvent], out: &mut Agencies) {
        out.extend(&self.agencies);
    }
}
impl Route for RegisterActionInput {
    fn stream_id(&self) -> String {
        commitment_stream(self.number)
    }
    fn agencies_touched(&self, _: &[DomainEvent], out: &mut Agencies) {
        out.push(&self.agency);
    }
    fn agency(&self) -> Option<&str> {
        Some(&self.agency)
    }
}
route!(ChangeActionStatusInput, ReportActionProgressInput
    => |i| commitment_stream(i.number),
       |i, history, out| out.extend(action_agency(history, i.action_id)));

/// The agency that registered an action.
fn action_agency(history: &[DomainEvent], id: Uuid) -> Option<String> {
    history.iter().find_map(|e| match e {
        DomainEvent::ActionRegistered {
            action_id, agency, ..
        } if *action_id == id => Some(agency.clone()),
        _ => None,
    })
}

// ----- State and rules -----

/// Acción registered against the commitment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub action_id: Uuid,
    pub agency: String,
    pub description: String,
    pub status: Status,
    pub progress: Option<Progress>,
    pub investment_mxn: Mxn,
    pub date: NaiveDate,
}

/// A registered commitment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commitment {
    pub number: u32,
    pub text: String,
    pub agencies: Vec<String>,
    pub actions: BTreeMap<Uuid, Action>,
}

impl Commitment {
    /// Total investment of the registered actions; `None` when the stored amounts add up
    /// beyond what a decimal holds (only amounts an older release accepted can).
    pub fn investment(&self) -> Option<Mxn> {
        self.actions
            .values()
            .try_fold(Mxn::ZERO, |sum, a| sum.checked_add(a.investment_mxn))
    }
}

/// State of a `commitment-<number>` stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitmentState {
    pub commitment: Option<Commitment>,
}

impl Aggregate for CommitmentState {
    fn apply(&mut self, event: &DomainEvent) {
        if let DomainEvent::CommitmentRegistered { number, text } = event {
            self.commitment = Some(Commitment {
                number: *number,
                text: text.clone(),
                agencies: Vec::new(),
                actions: BTreeMap::new(),
            });
            return;
        }
        let Some(c) = self.commitment.as_mut() else {
            return;
        };
        match event {
            DomainEvent::CommitmentAssigned { agencies } => {
                for a in agencies {
                    if !c.agencies.contains(a) {
                        c.agencies.push(a.clone());
                    }
                }
            }
            DomainEvent::ActionRegistered {
                action_id,
                agency,
                description,
                status,
                progress,
                investment_mxn,
                date,
            } => {
                c.actions.insert(
                    *action_id,
                    Action {
                        action_id: *action_id,
                        agency: agency.clone(),
                        description: description.clone(),
                        status: *status,
                        progress: *progress,
                        investment_mxn: *investment_mxn,
                        date: *date,
                    },
                );
            }
            DomainEvent::ActionStatusChanged { action_id, status } => {
                if let Some(a) = c.actions.get_mut(action_id) {
                    a.status = *status;
                }
            }
            DomainEvent::ActionProgressReported {
                action_id,
                progress,
            } => {
                if let Some(a) = c.actions.get_mut(action_id) {
                    a.progress = Some(*progress);
                }
            }
            _ => {}
        }
    }
    fn decide(&self, cmd: &Command, ctx: &Context) -> Result<Vec<DomainEvent>, DomainError> {
        decide(self, cmd, ctx)
    }
}

fn existing<'s>(state: &'s CommitmentState, cmd: &Command) -> Result<&'s Commitment, DomainError> {
    state
        .commitment
        .as_ref()
        .ok_or_else(|| DomainError::NotFound(cmd.stream_id()))
}

fn action(c: &Commitment, id: Uuid) -> Result<&Action, DomainError> {
    c.actions.get(&id).ok_or(DomainError::UnknownAction(id))
}

pub fn decide(
    state: &CommitmentState,
    cmd: &Command,
    ctx: &Context,
) -> Result<Vec<DomainEvent>, DomainError> {
    match cmd {
        Command::RegisterCommitment(i) => {
            if state.commitment.is_some() {
                return Err(DomainError::NumberAlreadyUsed(i.number));
            }
            let text = required("text", &i.text)?;
            Ok(vec![DomainEvent::CommitmentRegistered {
                number: i.number,
                text,
            }])
        }
        Command::AssignCommitment(i) => {
            let c = existing(state, cmd)?;
            let mut added: Vec<String> = Vec::new();
            for a in &i.agencies {
                let a = ctx.agencies.require_active(a)?;
                if c.agencies.contains(&a) {
                    return Err(DomainError::AlreadyAssigned(a));
                }
                if !added.contains(&a) {
                    added.push(a);
                }
            }
            if added.is_empty() {
                return Err(DomainError::EmptyField("agencies"));
            }
            Ok(vec![DomainEvent::CommitmentAssigned { agencies: added }])
        }
        Command::RegisterAction(i) => {
            let c = existing(state, cmd)?;
            let agency = ctx.agencies.require_active(&i.agency)?;
            if !c.agencies.contains(&agency) {
                return Err(DomainError::AgencyNotAssigned(agency));
            }
            if c.actions.contains_key(&i.action_id) {
                return Err(DomainError::DuplicateAction(i.action_id));
            }
            let description = required("description", &i.description)?;
            // An action registered as pending but with progress has in fact started.
            let status = match (i.status, i.progress) {
                (Status::Pending, Some(p)) if p > Progress::ZERO => Status::InProgress,
                (s, _) => s,
            };
            Ok(vec![DomainEvent::ActionRegistered {
                action_id: i.action_id,
                agency,
                description,
                status,
                progress: i.progress,
                investment_mxn: i.investment_mxn,
                date: i.date,
            }])
        }
        Command::ChangeActionStatus(i) => {
            let a = action(existing(state, cmd)?, i.action_id)?;
            status_transition(a.status, i.status)?;
            Ok(vec![DomainEvent::ActionStatusChanged {
                action_id: i.action_id,
                status: i.status,
            }])
        }
        Command::ReportActionProgress(i) => {
            let a = action(existing(state, cmd)?, i.action_id)?;
            if a.status == Status::Concluded {
                return Err(DomainError::ForbiddenTransition {
                    from: "Concluded".into(),
                    to: cmd.name().into(),
                });
            }
            let mut events = vec![DomainEvent::ActionProgressReported {
                action_id: i.action_id,
                progress: i.progress,
            }];
            if a.status == Status::Pending {
                events.push(DomainEvent::ActionStatusChanged {
                    action_id: i.action_id,
                    status: Status::InProgress,
                });
            }
            Ok(events)
        }
        other => Err(crate::wrong_aggregate(other, "commitment")),
    }
}
