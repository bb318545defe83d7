//! Shared builders for the tests.

use crate::Aggregate as _;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use uuid::Uuid;

use crate::agency::AgencyCatalog;
use crate::cabinet::{CabinetState, MeetingState};
use crate::catalogue::Catalogue;
use crate::values::MeetingType;
use crate::{decide, Command, Context, DomainError, DomainEvent, StreamState};

pub fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

pub fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
}

/// The semáforo "generated 12/02/2024 14:30:37" (Sonora time).
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 2, 12, 21, 30, 37).unwrap()
}

pub fn registered(acronym: &str) -> DomainEvent {
    DomainEvent::AgencyRegistered {
        acronym: acronym.into(),
        name: format!("Agency {acronym}"),
        sector_head: None,
    }
}

pub fn entry(catalogue: Catalogue, code: &str) -> DomainEvent {
    DomainEvent::CatalogueEntryRegistered {
        catalogue,
        code: code.into(),
        label: format!("Label of {code}"),
    }
}

/// SIDUR, CEA, SEC active; IMTES inactive. The catalogue codes the tests name, and the
/// channel FAX, retired.
pub fn catalog_events() -> Vec<DomainEvent> {
    let mut events = vec![
        registered("SIDUR"),
        registered("CEA"),
        registered("SEC"),
        registered("IMTES"),
        DomainEvent::AgencyDeactivated {
            acronym: "IMTES".into(),
        },
    ];
    let codes: [(Catalogue, &[&str]); 4] = [
        (
            Catalogue::MeetingType,
            &["LEGAL_AMPLIADO", "LEGAL", "PRIORITY_WATER"],
        ),
        (
            Catalogue::PetitionChannel,
            &["CALL_CENTER", "CHAT", "TOUR", "SOCIAL_MEDIA", "FAX"],
        ),
        (
            Catalogue::PetitionTopic,
            &["LEGAL_ADVICE", "IMMEDIATE_ATTENTION", "HEALTH"],
        ),
        (Catalogue::FollowUpKind, &["CALL", "VISIT"]),
    ];
    for (catalogue, list) in codes {
        events.extend(list.iter().map(|code| entry(catalogue, code)));
    }
    events.push(DomainEvent::CatalogueEntryRetired {
        catalogue: Catalogue::PetitionChannel,
        code: "FAX".into(),
    });
    events
}

pub fn catalog() -> AgencyCatalog {
    AgencyCatalog::from_events(&catalog_events())
}

pub fn meeting() -> MeetingState {
    MeetingState {
        meeting_id: id(900),
        meeting_type: MeetingType::new("PRIORITY_WATER"),
        date: day(2023, 3, 1),
        agencies: vec!["CEA".into(), "SIDUR".into()],
    }
}

/// The standard meeting's stream, as a command referencing it finds it.
pub fn meeting_stream_state() -> StreamState {
    StreamState::CabinetMeeting(CabinetState {
        meeting: Some(meeting()),
    })
}

/// Decides with the standard catalog, the standard meeting and no event ids.
pub fn when(history: &[DomainEvent], cmd: Command) -> Result<Vec<DomainEvent>, DomainError> {
    let cat = catalog();
    let m = meeting_stream_state();
    let ctx = Context::new(&cat, now()).with_referenced(Some(&m));
    decide(history, &cmd, &ctx)
}

/// Folds the accepted events of a sequence of commands, panicking on a refusal.
pub fn given(cmds: Vec<Command>) -> Vec<DomainEvent> {
    let mut history = Vec::new();
    for cmd in cmds {
        let name = cmd.name();
        let events = when(&history, cmd).unwrap_or_else(|e| panic!("{name} refused: {e}"));
        history.extend(events);
    }
    history
}

pub fn s(text: &str) -> String {
    text.to_owned()
}
