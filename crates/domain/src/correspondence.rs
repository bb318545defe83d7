//! Correspondencia (stream `letter-<folio>`): a letter received at DGGD or OEE.
//!
//! Workflow: received and registered with a folio, classified relevant or CCP → turned
//! (turnado) to an agency, goal within 48 hours → may open a case file (expediente),
//! produce outgoing letters (oficios) and follow-ups → closed when answered.

use chrono::{DateTime, Utc};

use crate::command::{input, route, Agencies, Command, Route};
use crate::error::DomainError;
use crate::event::DomainEvent;
use crate::letter_stream;
use crate::rules::{in_order, required};
use crate::values::{Classification, Unit};
use crate::{Aggregate, Context};

// ----- Commands: inputs and routing -----

input! {
    /// Recibir oficio (registrar folio).
    pub struct ReceiveLetterInput {
        pub folio: String,
        pub unit: Unit,
        pub classification: Classification,
        pub sender: String,
        pub subject: String,
        pub received_at: DateTime<Utc>,
    }
}

input! {
    /// Turnar oficio.
    pub struct TurnLetterInput { pub folio: String, pub agency: String, pub turned_at: DateTime<Utc> }
}

input! {
    /// Abrir expediente.
    pub struct OpenCaseFileInput { pub folio: String, pub case_file: String, pub opened_at: DateTime<Utc> }
}

input! {
    /// Emitir oficio de salida.
    pub struct IssueOutgoingLetterInput {
        pub folio: String,
        pub number: String,
        pub recipient: String,
        pub issued_at: DateTime<Utc>,
    }
}

input! {
    pub struct RecordLetterFollowUpInput { pub folio: String, pub note: String, pub recorded_at: DateTime<Utc> }
}

input! {
    pub struct AnswerLetterInput { pub folio: String, pub answered_at: DateTime<Utc> }
}

impl Route for ReceiveLetterInput {
    fn stream_id(&self) -> String {
        letter_stream(&self.folio)
    }
}
impl Route for TurnLetterInput {
    fn stream_id(&self) -> String {
        letter_stream(&self.folio)
    }
    fn agencies_touched(&self, _: &[DomainEvent], out: &mut Agencies) {
        out.push(&self.agency);
    }
}
route!(OpenCaseFileInput, IssueOutgoingLetterInput, RecordLetterFollowUpInput, AnswerLetterInput
    => |i| letter_stream(&i.folio),
       |_, history, out| out.extend(turned_to(history)));

/// Every agency the letter was turned to.
fn turned_to(history: &[DomainEvent]) -> impl Iterator<Item = &str> {
    history.iter().filter_map(|e| match e {
        DomainEvent::LetterTurned { agency, .. } => Some(agency.as_str()),
        _ => None,
    })
}

// ----- State and rules -----

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    pub folio: String,
    pub unit: Unit,
    pub classification: Classification,
    pub received_at: DateTime<Utc>,
    /// Agencies turned to, in order, with the time.
    pub turned: Vec<(String, DateTime<Utc>)>,
    pub case_file: Option<String>,
    pub outgoing_letters: u32,
    pub follow_ups: u32,
    pub answered_at: Option<DateTime<Utc>>,
}

/// State of a `letter-<folio>` stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LetterState {
    pub letter: Option<Letter>,
}

impl Aggregate for LetterState {
    fn apply(&mut self, event: &DomainEvent) {
        if let DomainEvent::LetterReceived {
            folio,
            unit,
            classification,
            received_at,
            ..
        } = event
        {
            self.letter = Some(Letter {
                folio: folio.clone(),
                unit: *unit,
                classification: *classification,
                received_at: *received_at,
                turned: Vec::new(),
                case_file: None,
                outgoing_letters: 0,
                follow_ups: 0,
                answered_at: None,
            });
            return;
        }
        let Some(l) = self.letter.as_mut() else {
            return;
        };
        match event {
            DomainEvent::LetterTurned { agency, turned_at } => {
                l.turned.push((agency.clone(), *turned_at));
            }
            DomainEvent::CaseFileOpened { case_file, .. } => l.case_file = Some(case_file.clone()),
            DomainEvent::OutgoingLetterIssued { .. } => l.outgoing_letters += 1,
            DomainEvent::LetterFollowUpRecorded { .. } => l.follow_ups += 1,
            DomainEvent::LetterAnswered { answered_at } => l.answered_at = Some(*answered_at),
            _ => {}
        }
    }
    fn decide(&self, cmd: &Command, ctx: &Context) -> Result<Vec<DomainEvent>, DomainError> {
        decide(self, cmd, ctx)
    }
}

/// The letter, which must exist, not be answered yet, and have been received no later
/// than `at` (the business time of the new fact).
fn open_letter<'s>(
    state: &'s LetterState,
    cmd: &Command,
    field: &'static str,
    at: DateTime<Utc>,
) -> Result<&'s Letter, DomainError> {
    let l = state
        .letter
        .as_ref()
        .ok_or_else(|| DomainError::NotFound(cmd.stream_id()))?;
    if l.answered_at.is_some() {
        return Err(DomainError::AlreadyClosed(cmd.stream_id()));
    }
    in_order("receivedAt", l.received_at, field, at)?;
    Ok(l)
}

pub fn decide(
    state: &LetterState,
    cmd: &Command,
    ctx: &Context,
) -> Result<Vec<DomainEvent>, DomainError> {
    match cmd {
        Command::ReceiveLetter(i) => {
            if state.letter.is_some() {
                return Err(DomainError::AlreadyExists(cmd.stream_id()));
            }
            Ok(vec![DomainEvent::LetterReceived {
                folio: required("folio", &i.folio)?,
                unit: i.unit,
                classification: i.classification,
                sender: required("sender", &i.sender)?,
                subject: required("subject", &i.subject)?,
                received_at: i.received_at,
            }])
        }
        Command::TurnLetter(i) => {
            open_letter(state, cmd, "turnedAt", i.turned_at)?;
            let agency = ctx.agencies.require_active(&i.agency)?;
            Ok(vec![DomainEvent::LetterTurned {
                agency,
                turned_at: i.turned_at,
            }])
        }
        Command::OpenCaseFile(i) => {
            let l = open_letter(state, cmd, "openedAt", i.opened_at)?;
            if l.case_file.is_some() {
                return Err(DomainError::AlreadyExists(format!(
                    "{} case file",
                    cmd.stream_id()
                )));
            }
            Ok(vec![DomainEvent::CaseFileOpened {
                case_file: required("caseFile", &i.case_file)?,
                opened_at: i.opened_at,
            }])
        }
        Command::IssueOutgoingLetter(i) => {
            open_letter(state, cmd, "issuedAt", i.issued_at)?;
            Ok(vec![DomainEvent::OutgoingLetterIssued {
                number: required("number", &i.number)?,
                recipient: required("recipient", &i.recipient)?,
                issued_at: i.issued_at,
            }])
        }
        Command::RecordLetterFollowUp(i) => {
            open_letter(state, cmd, "recordedAt", i.recorded_at)?;
            Ok(vec![DomainEvent::LetterFollowUpRecorded {
                note: required("note", &i.note)?,
                recorded_at: i.recorded_at,
            }])
        }
        Command::AnswerLetter(i) => {
            open_letter(state, cmd, "answeredAt", i.answered_at)?;
            Ok(vec![DomainEvent::LetterAnswered {
                answered_at: i.answered_at,
            }])
        }
        other => Err(crate::wrong_aggregate(other, "letter")),
    }
}
