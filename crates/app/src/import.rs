//! JSON Lines import: validate each line against everything before it, append in chunks.
//!
//! A file holds one JSON object per line, of either kind:
//!
//! - a **command line**, `{"command": "registerAgency", "input": {…}, "actor": "…",
//!   "effectiveAt": "2023-06-30T17:00:00Z", "commandId": "…"}` (`input` has the shape of
//!   the GraphQL mutation input; `actor`, `effectiveAt` and `commandId` are optional);
//! - an **event line** as written by `seguimiento export` (a `RecordedEvent` in camelCase):
//!   appended as-is, same id, stream, type, schema version, payload, metadata and
//!   effective time, so export → import into an empty store reproduces the projections.
//!
//! # How an import runs
//!
//! Lines are read, parsed, validated and appended as a stream: the file is never held in
//! memory, only the chunk being filled and the history of the streams lines recently
//! touched ([`ImportOptions::cache_events`]).
//!
//! 1. **Parse** each line ([`parse_jsonl`]); a line that does not parse is rejected with
//!    its number and a reason free of personal data (quoted values are redacted).
//! 2. **Validate** in file order, in memory: each touched stream's history is loaded from
//!    the store once, then every accepted line's events are folded into that cache (and into
//!    the agency catalog and meetings), so later lines see earlier lines' effects, appended
//!    or not yet. A command is authorized, recognised as a re-run and decided by the
//!    functions [`App::execute`] runs ([`admit`], then the domain's
//!    [`executor::execute`](domain::executor::execute)), on the cached history instead of
//!    a fresh read: exactly as `App::execute` would, by construction.
//! 3. **Append** the accepted lines with `append_batch` as soon as they make a chunk of
//!    about [`DEFAULT_CHUNK_EVENTS`] events, one transaction per chunk, each entry carrying
//!    the exact version its stream had before it. A chunk is appended on a task of its own
//!    while the next lines are validated, and sent only once the chunk before it has
//!    committed: file order is kept, so global positions follow the file.
//!
//! If the import stops early (Ctrl-C between two chunks, the file cannot be read further,
//! the store fails), the chunks already committed stay; running the same file again skips
//! them (see below) and appends the rest.
//!
//! # Idempotency
//!
//! A command's id is its `commandId`, or one derived from the line number and the line
//! text: a v7 of the line's `effectiveAt` when it has one (time-ordered event ids, see
//! `seguimiento_domain::ids`), else a UUID v5. Its event ids derive from it as for any
//! command. An event line keeps its event id. A line whose (first) event id is already
//! stored, under the current ids or those earlier releases derived, is skipped and counted
//! as `already_imported`: re-running a file appends nothing twice.

use std::collections::{HashMap, HashSet};
use std::io::BufRead;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use seguimiento_domain::Aggregate as _;
use seguimiento_domain::{
    self as domain, agency::AgencyCatalog, executor::Loaded, Command, Context, DomainEvent,
};
use seguimiento_eventstore::{ExpectedVersion, Metadata, NewEvent, StoreError};

use crate::auth::{Principal, Role};
use crate::commands::{
    admit, check_effective_at, command_digest, decode, decode_event, expected_version,
    fresh_event_id, to_new_events, Retry,
};
use crate::error::AppError;
use crate::App;

/// Events per append transaction (a line's events are never split across two).
pub const DEFAULT_CHUNK_EVENTS: usize = 5_000;

/// Namespace of the command ids derived from a line's number and text.
const LINE_NAMESPACE: Uuid = Uuid::from_u128(0x5e6a_1d0c_7c1e_4d4f_9a51_0d3f_2b8e_0002);

/// What one line asks for.
#[derive(Debug, Clone)]
pub enum ImportItem {
    /// A command to decide, as if sent through the API.
    Command {
        command: Command,
        /// Who the events are attributed to (trusted only from an admin import).
        actor: Option<String>,
        effective_at: Option<DateTime<Utc>>,
        command_id: Uuid,
        /// For a line without a `commandId`, the id releases before time-ordered ids gave
        /// it: its events, if stored, mean the line was imported already.
        earlier_command_id: Option<Uuid>,
    },
    /// An exported event, appended as-is.
    Event { stream: String, event: NewEvent },
}

/// One parsed line of an import file.
#[derive(Debug, Clone)]
pub struct ImportLine {
    /// 1-based line number in the file.
    pub line: usize,
    pub item: ImportItem,
}

/// A line the import refused, with why (never personal data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RejectedLine {
    pub line: usize,
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    /// Non-blank lines read (up to where an interrupted import stopped).
    pub lines: usize,
    /// Lines whose events were appended by this run.
    pub accepted: usize,
    /// Lines found already stored (a re-run); nothing appended for them.
    pub already_imported: usize,
    pub rejected: Vec<RejectedLine>,
    pub events_appended: u64,
    /// Append transactions committed.
    pub chunks: usize,
    /// Stopped between two chunks on request: accepted lines after the last committed
    /// chunk were not appended (a re-run completes the import).
    pub interrupted: bool,
    /// Contacts that arrived sealed (an exported log) under a key this database does not
    /// hold: they are stored but cannot be read. Import the keys first (`--keys`).
    #[serde(default)]
    pub contacts_without_keys: usize,
}

impl ImportReport {
    pub fn is_clean(&self) -> bool {
        self.rejected.is_empty() && !self.interrupted
    }
}

/// How far an import is, for progress displays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportProgress {
    /// Non-blank lines read and decided so far.
    pub lines_done: u64,
    /// Non-blank lines in the whole input, when the caller knows ([`ImportOptions::lines`]).
    pub lines_total: Option<u64>,
    /// Events committed so far.
    pub events_appended: u64,
}

/// Tuning and hooks of an import.
#[derive(Clone, Copy)]
pub struct ImportOptions<'a> {
    /// Events per append transaction.
    pub chunk_events: usize,
    /// How many non-blank lines the input has, if known (progress only).
    pub lines: Option<u64>,
    /// Events of stream history kept in memory to validate lines. Past it, after a commit,
    /// the least recently used streams are dropped and read again from the store when a
    /// later line needs them: memory stays flat however long the file, at the price of
    /// re-reads when a file comes back to streams it left long before.
    pub cache_events: usize,
    /// Called as lines are validated and chunks appended.
    pub on_progress: Option<&'a (dyn Fn(ImportProgress) + Send + Sync)>,
    /// When set, the import stops before the next chunk (the chunk in hand finishes).
    pub stop: Option<&'a AtomicBool>,
}

impl Default for ImportOptions<'_> {
    fn default() -> Self {
        ImportOptions {
            chunk_events: DEFAULT_CHUNK_EVENTS,
            lines: None,
            cache_events: DEFAULT_CACHE_EVENTS,
            on_progress: None,
            stop: None,
        }
    }
}

impl std::fmt::Debug for ImportOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportOptions")
            .field("chunk_events", &self.chunk_events)
            .finish_non_exhaustive()
    }
}

impl ImportOptions<'_> {
    fn report(&self, lines_done: u64, events_appended: u64) {
        if let Some(f) = self.on_progress {
            f(ImportProgress {
                lines_done,
                lines_total: self.lines,
                events_appended,
            });
        }
    }

    fn stopped(&self) -> bool {
        self.stop.is_some_and(|s| s.load(Ordering::SeqCst))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommandWire {
    command: String,
    input: Value,
    actor: Option<String>,
    effective_at: Option<DateTime<Utc>>,
    command_id: Option<Uuid>,
}

/// The fields of an exported event an import needs (position, version, recorded time and
/// hashes are the target store's to assign).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventWire {
    id: Uuid,
    stream: String,
    event_type: String,
    schema_version: i32,
    payload: Value,
    #[serde(default)]
    metadata: Metadata,
    effective_at: DateTime<Utc>,
}

/// Removes every double-quoted value from a parser message (serde quotes offending
/// input, which may be personal data); field and variant names are in backticks and stay.
fn redact(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut in_quotes = false;
    let mut escaped = false;
    for c in message.chars() {
        if in_quotes {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_quotes = false;
                out.push_str("…\"");
            }
        } else {
            out.push(c);
            if c == '"' {
                in_quotes = true;
            }
        }
    }
    if in_quotes {
        out.push_str("…\"");
    }
    redact_backticked_input(&out)
}

/// serde names the offending variant or key of the input between backticks
/// ("unknown variant `…`, expected one of `A`, `B`"): that first value came from the
/// line and may be personal data; the expected names after it are the schema's own.
fn redact_backticked_input(message: &str) -> String {
    for marker in ["unknown variant `", "unknown field `"] {
        if let Some(start) = message.find(marker) {
            let value_start = start + marker.len();
            if let Some(len) = message[value_start..].find('`') {
                return format!(
                    "{}…{}",
                    &message[..value_start],
                    &message[value_start + len..]
                );
            }
        }
    }
    message.to_owned()
}

fn reject(line: usize, reason: impl Into<String>) -> RejectedLine {
    RejectedLine {
        line,
        reason: reason.into(),
    }
}

impl ImportLine {
    /// Parses one line of an import file (1-based `line`).
    pub fn parse(line: usize, text: &str) -> Result<ImportLine, RejectedLine> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| reject(line, format!("invalid JSON: {}", redact(&e.to_string()))))?;
        let Value::Object(obj) = &value else {
            return Err(reject(line, "a line must be a JSON object"));
        };
        if obj.contains_key("command") {
            let wire: CommandWire = serde_json::from_value(value).map_err(|e| {
                reject(
                    line,
                    format!("invalid command line: {}", redact(&e.to_string())),
                )
            })?;
            let name = wire.command.clone();
            let command: Command = serde_json::from_value(serde_json::json!({
                "command": wire.command,
                "input": wire.input,
            }))
            .map_err(|e| {
                reject(
                    line,
                    format!("invalid {name} command: {}", redact(&e.to_string())),
                )
            })?;
            let (command_id, earlier_command_id) = match wire.command_id {
                Some(id) => (id, None),
                None => line_command_ids(line, text, wire.effective_at),
            };
            Ok(ImportLine {
                line,
                item: ImportItem::Command {
                    command,
                    actor: wire.actor,
                    effective_at: wire.effective_at,
                    command_id,
                    earlier_command_id,
                },
            })
        } else if obj.contains_key("eventType") {
            let wire: EventWire = serde_json::from_value(value).map_err(|e| {
                reject(
                    line,
                    format!("invalid event line: {}", redact(&e.to_string())),
                )
            })?;
            if wire.stream.trim().is_empty() {
                return Err(reject(line, "event line without a stream"));
            }
            if !seguimiento_eventstore::hash::storable_time(wire.effective_at) {
                return Err(reject(
                    line,
                    "effectiveAt cannot be stored (years 0000 to 9999, no leap second)",
                ));
            }
            Ok(ImportLine {
                line,
                item: ImportItem::Event {
                    stream: wire.stream,
                    event: NewEvent {
                        id: wire.id,
                        event_type: wire.event_type,
                        schema_version: wire.schema_version,
                        payload: wire.payload,
                        metadata: wire.metadata,
                        effective_at: Some(wire.effective_at),
                    },
                },
            })
        } else {
            Err(reject(
                line,
                "neither a command line (\"command\") nor an exported event (\"eventType\")",
            ))
        }
    }

    /// A command given in memory (the demo loader). Its id is derived from the line number
    /// and the command's JSON, so loading the same list twice appends nothing twice.
    pub fn command(
        line: usize,
        command: Command,
        actor: Option<String>,
        effective_at: Option<DateTime<Utc>>,
    ) -> ImportLine {
        let text = serde_json::to_string(&command).unwrap_or_default();
        let (command_id, earlier_command_id) = line_command_ids(line, &text, effective_at);
        ImportLine {
            line,
            item: ImportItem::Command {
                command,
                actor,
                effective_at,
                command_id,
                earlier_command_id,
            },
        }
    }
}

/// The command id of a line that gives none, derived from its number and text so that
/// importing a file again appends nothing twice; with the id releases before time-ordered
/// ids derived, when it differs.
///
/// With an effective time, a v7 id of that time (its events' ids then sort by time, see
/// [`seguimiento_domain::ids`]); without one, the UUID v5 every line got before.
fn line_command_ids(
    line: usize,
    text: &str,
    effective_at: Option<DateTime<Utc>>,
) -> (Uuid, Option<Uuid>) {
    let name = format!("{line}\n{text}");
    let v5 = Uuid::new_v5(&LINE_NAMESPACE, name.as_bytes());
    match effective_at {
        Some(at) => (domain::ids::ordered_id(at, name.as_bytes()), Some(v5)),
        None => (v5, None),
    }
}

/// The non-blank lines of a JSON Lines source, parsed one at a time as they are read.
pub fn parse_jsonl<R: BufRead>(
    reader: R,
) -> impl Iterator<Item = std::io::Result<Result<ImportLine, RejectedLine>>> {
    // Lines are split as bytes so that one line that is not UTF-8 is rejected like any
    // other bad line, with its number, while the rest of the file imports.
    reader
        .split(b'\n')
        .enumerate()
        .filter_map(|(i, bytes)| match bytes {
            Err(e) => Some(Err(e)),
            Ok(bytes) => match String::from_utf8(bytes) {
                Err(e) => Some(Ok(Err(reject(
                    i + 1,
                    format!(
                        "the line is not valid UTF-8 (invalid byte at offset {})",
                        e.utf8_error().valid_up_to()
                    ),
                )))),
                Ok(text) => {
                    let trimmed = text.trim();
                    (!trimmed.is_empty()).then(|| Ok(ImportLine::parse(i + 1, trimmed)))
                }
            },
        })
}

/// Events of stream history the validation cache keeps by default (see
/// [`ImportOptions::cache_events`]).
pub const DEFAULT_CACHE_EVENTS: usize = 100_000;

/// One stream as the import sees it: what is stored plus what accepted lines add.
struct Cached {
    /// Last version including accepted lines (`None`: no events at all).
    version: Option<u64>,
    /// Ids of every event, stored ones first.
    ids: Vec<Uuid>,
    /// How many of `ids` are stored.
    stored: usize,
    history: Vec<DomainEvent>,
    /// Command digests of stored events, by event id (first events of commands that
    /// carried an id), to tell a re-run from a different command under a used id.
    digests: HashMap<Uuid, String>,
    /// When a line last used it (the workspace's clock), to evict the least recent.
    used: u64,
}

impl Cached {
    fn is_stored(&self, id: Uuid) -> bool {
        self.ids[..self.stored].contains(&id)
    }

    fn push(&mut self, ids: &[Uuid], events: Vec<DomainEvent>) {
        self.ids.extend_from_slice(ids);
        self.history.extend(events);
        self.version = Some(
            self.version
                .map_or(ids.len() as u64 - 1, |v| v + ids.len() as u64),
        );
    }
}

/// The in-memory view of the store during validation.
struct Workspace<'a> {
    app: &'a App,
    /// Streams the store holds, and those this import adds events to.
    existing: HashSet<String>,
    streams: HashMap<String, Cached>,
    /// Events in `streams`.
    cached_events: usize,
    /// Ticks once per stream use.
    clock: u64,
    catalog: AgencyCatalog,
    /// Event ids accepted by this run, with their line, to refuse duplicates.
    pending_ids: HashMap<Uuid, usize>,
}

impl<'a> Workspace<'a> {
    async fn new(app: &'a App) -> Result<Workspace<'a>, AppError> {
        let existing: HashSet<String> = if app.store().head_position().await? == 0 {
            HashSet::new()
        } else {
            app.store().list_streams("").await?.into_iter().collect()
        };
        let mut ws = Workspace {
            app,
            existing,
            streams: HashMap::new(),
            cached_events: 0,
            clock: 0,
            catalog: AgencyCatalog::default(),
            pending_ids: HashMap::new(),
        };
        ws.load(domain::AGENCY_CATALOG_STREAM).await?;
        let catalog = ws
            .streams
            .get(domain::AGENCY_CATALOG_STREAM)
            .map(|c| AgencyCatalog::from_events(&c.history))
            .unwrap_or_default();
        ws.catalog = catalog;
        Ok(ws)
    }

    /// Loads a stream into the cache, unless it is there.
    async fn load(&mut self, stream: &str) -> Result<(), AppError> {
        self.clock += 1;
        if let Some(c) = self.streams.get_mut(stream) {
            c.used = self.clock;
            return Ok(());
        }
        let cached = if self.existing.contains(stream) {
            let recorded = self.app.load_stream(stream).await?;
            Cached {
                version: recorded.last().map(|e| e.version),
                ids: recorded.iter().map(|e| e.id).collect(),
                stored: recorded.len(),
                history: decode(&recorded)?,
                digests: recorded
                    .iter()
                    .filter_map(|e| Some((e.id, e.metadata.command_digest.clone()?)))
                    .collect(),
                used: self.clock,
            }
        } else {
            Cached {
                version: None,
                ids: Vec::new(),
                stored: 0,
                history: Vec::new(),
                digests: HashMap::new(),
                used: self.clock,
            }
        };
        self.cached_events += cached.history.len();
        self.streams.insert(stream.to_owned(), cached);
        Ok(())
    }

    /// Drops the least recently used streams once the cache holds more than `limit`
    /// events, down to half of that if it can. Streams used after clock `committed_at`
    /// stay: only streams whose accepted lines are all committed may be dropped, since a
    /// dropped stream is read back from the store, complete, if a later line needs it.
    fn evict(&mut self, limit: usize, committed_at: u64) {
        if self.cached_events <= limit {
            return;
        }
        let mut by_use: Vec<(u64, String)> = self
            .streams
            .iter()
            .filter(|(_, c)| c.used <= committed_at)
            .map(|(name, c)| (c.used, name.clone()))
            .collect();
        by_use.sort_unstable();
        for (_, name) in by_use {
            if self.cached_events <= limit / 2 {
                break;
            }
            if let Some(c) = self.streams.remove(&name) {
                self.cached_events -= c.history.len();
            }
        }
    }

    fn cached(&self, stream: &str) -> Result<&Cached, AppError> {
        self.streams
            .get(stream)
            .ok_or_else(|| AppError::NotFound(format!("stream {stream} in the import cache")))
    }

    /// Records an accepted line's events in the cache.
    fn accept(&mut self, line: usize, stream: &str, ids: &[Uuid], events: Vec<DomainEvent>) {
        if stream == domain::AGENCY_CATALOG_STREAM {
            events.iter().for_each(|e| self.catalog.apply(e));
        }
        for id in ids {
            self.pending_ids.insert(*id, line);
        }
        // Appended before the cache can drop it: reloading it must read the store.
        self.existing.insert(stream.to_owned());
        if let Some(c) = self.streams.get_mut(stream) {
            self.cached_events += events.len();
            c.push(ids, events);
        }
    }
}

/// A line that passed validation, ready to append.
struct Accepted {
    stream: String,
    expected: ExpectedVersion,
    events: Vec<NewEvent>,
}

enum Verdict {
    Accepted(Accepted),
    AlreadyImported,
}

/// Accepted lines waiting for their append transaction.
#[derive(Default)]
struct Chunk {
    entries: Vec<(String, ExpectedVersion, Vec<NewEvent>)>,
    events: usize,
    lines: usize,
}

impl Chunk {
    fn push(&mut self, a: Accepted) {
        self.lines += 1;
        self.events += a.events.len();
        // Consecutive lines on one stream become one entry (its version runs on).
        match self.entries.last_mut() {
            Some((stream, _, events)) if *stream == a.stream => events.extend(a.events),
            _ => self.entries.push((a.stream, a.expected, a.events)),
        }
    }
}

impl App {
    /// Imports a JSON Lines source (see the [module docs](self)) as `principal`, reading it
    /// as it goes. A read error ends the import with an error; chunks already committed
    /// stay (a re-run resumes).
    pub async fn import_jsonl<R: BufRead>(
        &self,
        reader: R,
        principal: &Principal,
        options: ImportOptions<'_>,
    ) -> Result<ImportReport, AppError> {
        let lines = parse_jsonl(reader).map(|line| {
            line.map_err(|e| AppError::Validation(format!("cannot read the import file: {e}")))
        });
        self.import_from(lines, principal, options).await
    }

    /// Imports lines already parsed (lines that failed to parse come in as `Err` and are
    /// reported as rejected).
    pub async fn import(
        &self,
        lines: impl IntoIterator<Item = Result<ImportLine, RejectedLine>>,
        principal: &Principal,
        options: ImportOptions<'_>,
    ) -> Result<ImportReport, AppError> {
        self.import_from(lines.into_iter().map(Ok), principal, options)
            .await
    }

    /// Validates line after line in file order and appends the accepted ones whenever they
    /// fill a chunk. One chunk is appended while the next is validated (the CPU work of
    /// validation overlaps the database's work of the append); a chunk is sent only once
    /// the one before it has committed, so commits keep file order.
    async fn import_from(
        &self,
        lines: impl Iterator<Item = Result<Result<ImportLine, RejectedLine>, AppError>>,
        principal: &Principal,
        options: ImportOptions<'_>,
    ) -> Result<ImportReport, AppError> {
        let mut report = ImportReport::default();
        let mut ws = Workspace::new(self).await?;
        let mut chunk = Chunk::default();
        let mut in_flight: Option<InFlight> = None;
        // Workspace clock when the chunk in hand started: streams used since then may
        // hold its events, not committed yet.
        let mut chunk_started = ws.clock;
        let now = Utc::now();
        let every = options.lines.map_or(1_000, |n| (n / 200).max(1));
        for parsed in lines {
            report.lines += 1;
            // `None`: a line that did not parse, already reported.
            let verdict = match parsed {
                Ok(Ok(line)) => {
                    let number = line.line;
                    Some(
                        validate(&mut ws, line, principal, now)
                            .await
                            .map_err(|e| (number, e)),
                    )
                }
                Ok(Err(r)) => {
                    report.rejected.push(r);
                    None
                }
                Err(e) => Some(Err((report.lines, LineError::Failed(e)))),
            };
            match verdict {
                Some(Ok(Verdict::Accepted(a))) => chunk.push(a),
                Some(Ok(Verdict::AlreadyImported)) => report.already_imported += 1,
                Some(Err((number, LineError::Rejected(reason)))) => {
                    report.rejected.push(reject(number, reason))
                }
                Some(Err((_, LineError::Failed(e)))) => {
                    // What is in flight still commits (and a re-run skips it).
                    settle(in_flight.take(), &options, &mut report).await?;
                    return Err(e);
                }
                None => {}
            }
            if in_flight.as_ref().is_some_and(InFlight::is_finished) {
                settle(in_flight.take(), &options, &mut report).await?;
            }
            if chunk.events >= options.chunk_events.max(1) {
                settle(in_flight.take(), &options, &mut report).await?;
                // Every chunk before this one is committed: a dropped stream not used
                // since this chunk started is read back complete from the store.
                ws.evict(options.cache_events, chunk_started);
                if options.stopped() {
                    report.interrupted = true;
                    return Ok(report);
                }
                in_flight = Some(self.send_chunk(std::mem::take(&mut chunk)));
                chunk_started = ws.clock;
            }
            if (report.lines as u64).is_multiple_of(every) {
                options.report(report.lines as u64, report.events_appended);
            }
        }
        settle(in_flight.take(), &options, &mut report).await?;
        if chunk.lines > 0 {
            if options.stopped() {
                report.interrupted = true;
                return Ok(report);
            }
            // Reports once it has committed.
            settle(Some(self.send_chunk(chunk)), &options, &mut report).await?;
        } else {
            options.report(report.lines as u64, report.events_appended);
        }
        Ok(report)
    }

    /// Starts appending `chunk` in one transaction, on a task of its own.
    fn send_chunk(&self, chunk: Chunk) -> InFlight {
        let Chunk {
            mut entries,
            events,
            lines,
        } = chunk;
        let app = self.clone();
        let task = tokio::spawn(async move {
            // Personal data is sealed per citizen before it reaches the log, as on the
            // single write path (already sealed exported events are left as they are).
            let unreadable = app
                .vault()
                .seal_all(
                    entries
                        .iter_mut()
                        .flat_map(|(_, _, events)| events.iter_mut()),
                )
                .await?;
            app.store().append_batch(entries).await?;
            Ok(unreadable)
        });
        InFlight {
            task,
            events,
            lines,
        }
    }
}

/// A chunk being appended.
struct InFlight {
    /// Yields the chunk's contacts that arrived without their key.
    task: tokio::task::JoinHandle<Result<usize, AppError>>,
    events: usize,
    lines: usize,
}

impl InFlight {
    fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

/// Waits for the chunk in flight, if any, and counts it in `report` once committed.
async fn settle(
    in_flight: Option<InFlight>,
    options: &ImportOptions<'_>,
    report: &mut ImportReport,
) -> Result<(), AppError> {
    let Some(InFlight {
        task,
        events,
        lines,
    }) = in_flight
    else {
        return Ok(());
    };
    // A panicked append task wrote nothing it did not commit.
    let outcome = task
        .await
        .unwrap_or_else(|_| Err(AppError::Store(StoreError::Interrupted)));
    let unreadable = match outcome {
        Ok(n) => n,
        Err(e) => {
            tracing::error!(
                committed_chunks = report.chunks,
                committed_events = report.events_appended,
                "import chunk failed; earlier chunks are committed, a re-run resumes"
            );
            return Err(e);
        }
    };
    report.contacts_without_keys += unreadable;
    report.chunks += 1;
    report.accepted += lines;
    report.events_appended += events as u64;
    options.report(report.lines as u64, report.events_appended);
    Ok(())
}

enum LineError {
    /// The line is refused; the import goes on.
    Rejected(String),
    /// Storage failed; the import stops.
    Failed(AppError),
}

impl From<AppError> for LineError {
    fn from(e: AppError) -> Self {
        LineError::Failed(e)
    }
}

/// The text shown for a refused command (domain and authorization messages carry no
/// personal data by construction).
fn refusal(e: AppError) -> LineError {
    match e {
        AppError::Store(_) | AppError::Vault(_) => LineError::Failed(e),
        other => LineError::Rejected(other.to_string()),
    }
}

async fn validate(
    ws: &mut Workspace<'_>,
    line: ImportLine,
    principal: &Principal,
    now: DateTime<Utc>,
) -> Result<Verdict, LineError> {
    match line.item {
        ImportItem::Command {
            command,
            actor,
            effective_at,
            command_id,
            earlier_command_id,
        } => {
            check_effective_at(effective_at, now).map_err(refusal)?;
            let stream = command.stream_id();
            ws.load(&stream).await?;
            // The current scheme's first id, then the ids earlier releases gave it.
            let mut first = domain::ids::first_event_id_candidates(command_id);
            first.extend(
                earlier_command_id
                    .and_then(|c| domain::ids::command_event_ids(c, 1).into_iter().next()),
            );
            // Ids this run accepted first: once committed and reloaded they are stored too,
            // and a repeat within the file is refused whatever the chunk boundaries.
            if let Some(earlier) = first.first().and_then(|id| ws.pending_ids.get(id)) {
                return Err(LineError::Rejected(format!(
                    "same commandId as line {earlier}"
                )));
            }
            let digest = command_digest(&command, effective_at);
            let cached = ws.cached(&stream)?;
            let stored = &cached.ids[..cached.stored];
            let retry = Retry {
                command_id,
                first_ids: &first,
                digest: &digest,
            };
            let applied = admit(
                principal,
                &command,
                &cached.history,
                stored,
                Some(retry),
                |i| cached.digests.get(&stored[i]).map(String::as_str),
            )
            .map_err(refusal)?;
            if applied.is_some() {
                return Ok(Verdict::AlreadyImported);
            }
            let referenced = match command.reference() {
                Some(r) => {
                    ws.load(&r).await?;
                    Some(domain::fold(&ws.cached(&r)?.history))
                }
                None => None,
            };
            let cached = ws.cached(&stream)?;
            let loaded = Loaded {
                history: &cached.history,
                ids: &cached.ids,
                version: cached.version,
            };
            let ctx = Context::new(&ws.catalog, now).with_referenced(referenced.as_ref());
            let decided =
                domain::executor::execute(&command, loaded, ctx, Some(command_id), fresh_event_id)
                    .map_err(|e| refusal(AppError::from(e)))?;
            if decided.events.is_empty() {
                return Ok(Verdict::AlreadyImported);
            }
            let actor = match (principal.role, actor) {
                (Role::Admin, Some(a)) if !a.trim().is_empty() => a,
                _ => principal.subject.clone(),
            };
            let new = to_new_events(&decided, &actor, command_id, effective_at, Some(digest));
            let expected = expected_version(decided.expected);
            ws.accept(line.line, &stream, &decided.ids, decided.events);
            Ok(Verdict::Accepted(Accepted {
                stream,
                expected,
                events: new,
            }))
        }
        ImportItem::Event { stream, event } => {
            if principal.role != Role::Admin {
                return Err(LineError::Rejected(
                    "only an admin imports exported events".into(),
                ));
            }
            ws.load(&stream).await?;
            if let Some(earlier) = ws.pending_ids.get(&event.id) {
                return Err(LineError::Rejected(format!(
                    "event id already given on line {earlier}"
                )));
            }
            let cached = ws.cached(&stream)?;
            if cached.is_stored(event.id) {
                return Ok(Verdict::AlreadyImported);
            }
            let decoded = decode_event(&event.event_type, event.schema_version, &event.payload)
                .map_err(|e| LineError::Rejected(e.to_string()))?;
            if let Some(first) = cached.history.first() {
                if first.aggregate_kind() != decoded.aggregate_kind() {
                    return Err(LineError::Rejected(format!(
                        "a {} event does not belong in stream {stream} of a {}",
                        event.event_type,
                        first.aggregate_kind().name()
                    )));
                }
            }
            let expected = expected_version(cached.version);
            ws.accept(line.line, &stream, &[event.id], vec![decoded]);
            Ok(Verdict::Accepted(Accepted {
                stream,
                expected,
                events: vec![event],
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// While a chunk is appended, the next one's streams hold events the store does not
    /// have yet: eviction must keep every stream used since that chunk started, whatever
    /// the cache limit, and may drop the others.
    #[tokio::test]
    async fn eviction_keeps_the_streams_of_the_chunk_not_yet_committed() {
        let app = App::open("sqlite::memory:").await.expect("store");
        let mut ws = Workspace::new(&app).await.expect("workspace");
        let renamed = || DomainEvent::AgencyRenamed {
            acronym: "SH".into(),
            name: "Hacienda".into(),
        };
        let mut chunk_started = 0;
        for (line, stream) in ["committed-1", "committed-2", "pending-1", "pending-2"]
            .into_iter()
            .enumerate()
        {
            if stream == "pending-1" {
                chunk_started = ws.clock;
            }
            ws.load(stream).await.expect("load");
            ws.accept(line, stream, &[Uuid::new_v4()], vec![renamed()]);
        }
        ws.evict(0, chunk_started);
        let mut left: Vec<&str> = ws.streams.keys().map(String::as_str).collect();
        left.sort_unstable();
        assert_eq!(left, ["pending-1", "pending-2"]);
        assert_eq!(ws.cached_events, 2);
    }

    #[test]
    fn quoted_values_are_redacted_from_parser_messages() {
        let msg = r#"invalid type: string "Juana Pérez", expected u32 at line 1 column 9"#;
        assert_eq!(
            redact(msg),
            r#"invalid type: string "…", expected u32 at line 1 column 9"#
        );
        assert_eq!(
            redact("unknown field `Juana`, expected one of `name`, `phone`"),
            "unknown field `…`, expected one of `name`, `phone`"
        );
        assert_eq!(
            redact("unknown variant `juana@example.org`, expected one of `CALL`, `CHAT`"),
            "unknown variant `…`, expected one of `CALL`, `CHAT`"
        );
    }

    #[test]
    fn a_command_line_gets_an_id_derived_from_its_number_and_text() {
        let text =
            r#"{"command":"registerAgency","input":{"acronym":"SIDUR","name":"Infraestructura"}}"#;
        let a = ImportLine::parse(3, text).map_err(|r| r.reason);
        let b = ImportLine::parse(3, text).map_err(|r| r.reason);
        let c = ImportLine::parse(4, text).map_err(|r| r.reason);
        let id = |l: Result<ImportLine, String>| match l {
            Ok(ImportLine {
                item: ImportItem::Command { command_id, .. },
                ..
            }) => Some(command_id),
            _ => None,
        };
        let (a, b, c) = (id(a), id(b), id(c));
        assert!(a.is_some());
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn an_unknown_command_is_rejected_with_its_line() {
        let r = ImportLine::parse(7, r#"{"command":"fly","input":{}}"#);
        match r {
            Err(r) => {
                assert_eq!(r.line, 7);
                assert!(r.reason.contains("fly"), "{}", r.reason);
            }
            Ok(_) => panic!("accepted an unknown command"),
        }
    }

    #[test]
    fn personal_data_does_not_leak_into_a_reason() {
        let text = r#"{"command":"receivePetition","input":{"petitionId":"x","contact":{"name":"Juana Pérez"}}}"#;
        match ImportLine::parse(1, text) {
            Err(r) => assert!(!r.reason.contains("Juana"), "{}", r.reason),
            Ok(_) => panic!("accepted a bad petition"),
        }
    }
}
