//! Rueda de prensa (stream `press-conference-<uuid>`).
//!
//! The Office records the press conferences the Governor's instructions come from: the
//! President's morning conference and the Governor's own. A conference is held on a date
//! with a topic, a venue and a duration; who took part is registered before what they
//! said is recorded.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::command::{input, route, Command};
use crate::error::DomainError;
use crate::event::DomainEvent;
use crate::rules::required;
use crate::validate::{invalid, Check};
use crate::values::vocabulary;
use crate::{Aggregate, Context};

/// `press-conference-<uuid>`
pub fn conference_stream(conference_id: Uuid) -> String {
    format!("press-conference-{conference_id}")
}

vocabulary! {
    /// Whose conference: the President's morning conference ("mañanera") or the
    /// Governor's.
    pub enum ConferenceKind { PresidentMorning, Governor }
}

impl ConferenceKind {
    /// The code as in JSON and GraphQL.
    pub fn code(self) -> &'static str {
        match self {
            ConferenceKind::PresidentMorning => "PRESIDENT_MORNING",
            ConferenceKind::Governor => "GOVERNOR",
        }
    }
}

impl Check for ConferenceKind {
    fn check(&self, _field: &'static str) -> Result<(), DomainError> {
        Ok(())
    }
}

/// A conference's duration, in whole minutes: from 1 to [`Minutes::MAX`]. An `Int` in
/// GraphQL, a number in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "graphql", derive(async_graphql::NewType))]
pub struct Minutes(pub u32);

impl Minutes {
    /// The longest conference the Office records: a whole day.
    pub const MAX: u32 = 24 * 60;
}

impl Check for Minutes {
    fn check(&self, field: &'static str) -> Result<(), DomainError> {
        if (1..=Self::MAX).contains(&self.0) {
            return Ok(());
        }
        Err(invalid(
            field,
            format!(
                "a duration is from 1 to {} minutes, found {}",
                Self::MAX,
                self.0
            ),
        ))
    }
}

// ----- Commands: inputs and routing -----

input! {
    /// Registrar rueda de prensa.
    pub struct HoldPressConferenceInput {
        pub conference_id: Uuid,
        pub kind: ConferenceKind,
        #[serde(deserialize_with = "crate::validate::strict_date")]
        pub date: NaiveDate,
        /// Who presides (the President, the Governor or whom they delegate).
        pub presided_by: String,
        pub topic: String,
        /// The state where it is held.
        pub state: String,
        pub venue: String,
        pub duration_minutes: Minutes,
    }
}

input! {
    /// Registrar participante: someone who takes part (an official, a journalist), before
    /// what they say is recorded.
    pub struct RegisterConferenceParticipantInput {
        pub conference_id: Uuid,
        pub name: String,
        /// Cargo: the official's position, or the journalist's.
        pub role: String,
        /// The journalist's outlet (medio) or the official's agency.
        pub outlet: String,
    }
}

input! {
    /// Registrar exposición (the President's conference): a speaker's ideas on a topic.
    pub struct RecordConferenceExpositionInput {
        pub conference_id: Uuid,
        /// A registered participant.
        pub speaker: String,
        pub topic: String,
        pub ideas: String,
    }
}

input! {
    /// Registrar pregunta y respuesta (the Governor's conference).
    pub struct RecordConferenceQuestionInput {
        pub conference_id: Uuid,
        /// The registered participant who asked (a journalist, with their outlet).
        pub asked_by: String,
        pub question: String,
        /// The registered participant who answered.
        pub answered_by: String,
        pub answer_summary: String,
    }
}

// Conferences are the Office's record: no liaison writes them.
route!(HoldPressConferenceInput, RegisterConferenceParticipantInput,
       RecordConferenceExpositionInput, RecordConferenceQuestionInput
    => |i| conference_stream(i.conference_id));

// ----- State and rules -----

/// A held conference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conference {
    pub conference_id: Uuid,
    pub kind: ConferenceKind,
    pub date: NaiveDate,
    /// The names of the registered participants.
    pub participants: Vec<String>,
}

impl Conference {
    /// Whether `name` (trimmed) is a registered participant.
    pub fn has_participant(&self, name: &str) -> bool {
        let name = name.trim();
        self.participants.iter().any(|p| p == name)
    }

    /// The registered participant named `name` in `field`, trimmed; refused otherwise.
    fn participant(&self, field: &'static str, name: &str) -> Result<String, DomainError> {
        let name = required(field, name)?;
        if self.has_participant(&name) {
            return Ok(name);
        }
        Err(DomainError::NotListed {
            field,
            list: "the participants of this conference",
            value: name,
            valid: self.participants.clone(),
        })
    }

    /// Refuses what only a conference of `kind` records.
    fn require_kind(&self, kind: ConferenceKind, what: &str) -> Result<(), DomainError> {
        if self.kind == kind {
            return Ok(());
        }
        Err(DomainError::InvalidField {
            field: "conferenceId".into(),
            reason: format!(
                "{what} are recorded for {kind:?} conferences only; this one is {:?}",
                self.kind
            ),
        })
    }
}

/// State of a `press-conference-<uuid>` stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConferenceState {
    pub conference: Option<Conference>,
}

impl Aggregate for ConferenceState {
    fn apply(&mut self, event: &DomainEvent) {
        match event {
            DomainEvent::PressConferenceHeld {
                conference_id,
                kind,
                date,
                ..
            } => {
                self.conference = Some(Conference {
                    conference_id: *conference_id,
                    kind: *kind,
                    date: *date,
                    participants: Vec::new(),
                });
            }
            DomainEvent::ConferenceParticipantRegistered { name, .. } => {
                if let Some(c) = self.conference.as_mut() {
                    c.participants.push(name.clone());
                }
            }
            _ => {}
        }
    }
    fn decide(&self, cmd: &Command, _ctx: &Context) -> Result<Vec<DomainEvent>, DomainError> {
        decide(self, cmd)
    }
}

pub fn decide(state: &ConferenceState, cmd: &Command) -> Result<Vec<DomainEvent>, DomainError> {
    let existing = || {
        state
            .conference
            .as_ref()
            .ok_or_else(|| DomainError::NotFound(cmd.stream_id()))
    };
    match cmd {
        Command::HoldPressConference(i) => {
            if state.conference.is_some() {
                return Err(DomainError::AlreadyExists(cmd.stream_id()));
            }
            Ok(vec![DomainEvent::PressConferenceHeld {
                conference_id: i.conference_id,
                kind: i.kind,
                date: i.date,
                presided_by: required("presidedBy", &i.presided_by)?,
                topic: required("topic", &i.topic)?,
                state: required("state", &i.state)?,
                venue: required("venue", &i.venue)?,
                duration_minutes: i.duration_minutes,
            }])
        }
        Command::RegisterConferenceParticipant(i) => {
            let conference = existing()?;
            let name = required("name", &i.name)?;
            if conference.has_participant(&name) {
                return Err(invalid(
                    "name",
                    format!("{name} is already a participant of this conference"),
                ));
            }
            Ok(vec![DomainEvent::ConferenceParticipantRegistered {
                name,
                role: required("role", &i.role)?,
                outlet: required("outlet", &i.outlet)?,
            }])
        }
        Command::RecordConferenceExposition(i) => {
            let conference = existing()?;
            conference.require_kind(ConferenceKind::PresidentMorning, "expositions")?;
            Ok(vec![DomainEvent::ConferenceExpositionRecorded {
                speaker: conference.participant("speaker", &i.speaker)?,
                topic: required("topic", &i.topic)?,
                ideas: required("ideas", &i.ideas)?,
            }])
        }
        Command::RecordConferenceQuestion(i) => {
            let conference = existing()?;
            conference.require_kind(ConferenceKind::Governor, "questions")?;
            Ok(vec![DomainEvent::ConferenceQuestionRecorded {
                asked_by: conference.participant("askedBy", &i.asked_by)?,
                question: required("question", &i.question)?,
                answered_by: conference.participant("answeredBy", &i.answered_by)?,
                answer_summary: required("answerSummary", &i.answer_summary)?,
            }])
        }
        other => Err(crate::wrong_aggregate(other, "press conference")),
    }
}
