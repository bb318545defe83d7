//! Ids that sort by time, derived deterministically.
//!
//! The log keeps unique B-tree indexes on event ids and on stream names. A random id (v4,
//! or v5 of a name) lands each insert on a random leaf page: once an index outgrows the
//! pages one batch can share, every insert dirties a page of its own and the cost per event
//! grows with the log (the growth rows of `BENCHMARKS.md`). A UUID v7 starts with its
//! Unix time in milliseconds, so ids minted close in time sit next to each other in the
//! index and inserts stay on the same few pages however large the log gets.
//!
//! Retries must still be idempotent: the same command has to yield the same event ids. So
//! the ids here are never drawn at random: the time prefix comes from the caller (a command
//! id's own prefix, or a business time) and the 74 other bits hash a name.

use chrono::{DateTime, Utc};
use uuid::{Builder, Uuid, Version};

/// Namespace of the event ids derived from a command id (unchanged since the first
/// release, so the ids of commands with non-v7 ids are what they always were).
const COMMAND_NAMESPACE: Uuid = Uuid::from_u128(0x5e6a_1d0c_7c1e_4d4f_9a51_0d3f_2b8e_0001);

/// Namespace of [`ordered_id`]'s hashed bits.
const ORDERED_NAMESPACE: Uuid = Uuid::from_u128(0x5e6a_1d0c_7c1e_4d4f_9a51_0d3f_2b8e_0007);

/// A UUID v7 whose millisecond prefix is `millis` and whose other bits are the last ten of
/// `bytes` (version and variant bits overwritten).
fn v7_from(millis: u64, bytes: [u8; 16]) -> Uuid {
    let mut rest = [0u8; 10];
    rest.copy_from_slice(&bytes[6..]);
    Builder::from_unix_timestamp_millis(millis, &rest).into_uuid()
}

/// A UUID v7 whose millisecond prefix is `millis` and whose other bits hash `name` in
/// `namespace`: equal inputs give equal ids, and ids sort by `millis`.
fn v7_with_hash(millis: u64, namespace: &Uuid, name: &[u8]) -> Uuid {
    v7_from(millis, Uuid::new_v5(namespace, name).into_bytes())
}

/// `at` as a v7 prefix: Unix milliseconds, times before 1970 mapped to 0 (they have none).
fn millis_of(at: DateTime<Utc>) -> u64 {
    u64::try_from(at.timestamp_millis()).unwrap_or(0)
}

/// A time-ordered id for `name` at `at` (a UUID v7, deterministic): for ids minted by
/// generators and importers, which must give the same id when they run again.
pub fn ordered_id(at: DateTime<Utc>, name: &[u8]) -> Uuid {
    v7_with_hash(millis_of(at), &ORDERED_NAMESPACE, name)
}

/// A UUID v7 of time `at` whose other bits come from `random` (a generator's seeded bytes,
/// say): what a client minting an id when something happens would send.
pub fn v7_at(at: DateTime<Utc>, random: [u8; 16]) -> Uuid {
    v7_from(millis_of(at), random)
}

/// The ids of the `n` events a command produces, derived from its id so that a retry of
/// the same command yields the same ids.
///
/// A v7 command id (what the server mints, and what `seguimiento gen` writes) gives v7
/// event ids with the command's own time prefix, which keeps the log's id index local. Any
/// other command id gives the UUID v5 of `"<command id>/<i>"`, the only scheme before.
pub fn command_event_ids(command_id: Uuid, n: usize) -> Vec<Uuid> {
    let prefix = match command_id.get_version() {
        Some(Version::SortRand) => command_id.get_timestamp().map(|ts| {
            let (secs, nanos) = ts.to_unix();
            secs * 1000 + u64::from(nanos) / 1_000_000
        }),
        _ => None,
    };
    (0..n)
        .map(|i| {
            let name = format!("{command_id}/{i}");
            match prefix {
                Some(millis) => v7_with_hash(millis, &COMMAND_NAMESPACE, name.as_bytes()),
                None => Uuid::new_v5(&COMMAND_NAMESPACE, name.as_bytes()),
            }
        })
        .collect()
}

/// The first event id a v7 command id gave before its event ids were time-ordered (the v5
/// scheme every command id used then), or `None` for other ids, whose scheme is unchanged:
/// a retry of a command an older release applied must still be recognised as a replay.
pub fn legacy_first_event_id(command_id: Uuid) -> Option<Uuid> {
    (command_id.get_version() == Some(Version::SortRand))
        .then(|| Uuid::new_v5(&COMMAND_NAMESPACE, format!("{command_id}/0").as_bytes()))
}

/// Every id the first event of `command_id` may carry in a stored log: the current scheme's
/// and, for v7 command ids, the earlier one's ([`legacy_first_event_id`]).
pub fn first_event_id_candidates(command_id: Uuid) -> Vec<Uuid> {
    let mut ids = command_event_ids(command_id, 1);
    ids.extend(legacy_first_event_id(command_id));
    ids
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;
    use proptest::prelude::*;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(secs, 0).single().expect("a valid time")
    }

    #[test]
    fn non_v7_command_ids_keep_the_v5_scheme() {
        let c = Uuid::from_u128(0x0123_4567_89ab_4def_8123_4567_89ab_cdef);
        let ids = command_event_ids(c, 2);
        assert_eq!(
            ids,
            vec![
                Uuid::new_v5(&COMMAND_NAMESPACE, format!("{c}/0").as_bytes()),
                Uuid::new_v5(&COMMAND_NAMESPACE, format!("{c}/1").as_bytes()),
            ]
        );
    }

    #[test]
    fn v7_command_ids_give_v7_event_ids_with_the_commands_time() {
        let c = ordered_id(at(1_700_000_000), b"command");
        let ids = command_event_ids(c, 3);
        assert_eq!(ids.len(), 3);
        for id in &ids {
            assert_eq!(id.get_version(), Some(Version::SortRand));
            assert_eq!(
                id.as_bytes()[..6],
                c.as_bytes()[..6],
                "same millisecond prefix"
            );
            assert_ne!(*id, c);
        }
        assert_ne!(ids[0], ids[1]);
        assert_ne!(ids[1], ids[2]);
        assert_eq!(ids, command_event_ids(c, 3), "a retry yields the same ids");
    }

    #[test]
    fn a_v7_command_is_also_recognised_by_its_earlier_first_id() {
        let c = ordered_id(at(1_700_000_000), b"command");
        let legacy = Uuid::new_v5(&COMMAND_NAMESPACE, format!("{c}/0").as_bytes());
        assert_eq!(legacy_first_event_id(c), Some(legacy));
        assert_eq!(
            first_event_id_candidates(c),
            vec![command_event_ids(c, 1)[0], legacy]
        );
        let v4 = Uuid::from_u128(0x0123_4567_89ab_4def_8123_4567_89ab_cdef);
        assert_eq!(legacy_first_event_id(v4), None);
        assert_eq!(first_event_id_candidates(v4), command_event_ids(v4, 1));
    }

    #[test]
    fn ordered_ids_are_well_formed_v7_and_keep_their_time() {
        let id = ordered_id(at(1_700_000_000), b"x");
        assert_eq!(id.get_version(), Some(Version::SortRand));
        assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
        let (secs, _) = id.get_timestamp().expect("v7 has a time").to_unix();
        assert_eq!(secs, 1_700_000_000);
        assert_eq!(ordered_id(at(-5), b"x"), ordered_id(at(0), b"x"));
    }

    proptest! {
        #[test]
        fn ordered_ids_sort_by_time_then_are_distinct_by_name(
            a in 0i64..4_000_000_000, b in 0i64..4_000_000_000,
            na in proptest::collection::vec(any::<u8>(), 0..20),
            nb in proptest::collection::vec(any::<u8>(), 0..20),
        ) {
            let (ia, ib) = (ordered_id(at(a), &na), ordered_id(at(b), &nb));
            if a < b {
                prop_assert!(ia < ib);
            }
            prop_assert_eq!(ia == ib, a == b && na == nb);
        }
    }
}
