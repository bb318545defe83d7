//! The [`Projector`] trait (a pure fold) and its type-erased form used by the runners.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::marker::PhantomData;

use seguimiento_domain::event::EVENT_TYPE_NAMES;
use seguimiento_domain::{AggregateKind, DomainEvent};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::Result;
use crate::event::ProjectedEvent;
use crate::rows::Rows;

/// A read model as a pure fold over events into keyed rows.
///
/// `apply` must be deterministic and depend only on the state and the event (no clock, no
/// I/O): the live, rebuild and as-of runners all run this same code and must agree.
pub trait Projector: Send + Sync + 'static {
    /// Stable name: the key of its rows, checkpoints and active generation in storage.
    const NAME: &'static str;
    /// One stored document (serialized as JSON per key).
    type Row: Serialize + DeserializeOwned + Clone + Debug + PartialEq + Send + Sync + 'static;

    /// The aggregate kinds whose events `apply` may fold; the events of every other kind
    /// must leave the state unchanged. Folds of one projection over the whole log (as-of
    /// views, single rebuilds) let the database skip those ([`skipped_types`]), so a new
    /// event type of a kind read here is read with no change to the projection. No
    /// default: a projection that forgot it would either skip what it folds or read the
    /// whole log for nothing. Checked by tests: folding without the skipped types equals
    /// folding everything.
    const READS: &'static [AggregateKind];

    /// Folds one event into the state.
    fn apply(rows: &mut Rows<Self::Row>, event: &ProjectedEvent) -> Result<()>;

    /// Scopes whose published figures this event may change (for change notifications,
    /// e.g. `"CABINET_AGREEMENTS"`). Default: none beyond the projection itself.
    fn scopes(_event: &ProjectedEvent) -> Vec<String> {
        Vec::new()
    }
}

/// The event types a fold that reads only the aggregate kinds `reads` lets the database
/// skip: every type the domain knows whose kind is not read. Only known types are listed,
/// so an event of a type the domain does not know is still read, and refused by the
/// decoder, never silently dropped.
pub fn skipped_types(reads: &[AggregateKind]) -> Vec<&'static str> {
    EVENT_TYPE_NAMES
        .iter()
        .copied()
        .filter(|t| DomainEvent::kind_of_type(t).is_some_and(|kind| !reads.contains(&kind)))
        .collect()
}

/// Folds a sequence of events into a fresh state (the pure, in-memory runner).
pub fn fold<'a, P: Projector>(
    events: impl IntoIterator<Item = &'a ProjectedEvent>,
) -> Result<Rows<P::Row>> {
    let mut rows = Rows::new();
    for ev in events {
        P::apply(&mut rows, ev)?;
    }
    rows.take_dirty();
    Ok(rows)
}

/// Decodes stored rows (key → JSON text) into typed state.
pub fn rows_from_docs<P: Projector>(docs: Vec<(String, String)>) -> Result<Rows<P::Row>> {
    let mut map = BTreeMap::new();
    for (k, doc) in docs {
        map.insert(k, serde_json::from_str(&doc)?);
    }
    Ok(Rows::from_map(map))
}

/// One pending write of a runner: upsert `Some(doc)` or delete `None`.
pub type RowChange = (String, Option<String>);

/// A projector behind a vtable, so runners handle every registered projection alike.
pub trait DynProjector: Send + Sync {
    fn name(&self) -> &'static str;
    /// [`Projector::READS`].
    fn reads(&self) -> &'static [AggregateKind];
    /// Empty state (position 0).
    fn empty(&self) -> Box<dyn DynState>;
    /// State loaded from stored rows.
    fn load(&self, docs: Vec<(String, String)>) -> Result<Box<dyn DynState>>;
}

/// Type-erased fold state.
pub trait DynState: Send {
    fn apply(&mut self, event: &ProjectedEvent) -> Result<()>;
    fn scopes(&self, event: &ProjectedEvent) -> Vec<String>;
    /// Serialized changes since the last call.
    fn drain_changes(&mut self) -> Result<Vec<RowChange>>;
    /// Every row serialized (for comparisons and full writes).
    fn docs(&self) -> Result<BTreeMap<String, String>>;
}

/// The [`DynProjector`] of a [`Projector`] type.
pub struct Erased<P: Projector>(PhantomData<fn() -> P>);

/// Boxes a projector for the registry.
pub fn erase<P: Projector>() -> Box<dyn DynProjector> {
    Box::new(Erased::<P>(PhantomData))
}

struct TypedState<P: Projector> {
    rows: Rows<P::Row>,
}

impl<P: Projector> DynProjector for Erased<P> {
    fn name(&self) -> &'static str {
        P::NAME
    }
    fn reads(&self) -> &'static [AggregateKind] {
        P::READS
    }
    fn empty(&self) -> Box<dyn DynState> {
        Box::new(TypedState::<P> { rows: Rows::new() })
    }
    fn load(&self, docs: Vec<(String, String)>) -> Result<Box<dyn DynState>> {
        Ok(Box::new(TypedState::<P> {
            rows: rows_from_docs::<P>(docs)?,
        }))
    }
}

impl<P: Projector> DynState for TypedState<P> {
    fn apply(&mut self, event: &ProjectedEvent) -> Result<()> {
        P::apply(&mut self.rows, event)
    }
    fn scopes(&self, event: &ProjectedEvent) -> Vec<String> {
        P::scopes(event)
    }
    fn drain_changes(&mut self) -> Result<Vec<RowChange>> {
        let dirty = self.rows.take_dirty();
        let mut out = Vec::with_capacity(dirty.len());
        for key in dirty {
            let doc = match self.rows.get(&key) {
                Some(row) => Some(serde_json::to_string(row)?),
                None => None,
            };
            out.push((key, doc));
        }
        Ok(out)
    }
    fn docs(&self) -> Result<BTreeMap<String, String>> {
        self.rows
            .iter()
            .map(|(k, v)| Ok((k.clone(), serde_json::to_string(v)?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fold_skips_exactly_the_known_types_of_the_kinds_it_does_not_read() {
        assert!(skipped_types(AggregateKind::ALL).is_empty());
        assert_eq!(skipped_types(&[]), EVENT_TYPE_NAMES);
        let letters = skipped_types(&[AggregateKind::Letter]);
        for t in EVENT_TYPE_NAMES {
            let letter = DomainEvent::kind_of_type(t) == Some(AggregateKind::Letter);
            assert_eq!(letters.contains(t), !letter, "{t}");
        }
    }
}
