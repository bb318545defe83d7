use super::fixtures::*;
use crate::command::*;
use crate::commitment::CommitmentState;
use crate::values::*;
use crate::Aggregate as _;
use crate::{DomainError, DomainEvent};

const N: u32 = 42;
const ACTION: u128 = 7;

fn register() -> Command {
    Command::RegisterCommitment(RegisterCommitmentInput {
        number: N,
        text: s("Construir el acueducto El Novillo"),
    })
}

fn assign(agencies: &[&str]) -> Command {
    Command::AssignCommitment(AssignCommitmentInput {
        number: N,
        agencies: agencies.iter().map(|a| s(a)).collect(),
    })
}

fn action_input() -> RegisterActionInput {
    RegisterActionInput {
        number: N,
        action_id: id(ACTION),
        agency: s("cea"),
        description: s("Licitación de la obra"),
        status: Status::Pending,
        progress: None,
        investment_mxn: "2500000.50".parse().unwrap(),
        date: day(2023, 6, 30),
    }
}

fn action() -> Command {
    Command::RegisterAction(action_input())
}

fn action_status(st: Status) -> Command {
    Command::ChangeActionStatus(ChangeActionStatusInput {
        number: N,
        action_id: id(ACTION),
        status: st,
    })
}

fn action_progress(p: &str) -> Command {
    Command::ReportActionProgress(ReportActionProgressInput {
        number: N,
        action_id: id(ACTION),
        progress: p.parse().unwrap(),
    })
}

#[test]
fn registering_a_commitment_records_number_and_text() {
    assert_eq!(
        when(&[], register()).unwrap(),
        vec![DomainEvent::CommitmentRegistered {
            number: N,
            text: s("Construir el acueducto El Novillo")
        }]
    );
}

#[test]
fn registering_a_used_number_or_a_blank_text_is_refused() {
    let history = given(vec![register()]);
    assert_eq!(
        when(&history, register()),
        Err(DomainError::NumberAlreadyUsed(N))
    );
    let blank = Command::RegisterCommitment(RegisterCommitmentInput {
        number: N,
        text: s(" "),
    });
    assert_eq!(when(&[], blank), Err(DomainError::EmptyField("text")));
}

#[test]
fn assigning_a_commitment_adds_agencies() {
    let history = given(vec![register(), assign(&["CEA"])]);
    assert_eq!(
        when(&history, assign(&["sidur", "SIDUR"])).unwrap(),
        vec![DomainEvent::CommitmentAssigned {
            agencies: vec![s("SIDUR")]
        }]
    );
}

#[test]
fn assigning_an_unregistered_commitment_or_an_assigned_unknown_inactive_or_no_agency_is_refused() {
    assert_eq!(
        when(&[], assign(&["CEA"])),
        Err(DomainError::NotFound(s("commitment-42")))
    );
    let history = given(vec![register(), assign(&["CEA"])]);
    assert_eq!(
        when(&history, assign(&["CEA"])),
        Err(DomainError::AlreadyAssigned(s("CEA")))
    );
    assert_eq!(
        when(&history, assign(&["NOPE"])),
        Err(DomainError::UnknownAgency(s("NOPE")))
    );
    assert_eq!(
        when(&history, assign(&["IMTES"])),
        Err(DomainError::AgencyInactive(s("IMTES")))
    );
    assert_eq!(
        when(&history, assign(&[])),
        Err(DomainError::EmptyField("agencies"))
    );
}

#[test]
fn an_assigned_agency_registers_an_action_with_its_investment() {
    let history = given(vec![register(), assign(&["CEA"]), action()]);
    let c = CommitmentState::from_events(&history).commitment.unwrap();
    assert_eq!(c.investment().unwrap().to_string(), "2500000.50");
    assert_eq!(c.actions[&id(ACTION)].agency, "CEA");
    assert_eq!(action().agency(), Some("cea"));
}

#[test]
fn an_action_registered_pending_with_progress_is_recorded_in_progress() {
    let history = given(vec![register(), assign(&["CEA"])]);
    let cmd = Command::RegisterAction(RegisterActionInput {
        progress: Some("10".parse().unwrap()),
        ..action_input()
    });
    assert!(matches!(
        when(&history, cmd).unwrap().as_slice(),
        [DomainEvent::ActionRegistered {
            status: Status::InProgress,
            ..
        }]
    ));
}

#[test]
fn an_action_by_an_agency_the_commitment_is_not_assigned_to_is_refused() {
    let history = given(vec![register(), assign(&["CEA"])]);
    let cmd = Command::RegisterAction(RegisterActionInput {
        agency: s("SEC"),
        ..action_input()
    });
    assert_eq!(
        when(&history, cmd),
        Err(DomainError::AgencyNotAssigned(s("SEC")))
    );
}

#[test]
fn registering_an_action_twice_blank_or_on_a_missing_commitment_is_refused() {
    assert_eq!(
        when(&[], action()),
        Err(DomainError::NotFound(s("commitment-42")))
    );
    let history = given(vec![register(), assign(&["CEA"]), action()]);
    assert_eq!(
        when(&history, action()),
        Err(DomainError::DuplicateAction(id(ACTION)))
    );
    let blank = Command::RegisterAction(RegisterActionInput {
        action_id: id(8),
        description: s(""),
        ..action_input()
    });
    assert_eq!(
        when(&history, blank),
        Err(DomainError::EmptyField("description"))
    );
    let unknown = Command::RegisterAction(RegisterActionInput {
        agency: s("NOPE"),
        ..action_input()
    });
    assert_eq!(
        when(&history, unknown),
        Err(DomainError::UnknownAgency(s("NOPE")))
    );
}

#[test]
fn changing_an_action_status_follows_the_status_workflow() {
    let history = given(vec![register(), assign(&["CEA"]), action()]);
    assert_eq!(
        when(&history, action_status(Status::Concluded)).unwrap(),
        vec![DomainEvent::ActionStatusChanged {
            action_id: id(ACTION),
            status: Status::Concluded
        }]
    );
    let concluded = given(vec![
        register(),
        assign(&["CEA"]),
        action(),
        action_status(Status::Concluded),
    ]);
    assert_eq!(
        when(&concluded, action_status(Status::InProgress)),
        Err(DomainError::ForbiddenTransition {
            from: s("Concluded"),
            to: s("InProgress")
        })
    );
}

#[test]
fn changing_the_status_of_an_unknown_action_is_refused() {
    let history = given(vec![register(), assign(&["CEA"])]);
    assert_eq!(
        when(&history, action_status(Status::Concluded)),
        Err(DomainError::UnknownAction(id(ACTION)))
    );
    assert_eq!(
        when(&history, action_progress("5")),
        Err(DomainError::UnknownAction(id(ACTION)))
    );
}

#[test]
fn reporting_progress_on_a_pending_action_also_puts_it_in_progress() {
    let history = given(vec![register(), assign(&["CEA"]), action()]);
    assert_eq!(
        when(&history, action_progress("40")).unwrap(),
        vec![
            DomainEvent::ActionProgressReported {
                action_id: id(ACTION),
                progress: "40".parse().unwrap()
            },
            DomainEvent::ActionStatusChanged {
                action_id: id(ACTION),
                status: Status::InProgress
            },
        ]
    );
    assert_eq!(
        action_progress("40").agencies_touched(&history),
        vec![s("CEA")]
    );
}

#[test]
fn reporting_progress_on_a_concluded_action_is_refused() {
    let history = given(vec![
        register(),
        assign(&["CEA"]),
        action(),
        action_status(Status::Concluded),
    ]);
    assert_eq!(
        when(&history, action_progress("40")),
        Err(DomainError::ForbiddenTransition {
            from: s("Concluded"),
            to: s("reportActionProgress")
        })
    );
}
