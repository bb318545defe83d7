//! Read-model tables, identical on SQLite and PostgreSQL (plain runtime queries, `$n`
//! binds, JSON documents as TEXT):
//!
//! - `read_model_rows(projection, generation, key, doc)`
//! - `projection_checkpoints(projection, generation, position)`
//! - `projection_active(projection, generation)`
//! - `projection_faults(projection, position, error)`: the event a live runner stopped
//!   at, because it could not fold or store it (see [`crate::runner::live`])
//!
//! The tables come with migrations `0100_projections.sql` and
//! `0101_projection_faults.sql`; [`ensure_schema`] creates them
//! too (`IF NOT EXISTS`) in case the store was migrated by an older binary.

use std::sync::atomic::{AtomicU64, Ordering};

use seguimiento_eventstore::{on_pool, DbPool, EventStore};

use crate::error::{ProjectionError, Result};
use crate::projector::RowChange;

/// Checkpoint and generation changes made through a store handle ([`EventStore::shared`]).
#[derive(Default)]
struct Moves(AtomicU64);

/// Tells live readers of `store` that a projection's stored checkpoint or active
/// generation may have changed: called after every flush and initialization, before the
/// live runner reports its progress, so read-your-writes holds.
pub fn live_rows_moved(store: &EventStore) {
    store.shared::<Moves>().0.fetch_add(1, Ordering::AcqRel);
}

/// How many moves [`live_rows_moved`] has counted on `store`: a live reader trusts the
/// version it last read only while this stays the same.
pub fn moves(store: &EventStore) -> u64 {
    store.shared::<Moves>().0.load(Ordering::Acquire)
}

const SCHEMA: [&str; 4] = [
    "CREATE TABLE IF NOT EXISTS read_model_rows (
        projection TEXT NOT NULL, generation BIGINT NOT NULL, key TEXT NOT NULL,
        doc TEXT NOT NULL, PRIMARY KEY (projection, generation, key))",
    "CREATE TABLE IF NOT EXISTS projection_checkpoints (
        projection TEXT NOT NULL, generation BIGINT NOT NULL, position BIGINT NOT NULL,
        PRIMARY KEY (projection, generation))",
    "CREATE TABLE IF NOT EXISTS projection_active (
        projection TEXT PRIMARY KEY NOT NULL, generation BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS projection_faults (
        projection TEXT PRIMARY KEY NOT NULL, position BIGINT NOT NULL, error TEXT NOT NULL)",
];

const UPSERT_ROWS: &str = "INSERT INTO read_model_rows (projection, generation, key, doc) ";
const UPSERT_CONFLICT: &str =
    " ON CONFLICT (projection, generation, key) DO UPDATE SET doc = excluded.doc";
const DELETE_ROWS: &str = "DELETE FROM read_model_rows WHERE projection = ";
/// Rows per multi-row statement: 4 binds each stays far below both backends' parameter
/// limits (SQLite 32,766; PostgreSQL 65,535).
const ROWS_PER_STATEMENT: usize = 1_000;
const CAS_CHECKPOINT: &str = "UPDATE projection_checkpoints SET position = $3 \
     WHERE projection = $1 AND generation = $2 AND position = $4";

/// Creates the read-model tables when missing.
pub async fn ensure_schema(pool: &DbPool) -> Result<()> {
    for stmt in SCHEMA {
        on_pool!(pool, |p| sqlx::query(stmt).execute(p).await.map(|_| ()))?;
    }
    Ok(())
}

/// Records that `projection` stopped at the event at `position` (replacing an earlier
/// record). `error` names positions and event types, never payloads.
pub async fn record_fault(
    pool: &DbPool,
    projection: &str,
    position: u64,
    error: &str,
) -> Result<()> {
    let sql = "INSERT INTO projection_faults (projection, position, error) VALUES ($1, $2, $3) \
               ON CONFLICT (projection) DO UPDATE SET position = excluded.position, \
               error = excluded.error";
    let position = i64::try_from(position).unwrap_or(i64::MAX);
    on_pool!(pool, |p| sqlx::query(sql)
        .bind(projection)
        .bind(position)
        .bind(error)
        .execute(p)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// Forgets the fault of `projection` (it folded past it).
pub async fn clear_fault(pool: &DbPool, projection: &str) -> Result<()> {
    let sql = "DELETE FROM projection_faults WHERE projection = $1";
    on_pool!(pool, |p| sqlx::query(sql)
        .bind(projection)
        .execute(p)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// Where `projection` stopped and why, if it did.
pub async fn fault(pool: &DbPool, projection: &str) -> Result<Option<(u64, String)>> {
    let sql = "SELECT position, error FROM projection_faults WHERE projection = $1";
    let row: Option<(i64, String)> = on_pool!(pool, |p| sqlx::query_as(sql)
        .bind(projection)
        .fetch_optional(p)
        .await)?;
    Ok(row.map(|(position, error)| (u64::try_from(position).unwrap_or(0), error)))
}

/// The generation a projection serves, if it was ever initialized.
pub async fn active_generation(pool: &DbPool, projection: &str) -> Result<Option<i64>> {
    let sql = "SELECT generation FROM projection_active WHERE projection = $1";
    let g: Option<(i64,)> = on_pool!(pool, |p| sqlx::query_as(sql)
        .bind(projection)
        .fetch_optional(p)
        .await)?;
    Ok(g.map(|(g,)| g))
}

/// Makes sure the projection has an active generation (1, at position 0, when new) and
/// returns it.
pub async fn init_projection(store: &EventStore, projection: &str) -> Result<i64> {
    let pool = store.pool();
    ensure_schema(pool).await?;
    if let Some(g) = active_generation(pool, projection).await? {
        return Ok(g);
    }
    let cp = "INSERT INTO projection_checkpoints (projection, generation, position) \
              VALUES ($1, 1, 0) ON CONFLICT (projection, generation) DO NOTHING";
    let act = "INSERT INTO projection_active (projection, generation) VALUES ($1, 1) \
               ON CONFLICT (projection) DO NOTHING";
    let created = on_pool!(pool, |p| {
        let mut tx = p.begin().await?;
        sqlx::query(cp).bind(projection).execute(&mut *tx).await?;
        sqlx::query(act).bind(projection).execute(&mut *tx).await?;
        tx.commit().await
    });
    live_rows_moved(store);
    created?;
    active_generation(pool, projection)
        .await?
        .ok_or_else(|| ProjectionError::UnknownProjection(projection.to_owned()))
}

/// The checkpoint (last folded position) of a generation; 0 when none is stored.
pub async fn checkpoint(pool: &DbPool, projection: &str, generation: i64) -> Result<u64> {
    let sql =
        "SELECT position FROM projection_checkpoints WHERE projection = $1 AND generation = $2";
    let pos: Option<(i64,)> = on_pool!(pool, |p| sqlx::query_as(sql)
        .bind(projection)
        .bind(generation)
        .fetch_optional(p)
        .await)?;
    Ok(pos.map_or(0, |(p,)| u64::try_from(p).unwrap_or(0)))
}

/// Every stored document of a generation, by key.
pub async fn load_docs(
    pool: &DbPool,
    projection: &str,
    generation: i64,
) -> Result<Vec<(String, String)>> {
    let sql = "SELECT key, doc FROM read_model_rows WHERE projection = $1 AND generation = $2 \
               ORDER BY key";
    let rows: Vec<(String, String)> = on_pool!(pool, |p| sqlx::query_as(sql)
        .bind(projection)
        .bind(generation)
        .fetch_all(p)
        .await)?;
    Ok(rows)
}

/// Documents of the active generation whose key starts with `prefix` (for point queries).
pub async fn load_active_prefix(
    pool: &DbPool,
    projection: &str,
    prefix: &str,
) -> Result<Vec<(String, String)>> {
    let sql = "SELECT r.key, r.doc FROM read_model_rows r JOIN projection_active a \
               ON a.projection = r.projection AND a.generation = r.generation \
               WHERE r.projection = $1 AND r.key >= $2 AND r.key < $3 ORDER BY r.key";
    let upper = format!("{prefix}\u{10FFFF}");
    let rows: Vec<(String, String)> = on_pool!(pool, |p| sqlx::query_as(sql)
        .bind(projection)
        .bind(prefix)
        .bind(&upper)
        .fetch_all(p)
        .await)?;
    Ok(rows)
}

/// The active generation with its checkpoint and documents, read in one transaction so
/// the documents match the checkpoint. `None` when the projection was never initialized.
pub async fn load_active(
    pool: &DbPool,
    projection: &str,
) -> Result<Option<(i64, u64, Vec<(String, String)>)>> {
    let gen_sql = "SELECT generation FROM projection_active WHERE projection = $1";
    let cp_sql =
        "SELECT position FROM projection_checkpoints WHERE projection = $1 AND generation = $2";
    let rows_sql = "SELECT key, doc FROM read_model_rows WHERE projection = $1 \
                    AND generation = $2 ORDER BY key";
    on_pool!(pool, |p| {
        let mut tx = p.begin().await?;
        let g: Option<(i64,)> = sqlx::query_as(gen_sql)
            .bind(projection)
            .fetch_optional(&mut *tx)
            .await?;
        let Some((g,)) = g else {
            tx.rollback().await?;
            return Ok(None);
        };
        let cp: Option<(i64,)> = sqlx::query_as(cp_sql)
            .bind(projection)
            .bind(g)
            .fetch_optional(&mut *tx)
            .await?;
        let docs: Vec<(String, String)> = sqlx::query_as(rows_sql)
            .bind(projection)
            .bind(g)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some((
            g,
            cp.map_or(0, |(c,)| u64::try_from(c).unwrap_or(0)),
            docs,
        )))
    })
}

/// The active generation of a projection and its checkpoint, in one statement: what a
/// cached copy of the rows must match to still be current.
pub async fn active_checkpoint(pool: &DbPool, projection: &str) -> Result<Option<(i64, u64)>> {
    let sql = "SELECT a.generation, c.position FROM projection_active a \
               JOIN projection_checkpoints c \
               ON c.projection = a.projection AND c.generation = a.generation \
               WHERE a.projection = $1";
    let row: Option<(i64, i64)> = on_pool!(pool, |p| sqlx::query_as(sql)
        .bind(projection)
        .fetch_optional(p)
        .await)?;
    Ok(row.map(|(g, c)| (g, u64::try_from(c).unwrap_or(0))))
}

/// What a flush should check before writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// The generation must still be the active one (live runner).
    MustBeActive,
    /// A generation being built, not served yet (rebuild).
    Building,
    /// Write, then make this generation the active one (rebuild's switch).
    Activate,
}

/// Writes changed rows and moves the checkpoint of one generation from `from` to
/// `position`, in ONE transaction.
///
/// The checkpoint move is a compare-and-set: when the stored checkpoint is not `from`
/// (another writer, e.g. a runner killed mid-flush whose transaction still committed,
/// or a second process) nothing is written and [`ProjectionError::CheckpointMoved`] is
/// returned, so folded state is never written on top of rows it does not derive from.
/// With [`Guard::MustBeActive`] the active pointer is read first (locked on PostgreSQL);
/// when another generation became active nothing is written and
/// [`ProjectionError::GenerationSwitched`] is returned.
pub async fn flush(
    store: &EventStore,
    projection: &str,
    generation: i64,
    changes: &[RowChange],
    from: u64,
    position: u64,
    guard: Guard,
) -> Result<()> {
    let pool = store.pool();
    let overflow = |_| ProjectionError::InvalidArgument("position overflows i64".into());
    let position = i64::try_from(position).map_err(overflow)?;
    let from = i64::try_from(from).map_err(overflow)?;
    let lock_sql = match pool {
        DbPool::Postgres(_) => {
            "SELECT generation FROM projection_active WHERE projection = $1 FOR UPDATE"
        }
        DbPool::Sqlite(_) => "SELECT generation FROM projection_active WHERE projection = $1",
    };
    // SQLite: take the write lock up front so the read-then-write below cannot fail with
    // a stale snapshot when another writer commits in between.
    let begin = match pool {
        DbPool::Postgres(_) => "BEGIN",
        DbPool::Sqlite(_) => "BEGIN IMMEDIATE",
    };
    let activate = "INSERT INTO projection_active (projection, generation) VALUES ($1, $2) \
                    ON CONFLICT (projection) DO UPDATE SET generation = excluded.generation";
    let upserts: Vec<(&str, &str)> = changes
        .iter()
        .filter_map(|(key, doc)| Some((key.as_str(), doc.as_deref()?)))
        .collect();
    let deletes: Vec<&str> = changes
        .iter()
        .filter(|(_, doc)| doc.is_none())
        .map(|(key, _)| key.as_str())
        .collect();
    let flushed = on_pool!(pool, |p| {
        let mut tx = p.begin_with(begin).await?;
        if guard != Guard::Building {
            let active: Option<(i64,)> = sqlx::query_as(lock_sql)
                .bind(projection)
                .fetch_optional(&mut *tx)
                .await?;
            if guard == Guard::MustBeActive {
                match active {
                    Some((g,)) if g == generation => {}
                    other => {
                        tx.rollback().await?;
                        return Err(ProjectionError::GenerationSwitched {
                            projection: projection.to_owned(),
                            active: other.map_or(0, |(g,)| g),
                        });
                    }
                }
            }
        }
        // Multi-row statements: a rebuild writes tens of thousands of rows per flush, and
        // one statement per row made the writes cost more than the folds.
        for chunk in upserts.chunks(ROWS_PER_STATEMENT) {
            let mut q = sqlx::QueryBuilder::new(UPSERT_ROWS);
            q.push_values(chunk, |mut row, (key, doc)| {
                row.push_bind(projection)
                    .push_bind(generation)
                    .push_bind(*key)
                    .push_bind(*doc);
            });
            q.push(UPSERT_CONFLICT);
            let keep = seguimiento_eventstore::keep_prepared(chunk.len() * 4);
            q.build().persistent(keep).execute(&mut *tx).await?;
        }
        for chunk in deletes.chunks(ROWS_PER_STATEMENT) {
            let mut q = sqlx::QueryBuilder::new(DELETE_ROWS);
            q.push_bind(projection)
                .push(" AND generation = ")
                .push_bind(generation)
                .push(" AND key IN (");
            let mut keys = q.separated(", ");
            for key in chunk {
                keys.push_bind(*key);
            }
            keys.push_unseparated(")");
            let keep = seguimiento_eventstore::keep_prepared(chunk.len() + 2);
            q.build().persistent(keep).execute(&mut *tx).await?;
        }
        let moved = sqlx::query(CAS_CHECKPOINT)
            .bind(projection)
            .bind(generation)
            .bind(position)
            .bind(from)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if moved != 1 {
            tx.rollback().await?;
            return Err(ProjectionError::CheckpointMoved {
                projection: projection.to_owned(),
                generation,
                expected: from,
            });
        }
        if guard == Guard::Activate {
            sqlx::query(activate)
                .bind(projection)
                .bind(generation)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    });
    // Whatever the outcome, live readers in this process re-check the checkpoint now
    // instead of trusting what they saw (see `as_of::live_version`).
    live_rows_moved(store);
    flushed
}

/// A fresh generation number (above every stored one), registered at position 0 with no
/// rows, so concurrent rebuilds never share one.
pub async fn new_generation(pool: &DbPool, projection: &str) -> Result<i64> {
    ensure_schema(pool).await?;
    let sql =
        "SELECT COALESCE(MAX(generation), 0) FROM projection_checkpoints WHERE projection = $1";
    let act = "SELECT COALESCE(MAX(generation), 0) FROM projection_active WHERE projection = $1";
    loop {
        let (a,): (i64,) = on_pool!(pool, |p| sqlx::query_as(sql)
            .bind(projection)
            .fetch_one(p)
            .await)?;
        let (b,): (i64,) = on_pool!(pool, |p| sqlx::query_as(act)
            .bind(projection)
            .fetch_one(p)
            .await)?;
        let g = a.max(b) + 1;
        let ins = "INSERT INTO projection_checkpoints (projection, generation, position) \
                   VALUES ($1, $2, 0) ON CONFLICT (projection, generation) DO NOTHING";
        let done = on_pool!(pool, |p| sqlx::query(ins)
            .bind(projection)
            .bind(g)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        if done == 1 {
            // Leftovers of an abandoned rebuild with this number cannot exist (it would
            // have a checkpoint row), but be safe.
            drop_generation(pool, projection, g, false).await?;
            return Ok(g);
        }
    }
}

/// Deletes a generation's rows (and, with `checkpoint`, its checkpoint). Refuses the
/// active generation.
pub async fn drop_generation(
    pool: &DbPool,
    projection: &str,
    generation: i64,
    checkpoint: bool,
) -> Result<()> {
    if active_generation(pool, projection).await? == Some(generation) {
        return Err(ProjectionError::InvalidArgument(format!(
            "generation {generation} of {projection} is active"
        )));
    }
    let rows = "DELETE FROM read_model_rows WHERE projection = $1 AND generation = $2";
    let cps = "DELETE FROM projection_checkpoints WHERE projection = $1 AND generation = $2";
    on_pool!(pool, |p| sqlx::query(rows)
        .bind(projection)
        .bind(generation)
        .execute(p)
        .await
        .map(|_| ()))?;
    if checkpoint {
        on_pool!(pool, |p| sqlx::query(cps)
            .bind(projection)
            .bind(generation)
            .execute(p)
            .await
            .map(|_| ()))?;
    }
    Ok(())
}

/// Generations of a projection other than the active one (left by rebuilds).
pub async fn inactive_generations(pool: &DbPool, projection: &str) -> Result<Vec<i64>> {
    let active = active_generation(pool, projection).await?;
    let sql = "SELECT generation FROM projection_checkpoints WHERE projection = $1 \
               ORDER BY generation";
    let gens: Vec<(i64,)> = on_pool!(pool, |p| sqlx::query_as(sql)
        .bind(projection)
        .fetch_all(p)
        .await)?;
    Ok(gens
        .into_iter()
        .map(|(g,)| g)
        .filter(|g| Some(*g) != active)
        .collect())
}
