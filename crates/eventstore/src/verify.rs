//! Hash-chain verification.

use std::collections::HashMap;

use crate::error::StoreError;
use crate::row::{fetch_page, Cursor, Fields, Source, StoredRow};
use crate::store::PAGE;
use crate::types::{BrokenLink, LogFilter, VerifyReport};

fn broken(row: &StoredRow, reason: String) -> Option<BrokenLink> {
    Some(BrokenLink {
        stream: row.stream.clone(),
        version: row.version,
        position: row.position,
        reason,
    })
}

/// Checks one row against the previous event of its stream (`None` if it should be first).
fn check_row(row: &StoredRow, prev: Option<(u64, &str)>) -> Option<BrokenLink> {
    let (expected_version, expected_prev) = match prev {
        None => (0, ""),
        Some((v, h)) => (v + 1, h),
    };
    if row.version != expected_version {
        return broken(
            row,
            format!(
                "version gap: expected version {expected_version}, found {}",
                row.version
            ),
        );
    }
    if row.prev_hash != expected_prev {
        return broken(
            row,
            format!(
                "prev_hash {:?} does not match the previous event's hash {:?}",
                row.prev_hash, expected_prev
            ),
        );
    }
    let recomputed = row.recompute_hash();
    if row.hash != recomputed {
        return broken(
            row,
            format!(
                "stored hash {} does not match recomputed hash {recomputed}",
                row.hash
            ),
        );
    }
    None
}

pub(crate) async fn verify(
    source: Source<'_>,
    stream: Option<&str>,
) -> Result<VerifyReport, StoreError> {
    let mut cursor = match stream {
        Some(s) => Cursor::Stream {
            stream: s.to_owned(),
            from_version: 0,
        },
        None => Cursor::All { after: 0 },
    };
    // Last (version, hash) per stream seen so far.
    let mut last: HashMap<String, (u64, String)> = HashMap::new();
    let mut last_position = 0u64;
    let mut checked = 0u64;
    loop {
        let rows = fetch_page(source, &cursor, LogFilter::default(), PAGE, Fields::All).await?;
        let Some(tail) = rows.last() else {
            break;
        };
        let next = cursor.after_row(tail);
        let full = rows.len() >= PAGE;
        for row in rows {
            checked += 1;
            if stream.is_none() && row.position != last_position + 1 {
                return Ok(VerifyReport {
                    events_checked: checked,
                    first_broken: broken(
                        &row,
                        format!(
                            "position gap: expected position {}, found {}",
                            last_position + 1,
                            row.position
                        ),
                    ),
                });
            }
            last_position = row.position;
            let prev = last.get(&row.stream).map(|(v, h)| (*v, h.as_str()));
            if let Some(b) = check_row(&row, prev) {
                return Ok(VerifyReport {
                    events_checked: checked,
                    first_broken: Some(b),
                });
            }
            last.insert(row.stream.clone(), (row.version, row.hash));
        }
        if !full {
            break;
        }
        cursor = next;
    }
    Ok(VerifyReport {
        events_checked: checked,
        first_broken: None,
    })
}
