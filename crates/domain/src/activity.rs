//! Actividad (stream `activity-<uuid>`): an internal task of an office unit.
//!
//! Workflow: created with a priority (ALTA / NORMAL / BAJA), a due date and several
//! responsibles → each responsible reports status and progress → each closes their part;
//! the activity is concluded (concluida) when the last responsible closes.

use chrono::NaiveDate;
use uuid::Uuid;

use crate::activity_stream;
use crate::command::{input, route, Command};
use crate::error::DomainError;
use crate::event::DomainEvent;
use crate::rules::required;
use crate::values::{Priority, Progress, Status};
use crate::{Aggregate, Context};

// ----- Commands: inputs and routing -----

input! {
    /// Registrar actividad.
    pub struct CreateActivityInput {
        pub activity_id: Uuid,
        pub title: String,
        pub priority: Priority,
        #[serde(deserialize_with = "crate::validate::strict_date")]
        pub due_on: NaiveDate,
        pub responsibles: Vec<String>,
    }
}

input! {
    pub struct ReportActivityInput {
        pub activity_id: Uuid,
        pub responsible: String,
        pub status: Status,
        pub progress: Progress,
    }
}

input! {
    pub struct CloseActivityResponsibilityInput { pub activity_id: Uuid, pub responsible: String }
}

// Activities are the Office's own work: no liaison writes them.
route!(CreateActivityInput, ReportActivityInput, CloseActivityResponsibilityInput
    => |i| activity_stream(i.activity_id));

// ----- State and rules -----

/// One responsible's part of an activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Responsibility {
    pub responsible: String,
    pub status: Status,
    pub progress: Option<Progress>,
    pub closed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    pub activity_id: Uuid,
    pub title: String,
    pub priority: Priority,
    pub due_on: NaiveDate,
    pub responsibilities: Vec<Responsibility>,
    pub concluded: bool,
}

impl Activity {
    fn part(&self, responsible: &str) -> Option<&Responsibility> {
        let who = responsible.trim();
        self.responsibilities.iter().find(|r| r.responsible == who)
    }
}

/// State of an `activity-<uuid>` stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivityState {
    pub activity: Option<Activity>,
}

impl Aggregate for ActivityState {
    fn apply(&mut self, event: &DomainEvent) {
        if let DomainEvent::ActivityCreated {
            activity_id,
            title,
            priority,
            due_on,
            responsibles,
        } = event
        {
            self.activity = Some(Activity {
                activity_id: *activity_id,
                title: title.clone(),
                priority: *priority,
                due_on: *due_on,
                responsibilities: responsibles
                    .iter()
                    .map(|r| Responsibility {
                        responsible: r.clone(),
                        status: Status::Pending,
                        progress: None,
                        closed: false,
                    })
                    .collect(),
                concluded: false,
            });
            return;
        }
        let Some(a) = self.activity.as_mut() else {
            return;
        };
        match event {
            DomainEvent::ResponsibleReported {
                responsible,
                status,
                progress,
            } => {
                if let Some(r) = a
                    .responsibilities
                    .iter_mut()
                    .find(|r| &r.responsible == responsible)
                {
                    r.status = *status;
                    r.progress = Some(*progress);
                }
            }
            DomainEvent::ResponsibleClosed { responsible } => {
                if let Some(r) = a
                    .responsibilities
                    .iter_mut()
                    .find(|r| &r.responsible == responsible)
                {
                    r.closed = true;
                    r.status = Status::Concluded;
                }
            }
            DomainEvent::ActivityConcluded {} => a.concluded = true,
            _ => {}
        }
    }
    fn decide(&self, cmd: &Command, _ctx: &Context) -> Result<Vec<DomainEvent>, DomainError> {
        decide(self, cmd)
    }
}

/// The activity's part of `responsible`, which must exist and still be open.
fn open_part<'a>(
    a: &'a Activity,
    cmd: &Command,
    responsible: &str,
) -> Result<&'a Responsibility, DomainError> {
    if a.concluded {
        return Err(DomainError::AlreadyClosed(cmd.stream_id()));
    }
    let part = a
        .part(responsible)
        .ok_or_else(|| DomainError::NotResponsible {
            responsible: responsible.trim().to_owned(),
        })?;
    if part.closed {
        return Err(DomainError::AlreadyClosed(format!(
            "{} (part of {})",
            cmd.stream_id(),
            part.responsible
        )));
    }
    Ok(part)
}

pub fn decide(state: &ActivityState, cmd: &Command) -> Result<Vec<DomainEvent>, DomainError> {
    let existing = || {
        state
            .activity
            .as_ref()
            .ok_or_else(|| DomainError::NotFound(cmd.stream_id()))
    };
    match cmd {
        Command::CreateActivity(i) => {
            if state.activity.is_some() {
                return Err(DomainError::AlreadyExists(cmd.stream_id()));
            }
            let title = required("title", &i.title)?;
            let mut responsibles: Vec<String> = Vec::new();
            for r in &i.responsibles {
                let r = required("responsibles", r)?;
                if !responsibles.contains(&r) {
                    responsibles.push(r);
                }
            }
            if responsibles.is_empty() {
                return Err(DomainError::EmptyField("responsibles"));
            }
            Ok(vec![DomainEvent::ActivityCreated {
                activity_id: i.activity_id,
                title,
                priority: i.priority,
                due_on: i.due_on,
                responsibles,
            }])
        }
        Command::ReportActivity(i) => {
            let part = open_part(existing()?, cmd, &i.responsible)?;
            // Reporting the same status again is normal (new progress); going back is not.
            if part.status != i.status {
                crate::rules::status_transition(part.status, i.status)?;
            }
            Ok(vec![DomainEvent::ResponsibleReported {
                responsible: part.responsible.clone(),
                status: i.status,
                progress: i.progress,
            }])
        }
        Command::CloseActivityResponsibility(i) => {
            let a = existing()?;
            let part = open_part(a, cmd, &i.responsible)?;
            let mut events = vec![DomainEvent::ResponsibleClosed {
                responsible: part.responsible.clone(),
            }];
            let others_open = a
                .responsibilities
                .iter()
                .any(|r| !r.closed && r.responsible != part.responsible);
            if !others_open {
                events.push(DomainEvent::ActivityConcluded {});
            }
            Ok(events)
        }
        other => Err(crate::wrong_aggregate(other, "activity")),
    }
}
