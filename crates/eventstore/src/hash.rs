//! Canonical encodings and the hash chain.
//!
//! # The hash of an event
//!
//! `hash = lowercase hex( SHA-256( F(tag) || F(id) || F(stream) ||
//! F(version) || F(event_type) || F(schema_version) || F(payload) || F(metadata) ||
//! F(recorded_at) || F(effective_at) || F(prev_hash) ) )`
//!
//! where `F(s)` is the UTF-8 bytes of `s` prefixed by their length as a big-endian `u64`
//! (so field boundaries are unambiguous), and:
//! - `tag` is the event's [`HashScheme`]: `seguimiento.event.v2` for every event written
//!   now, `seguimiento.event.v1` for events whose metadata names no `hashScheme`;
//! - `id` is the hyphenated lowercase UUID;
//! - `version` and `schema_version` are decimal integers;
//! - `payload` and `metadata` are the stored text: under v2 [RFC 8785](canonical_json)
//!   (JCS); under v1 the store's former canonical form (keys sorted by UTF-8 bytes,
//!   serde_json's escaping and numbers), which agrees with JCS on every payload without
//!   floating-point numbers or keys beyond U+FFFF. A verifier hashes the stored bytes;
//! - `recorded_at` / `effective_at` are RFC 3339 UTC with exactly six fractional digits,
//!   e.g. `2024-05-01T13:45:07.123456Z` ([`format_ts`]);
//! - `prev_hash` is the `hash` of the previous version of the same stream, `""` for version 0.
//!
//! The event hash chains each stream; it does not cover the global position. The order of
//! the whole log is covered by a second chain, the *log chain* below.
//!
//! # The log chain
//!
//! `link(p) = lowercase hex( SHA-256( F("seguimiento.log.v1") || F(p) || F(stream) ||
//! F(version) || F(hash) || F(link(p-1)) ) )`
//!
//! for the event at position `p` (decimal), with its `stream`, `version` (decimal) and
//! event `hash` (64 lowercase hex digits), and `link(0) = ""`. The store keeps `link(p)` in
//! the table `log_chain` beside the event. The link at the head of the log commits to every
//! event before it, in order: published elsewhere as an *anchor*, it lets a verifier detect
//! a log that was later truncated, reordered or rewritten (even with every hash and link
//! recomputed), which no chain kept only in the database can.

use chrono::{DateTime, SecondsFormat, Timelike, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::StoreError;

/// Domain-separation tag, first field of every log-chain link.
pub const LINK_DOMAIN: &str = "seguimiento.log.v1";

/// How an event's hash input is encoded. An event names its scheme in its own metadata
/// (`hashScheme`, written by the store); an event without one is [`HashScheme::V1`], so
/// the hashes of events stored before a scheme change stay valid, the way an upcaster keeps
/// old payloads readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashScheme {
    /// `seguimiento.event.v1`: payload and metadata in the store's former canonical JSON
    /// (keys sorted by UTF-8 bytes, serde_json's number forms).
    V1,
    /// `seguimiento.event.v2`: payload and metadata in RFC 8785 (JCS).
    V2,
}

impl HashScheme {
    /// The scheme of every event the store writes.
    pub const CURRENT: HashScheme = HashScheme::V2;

    /// The domain-separation tag, first field of the hashed envelope.
    pub fn domain(self) -> &'static str {
        match self {
            HashScheme::V1 => "seguimiento.event.v1",
            HashScheme::V2 => "seguimiento.event.v2",
        }
    }

    /// The number stored as `hashScheme` in the metadata (`None` for V1: absent).
    pub fn tag(self) -> Option<u32> {
        match self {
            HashScheme::V1 => None,
            HashScheme::V2 => Some(2),
        }
    }

    /// The scheme a stored metadata text names; `Err` with the value when it names none
    /// this build knows (or is not a JSON object).
    pub fn of_metadata(metadata: &str) -> Result<HashScheme, String> {
        #[derive(serde::Deserialize)]
        struct Tag {
            #[serde(rename = "hashScheme")]
            hash_scheme: Option<Value>,
        }
        // Events written before schemes were named carry no tag: skip the parse.
        if !metadata.contains("\"hashScheme\"") {
            return Ok(HashScheme::V1);
        }
        let tag: Tag = serde_json::from_str(metadata).map_err(|e| format!("metadata: {e}"))?;
        match tag.hash_scheme {
            None => Ok(HashScheme::V1),
            Some(v) if v == 2 => Ok(HashScheme::V2),
            Some(other) => Err(format!("unknown hashScheme {other}")),
        }
    }
}

/// The log-chain link of the event at `position` (see the [module docs](self)); `prev_link`
/// is the link at `position - 1`, `""` at position 1.
pub fn log_link(position: u64, stream: &str, version: u64, hash: &str, prev_link: &str) -> String {
    let mut h = Sha256::new();
    let mut field = |s: &str| {
        h.update((s.len() as u64).to_be_bytes());
        h.update(s.as_bytes());
    };
    let (mut p, mut v) = (itoa::Buffer::new(), itoa::Buffer::new());
    field(LINK_DOMAIN);
    field(p.format(position));
    field(stream);
    field(v.format(version));
    field(hash);
    field(prev_link);
    hex_digest(&h.finalize())
}

/// A digest as lowercase hex digits, written in place into one allocation (`hex::encode`
/// collects them one `char` at a time, a visible share of a write's hashing cost).
pub fn hex_digest(digest: &[u8]) -> String {
    let mut buf = vec![0u8; digest.len() * 2];
    // The buffer is exactly twice the input, the one thing the encoder checks; the digits
    // are ASCII, so the text is valid UTF-8.
    let _ = hex::encode_to_slice(digest, &mut buf);
    String::from_utf8(buf).unwrap_or_default()
}

/// Canonical JSON text of `value`: RFC 8785, the JSON Canonicalization Scheme (keys sorted
/// by UTF-16 code units, no whitespace, ECMAScript number and string forms), as written by
/// the `serde_json_canonicalizer` crate. Every event the store writes keeps its payload and
/// metadata in this form, so a verifier re-encoding an export gets the hashed bytes back.
///
/// JCS reads every number as an IEEE double (its input is I-JSON, RFC 7493), so an integer
/// it would write otherwise (2^53 + 1 becomes `9007199254740992`, `u64::MAX`
/// `18446744073709552000`) is refused rather than stored changed; such values belong in
/// strings.
///
/// The crate takes about 7 µs for a typical payload, most of a bulk import's own cost per
/// event. Values without floating-point numbers and whose keys are all below U+E000 (every
/// payload the domain writes) have one JCS form that a plain sorted-keys writer produces in
/// about 1 µs: integers in decimal, serde_json's string escapes (which are JCS's), and keys
/// whose UTF-8 byte order is their UTF-16 order. Those take that path; a property test
/// holds both to the same bytes.
pub fn canonical_json(value: &Value) -> Result<String, StoreError> {
    if check_exact_numbers(value)? {
        let mut out = Vec::with_capacity(256);
        write_sorted(value, &mut out);
        // serde_json writes UTF-8, and keys and strings come from `&str`.
        return String::from_utf8(out)
            .map_err(|e| StoreError::InvalidInput(format!("canonical JSON: {e}")));
    }
    Ok(serde_json_canonicalizer::to_string(value)?)
}

/// Keys sorted by their UTF-8 bytes, compact, serde_json's string and integer forms: JCS
/// for the values [`check_exact_numbers`] calls plain.
fn write_sorted(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_scalar(k, out);
                out.push(b':');
                write_sorted(v, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_sorted(v, out);
            }
            out.push(b']');
        }
        other => write_scalar(other, out),
    }
}

/// A string or another JSON scalar, written by serde_json straight into `out`.
fn write_scalar<T: serde::Serialize + ?Sized>(v: &T, out: &mut Vec<u8>) {
    // Writing to a `Vec` cannot fail, and serialising a string or a JSON scalar does not
    // either.
    let _ = serde_json::to_writer(&mut *out, v);
}

/// Whether JCS writes this number as given: floats always (their text reads back to the
/// same double, even when it looks like an integer), integers up to 2^53 always, larger
/// integers when their decimal text is already JCS's (e.g. `-30667205329478880`, the text
/// of a double, read back).
fn written_as_given(n: &serde_json::Number) -> bool {
    const EXACT: u64 = 1 << 53;
    let magnitude = match (n.as_u64(), n.as_i64()) {
        (Some(u), _) => u,
        (None, Some(i)) => i.unsigned_abs(),
        (None, None) => return true,
    };
    magnitude <= EXACT
        || serde_json_canonicalizer::to_string(n).is_ok_and(|text| text == n.to_string())
}

/// Refuses integers JCS would change; `Ok(true)` when the value is *plain*: no
/// floating-point number, and no key with a character at or above U+E000 (where UTF-8
/// byte order and UTF-16 order part).
fn check_exact_numbers(value: &Value) -> Result<bool, StoreError> {
    // A stack rather than recursion: a value built in code may nest deeper than a thread's
    // stack allows.
    let mut plain = true;
    let mut todo = vec![value];
    while let Some(v) = todo.pop() {
        match v {
            Value::Number(n) if n.is_f64() => plain = false,
            Value::Number(n) if !written_as_given(n) => {
                return Err(StoreError::InvalidInput(format!(
                    "the integer {n} has no exact IEEE double, so RFC 8785 (and JSON readers) \
                     would change it: send it as a string"
                )));
            }
            Value::Array(items) => todo.extend(items),
            Value::Object(map) => {
                plain &= map.keys().all(|k| k.chars().all(|c| c < '\u{e000}'));
                todo.extend(map.values());
            }
            _ => {}
        }
    }
    Ok(plain)
}

/// Whether the log can keep this time and give it back as it was: [`format_ts`] writes
/// years 0000 to 9999 only, and PostgreSQL turns a leap second into the next minute.
pub fn storable_time(t: DateTime<Utc>) -> bool {
    use chrono::Datelike;
    (0..=9999).contains(&t.year()) && t.nanosecond() < 1_000_000_000
}

/// Truncates to whole microseconds (both backends store microseconds exactly).
pub fn truncate_micros(ts: DateTime<Utc>) -> DateTime<Utc> {
    let nanos = ts.nanosecond();
    // `with_nanosecond` only fails for values >= 2e9; nanos/1000*1000 <= nanos keeps it valid.
    ts.with_nanosecond(nanos / 1_000 * 1_000).unwrap_or(ts)
}

/// RFC 3339, UTC, exactly six fractional digits, `Z` suffix: `2024-05-01T13:45:07.123456Z`.
/// Lexicographic order of these strings is chronological order (years 0000–9999).
pub fn format_ts(ts: DateTime<Utc>) -> String {
    ts.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parses what [`format_ts`] produced (any RFC 3339 is accepted).
pub fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    parse_format_ts(s).or_else(|| {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    })
}

/// The exact shape [`format_ts`] writes, read by position. Every SQLite row holds two
/// such times, and chrono's general RFC 3339 parser was 6 % of a rebuild's instructions
/// (callgrind). Anything else (`None`) goes to that parser.
fn parse_format_ts(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    let shape = [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
    ];
    if b.len() != 27 || b[26] != b'Z' || shape.iter().any(|&(i, c)| b[i] != c) {
        return None;
    }
    let digits = |from: usize, to: usize| {
        b[from..to].iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let date = chrono::NaiveDate::from_ymd_opt(
        i32::try_from(digits(0, 4)?).ok()?,
        digits(5, 7)?,
        digits(8, 10)?,
    )?;
    // A leap second (`:60`) is refused here and left to chrono.
    let time = chrono::NaiveTime::from_hms_micro_opt(
        digits(11, 13)?,
        digits(14, 16)?,
        digits(17, 19)?,
        digits(20, 26)?,
    )?;
    Some(date.and_time(time).and_utc())
}

/// The fields an event hash covers, in their canonical string forms.
pub struct HashInput<'a> {
    pub id: Uuid,
    pub stream: &'a str,
    pub version: u64,
    pub event_type: &'a str,
    pub schema_version: i32,
    /// Canonical JSON text of the payload (as stored).
    pub payload: &'a str,
    /// Canonical JSON text of the metadata (as stored).
    pub metadata: &'a str,
    pub recorded_at: DateTime<Utc>,
    pub effective_at: DateTime<Utc>,
    pub prev_hash: &'a str,
    /// How `payload` and `metadata` were encoded, and the tag that opens the envelope.
    pub scheme: HashScheme,
}

/// Computes the lowercase hex SHA-256 described in the [module docs](self).
pub fn event_hash(input: &HashInput<'_>) -> String {
    event_hash_of(
        input,
        &format_ts(input.recorded_at),
        &format_ts(input.effective_at),
    )
}

/// [`event_hash`] with both timestamps already formatted by [`format_ts`]: a write formats
/// each distinct timestamp once ([`TsText`]), not once per use.
pub(crate) fn event_hash_of(
    input: &HashInput<'_>,
    recorded_at: &str,
    effective_at: &str,
) -> String {
    let mut h = Sha256::new();
    let mut field = |s: &str| {
        h.update((s.len() as u64).to_be_bytes());
        h.update(s.as_bytes());
    };
    let mut id = Uuid::encode_buffer();
    let (mut version, mut schema_version) = (itoa::Buffer::new(), itoa::Buffer::new());
    field(input.scheme.domain());
    field(input.id.hyphenated().encode_lower(&mut id));
    field(input.stream);
    field(version.format(input.version));
    field(input.event_type);
    field(schema_version.format(input.schema_version));
    field(input.payload);
    field(input.metadata);
    field(recorded_at);
    field(effective_at);
    field(input.prev_hash);
    hex_digest(&h.finalize())
}

/// [`format_ts`] remembering its last answer: the rows of one write share their
/// `recorded_at`, and consecutive events often share their `effective_at`.
#[derive(Default)]
pub(crate) struct TsText {
    last: Option<(DateTime<Utc>, String)>,
}

impl TsText {
    pub fn format(&mut self, ts: DateTime<Utc>) -> &str {
        if self.last.as_ref().is_none_or(|(at, _)| *at != ts) {
            self.last = Some((ts, format_ts(ts)));
        }
        self.last.as_ref().map_or("", |(_, text)| text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    proptest! {
        /// The positional reader agrees with chrono on every time `format_ts` writes...
        #[test]
        fn the_fast_reader_reads_every_formatted_time(
            micros in 0i64..253_402_300_799_999_999, // 0000-01-01 .. 9999-12-31 (UNIX µs, shifted)
        ) {
            let t = DateTime::from_timestamp_micros(micros - 62_167_219_200_000_000)
                .expect("in range");
            let text = format_ts(t);
            prop_assert_eq!(parse_format_ts(&text), Some(t));
            prop_assert_eq!(parse_ts(&text), Some(t));
        }

        /// ...and on anything of the same length, where it either agrees or declines.
        #[test]
        fn the_fast_reader_never_disagrees_with_chrono(text in "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9:]{2}:[0-9]{2}\\.[0-9]{6}[Z+]") {
            let general = DateTime::parse_from_rfc3339(&text).ok().map(|t| t.with_timezone(&Utc));
            if let Some(fast) = parse_format_ts(&text) {
                prop_assert_eq!(Some(fast), general);
            }
            prop_assert_eq!(parse_ts(&text), general);
        }
    }

    #[test]
    fn times_the_fast_reader_declines_are_still_read() {
        for text in [
            "2024-05-01T13:45:07Z",
            "2024-05-01T13:45:07.123+02:00",
            "2016-12-31T23:59:60.500000Z",
        ] {
            assert_eq!(
                parse_ts(text),
                DateTime::parse_from_rfc3339(text)
                    .ok()
                    .map(|t| t.with_timezone(&Utc)),
                "{text}"
            );
            assert!(parse_ts(text).is_some(), "{text}");
        }
        assert_eq!(parse_format_ts("2024-02-30T00:00:00.000000Z"), None);
        assert_eq!(parse_ts("2024-02-30T00:00:00.000000Z"), None);
    }

    fn jcs(v: &Value) -> String {
        canonical_json(v).expect("a JSON value")
    }

    #[test]
    fn canonical_json_sorts_keys_recursively_and_is_compact() {
        let v = json!({"b": 1, "a": {"z": [1, {"y": null, "x": "é\""}], "c": true}});
        assert_eq!(
            jcs(&v),
            r#"{"a":{"c":true,"z":[1,{"x":"é\"","y":null}]},"b":1}"#
        );
    }

    #[test]
    fn canonical_json_round_trips_through_parsing() {
        let v = json!({"n": 0.1, "m": -0.0, "big": 9007199254740991u64, "f": 1e300});
        let text = jcs(&v);
        let back: Value = serde_json::from_str(&text).expect("parse");
        assert_eq!(jcs(&back), text);
    }

    /// RFC 8785's own examples: numbers as ECMAScript writes them (section 3.2.2.3),
    /// strings with only the mandatory escapes, keys sorted by UTF-16 code units (section
    /// 3.2.3, where U+1F600 sorts before U+FB33 although its UTF-8 bytes sort after).
    // RFC 8785's example literal, digits beyond a double's included.
    #[allow(clippy::excessive_precision)]
    #[test]
    fn canonical_json_is_rfc_8785() {
        for (x, text) in [
            (0.0, "0"),
            (-0.0, "0"),
            (123.0, "123"),
            (0.1, "0.1"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (0.000001, "0.000001"),
            (1e-7, "1e-7"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (333333333.33333329, "333333333.3333333"),
            (-1e-7, "-1e-7"),
        ] {
            assert_eq!(jcs(&json!(x)), text, "{x}");
        }
        assert_eq!(
            jcs(&json!("\u{20ac}$\u{f}\nA'B\"\\\\\"/")),
            r#""€$\u000f\nA'B\"\\\\\"/""#
        );
        assert_eq!(
            jcs(&json!({"\u{fb33}": 1, "\u{1f600}": 2, "\r": 3, "1": 4, "\u{80}": 5, "ö": 6})),
            "{\"\\r\":3,\"1\":4,\"\u{80}\":5,\"ö\":6,\"\u{1f600}\":2,\"\u{fb33}\":1}"
        );
    }

    #[test]
    fn integers_without_an_exact_double_are_refused() {
        for ok in [
            json!(9007199254740992u64),
            json!([-9007199254740991i64, 0]),
            json!(-30667205329478880i64),
            json!(9223372036854776000u64),
        ] {
            assert_eq!(jcs(&ok), ok.to_string(), "{ok}");
        }
        for bad in [
            json!(9007199254740993u64),
            json!({"a": [u64::MAX]}),
            json!([i64::MIN]),
            json!(i64::MAX),
            json!(1u64 << 63),
        ] {
            assert!(
                matches!(canonical_json(&bad), Err(StoreError::InvalidInput(_))),
                "{bad}"
            );
        }
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<u64>().prop_map(|n| json!(n)),
            any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
            any::<String>().prop_map(Value::String),
            "[a-z\\u{7f}-\\u{7ff}\\u{d7ff}\\u{e000}\\u{fb33}\\u{ffff}\\u{10000}\\u{1f600}\"\\\\\n\u{1}]{0,4}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec(
                    (
                        prop_oneof![
                            any::<String>(),
                            "[a-z\\u{e000}\\u{fb33}\\u{1f600}\\u{80}]{0,3}"
                        ],
                        inner
                    ),
                    0..6
                )
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// The plain path writes exactly what the JCS crate writes, for every value
        /// either accepts.
        #[test]
        fn canonical_json_is_the_jcs_crates_text(v in json_value()) {
            if let Ok(ours) = canonical_json(&v) {
                prop_assert_eq!(ours, serde_json_canonicalizer::to_string(&v).expect("JCS"));
            }
        }

        /// Whatever the store accepts, it writes as text that reads back to itself: a
        /// retry or a re-import of an export is never refused.
        #[test]
        fn accepted_numbers_read_back_to_the_same_text(
            u in any::<u64>(), i in any::<i64>(), f in any::<f64>().prop_filter("finite", |f| f.is_finite()),
        ) {
            for v in [json!(u), json!(i), json!(f)] {
                if let Ok(text) = canonical_json(&v) {
                    let back: Value = serde_json::from_str(&text).expect("JSON");
                    prop_assert_eq!(jcs(&back), text);
                }
            }
            prop_assert!(canonical_json(&json!(f)).is_ok());
        }
    }

    #[test]
    fn the_scheme_is_read_from_the_metadata() {
        assert_eq!(HashScheme::of_metadata("{}"), Ok(HashScheme::V1));
        assert_eq!(
            HashScheme::of_metadata(r#"{"actor":"a","hashScheme":2}"#),
            Ok(HashScheme::V2)
        );
        assert!(HashScheme::of_metadata(r#"{"hashScheme":3}"#).is_err());
        assert!(HashScheme::of_metadata(r#"{"hashScheme":"2"}"#).is_err());
        assert!(HashScheme::of_metadata(r#"["hashScheme"]"#).is_err());
    }

    #[test]
    fn timestamps_have_fixed_micro_precision() {
        let t = DateTime::parse_from_rfc3339("2024-05-01T13:45:07.123456789Z")
            .expect("ts")
            .with_timezone(&Utc);
        let t = truncate_micros(t);
        assert_eq!(format_ts(t), "2024-05-01T13:45:07.123456Z");
        let whole = DateTime::parse_from_rfc3339("2024-05-01T13:45:07Z")
            .expect("ts")
            .with_timezone(&Utc);
        assert_eq!(format_ts(whole), "2024-05-01T13:45:07.000000Z");
        assert_eq!(parse_ts(&format_ts(t)), Some(t));
    }

    #[test]
    fn hash_changes_with_every_field() {
        let t = truncate_micros(Utc::now());
        let base = HashInput {
            id: Uuid::nil(),
            stream: "s",
            version: 0,
            event_type: "T",
            schema_version: 1,
            payload: "{}",
            metadata: "{}",
            recorded_at: t,
            effective_at: t,
            prev_hash: "",
            scheme: HashScheme::V2,
        };
        let h0 = event_hash(&base);
        assert_eq!(h0.len(), 64);
        let variants = [
            HashInput {
                stream: "t",
                ..base
            },
            HashInput { version: 1, ..base },
            HashInput {
                event_type: "U",
                ..base
            },
            HashInput {
                schema_version: 2,
                ..base
            },
            HashInput {
                payload: "{\"a\":1}",
                ..base
            },
            HashInput {
                metadata: "[]",
                ..base
            },
            HashInput {
                prev_hash: "00",
                ..base
            },
            HashInput {
                id: Uuid::max(),
                ..base
            },
            HashInput {
                scheme: HashScheme::V1,
                ..base
            },
        ];
        for v in &variants {
            assert_ne!(event_hash(v), h0);
        }
    }

    /// The link built the slow, obvious way from the module docs (a fixed vector, also
    /// used by `docs/HASHING.md`).
    #[test]
    fn link_is_the_documented_encoding() {
        let mut input = Vec::new();
        for field in ["seguimiento.log.v1", "7", "agreement-x", "2", "ab", "cd"] {
            input.extend_from_slice(&(field.len() as u64).to_be_bytes());
            input.extend_from_slice(field.as_bytes());
        }
        let expected = hex::encode(Sha256::digest(&input));
        assert_eq!(log_link(7, "agreement-x", 2, "ab", "cd"), expected);
        assert_eq!(
            expected,
            "2ae5224075e9d637a0711f1dec8aa1656f305ea2a0db9fa4e1e4ea95c6de0e4f"
        );
        assert_ne!(log_link(8, "agreement-x", 2, "ab", "cd"), expected);
        assert_ne!(log_link(7, "agreement-x", 2, "ab", ""), expected);
    }

    /// The envelope built the slow, obvious way from the module docs: auditors re-implement
    /// it from that text, so the fast path must agree with it byte for byte.
    #[test]
    fn hash_is_the_documented_envelope() {
        let recorded = parse_ts("2024-05-01T13:45:07.123456Z").expect("ts");
        let effective = parse_ts("2024-04-30T07:00:00Z").expect("ts");
        let input = HashInput {
            id: Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
            stream: "agreement/SON-2024-001",
            version: 12_345_678_901,
            event_type: "AgreementIssued",
            schema_version: -3,
            payload: r#"{"a":"é\\t"}"#,
            metadata: "{}",
            recorded_at: recorded,
            effective_at: effective,
            prev_hash: "ab",
            scheme: HashScheme::V2,
        };
        let mut envelope = Vec::new();
        for field in [
            "seguimiento.event.v2".to_string(),
            "01234567-89ab-cdef-0123-456789abcdef".to_string(),
            input.stream.to_string(),
            "12345678901".to_string(),
            input.event_type.to_string(),
            "-3".to_string(),
            input.payload.to_string(),
            input.metadata.to_string(),
            "2024-05-01T13:45:07.123456Z".to_string(),
            "2024-04-30T07:00:00.000000Z".to_string(),
            input.prev_hash.to_string(),
        ] {
            envelope.extend_from_slice(&(field.len() as u64).to_be_bytes());
            envelope.extend_from_slice(field.as_bytes());
        }
        let expected = hex::encode(Sha256::digest(&envelope));
        assert_eq!(event_hash(&input), expected);
        // The write path formats timestamps once per distinct value.
        let (mut r, mut e) = (TsText::default(), TsText::default());
        for _ in 0..2 {
            let (rt, et) = (
                r.format(recorded).to_owned(),
                e.format(effective).to_owned(),
            );
            assert_eq!(event_hash_of(&input, &rt, &et), expected);
        }
        assert_eq!(e.format(recorded), "2024-05-01T13:45:07.123456Z");
        // The same envelope under v1 differs only in its tag, and is pinned: hashes stored
        // before v2 must verify forever.
        let v1 = HashInput {
            scheme: HashScheme::V1,
            ..input
        };
        let tag = "seguimiento.event.v1";
        let mut old = (tag.len() as u64).to_be_bytes().to_vec();
        old.extend_from_slice(tag.as_bytes());
        old.extend_from_slice(&envelope[8 + "seguimiento.event.v2".len()..]);
        assert_eq!(event_hash(&v1), hex::encode(Sha256::digest(&old)));
        assert_eq!(event_hash(&v1), V1_VECTOR);
    }

    /// The v1 hash of `hash_is_the_documented_envelope`'s input, computed outside this code
    /// from docs/HASHING.md (Python's hashlib).
    const V1_VECTOR: &str = "cc92e413ce455b3fc3e0749d13717a1419557d676fa3ad55c99ab6436350cf6a";
}
