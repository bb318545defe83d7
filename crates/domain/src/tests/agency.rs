use super::fixtures::*;
use crate::command::*;
use crate::Aggregate as _;
use crate::{decide, Context, DomainError, DomainEvent};

fn register(acronym: &str, name: &str, head: Option<&str>) -> Command {
    Command::RegisterAgency(RegisterAgencyInput {
        acronym: s(acronym),
        name: s(name),
        sector_head: head.map(s),
    })
}

#[test]
fn registering_an_agency_records_its_acronym_normalized() {
    let events = when(
        &[],
        register(" sidur ", "Secretaría de Infraestructura", None),
    )
    .unwrap();
    assert_eq!(
        events,
        vec![DomainEvent::AgencyRegistered {
            acronym: s("SIDUR"),
            name: s("Secretaría de Infraestructura"),
            sector_head: None,
        }]
    );
}

#[test]
fn registering_an_agency_under_its_sector_head_is_accepted() {
    let events = when(
        &catalog_events(),
        register("COVES", "Comisión de Vivienda", Some("sidur")),
    );
    assert!(matches!(
        events.unwrap().as_slice(),
        [DomainEvent::AgencyRegistered { sector_head: Some(h), .. }] if h == "SIDUR"
    ));
}

#[test]
fn a_ministry_may_head_its_own_sector() {
    let events = when(&[], register("SEC", "Secretaría de Educación", Some("SEC"))).unwrap();
    assert!(matches!(
        events.as_slice(),
        [DomainEvent::AgencyRegistered { sector_head: Some(h), .. }] if h == "SEC"
    ));
}

#[test]
fn registering_a_duplicate_acronym_is_refused() {
    assert_eq!(
        when(&catalog_events(), register("Sidur", "Otra", None)),
        Err(DomainError::DuplicateAcronym(s("SIDUR")))
    );
}

#[test]
fn registering_with_a_blank_acronym_or_name_is_refused() {
    assert_eq!(
        when(&[], register("  ", "X", None)),
        Err(DomainError::EmptyField("acronym"))
    );
    assert_eq!(
        when(&[], register("X", " ", None)),
        Err(DomainError::EmptyField("name"))
    );
}

#[test]
fn registering_under_an_unknown_sector_head_is_refused() {
    assert_eq!(
        when(&[], register("COVES", "Vivienda", Some("NOPE"))),
        Err(DomainError::UnknownAgency(s("NOPE")))
    );
}

#[test]
fn renaming_an_agency_records_the_new_name() {
    let cmd = Command::RenameAgency(RenameAgencyInput {
        acronym: s("cea"),
        name: s("Comisión Estatal del Agua"),
    });
    assert_eq!(
        when(&catalog_events(), cmd).unwrap(),
        vec![DomainEvent::AgencyRenamed {
            acronym: s("CEA"),
            name: s("Comisión Estatal del Agua")
        }]
    );
}

#[test]
fn renaming_an_unknown_or_inactive_agency_or_to_a_blank_name_is_refused() {
    let rename = |a: &str, n: &str| {
        Command::RenameAgency(RenameAgencyInput {
            acronym: s(a),
            name: s(n),
        })
    };
    assert_eq!(
        when(&catalog_events(), rename("NOPE", "x")),
        Err(DomainError::UnknownAgency(s("NOPE")))
    );
    assert_eq!(
        when(&catalog_events(), rename("IMTES", "x")),
        Err(DomainError::AgencyInactive(s("IMTES")))
    );
    assert_eq!(
        when(&catalog_events(), rename("CEA", "")),
        Err(DomainError::EmptyField("name"))
    );
}

#[test]
fn deactivating_an_agency_is_recorded_once() {
    let cmd = |a: &str| Command::DeactivateAgency(DeactivateAgencyInput { acronym: s(a) });
    assert_eq!(
        when(&catalog_events(), cmd("SEC")).unwrap(),
        vec![DomainEvent::AgencyDeactivated { acronym: s("SEC") }]
    );
    assert_eq!(
        when(&catalog_events(), cmd("IMTES")),
        Err(DomainError::AgencyInactive(s("IMTES")))
    );
    assert_eq!(
        when(&catalog_events(), cmd("NOPE")),
        Err(DomainError::UnknownAgency(s("NOPE")))
    );
}

fn liaison(acronym: &str, letter: &str) -> Command {
    Command::DesignateLiaison(DesignateLiaisonInput {
        acronym: s(acronym),
        name: s("Lic. Ana Ruiz"),
        position: s("Directora de Planeación"),
        contact: s("planeacion@sidur.gob.mx"),
        designation_letter: s(letter),
    })
}

#[test]
fn designating_a_liaison_records_the_designation_letter() {
    let history = catalog_events();
    let events = when(&history, liaison("SIDUR", "SIDUR-0123/2023")).unwrap();
    assert!(matches!(
        events.as_slice(),
        [DomainEvent::LiaisonDesignated { designation_letter, .. }] if designation_letter == "SIDUR-0123/2023"
    ));
    let mut all = history;
    all.extend(events);
    let cat = crate::agency::AgencyCatalog::from_events(&all);
    assert_eq!(
        cat.get("sidur").unwrap().liaison.as_ref().unwrap().name,
        "Lic. Ana Ruiz"
    );
}

#[test]
fn designating_a_liaison_without_letter_or_for_an_unknown_or_inactive_agency_is_refused() {
    assert_eq!(
        when(&catalog_events(), liaison("SIDUR", " ")),
        Err(DomainError::EmptyField("designationLetter"))
    );
    assert_eq!(
        when(&catalog_events(), liaison("NOPE", "x")),
        Err(DomainError::UnknownAgency(s("NOPE")))
    );
    assert_eq!(
        when(&catalog_events(), liaison("IMTES", "x")),
        Err(DomainError::AgencyInactive(s("IMTES")))
    );
}

fn hold(agencies: &[&str]) -> Command {
    Command::HoldCabinetMeeting(HoldCabinetMeetingInput {
        meeting_id: id(900),
        meeting_type: crate::values::MeetingType::new("PRIORITY_WATER"),
        date: day(2023, 3, 1),
        agencies: agencies.iter().map(|a| s(a)).collect(),
    })
}

#[test]
fn holding_a_cabinet_meeting_records_type_date_and_agencies() {
    let events = when(&[], hold(&["cea", "SIDUR", "CEA"])).unwrap();
    assert_eq!(
        events,
        vec![DomainEvent::CabinetMeetingHeld {
            meeting_id: id(900),
            meeting_type: crate::values::MeetingType::new("PRIORITY_WATER"),
            date: day(2023, 3, 1),
            agencies: vec![s("CEA"), s("SIDUR")],
        }]
    );
}

#[test]
fn holding_the_same_meeting_twice_is_refused() {
    let history = given(vec![hold(&["CEA"])]);
    assert_eq!(
        when(&history, hold(&["CEA"])),
        Err(DomainError::AlreadyExists(crate::meeting_stream(id(900))))
    );
}

#[test]
fn holding_a_meeting_with_an_unknown_or_inactive_agency_is_refused() {
    assert_eq!(
        when(&[], hold(&["CEA", "NOPE"])),
        Err(DomainError::UnknownAgency(s("NOPE")))
    );
    assert_eq!(
        when(&[], hold(&["IMTES"])),
        Err(DomainError::AgencyInactive(s("IMTES")))
    );
}

#[test]
fn a_meeting_dated_in_the_future_is_refused() {
    let mut cmd = hold(&["CEA"]);
    if let Command::HoldCabinetMeeting(i) = &mut cmd {
        i.date = day(2024, 3, 1);
    }
    assert_eq!(when(&[], cmd), Err(DomainError::InFuture("date")));
}

#[test]
fn a_command_against_another_aggregates_stream_is_refused() {
    let cat = catalog();
    let ctx = Context::new(&cat, now());
    let history = given(vec![hold(&["CEA"])]);
    let cmd = Command::DeactivateAgency(DeactivateAgencyInput { acronym: s("CEA") });
    assert!(matches!(
        decide(&history, &cmd, &ctx),
        Err(DomainError::WrongAggregate {
            command: "deactivateAgency",
            ..
        })
    ));
}
