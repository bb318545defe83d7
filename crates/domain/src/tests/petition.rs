use super::fixtures::*;
use crate::command::*;
use crate::petition::PetitionState;
use crate::values::*;
use crate::Aggregate as _;
use crate::{DomainError, DomainEvent};

const P: u128 = 5;

fn contact() -> CitizenContact {
    CitizenContact {
        name: s("María Fernanda Quiroz"),
        phone: Some(s("6621234567")),
        email: Some(s(" ")),
        address: None,
    }
}

fn receive_input() -> ReceivePetitionInput {
    ReceivePetitionInput {
        petition_id: id(P),
        channel: Channel::new("TOUR"),
        topic: Topic::new("IMMEDIATE_ATTENTION"),
        municipality: s("Navojoa"),
        citizen_id: id(55),
        contact: contact(),
        tour_id: Some(s("GIRA-2023-014")),
        received_at: at(2023, 7, 8, 18),
    }
}

fn receive() -> Command {
    Command::ReceivePetition(receive_input())
}

fn turn(target: TurnTarget, d: u32) -> Command {
    Command::TurnPetition(TurnPetitionInput {
        petition_id: id(P),
        target,
        turned_at: at(2023, 7, d, 18),
    })
}

fn follow_up(d: u32) -> Command {
    Command::RecordPetitionFollowUp(RecordPetitionFollowUpInput {
        petition_id: id(P),
        kind: FollowUpKind::new("CALL"),
        at: at(2023, 7, d, 19),
    })
}

fn attend(d: u32) -> Command {
    Command::AttendPetition(AttendPetitionInput {
        petition_id: id(P),
        at: at(2023, 7, d, 20),
    })
}

fn close(d: u32) -> Command {
    Command::ClosePetition(ClosePetitionInput {
        petition_id: id(P),
        at: at(2023, 7, d, 21),
    })
}

fn missing() -> Result<Vec<DomainEvent>, DomainError> {
    Err(DomainError::NotFound(crate::petition_stream(id(P))))
}

#[test]
fn receiving_a_petition_keeps_the_contact_in_one_field_with_blanks_dropped() {
    let events = when(&[], receive()).unwrap();
    let [DomainEvent::PetitionReceived {
        contact, tour_id, ..
    }] = events.as_slice()
    else {
        panic!("unexpected events");
    };
    assert_eq!(contact.plain().and_then(|c| c.email.clone()), None);
    assert!(contact.plain().is_some());
    assert_eq!(tour_id.as_deref(), Some("GIRA-2023-014"));
    let (_, _, payload) = events[0].to_stored();
    assert_eq!(payload["contact"]["name"], "María Fernanda Quiroz");
    // The name appears under `contact` only.
    let mut without_contact = payload.clone();
    without_contact.as_object_mut().unwrap().remove("contact");
    assert!(!without_contact.to_string().contains("Quiroz"));
}

#[test]
fn the_citizen_contact_never_shows_in_debug_output_of_events_or_commands() {
    let events = when(&[], receive()).unwrap();
    assert!(!format!("{events:?}").contains("Quiroz"));
    assert!(!format!("{:?}", receive()).contains("6621234567"));
}

#[test]
fn receiving_a_petition_twice_or_without_municipality_or_name_is_refused() {
    let history = given(vec![receive()]);
    assert_eq!(
        when(&history, receive()),
        Err(DomainError::AlreadyExists(crate::petition_stream(id(P))))
    );
    let mut i = receive_input();
    i.municipality = s(" ");
    assert_eq!(
        when(&[], Command::ReceivePetition(i)),
        Err(DomainError::EmptyField("municipality"))
    );
    let mut i = receive_input();
    i.contact.name = s("");
    assert_eq!(
        when(&[], Command::ReceivePetition(i)),
        Err(DomainError::EmptyField("contact.name"))
    );
}

#[test]
fn a_tour_petition_without_its_tour_is_refused() {
    let mut i = receive_input();
    i.tour_id = None;
    assert_eq!(
        when(&[], Command::ReceivePetition(i.clone())),
        Err(DomainError::EmptyField("tourId"))
    );
    i.channel = Channel::new("CALL_CENTER");
    assert!(when(&[], Command::ReceivePetition(i)).is_ok());
}

#[test]
fn turning_a_petition_to_an_agency_or_another_level_is_recorded() {
    let history = given(vec![receive()]);
    assert_eq!(
        when(&history, turn(TurnTarget::Agency(s("sec")), 9)).unwrap(),
        vec![DomainEvent::PetitionTurned {
            target: TurnTarget::Agency(s("SEC")),
            turned_at: at(2023, 7, 9, 18)
        }]
    );
    assert!(when(
        &history,
        turn(TurnTarget::GovernmentLevel(GovernmentLevel::Federal), 9)
    )
    .is_ok());
}

#[test]
fn turning_a_petition_to_an_unknown_agency_before_receipt_or_when_missing_is_refused() {
    assert_eq!(when(&[], turn(TurnTarget::Agency(s("SEC")), 9)), missing());
    let history = given(vec![receive()]);
    assert_eq!(
        when(&history, turn(TurnTarget::Agency(s("NOPE")), 9)),
        Err(DomainError::UnknownAgency(s("NOPE")))
    );
    assert_eq!(
        when(&history, turn(TurnTarget::Agency(s("SEC")), 1)),
        Err(DomainError::DatesOutOfOrder {
            earlier: "receivedAt",
            later: "turnedAt"
        })
    );
}

#[test]
fn follow_ups_are_counted_until_the_petition_is_closed() {
    let history = given(vec![
        receive(),
        turn(TurnTarget::Agency(s("SEC")), 9),
        follow_up(10),
        follow_up(11),
        attend(12),
        follow_up(13),
    ]);
    let p = PetitionState::from_events(&history).petition.unwrap();
    assert_eq!(p.follow_ups, 3);
    assert!(p.attended_at.is_some());
    assert_eq!(follow_up(14).agencies_touched(&history), vec![s("SEC")]);
}

#[test]
fn a_follow_up_before_receipt_or_on_a_missing_petition_is_refused() {
    assert_eq!(when(&[], follow_up(10)), missing());
    let history = given(vec![receive()]);
    assert_eq!(
        when(&history, follow_up(1)),
        Err(DomainError::DatesOutOfOrder {
            earlier: "receivedAt",
            later: "at"
        })
    );
}

#[test]
fn attending_a_petition_twice_is_refused() {
    assert_eq!(when(&[], attend(12)), missing());
    let history = given(vec![receive(), attend(12)]);
    assert_eq!(
        when(&history, attend(13)),
        Err(DomainError::ForbiddenTransition {
            from: s("Attended"),
            to: s("Attended")
        })
    );
}

#[test]
fn closing_a_petition_ends_all_writes() {
    let history = given(vec![receive(), attend(12), close(14)]);
    let closed = Err(DomainError::AlreadyClosed(crate::petition_stream(id(P))));
    assert_eq!(when(&history, close(15)), closed);
    assert_eq!(when(&history, follow_up(15)), closed);
    assert_eq!(when(&history, attend(15)), closed);
    assert_eq!(
        when(&history, turn(TurnTarget::Agency(s("SEC")), 15)),
        closed
    );
}

#[test]
fn closing_before_attending_time_or_a_missing_petition_is_refused() {
    assert_eq!(when(&[], close(14)), missing());
    let history = given(vec![receive(), attend(12)]);
    assert_eq!(
        when(&history, close(10)),
        Err(DomainError::DatesOutOfOrder {
            earlier: "attendedAt",
            later: "at"
        })
    );
}

fn rectify(name: &str) -> Command {
    Command::RectifyCitizenContact(RectifyCitizenContactInput {
        petition_id: id(P),
        contact: CitizenContact {
            name: s(name),
            phone: None,
            email: Some(s("nuevo@example.org")),
            address: Some(s("")),
        },
    })
}

#[test]
fn a_contact_is_rectified_for_the_petitions_citizen_even_after_closing() {
    let history = given(vec![receive(), attend(9), close(10)]);
    let events = when(&history, rectify("María F. Quiroz")).unwrap();
    let [DomainEvent::PetitionContactRectified {
        citizen_id,
        contact,
    }] = events.as_slice()
    else {
        panic!("unexpected events");
    };
    assert_eq!(*citizen_id, id(55));
    let plain = contact.plain().unwrap();
    assert_eq!(plain.name, "María F. Quiroz");
    assert_eq!(plain.address, None, "blanks are dropped");
}

#[test]
fn a_contact_is_not_rectified_without_a_petition_or_a_name() {
    assert_eq!(when(&[], rectify("María")), missing());
    let history = given(vec![receive()]);
    assert_eq!(
        when(&history, rectify(" ")),
        Err(DomainError::EmptyField("contact.name"))
    );
}
