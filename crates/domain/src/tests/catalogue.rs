//! Catalogues: entries registered, renamed and retired by the Office, and the codes that
//! commands name checked against them.

use super::fixtures::*;
use crate::catalogue::{AnnualGoal, Catalogue};
use crate::command::*;
use crate::values::{Channel, CitizenContact, FollowUpKind, MeetingType, Topic};
use crate::Aggregate as _;
use crate::{Command, DomainError, DomainEvent};

fn register(catalogue: Catalogue, code: &str, label: &str) -> Command {
    Command::RegisterCatalogueEntry(RegisterCatalogueEntryInput {
        catalogue,
        code: code.into(),
        label: label.into(),
    })
}

fn receive(channel: &str, topic: &str) -> Command {
    Command::ReceivePetition(ReceivePetitionInput {
        petition_id: id(70),
        channel: Channel::new(channel),
        topic: Topic::new(topic),
        municipality: "Hermosillo".into(),
        citizen_id: id(71),
        contact: CitizenContact {
            name: "C".into(),
            phone: None,
            email: None,
            address: None,
        },
        tour_id: None,
        received_at: at(2023, 5, 2, 10),
    })
}

fn hold(meeting_type: &str) -> Command {
    Command::HoldCabinetMeeting(HoldCabinetMeetingInput {
        meeting_id: id(80),
        meeting_type: MeetingType::new(meeting_type),
        date: day(2023, 5, 2),
        agencies: vec!["SIDUR".into()],
    })
}

#[test]
fn a_new_cabinet_is_registered_and_then_meetings_of_it_are_accepted() {
    let history = catalog_events();
    assert!(matches!(
        when(&[], hold("PRIORITY_SECURITY")),
        Err(DomainError::UnknownCode {
            field: "meetingType",
            catalogue: "MEETING_TYPE",
            ..
        })
    ));
    let events = when(
        &history,
        register(
            Catalogue::MeetingType,
            "PRIORITY_SECURITY",
            "  GABINETE DE SEGURIDAD ",
        ),
    )
    .unwrap();
    assert_eq!(
        events,
        vec![DomainEvent::CatalogueEntryRegistered {
            catalogue: Catalogue::MeetingType,
            code: "PRIORITY_SECURITY".into(),
            label: "GABINETE DE SEGURIDAD".into(),
        }]
    );
    let mut catalog = catalog();
    events.iter().for_each(|e| catalog.apply(e));
    let entry = catalog
        .catalogues
        .get(Catalogue::MeetingType, "PRIORITY_SECURITY")
        .unwrap();
    assert!(entry.active);
    catalog
        .catalogues
        .require(Catalogue::MeetingType, "meetingType", "PRIORITY_SECURITY")
        .unwrap();
}

#[test]
fn an_unknown_code_is_refused_naming_the_field_and_the_valid_codes() {
    let err = when(&[], receive("PIGEON", "HEALTH")).unwrap_err();
    let DomainError::UnknownCode {
        field,
        catalogue,
        code,
        valid,
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(
        (*field, *catalogue, code.as_str()),
        ("channel", "PETITION_CHANNEL", "PIGEON")
    );
    // FAX is retired: not offered.
    assert_eq!(valid, &["CALL_CENTER", "CHAT", "TOUR", "SOCIAL_MEDIA"]);
    assert!(
        err.to_string()
            .contains("CALL_CENTER, CHAT, TOUR, SOCIAL_MEDIA"),
        "{err}"
    );
    assert!(matches!(
        when(&[], receive("CHAT", "ASTROLOGY")),
        Err(DomainError::UnknownCode { field: "topic", .. })
    ));
}

#[test]
fn a_retired_code_is_refused_for_new_facts() {
    assert!(matches!(
        when(&[], receive("FAX", "HEALTH")),
        Err(DomainError::CodeRetired {
            field: "channel",
            ..
        })
    ));
    assert!(when(&[], receive("CHAT", "HEALTH")).is_ok());
}

#[test]
fn a_follow_up_kind_is_checked_against_its_catalogue() {
    let history = given(vec![receive("CHAT", "HEALTH")]);
    let follow_up = |kind: &str| {
        Command::RecordPetitionFollowUp(RecordPetitionFollowUpInput {
            petition_id: id(70),
            kind: FollowUpKind::new(kind),
            at: at(2023, 5, 3, 10),
        })
    };
    assert!(when(&history, follow_up("VISIT")).is_ok());
    assert!(matches!(
        when(&history, follow_up("TELEGRAM")),
        Err(DomainError::UnknownCode {
            field: "kind",
            catalogue: "FOLLOW_UP_KIND",
            ..
        })
    ));
}

#[test]
fn codes_are_never_reused_not_even_after_retirement() {
    let history = catalog_events();
    for code in ["CHAT", "FAX"] {
        assert!(matches!(
            when(&history, register(Catalogue::PetitionChannel, code, "x")),
            Err(DomainError::DuplicateCode { .. })
        ));
    }
    // The same code in another catalogue is another entry.
    assert!(when(&history, register(Catalogue::FollowUpKind, "CHAT", "Chat")).is_ok());
}

#[test]
fn a_code_has_one_shape_and_a_label_is_required() {
    let history = catalog_events();
    for bad in ["", "chat", "1CHAT", "CHAT-2", "CHAT 2", &"A".repeat(41)] {
        assert!(
            matches!(
                when(&history, register(Catalogue::PetitionTopic, bad, "x")),
                Err(DomainError::InvalidField { .. })
            ),
            "{bad:?}"
        );
    }
    assert!(matches!(
        when(&history, register(Catalogue::PetitionTopic, "WATER", "  ")),
        Err(DomainError::EmptyField("label"))
    ));
    // A label is one line, as reports print it.
    assert!(matches!(
        when(&history, register(Catalogue::PetitionTopic, "WATER", "Agua\npotable")),
        Err(DomainError::InvalidField { field, .. }) if field == "label"
    ));
    assert!(matches!(
        when(&[], receive("chat", "HEALTH")),
        Err(DomainError::InvalidField { .. })
    ));
}

#[test]
fn renaming_changes_the_label_and_retiring_keeps_the_entry() {
    let mut history = catalog_events();
    let rename = Command::RenameCatalogueEntry(RenameCatalogueEntryInput {
        catalogue: Catalogue::PetitionTopic,
        code: "HEALTH".into(),
        label: "Salud y bienestar".into(),
    });
    history.extend(when(&history, rename).unwrap());
    let retire = Command::RetireCatalogueEntry(RetireCatalogueEntryInput {
        catalogue: Catalogue::PetitionTopic,
        code: "HEALTH".into(),
    });
    history.extend(when(&history, retire.clone()).unwrap());
    let catalog = crate::agency::AgencyCatalog::from_events(&history);
    let health = catalog
        .catalogues
        .get(Catalogue::PetitionTopic, "HEALTH")
        .unwrap();
    assert_eq!(
        (health.label.as_str(), health.active),
        ("Salud y bienestar", false)
    );
    assert!(matches!(
        when(&history, retire),
        Err(DomainError::CodeRetired { field: "code", .. })
    ));
    let missing = Command::RenameCatalogueEntry(RenameCatalogueEntryInput {
        catalogue: Catalogue::PetitionTopic,
        code: "NOPE".into(),
        label: "x".into(),
    });
    assert!(matches!(
        when(&history, missing),
        Err(DomainError::UnknownCode { .. })
    ));
}

#[test]
fn an_annual_goal_is_set_and_a_later_one_replaces_it() {
    let goal = |target: u64| {
        Command::SetAnnualGoal(SetAnnualGoalInput {
            goal: AnnualGoal::PetitionsAttended,
            year: 2023,
            target,
        })
    };
    let history = given(vec![goal(40_000), goal(42_000)]);
    let catalog = crate::agency::AgencyCatalog::from_events(&history);
    assert_eq!(
        catalog.catalogues.goal(AnnualGoal::PetitionsAttended, 2023),
        Some(42_000)
    );
    assert_eq!(
        catalog.catalogues.goal(AnnualGoal::PetitionsAttended, 2024),
        None
    );
    assert!(matches!(
        when(&[], goal(1_000_000_001)),
        Err(DomainError::InvalidField { .. })
    ));
    let bad_year = Command::SetAnnualGoal(SetAnnualGoalInput {
        goal: AnnualGoal::PetitionsAttended,
        year: 20_230,
        target: 1,
    });
    assert!(matches!(
        when(&[], bad_year),
        Err(DomainError::InvalidField { .. })
    ));
}
