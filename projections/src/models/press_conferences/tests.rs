use super::*;
use crate::projector::fold;
use chrono::{TimeZone, Utc};
use seguimiento_domain::press_conference::Minutes;
use uuid::Uuid;

fn held(n: u128, kind: ConferenceKind, date: (i32, u32, u32), topic: &str) -> ProjectedEvent {
    let date = NaiveDate::from_ymd_opt(date.0, date.1, date.2).unwrap();
    let at = Utc.with_ymd_and_hms(2023, 12, 31, 0, 0, 0).unwrap();
    ProjectedEvent {
        id: Uuid::from_u128(1000 + n),
        stream: seguimiento_domain::press_conference::conference_stream(Uuid::from_u128(n)),
        version: 0,
        position: n as u64,
        actor: "oficina".into(),
        recorded_at: at,
        effective_at: at,
        event: DomainEvent::PressConferenceHeld {
            conference_id: Uuid::from_u128(n),
            kind,
            date,
            presided_by: "Gobernador".into(),
            topic: topic.into(),
            state: "Sonora".into(),
            venue: "Palacio".into(),
            duration_minutes: Minutes(40),
        },
    }
}

#[test]
fn participants_are_listed_with_their_conference_in_order() {
    let mut events = vec![held(1, ConferenceKind::Governor, (2023, 1, 10), "Agua")];
    for (i, name) in ["Lic. Ruiz", "Mtra. Soto"].into_iter().enumerate() {
        let mut e = events[0].clone();
        e.version = i as u64 + 1;
        e.position = 10 + i as u64;
        e.event = DomainEvent::ConferenceParticipantRegistered {
            name: name.into(),
            role: "Reportera".into(),
            outlet: "El Imparcial".into(),
        };
        events.push(e);
    }
    let rows = fold::<PressConferences>(&events).unwrap();
    let names: Vec<String> = list(&rows, Some(2023))[0]
        .participants
        .iter()
        .map(|p| p.name.clone())
        .collect();
    assert_eq!(names, vec!["Lic. Ruiz", "Mtra. Soto"]);
}

#[test]
fn the_executive_report_lists_each_intervention_with_the_speakers_role_and_outlet() {
    let mut events = vec![held(1, ConferenceKind::Governor, (2023, 1, 10), "Agua")];
    let next = |events: &mut Vec<ProjectedEvent>, event: DomainEvent| {
        let mut e = events[0].clone();
        e.version = events.len() as u64;
        e.position = 10 + events.len() as u64;
        e.event = event;
        events.push(e);
    };
    for (name, role, outlet) in [
        ("Lic. Ruiz", "Reportera", "El Imparcial"),
        ("Mtro. Gómez", "Secretario", "CEA"),
    ] {
        next(
            &mut events,
            DomainEvent::ConferenceParticipantRegistered {
                name: name.into(),
                role: role.into(),
                outlet: outlet.into(),
            },
        );
    }
    next(
        &mut events,
        DomainEvent::ConferenceQuestionRecorded {
            asked_by: "Lic. Ruiz".into(),
            question: "¿Cuándo?".into(),
            answered_by: "Mtro. Gómez".into(),
            answer_summary: "En diciembre.".into(),
        },
    );
    let rows = fold::<PressConferences>(&events).unwrap();
    let c = conference(&rows, Uuid::from_u128(1)).unwrap();
    let got: Vec<(InterventionKind, &str, &str, &str, &str)> = c
        .interventions
        .iter()
        .map(|i| {
            (
                i.kind,
                i.participant.as_str(),
                i.outlet.as_str(),
                i.text.as_str(),
                i.topic.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                InterventionKind::Question,
                "Lic. Ruiz",
                "El Imparcial",
                "¿Cuándo?",
                "Agua"
            ),
            (
                InterventionKind::Answer,
                "Mtro. Gómez",
                "CEA",
                "En diciembre.",
                "Agua"
            ),
        ]
    );
    assert_eq!(c.interventions[1].role, "Secretario");
    assert!(conference(&rows, Uuid::from_u128(2)).is_none());
}

fn agreement_event(stream: &str, version: u64, event: DomainEvent) -> ProjectedEvent {
    let at = Utc.with_ymd_and_hms(2023, 12, 31, 0, 0, 0).unwrap();
    ProjectedEvent {
        id: Uuid::from_u128(5000 + u128::from(version) + 100 * u128::from(stream.len() as u64)),
        stream: stream.to_owned(),
        version,
        position: 100 + version,
        actor: "oficina".into(),
        recorded_at: at,
        effective_at: at,
        event,
    }
}

fn created(agreement: u128, conference: Option<u128>) -> DomainEvent {
    use seguimiento_domain::values::{ItemKind, Origin};
    DomainEvent::AgreementCreated {
        agreement_id: Uuid::from_u128(agreement),
        kind: ItemKind::Instruction,
        origin: Origin::PressConference,
        meeting_id: None,
        meeting_type: None,
        conference_id: conference.map(Uuid::from_u128),
        description: "Rehabilitar pozos".into(),
        agencies: vec!["CEA".into()],
        responsible_person: "Ing. López".into(),
        issuer: "Gobernador".into(),
        issued_on: NaiveDate::from_ymd_opt(2023, 1, 10).unwrap(),
        due_on: None,
        budget: Vec::new(),
    }
}

#[test]
fn a_conference_shows_its_instructions_as_they_stand() {
    let a = "agreement-a";
    let progress = |p: &str| DomainEvent::ProgressReported {
        progress: p.parse().unwrap(),
        note: None,
    };
    let mut events = vec![
        held(1, ConferenceKind::Governor, (2023, 1, 10), "Agua"),
        agreement_event(a, 0, created(70, Some(1))),
        agreement_event("agreement-b", 0, created(71, None)),
        agreement_event(
            a,
            1,
            DomainEvent::InstructionStageChanged {
                stage: InstructionStage::MesaTrabajo,
            },
        ),
        agreement_event(
            a,
            2,
            DomainEvent::StatusChanged {
                status: Status::InProgress,
            },
        ),
        agreement_event(a, 3, progress("30")),
    ];
    let reported = events[5].id;
    events.push(agreement_event(
        a,
        4,
        DomainEvent::EventCorrected {
            corrected_event_id: reported,
            reason: "capturado mal".into(),
            status: None,
            progress: Some("40".parse().unwrap()),
            due_on: None,
            description: None,
        },
    ));
    let rows = fold::<PressConferences>(&events).unwrap();
    let c = conference(&rows, Uuid::from_u128(1)).unwrap();
    assert_eq!(
        c.instructions,
        vec![ConferenceInstruction {
            agreement_id: Uuid::from_u128(70),
            description: "Rehabilitar pozos".into(),
            stage: Some(InstructionStage::MesaTrabajo),
            status: Status::InProgress,
            progress_pct: Pct("40".parse().unwrap()),
            cancelled: false,
        }]
    );
    let r = period_report(&rows, 2023);
    assert_eq!(r.instructions, 1);
    assert_eq!(r.instruction_compliance_pct.to_string(), "40.00");
}

#[test]
fn the_period_report_counts_conferences_per_month_and_ranks_topics() {
    use ConferenceKind::{Governor, PresidentMorning};
    let events = [
        held(1, Governor, (2023, 1, 10), "Agua"),
        held(2, PresidentMorning, (2023, 1, 11), "Seguridad"),
        held(3, Governor, (2023, 3, 2), "Seguridad"),
        held(4, Governor, (2023, 12, 31), "Salud"),
        held(5, Governor, (2024, 1, 2), "Seguridad"),
    ];
    let rows = fold::<PressConferences>(&events).unwrap();
    let r = period_report(&rows, 2023);
    assert_eq!(r.total, 4);
    assert_eq!(r.months.len(), 12);
    assert_eq!(
        (
            r.months[0].president_morning,
            r.months[0].governor,
            r.months[0].total
        ),
        (1, 1, 2)
    );
    assert_eq!(r.months[2].total, 1);
    assert_eq!(r.months[11].total, 1);
    let topics: Vec<(&str, u64)> = r
        .topics
        .iter()
        .map(|t| (t.topic.as_str(), t.conferences))
        .collect();
    assert_eq!(topics, vec![("Seguridad", 2), ("Agua", 1), ("Salud", 1)]);
    assert_eq!(list(&rows, Some(2024)).len(), 1);
    assert!(list(&rows, None).iter().all(|c| c.participants.is_empty()));
    assert_eq!(list(&rows, None).len(), 5);
}
