use super::fixtures::*;
use crate::command::*;
use crate::correspondence::LetterState;
use crate::values::*;
use crate::Aggregate as _;
use crate::{DomainError, DomainEvent};

const FOLIO: &str = "DGGD-2023-00123";

fn receive() -> Command {
    Command::ReceiveLetter(ReceiveLetterInput {
        folio: s(FOLIO),
        unit: Unit::Dggd,
        classification: Classification::Relevant,
        sender: s("H. Ayuntamiento de Cajeme"),
        subject: s("Solicitud de apoyo para pavimentación"),
        received_at: at(2023, 5, 2, 16),
    })
}

fn turn(agency: &str, h: u32) -> Command {
    Command::TurnLetter(TurnLetterInput {
        folio: s(FOLIO),
        agency: s(agency),
        turned_at: at(2023, 5, 3, h),
    })
}

fn answer(d: u32) -> Command {
    Command::AnswerLetter(AnswerLetterInput {
        folio: s(FOLIO),
        answered_at: at(2023, 5, d, 18),
    })
}

fn case_file(name: &str) -> Command {
    Command::OpenCaseFile(OpenCaseFileInput {
        folio: s(FOLIO),
        case_file: s(name),
        opened_at: at(2023, 5, 4, 17),
    })
}

fn outgoing(number: &str) -> Command {
    Command::IssueOutgoingLetter(IssueOutgoingLetterInput {
        folio: s(FOLIO),
        number: s(number),
        recipient: s("SIDUR"),
        issued_at: at(2023, 5, 4, 18),
    })
}

fn follow_up(note: &str, d: u32) -> Command {
    Command::RecordLetterFollowUp(RecordLetterFollowUpInput {
        folio: s(FOLIO),
        note: s(note),
        recorded_at: at(2023, 5, d, 19),
    })
}

fn missing() -> Result<Vec<DomainEvent>, DomainError> {
    Err(DomainError::NotFound(format!("letter-{FOLIO}")))
}

fn closed() -> Result<Vec<DomainEvent>, DomainError> {
    Err(DomainError::AlreadyClosed(format!("letter-{FOLIO}")))
}

#[test]
fn receiving_a_letter_registers_its_folio() {
    let events = when(&[], receive()).unwrap();
    assert!(matches!(
        events.as_slice(),
        [DomainEvent::LetterReceived { folio, unit: Unit::Dggd, classification: Classification::Relevant, .. }]
            if folio == FOLIO
    ));
    assert_eq!(receive().stream_id(), format!("letter-{FOLIO}"));
}

#[test]
fn receiving_a_folio_twice_or_without_sender_or_subject_is_refused() {
    let history = given(vec![receive()]);
    assert_eq!(
        when(&history, receive()),
        Err(DomainError::AlreadyExists(format!("letter-{FOLIO}")))
    );
    let blank = |f: fn(&mut ReceiveLetterInput)| {
        let Command::ReceiveLetter(mut i) = receive() else {
            unreachable!()
        };
        f(&mut i);
        when(&[], Command::ReceiveLetter(i))
    };
    assert_eq!(
        blank(|i| i.sender = s(" ")),
        Err(DomainError::EmptyField("sender"))
    );
    assert_eq!(
        blank(|i| i.subject = s("")),
        Err(DomainError::EmptyField("subject"))
    );
    assert_eq!(
        blank(|i| i.folio = s("")),
        Err(DomainError::EmptyField("folio"))
    );
}

#[test]
fn a_letter_received_in_the_future_is_refused() {
    let Command::ReceiveLetter(mut i) = receive() else {
        unreachable!()
    };
    i.received_at = now() + chrono::TimeDelta::hours(1);
    assert_eq!(
        when(&[], Command::ReceiveLetter(i)),
        Err(DomainError::InFuture("receivedAt"))
    );
}

#[test]
fn turning_a_letter_to_an_agency_is_recorded() {
    let history = given(vec![receive()]);
    assert_eq!(
        when(&history, turn("sidur", 10)).unwrap(),
        vec![DomainEvent::LetterTurned {
            agency: s("SIDUR"),
            turned_at: at(2023, 5, 3, 10)
        }]
    );
}

#[test]
fn turning_a_letter_before_it_was_received_or_to_an_unknown_agency_is_refused() {
    assert_eq!(when(&[], turn("SIDUR", 10)), missing());
    let history = given(vec![receive()]);
    let early = Command::TurnLetter(TurnLetterInput {
        folio: s(FOLIO),
        agency: s("SIDUR"),
        turned_at: at(2023, 5, 1, 10),
    });
    assert_eq!(
        when(&history, early),
        Err(DomainError::DatesOutOfOrder {
            earlier: "receivedAt",
            later: "turnedAt"
        })
    );
    assert_eq!(
        when(&history, turn("NOPE", 10)),
        Err(DomainError::UnknownAgency(s("NOPE")))
    );
    assert_eq!(
        when(&history, turn("IMTES", 10)),
        Err(DomainError::AgencyInactive(s("IMTES")))
    );
}

#[test]
fn opening_a_case_file_issuing_letters_and_following_up_are_counted() {
    let history = given(vec![
        receive(),
        turn("SIDUR", 10),
        case_file("EXP-2023-45"),
        outgoing("OEE-0456/2023"),
        outgoing("OEE-0457/2023"),
        follow_up("Llamada a SIDUR", 8),
    ]);
    let l = LetterState::from_events(&history).letter.unwrap();
    assert_eq!(l.case_file.as_deref(), Some("EXP-2023-45"));
    assert_eq!(l.outgoing_letters, 2);
    assert_eq!(l.follow_ups, 1);
    assert_eq!(
        follow_up("x", 9).agencies_touched(&history),
        vec![s("SIDUR")]
    );
}

#[test]
fn a_second_case_file_or_blank_case_file_is_refused() {
    assert_eq!(when(&[], case_file("EXP")), missing());
    let history = given(vec![receive()]);
    assert_eq!(
        when(&history, case_file(" ")),
        Err(DomainError::EmptyField("caseFile"))
    );
    let opened = given(vec![receive(), case_file("EXP-1")]);
    assert!(matches!(
        when(&opened, case_file("EXP-2")),
        Err(DomainError::AlreadyExists(_))
    ));
}

#[test]
fn an_outgoing_letter_without_number_or_recipient_is_refused() {
    assert_eq!(when(&[], outgoing("1")), missing());
    let history = given(vec![receive()]);
    assert_eq!(
        when(&history, outgoing("")),
        Err(DomainError::EmptyField("number"))
    );
    let no_recipient = Command::IssueOutgoingLetter(IssueOutgoingLetterInput {
        folio: s(FOLIO),
        number: s("1"),
        recipient: s(" "),
        issued_at: at(2023, 5, 4, 18),
    });
    assert_eq!(
        when(&history, no_recipient),
        Err(DomainError::EmptyField("recipient"))
    );
}

#[test]
fn a_blank_or_backdated_letter_follow_up_is_refused() {
    assert_eq!(when(&[], follow_up("x", 8)), missing());
    let history = given(vec![receive()]);
    assert_eq!(
        when(&history, follow_up("", 8)),
        Err(DomainError::EmptyField("note"))
    );
    assert_eq!(
        when(&history, follow_up("x", 1)),
        Err(DomainError::DatesOutOfOrder {
            earlier: "receivedAt",
            later: "recordedAt"
        })
    );
}

#[test]
fn answering_a_letter_closes_it() {
    let history = given(vec![receive(), turn("SIDUR", 10)]);
    let events = when(&history, answer(10)).unwrap();
    assert_eq!(
        events,
        vec![DomainEvent::LetterAnswered {
            answered_at: at(2023, 5, 10, 18)
        }]
    );
    let mut all = history;
    all.extend(events);
    assert_eq!(when(&all, turn("CEA", 12)), closed());
    assert_eq!(when(&all, case_file("EXP")), closed());
    assert_eq!(when(&all, outgoing("1")), closed());
    assert_eq!(when(&all, follow_up("x", 12)), closed());
    assert_eq!(when(&all, answer(12)), closed());
}

#[test]
fn answering_before_receiving_or_a_missing_letter_is_refused() {
    assert_eq!(when(&[], answer(10)), missing());
    let history = given(vec![receive()]);
    assert_eq!(
        when(&history, answer(1)),
        Err(DomainError::DatesOutOfOrder {
            earlier: "receivedAt",
            later: "answeredAt"
        })
    );
}
