//! Step 3 of a write, in memory: requests checked against the stored heads and ids (and
//! against the group's earlier requests), given positions, versions, hashes and links.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::StoreError;
use crate::hash::{self, HashInput, HashScheme, TsText};
use crate::row::StoredRow;
use crate::types::{AppendResult, ExpectedVersion};

use super::prepare::{Prepared, PreparedEvent};

/// Stream heads this process cached (see [`cached`](super::cached)), handed to
/// [`write_group`] so it need not look them up: they are exact if the log head its lookup
/// finds is still `log_position`, and ignored otherwise.
pub(crate) struct CachedHeads {
    pub log_position: u64,
    pub heads: HashMap<String, (u64, String)>,
}

/// What a successful [`write_group`] produced.
pub(crate) struct GroupOutcome {
    /// One outcome per request, in order: its results, or why it was left out.
    pub results: Vec<Result<Vec<AppendResult>, StoreError>>,
    /// New log head if anything was inserted.
    pub new_head: Option<u64>,
    /// What the write knows of the log once committed, for the [`HeadCache`](super::cached::HeadCache):
    /// the log head its lookup found, and the log and stream heads after it.
    pub seen_log_head: u64,
    pub known: Known,
}

/// Heads known exactly after a write: the log head (position, the earliest `recorded_at`
/// the next event may take) and the `(version, hash)` heads of the streams it touched.
pub(crate) struct Known {
    pub log_head: LogHead,
    pub heads: HashMap<String, (u64, String)>,
}

fn check_expected(
    stream: &str,
    expected: ExpectedVersion,
    current: Option<u64>,
) -> Result<(), StoreError> {
    let ok = match expected {
        ExpectedVersion::Any => true,
        ExpectedVersion::NoStream => current.is_none(),
        ExpectedVersion::Exact(n) => current == Some(n),
    };
    if ok {
        Ok(())
    } else {
        Err(StoreError::Conflict {
            stream: stream.to_owned(),
            expected,
            actual: current,
        })
    }
}

/// Does the stored row carry the same content as the request's event?
fn same_content(row: &StoredRow, stream: &str, ev: &PreparedEvent) -> bool {
    row.stream == stream
        && row.event_type == ev.event_type
        && row.schema_version == ev.schema_version
        && same_json(&row.payload, &ev.payload, None)
        && same_json(&row.metadata, &ev.metadata, Some("hashScheme"))
        && ev.effective_at.is_none_or(|t| t == row.effective_at)
}

/// Whether a stored JSON text and a new canonical one say the same. Texts stored under an
/// earlier hash scheme may be canonical in another way (and their metadata names no
/// scheme), so a retry of such an event is compared as values, with the top-level key
/// `ignore` left aside.
fn same_json(stored: &str, new: &str, ignore: Option<&str>) -> bool {
    if stored == new {
        return true;
    }
    let parse = |text: &str| -> Option<serde_json::Value> {
        let mut value: serde_json::Value = serde_json::from_str(text).ok()?;
        if let (Some(object), Some(key)) = (value.as_object_mut(), ignore) {
            object.remove(key);
        }
        Some(value)
    };
    matches!((parse(stored), parse(new)), (Some(a), Some(b)) if a == b)
}

/// The log as the group's planning sees it: what is stored plus the rows of the requests
/// planned so far.
pub(crate) struct LogState {
    existing: HashMap<Uuid, StoredRow>,
    /// Ids of the rows planned so far, as indexes into `rows` (later requests of the group
    /// see them as stored, for idempotent retries).
    planned: HashMap<Uuid, usize>,
    heads: HashMap<String, (u64, String)>,
    /// Rows to insert, in position order.
    pub rows: Vec<StoredRow>,
    /// The log-chain link of each row of `rows`.
    pub links: Vec<String>,
    /// Position of the last row (stored or planned).
    pub position: u64,
    /// Log-chain link at `position` (`""` for an empty log).
    link: String,
    recorded_at: DateTime<Utc>,
    recorded_text: TsText,
    effective_text: TsText,
}

impl LogState {
    /// Planning starts from the log head (position and its `recorded_at`) at `now`.
    pub fn new(
        existing: HashMap<Uuid, StoredRow>,
        heads: HashMap<String, (u64, String)>,
        log_head: LogHead,
    ) -> Self {
        let now = hash::truncate_micros(Utc::now());
        LogState {
            existing,
            planned: HashMap::new(),
            heads,
            rows: Vec::new(),
            links: Vec::new(),
            position: log_head.position,
            link: log_head.link,
            recorded_at: match log_head.recorded_at {
                Some(t) if t > now => t,
                _ => now,
            },
            recorded_text: TsText::default(),
            effective_text: TsText::default(),
        }
    }

    /// A stored or already planned row with this id.
    fn row_of(&self, id: &Uuid) -> Option<&StoredRow> {
        self.existing
            .get(id)
            .or_else(|| self.planned.get(id).and_then(|&i| self.rows.get(i)))
    }

    /// Plans the requests in order (see [`plan_request`]).
    pub fn plan(&mut self, requests: &[&Prepared]) -> Vec<Result<Vec<AppendResult>, StoreError>> {
        let last = requests.len().saturating_sub(1);
        requests
            .iter()
            .enumerate()
            .map(|(i, req)| plan_request(self, req, i < last))
            .collect()
    }

    /// What is known once the planned rows are committed.
    pub fn known(self) -> Known {
        Known {
            log_head: LogHead {
                position: self.position,
                recorded_at: Some(self.recorded_at),
                link: self.link,
            },
            heads: self.heads,
        }
    }
}

/// The last position of the log (0: empty), the `recorded_at` the next event may not
/// precede, and the log-chain link at that position (`""` for an empty log).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LogHead {
    pub position: u64,
    pub recorded_at: Option<DateTime<Utc>>,
    pub link: String,
}

/// Plans one request against `state`; on success adds its rows to `state` (and, if
/// `more_follow`, their ids for the requests after it), on failure leaves `state` untouched.
fn plan_request(
    state: &mut LogState,
    req: &Prepared,
    more_follow: bool,
) -> Result<Vec<AppendResult>, StoreError> {
    // This request's own view of heads, and its rows, merged into `state` only on success.
    let mut heads: HashMap<&str, (u64, String)> = HashMap::new();
    let mut rows: Vec<StoredRow> = Vec::new();
    let mut results = Vec::with_capacity(req.entries.len());
    for entry in &req.entries {
        let stream = entry.stream.as_str();
        let found: Vec<Option<&StoredRow>> =
            entry.events.iter().map(|e| state.row_of(&e.id)).collect();
        let n_found = found.iter().filter(|f| f.is_some()).count();
        for (ev, row) in entry.events.iter().zip(&found) {
            if let Some(row) = row {
                if !same_content(row, stream, ev) {
                    return Err(StoreError::IdempotencyMismatch { id: ev.id });
                }
            }
        }
        let head = heads
            .get(stream)
            .or_else(|| state.heads.get(stream))
            .cloned();
        let current = head.as_ref().map(|(v, _)| *v);
        if n_found == entry.events.len() {
            // A retry of an append that already committed: report the original outcome.
            let positions = found.iter().flatten().map(|r| r.position).collect();
            let last_version = found.iter().flatten().map(|r| r.version).max().unwrap_or(0);
            results.push(AppendResult {
                stream: stream.to_owned(),
                positions,
                last_version,
            });
            continue;
        }
        if n_found > 0 {
            // Some of these events are stored, others not: not a retry of one append.
            return Err(StoreError::Conflict {
                stream: stream.to_owned(),
                expected: entry.expected,
                actual: current,
            });
        }
        check_expected(stream, entry.expected, current)?;
        let (mut version, mut prev_hash) = match head {
            Some((v, h)) => (v + 1, h),
            None => (0, String::new()),
        };
        let mut positions = Vec::with_capacity(entry.events.len());
        for ev in &entry.events {
            let position = state.position + rows.len() as u64 + 1;
            let recorded_at = state.recorded_at;
            let effective_at = ev.effective_at.unwrap_or(recorded_at);
            let input = HashInput {
                id: ev.id,
                stream,
                version,
                event_type: &ev.event_type,
                schema_version: ev.schema_version,
                payload: &ev.payload,
                metadata: &ev.metadata,
                recorded_at,
                effective_at,
                prev_hash: &prev_hash,
                scheme: HashScheme::CURRENT,
            };
            let hash = hash::event_hash_of(
                &input,
                state.recorded_text.format(recorded_at),
                state.effective_text.format(effective_at),
            );
            positions.push(position);
            rows.push(StoredRow {
                position,
                id: ev.id,
                stream: stream.to_owned(),
                version,
                event_type: ev.event_type.clone(),
                schema_version: ev.schema_version,
                payload: ev.payload.clone(),
                metadata: ev.metadata.clone(),
                recorded_at,
                effective_at,
                prev_hash: std::mem::take(&mut prev_hash),
                hash: hash.clone(),
            });
            prev_hash = hash;
            version += 1;
        }
        let last_version = version - 1;
        heads.insert(stream, (last_version, prev_hash));
        results.push(AppendResult {
            stream: stream.to_owned(),
            positions,
            last_version,
        });
    }
    for (stream, head) in heads {
        state.heads.insert(stream.to_owned(), head);
    }
    state.position += rows.len() as u64;
    for row in &rows {
        let link = hash::log_link(
            row.position,
            &row.stream,
            row.version,
            &row.hash,
            &state.link,
        );
        state.links.push(link.clone());
        state.link = link;
    }
    if more_follow {
        let first = state.rows.len();
        for (i, row) in rows.iter().enumerate() {
            state.planned.insert(row.id, first + i);
        }
    }
    state.rows.append(&mut rows);
    Ok(results)
}

/// Groups of more than this many events are bulk writes: they plan with
/// [`IdLookup::Optimistic`], and only smaller ones take the cached path
/// ([`cached`](super::cached)).
pub(crate) const BULK_EVENTS: usize = 64;

/// Whether a group's planning looks up its event ids (idempotency).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdLookup {
    /// Look them up: a retried append gets its original outcome.
    Lookup,
    /// Assume they are new: the unique `id` key refuses a stored one (a unique violation;
    /// the caller plans again with [`IdLookup::Lookup`]), and a plan in which a request is
    /// refused is redone with the lookup (the refusal may hide a retry). In bulk writes (an
    /// import) ids are nearly always new, and looking up thousands of random ids per batch
    /// cost 13–19 % of the import's time on PostgreSQL.
    ///
    /// Likewise a stream whose first append in the group expects no stream is taken for
    /// new without looking its head up: if it exists, the unique `(stream, version)` key
    /// refuses its version 0, and the group is planned again with the lookup.
    Optimistic,
}

/// The streams whose heads the lookup must find, in first-seen order.
pub(crate) fn streams_to_look_up(requests: &[&Prepared], id_lookup: IdLookup) -> Vec<String> {
    let mut streams = Vec::new();
    let mut seen = HashSet::new();
    for entry in requests.iter().flat_map(|r| &r.entries) {
        let new = id_lookup == IdLookup::Optimistic && entry.expected == ExpectedVersion::NoStream;
        if seen.insert(entry.stream.as_str()) && !new {
            streams.push(entry.stream.clone());
        }
    }
    streams
}

/// An event of type `E` for the planning tests of this module and of `heads`.
#[cfg(test)]
pub(crate) fn test_event(id: Uuid, payload: serde_json::Value) -> crate::types::NewEvent {
    crate::types::NewEvent {
        id,
        event_type: "E".into(),
        schema_version: 1,
        payload,
        metadata: crate::types::Metadata::by("t"),
        effective_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write::prepare;

    fn one_append(stream: &str, expected: ExpectedVersion, ids: &[Uuid], payload: i64) -> Prepared {
        let events = ids
            .iter()
            .map(|&id| test_event(id, serde_json::json!({ "n": payload })))
            .collect();
        prepare(vec![(stream.to_owned(), expected, events)]).expect("valid request")
    }

    /// Later requests of a group see the earlier ones' rows as stored: an identical re-send
    /// gets the original positions, a half re-send is a conflict, and a reused id with other
    /// content is refused.
    #[test]
    fn a_group_plans_retries_of_its_own_earlier_requests() {
        let (x, y, z) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let first = one_append("s", ExpectedVersion::NoStream, &[x, y], 1);
        let retry = one_append("s", ExpectedVersion::NoStream, &[x, y], 1);
        let partly = one_append("s", ExpectedVersion::Exact(1), &[y, z], 1);
        let next = one_append("s", ExpectedVersion::Exact(1), &[z], 3);
        let head = LogHead {
            position: 4,
            recorded_at: None,
            link: "l4".into(),
        };
        let mut state = LogState::new(HashMap::new(), HashMap::new(), head.clone());
        let results = state.plan(&[&first, &retry, &partly, &next]);
        let positions: Vec<Option<Vec<u64>>> = results
            .iter()
            .map(|r| r.as_ref().ok().map(|a| a[0].positions.clone()))
            .collect();
        assert_eq!(
            positions,
            [Some(vec![5, 6]), Some(vec![5, 6]), None, Some(vec![7])]
        );
        assert!(matches!(results[2], Err(StoreError::Conflict { .. })));
        assert_eq!(state.rows.len(), 3);
        assert_eq!(state.rows[1].hash, state.rows[2].prev_hash);
        // The links continue from the head's and chain the planned rows in order.
        let mut prev = "l4".to_owned();
        for (row, link) in state.rows.iter().zip(&state.links) {
            let expected = hash::log_link(row.position, &row.stream, row.version, &row.hash, &prev);
            assert_eq!(link, &expected);
            prev = expected;
        }
        assert_eq!(state.links.len(), 3);

        let changed = one_append("s", ExpectedVersion::NoStream, &[x], 9);
        let mut state = LogState::new(HashMap::new(), HashMap::new(), head);
        let results = state.plan(&[&first, &changed]);
        assert!(matches!(
            results[1],
            Err(StoreError::IdempotencyMismatch { id }) if id == x
        ));
    }
}
