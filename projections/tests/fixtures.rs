//! The published 2023 tables, reproduced from the demo dataset folded in memory.

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use rust_decimal::Decimal;
use seguimiento_fixtures::demo::dataset_2023;
use seguimiento_fixtures::simulator::run;
use seguimiento_projections::models::compliance::{Compliance, ComplianceRow};
use seguimiento_projections::models::correspondence::{Correspondence, MonthCounts};
use seguimiento_projections::models::petitions::Petitions;
use seguimiento_projections::models::{cabinet, commitments, correspondence, petitions, semaforo};
use seguimiento_projections::{fold, skipped_types, ProjectedEvent, Projector, Rows, Scope};

use common::{assert_reads_every_kind_it_folds, projected};

fn events() -> &'static Vec<ProjectedEvent> {
    static EVENTS: OnceLock<Vec<ProjectedEvent>> = OnceLock::new();
    EVENTS.get_or_init(|| projected(&run(&dataset_2023()).expect("demo dataset passes the domain")))
}

fn compliance() -> &'static Rows<ComplianceRow> {
    static ROWS: OnceLock<Rows<ComplianceRow>> = OnceLock::new();
    ROWS.get_or_init(|| fold::<Compliance>(events().iter()).expect("fold"))
}

/// Rows of a fixture CSV: data lines plus `# total,...` lines (as a row starting "total").
fn fixture(name: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path).expect("fixture readable");
    let mut cleaned = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# total,") {
            cleaned.push_str("total,");
            cleaned.push_str(rest);
            cleaned.push('\n');
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            cleaned.push_str(line);
            cleaned.push('\n');
        }
    }
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(cleaned.as_bytes());
    let headers = rdr
        .headers()
        .expect("headers")
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = rdr
        .records()
        .map(|r| r.expect("record").iter().map(str::to_owned).collect())
        .collect();
    (headers, rows)
}

fn dec(s: &str) -> Decimal {
    s.parse().expect("decimal")
}

#[test]
fn semaforo_of_commitment_actions_matches_every_published_row() {
    let (headers, rows) = fixture("semaforo_compromisos_2023.csv");
    assert_eq!(headers[1], "agency");
    let report = semaforo::semaforo(
        compliance(),
        Scope::CommitmentActions,
        chrono::NaiveDate::from_ymd_opt(2024, 2, 12).expect("date"),
    );
    assert_eq!(report.rows.len(), rows.len());
    for (i, r) in rows.iter().enumerate() {
        let got = &report.rows[i];
        assert_eq!(got.name, r[1], "row {} (published order)", r[0]);
        assert_eq!(
            got.assigned,
            r[2].parse::<u64>().expect("int"),
            "{}: assigned",
            r[1]
        );
        assert_eq!(
            got.items,
            r[3].parse::<u64>().expect("int"),
            "{}: actions",
            r[1]
        );
        assert_eq!(got.concluded, r[4].parse::<u64>().expect("int"), "{}", r[1]);
        assert_eq!(
            got.in_progress,
            r[5].parse::<u64>().expect("int"),
            "{}",
            r[1]
        );
        assert_eq!(got.pending, r[6].parse::<u64>().expect("int"), "{}", r[1]);
        assert_eq!(
            Decimal::from(got.compliance_whole),
            dec(&r[7]),
            "{}: whole %",
            r[1]
        );
        assert_eq!(
            dec(got.investment_mxn.as_deref().unwrap_or("")),
            dec(&r[8]),
            "{}: investment",
            r[1]
        );
    }
}

#[test]
fn cabinet_report_matches_every_published_row_and_the_summary() {
    let (_, rows) = fixture("gabinetes_2023.csv");
    let report = cabinet::report(compliance(), Some(2023));
    // Every type the demo registers (the ten published ones, in published order), zeros
    // included; the published table lists the first eight.
    assert_eq!(
        report.rows.len(),
        seguimiento_fixtures::catalogues::MEETING_TYPES.len()
    );
    for (i, r) in rows.iter().enumerate() {
        let got = &report.rows[i];
        assert_eq!(got.label, r[0]);
        assert_eq!(
            got.meetings_held,
            r[1].parse::<u64>().expect("int"),
            "{}",
            r[0]
        );
        assert_eq!(
            got.agreements,
            r[2].parse::<u64>().expect("int"),
            "{}",
            r[0]
        );
        assert_eq!(got.general_compliance_pct.0, dec(&r[3]), "{}", r[0]);
    }
    for extra in &report.rows[rows.len()..] {
        assert_eq!((extra.meetings_held, extra.agreements), (0, 0));
    }
    let s = &report.summary;
    assert_eq!(
        (s.agreements, s.concluded, s.in_progress, s.pending),
        (282, 106, 84, 92)
    );
    assert_eq!(s.compliance_pct.0, dec("52.48"));
    // Without a year filter too.
    assert_eq!(cabinet::report(compliance(), None).summary, *s);
}

#[test]
fn monthly_correspondence_matches_every_column_and_the_total() {
    let (headers, rows) = fixture("correspondencia_2023.csv");
    let state = fold::<Correspondence>(events().iter()).expect("fold");
    let report = correspondence::report(&state, 2023);
    let col = |c: &MonthCounts, name: &str| -> u64 {
        match name {
            "relevantes" => c.relevantes,
            "ccp" => c.ccp,
            "folios_dggd" => c.folios_dggd,
            "oficios_dggd" => c.oficios_dggd,
            "expedientes_dggd" => c.expedientes_dggd,
            "seguimientos_dggd" => c.seguimientos_dggd,
            "folios_oee" => c.folios_oee,
            "oficios_oee" => c.oficios_oee,
            "expedientes_oee" => c.expedientes_oee,
            other => panic!("unknown column {other}"),
        }
    };
    assert_eq!(rows.len(), 13, "12 months and the total");
    for r in &rows {
        let counts = if r[0] == "total" {
            report.total
        } else {
            let m: usize = r[0].parse().expect("month");
            report.months[m - 1].counts
        };
        for (h, v) in headers.iter().zip(r).skip(1) {
            assert_eq!(
                col(&counts, h),
                v.parse::<u64>().expect("int"),
                "{} {h}",
                r[0]
            );
        }
    }
    assert!(!report.agencies.is_empty());
    for a in &report.agencies {
        assert!(
            a.within_48h_pct.0 > Decimal::from(70) && a.within_48h_pct.0 <= Decimal::ONE_HUNDRED
        );
    }
}

#[test]
fn petitions_report_is_consistent_and_holds_no_personal_data() {
    let state = fold::<Petitions>(events().iter()).expect("fold");
    let report = petitions::report(&state, 2023);
    assert_eq!(report.total.received, 2400);
    let by_topic: u64 = report.total.by_topic.iter().map(|c| c.count).sum();
    let by_channel: u64 = report.total.by_channel.iter().map(|c| c.count).sum();
    assert_eq!((by_topic, by_channel), (2400, 2400));
    assert!(report.total.tours > 0 && report.total.tour_follow_ups > 0);
    assert!(report.total.follow_ups >= report.total.tour_follow_ups);
    // The demo sets the published goal; every topic and channel is one of the catalogue's,
    // listed in its order with its label.
    assert_eq!(report.annual_goal, Some(40_000));
    assert!(report.goal_pct.is_some_and(|p| p.0 > Decimal::ZERO));
    let topics: Vec<&str> = report
        .total
        .by_topic
        .iter()
        .map(|c| c.topic.as_str())
        .collect();
    assert_eq!(topics[..2], ["LEGAL_ADVICE", "IMMEDIATE_ATTENTION"]);
    assert_eq!(report.total.by_topic[0].label, "Asesoría jurídica");
    assert!(report
        .total
        .by_topic
        .iter()
        .all(|c| c.label != c.topic.as_str()));
    let json = serde_json::to_string(&state.as_map()).expect("json");
    assert!(!json.contains("Ciudadano de prueba") && !json.contains("662000"));
}

#[test]
fn commitments_report_covers_every_commitment() {
    let report = commitments::report(compliance());
    assert_eq!(report.commitments, 220);
    assert_eq!(report.actions, 620);
    let total: Decimal = seguimiento_fixtures::demo::published_investment();
    assert_eq!(dec(report.investment_mxn.as_deref().unwrap_or("")), total);
}

#[test]
fn other_semaforos_have_rows() {
    let on = chrono::NaiveDate::from_ymd_opt(2024, 2, 12).expect("date");
    let ag = semaforo::semaforo(compliance(), Scope::CabinetAgreements, on);
    assert!(ag.rows.iter().any(|r| r.key == "SIDUR"));
    assert!(ag.total.overdue > 0);
    let act = semaforo::semaforo(compliance(), Scope::Activities, on);
    assert!(act.total.items >= 24);
    let items = semaforo::explain(compliance(), Scope::CommitmentActions, "JOEE", on);
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|i| i.status_event.is_some()));
}

#[test]
fn each_projection_reads_every_kind_it_folds() {
    // The dataset has events of the kinds each projection does not read, so the comparisons
    // below are not vacuous.
    for reads in [Compliance::READS, Correspondence::READS, Petitions::READS] {
        let skipped = skipped_types(reads);
        assert!(events()
            .iter()
            .any(|e| skipped.contains(&e.event.event_type())));
    }
    assert_reads_every_kind_it_folds::<Compliance>(events());
    assert_reads_every_kind_it_folds::<Correspondence>(events());
    assert_reads_every_kind_it_folds::<Petitions>(events());
}
