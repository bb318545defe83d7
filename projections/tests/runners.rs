//! Live = rebuild = as-of on the same log; crash safety; rebuild switch; as-of views.
//! Each test runs on a fresh SQLite file and, when TEST_DATABASE_URL is set, on a fresh
//! PostgreSQL database.

mod common;

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use common::*;
use futures::TryStreamExt;
use proptest::prelude::*;
use seguimiento_domain::command::ChangeAgreementStatusInput;
use seguimiento_domain::values::Status;
use seguimiento_domain::Command;
use seguimiento_eventstore::testing::{run_on_postgres, run_on_sqlite, TestDb};
use seguimiento_eventstore::{on_pool, Backend, EventStore, ExpectedVersion, Metadata, NewEvent};
use seguimiento_fixtures::demo::dataset_2023;
use seguimiento_fixtures::simulator::run;
use seguimiento_fixtures::Simulator;
use seguimiento_projections::models::compliance::Compliance;
use seguimiento_projections::models::semaforo::{self, Scope};
use seguimiento_projections::{
    fold_view, load, rebuild_all, registry, skipped_types, storage, LiveConfig, LiveRunner,
    Projector, Rebuild, View,
};

seguimiento_eventstore::on_both_backends!(
    TestDb:
    a_killed_runner_resumes_without_double_counting,
    old_generation_serves_until_the_rebuild_switches,
    a_refused_rebuild_write_fails_the_rebuild,
    a_late_capture_shows_in_effective_view_but_not_as_of_the_past,
    an_undecodable_event_stops_the_projection_instead_of_being_skipped,
    a_projection_that_cannot_fold_an_event_stops_there_alone_and_resumes_once_fixed,
    committed_batches_are_broadcast,
);

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

fn config(batch: usize) -> LiveConfig {
    init_tracing();
    LiveConfig {
        batch_size: batch,
        min_backoff: Duration::from_millis(20),
        ..LiveConfig::default()
    }
}

async fn wait_head(runner: &LiveRunner, store: &EventStore) {
    let head = store.head_position().await.expect("head");
    let reached = runner.wait_for(head, Duration::from_secs(60)).await;
    assert!(
        reached,
        "live runner did not reach head {head}: {:?}",
        runner.status().await
    );
}

async fn live_rebuild_asof_agree(store: EventStore, ops: Vec<(u8, u8, u8, u8)>, batch: usize) {
    let events = scenario(&ops);
    // Half before the runner starts (catch-up), half while it runs (live).
    let mid = events.len() / 2;
    append_all(&store, &events[..mid], 3).await;
    let runner = LiveRunner::start_with(store.clone(), registry::all(), config(batch))
        .await
        .expect("start");
    append_all(&store, &events[mid..], 2).await;
    wait_head(&runner, &store).await;
    runner.shutdown().await;
    assert_all_live_match_fold(&store).await;
    let before = load::<Compliance>(&store, View::LIVE).await.expect("live");
    rebuild_all(&store).await.expect("rebuild");
    assert_all_live_match_fold(&store).await;
    assert_eq!(
        before,
        load::<Compliance>(&store, View::LIVE)
            .await
            .expect("rebuilt")
    );
    // And the pure in-memory fold of the same events agrees too.
    let status = seguimiento_projections::status_of(&store, &registry::names())
        .await
        .expect("status");
    assert!(status.iter().all(|s| s.lag == 0 && s.generation == 2));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]
    #[test]
    fn live_equals_rebuild_equals_as_of(
        ops in proptest::collection::vec((0u8..14, 0u8..8, 0u8..255, 0u8..200), 0..60),
        batch in 1usize..7,
    ) {
        rt().block_on(async {
            let o = ops.clone();
            run_on_sqlite(|s| live_rebuild_asof_agree(s, o, batch)).await;
            run_on_postgres(|s| live_rebuild_asof_agree(s, ops, batch)).await;
        });
    }
}

async fn a_killed_runner_resumes_without_double_counting(store: EventStore) {
    let mut events = run(&dataset_2023()).expect("dataset");
    events.truncate(4000);
    append_all(&store, &events, 200).await;
    let runner = LiveRunner::start_with(store.clone(), registry::all(), config(7))
        .await
        .expect("start");
    // Kill it somewhere in the middle (between or during transactions).
    loop {
        let p = runner.committed_position("compliance").unwrap_or(0);
        if p > 300 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    runner.abort();
    drop(runner);
    let status = seguimiento_projections::status_of(&store, &registry::names())
        .await
        .expect("status");
    assert!(status.iter().any(|s| s.lag > 0), "killed before the head");
    let runner = LiveRunner::start_with(store.clone(), registry::all(), config(500))
        .await
        .expect("restart");
    wait_head(&runner, &store).await;
    runner.shutdown().await;
    assert_all_live_match_fold(&store).await;
}

async fn old_generation_serves_until_the_rebuild_switches(store: EventStore) {
    let mut sim = Simulator::new();
    let mut events = setup(&mut sim);
    for i in 0..4u8 {
        events.extend(sim.execute(&op(&sim, (0, i, 1, 0))).expect("create"));
    }
    append_all(&store, &events, 10).await;
    let runner = LiveRunner::start_with(store.clone(), registry::all(), config(50))
        .await
        .expect("start");
    wait_head(&runner, &store).await;
    runner.shutdown().await;
    let old = load::<Compliance>(&store, View::LIVE).await.expect("old");
    let old_gen = storage::active_generation(store.pool(), "compliance")
        .await
        .expect("gen");
    // New facts arrive while nothing projects them.
    let mut more = Vec::new();
    for i in 0..4u8 {
        more.extend(sim.execute(&op(&sim, (2, i, 2, 5))).expect("conclude"));
    }
    append_all(&store, &more, 10).await;
    let projector = registry::by_name("compliance").expect("registered");
    let rebuild = Rebuild::prepare(&store, projector.as_ref(), 2)
        .await
        .expect("prepare");
    assert_ne!(Some(rebuild.generation()), old_gen);
    // The old generation still serves, unchanged.
    assert_eq!(
        load::<Compliance>(&store, View::LIVE).await.expect("old"),
        old
    );
    let on = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).expect("date");
    let r = semaforo::query(&store, Scope::CabinetAgreements, View::LIVE, Some(on))
        .await
        .expect("query");
    assert_eq!(r.total.concluded, 0);
    let report = rebuild.switch().await.expect("switch");
    assert_eq!(report.old_generation, old_gen);
    let r = semaforo::query(&store, Scope::CabinetAgreements, View::LIVE, Some(on))
        .await
        .expect("query");
    assert_eq!(r.total.concluded, 4);
    assert_eq!(r.total.compliance_pct.0, rust_decimal::Decimal::ONE_HUNDRED);
    assert!(storage::inactive_generations(store.pool(), "compliance")
        .await
        .expect("gens")
        .is_empty());
    assert_live_matches_fold::<Compliance>(&store).await;
    // A live runner started afterwards continues from the new generation.
    let runner = LiveRunner::start_with(store.clone(), registry::all(), config(50))
        .await
        .expect("start");
    wait_head(&runner, &store).await;
    let st = runner.status().await.expect("status");
    assert!(st.iter().all(|s| s.lag == 0));
    runner.shutdown().await;
}

/// A write the database refuses stops the rebuild with an error, even though rebuild
/// writes run on a task of their own while the fold goes on, and nothing more is written.
async fn a_refused_rebuild_write_fails_the_rebuild(store: EventStore) {
    // Correspondence events fill several scan pages of the year, so its rebuild below
    // writes several times at a flush every 2 events.
    let events = run(&dataset_2023()).expect("dataset");
    let projector = registry::by_name("correspondence").expect("registered");
    let skipped = skipped_types(projector.reads());
    let folded = events
        .iter()
        .filter(|e| !skipped.contains(&new_event(e).event_type.as_str()))
        .count();
    assert!(
        folded > seguimiento_projections::runner::SCAN_BATCH,
        "{folded}"
    );
    append_all(&store, &events, 500).await;
    storage::ensure_schema(store.pool()).await.expect("schema");
    // Rows reaching a generation whose checkpoint has moved are refused: every write after
    // the first (which moves the checkpoint in the same transaction, after its rows).
    let refuse: &[&str] = match store.backend() {
        Backend::Sqlite => &[
            "CREATE TRIGGER refuse_later_writes BEFORE INSERT ON read_model_rows \
             WHEN (SELECT position FROM projection_checkpoints WHERE projection = NEW.projection \
                   AND generation = NEW.generation) > 0 \
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
        ],
        Backend::Postgres => &[
            "CREATE FUNCTION refuse_later_writes() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             IF (SELECT position FROM projection_checkpoints WHERE projection = NEW.projection \
                 AND generation = NEW.generation) > 0 THEN \
             RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$",
            "CREATE TRIGGER refuse_later_writes BEFORE INSERT ON read_model_rows \
             FOR EACH ROW EXECUTE FUNCTION refuse_later_writes()",
        ],
    };
    for sql in refuse {
        on_pool!(store.pool(), |p| sqlx::query(sql)
            .execute(p)
            .await
            .map(|_| ()))
        .expect("trigger");
    }
    let refused = Rebuild::prepare(&store, projector.as_ref(), 2).await;
    assert!(refused.is_err(), "the refused write must fail the rebuild");
    let generations = storage::inactive_generations(store.pool(), "correspondence")
        .await
        .expect("generations");
    let generation = *generations.last().expect("the half-built generation");
    // Only the first write landed: the checkpoint moved, and stopped short of the head.
    let checkpoint = storage::checkpoint(store.pool(), "correspondence", generation)
        .await
        .expect("checkpoint");
    let head = store.head_position().await.expect("head");
    assert!(
        0 < checkpoint && checkpoint < head,
        "{checkpoint} of {head}"
    );
    assert_eq!(
        storage::active_generation(store.pool(), "correspondence")
            .await
            .expect("active"),
        None
    );
}

async fn a_late_capture_shows_in_effective_view_but_not_as_of_the_past(store: EventStore) {
    let now = Utc::now();
    let last_month = now - TimeDelta::days(30);
    let mut sim = Simulator::new();
    let mut events = setup(&mut sim);
    let mut create = op(&sim, (0, 1, 1, 0));
    create.effective_at = now - TimeDelta::days(60);
    if let Command::CreateAgreement(i) = &mut create.command {
        // A day before the command: the date's Sonora midnight (07:00 UTC) must not fall
        // after the command's instant, which it would between 00:00 and 07:00 UTC.
        i.issued_on = (now - TimeDelta::days(61)).date_naive();
        i.due_on = None;
    }
    events.extend(sim.execute(&create).expect("create"));
    append_all(&store, &events, 10).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let before_late = Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    // Concluded last month, captured only today.
    let agreement_id = match &create.command {
        Command::CreateAgreement(i) => i.agreement_id,
        _ => unreachable!(),
    };
    let late = c(
        Command::ChangeAgreementStatus(ChangeAgreementStatusInput {
            agreement_id,
            status: Status::Concluded,
        }),
        last_month,
    );
    append_all(&store, &sim.execute(&late).expect("late"), 1).await;
    let concluded = |v: View| {
        let store = store.clone();
        async move {
            semaforo::query(&store, Scope::CabinetAgreements, v, None)
                .await
                .expect("query")
                .total
                .concluded
        }
    };
    let eff = |t| View {
        as_of: None,
        effective_at: Some(t),
    };
    let asof = |t| View {
        as_of: Some(t),
        effective_at: None,
    };
    // Effective view: true since last month, as known now.
    assert_eq!(concluded(eff(last_month + TimeDelta::days(1))).await, 1);
    assert_eq!(concluded(eff(last_month - TimeDelta::days(1))).await, 0);
    // Recorded view: what the system showed before the capture (and last month).
    assert_eq!(concluded(asof(before_late)).await, 0);
    assert_eq!(concluded(asof(last_month)).await, 0);
    assert_eq!(concluded(asof(Utc::now())).await, 1);
    // Combined: shown before the capture, about last month.
    let both = View {
        as_of: Some(before_late),
        effective_at: Some(last_month + TimeDelta::days(1)),
    };
    assert_eq!(concluded(both).await, 0);
    // Live tables untouched by as-of queries.
    assert!(load::<Compliance>(&store, View::LIVE)
        .await
        .expect("live")
        .is_empty());
}

fn bogus_event(id: &str) -> NewEvent {
    NewEvent {
        id: uid(id),
        event_type: "NoSuchEvent".into(),
        schema_version: 1,
        payload: serde_json::json!({}),
        metadata: Metadata::default(),
        effective_at: None,
    }
}

/// Valid events of a fixed script, to append on both sides of a bad one.
fn some_events() -> Vec<seguimiento_fixtures::DemoEvent> {
    let ops: Vec<(u8, u8, u8, u8)> = (0..60u8)
        .map(|i| (i, i.wrapping_mul(7), i.wrapping_mul(3), i.wrapping_mul(5)))
        .collect();
    scenario(&ops)
}

async fn an_undecodable_event_stops_the_projection_instead_of_being_skipped(store: EventStore) {
    let events = some_events();
    let mid = events.len() / 2;
    append_all(&store, &events[..mid], 10).await;
    store
        .append("bogus-1", ExpectedVersion::Any, vec![bogus_event("bogus")])
        .await
        .expect("append");
    let bogus = store.head_position().await.expect("head");
    // More events after it: a batch holds both sides of the bad event.
    append_all(&store, &events[mid..], 10).await;
    let head = store.head_position().await.expect("head");
    let runner = LiveRunner::start_with(store.clone(), registry::all(), config(50))
        .await
        .expect("start");
    // A stopped projection cannot reach the head: waiting for it does not hang.
    assert!(runner.wait_for(head, Duration::from_secs(30)).await);
    let st = runner.status().await.expect("status");
    for s in &st {
        // Everything before the event is folded and stored, nothing after it.
        assert_eq!(s.checkpoint, bogus - 1, "{s:?}");
        let fault = s.fault.as_ref().expect("a fault is shown");
        assert_eq!(fault.position, bogus, "{s:?}");
        assert!(fault.error.contains("NoSuchEvent"), "{s:?}");
        assert_eq!(runner.fault(&s.name).map(|f| f.position), Some(bogus));
    }
    runner.shutdown().await;
    // Another process (the CLI) sees it too.
    let seen = seguimiento_projections::status_of(&store, &registry::names())
        .await
        .expect("status");
    assert!(seen
        .iter()
        .all(|s| s.fault.as_ref().map(|f| f.position) == Some(bogus)));
    assert!(fold_view::<Compliance>(
        &store,
        View {
            as_of: Some(Utc::now()),
            effective_at: None
        }
    )
    .await
    .is_err());
}

/// Whether [`Picky`] can fold the stream `poison` yet (the "fix" of a release).
/// The `poison-…` streams whose cause was fixed. Keyed by stream, so the scenario's
/// SQLite and PostgreSQL runs, which run at once, never fix each other's poison.
static POISON_FIXED: std::sync::Mutex<std::collections::BTreeSet<String>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

/// Counts events, and cannot fold those of a `poison-…` stream until it is in
/// [`POISON_FIXED`].
struct Picky;

impl seguimiento_projections::Projector for Picky {
    const NAME: &'static str = "picky";
    const READS: &'static [seguimiento_domain::AggregateKind] =
        seguimiento_domain::AggregateKind::ALL;
    type Row = u64;

    fn apply(
        rows: &mut seguimiento_projections::Rows<u64>,
        ev: &seguimiento_projections::ProjectedEvent,
    ) -> seguimiento_projections::Result<()> {
        let fixed = || {
            POISON_FIXED
                .lock()
                .is_ok_and(|fixed| fixed.contains(&ev.stream))
        };
        if ev.stream.starts_with("poison-") && !fixed() {
            return Err(seguimiento_projections::ProjectionError::InvalidArgument(
                "cannot fold this event".into(),
            ));
        }
        let n = rows.get("count").copied().unwrap_or(0);
        rows.insert("count", n + 1);
        Ok(())
    }
}

async fn a_projection_that_cannot_fold_an_event_stops_there_alone_and_resumes_once_fixed(
    store: EventStore,
) {
    let poison = format!("poison-{}", uuid::Uuid::new_v4());
    let events = some_events();
    let third = events.len() / 3;
    append_all(&store, &events[..third], 10).await;
    let cfg = LiveConfig {
        fault_retry: Duration::from_millis(100),
        ..config(50)
    };
    let runner = LiveRunner::start_with(
        store.clone(),
        vec![
            seguimiento_projections::projector::erase::<Picky>(),
            seguimiento_projections::projector::erase::<Compliance>(),
        ],
        cfg,
    )
    .await
    .expect("start");
    wait_head(&runner, &store).await;
    // An event only Picky refuses, with good events on both sides.
    let before = store.head_position().await.expect("head");
    append_all(&store, &events[third..2 * third], 10).await;
    let agency = store
        .read_stream("agencies", 0, None)
        .try_collect::<Vec<_>>()
        .await
        .expect("read")
        .remove(0);
    store
        .append(
            &poison,
            ExpectedVersion::Any,
            vec![NewEvent {
                id: uid("poison"),
                event_type: agency.event_type.clone(),
                schema_version: agency.schema_version,
                payload: agency.payload.clone(),
                metadata: Metadata::default(),
                effective_at: None,
            }],
        )
        .await
        .expect("append");
    let poison_at = store.head_position().await.expect("head");
    assert!(poison_at > before);
    append_all(&store, &events[2 * third..], 10).await;
    let head = store.head_position().await.expect("head");
    assert!(runner.wait_for(head, Duration::from_secs(30)).await);
    // The other projection is not held back.
    assert_eq!(runner.committed_position(Compliance::NAME), Some(head));
    assert_eq!(runner.committed_position("picky"), Some(poison_at - 1));
    assert_eq!(runner.fault("picky").map(|f| f.position), Some(poison_at));
    assert_eq!(runner.fault(Compliance::NAME), None);

    // Once the cause is fixed, it resumes by itself and the fault is cleared.
    POISON_FIXED.lock().expect("poison set").insert(poison);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while runner.committed_position("picky") != Some(head) {
        assert!(std::time::Instant::now() < deadline, "picky did not resume");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(runner.fault("picky"), None);
    let st = runner.status().await.expect("status");
    assert!(st.iter().all(|s| s.fault.is_none()), "{st:?}");
    runner.shutdown().await;
}

async fn committed_batches_are_broadcast(store: EventStore) {
    let runner = LiveRunner::start_with(store.clone(), registry::all(), config(10))
        .await
        .expect("start");
    let mut rx = runner.subscribe();
    let mut sim = Simulator::new();
    let mut events = setup(&mut sim);
    events.extend(sim.execute(&op(&sim, (0, 1, 1, 0))).expect("create"));
    append_all(&store, &events, 10).await;
    let head = store.head_position().await.expect("head");
    let got = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let n = rx.recv().await.expect("notification");
            if n.projection == "compliance" && n.position == head {
                return n;
            }
        }
    })
    .await
    .expect("notified");
    assert_eq!(got.position, head);
    // The batch that ended at head contained the agreement, or an earlier one did.
    assert!(got.generation >= 1);
    runner.shutdown().await;
}
