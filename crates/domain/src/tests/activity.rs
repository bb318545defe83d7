use super::fixtures::*;
use crate::activity::ActivityState;
use crate::command::*;
use crate::values::*;
use crate::Aggregate as _;
use crate::{DomainError, DomainEvent};

const ACT: u128 = 3;

fn create(responsibles: &[&str]) -> Command {
    Command::CreateActivity(CreateActivityInput {
        activity_id: id(ACT),
        title: s("Informe trimestral"),
        priority: Priority::Alta,
        due_on: day(2023, 9, 30),
        responsibles: responsibles.iter().map(|r| s(r)).collect(),
    })
}

fn report(who: &str, st: Status, p: &str) -> Command {
    Command::ReportActivity(ReportActivityInput {
        activity_id: id(ACT),
        responsible: s(who),
        status: st,
        progress: p.parse().unwrap(),
    })
}

fn close(who: &str) -> Command {
    Command::CloseActivityResponsibility(CloseActivityResponsibilityInput {
        activity_id: id(ACT),
        responsible: s(who),
    })
}

#[test]
fn creating_an_activity_records_its_distinct_responsibles() {
    let events = when(&[], create(&["Ana", " Luis ", "Ana"])).unwrap();
    assert!(matches!(
        events.as_slice(),
        [DomainEvent::ActivityCreated { responsibles, priority: Priority::Alta, .. }]
            if responsibles == &vec![s("Ana"), s("Luis")]
    ));
}

#[test]
fn creating_an_activity_twice_without_title_or_responsibles_is_refused() {
    let history = given(vec![create(&["Ana"])]);
    assert_eq!(
        when(&history, create(&["Ana"])),
        Err(DomainError::AlreadyExists(crate::activity_stream(id(ACT))))
    );
    assert_eq!(
        when(&[], create(&[])),
        Err(DomainError::EmptyField("responsibles"))
    );
    assert_eq!(
        when(&[], create(&["Ana", " "])),
        Err(DomainError::EmptyField("responsibles"))
    );
    let untitled = Command::CreateActivity(CreateActivityInput {
        activity_id: id(ACT),
        title: s(""),
        priority: Priority::Baja,
        due_on: day(2023, 9, 30),
        responsibles: vec![s("Ana")],
    });
    assert_eq!(when(&[], untitled), Err(DomainError::EmptyField("title")));
}

#[test]
fn a_responsible_reports_status_and_progress() {
    let history = given(vec![create(&["Ana", "Luis"])]);
    assert_eq!(
        when(&history, report("Ana", Status::InProgress, "30")).unwrap(),
        vec![DomainEvent::ResponsibleReported {
            responsible: s("Ana"),
            status: Status::InProgress,
            progress: "30".parse().unwrap()
        }]
    );
}

#[test]
fn reporting_by_a_non_responsible_or_on_a_missing_activity_is_refused() {
    assert_eq!(
        when(&[], report("Ana", Status::InProgress, "30")),
        Err(DomainError::NotFound(crate::activity_stream(id(ACT))))
    );
    let history = given(vec![create(&["Ana"])]);
    assert_eq!(
        when(&history, report("Pedro", Status::InProgress, "30")),
        Err(DomainError::NotResponsible {
            responsible: s("Pedro")
        })
    );
}

#[test]
fn a_responsible_cannot_report_going_back_or_after_closing() {
    let history = given(vec![
        create(&["Ana", "Luis"]),
        report("Ana", Status::InProgress, "30"),
    ]);
    assert!(matches!(
        when(&history, report("Ana", Status::Pending, "0")),
        Err(DomainError::ForbiddenTransition { .. })
    ));
    let closed = given(vec![create(&["Ana", "Luis"]), close("Ana")]);
    assert!(matches!(
        when(&closed, report("Ana", Status::InProgress, "30")),
        Err(DomainError::AlreadyClosed(_))
    ));
}

#[test]
fn closing_the_last_responsibility_concludes_the_activity() {
    let history = given(vec![create(&["Ana", "Luis"]), close("Luis")]);
    assert_eq!(
        when(&history, close("Ana")).unwrap(),
        vec![
            DomainEvent::ResponsibleClosed {
                responsible: s("Ana")
            },
            DomainEvent::ActivityConcluded {},
        ]
    );
}

#[test]
fn closing_one_of_several_responsibilities_leaves_the_activity_open() {
    let history = given(vec![create(&["Ana", "Luis"]), close("Luis")]);
    let a = ActivityState::from_events(&history).activity.unwrap();
    assert!(!a.concluded);
}

#[test]
fn closing_an_activity_by_a_non_responsible_is_refused() {
    let history = given(vec![create(&["Ana", "Luis"])]);
    assert_eq!(
        when(&history, close("Pedro")),
        Err(DomainError::NotResponsible {
            responsible: s("Pedro")
        })
    );
}

#[test]
fn closing_twice_or_on_a_concluded_or_missing_activity_is_refused() {
    assert!(matches!(
        when(&[], close("Ana")),
        Err(DomainError::NotFound(_))
    ));
    let history = given(vec![create(&["Ana", "Luis"]), close("Luis")]);
    assert!(matches!(
        when(&history, close("Luis")),
        Err(DomainError::AlreadyClosed(_))
    ));
    let concluded = given(vec![create(&["Ana"]), close("Ana")]);
    assert_eq!(
        when(&concluded, close("Ana")),
        Err(DomainError::AlreadyClosed(crate::activity_stream(id(ACT))))
    );
}
