//! The facts the system records (hechos), their stored form and their schema versions.
//!
//! Stored form: `to_stored` gives the event type (the PascalCase variant name), the schema
//! version and the payload, a JSON object with camelCase fields. Every variant of
//! [`DomainEvent`] (declared in [`crate::registry`]) lists
//! its payload fields. `Mxn` and `Progress` values are decimal strings (`"1234.50"`,
//! `"37.5"`), dates are `"2023-06-30"`, instants RFC 3339 UTC, enums SCREAMING_SNAKE_CASE.
//!
//! Versioning: `schema_version()` is the version written today. `from_stored` runs the
//! upcaster chain on older payloads, one version step at a time, before deserializing.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::DomainError;
use crate::registry::EventType;
use crate::values::Mxn;

pub use crate::registry::{AggregateKind, DomainEvent};

/// Every stored event type: the variants of [`DomainEvent`], in declaration order.
pub const EVENT_TYPE_NAMES: &[&str] = <EventType as strum::VariantNames>::VARIANTS;

/// The current schema version of an event type, if the type is known: 1, unless its
/// stored shape changed since (each change has an upcaster in `from_stored`).
pub fn current_schema_version(event_type: &str) -> Option<i32> {
    if !EVENT_TYPE_NAMES.contains(&event_type) {
        return None;
    }
    Some(match event_type {
        "ActionRegistered" | "AgreementCreated" => 2,
        _ => 1,
    })
}

/// Where an event keeps a citizen's personal data (see [`DomainEvent::personal_fields`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PersonalFields {
    /// Fields stored sealed under the citizen's own key, so that destroying the key
    /// erases them from every copy of the log.
    pub sealed: &'static [&'static str],
    /// The field naming the citizen whose key seals them. A pseudonym, but it links a
    /// citizen's requests: shown only to readers of personal data.
    pub citizen: &'static str,
}

impl DomainEvent {
    /// The stored type name: the variant name.
    pub fn event_type(&self) -> &'static str {
        EventType::from(self).into()
    }

    /// The personal data events of a stored type carry, by field name; `None` for types
    /// that carry none. Every path that seals, opens, redacts or exports personal data
    /// reads this one declaration.
    pub fn personal_fields(event_type: &str) -> Option<PersonalFields> {
        const CONTACT: PersonalFields = PersonalFields {
            sealed: &["contact"],
            citizen: "citizenId",
        };
        match event_type {
            "PetitionReceived" | "PetitionContactRectified" => Some(CONTACT),
            _ => None,
        }
    }

    /// The schema version this code writes for the event's type.
    pub fn schema_version(&self) -> i32 {
        current_schema_version(self.event_type()).unwrap_or(1)
    }

    /// The aggregate whose stream holds this event.
    pub fn aggregate_kind(&self) -> AggregateKind {
        EventType::from(self).aggregate_kind()
    }

    /// The aggregate whose stream holds the events of a stored type, without an event at
    /// hand (e.g. to tell which types a reader of some kinds can leave unread); `None` for
    /// a type the domain does not know.
    pub fn kind_of_type(event_type: &str) -> Option<AggregateKind> {
        event_type
            .parse::<EventType>()
            .ok()
            .map(EventType::aggregate_kind)
    }

    /// Splits the event into its stored parts: type name, schema version, payload object.
    pub fn to_stored(&self) -> (String, i32, Value) {
        let payload = match serde_json::to_value(self) {
            Ok(Value::Object(mut tagged)) => tagged
                .remove("data")
                .unwrap_or_else(|| Value::Object(Map::new())),
            // Serializing plain data structs to a Value cannot fail; an empty object keeps
            // the function total rather than panicking.
            _ => Value::Object(Map::new()),
        };
        (self.event_type().to_owned(), self.schema_version(), payload)
    }

    /// Reads a stored event, upcasting older schema versions first.
    pub fn from_stored(
        event_type: &str,
        schema_version: i32,
        payload: Value,
    ) -> Result<Self, DomainError> {
        let current = current_schema_version(event_type)
            .ok_or_else(|| DomainError::UnknownEventType(event_type.to_owned()))?;
        if schema_version < 1 || schema_version > current {
            return Err(upcast_error(
                event_type,
                schema_version,
                format!("unsupported version (current is v{current})"),
            ));
        }
        let mut payload = payload;
        let mut version = schema_version;
        while version < current {
            payload = upcast(event_type, version, payload)?;
            version += 1;
        }
        let mut tagged = Map::new();
        tagged.insert("type".into(), Value::String(event_type.to_owned()));
        tagged.insert("data".into(), payload);
        serde_json::from_value(Value::Object(tagged))
            .map_err(|e| payload_error(event_type, schema_version, &e))
    }

    /// Reads a stored event from its payload's JSON text. The current schema version is
    /// parsed once, straight into the typed event (no intermediate `Value`); older versions
    /// go through [`DomainEvent::from_stored`]'s upcasters.
    pub fn from_stored_json(
        event_type: &str,
        schema_version: i32,
        payload: &str,
    ) -> Result<Self, DomainError> {
        let current = current_schema_version(event_type)
            .ok_or_else(|| DomainError::UnknownEventType(event_type.to_owned()))?;
        if schema_version != current {
            let value = serde_json::from_str(payload)
                .map_err(|e| payload_error(event_type, schema_version, &e))?;
            return Self::from_stored(event_type, schema_version, value);
        }
        let mut data = serde_json::Deserializer::from_str(payload);
        let tagged = TaggedPayload {
            event_type,
            data: &mut data,
            next: 0,
        };
        DomainEvent::deserialize(serde::de::value::MapAccessDeserializer::new(tagged))
            .and_then(|event| data.end().map(|()| event))
            .map_err(|e| payload_error(event_type, schema_version, &e))
    }
}

/// The adjacently tagged form `{"type": event_type, "data": payload}` as a map handed to
/// the derived deserializer, tag first, so `data` is read straight from the payload text:
/// writing that document out copied every payload once more (about a tenth of a full-log
/// read's time went to copies and allocations like it).
struct TaggedPayload<'a, 'de> {
    event_type: &'a str,
    data: &'a mut serde_json::Deserializer<serde_json::de::StrRead<'de>>,
    /// 0: the tag, 1: the data, then the end.
    next: u8,
}

impl<'de> serde::de::MapAccess<'de> for TaggedPayload<'_, 'de> {
    type Error = serde_json::Error;

    fn next_key_seed<K: serde::de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        use serde::de::IntoDeserializer;
        let key = match self.next {
            0 => "type",
            1 => "data",
            _ => return Ok(None),
        };
        seed.deserialize(key.into_deserializer()).map(Some)
    }

    fn next_value_seed<V: serde::de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        use serde::de::IntoDeserializer;
        self.next += 1;
        if self.next == 1 {
            seed.deserialize(self.event_type.into_deserializer())
        } else {
            seed.deserialize(&mut *self.data)
        }
    }
}

/// A payload that does not deserialize. serde quotes offending values; a payload that
/// holds personal data keeps only the position-free category in its errors.
fn payload_error(event_type: &str, schema_version: i32, e: &serde_json::Error) -> DomainError {
    let reason = if DomainEvent::personal_fields(event_type).is_some() {
        format!("invalid payload ({:?})", e.classify())
    } else {
        e.to_string()
    };
    upcast_error(event_type, schema_version, reason)
}

fn upcast_error(event_type: &str, version: i32, reason: String) -> DomainError {
    DomainError::Upcast {
        event_type: event_type.to_owned(),
        version,
        reason,
    }
}

/// One step of the upcaster chain: turns a payload of `version` into `version + 1`.
fn upcast(event_type: &str, version: i32, payload: Value) -> Result<Value, DomainError> {
    match (event_type, version) {
        ("ActionRegistered", 1) => upcast_action_registered_v1(payload),
        ("AgreementCreated", 1) => upcast_agreement_created_v1(payload),
        _ => Err(upcast_error(
            event_type,
            version,
            "no upcaster for this version".into(),
        )),
    }
}

/// v1 → v2 of `AgreementCreated`: v1 had no `conferenceId` (no agreement came from a
/// recorded conference).
fn upcast_agreement_created_v1(payload: Value) -> Result<Value, DomainError> {
    let Value::Object(mut obj) = payload else {
        return Err(upcast_error(
            "AgreementCreated",
            1,
            "payload is not an object".into(),
        ));
    };
    obj.entry("conferenceId").or_insert(Value::Null);
    Ok(Value::Object(obj))
}

/// v1 → v2 of `ActionRegistered`: the spreadsheet import stored `investment` as a JSON
/// number and had no `progress`. The amount is converted from the number's text (never
/// through f64 arithmetic) and must be a valid `Mxn`.
fn upcast_action_registered_v1(payload: Value) -> Result<Value, DomainError> {
    let err = |reason: String| upcast_error("ActionRegistered", 1, reason);
    let Value::Object(mut obj) = payload else {
        return Err(err("payload is not an object".into()));
    };
    let text = match obj.remove("investment") {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s,
        Some(Value::Null) | None => "0".to_owned(),
        Some(_) => return Err(err("investment is not a number".into())),
    };
    let amount: Mxn = text.parse().map_err(|e: DomainError| err(e.to_string()))?;
    obj.insert("investmentMxn".into(), Value::String(amount.to_string()));
    obj.entry("progress").or_insert(Value::Null);
    Ok(Value::Object(obj))
}
