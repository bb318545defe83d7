//! The one way a command becomes events to append, whatever loaded its stream: the store
//! (the application's single write path), the importer's cache of stream history, or memory
//! (the fixtures' simulator).
//!
//! A caller routes the command to its stream ([`Command::stream_id`]), loads that stream
//! and the facts of the [`Context`] its own way, checks the caller and looks for an earlier
//! application of the same command id where it has those ([`first_stored`]), then hands
//! the loaded stream to [`execute`]: the decided events, their ids and the version the
//! append expects come from here only, so every path yields the same events under the same
//! ids.

use uuid::Uuid;

use crate::{decide, ids, Command, Context, DomainError, DomainEvent};

/// A stream as some source loaded it.
#[derive(Debug, Clone, Copy)]
pub struct Loaded<'a> {
    /// Its events, oldest first.
    pub history: &'a [DomainEvent],
    /// The id of each event of `history`, in the same order: corrections name events by it.
    pub ids: &'a [Uuid],
    /// The version of its last event (`None`: the stream has no events).
    pub version: Option<u64>,
}

/// What a command decided on a loaded stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The stream's version the events were decided on (`None`: it had none): the append
    /// expects it, so a writer that got there first makes it a conflict.
    pub expected: Option<u64>,
    pub events: Vec<DomainEvent>,
    /// The id of each event of `events`, in the same order.
    pub ids: Vec<Uuid>,
}

impl Decision {
    /// The version of the first decided event (versions are 0-based and dense).
    pub fn first_version(&self) -> u64 {
        self.expected.map_or(0, |v| v + 1)
    }
}

/// Decides `command` on `stream` (the context's event ids are the stream's). The events'
/// ids derive from `command_id` when there is one ([`ids::command_event_ids`]: a retry
/// yields the same ids); without one, `fresh_id` gives the id of the event at each version,
/// by the caller's scheme.
pub fn execute(
    command: &Command,
    stream: Loaded<'_>,
    ctx: Context<'_>,
    command_id: Option<Uuid>,
    fresh_id: impl FnMut(u64) -> Uuid,
) -> Result<Decision, DomainError> {
    let events = decide(stream.history, command, &ctx.with_event_ids(stream.ids))?;
    let ids = match command_id {
        Some(id) => ids::command_event_ids(id, events.len()),
        None => {
            let first = stream.version.map_or(0, |v| v + 1);
            (first..).take(events.len()).map(fresh_id).collect()
        }
    };
    Ok(Decision {
        expected: stream.version,
        events,
        ids,
    })
}

/// Where the events of a command applied before start in a stream whose stored event ids
/// are `stored`: the position of the first of `first_ids` (the ids its first event may
/// carry, most likely first, see [`ids::first_event_id_candidates`]) found there.
pub fn first_stored(first_ids: &[Uuid], stored: &[Uuid]) -> Option<usize> {
    first_ids
        .iter()
        .find_map(|first| stored.iter().position(|id| id == first))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use crate::agency::AgencyCatalog;
    use crate::command::RegisterAgencyInput;
    use crate::Aggregate as _;
    use chrono::{TimeZone as _, Utc};

    fn register(acronym: &str) -> Command {
        Command::RegisterAgency(RegisterAgencyInput {
            acronym: acronym.into(),
            name: format!("Agency {acronym}"),
            sector_head: None,
        })
    }

    fn run(
        history: &[DomainEvent],
        ids: &[Uuid],
        command_id: Option<Uuid>,
    ) -> Result<Decision, DomainError> {
        let catalog = AgencyCatalog::from_events(history);
        let now = Utc.with_ymd_and_hms(2024, 2, 12, 12, 0, 0).unwrap();
        let stream = Loaded {
            history,
            ids,
            version: (history.len() as u64).checked_sub(1),
        };
        execute(
            &register("SEC"),
            stream,
            Context::new(&catalog, now),
            command_id,
            |v| Uuid::from_u128(u128::from(v) + 1000),
        )
    }

    #[test]
    fn a_command_with_an_id_gets_the_ids_derived_from_it() {
        let c = Uuid::from_u128(7);
        let d = run(&[], &[], Some(c)).unwrap();
        assert_eq!(d.expected, None);
        assert_eq!(d.first_version(), 0);
        assert_eq!(d.ids, ids::command_event_ids(c, d.events.len()));
    }

    #[test]
    fn without_an_id_each_event_gets_the_fresh_id_of_its_version() {
        let history = vec![DomainEvent::AgencyRegistered {
            acronym: "CEA".into(),
            name: "Agency CEA".into(),
            sector_head: None,
        }];
        let d = run(&history, &[Uuid::from_u128(1)], None).unwrap();
        assert_eq!(d.expected, Some(0));
        assert_eq!(d.first_version(), 1);
        assert_eq!(d.ids, vec![Uuid::from_u128(1001)]);
    }

    #[test]
    fn a_refused_command_decides_nothing() {
        let history = vec![DomainEvent::AgencyRegistered {
            acronym: "SEC".into(),
            name: "Agency SEC".into(),
            sector_head: None,
        }];
        assert!(run(&history, &[Uuid::from_u128(1)], None).is_err());
    }

    #[test]
    fn an_earlier_application_is_found_by_the_first_candidate_stored() {
        let (a, b, c) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        assert_eq!(first_stored(&[b, c], &[a, b, c]), Some(1));
        assert_eq!(first_stored(&[c, b], &[a, b, c]), Some(2));
        assert_eq!(first_stored(&[a], &[b, c]), None);
        assert_eq!(first_stored(&[], &[a]), None);
    }
}
