//! Acceptance: the published "Semáforo de Acciones Registradas en el módulo Compromisos de
//! Campaña" (tests/fixtures/semaforo_compromisos_2023.csv) comes out of
//! `compliance(scope: COMMITMENT_ACTIONS)` after loading the demo dataset's agency,
//! commitment and action commands through the GraphQL mutations.

mod common;

use std::time::{Duration, Instant};

use seguimiento_api::ApiConfig;
use seguimiento_domain::AggregateKind;
use seguimiento_fixtures::demo::dataset_2023;
use serde_json::{json, Value};

use common::{Backend, Server};

#[derive(Debug, serde::Deserialize)]
struct Published {
    agency: String,
    commitments_assigned: u64,
    actions_registered: u64,
    concluded: u64,
    in_progress: u64,
    pending: u64,
    compliance_pct: i64,
    investment_mxn: String,
}

fn published() -> Vec<Published> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/semaforo_compromisos_2023.csv"
    );
    let mut rdr = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .from_path(path)
        .expect("fixture");
    rdr.deserialize().map(|r| r.expect("row")).collect()
}

async fn published_semaforo_comes_out_of_graphql_mutations(backend: Backend) {
    let config = ApiConfig {
        // Bulk load: do not wait for the projections after every mutation.
        read_your_writes: Duration::ZERO,
        ..ApiConfig::default()
    };
    let Some(s) = Server::start(backend, config).await else {
        eprintln!("SKIPPED: TEST_DATABASE_URL not set");
        return;
    };
    let commands: Vec<_> = dataset_2023()
        .into_iter()
        .filter(|c| {
            matches!(
                c.command.aggregate_kind(),
                AggregateKind::AgencyCatalog | AggregateKind::Commitment
            )
        })
        .collect();
    let started = Instant::now();
    for c in &commands {
        let stored = serde_json::to_value(&c.command).expect("command json");
        let name = stored["command"].as_str().unwrap_or_default().to_owned();
        let (status, body) = s
            .mutate(
                &s.admin,
                &name,
                stored["input"].clone(),
                json!({ "effectiveAt": c.effective_at }),
            )
            .await;
        assert!(
            body.get("errors").is_none(),
            "{name} failed (HTTP {status}): {}",
            body["errors"]
        );
    }
    eprintln!(
        "{} mutations through GraphQL in {:.1} s",
        commands.len(),
        started.elapsed().as_secs_f64()
    );
    s.settle().await;

    let d = s
        .ok(
            &s.viewer,
            "{ compliance(scope: COMMITMENT_ACTIONS) { rows { key name assigned items concluded inProgress pending compliancePct complianceWhole investmentMxn } total { items compliancePct } } }",
            json!({}),
        )
        .await;
    let rows = d["compliance"]["rows"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let expected = published();
    assert_eq!(rows.len(), expected.len(), "{rows:?}");
    for (i, p) in expected.iter().enumerate() {
        let row: &Value = rows
            .iter()
            .find(|r| r["name"] == p.agency.as_str())
            .unwrap_or_else(|| panic!("no row for {}", p.agency));
        assert_eq!(row["assigned"], p.commitments_assigned, "{}", p.agency);
        assert_eq!(row["items"], p.actions_registered, "{}", p.agency);
        assert_eq!(row["concluded"], p.concluded, "{}", p.agency);
        assert_eq!(row["inProgress"], p.in_progress, "{}", p.agency);
        assert_eq!(row["pending"], p.pending, "{}", p.agency);
        assert_eq!(row["complianceWhole"], p.compliance_pct, "{}", p.agency);
        assert_eq!(
            row["investmentMxn"],
            format!("{}.00", p.investment_mxn),
            "{}",
            p.agency
        );
        // Two-decimal string, consistent with the whole percent.
        let pct = row["compliancePct"].as_str().unwrap_or_default();
        assert_eq!(pct.split('.').nth(1).map(str::len), Some(2), "{pct}");
        // Published order: by compliance, descending.
        assert_eq!(rows[i]["complianceWhole"], p.compliance_pct, "row {i}");
    }
    s.cleanup().await;
}

seguimiento_eventstore::on_both_backends!(Backend: published_semaforo_comes_out_of_graphql_mutations);
