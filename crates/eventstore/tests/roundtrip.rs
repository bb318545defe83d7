//! Property: any JSON payload/metadata appended comes back identical, and the hash chain
//! over it verifies (in-memory SQLite; the encoding code is shared by both backends).

use futures::TryStreamExt;
use proptest::prelude::*;
use seguimiento_eventstore::{EventStore, ExpectedVersion, Metadata, NewEvent};
use serde_json::{Map, Number, Value};
use uuid::Uuid;

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| Value::Number(n.into())),
        any::<u64>().prop_map(|n| Value::Number(n.into())),
        any::<f64>()
            .prop_filter_map("finite", Number::from_f64)
            .prop_map(Value::Number),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((any::<String>(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_json_round_trips_exactly_and_verifies(
        payloads in prop::collection::vec(json_value(), 1..4),
        actor in any::<String>(),
        event_type in "[A-Za-z][A-Za-z0-9.]{0,20}",
        stream in "[a-z0-9:_%-]{1,16}",
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        rt.block_on(async {
            let store = EventStore::connect("sqlite::memory:").await.expect("connect");
            let events: Vec<NewEvent> = payloads
                .iter()
                .map(|p| NewEvent {
                    id: Uuid::new_v4(),
                    event_type: event_type.clone(),
                    schema_version: 3,
                    payload: p.clone(),
                    metadata: Metadata { actor: actor.clone(), correlation_id: None, causation_id: Some(Uuid::new_v4()), command_digest: None },
                    effective_at: None,
                })
                .collect();
            store.append(&stream, ExpectedVersion::NoStream, events.clone()).await.expect("append");
            let back: Vec<_> = store.read_stream(&stream, 0, None).try_collect().await.expect("read");
            assert_eq!(back.len(), events.len());
            for (b, e) in back.iter().zip(&events) {
                assert_eq!(&b.payload, &e.payload);
                assert_eq!(&b.metadata, &e.metadata);
            }
            // Retrying is a no-op (canonical content is stable).
            store.append(&stream, ExpectedVersion::Any, events).await.expect("retry");
            let report = store.verify(None).await.expect("verify");
            assert_eq!(report.first_broken, None);
            assert_eq!(report.events_checked, back.len() as u64);
            assert_eq!(store.list_streams(&stream).await.expect("list"), vec![stream.clone()]);
            store.close().await;
        });
    }
}
