//! Cache of serialized responses to pure read-model queries.
//!
//! A query is *cacheable* when everything it read is named by a version this process can
//! check without running it: the live read models it read, each at a (generation,
//! checkpoint), and the business date ("today", in Sonora) when it used the clock.
//! Resolvers record those dependencies into a per-request [`Recorder`] *before* reading,
//! so an answer is never older than the versions it is filed under. Anything else makes
//! the request uncacheable:
//! - every root field that is not in [`CACHEABLE_ROOT_FIELDS`] (mutations,
//!   subscriptions, introspection, `history`, `verify`, records read from the log,
//!   `petition` and its personal data, the agency catalog, which is read from the log),
//!   enforced by [`DependencyGuard`] so a new resolver is uncacheable until it says
//!   otherwise;
//! - `asOf` / `effectiveAt` views: they fold the log, whose every append could change
//!   them (only live answers are cached);
//! - nested fields reading the agency catalog (`agencies`, `agency`, `sectorHead`).
//!
//! Only answers without errors are kept. An entry is keyed by the caller's role and
//! agency and the exact request body (query, variables, operation name), and is served
//! while every recorded dependency still has the recorded version: a hit costs a hash of
//! the body and a comparison against [`seguimiento_projections::live_version`] (no
//! statement while the projection stands still, see its bounded staleness) — no GraphQL
//! parsing, validation nor execution. Bounded in entries and bytes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection};
use async_graphql::Variables;
use async_graphql::{Context, ServerResult};
use axum::body::Bytes;
use chrono::NaiveDate;
use seguimiento_app::{Principal, Role};
use seguimiento_eventstore::EventStore;
use seguimiento_projections::models::semaforo;
use seguimiento_projections::{live_version, View};

use crate::error::ApiResult;

/// Root query fields whose resolvers record their dependencies; every other root field
/// makes the request uncacheable (`__typename` never reaches extensions and reads
/// nothing).
pub const CACHEABLE_ROOT_FIELDS: &[&str] = &[
    "compliance",
    "complianceExplain",
    "cabinetReport",
    "commitments",
    "correspondenceMonthly",
    "correspondenceByAgency",
    "petitionsMonthly",
];

/// What an answer depended on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Dependencies {
    /// Live read models read, with the (generation, checkpoint) seen before reading.
    projections: Vec<(&'static str, Option<(i64, u64)>)>,
    /// The business date used as "today", when the answer used the clock.
    today: Option<NaiveDate>,
}

#[derive(Debug, Default)]
struct Recording {
    uncacheable: bool,
    dependencies: Dependencies,
    /// Every read model read, live or not (to say when one of them is stopped).
    read: Vec<&'static str>,
}

/// Per-request record of dependencies (request data, see the module documentation);
/// clones share the record.
#[derive(Debug, Default, Clone)]
pub struct Recorder(Arc<Mutex<Recording>>);

impl Recorder {
    /// Marks the request as one whose answer must not be cached.
    pub fn uncacheable(&self) {
        if let Ok(mut r) = self.0.lock() {
            r.uncacheable = true;
        }
    }

    fn projection(&self, name: &'static str, version: Option<(i64, u64)>) {
        let Ok(mut guard) = self.0.lock() else {
            return;
        };
        let r = &mut *guard;
        let seen = r
            .dependencies
            .projections
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v);
        match seen {
            // Two reads of one projection saw different versions: the answer mixes them,
            // so no single version describes it.
            Some(seen) if seen != version => r.uncacheable = true,
            Some(_) => {}
            None => r.dependencies.projections.push((name, version)),
        }
    }

    fn today(&self, date: NaiveDate) {
        let Ok(mut guard) = self.0.lock() else {
            return;
        };
        let r = &mut *guard;
        match r.dependencies.today {
            Some(seen) if seen != date => r.uncacheable = true,
            _ => r.dependencies.today = Some(date),
        }
    }

    /// The read models the answer read.
    pub fn read(&self) -> Vec<&'static str> {
        self.0.lock().map(|r| r.read.clone()).unwrap_or_default()
    }

    fn reads(&self, name: &'static str) {
        if let Ok(mut r) = self.0.lock() {
            if !r.read.contains(&name) {
                r.read.push(name);
            }
        }
    }

    /// The dependencies, when the answer may be cached.
    fn finish(&self) -> Option<Dependencies> {
        let r = self.0.lock().ok()?;
        (!r.uncacheable).then(|| r.dependencies.clone())
    }
}

/// Marks the current request uncacheable (for resolvers reading anything but a live
/// read model).
pub fn uncacheable(ctx: &Context<'_>) {
    if let Some(r) = ctx.data_opt::<Recorder>() {
        r.uncacheable();
    }
}

/// Records, before the resolver reads it, that the answer depends on projection `name`
/// seen through `view`: its current version when live; uncacheable otherwise (an as-of
/// or effective-at view folds the log).
pub async fn depends_on(
    ctx: &Context<'_>,
    store: &EventStore,
    name: &'static str,
    view: View,
) -> ApiResult<()> {
    let Some(recorder) = ctx.data_opt::<Recorder>() else {
        return Ok(());
    };
    recorder.reads(name);
    if !view.is_live() {
        recorder.uncacheable();
        return Ok(());
    }
    let version = live_version(store, name).await?;
    recorder.projection(name, version);
    Ok(())
}

/// Records that the answer uses today's business date (live semáforos judge "overdue"
/// on it).
pub fn depends_on_today(ctx: &Context<'_>, view: View) {
    if let Some(recorder) = ctx.data_opt::<Recorder>() {
        recorder.today(semaforo::default_date(view));
    }
}

/// Makes every request whose root fields are not all in [`CACHEABLE_ROOT_FIELDS`] (of
/// the query root) uncacheable, so a resolver added later is uncacheable until it
/// records what it reads and is listed.
pub struct DependencyGuard;

impl ExtensionFactory for DependencyGuard {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(DependencyGuardExtension)
    }
}

struct DependencyGuardExtension;

// The check runs once per request on the parsed document (not in a per-field `resolve`
// hook: wrapping every field resolution slowed nested lists enough to split DataLoader
// batches).
#[async_trait::async_trait]
impl Extension for DependencyGuardExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        if !only_cacheable_root_fields(&document) {
            if let Some(r) = ctx.data_opt::<Recorder>() {
                r.uncacheable();
            }
        }
        Ok(document)
    }
}

/// Whether every operation of the document is a query whose root selections are all
/// fields in [`CACHEABLE_ROOT_FIELDS`] (or `__typename`). Fragments at the root are
/// refused rather than followed: conservative, and no client of the reports needs them.
fn only_cacheable_root_fields(document: &ExecutableDocument) -> bool {
    document.operations.iter().all(|(_, op)| {
        op.node.ty == OperationType::Query
            && op
                .node
                .selection_set
                .node
                .items
                .iter()
                .all(|sel| match &sel.node {
                    Selection::Field(f) => {
                        let name = f.node.name.node.as_str();
                        name == "__typename" || CACHEABLE_ROOT_FIELDS.contains(&name)
                    }
                    _ => false,
                })
    })
}

/// Who is asking, as far as a cached answer may differ: role and agency.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    role: Role,
    agency: Option<String>,
    body: Bytes,
}

impl Key {
    fn new(principal: &Principal, body: &Bytes) -> Key {
        Key {
            role: principal.role,
            agency: principal.agency.clone(),
            body: body.clone(),
        }
    }
}

#[derive(Debug)]
struct Entry {
    body: Bytes,
    dependencies: Dependencies,
    weight: u64,
}

/// Bytes an entry is charged beyond its key and body (bookkeeping).
const ENTRY_OVERHEAD: u64 = 128;

#[derive(Debug, Clone)]
struct Weigh {
    /// Least weight of an entry, so the byte budget also bounds the number of entries.
    min: u64,
}

impl quick_cache::Weighter<Key, Arc<Entry>> for Weigh {
    fn weight(&self, _key: &Key, entry: &Arc<Entry>) -> u64 {
        entry.weight.max(self.min)
    }
}

/// The response cache of one server.
pub struct ResponseCache {
    entries: quick_cache::sync::Cache<Key, Arc<Entry>, Weigh>,
    max_bytes: u64,
    hits: AtomicU64,
    stored: AtomicU64,
}

impl std::fmt::Debug for ResponseCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseCache")
            .field("entries", &self.entries.len())
            .field("hits", &self.hits())
            .finish()
    }
}

impl ResponseCache {
    /// A cache of at most `max_entries` answers and `max_bytes` bytes (keys included);
    /// `None` when either is zero (disabled).
    pub fn new(max_entries: usize, max_bytes: usize) -> Option<ResponseCache> {
        if max_entries == 0 || max_bytes == 0 {
            return None;
        }
        let max_bytes = u64::try_from(max_bytes).unwrap_or(u64::MAX);
        let entries_u64 = u64::try_from(max_entries).unwrap_or(u64::MAX);
        let weigh = Weigh {
            min: (max_bytes / entries_u64).max(1),
        };
        Some(ResponseCache {
            entries: quick_cache::sync::Cache::with_weighter(max_entries, max_bytes, weigh),
            max_bytes,
            hits: AtomicU64::new(0),
            stored: AtomicU64::new(0),
        })
    }

    /// The cached answer to `body` from `principal`, if every dependency it recorded
    /// still has the recorded version.
    pub async fn get(
        &self,
        store: &EventStore,
        principal: &Principal,
        body: &Bytes,
    ) -> Option<Bytes> {
        let key = Key::new(principal, body);
        let entry = self.entries.get(&key)?;
        if !current(store, &entry.dependencies).await {
            // Left in place: the next answer to this request replaces it.
            return None;
        }
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(entry.body.clone())
    }

    /// Keeps `answer` to `body` from `principal` if the request recorded it cacheable.
    pub fn put(&self, principal: &Principal, body: &Bytes, recorder: &Recorder, answer: &Bytes) {
        let Some(dependencies) = recorder.finish() else {
            return;
        };
        let key = Key::new(principal, body);
        let len = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        let weight = len(answer.len())
            .saturating_add(len(body.len()))
            .saturating_add(ENTRY_OVERHEAD);
        if weight > self.max_bytes {
            return;
        }
        let entry = Arc::new(Entry {
            body: answer.clone(),
            dependencies,
            weight,
        });
        self.entries.insert(key, entry);
        self.stored.fetch_add(1, Ordering::Relaxed);
    }

    /// Answers served from the cache so far.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Answers stored so far.
    pub fn stored(&self) -> u64 {
        self.stored.load(Ordering::Relaxed)
    }
}

/// Whether every dependency still has its recorded version (a failed check is a miss).
async fn current(store: &EventStore, deps: &Dependencies) -> bool {
    for &(name, version) in &deps.projections {
        match live_version(store, name).await {
            Ok(now) if now == version => {}
            _ => return false,
        }
    }
    deps.today
        .is_none_or(|d| d == semaforo::default_date(View::LIVE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_versions_of_one_projection_are_uncacheable() {
        let r = Recorder::default();
        r.projection("compliance", Some((1, 10)));
        r.projection("compliance", Some((1, 10)));
        assert!(r.finish().is_some());
        r.projection("compliance", Some((1, 11)));
        assert!(r.finish().is_none());
    }

    #[test]
    fn an_explicit_mark_makes_a_request_uncacheable() {
        let r = Recorder::default();
        r.projection("compliance", Some((1, 10)));
        r.uncacheable();
        assert!(r.finish().is_none());
    }

    #[test]
    fn a_zero_budget_disables_the_cache() {
        assert!(ResponseCache::new(0, 1024).is_none());
        assert!(ResponseCache::new(10, 0).is_none());
    }

    #[test]
    fn an_answer_larger_than_the_budget_is_not_kept() {
        let cache = ResponseCache::new(10, 1024).expect("enabled");
        let who = Principal::system("t");
        let body = Bytes::from_static(b"{\"query\":\"{ compliance }\"}");
        let r = Recorder::default();
        cache.put(&who, &body, &r, &Bytes::from(vec![b'x'; 2048]));
        assert_eq!(cache.stored(), 0);
        cache.put(&who, &body, &r, &Bytes::from_static(b"{}"));
        assert_eq!(cache.stored(), 1);
    }
}
