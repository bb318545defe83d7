//! Appends planned from this process's cached heads (`heads` module) stay correct when
//! another handle (another process) writes the same database: stale heads are detected,
//! streams created elsewhere are not taken for new, retries stay idempotent. Each scenario
//! runs on SQLite and (with `TEST_DATABASE_URL`) PostgreSQL, with two store handles.

use futures::TryStreamExt;
use seguimiento_eventstore::testing::{test_db, Fixture, TestDb};
use seguimiento_eventstore::{
    Backend, EventStore, ExpectedVersion, Metadata, NewEvent, StoreError,
};
use serde_json::json;
use uuid::Uuid;

fn ev(i: u64) -> NewEvent {
    NewEvent {
        id: Uuid::new_v4(),
        event_type: "E".into(),
        schema_version: 1,
        payload: json!({ "i": i }),
        metadata: Metadata::by("tester"),
        effective_at: None,
    }
}

async fn append(
    store: &EventStore,
    stream: &str,
    expected: ExpectedVersion,
    i: u64,
) -> Result<u64, StoreError> {
    store
        .append(stream, expected, vec![ev(i)])
        .await
        .map(|r| r.last_version)
}

/// The whole log is dense, time-ordered and its hash chains verify.
async fn assert_log_sound(store: &EventStore, events: u64) {
    let all: Vec<_> = store
        .read_all(0, None, 100)
        .try_collect()
        .await
        .expect("read");
    assert_eq!(
        all.iter().map(|e| e.position).collect::<Vec<_>>(),
        (1..=events).collect::<Vec<_>>()
    );
    assert!(all.windows(2).all(|w| w[0].recorded_at <= w[1].recorded_at));
    let report = store.verify(None).await.expect("verify");
    assert_eq!(report.events_checked, events);
    assert_eq!(report.first_broken, None);
}

/// Appends after another handle wrote the same stream see its events: the cached head
/// of `s` is stale, and must neither win a conflict it should lose nor break the chain.
async fn writes_by_another_handle_invalidate_cached_heads((a, b): (EventStore, EventStore)) {
    assert_eq!(
        append(&a, "s", ExpectedVersion::NoStream, 0)
            .await
            .expect("a0"),
        0
    );
    assert_eq!(
        append(&a, "s", ExpectedVersion::Exact(0), 1)
            .await
            .expect("a1"),
        1
    );
    assert_eq!(
        append(&b, "s", ExpectedVersion::Exact(1), 2)
            .await
            .expect("b2"),
        2
    );
    assert_eq!(
        append(&b, "t", ExpectedVersion::NoStream, 0)
            .await
            .expect("b t"),
        0
    );
    match append(&a, "s", ExpectedVersion::Exact(1), 3).await {
        Err(StoreError::Conflict { actual, .. }) => assert_eq!(actual, Some(2)),
        other => panic!("expected a conflict at version 2, got {other:?}"),
    }
    assert_eq!(
        append(&a, "s", ExpectedVersion::Exact(2), 3)
            .await
            .expect("a3"),
        3
    );
    assert_eq!(
        append(&a, "s", ExpectedVersion::Any, 4).await.expect("a4"),
        4
    );
    // And the other way round: b's cache is now stale.
    assert_eq!(
        append(&b, "s", ExpectedVersion::Any, 5).await.expect("b5"),
        5
    );
    assert_eq!(
        append(&a, "t", ExpectedVersion::Exact(0), 1)
            .await
            .expect("a t"),
        1
    );
    assert_log_sound(&a, 8).await;
}

/// Two appends polled together are written as one group, planned together from the cache.
/// After another handle wrote `s`, the group's insert into `u` succeeds, so its answer for
/// `s` must come from `s`'s real head, not from the head cached before that foreign write.
async fn a_group_never_answers_from_heads_another_handle_changed((a, b): (EventStore, EventStore)) {
    assert_eq!(
        append(&a, "s", ExpectedVersion::NoStream, 0)
            .await
            .expect("a s"),
        0
    );
    assert_eq!(
        append(&b, "s", ExpectedVersion::Exact(0), 1)
            .await
            .expect("b s"),
        1
    );
    // A full write by `a` (its log head moved): it learns the new log head.
    assert_eq!(
        append(&a, "t", ExpectedVersion::NoStream, 0)
            .await
            .expect("a t"),
        0
    );
    let (u, s) = futures::join!(
        append(&a, "u", ExpectedVersion::NoStream, 0),
        append(&a, "s", ExpectedVersion::Exact(1), 2),
    );
    assert_eq!(u.expect("u"), 0);
    assert_eq!(s.expect("s continues from the foreign write"), 2);
    assert_log_sound(&a, 5).await;
}

/// A stream that existed before this handle's first write is not in its cache: appending
/// to it as if new must be refused, and `Any` must continue it, not restart it.
async fn streams_created_elsewhere_are_not_taken_for_new((a, b): (EventStore, EventStore)) {
    assert_eq!(
        append(&b, "old", ExpectedVersion::NoStream, 0)
            .await
            .expect("b"),
        0
    );
    // Fills a's cache (log head 2) without touching "old".
    assert_eq!(
        append(&a, "x", ExpectedVersion::NoStream, 0)
            .await
            .expect("x"),
        0
    );
    match append(&a, "old", ExpectedVersion::NoStream, 1).await {
        Err(StoreError::Conflict { actual, .. }) => assert_eq!(actual, Some(0)),
        other => panic!("expected a conflict on an existing stream, got {other:?}"),
    }
    assert_eq!(
        append(&a, "old", ExpectedVersion::Any, 1)
            .await
            .expect("any"),
        1
    );
    assert_eq!(
        append(&a, "fresh", ExpectedVersion::Any, 0)
            .await
            .expect("new"),
        0
    );
    assert_log_sound(&a, 4).await;
}

/// A retried append (same event ids) answered from the cache path's fallback is the
/// original outcome; the same id with other content is refused; nothing is written twice.
async fn retries_of_cached_appends_stay_idempotent((a, _b): (EventStore, EventStore)) {
    append(&a, "s", ExpectedVersion::NoStream, 0)
        .await
        .expect("a0");
    let event = ev(1);
    let first = a
        .append("s", ExpectedVersion::Exact(0), vec![event.clone()])
        .await
        .expect("first");
    let retry = a
        .append("s", ExpectedVersion::Exact(0), vec![event.clone()])
        .await
        .expect("retry");
    assert_eq!(retry, first);
    let mut changed = event;
    changed.payload = json!({ "i": 99 });
    match a
        .append("s", ExpectedVersion::Exact(1), vec![changed])
        .await
    {
        Err(StoreError::IdempotencyMismatch { .. }) => {}
        other => panic!("expected an idempotency mismatch, got {other:?}"),
    }
    assert_eq!(
        append(&a, "s", ExpectedVersion::Exact(1), 2)
            .await
            .expect("a2"),
        2
    );
    assert_log_sound(&a, 3).await;
}

/// A retry the cached path sends to the database anyway (expecting any version) is refused
/// there by the unique id: the transaction that statement began is ended, so every pooled
/// connection goes on writing.
async fn retries_refused_by_the_database_leave_no_transaction_open(
    (a, _b): (EventStore, EventStore),
) {
    let event = ev(0);
    let first = a
        .append("s", ExpectedVersion::Any, vec![event.clone()])
        .await
        .expect("first");
    for _ in 0..20 {
        let retry = a
            .append("s", ExpectedVersion::Any, vec![event.clone()])
            .await
            .expect("retry");
        assert_eq!(retry, first);
    }
    for i in 1..30 {
        let stream = format!("t{i}");
        assert_eq!(
            append(&a, &stream, ExpectedVersion::NoStream, i)
                .await
                .expect("append after retries"),
            0
        );
    }
    assert_log_sound(&a, 30).await;
}

/// A bulk batch (an import) names more streams than the cached path takes: the full path
/// plans the streams cached by the previous batch without looking them up. After another
/// handle wrote one of them, the log head has moved, so every head is looked up again.
async fn bulk_batches_plan_from_cached_heads_only_while_exact((a, b): (EventStore, EventStore)) {
    let streams: Vec<String> = (0..100).map(|i| format!("bulk-{i}")).collect();
    let batch = |expected: &dyn Fn(usize) -> ExpectedVersion, base: u64| {
        streams
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), expected(i), vec![ev(base + i as u64)]))
            .collect::<Vec<_>>()
    };
    let first = a
        .append_batch(batch(&|_| ExpectedVersion::NoStream, 0))
        .await
        .expect("first batch");
    assert!(first.iter().all(|r| r.last_version == 0));
    // Planned from the heads the first batch cached.
    let second = a
        .append_batch(batch(&|_| ExpectedVersion::Exact(0), 100))
        .await
        .expect("second batch");
    assert!(second.iter().all(|r| r.last_version == 1));
    // Another handle moves bulk-7 to version 2: a's cached head of it is stale now.
    assert_eq!(
        append(&b, "bulk-7", ExpectedVersion::Exact(1), 999)
            .await
            .expect("b"),
        2
    );
    // Had the cached head been trusted, bulk-7 would fork at version 2.
    match a
        .append_batch(batch(&|_| ExpectedVersion::Exact(1), 200))
        .await
    {
        Err(StoreError::Conflict { stream, actual, .. }) => {
            assert_eq!((stream.as_str(), actual), ("bulk-7", Some(2)));
        }
        other => panic!("expected bulk-7's conflict at version 2, got {other:?}"),
    }
    let expected = |i: usize| ExpectedVersion::Exact(if i == 7 { 2 } else { 1 });
    let third = a
        .append_batch(batch(&expected, 300))
        .await
        .expect("third batch");
    assert_eq!(third[7].last_version, 3);
    assert_eq!(third[8].last_version, 2);
    assert_log_sound(&a, 301).await;
}

/// A throw-away database reached through two store handles, as by two processes.
struct TwoHandles {
    db: TestDb,
    other: EventStore,
}

impl Fixture for TwoHandles {
    type Arg<'a> = (EventStore, EventStore);

    async fn open(backend: Backend) -> Option<Self> {
        let db = test_db(backend).await?;
        let other = EventStore::connect(&db.url().expect("url"))
            .await
            .expect("second handle");
        Some(TwoHandles { db, other })
    }

    fn arg(&self) -> (EventStore, EventStore) {
        (self.db.store().clone(), self.other.clone())
    }

    async fn close(self) {
        self.other.close().await;
        self.db.cleanup().await;
    }
}

seguimiento_eventstore::on_both_backends!(
    current_thread TwoHandles:
    writes_by_another_handle_invalidate_cached_heads,
    a_group_never_answers_from_heads_another_handle_changed,
    streams_created_elsewhere_are_not_taken_for_new,
    retries_of_cached_appends_stay_idempotent,
    retries_refused_by_the_database_leave_no_transaction_open,
    bulk_batches_plan_from_cached_heads_only_while_exact,
);
