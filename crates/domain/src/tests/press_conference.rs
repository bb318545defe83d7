use super::fixtures::*;
use crate::command::*;
use crate::press_conference::{conference_stream, ConferenceKind, Minutes};
use crate::values::{ItemKind, Origin};
use crate::{decide, Aggregate as _, Context, DomainError, DomainEvent, StreamState};

const CONF: u128 = 60;

pub(super) fn hold(kind: ConferenceKind) -> HoldPressConferenceInput {
    HoldPressConferenceInput {
        conference_id: id(CONF),
        kind,
        date: day(2023, 8, 1),
        presided_by: s(" Alfonso Durazo "),
        topic: s("Seguridad pública"),
        state: s("Sonora"),
        venue: s("Palacio de Gobierno"),
        duration_minutes: Minutes(45),
    }
}

pub(super) fn participant(name: &str) -> RegisterConferenceParticipantInput {
    RegisterConferenceParticipantInput {
        conference_id: id(CONF),
        name: s(name),
        role: s("Reportera"),
        outlet: s("El Imparcial"),
    }
}

fn register(name: &str) -> Command {
    Command::RegisterConferenceParticipant(participant(name))
}

fn held(kind: ConferenceKind) -> Vec<DomainEvent> {
    given(vec![Command::HoldPressConference(hold(kind))])
}

#[test]
fn holding_a_conference_records_it_with_trimmed_texts() {
    let events = when(
        &[],
        Command::HoldPressConference(hold(ConferenceKind::Governor)),
    )
    .unwrap();
    assert!(matches!(
        events.as_slice(),
        [DomainEvent::PressConferenceHeld { kind: ConferenceKind::Governor, presided_by, duration_minutes: Minutes(45), .. }]
            if presided_by == "Alfonso Durazo"
    ));
    assert_eq!(
        events[0].effective_time(),
        Some(("date", crate::time::midnight(day(2023, 8, 1))))
    );
}

#[test]
fn a_conference_is_held_once_with_its_texts_and_a_duration() {
    let history = held(ConferenceKind::Governor);
    assert_eq!(
        when(
            &history,
            Command::HoldPressConference(hold(ConferenceKind::Governor))
        ),
        Err(DomainError::AlreadyExists(conference_stream(id(CONF))))
    );
    let untitled = HoldPressConferenceInput {
        topic: s("  "),
        ..hold(ConferenceKind::PresidentMorning)
    };
    assert_eq!(
        when(&[], Command::HoldPressConference(untitled)),
        Err(DomainError::EmptyField("topic"))
    );
    for minutes in [0, Minutes::MAX + 1] {
        let cmd = Command::HoldPressConference(HoldPressConferenceInput {
            duration_minutes: Minutes(minutes),
            ..hold(ConferenceKind::Governor)
        });
        assert!(
            matches!(when(&[], cmd), Err(DomainError::InvalidField { ref field, .. }) if field == "durationMinutes"),
            "{minutes} minutes"
        );
    }
}

#[test]
fn a_conference_in_the_future_is_refused() {
    let cmd = Command::HoldPressConference(HoldPressConferenceInput {
        date: day(2030, 1, 1),
        ..hold(ConferenceKind::Governor)
    });
    assert_eq!(when(&[], cmd), Err(DomainError::InFuture("date")));
}

#[test]
fn conferences_are_the_offices_record() {
    let cmd = Command::HoldPressConference(hold(ConferenceKind::Governor));
    assert_eq!(cmd.writer(), Writer::Office);
    assert!(cmd.agencies_touched(&[]).is_empty());
    assert_eq!(cmd.stream_id(), format!("press-conference-{}", id(CONF)));
}

#[test]
fn a_participant_is_registered_once_in_a_held_conference() {
    let history = held(ConferenceKind::Governor);
    let events = when(&history, register(" Lic. Ruiz ")).unwrap();
    assert_eq!(
        events,
        vec![DomainEvent::ConferenceParticipantRegistered {
            name: s("Lic. Ruiz"),
            role: s("Reportera"),
            outlet: s("El Imparcial"),
        }]
    );
    let history = [history, events].concat();
    assert!(matches!(
        when(&history, register("Lic. Ruiz")),
        Err(DomainError::InvalidField { ref field, .. }) if field == "name"
    ));
    assert!(when(&history, register("Mtra. Soto")).is_ok());
}

#[test]
fn a_participant_of_no_conference_or_without_role_is_refused() {
    assert_eq!(
        when(&[], register("Lic. Ruiz")),
        Err(DomainError::NotFound(conference_stream(id(CONF))))
    );
    let no_role = Command::RegisterConferenceParticipant(RegisterConferenceParticipantInput {
        role: s(" "),
        ..participant("Lic. Ruiz")
    });
    assert_eq!(
        when(&held(ConferenceKind::Governor), no_role),
        Err(DomainError::EmptyField("role"))
    );
}

fn exposition(speaker: &str) -> Command {
    Command::RecordConferenceExposition(RecordConferenceExpositionInput {
        conference_id: id(CONF),
        speaker: s(speaker),
        topic: s("Agua"),
        ideas: s("El acueducto avanza."),
    })
}

fn question(asked_by: &str, answered_by: &str) -> Command {
    Command::RecordConferenceQuestion(question_input(asked_by, answered_by))
}

pub(super) fn question_input(asked_by: &str, answered_by: &str) -> RecordConferenceQuestionInput {
    RecordConferenceQuestionInput {
        conference_id: id(CONF),
        asked_by: s(asked_by),
        question: s("¿Cuándo concluye la obra?"),
        answered_by: s(answered_by),
        answer_summary: s("En diciembre."),
    }
}

/// A conference of `kind` with two participants: a journalist and an official.
fn with_participants(kind: ConferenceKind) -> Vec<DomainEvent> {
    let mut history = held(kind);
    for name in ["Lic. Ruiz", "Mtro. Gómez"] {
        let events = when(&history, register(name)).unwrap();
        history.extend(events);
    }
    history
}

fn field_of(result: Result<Vec<DomainEvent>, DomainError>) -> String {
    match result {
        Err(e) => e
            .refused_field()
            .map(|(f, _)| f.to_owned())
            .unwrap_or_default(),
        Ok(events) => panic!("expected a refused field, got {events:?}"),
    }
}

#[test]
fn a_speaker_of_the_presidents_conference_records_an_exposition() {
    let history = with_participants(ConferenceKind::PresidentMorning);
    assert_eq!(
        when(&history, exposition(" Mtro. Gómez ")).unwrap(),
        vec![DomainEvent::ConferenceExpositionRecorded {
            speaker: s("Mtro. Gómez"),
            topic: s("Agua"),
            ideas: s("El acueducto avanza."),
        }]
    );
}

#[test]
fn an_exposition_by_a_non_participant_or_at_the_governors_conference_is_refused() {
    let history = with_participants(ConferenceKind::PresidentMorning);
    assert_eq!(field_of(when(&history, exposition("Otro"))), "speaker");
    // Without registered participants nobody may speak.
    let bare = held(ConferenceKind::PresidentMorning);
    assert_eq!(
        when(&bare, exposition("Mtro. Gómez")),
        Err(DomainError::NotListed {
            field: "speaker",
            list: "the participants of this conference",
            value: s("Mtro. Gómez"),
            valid: vec![],
        })
    );
    let refused = when(&history, exposition("Otro")).unwrap_err();
    assert_eq!(
        refused.refused_field(),
        Some(("speaker", Some(&[s("Lic. Ruiz"), s("Mtro. Gómez")][..])))
    );
    let governors = with_participants(ConferenceKind::Governor);
    assert_eq!(
        field_of(when(&governors, exposition("Mtro. Gómez"))),
        "conferenceId"
    );
    assert_eq!(
        when(&[], exposition("Mtro. Gómez")),
        Err(DomainError::NotFound(conference_stream(id(CONF))))
    );
}

#[test]
fn a_question_at_the_governors_conference_records_who_asked_and_who_answered() {
    let history = with_participants(ConferenceKind::Governor);
    assert_eq!(
        when(&history, question("Lic. Ruiz", "Mtro. Gómez")).unwrap(),
        vec![DomainEvent::ConferenceQuestionRecorded {
            asked_by: s("Lic. Ruiz"),
            question: s("¿Cuándo concluye la obra?"),
            answered_by: s("Mtro. Gómez"),
            answer_summary: s("En diciembre."),
        }]
    );
}

#[test]
fn a_question_asked_or_answered_by_a_non_participant_is_refused() {
    let history = with_participants(ConferenceKind::Governor);
    assert_eq!(
        field_of(when(&history, question("Otro", "Mtro. Gómez"))),
        "askedBy"
    );
    assert_eq!(
        field_of(when(&history, question("Lic. Ruiz", "Otro"))),
        "answeredBy"
    );
    let presidents = with_participants(ConferenceKind::PresidentMorning);
    assert_eq!(
        field_of(when(&presidents, question("Lic. Ruiz", "Mtro. Gómez"))),
        "conferenceId"
    );
    let no_answer = Command::RecordConferenceQuestion(RecordConferenceQuestionInput {
        answer_summary: s(""),
        ..question_input("Lic. Ruiz", "Mtro. Gómez")
    });
    assert_eq!(
        when(&history, no_answer),
        Err(DomainError::EmptyField("answerSummary"))
    );
}

fn instruction(origin: Origin, conference: u128) -> Command {
    Command::CreateAgreement(CreateAgreementInput {
        agreement_id: id(70),
        kind: ItemKind::Instruction,
        origin,
        meeting_id: None,
        conference_id: Some(id(conference)),
        description: s("Rehabilitar pozos"),
        agencies: vec![s("CEA")],
        responsible_person: s("Ing. López"),
        issuer: s("Gobernador"),
        issued_on: day(2023, 8, 1),
        due_on: None,
        budget: vec![],
    })
}

/// Decides `cmd` with the stream it references as `referenced`.
fn when_referencing(
    referenced: &[DomainEvent],
    cmd: Command,
) -> Result<Vec<DomainEvent>, DomainError> {
    let cat = catalog();
    let state = StreamState::PressConference(
        crate::press_conference::ConferenceState::from_events(referenced),
    );
    decide(
        &[],
        &cmd,
        &Context::new(&cat, now()).with_referenced(Some(&state)),
    )
}

#[test]
fn an_instruction_given_at_a_held_conference_links_to_it() {
    let cmd = instruction(Origin::PressConference, CONF);
    assert_eq!(cmd.reference(), Some(conference_stream(id(CONF))));
    let events = when_referencing(&held(ConferenceKind::Governor), cmd).unwrap();
    assert!(matches!(
        events.as_slice(),
        [DomainEvent::AgreementCreated { conference_id: Some(c), .. }] if *c == id(CONF)
    ));
}

#[test]
fn an_instruction_of_an_unheld_conference_or_another_origin_is_refused() {
    let held = held(ConferenceKind::Governor);
    for cmd in [
        instruction(Origin::PressConference, CONF + 1),
        instruction(Origin::SpecialProject, CONF),
    ] {
        let refused = when_referencing(&held, cmd).unwrap_err();
        assert_eq!(
            refused.refused_field().map(|(f, _)| f),
            Some("conferenceId")
        );
    }
    let refused = when_referencing(&[], instruction(Origin::PressConference, CONF)).unwrap_err();
    assert_eq!(
        refused.refused_field().map(|(f, _)| f),
        Some("conferenceId")
    );
}
