//! SQL for the write path: the statement that takes the log lock, multi-row binds, the
//! `log_chain` inserts and PostgreSQL's `COPY` text format.

use sqlx::query_builder::Separated;
use sqlx::{Postgres, QueryBuilder, Sqlite};
use uuid::Uuid;

use crate::error::StoreError;
use crate::hash::{self, TsText};
use crate::row::{to_i64, StoredRow};

/// Key of the transaction-scoped advisory lock that serialises position assignment on
/// PostgreSQL (`pg_advisory_xact_lock`). Other code must not use this key.
pub const ADVISORY_LOCK_KEY: i64 = 0x5365_6775_696d_0001; // "Seguim" + 1

/// PostgreSQL `NOTIFY` channel; the payload is the new head position.
pub const NOTIFY_CHANNEL: &str = "seguimiento_events";

/// Binds per SQLite statement (its limit is 32766): lookups put up to this many ids and
/// stream names in one statement.
pub(crate) const SQLITE_MAX_BINDS: usize = 30_000;

/// Rows per SQLite multi-row INSERT (12 binds per row). Full chunks share one SQL text, so
/// sqlx prepares that statement once per connection and reuses it.
pub(crate) const SQLITE_INSERT_ROWS: usize = 2_000;

/// Rows per PostgreSQL multi-row INSERT (12 binds per row, limit 65535).
pub(crate) const PG_INSERT_ROWS: usize = 5_000;

/// Links per SQLite multi-row INSERT into `log_chain` (2 binds per row).
pub(crate) const SQLITE_LINK_ROWS: usize = 10_000;

/// Events read (and linked) per step of the log-chain back-fill.
pub(crate) const BACKFILL_CHUNK: usize = 5_000;

/// From this many rows on, PostgreSQL writes with `COPY` (no per-row binds, no statement to
/// plan); below it one `INSERT` that also notifies saves a round trip.
pub(crate) const PG_COPY_FROM_ROWS: usize = 64;

/// The statement that opens a PostgreSQL write transaction and takes the log lock in the
/// same round trip (a simple query may hold several statements).
pub(crate) fn pg_begin_and_lock() -> String {
    format!(
        "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock({ADVISORY_LOCK_KEY})"
    )
}

/// PostgreSQL: inserts the links of `$1` (positions) and `$2` (links), two arrays, in one
/// statement whatever their number.
pub(crate) const PG_INSERT_LINKS: &str =
    "INSERT INTO log_chain (position, link) SELECT * FROM unnest($1::bigint[], $2::text[])";

/// SQLite: inserts `links` at `positions` with multi-row `INSERT`s.
pub(crate) async fn insert_sqlite_links(
    conn: &mut sqlx::SqliteConnection,
    positions: &[i64],
    links: &[String],
) -> Result<(), StoreError> {
    for (ps, ls) in positions
        .chunks(SQLITE_LINK_ROWS)
        .zip(links.chunks(SQLITE_LINK_ROWS))
    {
        let mut qb = QueryBuilder::<Sqlite>::new("INSERT INTO log_chain (position, link) ");
        qb.push_values(ps.iter().zip(ls), |mut b, (p, l)| {
            b.push_bind(*p).push_bind(l.as_str());
        });
        let keep = ps.len() == SQLITE_LINK_ROWS || crate::pool::keep_prepared(ps.len() * 2);
        qb.build().persistent(keep).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Binds one row's values, in [`COLUMNS`] order, into a SQLite multi-row `VALUES`.
pub(crate) fn bind_sqlite_row<'a>(
    mut b: Separated<'_, 'a, Sqlite, &'static str>,
    (r, (pos, ver)): (&'a StoredRow, (i64, i64)),
) {
    b.push_bind(pos)
        .push_bind(r.id.hyphenated().to_string())
        .push_bind(r.stream.as_str())
        .push_bind(ver)
        .push_bind(r.event_type.as_str())
        .push_bind(r.schema_version)
        .push_bind(r.payload.as_str())
        .push_bind(r.metadata.as_str())
        .push_bind(hash::format_ts(r.recorded_at))
        .push_bind(hash::format_ts(r.effective_at))
        .push_bind(r.prev_hash.as_str())
        .push_bind(r.hash.as_str());
}

/// Binds one row's values, in [`COLUMNS`] order, into a PostgreSQL multi-row `VALUES`.
pub(crate) fn bind_pg_row<'a>(
    mut b: Separated<'_, 'a, Postgres, &'static str>,
    (r, (pos, ver)): (&'a StoredRow, (i64, i64)),
) {
    b.push_bind(pos)
        .push_bind(r.id)
        .push_bind(r.stream.as_str())
        .push_bind(ver)
        .push_bind(r.event_type.as_str())
        .push_bind(r.schema_version)
        .push_bind(r.payload.as_str())
        .push_bind(r.metadata.as_str())
        .push_bind(r.recorded_at)
        .push_bind(r.effective_at)
        .push_bind(r.prev_hash.as_str())
        .push_bind(r.hash.as_str());
}

/// (position, version) of each row as SQL integers, checked before building a statement.
pub(crate) fn sql_ints(rows: &[StoredRow]) -> Result<Vec<(i64, i64)>, StoreError> {
    rows.iter()
        .map(|r| Ok((to_i64(r.position)?, to_i64(r.version)?)))
        .collect()
}

/// Appends `s` to `out` as one field of PostgreSQL's `COPY` text format: `\`, tab, newline
/// and carriage return escaped.
pub fn copy_escape(out: &mut String, s: &str) {
    // Runs without special characters (nearly all of a JSON payload) are copied whole.
    let mut rest = s;
    // A byte scan: the four are ASCII, so never part of a multibyte character (and
    // `str::find` with a char set decodes every character on the way).
    while let Some(i) = rest
        .bytes()
        .position(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r'))
    {
        out.push_str(&rest[..i]);
        out.push_str(match rest.as_bytes()[i] {
            b'\\' => "\\\\",
            b'\t' => "\\t",
            b'\n' => "\\n",
            _ => "\\r",
        });
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
}

/// PostgreSQL `COPY` text format: tab-separated columns, one line per row, fields escaped
/// by [`copy_escape`]. Timestamps in the store's RFC 3339 format.
pub(crate) fn copy_text(rows: &[StoredRow]) -> Result<String, StoreError> {
    let mut out = String::with_capacity(rows.iter().map(|r| r.payload.len() + 400).sum());
    let (mut recorded_at, mut effective_at) = (TsText::default(), TsText::default());
    let (mut int, mut id) = (itoa::Buffer::new(), Uuid::encode_buffer());
    for r in rows {
        let (position, version) = (to_i64(r.position)?, to_i64(r.version)?);
        // Fields that need no escaping (digits, a UUID, timestamps, hex) are pushed as is.
        out.push_str(int.format(position));
        out.push('\t');
        out.push_str(r.id.hyphenated().encode_lower(&mut id));
        out.push('\t');
        copy_escape(&mut out, &r.stream);
        out.push('\t');
        out.push_str(int.format(version));
        out.push('\t');
        copy_escape(&mut out, &r.event_type);
        out.push('\t');
        out.push_str(int.format(r.schema_version));
        out.push('\t');
        copy_escape(&mut out, &r.payload);
        out.push('\t');
        copy_escape(&mut out, &r.metadata);
        out.push('\t');
        out.push_str(recorded_at.format(r.recorded_at));
        out.push('\t');
        out.push_str(effective_at.format(r.effective_at));
        out.push('\t');
        copy_escape(&mut out, &r.prev_hash);
        out.push('\t');
        copy_escape(&mut out, &r.hash);
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn copy_escape_keeps_other_text_including_multibyte_characters() {
        let mut out = String::from(">");
        copy_escape(&mut out, "año\\ñ\tü\r\n€");
        assert_eq!(out, ">año\\\\ñ\\tü\\r\\n€");
        copy_escape(&mut out, "");
        copy_escape(&mut out, "plain");
        assert_eq!(out, ">año\\\\ñ\\tü\\r\\n€plain");
    }

    #[test]
    fn copy_text_escapes_the_characters_copy_treats_specially() {
        let t = hash::truncate_micros(Utc::now());
        let row = StoredRow {
            position: 7,
            id: Uuid::nil(),
            stream: "s\t1".into(),
            version: 2,
            event_type: "T".into(),
            schema_version: 1,
            payload: "{\"a\":\"x\\\\n\ny\r\"}".into(),
            metadata: "{}".into(),
            recorded_at: t,
            effective_at: t,
            prev_hash: String::new(),
            hash: "h".into(),
        };
        let text = copy_text(std::slice::from_ref(&row)).expect("copy text");
        let fields: Vec<&str> = text.trim_end_matches('\n').split('\t').collect();
        assert_eq!(fields.len(), 12, "{text:?}");
        assert_eq!(fields[2], "s\\t1");
        assert_eq!(fields[6], "{\"a\":\"x\\\\\\\\n\\ny\\r\"}");
        assert_eq!(fields[10], "");
        assert_eq!(text.matches('\n').count(), 1);
    }
}
