use std::collections::BTreeSet;

use serde_json::json;

use super::fixtures::*;
use crate::catalogue::{AnnualGoal, Catalogue};
use crate::command::*;
use crate::event::EVENT_TYPE_NAMES;
use crate::press_conference::{ConferenceKind, Minutes};
use crate::values::*;
use crate::{Command, DomainError, DomainEvent};

fn mxn(v: &str) -> Mxn {
    v.parse().unwrap()
}

fn pct(v: &str) -> Progress {
    v.parse().unwrap()
}

fn contact() -> CitizenContact {
    CitizenContact {
        name: s("Juan Pérez"),
        phone: Some(s("6621234567")),
        email: Some(s("juan@example.com")),
        address: None,
    }
}

/// One sample of every event type.
fn sample_events() -> Vec<DomainEvent> {
    use DomainEvent::*;
    vec![
        AgencyRegistered {
            acronym: s("SIDUR"),
            name: s("Secretaría de Infraestructura y Desarrollo Urbano"),
            sector_head: Some(s("SIDUR")),
        },
        AgencyRenamed {
            acronym: s("SIDUR"),
            name: s("SIDUR"),
        },
        AgencyDeactivated {
            acronym: s("IMTES"),
        },
        CatalogueEntryRegistered {
            catalogue: Catalogue::MeetingType,
            code: s("PRIORITY_SECURITY"),
            label: s("GABINETE PRIORITARIO DE SEGURIDAD"),
        },
        CatalogueEntryRenamed {
            catalogue: Catalogue::PetitionTopic,
            code: s("HEALTH"),
            label: s("Salud"),
        },
        CatalogueEntryRetired {
            catalogue: Catalogue::PetitionChannel,
            code: s("FAX"),
        },
        AnnualGoalSet {
            goal: AnnualGoal::PetitionsAttended,
            year: 2023,
            target: 40_000,
        },
        LiaisonDesignated {
            acronym: s("CEA"),
            name: s("Ana"),
            position: s("Directora"),
            contact: s("ana@cea.gob.mx"),
            designation_letter: s("CEA-01/2023"),
        },
        CabinetMeetingHeld {
            meeting_id: id(900),
            meeting_type: MeetingType::new("LEGAL_AMPLIADO"),
            date: day(2023, 1, 10),
            agencies: vec![s("CEA")],
        },
        AgreementCreated {
            agreement_id: id(1),
            kind: ItemKind::Instruction,
            origin: Origin::SpecialProject,
            meeting_id: None,
            meeting_type: None,
            conference_id: None,
            description: s("Plan Sonora"),
            agencies: vec![s("SIDUR"), s("CEA")],
            responsible_person: s("Ing. López"),
            issuer: s("Gobernador"),
            issued_on: day(2023, 1, 10),
            due_on: Some(day(2023, 12, 31)),
            budget: vec![YearBudget {
                year: 2023,
                amount_mxn: mxn("1000.5"),
            }],
        },
        InstructionStageChanged {
            stage: InstructionStage::Ejecucion100,
        },
        ProgressReported {
            progress: pct("33.33"),
            note: Some(s("avance físico")),
        },
        FollowUpActionRecorded {
            text: s("Mesa de trabajo"),
            date: day(2023, 2, 1),
        },
        StatusChanged {
            status: Status::InProgress,
        },
        AgreementReassigned {
            agencies: vec![s("SEC")],
            responsible_person: s("Mtra. Gil"),
        },
        AgreementCancelled {
            reason: s("duplicado"),
        },
        EventCorrected {
            corrected_event_id: id(77),
            reason: s("error de captura"),
            status: Some(Status::Pending),
            progress: Some(Progress::ZERO),
            due_on: Some(day(2024, 1, 1)),
            description: Some(s("Plan Sonora de energía")),
        },
        CommitmentRegistered {
            number: 218,
            text: s("Hospital General"),
        },
        CommitmentAssigned {
            agencies: vec![s("SSA")],
        },
        ActionRegistered {
            action_id: id(7),
            agency: s("SSA"),
            description: s("Proyecto ejecutivo"),
            status: Status::Concluded,
            progress: Some(Progress::HUNDRED),
            investment_mxn: mxn("98765432.10"),
            date: day(2023, 6, 30),
        },
        ActionStatusChanged {
            action_id: id(7),
            status: Status::Concluded,
        },
        ActionProgressReported {
            action_id: id(7),
            progress: pct("12.5"),
        },
        ActivityCreated {
            activity_id: id(3),
            title: s("Informe"),
            priority: Priority::Normal,
            due_on: day(2023, 9, 30),
            responsibles: vec![s("Ana"), s("Luis")],
        },
        ResponsibleReported {
            responsible: s("Ana"),
            status: Status::InProgress,
            progress: pct("50"),
        },
        ResponsibleClosed {
            responsible: s("Ana"),
        },
        ActivityConcluded {},
        LetterReceived {
            folio: s("OEE-1"),
            unit: Unit::Oee,
            classification: Classification::Cc,
            sender: s("CONAGUA"),
            subject: s("Copia de oficio"),
            received_at: at(2023, 5, 2, 16),
        },
        LetterTurned {
            agency: s("CEA"),
            turned_at: at(2023, 5, 3, 16),
        },
        CaseFileOpened {
            case_file: s("EXP-1"),
            opened_at: at(2023, 5, 3, 17),
        },
        OutgoingLetterIssued {
            number: s("OEE-0456/2023"),
            recipient: s("CEA"),
            issued_at: at(2023, 5, 4, 17),
        },
        LetterFollowUpRecorded {
            note: s("llamada"),
            recorded_at: at(2023, 5, 5, 17),
        },
        LetterAnswered {
            answered_at: at(2023, 5, 6, 17),
        },
        PetitionReceived {
            petition_id: id(5),
            channel: Channel::new("SOCIAL_MEDIA"),
            topic: Topic::new("LEGAL_ADVICE"),
            municipality: s("Hermosillo"),
            citizen_id: id(55),
            contact: contact().into(),
            tour_id: None,
            received_at: at(2023, 7, 1, 10),
        },
        PetitionTurned {
            target: TurnTarget::GovernmentLevel(GovernmentLevel::Municipal),
            turned_at: at(2023, 7, 2, 10),
        },
        PetitionFollowUpRecorded {
            kind: FollowUpKind::new("VISIT"),
            at: at(2023, 7, 3, 10),
        },
        PetitionAttended {
            at: at(2023, 7, 4, 10),
        },
        PetitionClosed {
            at: at(2023, 7, 5, 10),
        },
        PetitionContactRectified {
            citizen_id: id(55),
            contact: contact().into(),
        },
        PressConferenceHeld {
            conference_id: id(60),
            kind: ConferenceKind::Governor,
            date: day(2023, 8, 1),
            presided_by: "Gobernador".into(),
            topic: "Seguridad".into(),
            state: "Sonora".into(),
            venue: "Palacio de Gobierno".into(),
            duration_minutes: Minutes(45),
        },
        ConferenceParticipantRegistered {
            name: "Lic. Ruiz".into(),
            role: "Reportera".into(),
            outlet: "El Imparcial".into(),
        },
        ConferenceExpositionRecorded {
            speaker: "Mtro. Gómez".into(),
            topic: "Agua".into(),
            ideas: "El acueducto avanza.".into(),
        },
        ConferenceQuestionRecorded {
            asked_by: "Lic. Ruiz".into(),
            question: "¿Cuándo?".into(),
            answered_by: "Mtro. Gómez".into(),
            answer_summary: "En diciembre.".into(),
        },
    ]
}

#[test]
fn the_samples_cover_every_event_type() {
    let sampled: BTreeSet<_> = sample_events().iter().map(|e| e.event_type()).collect();
    let declared: BTreeSet<_> = EVENT_TYPE_NAMES.iter().copied().collect();
    assert_eq!(sampled, declared);
}

#[test]
fn a_type_name_maps_to_the_aggregate_kind_of_its_events() {
    // The samples cover every type (above), so this holds for every variant.
    for event in sample_events() {
        assert_eq!(
            DomainEvent::kind_of_type(event.event_type()),
            Some(event.aggregate_kind()),
            "{}",
            event.event_type()
        );
    }
    assert_eq!(DomainEvent::kind_of_type("Nope"), None);
    assert_eq!(DomainEvent::kind_of_type(""), None);
    assert_eq!(DomainEvent::kind_of_type("agencyRegistered"), None);
}

#[test]
fn every_event_survives_to_stored_and_from_stored() {
    for event in sample_events() {
        let (event_type, version, payload) = event.to_stored();
        assert_eq!(event_type, event.event_type());
        assert_eq!(version, event.schema_version());
        assert!(payload.is_object(), "{event_type} payload is not an object");
        let back = DomainEvent::from_stored(&event_type, version, payload).unwrap();
        assert_eq!(back, event);
    }
}

#[test]
fn every_event_reads_back_from_its_stored_json_text() {
    for event in sample_events() {
        let (event_type, version, payload) = event.to_stored();
        let text = serde_json::to_string(&payload).unwrap();
        let back = DomainEvent::from_stored_json(&event_type, version, &text).unwrap();
        assert_eq!(back, event, "{event_type}");
    }
}

#[test]
fn a_stored_json_text_with_anything_after_its_payload_is_refused() {
    for event in sample_events() {
        let (event_type, version, payload) = event.to_stored();
        let text = format!("{} {{}}", serde_json::to_string(&payload).unwrap());
        assert!(
            matches!(
                DomainEvent::from_stored_json(&event_type, version, &text),
                Err(DomainError::Upcast { .. })
            ),
            "{event_type}"
        );
    }
}

#[test]
fn reading_from_json_text_upcasts_old_versions_and_refuses_bad_input() {
    let v1 = json!({
        "actionId": id(7), "agency": "SSA", "description": "x",
        "status": "PENDING", "investment": 12.5, "date": "2023-03-31"
    })
    .to_string();
    let e = DomainEvent::from_stored_json("ActionRegistered", 1, &v1).unwrap();
    assert_eq!(
        e,
        DomainEvent::from_stored("ActionRegistered", 1, serde_json::from_str(&v1).unwrap())
            .unwrap()
    );
    assert_eq!(
        DomainEvent::from_stored_json("Nope", 1, "{}"),
        Err(DomainError::UnknownEventType(s("Nope")))
    );
    for (version, text) in [(2, r#"{"status":"PENDING"}"#), (1, "{not json"), (1, "[]")] {
        assert!(
            matches!(
                DomainEvent::from_stored_json("StatusChanged", version, text),
                Err(DomainError::Upcast { .. })
            ),
            "{version} {text}"
        );
    }
}

#[test]
fn a_malformed_petition_json_text_error_does_not_quote_personal_data() {
    let (_, v, mut p) = sample_events()
        .into_iter()
        .find(|e| e.event_type() == "PetitionReceived")
        .unwrap()
        .to_stored();
    p["contact"]["name"] = json!(["Juan Pérez"]);
    let err = DomainEvent::from_stored_json("PetitionReceived", v, &p.to_string()).unwrap_err();
    assert!(!err.to_string().contains("Juan"));
}

#[test]
fn stored_payloads_use_camel_case_fields_and_decimal_strings() {
    let events = sample_events();
    let created = events
        .iter()
        .find(|e| e.event_type() == "AgreementCreated")
        .unwrap();
    let (_, _, p) = created.to_stored();
    assert_eq!(p["responsiblePerson"], "Ing. López");
    assert_eq!(p["issuedOn"], "2023-01-10");
    assert_eq!(
        p["budget"][0],
        json!({"year": 2023, "amountMxn": "1000.50"})
    );
    assert_eq!(p["kind"], "INSTRUCTION");
    let action = events
        .iter()
        .find(|e| e.event_type() == "ActionRegistered")
        .unwrap();
    let (_, v, p) = action.to_stored();
    assert_eq!(v, 2);
    assert_eq!(p["investmentMxn"], "98765432.10");
    assert_eq!(p["progress"], "100");
    let concluded = events
        .iter()
        .find(|e| e.event_type() == "ActivityConcluded");
    assert_eq!(concluded.unwrap().to_stored().2, json!({}));
}

#[test]
fn a_v1_agreement_created_reads_as_given_at_no_conference() {
    let v1 = json!({
        "agreementId": id(1), "kind": "INSTRUCTION", "origin": "PRESS_CONFERENCE",
        "meetingId": null, "meetingType": null, "description": "Plan Sonora",
        "agencies": ["SIDUR"], "responsiblePerson": "Ing. López", "issuer": "Gobernador",
        "issuedOn": "2023-01-10", "dueOn": null, "budget": []
    });
    for e in [
        DomainEvent::from_stored("AgreementCreated", 1, v1.clone()).unwrap(),
        DomainEvent::from_stored_json("AgreementCreated", 1, &v1.to_string()).unwrap(),
    ] {
        assert!(matches!(
            e,
            DomainEvent::AgreementCreated {
                conference_id: None,
                ..
            }
        ));
        let (_, v, p) = e.to_stored();
        assert_eq!(v, 2);
        assert_eq!(p["conferenceId"], serde_json::Value::Null);
    }
}

#[test]
fn a_v1_action_registered_is_upcast_with_its_investment_exact() {
    let v1 = json!({
        "actionId": id(7),
        "agency": "SSA",
        "description": "Importado de la hoja de cálculo",
        "status": "IN_PROGRESS",
        "investment": 1234.5,
        "date": "2023-03-31"
    });
    let e = DomainEvent::from_stored("ActionRegistered", 1, v1).unwrap();
    let DomainEvent::ActionRegistered {
        investment_mxn,
        progress,
        ..
    } = &e
    else {
        panic!("wrong variant");
    };
    assert_eq!(investment_mxn.to_string(), "1234.50");
    assert_eq!(*progress, None);
    let (_, v, p) = e.to_stored();
    assert_eq!(v, 2);
    assert_eq!(p["investmentMxn"], "1234.50");
    assert!(p.get("investment").is_none());
}

#[test]
fn upcasting_does_not_go_through_float_arithmetic() {
    // 0.1 + 0.2 style values and large amounts keep their exact text.
    for (number, expected) in [
        ("0.1", "0.10"),
        ("98765432.12", "98765432.12"),
        ("15000000", "15000000.00"),
    ] {
        let payload: serde_json::Value = serde_json::from_str(&format!(
            r#"{{"actionId":"{}","agency":"SSA","description":"x","status":"PENDING","investment":{number},"date":"2023-03-31"}}"#,
            id(7)
        ))
        .unwrap();
        let e = DomainEvent::from_stored("ActionRegistered", 1, payload).unwrap();
        let (_, _, p) = e.to_stored();
        assert_eq!(p["investmentMxn"], expected);
    }
}

#[test]
fn a_v1_action_with_a_negative_or_fractional_centavo_investment_cannot_be_upcast() {
    for bad in [json!(-5), json!(1.005)] {
        let v1 = json!({
            "actionId": id(7), "agency": "SSA", "description": "x",
            "status": "PENDING", "investment": bad, "date": "2023-03-31"
        });
        assert!(matches!(
            DomainEvent::from_stored("ActionRegistered", 1, v1),
            Err(DomainError::Upcast { version: 1, .. })
        ));
    }
}

#[test]
fn unknown_types_and_future_versions_are_refused() {
    assert_eq!(
        DomainEvent::from_stored("Nope", 1, json!({})),
        Err(DomainError::UnknownEventType(s("Nope")))
    );
    assert!(matches!(
        DomainEvent::from_stored("StatusChanged", 2, json!({"status": "PENDING"})),
        Err(DomainError::Upcast { version: 2, .. })
    ));
}

#[test]
fn a_malformed_petition_payload_error_does_not_quote_personal_data() {
    let (_, v, mut p) = sample_events()
        .into_iter()
        .find(|e| e.event_type() == "PetitionReceived")
        .unwrap()
        .to_stored();
    p["contact"]["name"] = json!(["Juan Pérez"]);
    let err = DomainEvent::from_stored("PetitionReceived", v, p).unwrap_err();
    assert!(!err.to_string().contains("Juan"));
}

/// One sample of every command.
fn sample_commands() -> Vec<Command> {
    use Command::*;
    let t = at(2023, 5, 2, 16);
    vec![
        RegisterAgency(RegisterAgencyInput {
            acronym: s("SIDUR"),
            name: s("Infraestructura"),
            sector_head: None,
        }),
        RenameAgency(RenameAgencyInput {
            acronym: s("SIDUR"),
            name: s("x"),
        }),
        DeactivateAgency(DeactivateAgencyInput {
            acronym: s("SIDUR"),
        }),
        RegisterCatalogueEntry(RegisterCatalogueEntryInput {
            catalogue: Catalogue::MeetingType,
            code: s("PRIORITY_SECURITY"),
            label: s("GABINETE PRIORITARIO DE SEGURIDAD"),
        }),
        RenameCatalogueEntry(RenameCatalogueEntryInput {
            catalogue: Catalogue::PetitionTopic,
            code: s("HEALTH"),
            label: s("Salud"),
        }),
        RetireCatalogueEntry(RetireCatalogueEntryInput {
            catalogue: Catalogue::PetitionChannel,
            code: s("FAX"),
        }),
        SetAnnualGoal(SetAnnualGoalInput {
            goal: AnnualGoal::PetitionsAttended,
            year: 2023,
            target: 40_000,
        }),
        DesignateLiaison(DesignateLiaisonInput {
            acronym: s("CEA"),
            name: s("Ana"),
            position: s("Dir"),
            contact: s("a@b"),
            designation_letter: s("L-1"),
        }),
        HoldCabinetMeeting(HoldCabinetMeetingInput {
            meeting_id: id(900),
            meeting_type: MeetingType::new("REGIONAL"),
            date: day(2023, 1, 1),
            agencies: vec![s("CEA")],
        }),
        CreateAgreement(CreateAgreementInput {
            agreement_id: id(1),
            kind: ItemKind::Agreement,
            origin: Origin::CabinetMeeting,
            meeting_id: Some(id(900)),
            conference_id: None,
            description: s("d"),
            agencies: vec![s("CEA")],
            responsible_person: s("p"),
            issuer: s("i"),
            issued_on: day(2023, 1, 1),
            due_on: None,
            budget: vec![YearBudget {
                year: 2024,
                amount_mxn: mxn("10"),
            }],
        }),
        ChangeInstructionStage(ChangeInstructionStageInput {
            agreement_id: id(1),
            stage: InstructionStage::MesaTrabajo,
        }),
        ReportAgreementProgress(ReportAgreementProgressInput {
            agreement_id: id(1),
            progress: pct("10"),
            note: None,
        }),
        RecordFollowUpAction(RecordFollowUpActionInput {
            agreement_id: id(1),
            text: s("t"),
            date: day(2023, 2, 1),
        }),
        ChangeAgreementStatus(ChangeAgreementStatusInput {
            agreement_id: id(1),
            status: Status::Concluded,
        }),
        ReassignAgreement(ReassignAgreementInput {
            agreement_id: id(1),
            agencies: vec![s("SEC")],
            responsible_person: s("p"),
        }),
        CancelAgreement(CancelAgreementInput {
            agreement_id: id(1),
            reason: s("r"),
        }),
        CorrectAgreementEvent(CorrectAgreementEventInput {
            agreement_id: id(1),
            corrected_event_id: id(2),
            reason: s("r"),
            status: Some(Status::Pending),
            progress: None,
            due_on: None,
            description: None,
        }),
        RegisterCommitment(RegisterCommitmentInput {
            number: 1,
            text: s("t"),
        }),
        AssignCommitment(AssignCommitmentInput {
            number: 1,
            agencies: vec![s("CEA")],
        }),
        RegisterAction(RegisterActionInput {
            number: 1,
            action_id: id(7),
            agency: s("CEA"),
            description: s("d"),
            status: Status::Pending,
            progress: None,
            investment_mxn: mxn("0"),
            date: day(2023, 1, 1),
        }),
        ChangeActionStatus(ChangeActionStatusInput {
            number: 1,
            action_id: id(7),
            status: Status::InProgress,
        }),
        ReportActionProgress(ReportActionProgressInput {
            number: 1,
            action_id: id(7),
            progress: pct("99.99"),
        }),
        CreateActivity(CreateActivityInput {
            activity_id: id(3),
            title: s("t"),
            priority: Priority::Baja,
            due_on: day(2023, 1, 1),
            responsibles: vec![s("Ana")],
        }),
        ReportActivity(ReportActivityInput {
            activity_id: id(3),
            responsible: s("Ana"),
            status: Status::InProgress,
            progress: pct("1"),
        }),
        CloseActivityResponsibility(CloseActivityResponsibilityInput {
            activity_id: id(3),
            responsible: s("Ana"),
        }),
        ReceiveLetter(ReceiveLetterInput {
            folio: s("F-1"),
            unit: Unit::Dggd,
            classification: Classification::Relevant,
            sender: s("x"),
            subject: s("y"),
            received_at: t,
        }),
        TurnLetter(TurnLetterInput {
            folio: s("F-1"),
            agency: s("CEA"),
            turned_at: t,
        }),
        OpenCaseFile(OpenCaseFileInput {
            folio: s("F-1"),
            case_file: s("E-1"),
            opened_at: t,
        }),
        IssueOutgoingLetter(IssueOutgoingLetterInput {
            folio: s("F-1"),
            number: s("O-1"),
            recipient: s("CEA"),
            issued_at: t,
        }),
        RecordLetterFollowUp(RecordLetterFollowUpInput {
            folio: s("F-1"),
            note: s("n"),
            recorded_at: t,
        }),
        AnswerLetter(AnswerLetterInput {
            folio: s("F-1"),
            answered_at: t,
        }),
        ReceivePetition(ReceivePetitionInput {
            petition_id: id(5),
            channel: Channel::new("HEARING"),
            topic: Topic::new("INFORMATION_REQUEST"),
            municipality: s("Cajeme"),
            citizen_id: id(55),
            contact: contact(),
            tour_id: None,
            received_at: t,
        }),
        TurnPetition(TurnPetitionInput {
            petition_id: id(5),
            target: TurnTarget::Agency(s("SEC")),
            turned_at: t,
        }),
        RecordPetitionFollowUp(RecordPetitionFollowUpInput {
            petition_id: id(5),
            kind: FollowUpKind::new("REPLY"),
            at: t,
        }),
        AttendPetition(AttendPetitionInput {
            petition_id: id(5),
            at: t,
        }),
        ClosePetition(ClosePetitionInput {
            petition_id: id(5),
            at: t,
        }),
        RectifyCitizenContact(RectifyCitizenContactInput {
            petition_id: id(5),
            contact: contact(),
        }),
        HoldPressConference(super::press_conference::hold(ConferenceKind::Governor)),
        RegisterConferenceParticipant(super::press_conference::participant("Lic. Ruiz")),
        RecordConferenceExposition(RecordConferenceExpositionInput {
            conference_id: id(60),
            speaker: "Mtro. Gómez".into(),
            topic: "Agua".into(),
            ideas: "El acueducto avanza.".into(),
        }),
        RecordConferenceQuestion(super::press_conference::question_input(
            "Lic. Ruiz",
            "Mtro. Gómez",
        )),
    ]
}

#[test]
fn every_command_survives_a_json_round_trip_under_its_name() {
    let commands = sample_commands();
    let names: BTreeSet<_> = commands.iter().map(Command::name).collect();
    let declared: BTreeSet<_> = crate::command::COMMAND_NAMES.iter().copied().collect();
    assert_eq!(names, declared, "one sample per declared command");
    assert_eq!(
        declared.len(),
        crate::command::COMMAND_NAMES.len(),
        "names are unique"
    );
    for cmd in commands {
        let value = serde_json::to_value(&cmd).unwrap();
        assert_eq!(value["command"], cmd.name());
        assert!(value["input"].is_object());
        let back: Command = serde_json::from_value(value).unwrap();
        assert_eq!(back, cmd);
    }
}

#[test]
fn a_command_json_line_reads_as_documented() {
    let line = r#"{"command":"registerAgency","input":{"acronym":"SIDUR","name":"Infraestructura","sectorHead":null}}"#;
    let cmd: Command = serde_json::from_str(line).unwrap();
    assert_eq!(cmd.stream_id(), crate::AGENCY_CATALOG_STREAM);
    let line = r#"{"command":"reportActionProgress","input":{"number":12,"actionId":"00000000-0000-0000-0000-000000000007","progress":"55.5"}}"#;
    let cmd: Command = serde_json::from_str(line).unwrap();
    assert_eq!(cmd.stream_id(), "commitment-12");
    let bad = r#"{"command":"reportActionProgress","input":{"number":12,"actionId":"00000000-0000-0000-0000-000000000007","progress":"101"}}"#;
    assert!(serde_json::from_str::<Command>(bad).is_err());
}

#[test]
fn every_command_routes_to_a_stream_of_its_aggregate() {
    for cmd in sample_commands() {
        let stream = cmd.stream_id();
        let prefix = match cmd.aggregate_kind() {
            crate::AggregateKind::AgencyCatalog => "agencies",
            crate::AggregateKind::CabinetMeeting => "cabinet-meeting-",
            crate::AggregateKind::Agreement => "agreement-",
            crate::AggregateKind::Commitment => "commitment-",
            crate::AggregateKind::Activity => "activity-",
            crate::AggregateKind::Letter => "letter-",
            crate::AggregateKind::Petition => "petition-",
            crate::AggregateKind::PressConference => "press-conference-",
        };
        assert!(stream.starts_with(prefix), "{} -> {stream}", cmd.name());
    }
}

/// Every event that carries a citizen's contact declares where, so every sealing and
/// redaction path finds it; and what is declared is there.
#[test]
fn personal_data_is_declared_exactly_where_events_carry_it() {
    let name = contact().name;
    for event in sample_events() {
        let (event_type, _, payload) = event.to_stored();
        let declared = DomainEvent::personal_fields(&event_type);
        let carrying: Vec<&String> = payload
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, v)| v.to_string().contains(&name))
            .map(|(k, _)| k)
            .collect();
        match declared {
            None => assert!(carrying.is_empty(), "{event_type} carries {carrying:?}"),
            Some(fields) => {
                assert_eq!(carrying, fields.sealed.to_vec(), "{event_type}");
                assert!(payload.get(fields.citizen).is_some(), "{event_type}");
            }
        }
    }
}
