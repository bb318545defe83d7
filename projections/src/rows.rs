//! [`Rows`]: the keyed state every projector folds into (one JSON document per key).

use std::collections::{btree_map, BTreeMap, BTreeSet};

/// The fold state of a projection: rows by key, remembering which keys changed since the
/// last [`Rows::take_dirty`] so a runner writes only those.
#[derive(Debug, Clone)]
pub struct Rows<R> {
    map: BTreeMap<String, R>,
    dirty: BTreeSet<String>,
}

impl<R> Default for Rows<R> {
    fn default() -> Self {
        Rows {
            map: BTreeMap::new(),
            dirty: BTreeSet::new(),
        }
    }
}

impl<R: PartialEq> PartialEq for Rows<R> {
    /// Equality of content; dirtiness is bookkeeping.
    fn eq(&self, other: &Self) -> bool {
        self.map == other.map
    }
}

impl<R> Rows<R> {
    /// Empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// State loaded from storage (nothing dirty).
    pub fn from_map(map: BTreeMap<String, R>) -> Self {
        Rows {
            map,
            dirty: BTreeSet::new(),
        }
    }

    pub fn get(&self, key: &str) -> Option<&R> {
        self.map.get(key)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// Mutable access; marks the key dirty.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut R> {
        let row = self.map.get_mut(key)?;
        mark(&mut self.dirty, key);
        Some(row)
    }

    /// Inserts or replaces a row.
    pub fn insert(&mut self, key: impl Into<String>, row: R) {
        let key = key.into();
        mark(&mut self.dirty, &key);
        self.map.insert(key, row);
    }

    /// The row at `key`, created with `make` when missing; marks the key dirty.
    pub fn upsert_with(&mut self, key: impl Into<String>, make: impl FnOnce() -> R) -> &mut R {
        let key = key.into();
        mark(&mut self.dirty, &key);
        self.map.entry(key).or_insert_with(make)
    }

    /// Deletes a row (the runner deletes it from storage).
    pub fn remove(&mut self, key: &str) -> Option<R> {
        let old = self.map.remove(key);
        if old.is_some() {
            mark(&mut self.dirty, key);
        }
        old
    }

    pub fn iter(&self) -> btree_map::Iter<'_, String, R> {
        self.map.iter()
    }

    /// Rows whose key starts with `prefix`, in key order.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a String, &'a R)> {
        self.map
            .range(prefix.to_owned()..)
            .take_while(move |(k, _)| k.starts_with(prefix))
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The keys changed since the last call (present: upsert; absent: delete).
    pub fn take_dirty(&mut self) -> BTreeSet<String> {
        std::mem::take(&mut self.dirty)
    }

    pub fn into_map(self) -> BTreeMap<String, R> {
        self.map
    }

    pub fn as_map(&self) -> &BTreeMap<String, R> {
        &self.map
    }
}

/// Marks `key` dirty. A folded row is usually touched by many events between two writes:
/// the key is copied only the first time.
fn mark(dirty: &mut BTreeSet<String>, key: &str) {
    if !dirty.contains(key) {
        dirty.insert(key.to_owned());
    }
}
