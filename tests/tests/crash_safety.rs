//! Crash safety of the real binary: `kill -9` during a bulk import and during live
//! projection catch-up, on SQLite (temp file) and PostgreSQL (fresh database), then restart.
//!
//! After each crash: every acknowledged event is in the log exactly once, the log is a
//! prefix of whole import chunks, `seguimiento verify` exits 0, re-running the import
//! finishes the job without duplicates, and every projection equals a full rebuild (raw
//! active rows and `report --format json`, before and after `seguimiento rebuild`).
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use seguimiento_system_tests::*;
use serde_json::Value;

/// Events per import transaction: small, so the import is killed between many chunks.
const CHUNK: usize = 100;
const CLI_LIMIT: Duration = Duration::from_secs(180);

fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("seg_sys_{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A synthetic import file (`seguimiento gen`), about 18k events.
fn big_jsonl(dir: &Path) -> PathBuf {
    let file = dir.join("big.jsonl");
    let out = run_cli(
        &[
            "gen",
            "--scale",
            "0.06",
            "--agencies",
            "12",
            "--seed",
            "7",
            "-o",
            file.to_str().unwrap(),
        ],
        CLI_LIMIT,
    );
    expect_success("seguimiento gen", &out);
    file
}

/// Runs `seguimiento import --json` and returns its report (exit 1 is fine: it means some
/// lines were rejected, which the caller checks).
fn import(db_url: &str, file: &Path) -> Value {
    let out = run_cli(
        &[
            "import",
            file.to_str().unwrap(),
            "--db",
            db_url,
            "--chunk",
            &CHUNK.to_string(),
            "--json",
        ],
        CLI_LIMIT,
    );
    let (stdout, stderr) = texts(&out);
    let report: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("import printed no JSON report ({e}):\n{stdout}\n{stderr}"));
    assert!(
        out.status.success() || !report["rejected"].as_array().unwrap().is_empty(),
        "import failed without rejected lines:\n{stdout}\n{stderr}"
    );
    report
}

fn verify_passes(db_url: &str) {
    let out = run_cli(&["verify", "--db", db_url], CLI_LIMIT);
    let stdout = expect_success("seguimiento verify", &out);
    assert!(stdout.contains("intact"), "{stdout}");
}

/// Identity of an event independent of sealing nonces and clocks.
fn identity(rows: &[EventRow]) -> Vec<(String, String, i64, String, String)> {
    rows.iter()
        .map(|r| {
            (
                r.id.clone(),
                r.stream.clone(),
                r.version,
                r.event_type.clone(),
                r.metadata.clone(),
            )
        })
        .collect()
}

/// Log positions at which an import with [`CHUNK`] commits a chunk, given the full log in
/// file order: events of one line share a correlation id and a chunk closes after the line
/// that brings it to at least `CHUNK` events.
fn chunk_boundaries(full: &[EventRow]) -> HashSet<usize> {
    let mut boundaries = HashSet::from([0usize]);
    let mut in_chunk = 0usize;
    let mut i = 0usize;
    while i < full.len() {
        let corr = correlation(&full[i]);
        let mut j = i;
        while j < full.len() && correlation(&full[j]) == corr {
            j += 1;
        }
        in_chunk += j - i;
        if in_chunk >= CHUNK || j == full.len() {
            boundaries.insert(j);
            in_chunk = 0;
        }
        i = j;
    }
    boundaries
}

fn correlation(r: &EventRow) -> String {
    let m: Value = serde_json::from_str(&r.metadata).unwrap();
    m["correlationId"].as_str().unwrap_or_default().to_owned()
}

/// Highest "(N events committed)" the import's progress lines reported.
fn acknowledged(stderr: &str) -> u64 {
    stderr
        .lines()
        .filter(|l| l.trim().starts_with("import: lines "))
        .filter_map(|l| l.split_once('(')?.1.split_once(" events committed)"))
        .filter_map(|(n, _)| n.trim().parse::<u64>().ok())
        .max()
        .unwrap_or(0)
}

/// Every report as JSON (live tables).
fn reports(db_url: &str) -> Vec<(String, String)> {
    let mut all = Vec::new();
    for (scope, year) in [
        ("semaforo-compromisos", None),
        ("semaforo-gabinete", None),
        ("semaforo-actividades", None),
        ("cabinet", None),
        ("correspondence", Some("2023")),
        ("petitions", Some("2023")),
    ] {
        let mut args = vec!["report", scope, "--db", db_url, "--format", "json"];
        if let Some(y) = year {
            args.extend(["--year", y]);
        }
        let out = run_cli(&args, CLI_LIMIT);
        all.push((scope.to_owned(), expect_success("seguimiento report", &out)));
    }
    all
}

/// The served projections equal a full rebuild: raw active rows and every report, before
/// and after `seguimiento rebuild`.
async fn projections_equal_a_rebuild(db: &Db) {
    let rows_live = projection_snapshot(db.store()).await;
    assert!(!rows_live.is_empty(), "no projection rows at all");
    let reports_live = reports(&db.url);
    let out = run_cli(&["rebuild", "--db", &db.url], CLI_LIMIT);
    expect_success("seguimiento rebuild", &out);
    let rows_rebuilt = projection_snapshot(db.store()).await;
    assert_eq!(rows_live.len(), rows_rebuilt.len(), "row counts differ");
    for (live, rebuilt) in rows_live.iter().zip(&rows_rebuilt) {
        assert_eq!(live, rebuilt, "live projection row differs from a rebuild");
    }
    let reports_rebuilt = reports(&db.url);
    assert_eq!(
        reports_live, reports_rebuilt,
        "reports differ after a rebuild"
    );
}

/// Starts `serve` until the live projections fold the whole log, then kills it.
async fn catch_up_with_serve(db: &Db) {
    let mut server = Spawned::serve(&db.url, &[], &[]);
    wait_caught_up(db.store(), Duration::from_secs(120)).await;
    server.proc.kill9();
}

async fn an_import_killed_with_sigkill_keeps_whole_chunks_and_a_rerun_finishes_it(db: &Db) {
    let dir = scratch_dir();
    let file = big_jsonl(&dir);

    // What a clean, uninterrupted import of the file stores.
    let reference = Db::new(Backend::Sqlite).await.unwrap();
    let ref_report = import(&reference.url, &file);
    let full = event_rows(reference.store()).await;
    reference.cleanup().await;
    let total = full.len();
    assert!(total > 10 * CHUNK, "the file is too small: {total} events");

    // The same import, killed with SIGKILL once a quarter of it is committed.
    let mut proc = Running::spawn(cli().args([
        "import",
        file.to_str().unwrap(),
        "--db",
        &db.url,
        "--chunk",
        &CHUNK.to_string(),
    ]));
    let started = Instant::now();
    loop {
        let head = db.store().head_position().await.unwrap() as usize;
        if head >= total / 4 {
            proc.kill9();
            break;
        }
        assert!(
            proc.alive(),
            "the import finished before it could be killed (head {head} of {total}); grow the file\n{}",
            proc.stderr.text()
        );
        assert!(started.elapsed() < CLI_LIMIT, "import made no progress");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let stderr = proc.stderr.text();
    let rows = event_rows(db.store()).await;
    let killed_at = rows.len();
    println!("import killed at {killed_at} of {total} events");
    assert!(
        killed_at < total,
        "the kill came too late to interrupt the import"
    );
    assert_eq!(
        db.store().head_position().await.unwrap() as usize,
        killed_at,
        "positions are dense"
    );
    // Acknowledged (reported as committed) events are stored.
    assert!(
        acknowledged(&stderr) as usize <= killed_at,
        "the import reported {} events committed but only {killed_at} are stored",
        acknowledged(&stderr)
    );
    // The log is exactly a prefix of the clean import, ending on a chunk boundary.
    assert_eq!(identity(&rows), identity(&full[..killed_at]));
    assert!(
        chunk_boundaries(&full).contains(&killed_at),
        "the log ends at {killed_at}, inside a chunk: a partial batch was stored"
    );
    verify_passes(&db.url);

    // Re-running finishes the job: everything exactly once, same lines rejected.
    let rerun = import(&db.url, &file);
    assert_eq!(rerun["rejected"], ref_report["rejected"]);
    assert_eq!(rerun["interrupted"], false);
    assert_eq!(
        rerun["eventsAppended"].as_u64().unwrap() as usize,
        total - killed_at
    );
    let rows = event_rows(db.store()).await;
    assert_eq!(identity(&rows), identity(&full), "the resumed log differs");
    let ids: HashSet<_> = rows.iter().map(|r| r.id.clone()).collect();
    assert_eq!(ids.len(), rows.len(), "an event is stored twice");

    // A third run appends nothing.
    let again = import(&db.url, &file);
    assert_eq!(again["eventsAppended"], 0);
    assert_eq!(again["alreadyImported"], ref_report["accepted"]);
    assert_eq!(event_rows(db.store()).await.len(), total);
    verify_passes(&db.url);

    catch_up_with_serve(db).await;
    projections_equal_a_rebuild(db).await;
    let _ = std::fs::remove_dir_all(&dir);
}
on_both_backends!(Db: an_import_killed_with_sigkill_keeps_whole_chunks_and_a_rerun_finishes_it);

async fn a_server_killed_while_projecting_resumes_from_its_checkpoint_and_matches_a_rebuild(
    db: &Db,
) {
    let dir = scratch_dir();
    let file = big_jsonl(&dir);
    import(&db.url, &file);
    let head = db.store().head_position().await.unwrap();
    let events_before = event_rows(db.store()).await;

    // Serve catches up on the big log; kill -9 while some projection is still behind.
    let mut server = Spawned::serve(&db.url, &[], &[]);
    let names = seguimiento_projections::registry::names();
    let started = Instant::now();
    let at_kill = loop {
        let Ok(status) = seguimiento_projections::status_of(db.store(), &names).await else {
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        };
        let progressed = status.iter().any(|s| s.checkpoint > 0);
        let behind = status.iter().any(|s| s.lag > 0);
        if progressed && behind {
            server.proc.kill9();
            break seguimiento_projections::status_of(db.store(), &names)
                .await
                .unwrap();
        }
        assert!(
            behind,
            "the projections caught up before the server could be killed; grow the log"
        );
        assert!(started.elapsed() < CLI_LIMIT, "projections never started");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    println!("serve killed with projections at {at_kill:?}");
    assert!(at_kill.iter().any(|s| s.lag > 0), "not killed mid catch-up");

    // The kill touched nothing in the log.
    assert_eq!(event_rows(db.store()).await, events_before);
    verify_passes(&db.url);

    // Restart: the projections resume from their checkpoints (same generation) and finish.
    let server = Spawned::serve(&db.url, &[], &[]);
    let (status, body) = get_text(&http_client(), &format!("{}/healthz", server.base)).await;
    assert_eq!(status, 200, "{body}");
    wait_caught_up(db.store(), Duration::from_secs(120)).await;
    let after = seguimiento_projections::status_of(db.store(), &names)
        .await
        .unwrap();
    for (a, b) in at_kill.iter().zip(&after) {
        assert_eq!(a.name, b.name);
        assert_eq!(
            a.generation, b.generation,
            "{} restarted in a new generation instead of resuming",
            a.name
        );
        assert_eq!(b.checkpoint, head);
    }
    drop(server);
    projections_equal_a_rebuild(db).await;
    let _ = std::fs::remove_dir_all(&dir);
}
on_both_backends!(Db: a_server_killed_while_projecting_resumes_from_its_checkpoint_and_matches_a_rebuild);
