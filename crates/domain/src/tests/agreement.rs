use super::fixtures::*;
use crate::agreement::AgreementState;
use crate::command::*;
use crate::values::*;
use crate::Aggregate as _;
use crate::{decide, Context, DomainError, DomainEvent};

const AG: u128 = 1;

fn create_input() -> CreateAgreementInput {
    CreateAgreementInput {
        agreement_id: id(AG),
        kind: ItemKind::Agreement,
        origin: Origin::CabinetMeeting,
        meeting_id: Some(id(900)),
        conference_id: None,
        description: s("Rehabilitar el acueducto de Hermosillo"),
        agencies: vec![s("cea"), s("SIDUR")],
        responsible_person: s("Ing. Pedro López"),
        issuer: s("Gobernador"),
        issued_on: day(2023, 3, 1),
        due_on: Some(day(2023, 12, 31)),
        budget: vec![YearBudget {
            year: 2023,
            amount_mxn: "1500000.00".parse().unwrap(),
        }],
    }
}

fn create() -> Command {
    Command::CreateAgreement(create_input())
}

fn instruction() -> Command {
    Command::CreateAgreement(CreateAgreementInput {
        kind: ItemKind::Instruction,
        origin: Origin::PressConference,
        meeting_id: None,
        ..create_input()
    })
}

fn progress(p: &str) -> Command {
    Command::ReportAgreementProgress(ReportAgreementProgressInput {
        agreement_id: id(AG),
        progress: p.parse().unwrap(),
        note: Some(s("  ")),
    })
}

fn status(st: Status) -> Command {
    Command::ChangeAgreementStatus(ChangeAgreementStatusInput {
        agreement_id: id(AG),
        status: st,
    })
}

fn stage(st: InstructionStage) -> Command {
    Command::ChangeInstructionStage(ChangeInstructionStageInput {
        agreement_id: id(AG),
        stage: st,
    })
}

fn cancel(reason: &str) -> Command {
    Command::CancelAgreement(CancelAgreementInput {
        agreement_id: id(AG),
        reason: s(reason),
    })
}

fn follow_up(text: &str, date: chrono::NaiveDate) -> Command {
    Command::RecordFollowUpAction(RecordFollowUpActionInput {
        agreement_id: id(AG),
        text: s(text),
        date,
    })
}

fn reassign(agencies: &[&str], person: &str) -> Command {
    Command::ReassignAgreement(ReassignAgreementInput {
        agreement_id: id(AG),
        agencies: agencies.iter().map(|a| s(a)).collect(),
        responsible_person: s(person),
    })
}

fn correction(event: u128) -> CorrectAgreementEventInput {
    CorrectAgreementEventInput {
        agreement_id: id(AG),
        corrected_event_id: id(event),
        reason: s("captured on the wrong agreement"),
        status: Some(Status::InProgress),
        progress: Some("60".parse().unwrap()),
        due_on: None,
        description: None,
    }
}

/// Decides with event ids 1001, 1002… standing for the history's store ids.
fn when_with_ids(history: &[DomainEvent], cmd: Command) -> Result<Vec<DomainEvent>, DomainError> {
    let cat = catalog();
    let ids: Vec<_> = (0..history.len() as u128).map(|n| id(1001 + n)).collect();
    let ctx = Context::new(&cat, now()).with_event_ids(&ids);
    decide(history, &cmd, &ctx)
}

fn state(history: &[DomainEvent]) -> crate::agreement::Agreement {
    AgreementState::from_events(history).agreement.unwrap()
}

fn forbidden(from: &str, to: &str) -> DomainError {
    DomainError::ForbiddenTransition {
        from: s(from),
        to: s(to),
    }
}

#[test]
fn creating_an_agreement_copies_the_meeting_type_from_the_meeting() {
    let events = when(&[], create()).unwrap();
    assert!(matches!(
        events.as_slice(),
        [DomainEvent::AgreementCreated {
            meeting_type: Some(meeting_type),
            agencies,
            ..
        }] if agencies == &vec![s("CEA"), s("SIDUR")]
            && meeting_type.as_str() == "PRIORITY_WATER"
    ));
    let a = state(&events);
    assert_eq!(a.status, Status::Pending);
    assert_eq!(a.stage, None);
}

#[test]
fn an_instruction_from_a_press_conference_starts_at_the_oficio_stage() {
    let history = given(vec![instruction()]);
    assert_eq!(state(&history).stage, Some(InstructionStage::Oficio));
}

#[test]
fn creating_an_agreement_twice_is_refused() {
    let history = given(vec![create()]);
    assert_eq!(
        when(&history, create()),
        Err(DomainError::AlreadyExists(crate::agreement_stream(id(AG))))
    );
}

#[test]
fn creating_an_agreement_for_an_unknown_meeting_is_refused() {
    let cmd = Command::CreateAgreement(CreateAgreementInput {
        meeting_id: Some(id(901)),
        ..create_input()
    });
    assert_eq!(when(&[], cmd), Err(DomainError::UnknownMeeting(id(901))));
}

#[test]
fn a_cabinet_agreement_without_a_meeting_is_refused() {
    let cmd = Command::CreateAgreement(CreateAgreementInput {
        meeting_id: None,
        ..create_input()
    });
    assert_eq!(when(&[], cmd), Err(DomainError::EmptyField("meetingId")));
}

#[test]
fn creating_an_agreement_with_a_blank_field_is_refused() {
    let blank = |f: fn(&mut CreateAgreementInput)| {
        let mut i = create_input();
        f(&mut i);
        when(&[], Command::CreateAgreement(i))
    };
    assert_eq!(
        blank(|i| i.description = s(" ")),
        Err(DomainError::EmptyField("description"))
    );
    assert_eq!(
        blank(|i| i.agencies.clear()),
        Err(DomainError::EmptyField("agencies"))
    );
    assert_eq!(
        blank(|i| i.responsible_person = s("")),
        Err(DomainError::EmptyField("responsiblePerson"))
    );
    assert_eq!(
        blank(|i| i.issuer = s("")),
        Err(DomainError::EmptyField("issuer"))
    );
}

#[test]
fn creating_an_agreement_for_an_unknown_or_inactive_agency_is_refused() {
    let with = |a: &str| {
        when(
            &[],
            Command::CreateAgreement(CreateAgreementInput {
                agencies: vec![s("CEA"), s(a)],
                ..create_input()
            }),
        )
    };
    assert_eq!(with("NOPE"), Err(DomainError::UnknownAgency(s("NOPE"))));
    assert_eq!(with("IMTES"), Err(DomainError::AgencyInactive(s("IMTES"))));
}

#[test]
fn an_agreement_due_before_it_was_issued_is_refused() {
    let cmd = Command::CreateAgreement(CreateAgreementInput {
        due_on: Some(day(2023, 2, 1)),
        ..create_input()
    });
    assert_eq!(
        when(&[], cmd),
        Err(DomainError::DatesOutOfOrder {
            earlier: "issuedOn",
            later: "dueOn"
        })
    );
}

#[test]
fn commands_on_an_agreement_not_created_yet_are_refused() {
    let missing = Err(DomainError::NotFound(crate::agreement_stream(id(AG))));
    assert_eq!(when(&[], progress("10")), missing);
    assert_eq!(when(&[], status(Status::Concluded)), missing);
    assert_eq!(when(&[], stage(InstructionStage::MesaTrabajo)), missing);
    assert_eq!(when(&[], cancel("x")), missing);
    assert_eq!(when(&[], follow_up("x", day(2023, 3, 2))), missing);
    assert_eq!(when(&[], reassign(&["CEA"], "x")), missing);
    assert_eq!(
        when(&[], Command::CorrectAgreementEvent(correction(1001))),
        missing
    );
}

#[test]
fn moving_an_instruction_forward_through_its_stages_is_accepted() {
    let history = given(vec![instruction(), stage(InstructionStage::MesaTrabajo)]);
    assert_eq!(
        when(&history, stage(InstructionStage::Ejecucion100)).unwrap(),
        vec![DomainEvent::InstructionStageChanged {
            stage: InstructionStage::Ejecucion100
        }]
    );
}

#[test]
fn moving_an_instruction_stage_backwards_is_refused() {
    let history = given(vec![instruction(), stage(InstructionStage::MesaTrabajo)]);
    assert_eq!(
        when(&history, stage(InstructionStage::ContestacionOficio)),
        Err(forbidden("MesaTrabajo", "ContestacionOficio"))
    );
    assert_eq!(
        when(&history, stage(InstructionStage::MesaTrabajo)),
        Err(forbidden("MesaTrabajo", "MesaTrabajo"))
    );
}

#[test]
fn a_cabinet_agreement_has_no_stages() {
    let history = given(vec![create()]);
    assert_eq!(
        when(&history, stage(InstructionStage::MesaTrabajo)),
        Err(DomainError::NotAnInstruction)
    );
}

#[test]
fn reporting_progress_on_a_pending_agreement_also_puts_it_in_progress() {
    let history = given(vec![create()]);
    assert_eq!(
        when(&history, progress("35.5")).unwrap(),
        vec![
            DomainEvent::ProgressReported {
                progress: "35.5".parse().unwrap(),
                note: None
            },
            DomainEvent::StatusChanged {
                status: Status::InProgress
            },
        ]
    );
}

#[test]
fn reporting_full_progress_does_not_conclude_the_agreement() {
    let history = given(vec![create(), progress("100")]);
    assert_eq!(state(&history).status, Status::InProgress);
    assert_eq!(
        when(&history, progress("100")).unwrap(),
        vec![DomainEvent::ProgressReported {
            progress: Progress::HUNDRED,
            note: None
        }]
    );
}

#[test]
fn reporting_progress_on_a_concluded_agreement_is_refused() {
    let history = given(vec![create(), status(Status::Concluded)]);
    assert_eq!(
        when(&history, progress("50")),
        Err(forbidden("Concluded", "reportAgreementProgress"))
    );
}

#[test]
fn recording_a_follow_up_action_is_accepted_and_kept_as_the_last_action() {
    let history = given(vec![
        create(),
        follow_up("Mesa con CONAGUA", day(2023, 4, 2)),
    ]);
    assert_eq!(
        state(&history).last_follow_up,
        Some((day(2023, 4, 2), s("Mesa con CONAGUA")))
    );
}

#[test]
fn a_blank_or_backdated_follow_up_action_is_refused() {
    let history = given(vec![create()]);
    assert_eq!(
        when(&history, follow_up(" ", day(2023, 4, 2))),
        Err(DomainError::EmptyField("text"))
    );
    assert_eq!(
        when(&history, follow_up("x", day(2023, 2, 2))),
        Err(DomainError::DatesOutOfOrder {
            earlier: "issuedOn",
            later: "date"
        })
    );
}

#[test]
fn concluding_is_allowed_from_pending_and_from_in_progress() {
    let pending = given(vec![create()]);
    assert!(when(&pending, status(Status::Concluded)).is_ok());
    let started = given(vec![create(), progress("20")]);
    assert_eq!(
        when(&started, status(Status::Concluded)).unwrap(),
        vec![DomainEvent::StatusChanged {
            status: Status::Concluded
        }]
    );
}

#[test]
fn moving_a_concluded_agreement_back_without_a_correction_is_refused() {
    let history = given(vec![create(), status(Status::Concluded)]);
    assert_eq!(
        when(&history, status(Status::InProgress)),
        Err(forbidden("Concluded", "InProgress"))
    );
    let started = given(vec![create(), progress("20")]);
    assert_eq!(
        when(&started, status(Status::Pending)),
        Err(forbidden("InProgress", "Pending"))
    );
}

#[test]
fn reassigning_an_agreement_replaces_agencies_and_responsible() {
    let history = given(vec![create(), reassign(&["sec"], "Mtra. Laura Gil")]);
    let a = state(&history);
    assert_eq!(a.agencies, vec![s("SEC")]);
    assert_eq!(a.responsible_person, "Mtra. Laura Gil");
}

#[test]
fn reassigning_to_no_agency_an_unknown_one_or_nobody_is_refused() {
    let history = given(vec![create()]);
    assert_eq!(
        when(&history, reassign(&[], "x")),
        Err(DomainError::EmptyField("agencies"))
    );
    assert_eq!(
        when(&history, reassign(&["NOPE"], "x")),
        Err(DomainError::UnknownAgency(s("NOPE")))
    );
    assert_eq!(
        when(&history, reassign(&["CEA"], " ")),
        Err(DomainError::EmptyField("responsiblePerson"))
    );
}

#[test]
fn cancelling_an_agreement_records_the_reason() {
    let history = given(vec![create()]);
    assert_eq!(
        when(&history, cancel("duplicado")).unwrap(),
        vec![DomainEvent::AgreementCancelled {
            reason: s("duplicado")
        }]
    );
}

#[test]
fn cancelling_twice_without_reason_or_after_concluding_is_refused() {
    let history = given(vec![create()]);
    assert_eq!(
        when(&history, cancel("")),
        Err(DomainError::EmptyField("reason"))
    );
    let cancelled = given(vec![create(), cancel("duplicado")]);
    assert_eq!(
        when(&cancelled, cancel("otra vez")),
        Err(DomainError::AlreadyClosed(crate::agreement_stream(id(AG))))
    );
    let concluded = given(vec![create(), status(Status::Concluded)]);
    assert_eq!(
        when(&concluded, cancel("x")),
        Err(forbidden("Concluded", "Cancelled"))
    );
}

#[test]
fn any_write_to_a_cancelled_agreement_is_refused() {
    let history = given(vec![instruction(), cancel("duplicado")]);
    let refused = |cmd: Command| {
        let name = cmd.name();
        assert_eq!(
            when_with_ids(&history, cmd),
            Err(forbidden("Cancelled", name))
        );
    };
    refused(progress("10"));
    refused(status(Status::Concluded));
    refused(stage(InstructionStage::MesaTrabajo));
    refused(follow_up("x", day(2023, 4, 1)));
    refused(reassign(&["CEA"], "x"));
    refused(Command::CorrectAgreementEvent(correction(1001)));
}

#[test]
fn a_correction_moves_a_concluded_agreement_back_and_its_values_win() {
    let history = given(vec![create(), progress("90"), status(Status::Concluded)]);
    let events = when_with_ids(&history, Command::CorrectAgreementEvent(correction(1004))).unwrap();
    assert_eq!(
        events,
        vec![DomainEvent::EventCorrected {
            corrected_event_id: id(1004),
            reason: s("captured on the wrong agreement"),
            status: Some(Status::InProgress),
            progress: Some("60".parse().unwrap()),
            due_on: None,
            description: None,
        }]
    );
    let mut all = history.clone();
    all.extend(events);
    let a = state(&all);
    assert_eq!(a.status, Status::InProgress);
    assert_eq!(a.progress, Some("60".parse().unwrap()));
    // The corrected event is still in the stream.
    assert_eq!(all.len(), history.len() + 1);
}

#[test]
fn a_correction_of_an_event_not_in_the_stream_is_refused() {
    let history = given(vec![create()]);
    assert_eq!(
        when_with_ids(&history, Command::CorrectAgreementEvent(correction(77))),
        Err(DomainError::UnknownEvent(id(77)))
    );
}

#[test]
fn a_correction_without_reason_or_values_or_with_a_bad_due_date_is_refused() {
    let history = given(vec![create()]);
    let correct = |f: fn(&mut CorrectAgreementEventInput)| {
        let mut i = correction(1001);
        f(&mut i);
        when_with_ids(&history, Command::CorrectAgreementEvent(i))
    };
    assert_eq!(
        correct(|i| i.reason = s(" ")),
        Err(DomainError::EmptyField("reason"))
    );
    assert_eq!(
        correct(|i| {
            i.status = None;
            i.progress = None;
        }),
        Err(DomainError::EmptyField("correction"))
    );
    assert_eq!(
        correct(|i| i.description = Some(s(""))),
        Err(DomainError::EmptyField("description"))
    );
    assert_eq!(
        correct(|i| i.due_on = Some(day(2022, 1, 1))),
        Err(DomainError::DatesOutOfOrder {
            earlier: "issuedOn",
            later: "dueOn"
        })
    );
    assert!(correct(|i| {
        i.status = None;
        i.progress = None;
        i.description = Some(s("Descripción corregida"));
    })
    .is_ok());
}

#[test]
fn agencies_touched_by_a_progress_report_are_the_assigned_ones() {
    let history = given(vec![create()]);
    assert_eq!(
        progress("10").agencies_touched(&history),
        vec![s("CEA"), s("SIDUR")]
    );
    assert_eq!(create().reference(), Some(crate::meeting_stream(id(900))));
    assert_eq!(progress("10").stream_id(), format!("agreement-{}", id(AG)));
}
