//! Pure folds: the item rule, corrections, cancellations, explain.

mod common;

use chrono::NaiveDate;
use common::*;
use rust_decimal::Decimal;
use seguimiento_domain::command::*;
use seguimiento_domain::values::Status;
use seguimiento_domain::{agreement_stream, Command};
use seguimiento_fixtures::{DemoEvent, Simulator};
use seguimiento_projections::models::compliance::Compliance;
use seguimiento_projections::models::{cabinet, semaforo};
use seguimiento_projections::{fold, Scope};

fn exec(sim: &mut Simulator, cmd: Command) -> Vec<DemoEvent> {
    sim.execute(&c(cmd, t(3))).expect("valid")
}

fn on() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 1, 1).expect("date")
}

#[test]
fn corrections_override_the_corrected_event_and_later_reports_still_win() {
    let mut sim = Simulator::new();
    let mut events = setup(&mut sim);
    let create = op(&sim, (0, 1, 1, 0));
    let Command::CreateAgreement(input) = &create.command else {
        unreachable!()
    };
    let agreement_id = input.agreement_id;
    events.extend(sim.execute(&create).expect("create"));
    events.extend(exec(
        &mut sim,
        Command::ReportAgreementProgress(ReportAgreementProgressInput {
            agreement_id,
            progress: progress(30),
            note: None,
        }),
    ));
    let report_id = sim.event_ids(&agreement_stream(agreement_id))[1];
    let semaforo_of = |events: &[DemoEvent]| {
        let rows = fold::<Compliance>(projected(events).iter()).expect("fold");
        semaforo::semaforo(&rows, Scope::CabinetAgreements, on())
    };
    assert_eq!(
        semaforo_of(&events).total.compliance_pct.0,
        Decimal::from(30)
    );
    events.extend(exec(
        &mut sim,
        Command::CorrectAgreementEvent(CorrectAgreementEventInput {
            agreement_id,
            corrected_event_id: report_id,
            reason: "era 70".into(),
            status: None,
            progress: Some(progress(70)),
            due_on: None,
            description: None,
        }),
    ));
    let r = semaforo_of(&events);
    assert_eq!(r.total.compliance_pct.0, Decimal::from(70));
    let rows = fold::<Compliance>(projected(&events).iter()).expect("fold");
    let explained = semaforo::explain(&rows, Scope::CabinetAgreements, &r.rows[0].key, on());
    assert_eq!(explained.len(), 1);
    assert_eq!(explained[0].progress_used.0, Decimal::from(70));
    assert_eq!(
        explained[0].progress_event.map(|e| e.event_id),
        Some(report_id)
    );
    // A later report wins over the corrected earlier one.
    events.extend(exec(
        &mut sim,
        Command::ReportAgreementProgress(ReportAgreementProgressInput {
            agreement_id,
            progress: progress(40),
            note: None,
        }),
    ));
    assert_eq!(
        semaforo_of(&events).total.compliance_pct.0,
        Decimal::from(40)
    );
    // Correcting the status event (InProgress → Pending) makes it count 0.
    let status_id = sim.event_ids(&agreement_stream(agreement_id))[2];
    events.extend(exec(
        &mut sim,
        Command::CorrectAgreementEvent(CorrectAgreementEventInput {
            agreement_id,
            corrected_event_id: status_id,
            reason: "no había iniciado".into(),
            status: Some(Status::Pending),
            progress: None,
            due_on: None,
            description: None,
        }),
    ));
    let r = semaforo_of(&events);
    assert_eq!(
        (r.total.pending, r.total.compliance_pct.0),
        (1, Decimal::ZERO)
    );
    // Corrections are of a kind the compliance projection reads.
    assert_reads_every_kind_it_folds::<Compliance>(&projected(&events));
}

#[test]
fn cancelled_agreements_are_not_counted_and_in_progress_without_report_counts_50() {
    let mut sim = Simulator::new();
    let mut events = setup(&mut sim);
    for (i, st) in [(1u8, 1u8), (2, 2)] {
        events.extend(sim.execute(&op(&sim, (0, i, 1, 0))).expect("create"));
        events.extend(sim.execute(&op(&sim, (2, i, st, 1))).expect("status"));
    }
    events.extend(sim.execute(&op(&sim, (0, 3, 1, 0))).expect("create"));
    events.extend(sim.execute(&op(&sim, (3, 3, 0, 2))).expect("cancel"));
    let rows = fold::<Compliance>(projected(&events).iter()).expect("fold");
    let r = semaforo::semaforo(&rows, Scope::CabinetAgreements, on());
    assert_eq!(r.total.items, 2);
    assert_eq!(r.total.compliance_pct.0, Decimal::from(75));
    let c = cabinet::report(&rows, None);
    assert_eq!(c.summary.agreements, 2);
    assert_eq!(c.summary.concluded, 1);
}
