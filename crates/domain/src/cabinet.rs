//! Reunión de gabinete (stream `cabinet-meeting-<uuid>`).
//!
//! Workflow: a meeting of one cabinet type (Legal, Legal y Ampliado, Sectorial, Regional or
//! a priority cabinet) is held on a date with its agencies; agreements created in it point
//! back to it and copy its type.

use chrono::NaiveDate;
use uuid::Uuid;

use crate::command::{input, Agencies, Command, Route};
use crate::error::DomainError;
use crate::event::DomainEvent;
use crate::meeting_stream;
use crate::rules::active_agencies;
use crate::values::MeetingType;
use crate::{Aggregate, Context};

// ----- Commands: inputs and routing -----

input! {
    /// Registrar reunión de gabinete.
    pub struct HoldCabinetMeetingInput {
        pub meeting_id: Uuid,
        pub meeting_type: MeetingType,
        #[serde(deserialize_with = "crate::validate::strict_date")]
        pub date: NaiveDate,
        pub agencies: Vec<String>,
    }
}

impl Route for HoldCabinetMeetingInput {
    fn stream_id(&self) -> String {
        meeting_stream(self.meeting_id)
    }
    fn agencies_touched(&self, _: &[DomainEvent], out: &mut Agencies) {
        out.extend(&self.agencies);
    }
}

// ----- State and rules -----

/// A held meeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingState {
    pub meeting_id: Uuid,
    pub meeting_type: MeetingType,
    pub date: NaiveDate,
    pub agencies: Vec<String>,
}

/// State of a `cabinet-meeting-<uuid>` stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CabinetState {
    pub meeting: Option<MeetingState>,
}

impl Aggregate for CabinetState {
    fn apply(&mut self, event: &DomainEvent) {
        if let DomainEvent::CabinetMeetingHeld {
            meeting_id,
            meeting_type,
            date,
            agencies,
        } = event
        {
            self.meeting = Some(MeetingState {
                meeting_id: *meeting_id,
                meeting_type: meeting_type.clone(),
                date: *date,
                agencies: agencies.clone(),
            });
        }
    }
    fn decide(&self, cmd: &Command, ctx: &Context) -> Result<Vec<DomainEvent>, DomainError> {
        decide(self, cmd, ctx)
    }
}

pub fn decide(
    state: &CabinetState,
    cmd: &Command,
    ctx: &Context,
) -> Result<Vec<DomainEvent>, DomainError> {
    match cmd {
        Command::HoldCabinetMeeting(i) => {
            if state.meeting.is_some() {
                return Err(DomainError::AlreadyExists(cmd.stream_id()));
            }
            let agencies = active_agencies("agencies", ctx.agencies, &i.agencies)?;
            ctx.agencies.catalogues.require(
                MeetingType::CATALOGUE,
                "meetingType",
                i.meeting_type.as_str(),
            )?;
            Ok(vec![DomainEvent::CabinetMeetingHeld {
                meeting_id: i.meeting_id,
                meeting_type: i.meeting_type.clone(),
                date: i.date,
                agencies,
            }])
        }
        other => Err(crate::wrong_aggregate(other, "cabinet meeting")),
    }
}
