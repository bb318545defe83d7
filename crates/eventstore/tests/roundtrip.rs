//! Property: any I-JSON payload/metadata appended comes back as the same JSON value, and
//! the hash chain over it verifies (in-memory SQLite; the encoding code is shared by both backends).

use futures::TryStreamExt;
use proptest::prelude::*;
use seguimiento_eventstore::hash::canonical_json;
use seguimiento_eventstore::{EventStore, ExpectedVersion, Metadata, NewEvent};
use serde_json::{Map, Number, Value};
use uuid::Uuid;

const SAFE: i64 = (1 << 53) - 1;

fn has_float(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.is_f64(),
        Value::Array(items) => items.iter().any(has_float),
        Value::Object(map) => map.values().any(has_float),
        _ => false,
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        // I-JSON integers, which every JSON reader (and RFC 8785) holds exactly; the store
        // refuses integers without an exact double (`eventstore.rs`).
        (-SAFE..=SAFE).prop_map(|n| Value::Number(n.into())),
        (0..=SAFE as u64).prop_map(|n| Value::Number(n.into())),
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
                    metadata: Metadata { actor: actor.clone(), correlation_id: None, causation_id: Some(Uuid::new_v4()), command_digest: None, hash_scheme: None },
                    effective_at: None,
                })
                .collect();
            store.append(&stream, ExpectedVersion::NoStream, events.clone()).await.expect("append");
            let back: Vec<_> = store.read_stream(&stream, 0, None).try_collect().await.expect("read");
            assert_eq!(back.len(), events.len());
            for (b, e) in back.iter().zip(&events) {
                // The same JSON value, numbers read as RFC 8785 reads them (IEEE doubles:
                // `1.0` comes back as `1`, `-0.0` as `0`); strings and keys exactly.
                assert_eq!(canonical_json(&b.payload).expect("jcs"), canonical_json(&e.payload).expect("jcs"));
                if !has_float(&e.payload) {
                    assert_eq!(&b.payload, &e.payload);
                }
                assert_eq!(b.metadata.hash_scheme, Some(2));
                assert_eq!(&Metadata { hash_scheme: None, ..b.metadata.clone() }, &e.metadata);
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
