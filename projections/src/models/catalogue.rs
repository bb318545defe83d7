//! Catalogue entries as a projection keeps them: the labels and the order its report
//! lists codes in, folded from the catalogue events of the `agencies` stream, so a past
//! view shows the labels of its date. A projection stores them as one of its own row
//! variants, under `entry/<CATALOGUE>/<code>`.

use std::ops::Bound;

use seguimiento_domain::catalogue::Catalogue;
use seguimiento_domain::DomainEvent;
use serde::{Deserialize, Serialize};

use crate::rows::Rows;

/// One entry of a catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryDoc {
    pub catalogue: Catalogue,
    pub code: String,
    pub label: String,
    /// Registration order within its catalogue, from 0: the order reports list it in.
    pub position: u32,
    pub active: bool,
}

/// A code with its label and a count, in a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CodeCount {
    pub code: String,
    /// The catalogue's label; the code itself for a code the catalogue does not hold.
    pub label: String,
    pub count: u64,
}

fn prefix(catalogue: Catalogue) -> String {
    format!("entry/{}/", catalogue.code())
}

/// How a projection's row type holds an [`EntryDoc`].
pub trait HoldsEntries: Sized {
    fn wrap(entry: EntryDoc) -> Self;
    fn entry(&self) -> Option<&EntryDoc>;
    fn entry_mut(&mut self) -> Option<&mut EntryDoc>;
}

/// Implements [`HoldsEntries`] for a row enum whose variant `$variant(EntryDoc)` holds them.
macro_rules! holds_entries {
    ($row:ident :: $variant:ident) => {
        impl $crate::models::catalogue::HoldsEntries for $row {
            fn wrap(entry: EntryDoc) -> Self {
                $row::$variant(entry)
            }
            fn entry(&self) -> Option<&EntryDoc> {
                match self {
                    $row::$variant(e) => Some(e),
                    _ => None,
                }
            }
            fn entry_mut(&mut self) -> Option<&mut EntryDoc> {
                match self {
                    $row::$variant(e) => Some(e),
                    _ => None,
                }
            }
        }
    };
}
pub(crate) use holds_entries;

/// Folds a catalogue event of one of `kept` into `rows`; other events leave them as they
/// are.
pub fn apply<R: HoldsEntries>(rows: &mut Rows<R>, event: &DomainEvent, kept: &[Catalogue]) {
    match event {
        DomainEvent::CatalogueEntryRegistered {
            catalogue,
            code,
            label,
        } if kept.contains(catalogue) => {
            let key = format!("{}{code}", prefix(*catalogue));
            if rows.contains(&key) {
                return;
            }
            let position =
                u32::try_from(rows.with_prefix(&prefix(*catalogue)).count()).unwrap_or(u32::MAX);
            rows.insert(
                key,
                R::wrap(EntryDoc {
                    catalogue: *catalogue,
                    code: code.clone(),
                    label: label.clone(),
                    position,
                    active: true,
                }),
            );
        }
        DomainEvent::CatalogueEntryRenamed {
            catalogue,
            code,
            label,
        } => update(rows, kept, *catalogue, code, |e| e.label.clone_from(label)),
        DomainEvent::CatalogueEntryRetired { catalogue, code } => {
            update(rows, kept, *catalogue, code, |e| e.active = false);
        }
        _ => {}
    }
}

/// Changes the kept entry `code` of `catalogue`, when there is one.
fn update<R: HoldsEntries>(
    rows: &mut Rows<R>,
    kept: &[Catalogue],
    catalogue: Catalogue,
    code: &str,
    change: impl FnOnce(&mut EntryDoc),
) {
    if kept.contains(&catalogue) {
        let key = format!("{}{code}", prefix(catalogue));
        if let Some(e) = rows.get_mut(&key).and_then(R::entry_mut) {
            change(e);
        }
    }
}

/// The entries of `catalogue` in report order.
pub fn entries<R: HoldsEntries>(rows: &Rows<R>, catalogue: Catalogue) -> Vec<&EntryDoc> {
    let prefix = prefix(catalogue);
    let mut out: Vec<&EntryDoc> = rows
        .as_map()
        .range::<str, _>((Bound::Included(prefix.as_str()), Bound::Unbounded))
        .take_while(|(k, _)| k.starts_with(&prefix))
        .filter_map(|(_, r)| r.entry())
        .collect();
    out.sort_by_key(|e| e.position);
    out
}

/// Counts by code in catalogue order: every entry of the catalogue (zeros included),
/// then codes the catalogue does not hold (stored before it was seeded) in code order,
/// labelled with the code.
pub fn in_catalogue_order<'a>(
    entries: &[&EntryDoc],
    counts: impl IntoIterator<Item = (&'a str, u64)>,
) -> Vec<CodeCount> {
    let mut out: Vec<CodeCount> = entries
        .iter()
        .map(|e| CodeCount {
            code: e.code.clone(),
            label: e.label.clone(),
            count: 0,
        })
        .collect();
    let mut extra: Vec<CodeCount> = Vec::new();
    for (code, count) in counts {
        match out.iter_mut().find(|c| c.code == code) {
            Some(c) => c.count += count,
            None => extra.push(CodeCount {
                code: code.to_owned(),
                label: code.to_owned(),
                count,
            }),
        }
    }
    extra.sort_by(|a, b| a.code.cmp(&b.code));
    out.extend(extra);
    out
}
