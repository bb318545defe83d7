//! Shared helpers of the database tests.
#![allow(dead_code)]

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use rust_decimal::Decimal;
use seguimiento_domain::command::*;
use seguimiento_domain::values::*;
use seguimiento_domain::Command;
use seguimiento_eventstore::{EventStore, ExpectedVersion, Metadata, NewEvent};
use seguimiento_fixtures::{DemoCommand, DemoEvent, Simulator};
use seguimiento_projections::models::compliance::Compliance;
use seguimiento_projections::models::correspondence::Correspondence;
use seguimiento_projections::models::petitions::Petitions;
use seguimiento_projections::{fold_view, load, skipped_types, ProjectedEvent, Projector, View};
use uuid::Uuid;

pub const AGENCIES: [&str; 3] = ["SIDUR", "CEA", "SEC"];

pub fn t(days: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2023, 3, 1, 16, 0, 0)
        .single()
        .expect("date")
        + TimeDelta::days(days)
}

pub fn c(command: Command, at: DateTime<Utc>) -> DemoCommand {
    DemoCommand {
        command,
        actor: "tester@joee".into(),
        effective_at: at,
    }
}

pub fn uid(s: &str) -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_OID, s.as_bytes())
}

pub fn progress(p: u32) -> Progress {
    Progress::new(Decimal::from(p.min(100))).expect("progress")
}

/// The event as a writer hands it to the store (same id, effective time and actor).
pub fn new_event(e: &DemoEvent) -> NewEvent {
    NewEvent::stored(
        e.id,
        e.event.to_stored(),
        Metadata::by(&e.actor),
        Some(e.effective_at),
    )
}

/// The events as a projector sees them: positions 1.., recorded at their effective time
/// (so as-of and effective views coincide).
pub fn projected(events: &[DemoEvent]) -> Vec<ProjectedEvent> {
    events
        .iter()
        .enumerate()
        .map(|(i, e)| ProjectedEvent {
            event: e.event.clone(),
            id: e.id,
            stream: e.stream.clone(),
            version: e.version,
            position: i as u64 + 1,
            actor: e.actor.clone(),
            recorded_at: e.effective_at,
            effective_at: e.effective_at,
        })
        .collect()
}

/// Catalog, one meeting, one commitment assigned to every agency.
pub fn setup(sim: &mut Simulator) -> Vec<DemoEvent> {
    let mut cmds: Vec<DemoCommand> = seguimiento_fixtures::catalogues::standard()
        .into_iter()
        .map(|command| c(command, t(0)))
        .collect();
    cmds.extend(AGENCIES.iter().map(|a| {
        c(
            Command::RegisterAgency(RegisterAgencyInput {
                acronym: (*a).into(),
                name: format!("Agencia {a}"),
                sector_head: None,
            }),
            t(0),
        )
    }));
    cmds.push(c(
        Command::HoldCabinetMeeting(HoldCabinetMeetingInput {
            meeting_id: uid("meeting"),
            meeting_type: MeetingType::new("PRIORITY_WATER"),
            date: t(0).date_naive(),
            agencies: vec!["CEA".into()],
        }),
        t(0),
    ));
    cmds.push(c(
        Command::RegisterCommitment(RegisterCommitmentInput {
            number: 1,
            text: "Compromiso de prueba".into(),
        }),
        t(0),
    ));
    cmds.push(c(
        Command::AssignCommitment(AssignCommitmentInput {
            number: 1,
            agencies: AGENCIES.iter().map(|a| (*a).into()).collect(),
        }),
        t(0),
    ));
    cmds.iter()
        .flat_map(|cmd| sim.execute(cmd).expect("setup is valid"))
        .collect()
}

fn status(b: u8) -> Status {
    [Status::Pending, Status::InProgress, Status::Concluded][b as usize % 3]
}

/// One random operation; invalid ones are simply rejected by the domain.
pub fn op(sim: &Simulator, (k, a, b, d): (u8, u8, u8, u8)) -> DemoCommand {
    let at = t(1 + i64::from(d));
    let agreement_id = uid(&format!("agreement-{}", a % 4));
    let action_id = uid(&format!("action-{}", a % 4));
    let folio = format!("L-{}", a % 4);
    let petition_id = uid(&format!("petition-{}", a % 4));
    let cmd = match k % 14 {
        0 => Command::CreateAgreement(CreateAgreementInput {
            agreement_id,
            kind: ItemKind::Agreement,
            origin: if b % 2 == 0 {
                Origin::CabinetMeeting
            } else {
                Origin::SpecialProject
            },
            meeting_id: (b % 2 == 0).then(|| uid("meeting")),
            conference_id: None,
            description: format!("Acuerdo {a}"),
            agencies: vec![AGENCIES[b as usize % 3].into()],
            responsible_person: "Titular".into(),
            issuer: "Gobernador".into(),
            issued_on: t(0).date_naive(),
            due_on: Some((t(0) + TimeDelta::days(i64::from(b))).date_naive()),
            budget: vec![],
        }),
        1 => Command::ReportAgreementProgress(ReportAgreementProgressInput {
            agreement_id,
            progress: progress(u32::from(b)),
            note: None,
        }),
        2 => Command::ChangeAgreementStatus(ChangeAgreementStatusInput {
            agreement_id,
            status: status(b),
        }),
        3 => Command::CancelAgreement(CancelAgreementInput {
            agreement_id,
            reason: "duplicado".into(),
        }),
        4 => {
            let ids = sim.event_ids(&seguimiento_domain::agreement_stream(agreement_id));
            Command::CorrectAgreementEvent(CorrectAgreementEventInput {
                agreement_id,
                corrected_event_id: ids
                    .get(b as usize % ids.len().max(1))
                    .copied()
                    .unwrap_or_default(),
                reason: "captura errónea".into(),
                status: (b % 2 == 0).then(|| status(b / 2)),
                progress: Some(progress(u32::from(d))),
                due_on: None,
                description: None,
            })
        }
        5 => Command::RegisterAction(RegisterActionInput {
            number: 1,
            action_id,
            agency: AGENCIES[b as usize % 3].into(),
            description: "Acción".into(),
            status: status(b),
            progress: None,
            investment_mxn: Mxn::new(Decimal::new(i64::from(d) * 1234, 2)).expect("mxn"),
            date: at.date_naive(),
        }),
        6 => Command::ChangeActionStatus(ChangeActionStatusInput {
            number: 1,
            action_id,
            status: status(b),
        }),
        7 => Command::ReportActionProgress(ReportActionProgressInput {
            number: 1,
            action_id,
            progress: progress(u32::from(b)),
        }),
        8 => Command::ReceiveLetter(ReceiveLetterInput {
            folio,
            unit: if b % 2 == 0 { Unit::Dggd } else { Unit::Oee },
            classification: if b % 3 == 0 {
                Classification::Cc
            } else {
                Classification::Relevant
            },
            sender: "Remitente".into(),
            subject: "Asunto".into(),
            received_at: t(0),
        }),
        9 => Command::TurnLetter(TurnLetterInput {
            folio,
            agency: AGENCIES[b as usize % 3].into(),
            turned_at: at,
        }),
        10 => match b % 3 {
            0 => Command::OpenCaseFile(OpenCaseFileInput {
                folio: folio.clone(),
                case_file: format!("EXP-{folio}"),
                opened_at: at,
            }),
            1 => Command::IssueOutgoingLetter(IssueOutgoingLetterInput {
                folio,
                number: format!("OF-{d}"),
                recipient: "Titular".into(),
                issued_at: at,
            }),
            _ => Command::RecordLetterFollowUp(RecordLetterFollowUpInput {
                folio,
                note: "llamada".into(),
                recorded_at: at,
            }),
        },
        11 => Command::ReceivePetition(ReceivePetitionInput {
            petition_id,
            channel: if b % 2 == 0 {
                Channel::new("TOUR")
            } else {
                Channel::new("CHAT")
            },
            topic: Topic::new("HEALTH"),
            municipality: "Hermosillo".into(),
            citizen_id: uid("citizen"),
            contact: CitizenContact {
                name: "Persona Privada".into(),
                phone: None,
                email: None,
                address: None,
            },
            tour_id: (b % 2 == 0).then(|| format!("GIRA-{}", b % 3)),
            received_at: t(0),
        }),
        12 => Command::RecordPetitionFollowUp(RecordPetitionFollowUpInput {
            petition_id,
            kind: FollowUpKind::new("CALL"),
            at,
        }),
        _ => Command::AttendPetition(AttendPetitionInput { petition_id, at }),
    };
    c(cmd, at)
}

/// Valid events of a random script (setup first).
pub fn scenario(ops: &[(u8, u8, u8, u8)]) -> Vec<DemoEvent> {
    let mut sim = Simulator::new();
    let mut out = setup(&mut sim);
    for o in ops {
        let cmd = op(&sim, *o);
        if let Ok(evs) = sim.execute(&cmd) {
            out.extend(evs);
        }
    }
    out
}

/// Appends events (consecutive events of a stream together) in batches of `per_tx` appends.
pub async fn append_all(store: &EventStore, events: &[DemoEvent], per_tx: usize) {
    let groups: Vec<(String, ExpectedVersion, Vec<_>)> = events
        .chunk_by(|a, b| a.stream == b.stream)
        .map(|g| {
            (
                g[0].stream.clone(),
                ExpectedVersion::Any,
                g.iter().map(new_event).collect(),
            )
        })
        .collect();
    let mut groups = groups.into_iter().peekable();
    while groups.peek().is_some() {
        let batch: Vec<_> = groups.by_ref().take(per_tx.max(1)).collect();
        store.append_batch(batch).await.expect("append");
    }
}

/// Live read model of `P` equals an in-memory fold of the whole log.
pub async fn assert_live_matches_fold<P: Projector>(store: &EventStore) {
    let live = load::<P>(store, View::LIVE).await.expect("live rows");
    let now = View {
        as_of: Some(Utc::now()),
        effective_at: None,
    };
    let folded = fold_view::<P>(store, now).await.expect("as-of fold");
    assert_eq!(*live, folded, "projection {}", P::NAME);
}

pub async fn assert_all_live_match_fold(store: &EventStore) {
    assert_live_matches_fold::<Compliance>(store).await;
    assert_live_matches_fold::<Correspondence>(store).await;
    assert_live_matches_fold::<Petitions>(store).await;
}

/// A projector reads every aggregate kind it folds: folding without the types its folds
/// skip (those of the kinds it does not read) gives the same state as folding everything.
pub fn assert_reads_every_kind_it_folds<P: seguimiento_projections::Projector>(
    events: &[seguimiento_projections::ProjectedEvent],
) {
    let skipped = skipped_types(P::READS);
    let kept =
        |e: &&seguimiento_projections::ProjectedEvent| !skipped.contains(&e.event.event_type());
    let all = seguimiento_projections::fold::<P>(events.iter()).expect("fold all");
    let only = seguimiento_projections::fold::<P>(events.iter().filter(kept)).expect("fold");
    assert!(
        only == all,
        "{}: folding without the skipped types differs",
        P::NAME
    );
}
