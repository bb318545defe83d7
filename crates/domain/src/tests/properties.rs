//! Random command sequences never reach a state the rules forbid.

use crate::Aggregate as _;
use proptest::prelude::*;
use rust_decimal::Decimal;

use super::fixtures::*;
use crate::activity::ActivityState;
use crate::agreement::AgreementState;
use crate::command::*;
use crate::commitment::CommitmentState;
use crate::values::*;
use crate::{decide, Command, Context, DomainEvent};

fn progress() -> impl Strategy<Value = Progress> {
    (0i64..=10_000).prop_map(|cents| Progress::new(Decimal::new(cents, 2)).unwrap())
}

fn status() -> impl Strategy<Value = Status> {
    prop_oneof![
        Just(Status::Pending),
        Just(Status::InProgress),
        Just(Status::Concluded)
    ]
}

fn stage() -> impl Strategy<Value = InstructionStage> {
    prop_oneof![
        Just(InstructionStage::Oficio),
        Just(InstructionStage::ContestacionOficio),
        Just(InstructionStage::MesaTrabajo),
        Just(InstructionStage::ProyectosAcuerdos),
        Just(InstructionStage::EjecucionAvanzando),
        Just(InstructionStage::Ejecucion100),
    ]
}

fn agency() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(s("CEA")),
        Just(s("SIDUR")),
        Just(s("SEC")),
        Just(s("IMTES")),
        Just(s("NOPE"))
    ]
}

/// Runs commands against one stream, keeping the accepted events with fake store ids
/// 1001, 1002…; returns the history and, per accepted command, its events.
fn run(cmds: Vec<Command>) -> (Vec<DomainEvent>, Vec<Vec<DomainEvent>>) {
    let cat = catalog();
    let m = meeting_stream_state();
    let mut history = Vec::new();
    let mut accepted = Vec::new();
    for cmd in cmds {
        let ids: Vec<_> = (0..history.len() as u128).map(|n| id(1001 + n)).collect();
        let ctx = Context::new(&cat, now())
            .with_referenced(Some(&m))
            .with_event_ids(&ids);
        if let Ok(events) = decide(&history, &cmd, &ctx) {
            history.extend(events.clone());
            accepted.push(events);
        }
    }
    (history, accepted)
}

const AG: u128 = 1;

fn agreement_command() -> impl Strategy<Value = Command> {
    let aid = id(AG);
    prop_oneof![
        3 => (progress(), proptest::option::of("[a-z ]{0,5}")).prop_map(move |(p, note)| {
            Command::ReportAgreementProgress(ReportAgreementProgressInput {
                agreement_id: aid,
                progress: p,
                note,
            })
        }),
        3 => status().prop_map(move |st| Command::ChangeAgreementStatus(ChangeAgreementStatusInput {
            agreement_id: aid,
            status: st
        })),
        2 => stage().prop_map(move |st| Command::ChangeInstructionStage(
            ChangeInstructionStageInput {
                agreement_id: aid,
                stage: st
            }
        )),
        1 => (1u32..28).prop_map(move |d| Command::RecordFollowUpAction(RecordFollowUpActionInput {
            agreement_id: aid,
            text: s("seguimiento"),
            date: day(2023, 4, d),
        })),
        1 => proptest::collection::vec(agency(), 0..3).prop_map(move |agencies| {
            Command::ReassignAgreement(ReassignAgreementInput {
                agreement_id: aid,
                agencies,
                responsible_person: s("Ing. López"),
            })
        }),
        1 => Just(Command::CancelAgreement(CancelAgreementInput {
            agreement_id: aid,
            reason: s("duplicado"),
        })),
        2 => (
            990u128..1020,
            proptest::option::of(status()),
            proptest::option::of(progress())
        )
            .prop_map(move |(event, st, p)| {
                Command::CorrectAgreementEvent(CorrectAgreementEventInput {
                    agreement_id: aid,
                    corrected_event_id: id(event),
                    reason: s("corrección"),
                    status: st,
                    progress: p,
                    due_on: None,
                    description: None,
                })
            }),
    ]
}

fn create_agreement(instruction: bool) -> Command {
    Command::CreateAgreement(CreateAgreementInput {
        agreement_id: id(AG),
        kind: if instruction {
            ItemKind::Instruction
        } else {
            ItemKind::Agreement
        },
        origin: Origin::CabinetMeeting,
        meeting_id: Some(id(900)),
        conference_id: None,
        description: s("Acueducto"),
        agencies: vec![s("CEA")],
        responsible_person: s("Ing. López"),
        issuer: s("Gobernador"),
        issued_on: day(2023, 3, 1),
        due_on: None,
        budget: vec![],
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_commands_never_break_the_agreement_rules(
        instruction in any::<bool>(),
        cmds in proptest::collection::vec(agreement_command(), 0..40),
    ) {
        let mut all = vec![create_agreement(instruction)];
        all.extend(cmds);
        let (history, accepted) = run(all);
        let mut state = AgreementState::default();
        for events in &accepted {
            let before = state.agreement.clone();
            for e in events {
                state.apply(e);
            }
            let after = state.agreement.clone().unwrap();
            if let Some(before) = before {
                // Nothing is accepted once cancelled.
                prop_assert!(before.cancelled.is_none());
                let corrected = events
                    .iter()
                    .any(|e| matches!(e, DomainEvent::EventCorrected { .. }));
                // Concluded stays concluded unless a correction says otherwise.
                if before.status == Status::Concluded && !corrected {
                    prop_assert_eq!(after.status, Status::Concluded);
                }
                // Status only moves forward without a correction.
                if !corrected {
                    prop_assert!(after.status >= before.status);
                }
                // Stages never move backwards.
                prop_assert!(after.stage >= before.stage);
            }
            if let Some(p) = after.progress {
                prop_assert!(p >= Progress::ZERO && p <= Progress::HUNDRED);
            }
            if after.kind == ItemKind::Agreement {
                prop_assert_eq!(after.stage, None);
            }
            prop_assert!(!after.agencies.is_empty());
            prop_assert!(after.agencies.iter().all(|a| catalog().is_active(a)));
        }
        // The whole history folds to the same state as the step-by-step application.
        prop_assert_eq!(AgreementState::from_events(&history), state);
    }
}

const ACT: u128 = 3;
const PEOPLE: [&str; 4] = ["Ana", "Luis", "Eva", "Pedro"];

fn activity_command() -> impl Strategy<Value = Command> {
    let aid = id(ACT);
    prop_oneof![
        (0usize..4, status(), progress()).prop_map(move |(who, st, p)| {
            Command::ReportActivity(ReportActivityInput {
                activity_id: aid,
                responsible: s(PEOPLE[who]),
                status: st,
                progress: p,
            })
        }),
        (0usize..4).prop_map(move |who| {
            Command::CloseActivityResponsibility(CloseActivityResponsibilityInput {
                activity_id: aid,
                responsible: s(PEOPLE[who]),
            })
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_commands_never_conclude_an_activity_with_an_open_responsible(
        n in 1usize..4,
        cmds in proptest::collection::vec(activity_command(), 0..30),
    ) {
        let mut all = vec![Command::CreateActivity(CreateActivityInput {
            activity_id: id(ACT),
            title: s("Informe"),
            priority: Priority::Normal,
            due_on: day(2023, 9, 30),
            responsibles: PEOPLE[..n].iter().map(|p| s(p)).collect(),
        })];
        all.extend(cmds);
        let (history, accepted) = run(all);
        let mut state = ActivityState::default();
        for events in &accepted {
            let was_concluded = state.activity.as_ref().is_some_and(|a| a.concluded);
            prop_assert!(!was_concluded, "a concluded activity accepted {:?}", events);
            for e in events {
                state.apply(e);
            }
            let a = state.activity.as_ref().unwrap();
            let all_closed = a.responsibilities.iter().all(|r| r.closed);
            prop_assert_eq!(a.concluded, all_closed);
            prop_assert!(a.responsibilities.iter().all(|r| PEOPLE[..n].contains(&r.responsible.as_str())));
        }
        let concluded_events = history
            .iter()
            .filter(|e| matches!(e, DomainEvent::ActivityConcluded {}))
            .count();
        prop_assert!(concluded_events <= 1);
    }
}

const N: u32 = 42;

fn commitment_command() -> impl Strategy<Value = Command> {
    prop_oneof![
        proptest::collection::vec(agency(), 0..3).prop_map(|agencies| Command::AssignCommitment(
            AssignCommitmentInput {
                number: N,
                agencies
            }
        )),
        (
            1u128..4,
            agency(),
            status(),
            proptest::option::of(progress()),
            0i64..10_000_000
        )
            .prop_map(|(a, agency, st, p, cents)| {
                Command::RegisterAction(RegisterActionInput {
                    number: N,
                    action_id: id(a),
                    agency,
                    description: s("acción"),
                    status: st,
                    progress: p,
                    investment_mxn: Mxn::new(Decimal::new(cents, 2)).unwrap(),
                    date: day(2023, 6, 30),
                })
            }),
        (1u128..4, status()).prop_map(|(a, st)| Command::ChangeActionStatus(
            ChangeActionStatusInput {
                number: N,
                action_id: id(a),
                status: st
            }
        )),
        (1u128..4, progress()).prop_map(|(a, p)| Command::ReportActionProgress(
            ReportActionProgressInput {
                number: N,
                action_id: id(a),
                progress: p
            }
        )),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_commands_never_break_the_commitment_rules(
        cmds in proptest::collection::vec(commitment_command(), 0..40),
    ) {
        let mut all = vec![Command::RegisterCommitment(RegisterCommitmentInput {
            number: N,
            text: s("Hospital"),
        })];
        all.extend(cmds);
        let (_, accepted) = run(all);
        let mut state = CommitmentState::default();
        for events in &accepted {
            let before = state.commitment.clone();
            for e in events {
                state.apply(e);
            }
            let after = state.commitment.as_ref().unwrap();
            for action in after.actions.values() {
                prop_assert!(after.agencies.contains(&action.agency));
                if let Some(prev) = before.as_ref().and_then(|b| b.actions.get(&action.action_id)) {
                    prop_assert!(action.status >= prev.status);
                }
                // Pending actions carry no positive progress.
                if action.status == Status::Pending {
                    prop_assert!(action.progress.is_none_or(|p| p == Progress::ZERO));
                }
            }
        }
    }

    #[test]
    fn progress_accepts_exactly_zero_to_hundred(cents in -20_000i64..30_000) {
        let ok = Progress::new(Decimal::new(cents, 2)).is_ok();
        prop_assert_eq!(ok, (0..=10_000).contains(&cents));
    }

    #[test]
    fn amounts_accept_exactly_non_negative_centavos(units in -1_000_000i64..1_000_000, scale in 0u32..4) {
        let d = Decimal::new(units, scale);
        let ok = Mxn::new(d).is_ok();
        prop_assert_eq!(ok, units >= 0 && d.normalize().scale() <= 2);
        if let Ok(m) = Mxn::new(d) {
            let back: Mxn = serde_json::from_value(serde_json::to_value(m).unwrap()).unwrap();
            prop_assert_eq!(back, m);
        }
    }
}
