//! Load: 64 concurrent clients send GraphQL mutations over real TCP for a bounded time
//! against a server bound to 127.0.0.1:0 (the real router and `serve`), on PostgreSQL and on
//! SQLite (where writes serialise). Every acknowledged mutation is in the log exactly once,
//! every rejection is a typed CONFLICT or LIMIT_EXCEEDED, no 5xx, no hang; the throughput
//! held is printed (no timing assertions).
#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use seguimiento_domain::ids::command_event_ids;
use seguimiento_system_tests::*;
use serde_json::{json, Value};
use uuid::Uuid;

const CLIENTS: usize = 64;
const RUN_FOR: Duration = Duration::from_secs(6);
const MAX_PER_CLIENT: usize = 120;
/// Letters every client writes to: contention on purpose.
const SHARED_LETTERS: usize = 4;

#[derive(Debug)]
enum Outcome {
    Acked {
        command_id: Uuid,
        stream: String,
        positions: Vec<u64>,
    },
    Rejected {
        command_id: Uuid,
        code: String,
    },
}

/// One client: until the deadline, alternately a new letter (no contention), a follow-up on
/// a shared letter (retried by the server on conflict) and a follow-up pinned to a stale
/// version (a CONFLICT unless it happens to be current).
async fn client(
    n: usize,
    base: String,
    token: String,
    deadline: Instant,
) -> Result<Vec<Outcome>, String> {
    let http = http_client();
    let mut out = Vec::new();
    let mut i = 0usize;
    while Instant::now() < deadline && i < MAX_PER_CLIENT {
        let command_id = Uuid::new_v4();
        let (name, input, extra) = match i % 3 {
            0 => (
                "receiveLetter",
                json!({"folio": format!("LOAD-{n}-{i}"), "unit": "OEE", "classification": "CC",
                       "sender": "Carga", "subject": "Prueba", "receivedAt": "2023-03-01T10:00:00Z"}),
                json!({}),
            ),
            1 => (
                "recordLetterFollowUp",
                json!({"folio": format!("SHARED-{}", (n + i) % SHARED_LETTERS),
                       "note": format!("cliente {n} #{i}"), "recordedAt": "2023-03-02T10:00:00Z"}),
                json!({}),
            ),
            _ => (
                "recordLetterFollowUp",
                json!({"folio": format!("SHARED-{}", (n + i) % SHARED_LETTERS),
                       "note": format!("fijado {n} #{i}"), "recordedAt": "2023-03-02T10:00:00Z"}),
                json!({"expectedVersion": i % 5}),
            ),
        };
        let mut vars = json!({"input": input, "commandId": command_id});
        for (k, v) in extra.as_object().unwrap() {
            vars[k] = v.clone();
        }
        let body = json!({"query": mutation(name), "variables": vars});
        let resp = http
            .post(format!("{base}/graphql"))
            .header("authorization", format!("Bearer {token}"))
            .json(&body)
            .send()
            .await
            .map_err(|e| format!("client {n}: request failed (hang or drop?): {e}"))?;
        let status = resp.status().as_u16();
        let value: Value = resp
            .json()
            .await
            .map_err(|e| format!("client {n}: body is not JSON: {e}"))?;
        if status >= 500 {
            return Err(format!("client {n}: HTTP {status}: {value}"));
        }
        if value.get("errors").is_some() {
            let c = code(&value).unwrap_or_default();
            if c != "CONFLICT" && c != "LIMIT_EXCEEDED" {
                return Err(format!(
                    "client {n}: untyped or unexpected rejection: {value}"
                ));
            }
            out.push(Outcome::Rejected {
                command_id,
                code: c,
            });
        } else {
            let r = &value["data"][name];
            out.push(Outcome::Acked {
                command_id,
                stream: r["stream"].as_str().unwrap_or_default().to_owned(),
                positions: r["positions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p.as_u64().unwrap())
                    .collect(),
            });
        }
        i += 1;
    }
    Ok(out)
}

async fn sixty_four_concurrent_clients_get_every_acknowledged_mutation_stored_exactly_once(
    db: &Db,
) {
    let s = Server::start(db.store()).await;
    let a = s.admin.clone();
    s.must(
        &a,
        "registerAgency",
        json!({"acronym": "CEA", "name": "Comisión Estatal del Agua", "sectorHead": null}),
    )
    .await;
    for k in 0..SHARED_LETTERS {
        s.must(
            &a,
            "receiveLetter",
            json!({"folio": format!("SHARED-{k}"), "unit": "DGGD",
            "classification": "RELEVANT", "sender": "Ayuntamiento", "subject": "Compartido",
            "receivedAt": "2023-02-01T16:00:00Z"}),
        )
        .await;
    }
    let seed_head = s.app.store().head_position().await.unwrap();

    let started = Instant::now();
    let deadline = started + RUN_FOR;
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|n| tokio::spawn(client(n, s.base.clone(), a.clone(), deadline)))
        .collect();
    // No deadlock: the whole run ends in bounded time.
    let results = tokio::time::timeout(RUN_FOR + Duration::from_secs(120), async {
        let mut all = Vec::new();
        for t in tasks {
            all.push(t.await.unwrap());
        }
        all
    })
    .await
    .expect("the clients did not finish: a hang or deadlock");
    let elapsed = started.elapsed();
    let mut outcomes = Vec::new();
    for r in results {
        outcomes.extend(r.unwrap_or_else(|e| panic!("{e}")));
    }

    let rows = event_rows(s.app.store()).await;
    let by_position: HashMap<u64, &EventRow> =
        rows.iter().map(|r| (r.position as u64, r)).collect();
    let mut expected_ids = HashSet::new();
    let (mut acked, mut rejected) = (0usize, HashMap::<String, usize>::new());
    for o in &outcomes {
        match o {
            Outcome::Acked {
                command_id,
                stream,
                positions,
            } => {
                acked += 1;
                assert!(!positions.is_empty());
                let ids = command_event_ids(*command_id, positions.len());
                for (p, id) in positions.iter().zip(&ids) {
                    let row = by_position
                        .get(p)
                        .unwrap_or_else(|| panic!("acknowledged position {p} is not in the log"));
                    assert_eq!(row.id, id.to_string(), "position {p} holds another event");
                    assert_eq!(&row.stream, stream);
                    assert!(
                        expected_ids.insert(row.id.clone()),
                        "two acknowledgements for one event"
                    );
                }
            }
            Outcome::Rejected { command_id, code } => {
                *rejected.entry(code.clone()).or_default() += 1;
                let id = command_event_ids(*command_id, 1)[0].to_string();
                assert!(
                    !rows.iter().any(|r| r.id == id),
                    "a rejected mutation ({code}) was stored"
                );
            }
        }
    }
    // Exactly the acknowledged events were added, each once.
    let added: Vec<_> = rows
        .iter()
        .filter(|r| r.position as u64 > seed_head)
        .map(|r| r.id.clone())
        .collect();
    let added_set: HashSet<_> = added.iter().cloned().collect();
    assert_eq!(added.len(), added_set.len(), "an event is stored twice");
    assert_eq!(
        added_set, expected_ids,
        "the log holds events nobody was told about"
    );
    assert!(acked > 0, "nothing was acknowledged");

    let verify = s
        .ok(
            &s.auditor,
            "{ verify { eventsChecked firstBroken { stream } } }",
            json!({}),
        )
        .await;
    assert!(verify["verify"]["firstBroken"].is_null(), "{verify}");
    let (status, _) = s.get("/healthz").await;
    assert_eq!(status, 200);
    println!(
        "{:?}: {} mutations in {:.1} s = {:.0}/s ({} acknowledged, rejected {:?}, {} events)",
        db.backend,
        outcomes.len(),
        elapsed.as_secs_f64(),
        outcomes.len() as f64 / elapsed.as_secs_f64(),
        acked,
        rejected,
        added.len()
    );
    s.stop().await;
}
on_both_backends!(Db: sixty_four_concurrent_clients_get_every_acknowledged_mutation_stored_exactly_once);
