//! Tamper evidence against someone with write access to the database: each scenario first
//! disables the immutability triggers (as such an attacker would), alters the log, and
//! checks what `verify` (and, where only an anchor can tell, `check_anchor`) reports. Run
//! on SQLite and, with `TEST_DATABASE_URL`, on PostgreSQL.

use futures::TryStreamExt;
use seguimiento_eventstore::hash::{self, HashInput, HashScheme};
use seguimiento_eventstore::testing::{raw_sql, test_db};
use seguimiento_eventstore::{
    Backend, BrokenLink, DbPool, EventStore, ExpectedVersion, LogAnchor, Metadata, NewEvent,
    RecordedEvent, StoreError,
};
use serde_json::json;
use uuid::Uuid;

seguimiento_eventstore::on_both_backends!(
    seguimiento_eventstore::testing::TestDb:
    every_write_path_keeps_the_log_chain,
    the_database_rejects_updates_and_deletes_of_links,
    an_edited_payload_is_found_at_its_position,
    a_rehashed_edit_breaks_the_log_chain_at_its_position,
    deleting_the_last_event_is_found,
    deleting_the_last_500_events_is_found,
    deleting_a_whole_stream_is_found,
    swapping_two_events_of_different_streams_is_found,
    reordering_positions_is_found,
    truncating_events_and_links_is_found_only_against_an_anchor,
    rewriting_the_whole_log_is_found_only_against_an_anchor,
    appends_to_a_log_whose_chain_was_cut_are_refused,
);

fn ev(event_type: &str, payload: serde_json::Value) -> NewEvent {
    NewEvent {
        id: Uuid::new_v4(),
        event_type: event_type.to_owned(),
        schema_version: 1,
        payload,
        metadata: Metadata::by("tester"),
        effective_at: None,
    }
}

async fn raw(store: &EventStore, sql: &str) -> u64 {
    raw_sql(store, sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn read_all(store: &EventStore) -> Vec<RecordedEvent> {
    store
        .read_all(0, None, 100)
        .try_collect()
        .await
        .expect("read_all")
}

/// What an attacker with database access does first.
async fn disable_immutability(store: &EventStore) {
    let sql = match store.backend() {
        Backend::Sqlite => {
            "DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete; \
             DROP TRIGGER log_chain_no_update; DROP TRIGGER log_chain_no_delete;"
        }
        Backend::Postgres => {
            "ALTER TABLE events DISABLE TRIGGER ALL; ALTER TABLE log_chain DISABLE TRIGGER ALL;"
        }
    };
    raw(store, sql).await;
}

/// Positions 1..=5: a0 a1 b0 a2 c0.
async fn small_log(store: &EventStore) {
    for (stream, n) in [("a", 0), ("a", 1), ("b", 0), ("a", 2), ("c", 0)] {
        store
            .append(
                stream,
                ExpectedVersion::Any,
                vec![ev("E", json!({ "n": n }))],
            )
            .await
            .expect("append");
    }
    assert_intact(store, 5).await;
}

async fn assert_intact(store: &EventStore, events: u64) {
    let report = store.verify(None).await.expect("verify");
    assert_eq!(report.first_broken, None);
    assert_eq!(report.events_checked, events);
    let head = store.log_head().await.expect("log head");
    assert_eq!(head.position, events);
    assert_eq!(head.link.len(), if events == 0 { 0 } else { 64 });
}

async fn broken(store: &EventStore) -> BrokenLink {
    let report = store.verify(None).await.expect("verify");
    report.first_broken.expect("tampering must be detected")
}

/// The hash of `e` recomputed with `payload` and `prev_hash` (what an attacker re-hashing
/// the events table computes).
fn rehash(e: &RecordedEvent, payload: &str, prev_hash: &str) -> String {
    let metadata = serde_json::to_value(&e.metadata).expect("metadata");
    hash::event_hash(&HashInput {
        id: e.id,
        stream: &e.stream,
        version: e.version,
        event_type: &e.event_type,
        schema_version: e.schema_version,
        payload,
        metadata: &hash::canonical_json(&metadata).expect("JSON"),
        recorded_at: e.recorded_at,
        effective_at: e.effective_at,
        prev_hash,
        scheme: HashScheme::CURRENT,
    })
}

/// Changes the payload of `stream`'s `version` and re-hashes that stream from there on,
/// leaving `log_chain` as it is. Returns the events table as rewritten.
async fn edit_and_rehash(store: &EventStore, stream: &str, version: u64, payload: &str) {
    let events: Vec<RecordedEvent> = store
        .read_stream(stream, 0, None)
        .try_collect()
        .await
        .expect("read");
    let mut prev = String::new();
    for e in &events {
        if e.version < version {
            prev = e.hash.clone();
            continue;
        }
        let text = if e.version == version {
            payload.to_owned()
        } else {
            hash::canonical_json(&e.payload).expect("JSON")
        };
        let new_hash = rehash(e, &text, &prev);
        raw(
            store,
            &format!(
                "UPDATE events SET payload = '{text}', prev_hash = '{prev}', hash = '{new_hash}' \
                 WHERE position = {}",
                e.position
            ),
        )
        .await;
        prev = new_hash;
    }
}

/// Moves the events at `from` to positions `to` (a permutation), through positions past
/// the log so the primary key never collides.
async fn renumber(store: &EventStore, moves: &[(u64, u64)]) {
    for (from, _) in moves {
        raw(
            store,
            &format!(
                "UPDATE events SET position = {} WHERE position = {from}",
                from + 1_000_000
            ),
        )
        .await;
    }
    for (from, to) in moves {
        raw(
            store,
            &format!(
                "UPDATE events SET position = {to} WHERE position = {}",
                from + 1_000_000
            ),
        )
        .await;
    }
}

async fn every_write_path_keeps_the_log_chain(store: EventStore) {
    // The locked path (first write of this process), then the cached one-statement path.
    for i in 0..5 {
        store
            .append(
                "one",
                ExpectedVersion::Any,
                vec![ev("E", json!({ "i": i }))],
            )
            .await
            .expect("single append");
    }
    // An exact version of a stream this process has not cached: the locked path again.
    let other = EventStore::connect(&url_of(&store).await).await;
    if let Ok(other) = &other {
        other
            .append("one", ExpectedVersion::Exact(4), vec![ev("E", json!({}))])
            .await
            .expect("append from a second store");
    }
    let written = if other.is_ok() { 6 } else { 5 };
    // A bulk batch (PostgreSQL: COPY).
    let batch = (0..150)
        .map(|i| {
            (
                format!("bulk-{}", i % 7),
                ExpectedVersion::Any,
                vec![ev("E", json!({ "i": i }))],
            )
        })
        .collect();
    store.append_batch(batch).await.expect("bulk");
    // Concurrent appends, committed together.
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .append(
                        &format!("c-{i}"),
                        ExpectedVersion::NoStream,
                        vec![ev("E", json!({})), ev("E", json!({}))],
                    )
                    .await
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task").expect("concurrent append");
    }
    let total = written + 150 + 32;
    assert_intact(&store, total).await;
    // Idempotent retries write no link either.
    let head = store.log_head().await.expect("head");
    let again = ev("E", json!({"same": true}));
    store
        .append("one", ExpectedVersion::Any, vec![again.clone()])
        .await
        .expect("append");
    store
        .append("one", ExpectedVersion::Any, vec![again])
        .await
        .expect("retry");
    assert_intact(&store, total + 1).await;
    assert_ne!(store.log_head().await.expect("head"), head);
    if let Ok(other) = other {
        other.close().await;
    }
}

/// The URL of the database `store` is on, for a second store (SQLite files and
/// PostgreSQL; an in-memory store has none, and the caller copes).
async fn url_of(store: &EventStore) -> String {
    match store.pool() {
        DbPool::Sqlite(p) => {
            let file: String =
                sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'")
                    .fetch_one(p)
                    .await
                    .expect("file");
            format!("sqlite://{file}")
        }
        DbPool::Postgres(p) => {
            let db: String = sqlx::query_scalar("SELECT current_database()")
                .fetch_one(p)
                .await
                .expect("db");
            let admin = std::env::var("TEST_DATABASE_URL").expect("set for PostgreSQL tests");
            let base = admin.split('?').next().unwrap_or_default();
            let host = base.rsplit_once('/').map_or(base, |(h, _)| h);
            format!("{host}/{db}")
        }
    }
}

async fn the_database_rejects_updates_and_deletes_of_links(store: EventStore) {
    small_log(&store).await;
    for sql in [
        "UPDATE log_chain SET link = link",
        "DELETE FROM log_chain WHERE position = 5",
    ] {
        let r = match store.pool() {
            DbPool::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
            DbPool::Postgres(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
        };
        let err = r.expect_err(sql).to_string();
        assert!(err.contains("immutable"), "{err}");
    }
    if store.backend() == Backend::Postgres {
        let r = match store.pool() {
            DbPool::Postgres(p) => sqlx::query("TRUNCATE log_chain").execute(p).await,
            DbPool::Sqlite(_) => unreachable!(),
        };
        assert!(r.is_err());
    }
    assert_intact(&store, 5).await;
}

async fn an_edited_payload_is_found_at_its_position(store: EventStore) {
    small_log(&store).await;
    disable_immutability(&store).await;
    raw(
        &store,
        r#"UPDATE events SET payload = '{"n":99}' WHERE position = 4"#,
    )
    .await;
    let b = broken(&store).await;
    assert_eq!((b.position, b.stream.as_str(), b.version), (4, "a", 2));
    assert!(b.reason.contains("hash"), "{}", b.reason);
}

async fn a_rehashed_edit_breaks_the_log_chain_at_its_position(store: EventStore) {
    small_log(&store).await;
    disable_immutability(&store).await;
    edit_and_rehash(&store, "a", 1, r#"{"n":99}"#).await;
    // The stream's own chain was recomputed and holds, the log chain does not: neither
    // for the whole log nor at the stream's positions.
    let a = store.verify(Some("a")).await.expect("verify a");
    let a = a.first_broken.expect("found from the stream alone");
    let b = broken(&store).await;
    for b in [a, b] {
        assert_eq!((b.position, b.stream.as_str(), b.version), (2, "a", 1));
        assert!(b.reason.contains("log-chain link"), "{}", b.reason);
    }
    let other = store.verify(Some("b")).await.expect("verify b");
    assert_eq!(other.first_broken, None);
}

async fn deleting_the_last_event_is_found(store: EventStore) {
    small_log(&store).await;
    disable_immutability(&store).await;
    raw(&store, "DELETE FROM events WHERE position = 5").await;
    let b = broken(&store).await;
    assert_eq!(b.position, 5);
    assert!(b.reason.contains("deleted"), "{}", b.reason);
}

async fn deleting_the_last_500_events_is_found(store: EventStore) {
    let batch = (0..600)
        .map(|i| {
            (
                format!("s-{}", i % 13),
                ExpectedVersion::Any,
                vec![ev("E", json!({ "i": i }))],
            )
        })
        .collect();
    store.append_batch(batch).await.expect("bulk");
    assert_intact(&store, 600).await;
    disable_immutability(&store).await;
    assert_eq!(
        raw(&store, "DELETE FROM events WHERE position > 100").await,
        500
    );
    let b = broken(&store).await;
    assert_eq!(b.position, 101);
    assert!(b.reason.contains("ends at position 100"), "{}", b.reason);
}

async fn deleting_a_whole_stream_is_found(store: EventStore) {
    small_log(&store).await;
    disable_immutability(&store).await;
    // `c` is the last stream written: no gap in positions is left behind.
    raw(&store, "DELETE FROM events WHERE stream = 'c'").await;
    let b = broken(&store).await;
    assert_eq!(b.position, 5);
    // `b`, in the middle, leaves a gap.
    raw(&store, "DELETE FROM events WHERE stream = 'b'").await;
    let b = broken(&store).await;
    assert_eq!(b.position, 4);
    assert!(b.reason.contains("position gap"), "{}", b.reason);
}

async fn swapping_two_events_of_different_streams_is_found(store: EventStore) {
    small_log(&store).await;
    disable_immutability(&store).await;
    // a1 (position 2) and b0 (position 3) change places: each stream keeps its order.
    renumber(&store, &[(2, 3), (3, 2)]).await;
    let a = store.verify(Some("a")).await.expect("verify a");
    let a = a.first_broken.expect("found from the stream alone");
    assert_eq!((a.position, a.stream.as_str()), (3, "a"));
    let b = broken(&store).await;
    assert_eq!((b.position, b.stream.as_str()), (2, "b"));
    assert!(b.reason.contains("log-chain link"), "{}", b.reason);
}

async fn reordering_positions_is_found(store: EventStore) {
    small_log(&store).await;
    disable_immutability(&store).await;
    // b0 moves to the end, a2 and c0 move up one: every stream keeps its order.
    renumber(&store, &[(3, 5), (4, 3), (5, 4)]).await;
    let b = broken(&store).await;
    assert_eq!((b.position, b.stream.as_str()), (3, "a"));
    assert!(b.reason.contains("log-chain link"), "{}", b.reason);
}

async fn truncating_events_and_links_is_found_only_against_an_anchor(store: EventStore) {
    small_log(&store).await;
    let anchor = store.log_head().await.expect("anchor");
    assert_eq!(anchor.position, 5);
    assert_eq!(store.check_anchor(&anchor).await.expect("check"), None);
    disable_immutability(&store).await;
    raw(&store, "DELETE FROM events WHERE position > 3").await;
    raw(&store, "DELETE FROM log_chain WHERE position > 3").await;
    // What is left is a consistent log...
    assert_intact(&store, 3).await;
    // ...that no longer extends the anchor.
    let reason = store
        .check_anchor(&anchor)
        .await
        .expect("check")
        .expect("truncation must be detected");
    assert!(reason.contains("truncated"), "{reason}");
    // An anchor taken before the cut still holds.
    let earlier = LogAnchor {
        position: 3,
        link: store.link_at(3).await.expect("link").expect("kept"),
    };
    assert_eq!(store.check_anchor(&earlier).await.expect("check"), None);
}

async fn rewriting_the_whole_log_is_found_only_against_an_anchor(store: EventStore) {
    small_log(&store).await;
    let anchor = store.log_head().await.expect("anchor");
    disable_immutability(&store).await;
    edit_and_rehash(&store, "a", 1, r#"{"n":99}"#).await;
    // The attacker recomputes every link too.
    let mut link = String::new();
    for e in read_all(&store).await {
        link = hash::log_link(e.position, &e.stream, e.version, &e.hash, &link);
        raw(
            &store,
            &format!(
                "UPDATE log_chain SET link = '{link}' WHERE position = {}",
                e.position
            ),
        )
        .await;
    }
    assert_intact(&store, 5).await;
    let reason = store
        .check_anchor(&anchor)
        .await
        .expect("check")
        .expect("the rewrite must be detected");
    assert!(reason.contains("rewritten"), "{reason}");
}

async fn appends_to_a_log_whose_chain_was_cut_are_refused(store: EventStore) {
    small_log(&store).await;
    disable_immutability(&store).await;
    raw(&store, "DELETE FROM events WHERE position = 5").await;
    // A fresh store (no cached heads) plans from the database and sees the mismatch.
    let other = EventStore::connect(&url_of(&store).await)
        .await
        .expect("connect");
    let err = other
        .append("d", ExpectedVersion::Any, vec![ev("E", json!({}))])
        .await
        .expect_err("appending after a cut chain");
    assert!(
        matches!(err, StoreError::Corrupt(_) | StoreError::Database(_)),
        "{err:?}"
    );
    other.close().await;
}

/// A log written before `log_chain` existed gets its links on the next connect.
async fn missing_links_are_back_filled_on_connect(backend: Backend) {
    let Some(db) = test_db(backend).await else {
        return;
    };
    let store = db.store().clone();
    small_log(&store).await;
    let head = store.log_head().await.expect("head");
    disable_immutability(&store).await;
    raw(&store, "DELETE FROM log_chain WHERE position > 2").await;
    assert!(store.log_head().await.is_err());
    let url = db.url().expect("url");
    let again = EventStore::connect(&url).await.expect("reconnect");
    assert_intact(&again, 5).await;
    assert_eq!(again.log_head().await.expect("head"), head);
    // An append through the locked path links them too (events written, while this
    // store runs, by a binary that knows no log chain).
    raw(&store, "DELETE FROM log_chain WHERE position > 1").await;
    again
        .append("a", ExpectedVersion::Any, vec![ev("E", json!({}))])
        .await
        .expect("append after links went missing");
    assert_intact(&again, 6).await;
    again.close().await;
    db.cleanup().await;
}

seguimiento_eventstore::on_both_backends!(Backend: missing_links_are_back_filled_on_connect);

/// A log written before the store moved to RFC 8785: its events name no hash scheme, keep
/// their former canonical text (here a float as `1.0`, which JCS writes `1`), and must
/// verify forever; new events continue their streams under v2, and a retry of an old
/// event is still recognised as one.
async fn events_hashed_under_v1_keep_verifying(db: seguimiento_eventstore::testing::TestDb) {
    let store = db.store().clone();
    let at = hash::parse_ts("2024-01-02T03:04:05.000006Z").expect("time");
    let metadata = r#"{"actor":"legacy","causationId":null,"correlationId":null}"#;
    let ids = [Uuid::new_v4(), Uuid::new_v4()];
    let mut prev = String::new();
    for (i, payload) in [r#"{"n":1.0}"#, r#"{"n":2}"#].into_iter().enumerate() {
        let h = hash::event_hash(&HashInput {
            id: ids[i],
            stream: "legacy",
            version: i as u64,
            event_type: "E",
            schema_version: 1,
            payload,
            metadata,
            recorded_at: at,
            effective_at: at,
            prev_hash: &prev,
            scheme: HashScheme::V1,
        });
        raw(
            &store,
            &format!(
                "INSERT INTO events (position, id, stream, version, event_type, \
                 schema_version, payload, metadata, recorded_at, effective_at, prev_hash, hash) \
                 VALUES ({}, '{}', 'legacy', {i}, 'E', 1, '{payload}', '{metadata}', \
                 '2024-01-02T03:04:05.000006Z', '2024-01-02T03:04:05.000006Z', '{prev}', '{h}')",
                i + 1,
                ids[i]
            ),
        )
        .await;
        prev = h;
    }
    let store = EventStore::connect(&db.url().expect("url"))
        .await
        .expect("reconnect: links back-filled");
    assert_intact(&store, 2).await;

    store
        .append(
            "legacy",
            ExpectedVersion::Exact(1),
            vec![ev("E", json!({"n": 3}))],
        )
        .await
        .expect("a v2 event continues a v1 stream");
    let mut retry = ev("E", json!({"n": 2}));
    retry.id = ids[1];
    retry.metadata.actor = "legacy".into();
    let again = store
        .append("legacy", ExpectedVersion::Any, vec![retry])
        .await
        .expect("a retry of a v1 event is a retry, not a mismatch");
    assert_eq!(again.positions, vec![2]);
    assert_intact(&store, 3).await;
    let events = read_all(&store).await;
    assert_eq!(
        events
            .iter()
            .map(|e| e.metadata.hash_scheme)
            .collect::<Vec<_>>(),
        vec![None, None, Some(2)]
    );
    assert_eq!(events[2].prev_hash, prev);

    // A metadata naming a scheme this build does not know is reported, not trusted.
    disable_immutability(&store).await;
    raw(
        &store,
        "UPDATE events SET metadata = '{\"actor\":\"legacy\",\"hashScheme\":9}' WHERE position = 1",
    )
    .await;
    let b = broken(&store).await;
    assert_eq!(b.position, 1);
    assert!(b.reason.contains("hashScheme"), "{}", b.reason);
    store.close().await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_hashed_under_v1_keep_verifying_on_sqlite() {
    let db = seguimiento_eventstore::testing::sqlite_store()
        .await
        .expect("sqlite");
    events_hashed_under_v1_keep_verifying(db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_hashed_under_v1_keep_verifying_on_postgres() {
    if let Some(db) = seguimiento_eventstore::testing::pg_store()
        .await
        .expect("postgres")
    {
        events_hashed_under_v1_keep_verifying(db).await;
    }
}
