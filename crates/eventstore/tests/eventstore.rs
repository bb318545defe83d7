//! The event store contract, run identically on SQLite and (when `TEST_DATABASE_URL` is set)
//! PostgreSQL. Each scenario is an `async fn(EventStore)`; `on_both_backends!` turns it into
//! `<scenario>::on_sqlite` and `<scenario>::on_postgres` tests. Without `TEST_DATABASE_URL`
//! the PostgreSQL variants print "SKIPPED: TEST_DATABASE_URL not set" and pass.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Duration as ChronoDuration, Timelike, Utc};
use futures::{StreamExt, TryStreamExt};
use seguimiento_eventstore::hash::HashScheme;
use seguimiento_eventstore::{
    Backend, EventStore, ExpectedVersion, LogFilter, Metadata, NewEvent, RawEvent, RecordedEvent,
    StoreError,
};
use serde_json::json;
use uuid::Uuid;

seguimiento_eventstore::on_both_backends!(
    seguimiento_eventstore::testing::TestDb:
    appended_events_read_back_with_dense_versions_and_positions,
    integers_json_readers_would_round_are_refused_and_nothing_is_stored,
    times_the_log_cannot_give_back_are_refused,
    expected_version_mismatches_are_typed_conflicts,
    as_of_reads_only_events_recorded_by_then,
    read_all_pages_through_a_log_larger_than_one_batch,
    reads_during_appends_see_a_dense_prefix_up_to_their_start,
    readers_that_stop_early_leave_the_store_usable,
    raw_reads_match_full_reads_and_apply_both_time_bounds,
    concurrent_writers_on_one_stream_get_dense_versions_and_typed_conflicts,
    tailing_readers_see_gap_free_positions_under_concurrent_writers,
    reappending_the_same_events_is_a_no_op_returning_the_original_positions,
    reusing_an_event_id_with_different_content_is_rejected,
    the_database_rejects_updates_and_deletes_of_events,
    verify_pinpoints_the_first_tampered_event,
    subscription_delivers_catch_up_then_live_events,
    append_batch_writes_many_streams_in_one_transaction,
    append_batch_is_all_or_nothing_when_one_stream_conflicts,
    malformed_requests_are_rejected_without_writing,
    concurrent_appends_written_together_keep_their_own_outcomes,
    a_bulk_batch_stores_text_with_tabs_newlines_and_backslashes_exactly,
    bulk_batches_keep_idempotency_without_looking_ids_up_first,
    bulk_batches_that_take_an_existing_stream_for_new_are_refused_whole,
);

/// What the store keeps of a writer's metadata: all of it, plus the hash scheme it names.
fn as_stored(m: &Metadata) -> Metadata {
    Metadata {
        hash_scheme: HashScheme::CURRENT.tag(),
        ..m.clone()
    }
}

fn ev(event_type: &str, payload: serde_json::Value) -> NewEvent {
    NewEvent {
        id: Uuid::new_v4(),
        event_type: event_type.to_owned(),
        schema_version: 1,
        payload,
        metadata: Metadata {
            actor: "tester".into(),
            correlation_id: Some(Uuid::new_v4()),
            causation_id: None,
            command_digest: None,
            hash_scheme: None,
        },
        effective_at: None,
    }
}

async fn read_stream(store: &EventStore, stream: &str) -> Vec<RecordedEvent> {
    store
        .read_stream(stream, 0, None)
        .try_collect()
        .await
        .expect("read_stream")
}

async fn read_all(store: &EventStore) -> Vec<RecordedEvent> {
    store
        .read_all(0, None, 100)
        .try_collect()
        .await
        .expect("read_all")
}

use seguimiento_eventstore::testing::{raw_sql as raw, test_db};

fn is_micro(t: DateTime<Utc>) -> bool {
    t.timestamp_subsec_micros() * 1_000 == t.timestamp_subsec_nanos()
}

async fn appended_events_read_back_with_dense_versions_and_positions(store: EventStore) {
    assert_eq!(store.head_position().await.expect("head"), 0);
    assert_eq!(store.stream_version("case-1").await.expect("v"), None);

    let business_time = DateTime::parse_from_rfc3339("2023-01-02T03:04:05.123456789Z")
        .expect("ts")
        .with_timezone(&Utc);
    let mut first = vec![
        ev(
            "Opened",
            json!({"title": "Ruta 5", "budget": 1200.5, "tags": ["a", "b"]}),
        ),
        ev(
            "Assigned",
            json!({"to": "ministerio", "nested": {"z": 1, "a": null}}),
        ),
        ev("Noted", json!("just a string")),
    ];
    first[1].effective_at = Some(business_time);
    let r1 = store
        .append("case-1", ExpectedVersion::NoStream, first.clone())
        .await
        .expect("append case-1");
    assert_eq!(r1.stream, "case-1");
    assert_eq!(r1.positions, vec![1, 2, 3]);
    assert_eq!(r1.last_version, 2);

    let r2 = store
        .append(
            "case-2",
            ExpectedVersion::Any,
            vec![ev("Opened", json!({})), ev("Closed", json!({"ok": true}))],
        )
        .await
        .expect("append case-2");
    assert_eq!(r2.positions, vec![4, 5]);
    assert_eq!(r2.last_version, 1);

    let r3 = store
        .append(
            "case-1",
            ExpectedVersion::Exact(2),
            vec![ev("Closed", json!({}))],
        )
        .await
        .expect("append case-1 again");
    assert_eq!(r3.positions, vec![6]);
    assert_eq!(r3.last_version, 3);

    let events = read_stream(&store, "case-1").await;
    assert_eq!(
        events.iter().map(|e| e.version).collect::<Vec<_>>(),
        vec![0, 1, 2, 3]
    );
    assert_eq!(
        events.iter().map(|e| e.position).collect::<Vec<_>>(),
        vec![1, 2, 3, 6]
    );
    for (got, sent) in events.iter().zip(&first) {
        assert_eq!(got.id, sent.id);
        assert_eq!(got.event_type, sent.event_type);
        assert_eq!(got.schema_version, sent.schema_version);
        assert_eq!(got.payload, sent.payload);
        assert_eq!(got.metadata, as_stored(&sent.metadata));
        assert!(is_micro(got.recorded_at));
        assert!(is_micro(got.effective_at));
    }
    assert_eq!(events[0].effective_at, events[0].recorded_at);
    assert_eq!(
        events[1].effective_at,
        business_time.with_nanosecond(123_456_000).expect("ts")
    );
    // The hash chain links each event to its stream predecessor.
    assert_eq!(events[0].prev_hash, "");
    for pair in events.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
        assert_eq!(pair[0].hash.len(), 64);
    }
    // recorded_at never goes backwards along positions.
    let all = read_all(&store).await;
    assert_eq!(
        all.iter().map(|e| e.position).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5, 6]
    );
    assert!(all.windows(2).all(|w| w[0].recorded_at <= w[1].recorded_at));
    // What read_stream and read_all return is the same record.
    assert_eq!(all[5], events[3]);

    let from_v2: Vec<RecordedEvent> = store
        .read_stream("case-1", 2, None)
        .try_collect()
        .await
        .expect("read from v2");
    assert_eq!(
        from_v2.iter().map(|e| e.version).collect::<Vec<_>>(),
        vec![2, 3]
    );
    let after_3: Vec<RecordedEvent> = store
        .read_all(3, None, 2)
        .try_collect()
        .await
        .expect("read_all after 3");
    assert_eq!(
        after_3.iter().map(|e| e.position).collect::<Vec<_>>(),
        vec![4, 5, 6]
    );
    assert!(read_stream(&store, "nope").await.is_empty());

    assert_eq!(store.head_position().await.expect("head"), 6);
    assert_eq!(store.stream_version("case-1").await.expect("v"), Some(3));
    assert_eq!(store.stream_version("case-2").await.expect("v"), Some(1));
    assert_eq!(
        store.list_streams("").await.expect("list"),
        vec!["case-1".to_owned(), "case-2".to_owned()]
    );
    assert_eq!(
        store.list_streams("case-1").await.expect("list"),
        vec!["case-1".to_owned()]
    );
    assert!(store.list_streams("case_").await.expect("list").is_empty());
    assert!(store.list_streams("CASE").await.expect("list").is_empty());
}

async fn expected_version_mismatches_are_typed_conflicts(store: EventStore) {
    let err = store
        .append("s", ExpectedVersion::Exact(0), vec![ev("A", json!({}))])
        .await
        .expect_err("no stream yet");
    assert!(matches!(
        err,
        StoreError::Conflict { ref stream, expected: ExpectedVersion::Exact(0), actual: None }
            if stream == "s"
    ));
    assert!(err.is_conflict() && !err.is_transient());

    store
        .append("s", ExpectedVersion::NoStream, vec![ev("A", json!({}))])
        .await
        .expect("create");
    let err = store
        .append("s", ExpectedVersion::NoStream, vec![ev("A", json!({}))])
        .await
        .expect_err("exists");
    assert!(matches!(
        err,
        StoreError::Conflict {
            expected: ExpectedVersion::NoStream,
            actual: Some(0),
            ..
        }
    ));
    let err = store
        .append("s", ExpectedVersion::Exact(5), vec![ev("A", json!({}))])
        .await
        .expect_err("stale");
    assert!(matches!(
        err,
        StoreError::Conflict {
            expected: ExpectedVersion::Exact(5),
            actual: Some(0),
            ..
        }
    ));
    // Nothing partial was written by the failures.
    assert_eq!(store.head_position().await.expect("head"), 1);
}

async fn as_of_reads_only_events_recorded_by_then(store: EventStore) {
    let first = store
        .append("s", ExpectedVersion::Any, vec![ev("A", json!({"n": 1}))])
        .await
        .expect("first");
    tokio::time::sleep(Duration::from_millis(20)).await;
    store
        .append("s", ExpectedVersion::Any, vec![ev("B", json!({"n": 2}))])
        .await
        .expect("second");
    store
        .append("t", ExpectedVersion::Any, vec![ev("C", json!({"n": 3}))])
        .await
        .expect("third");
    let all = read_all(&store).await;
    let cut = all[0].recorded_at;
    assert_eq!(all[0].position, first.positions[0]);
    assert!(all[1].recorded_at > cut);

    let s_then: Vec<RecordedEvent> = store
        .read_stream("s", 0, Some(cut))
        .try_collect()
        .await
        .expect("as_of stream");
    assert_eq!(s_then.len(), 1);
    assert_eq!(s_then[0].event_type, "A");
    let all_then: Vec<RecordedEvent> = store
        .read_all(0, Some(cut), 1)
        .try_collect()
        .await
        .expect("as_of all");
    assert_eq!(all_then.len(), 1);
    let before_everything: Vec<RecordedEvent> = store
        .read_all(0, Some(cut - ChronoDuration::microseconds(1)), 10)
        .try_collect()
        .await
        .expect("as_of before");
    assert!(before_everything.is_empty());
    let now: Vec<RecordedEvent> = store
        .read_all(0, Some(Utc::now()), 10)
        .try_collect()
        .await
        .expect("as_of now");
    assert_eq!(now.len(), 3);
}

async fn raw_reads_match_full_reads_and_apply_both_time_bounds(store: EventStore) {
    let t0 = Utc::now() - ChronoDuration::days(30);
    for i in 0..12i64 {
        let kind = if i % 3 == 0 { "F" } else { "E" };
        let mut e = ev(kind, json!({ "i": i, "text": "ñ \"quoted\"" }));
        // Business time runs backwards for odd events: the effective bound must filter on
        // the column, not stop at the first later event.
        e.effective_at = Some(t0 + ChronoDuration::days(if i % 2 == 0 { i } else { 20 - i }));
        store
            .append(&format!("s-{}", i % 3), ExpectedVersion::Any, vec![e])
            .await
            .expect("append");
    }
    let full = read_all(&store).await;
    for batch in [1, 5, 100] {
        let raw: Vec<RawEvent> = store
            .read_all_raw(0, LogFilter::default(), batch)
            .try_collect()
            .await
            .expect("raw");
        assert_eq!(raw.len(), full.len(), "batch {batch}");
        for (r, f) in raw.iter().zip(&full) {
            assert_eq!(
                (r.id, &r.stream, r.version, r.position, &r.event_type),
                (f.id, &f.stream, f.version, f.position, &f.event_type)
            );
            assert_eq!(r.schema_version, f.schema_version);
            assert_eq!(
                (r.recorded_at, r.effective_at),
                (f.recorded_at, f.effective_at)
            );
            assert_eq!(r.metadata, f.metadata);
            let payload: serde_json::Value = serde_json::from_str(&r.payload).expect("json");
            assert_eq!(payload, f.payload);
        }
    }
    let cut = t0 + ChronoDuration::days(6);
    let effective: Vec<u64> = store
        .read_all_raw(
            0,
            LogFilter {
                effective_until: Some(cut),
                ..LogFilter::default()
            },
            2,
        )
        .map_ok(|e| e.position)
        .try_collect()
        .await
        .expect("effective");
    let expected: Vec<u64> = full
        .iter()
        .filter(|e| e.effective_at <= cut)
        .map(|e| e.position)
        .collect();
    assert_eq!(effective, expected);
    assert!(!expected.is_empty() && expected.len() < full.len());
    // Both bounds together: recorded by the 5th event, effective by the cut.
    let recorded = full[4].recorded_at;
    let both: Vec<u64> = store
        .read_all_raw(
            0,
            LogFilter {
                recorded_until: Some(recorded),
                effective_until: Some(cut),
                skip_types: [].into(),
            },
            100,
        )
        .map_ok(|e| e.position)
        .try_collect()
        .await
        .expect("both");
    let expected: Vec<u64> = full
        .iter()
        .filter(|e| e.effective_at <= cut && e.recorded_at <= recorded)
        .map(|e| e.position)
        .collect();
    assert_eq!(both, expected);
    // Skipped types are left out; an empty list skips nothing.
    let skipping = |types: &[&'static str]| {
        store
            .read_all_raw(
                0,
                LogFilter {
                    skip_types: types.into(),
                    ..LogFilter::default()
                },
                3,
            )
            .map_ok(|e| e.event_type)
            .try_collect::<Vec<String>>()
    };
    assert_eq!(skipping(&[]).await.expect("all").len(), 12);
    assert_eq!(skipping(&["G"]).await.expect("unknown").len(), 12);
    assert_eq!(skipping(&["E"]).await.expect("F"), vec!["F".to_owned(); 4]);
    assert!(skipping(&["E", "F"]).await.expect("none").is_empty());
}

/// Appends `n` events one per transaction, round-robin over streams `s-0`..`s-3`.
async fn append_one_by_one(store: &EventStore, n: usize) {
    for i in 0..n {
        store
            .append(
                &format!("s-{}", i % 4),
                ExpectedVersion::Any,
                vec![ev("E", json!({ "i": i }))],
            )
            .await
            .expect("append");
    }
}

async fn read_all_pages_through_a_log_larger_than_one_batch(store: EventStore) {
    append_one_by_one(&store, 25).await;
    for batch in [1, 4, 5, 25, 1000] {
        let positions: Vec<u64> = store
            .read_all(0, None, batch)
            .map_ok(|e| e.position)
            .try_collect()
            .await
            .expect("read_all");
        assert_eq!(
            positions,
            (1..=25).collect::<Vec<_>>(),
            "batch size {batch}"
        );
    }
    let tail: Vec<u64> = store
        .read_all(20, None, 3)
        .map_ok(|e| e.position)
        .try_collect()
        .await
        .expect("tail");
    assert_eq!(tail, vec![21, 22, 23, 24, 25]);
    let none: Vec<RecordedEvent> = store
        .read_all(25, None, 3)
        .try_collect()
        .await
        .expect("past head");
    assert!(none.is_empty());
}

/// Long reads fetch pages by position range, two at a time: while writers keep appending,
/// every read is still the dense log from 1 up to at least the head it started at.
async fn reads_during_appends_see_a_dense_prefix_up_to_their_start(store: EventStore) {
    append_one_by_one(&store, 30).await;
    let writer = {
        let store = store.clone();
        tokio::spawn(async move { append_one_by_one(&store, 120).await })
    };
    for _ in 0..20 {
        let head = store.head_position().await.expect("head");
        let positions: Vec<u64> = store
            .read_all_raw(0, LogFilter::default(), 4)
            .map_ok(|e| e.position)
            .try_collect()
            .await
            .expect("read_all_raw");
        let n = positions.len() as u64;
        assert!(
            n >= head,
            "read {n} events, the head was {head} when it started"
        );
        assert_eq!(positions, (1..=n).collect::<Vec<_>>());
    }
    writer.await.expect("writer");
}

/// Reads fetch their next page ahead, on a task of their own: a reader that stops after a
/// few events must not leave that task holding a connection or the reader hanging.
async fn readers_that_stop_early_leave_the_store_usable(store: EventStore) {
    append_one_by_one(&store, 40).await;
    // More abandoned reads than any pool has connections.
    for _ in 0..50 {
        let first: Vec<u64> = store
            .read_all_raw(0, LogFilter::default(), 2)
            .take(3)
            .map_ok(|e| e.position)
            .try_collect()
            .await
            .expect("first events");
        assert_eq!(first, vec![1, 2, 3]);
        let mut stream = store.read_stream("s-1", 0, None);
        let head = stream.try_next().await.expect("stream head");
        assert_eq!(head.map(|e| e.version), Some(0));
    }
    store
        .append("s-new", ExpectedVersion::NoStream, vec![ev("E", json!({}))])
        .await
        .expect("append after abandoned reads");
    let all = read_all(&store).await;
    assert_eq!(all.len(), 41);
    assert!(all.windows(2).all(|w| w[1].position == w[0].position + 1));
}

async fn concurrent_writers_on_one_stream_get_dense_versions_and_typed_conflicts(
    store: EventStore,
) {
    const WRITERS: usize = 16;
    let barrier = Arc::new(tokio::sync::Barrier::new(WRITERS));
    let conflicts = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let store = store.clone();
        let barrier = barrier.clone();
        let conflicts = conflicts.clone();
        tasks.push(tokio::spawn(async move {
            let event = ev("Wrote", json!({ "writer": w }));
            barrier.wait().await;
            loop {
                let expected = match store.stream_version("contended").await.expect("version") {
                    None => ExpectedVersion::NoStream,
                    Some(v) => ExpectedVersion::Exact(v),
                };
                match store
                    .append("contended", expected, vec![event.clone()])
                    .await
                {
                    Ok(r) => return (event.id, r),
                    Err(StoreError::Conflict {
                        stream,
                        expected: e,
                        actual,
                    }) => {
                        assert_eq!(stream, "contended");
                        assert_eq!(e, expected);
                        assert_ne!(
                            actual
                                .map(ExpectedVersion::Exact)
                                .unwrap_or(ExpectedVersion::NoStream),
                            expected
                        );
                        conflicts.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(other) => panic!("writer {w}: unexpected error {other}"),
                }
            }
        }));
    }
    let mut ids = HashSet::new();
    for t in tasks {
        let (id, result) = t.await.expect("task");
        assert_eq!(result.positions.len(), 1);
        ids.insert(id);
    }
    let events = read_stream(&store, "contended").await;
    assert_eq!(
        events.iter().map(|e| e.version).collect::<Vec<_>>(),
        (0..WRITERS as u64).collect::<Vec<_>>()
    );
    assert_eq!(events.iter().map(|e| e.id).collect::<HashSet<_>>(), ids);
    assert_eq!(store.head_position().await.expect("head"), WRITERS as u64);
    assert!(
        conflicts.load(Ordering::Relaxed) > 0,
        "16 simultaneous writers should have produced at least one conflict"
    );
    let report = store.verify(None).await.expect("verify");
    assert_eq!(report.first_broken, None);
}

async fn tailing_readers_see_gap_free_positions_under_concurrent_writers(store: EventStore) {
    const WRITERS: u64 = 8;
    const APPENDS: u64 = 40;
    // Writer w appends 1 + (i % 3) events per append.
    let per_writer: u64 = (0..APPENDS).map(|i| 1 + i % 3).sum();
    let total = WRITERS * per_writer;

    let reader = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut last = 0u64;
            while last < total {
                let mut page = store.read_all(last, None, 7);
                while let Some(e) = page.next().await {
                    let e = e.expect("read_all");
                    assert_eq!(e.position, last + 1, "read_all skipped or reordered");
                    last = e.position;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            last
        })
    };
    let subscriber = {
        let mut sub = store.subscribe(0);
        tokio::spawn(async move {
            let mut last = 0u64;
            while last < total {
                let e = sub
                    .next()
                    .await
                    .expect("subscription ended")
                    .expect("subscribe");
                assert_eq!(e.position, last + 1, "subscribe skipped or reordered");
                last = e.position;
            }
            last
        })
    };
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..APPENDS {
                let events = (0..1 + i % 3)
                    .map(|k| ev("Tick", json!({ "w": w, "i": i, "k": k })))
                    .collect();
                store
                    .append(
                        &format!("writer-{w}-{}", i % 5),
                        ExpectedVersion::Any,
                        events,
                    )
                    .await
                    .expect("append");
            }
        }));
    }
    for w in writers {
        w.await.expect("writer");
    }
    let limit = Duration::from_secs(60);
    let seen = tokio::time::timeout(limit, reader)
        .await
        .expect("reader timed out")
        .expect("reader");
    assert_eq!(seen, total);
    let seen = tokio::time::timeout(limit, subscriber)
        .await
        .expect("subscriber timed out")
        .expect("subscriber");
    assert_eq!(seen, total);
    assert_eq!(store.head_position().await.expect("head"), total);
    let report = store.verify(None).await.expect("verify");
    assert_eq!(report.events_checked, total);
    assert_eq!(report.first_broken, None);
}

async fn reappending_the_same_events_is_a_no_op_returning_the_original_positions(
    store: EventStore,
) {
    let mut events = vec![ev("A", json!({"x": 1, "y": [1, 2]})), ev("B", json!(null))];
    events[1].effective_at = Some(Utc::now() - ChronoDuration::days(3));
    let original = store
        .append("s", ExpectedVersion::NoStream, events.clone())
        .await
        .expect("first append");
    store
        .append("other", ExpectedVersion::Any, vec![ev("C", json!({}))])
        .await
        .expect("other");
    let head = store.head_position().await.expect("head");

    // The whole request retried, even with an expectation that no longer holds.
    let retried = store
        .append("s", ExpectedVersion::NoStream, events.clone())
        .await
        .expect("retry");
    assert_eq!(retried, original);
    let retried_any = store
        .append("s", ExpectedVersion::Exact(7), events.clone())
        .await
        .expect("retry with another expectation");
    assert_eq!(retried_any, original);
    // Retried through append_batch too.
    let batch = store
        .append_batch(vec![("s".into(), ExpectedVersion::Any, events.clone())])
        .await
        .expect("batch retry");
    assert_eq!(batch, vec![original.clone()]);
    // Leaving effective_at out on the retry is not a difference (it was defaulted / given).
    let mut without_effective = events.clone();
    without_effective[1].effective_at = None;
    assert_eq!(
        store
            .append("s", ExpectedVersion::Any, without_effective)
            .await
            .expect("retry without effective_at"),
        original
    );
    // A payload with the same keys in another order is the same content.
    let mut reordered = events.clone();
    reordered[0].payload = serde_json::from_str(r#"{"y":[1,2],"x":1}"#).expect("json");
    assert_eq!(
        store
            .append("s", ExpectedVersion::Any, reordered)
            .await
            .expect("reordered keys"),
        original
    );

    assert_eq!(store.head_position().await.expect("head"), head);
    assert_eq!(read_stream(&store, "s").await.len(), 2);
}

async fn reusing_an_event_id_with_different_content_is_rejected(store: EventStore) {
    let event = ev("A", json!({"x": 1}));
    store
        .append("s", ExpectedVersion::Any, vec![event.clone()])
        .await
        .expect("append");
    let head = store.head_position().await.expect("head");

    let mut changed_payload = event.clone();
    changed_payload.payload = json!({"x": 2});
    let mut changed_type = event.clone();
    changed_type.event_type = "B".into();
    let mut changed_schema = event.clone();
    changed_schema.schema_version = 2;
    let mut changed_meta = event.clone();
    changed_meta.metadata.actor = "someone else".into();
    let mut changed_effective = event.clone();
    changed_effective.effective_at = Some(Utc::now() - ChronoDuration::days(1));
    for (what, candidate, stream) in [
        ("payload", changed_payload, "s"),
        ("type", changed_type, "s"),
        ("schema", changed_schema, "s"),
        ("metadata", changed_meta, "s"),
        ("effective_at", changed_effective, "s"),
        ("stream", event.clone(), "t"),
    ] {
        let err = store
            .append(stream, ExpectedVersion::Any, vec![candidate])
            .await
            .expect_err(what);
        assert!(
            matches!(err, StoreError::IdempotencyMismatch { id } if id == event.id),
            "{what}: {err:?}"
        );
    }
    // Partially stored requests are not retries: refused, nothing written.
    let err = store
        .append(
            "s",
            ExpectedVersion::Any,
            vec![event.clone(), ev("New", json!({}))],
        )
        .await
        .expect_err("partial");
    assert!(err.is_conflict(), "{err:?}");
    assert_eq!(store.head_position().await.expect("head"), head);
}

async fn the_database_rejects_updates_and_deletes_of_events(store: EventStore) {
    store
        .append(
            "s",
            ExpectedVersion::Any,
            vec![ev("A", json!({"x": 1})), ev("B", json!({}))],
        )
        .await
        .expect("append");
    let before = read_all(&store).await;

    let update = raw(
        &store,
        r#"UPDATE events SET payload = '{"x":2}' WHERE version = 0"#,
    )
    .await;
    assert!(update.is_err(), "UPDATE must fail: {update:?}");
    let update_all = raw(&store, "UPDATE events SET event_type = 'X'").await;
    assert!(update_all.is_err(), "UPDATE must fail: {update_all:?}");
    let delete = raw(&store, "DELETE FROM events WHERE version = 1").await;
    assert!(delete.is_err(), "DELETE must fail: {delete:?}");
    let delete_all = raw(&store, "DELETE FROM events").await;
    assert!(delete_all.is_err(), "DELETE must fail: {delete_all:?}");
    if store.backend() == Backend::Postgres {
        let truncate = raw(&store, "TRUNCATE events").await;
        assert!(truncate.is_err(), "TRUNCATE must fail: {truncate:?}");
    }
    let message = delete_all.expect_err("checked").to_string();
    assert!(message.contains("immutable"), "{message}");

    assert_eq!(read_all(&store).await, before);
}

async fn verify_pinpoints_the_first_tampered_event(store: EventStore) {
    store
        .append(
            "a",
            ExpectedVersion::Any,
            vec![ev("A", json!({"n": 0})), ev("A", json!({"n": 1}))],
        )
        .await
        .expect("a");
    store
        .append("b", ExpectedVersion::Any, vec![ev("B", json!({"n": 0}))])
        .await
        .expect("b");
    store
        .append(
            "a",
            ExpectedVersion::Any,
            vec![ev("A", json!({"n": 2})), ev("A", json!({"n": 3}))],
        )
        .await
        .expect("a again");
    let clean = store.verify(None).await.expect("verify all");
    assert_eq!(clean.events_checked, 5);
    assert_eq!(clean.first_broken, None);
    let clean_a = store.verify(Some("a")).await.expect("verify a");
    assert_eq!(clean_a.events_checked, 4);
    assert_eq!(clean_a.first_broken, None);

    // Behind the store's back: disable immutability and rewrite one payload.
    let drop_trigger = match store.backend() {
        Backend::Sqlite => "DROP TRIGGER events_no_update",
        Backend::Postgres => "DROP TRIGGER events_no_update ON events",
    };
    raw(&store, drop_trigger).await.expect("drop trigger");
    let changed = raw(
        &store,
        r#"UPDATE events SET payload = '{"n":99}' WHERE stream = 'a' AND version = 2"#,
    )
    .await
    .expect("tamper");
    assert_eq!(changed, 1);

    for scope in [Some("a"), None] {
        let report = store.verify(scope).await.expect("verify");
        let broken = report.first_broken.expect("tampering must be detected");
        assert_eq!(broken.stream, "a", "{scope:?}");
        assert_eq!(broken.version, 2, "{scope:?}");
        assert_eq!(broken.position, 4, "{scope:?}");
        assert!(broken.reason.contains("hash"), "{}", broken.reason);
    }
    let b = store.verify(Some("b")).await.expect("verify b");
    assert_eq!(b.first_broken, None);
    assert_eq!(b.events_checked, 1);
}

async fn subscription_delivers_catch_up_then_live_events(store: EventStore) {
    store
        .append(
            "s",
            ExpectedVersion::Any,
            vec![ev("A", json!({})), ev("B", json!({})), ev("C", json!({}))],
        )
        .await
        .expect("append");
    let limit = Duration::from_secs(10);
    let mut sub = store.subscribe(0);
    let mut late = store.subscribe(2);
    for expected in 1..=3 {
        let e = tokio::time::timeout(limit, sub.next())
            .await
            .expect("catch-up timed out")
            .expect("ended")
            .expect("error");
        assert_eq!(e.position, expected);
    }
    let e = tokio::time::timeout(limit, late.next())
        .await
        .expect("timed out")
        .expect("ended")
        .expect("error");
    assert_eq!(e.position, 3);

    // Nothing more yet: the subscription waits instead of ending.
    assert!(tokio::time::timeout(Duration::from_millis(300), sub.next())
        .await
        .is_err());

    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            store
                .append(
                    "t",
                    ExpectedVersion::Any,
                    vec![ev("Live", json!({"live": true}))],
                )
                .await
                .expect("live append")
        })
    };
    let started = std::time::Instant::now();
    let live = tokio::time::timeout(limit, sub.next())
        .await
        .expect("live event timed out")
        .expect("ended")
        .expect("error");
    assert_eq!(live.position, 4);
    assert_eq!(live.event_type, "Live");
    // Woken by the notification, not by the periodic safety re-check.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let late_live = tokio::time::timeout(limit, late.next())
        .await
        .expect("timed out")
        .expect("ended")
        .expect("error");
    assert_eq!(late_live, live);
    writer.await.expect("writer");
}

async fn append_batch_writes_many_streams_in_one_transaction(store: EventStore) {
    store
        .append("existing", ExpectedVersion::Any, vec![ev("A", json!({}))])
        .await
        .expect("seed");
    let mut batch: Vec<(String, ExpectedVersion, Vec<NewEvent>)> = (0..300)
        .map(|i| {
            (
                format!("import-{i:03}"),
                ExpectedVersion::NoStream,
                (0..4)
                    .map(|k| ev("Imported", json!({ "i": i, "k": k })))
                    .collect(),
            )
        })
        .collect();
    // The same stream twice in one batch continues where the earlier entry left off.
    batch.push((
        "existing".into(),
        ExpectedVersion::Exact(0),
        vec![ev("B", json!({}))],
    ));
    batch.push((
        "existing".into(),
        ExpectedVersion::Exact(1),
        vec![ev("C", json!({}))],
    ));
    let results = store.append_batch(batch.clone()).await.expect("batch");
    assert_eq!(results.len(), 302);
    assert_eq!(results[0].positions, vec![2, 3, 4, 5]);
    assert_eq!(results[299].positions, vec![1198, 1199, 1200, 1201]);
    assert_eq!(results[299].last_version, 3);
    assert_eq!(results[300].positions, vec![1202]);
    assert_eq!(results[300].last_version, 1);
    assert_eq!(results[301].positions, vec![1203]);
    assert_eq!(results[301].last_version, 2);
    assert_eq!(store.head_position().await.expect("head"), 1203);
    assert_eq!(
        store.list_streams("import-").await.expect("list").len(),
        300
    );
    let existing = read_stream(&store, "existing").await;
    assert_eq!(existing.len(), 3);
    assert_eq!(existing[2].prev_hash, existing[1].hash);

    // Retrying the whole import is a no-op with the same results.
    let again = store.append_batch(batch).await.expect("batch retry");
    assert_eq!(again, results);
    assert_eq!(store.head_position().await.expect("head"), 1203);
    let report = store.verify(None).await.expect("verify");
    assert_eq!(report.events_checked, 1203);
    assert_eq!(report.first_broken, None);
    assert_eq!(store.append_batch(vec![]).await.expect("empty"), vec![]);
}

async fn append_batch_is_all_or_nothing_when_one_stream_conflicts(store: EventStore) {
    store
        .append("taken", ExpectedVersion::Any, vec![ev("A", json!({}))])
        .await
        .expect("seed");
    let mut batch: Vec<(String, ExpectedVersion, Vec<NewEvent>)> = (0..50)
        .map(|i| {
            (
                format!("new-{i}"),
                ExpectedVersion::NoStream,
                vec![ev("E", json!({ "i": i }))],
            )
        })
        .collect();
    batch.insert(
        30,
        (
            "taken".into(),
            ExpectedVersion::NoStream,
            vec![ev("E", json!({}))],
        ),
    );
    let err = store
        .append_batch(batch.clone())
        .await
        .expect_err("conflict");
    assert!(
        matches!(
            err,
            StoreError::Conflict { ref stream, expected: ExpectedVersion::NoStream, actual: Some(0) }
                if stream == "taken"
        ),
        "{err:?}"
    );
    assert_eq!(store.head_position().await.expect("head"), 1);
    assert!(store.list_streams("new-").await.expect("list").is_empty());

    // An id clash with different content anywhere in the batch also writes nothing.
    let mut clash = store
        .read_stream("taken", 0, None)
        .try_collect::<Vec<_>>()
        .await
        .expect("read");
    let stored = clash.remove(0);
    batch[30] = (
        "elsewhere".into(),
        ExpectedVersion::Any,
        vec![NewEvent {
            id: stored.id,
            event_type: "Different".into(),
            schema_version: 1,
            payload: json!({}),
            metadata: Metadata::default(),
            effective_at: None,
        }],
    );
    let err = store
        .append_batch(batch.clone())
        .await
        .expect_err("mismatch");
    assert!(matches!(err, StoreError::IdempotencyMismatch { id } if id == stored.id));
    assert_eq!(store.head_position().await.expect("head"), 1);

    // Fixed, the same batch goes through in full.
    batch[30] = (
        "taken".into(),
        ExpectedVersion::Exact(0),
        vec![ev("E", json!({}))],
    );
    let results = store.append_batch(batch).await.expect("batch");
    assert_eq!(results.len(), 51);
    assert_eq!(store.head_position().await.expect("head"), 52);
}

async fn malformed_requests_are_rejected_without_writing(store: EventStore) {
    let err = store
        .append("s", ExpectedVersion::Any, vec![])
        .await
        .expect_err("empty");
    assert!(matches!(err, StoreError::InvalidInput(_)));
    let err = store
        .append("", ExpectedVersion::Any, vec![ev("A", json!({}))])
        .await
        .expect_err("no stream name");
    assert!(matches!(err, StoreError::InvalidInput(_)));
    let dup = ev("A", json!({}));
    let err = store
        .append("s", ExpectedVersion::Any, vec![dup.clone(), dup])
        .await
        .expect_err("duplicate id");
    assert!(matches!(err, StoreError::InvalidInput(_)));
    assert_eq!(store.head_position().await.expect("head"), 0);
}

/// Appends that arrive together are written in one transaction (group commit); each must
/// still succeed or fail on its own, as if it had run alone.
async fn concurrent_appends_written_together_keep_their_own_outcomes(store: EventStore) {
    const TASKS: usize = 24;
    store
        .append(
            "shared",
            ExpectedVersion::NoStream,
            vec![ev("Seed", json!({}))],
        )
        .await
        .expect("seed");
    let twice = ev("Twice", json!({ "same": "content" }));
    let barrier = Arc::new(tokio::sync::Barrier::new(TASKS));
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let store = store.clone();
        let barrier = barrier.clone();
        let twice = twice.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let result = match t % 4 {
                // A stale expectation: always a conflict.
                0 => {
                    store
                        .append(
                            &format!("own-{t}"),
                            ExpectedVersion::Exact(5),
                            vec![ev("X", json!({}))],
                        )
                        .await
                }
                // Everyone expects the seed as head: exactly one of these wins.
                1 => {
                    store
                        .append(
                            "shared",
                            ExpectedVersion::Exact(0),
                            vec![ev("Next", json!({ "t": t }))],
                        )
                        .await
                }
                // The same event appended by several tasks: one write, same answer for all.
                2 => {
                    store
                        .append("twice", ExpectedVersion::Any, vec![twice])
                        .await
                }
                _ => {
                    store
                        .append(
                            &format!("own-{t}"),
                            ExpectedVersion::NoStream,
                            vec![ev("Y", json!({}))],
                        )
                        .await
                }
            };
            (t, result)
        }));
    }
    let mut shared_wins = 0;
    let mut twice_results = Vec::new();
    for task in tasks {
        let (t, result) = task.await.expect("task");
        match (t % 4, result) {
            (0, Err(StoreError::Conflict { actual: None, .. })) => {}
            (1, Ok(r)) => {
                assert_eq!(r.last_version, 1);
                shared_wins += 1;
            }
            (
                1,
                Err(StoreError::Conflict {
                    actual: Some(1), ..
                }),
            ) => {}
            (2, Ok(r)) => twice_results.push(r),
            (3, Ok(r)) => assert_eq!(r.last_version, 0),
            (k, other) => panic!("task {t} (kind {k}): unexpected {other:?}"),
        }
    }
    assert_eq!(shared_wins, 1);
    assert_eq!(twice_results.len(), TASKS / 4);
    assert!(twice_results.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(read_stream(&store, "twice").await.len(), 1);
    // Seed + shared winner + one "twice" + the NoStream appends; positions dense.
    let all = read_all(&store).await;
    let expected = 1 + 1 + 1 + TASKS / 4;
    assert_eq!(all.len(), expected);
    assert_eq!(
        all.iter().map(|e| e.position).collect::<Vec<_>>(),
        (1..=expected as u64).collect::<Vec<_>>()
    );
    assert!(all.windows(2).all(|w| w[0].recorded_at <= w[1].recorded_at));
    let report = store.verify(None).await.expect("verify");
    assert_eq!(report.first_broken, None);
}

/// RFC 8785 reads numbers as doubles: an integer without an exact double would come back
/// rounded, so it is refused (in a single append and in a batch) and the log is left as it was.
async fn integers_json_readers_would_round_are_refused_and_nothing_is_stored(store: EventStore) {
    store
        .append(
            "s",
            ExpectedVersion::NoStream,
            vec![ev("E", json!({"n": 9007199254740991u64}))],
        )
        .await
        .expect("2^53 - 1 is exact");
    let err = store
        .append(
            "s",
            ExpectedVersion::Any,
            vec![ev("E", json!({"n": [9007199254740993u64]}))],
        )
        .await
        .expect_err("2^53 + 1 is not");
    assert!(
        matches!(err, StoreError::InvalidInput(ref m) if m.contains("9007199254740993")),
        "{err:?}"
    );
    let batch = vec![
        (
            "t".to_owned(),
            ExpectedVersion::Any,
            vec![ev("E", json!({"ok": 1}))],
        ),
        (
            "u".to_owned(),
            ExpectedVersion::Any,
            vec![ev("E", json!({"n": i64::MIN + 1}))],
        ),
    ];
    assert!(matches!(
        store.append_batch(batch).await,
        Err(StoreError::InvalidInput(_))
    ));
    assert_eq!(store.head_position().await.expect("head"), 1);
    let all = read_all(&store).await;
    assert_eq!(all[0].payload, json!({"n": 9007199254740991u64}));
}

/// A negative year or a leap second would be stored in a form that no longer reads (or, on
/// PostgreSQL, verifies): refused, whoever the writer, and nothing is stored.
async fn times_the_log_cannot_give_back_are_refused(store: EventStore) {
    let mut bad = Vec::new();
    for text in ["-0001-01-01T00:00:00Z", "+10000-01-01T00:00:00Z"] {
        bad.push(
            DateTime::parse_from_rfc3339(text)
                .map(|t| t.with_timezone(&Utc))
                .ok()
                .or_else(|| text.parse::<DateTime<Utc>>().ok())
                .expect("chrono reads expanded years"),
        );
    }
    let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
        .and_then(|d| d.and_hms_nano_opt(23, 59, 59, 1_500_000_000))
        .expect("a leap second")
        .and_utc();
    bad.push(leap);
    for t in bad {
        let mut e = ev("E", json!({}));
        e.effective_at = Some(t);
        let err = store
            .append("s", ExpectedVersion::Any, vec![e])
            .await
            .expect_err("refused");
        assert!(
            matches!(err, StoreError::InvalidInput(ref m) if m.contains("cannot be stored")),
            "{t:?}: {err:?}"
        );
    }
    assert_eq!(store.head_position().await.expect("head"), 0);
    let mut fine = ev("E", json!({}));
    fine.effective_at = DateTime::parse_from_rfc3339("0001-01-01T00:00:00Z")
        .ok()
        .map(|t| t.with_timezone(&Utc));
    store
        .append("s", ExpectedVersion::Any, vec![fine])
        .await
        .expect("year 1 is storable");
    assert_eq!(store.verify(None).await.expect("verify").first_broken, None);
}

/// Large batches take the bulk insert path (COPY on PostgreSQL), whose text format gives
/// tabs, newlines, carriage returns and backslashes a meaning of their own.
async fn a_bulk_batch_stores_text_with_tabs_newlines_and_backslashes_exactly(store: EventStore) {
    let tricky = "tab\there\nnewline\\ \\N real:\t\n\r\\ end";
    let batch: Vec<(String, ExpectedVersion, Vec<NewEvent>)> = (0..200)
        .map(|i| {
            let mut e = ev(
                "Tricky",
                json!({ "text": tricky, "raw": "a\tb\nc\\d\rñ✓", "i": i }),
            );
            e.metadata.actor = "actor\twith\ttabs".into();
            (format!("bulk\t{i}\n"), ExpectedVersion::NoStream, vec![e])
        })
        .collect();
    let results = store.append_batch(batch.clone()).await.expect("bulk");
    assert_eq!(results.len(), 200);
    let all = read_all(&store).await;
    assert_eq!(all.len(), 200);
    for ((stream, _, events), stored) in batch.iter().zip(&all) {
        assert_eq!(&stored.stream, stream);
        assert_eq!(stored.payload, events[0].payload);
        assert_eq!(stored.metadata, as_stored(&events[0].metadata));
        assert_eq!(stored.id, events[0].id);
    }
    let report = store.verify(None).await.expect("verify");
    assert_eq!(report.events_checked, 200);
    assert_eq!(report.first_broken, None);
    // Re-appended, the stored text is recognised as the same content.
    assert_eq!(store.append_batch(batch).await.expect("retry"), results);
    assert_eq!(store.head_position().await.expect("head"), 200);
}

/// Two store handles on one database (two processes, as `serve` and `import` would be) do
/// not share their in-process queue: the database lock alone must keep positions dense.
async fn two_stores_append_concurrently(first: EventStore, url: String) {
    let second = EventStore::connect(&url).await.expect("second store");
    let mut tasks = Vec::new();
    for (s, store) in [first.clone(), second.clone()].into_iter().enumerate() {
        for w in 0..4 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..25u64 {
                    let expected = match i {
                        0 => ExpectedVersion::NoStream,
                        i => ExpectedVersion::Exact(i - 1),
                    };
                    store
                        .append(
                            &format!("s{s}-w{w}"),
                            expected,
                            vec![ev("E", json!({ "i": i }))],
                        )
                        .await
                        .expect("append");
                }
            }));
        }
    }
    for t in tasks {
        t.await.expect("task");
    }
    let all = read_all(&first).await;
    assert_eq!(
        all.iter().map(|e| e.position).collect::<Vec<_>>(),
        (1..=200).collect::<Vec<_>>()
    );
    assert!(all.windows(2).all(|w| w[0].recorded_at <= w[1].recorded_at));
    assert_eq!(first.verify(None).await.expect("verify").first_broken, None);
    second.close().await;
}

/// Two store handles on one database, as two processes would open it.
async fn two_stores_on_one_database_append_concurrently(backend: Backend) {
    let Some(db) = test_db(backend).await else {
        return;
    };
    let url = db.url().expect("url");
    two_stores_append_concurrently(db.store().clone(), url).await;
    db.cleanup().await;
}
seguimiento_eventstore::on_both_backends!(Backend: two_stores_on_one_database_append_concurrently);

#[tokio::test]
async fn connect_accepts_in_memory_sqlite_and_rejects_unknown_schemes() {
    let store = EventStore::connect("sqlite::memory:")
        .await
        .expect("memory");
    assert_eq!(store.backend(), Backend::Sqlite);
    let r = store
        .append(
            "m",
            ExpectedVersion::NoStream,
            vec![ev("A", json!({"a": 1}))],
        )
        .await
        .expect("append");
    assert_eq!(r.positions, vec![1]);
    // A second, independent in-memory store does not share the first one's log.
    let other = EventStore::connect("sqlite::memory:")
        .await
        .expect("memory 2");
    assert_eq!(other.head_position().await.expect("head"), 0);
    assert_eq!(store.head_position().await.expect("head"), 1);
    store.close().await;
    other.close().await;

    let err = EventStore::connect("mysql://localhost/db")
        .await
        .expect_err("scheme");
    assert!(matches!(err, StoreError::InvalidUrl(_)));
}

#[tokio::test]
async fn a_sqlite_file_store_keeps_its_log_across_reconnects() {
    let path = std::env::temp_dir().join(format!("seg_reopen_{}.db", Uuid::new_v4().simple()));
    let url = format!("sqlite://{}", path.display());
    let store = EventStore::connect(&url).await.expect("connect");
    store
        .append("s", ExpectedVersion::NoStream, vec![ev("A", json!({}))])
        .await
        .expect("append");
    store.close().await;
    let reopened = EventStore::connect(&url).await.expect("reconnect");
    assert_eq!(reopened.stream_version("s").await.expect("v"), Some(0));
    reopened.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// Bulk groups (more than 64 events) plan without looking their ids up and rely on the
/// unique id key; repeated ids must still get exactly the answers of the small path.
async fn bulk_batches_keep_idempotency_without_looking_ids_up_first(store: EventStore) {
    let events: Vec<NewEvent> = (0..100).map(|i| ev("E", json!({ "i": i }))).collect();
    let original = store
        .append_batch(vec![(
            "s".into(),
            ExpectedVersion::NoStream,
            events.clone(),
        )])
        .await
        .expect("bulk append");
    assert_eq!(original[0].positions, (1..=100).collect::<Vec<_>>());
    // The same batch again: its original outcome, nothing written.
    let retried = store
        .append_batch(vec![(
            "s".into(),
            ExpectedVersion::NoStream,
            events.clone(),
        )])
        .await
        .expect("retry");
    assert_eq!(retried, original);
    // Half stored, half new: not a retry of one append.
    let mut mixed = events[50..].to_vec();
    mixed.extend((0..50).map(|i| ev("E", json!({ "new": i }))));
    match store
        .append_batch(vec![("s".into(), ExpectedVersion::Any, mixed)])
        .await
    {
        Err(StoreError::Conflict { .. }) => {}
        other => panic!("expected a conflict, got {other:?}"),
    }
    // A stored id with other content, among new events.
    let mut changed: Vec<NewEvent> = (0..99).map(|i| ev("E", json!({ "late": i }))).collect();
    let mut reused = events[0].clone();
    reused.payload = json!({ "i": "changed" });
    changed.push(reused);
    match store
        .append_batch(vec![("t".into(), ExpectedVersion::NoStream, changed)])
        .await
    {
        Err(StoreError::IdempotencyMismatch { id }) => assert_eq!(id, events[0].id),
        other => panic!("expected an idempotency mismatch, got {other:?}"),
    }
    assert_eq!(store.head_position().await.expect("head"), 100);
    // And a new bulk batch still goes in after all that.
    let more: Vec<NewEvent> = (0..70).map(|i| ev("E", json!({ "more": i }))).collect();
    let appended = store
        .append_batch(vec![("s".into(), ExpectedVersion::Exact(99), more)])
        .await
        .expect("bulk append after refusals");
    assert_eq!(appended[0].last_version, 169);
    let report = store.verify(None).await.expect("verify");
    assert_eq!((report.events_checked, report.first_broken), (170, None));
}

/// Bulk groups do not look up the heads of streams they expect to be new; a stream that
/// does exist must still get the small path's conflict, with nothing of the batch written.
async fn bulk_batches_that_take_an_existing_stream_for_new_are_refused_whole(store: EventStore) {
    let batch =
        |n: usize| -> Vec<NewEvent> { (0..n).map(|i| ev("E", json!({ "i": i }))).collect() };
    store
        .append("s", ExpectedVersion::NoStream, batch(3))
        .await
        .expect("seed");
    let refused = store
        .append_batch(vec![
            ("n".into(), ExpectedVersion::NoStream, batch(40)),
            ("s".into(), ExpectedVersion::NoStream, batch(40)),
        ])
        .await;
    match refused {
        Err(StoreError::Conflict { stream, actual, .. }) => {
            assert_eq!((stream.as_str(), actual), ("s", Some(2)));
        }
        other => panic!("expected a conflict on s, got {other:?}"),
    }
    assert_eq!(store.head_position().await.expect("head"), 3);
    assert!(read_stream(&store, "n").await.is_empty());
    // A new stream continued within the same bulk batch chains onto its own first entry.
    let written = store
        .append_batch(vec![
            ("n".into(), ExpectedVersion::NoStream, batch(30)),
            ("s".into(), ExpectedVersion::Exact(2), batch(10)),
            ("n".into(), ExpectedVersion::Exact(29), batch(40)),
        ])
        .await
        .expect("bulk append");
    let last: Vec<u64> = written.iter().map(|r| r.last_version).collect();
    assert_eq!(last, [29, 12, 69]);
    let report = store.verify(None).await.expect("verify");
    assert_eq!((report.events_checked, report.first_broken), (83, None));
}

/// State kept with a store handle is shared by its clones, never by another store, and
/// goes away with the last clone: no reader needs a process-wide cache keyed by handle.
#[tokio::test]
async fn state_kept_with_a_handle_is_its_clones_alone_and_dies_with_them() {
    #[derive(Default)]
    struct Counter(AtomicU64);
    let a = EventStore::connect("sqlite::memory:").await.expect("a");
    let b = EventStore::connect("sqlite::memory:").await.expect("b");
    a.shared::<Counter>().0.fetch_add(1, Ordering::SeqCst);
    let clone = a.clone();
    assert_eq!(clone.shared::<Counter>().0.load(Ordering::SeqCst), 1);
    assert_eq!(b.shared::<Counter>().0.load(Ordering::SeqCst), 0);
    let weak = Arc::downgrade(&a.shared::<Counter>());
    drop(a);
    assert!(weak.upgrade().is_some(), "a clone still holds it");
    clone.close().await;
    drop(clone);
    assert!(weak.upgrade().is_none(), "gone with the last clone");
}
