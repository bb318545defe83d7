//! The facts the system records (hechos), their stored form and their schema versions.
//!
//! Stored form: `to_stored` gives the event type (the PascalCase variant name), the schema
//! version and the payload, a JSON object with camelCase fields. Every variant below lists
//! its payload fields. `Mxn` and `Progress` values are decimal strings (`"1234.50"`,
//! `"37.5"`), dates are `"2023-06-30"`, instants RFC 3339 UTC, enums SCREAMING_SNAKE_CASE.
//!
//! Versioning: `schema_version()` is the version written today. `from_stored` runs the
//! upcaster chain on older payloads, one version step at a time, before deserializing.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::catalogue::{AnnualGoal, Catalogue};
use crate::error::DomainError;
use crate::values::{
    Channel, Classification, FollowUpKind, InstructionStage, ItemKind, MeetingType, Mxn, Origin,
    PersonalData, Priority, Progress, Status, Topic, TurnTarget, Unit, YearBudget,
};

/// Which aggregate (and so which kind of stream) an event or command belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::VariantArray)]
pub enum AggregateKind {
    AgencyCatalog,
    CabinetMeeting,
    Agreement,
    Commitment,
    Activity,
    Letter,
    Petition,
}

impl AggregateKind {
    /// Every kind, in declaration order.
    pub const ALL: &'static [AggregateKind] = <Self as strum::VariantArray>::VARIANTS;

    pub fn name(self) -> &'static str {
        match self {
            AggregateKind::AgencyCatalog => "agency catalog",
            AggregateKind::CabinetMeeting => "cabinet meeting",
            AggregateKind::Agreement => "agreement",
            AggregateKind::Commitment => "commitment",
            AggregateKind::Activity => "activity",
            AggregateKind::Letter => "letter",
            AggregateKind::Petition => "petition",
        }
    }
}

/// Every fact of every aggregate. The variant name is the stored type name
/// ([`DomainEvent::event_type`], [`EVENT_TYPE_NAMES`]).
///
/// What belongs to a type rather than to one event (its name, its aggregate kind) is
/// declared on [`EventType`], the variants without their fields, so that an event and the
/// name of its type cannot disagree about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, strum::EnumDiscriminants)]
#[strum_discriminants(
    name(EventType),
    vis(pub(crate)),
    derive(strum::IntoStaticStr, strum::VariantNames, strum::EnumString)
)]
#[serde(tag = "type", content = "data", rename_all_fields = "camelCase")]
pub enum DomainEvent {
    // ----- Catálogo de dependencias (stream `agencies`) -----
    /// Dependencia registrada. Fields: `acronym`, `name`, `sectorHead` (acronym or null).
    AgencyRegistered {
        acronym: String,
        name: String,
        sector_head: Option<String>,
    },
    /// Fields: `acronym`, `name`.
    AgencyRenamed { acronym: String, name: String },
    /// Fields: `acronym`.
    AgencyDeactivated { acronym: String },
    /// Enlace designado. Fields: `acronym`, `name`, `position`, `contact`,
    /// `designationLetter` (the oficio of designation).
    LiaisonDesignated {
        acronym: String,
        name: String,
        position: String,
        contact: String,
        designation_letter: String,
    },
    /// Entrada de catálogo registrada (see [`crate::catalogue`]). Fields: `catalogue`
    /// (`MEETING_TYPE`, `PETITION_CHANNEL`, `PETITION_TOPIC`, `FOLLOW_UP_KIND`), `code`
    /// (stable forever), `label`.
    CatalogueEntryRegistered {
        catalogue: Catalogue,
        code: String,
        label: String,
    },
    /// Fields: `catalogue`, `code`, `label` (the new one).
    CatalogueEntryRenamed {
        catalogue: Catalogue,
        code: String,
        label: String,
    },
    /// No new fact may name the code. Fields: `catalogue`, `code`.
    CatalogueEntryRetired { catalogue: Catalogue, code: String },
    /// Meta anual. Fields: `goal` (`PETITIONS_ATTENDED`), `year`, `target`; a later one for
    /// the same goal and year replaces it.
    AnnualGoalSet {
        goal: AnnualGoal,
        year: i32,
        target: u64,
    },

    // ----- Reunión de gabinete (stream `cabinet-meeting-<uuid>`) -----
    /// Fields: `meetingId`, `meetingType`, `date`, `agencies` (acronyms).
    CabinetMeetingHeld {
        meeting_id: Uuid,
        meeting_type: MeetingType,
        date: NaiveDate,
        agencies: Vec<String>,
    },

    // ----- Acuerdo / instrucción (stream `agreement-<uuid>`) -----
    /// Fields: `agreementId`, `kind`, `origin`, `meetingId`, `meetingType` (copied from the
    /// meeting so projections need no join), `description`, `agencies`,
    /// `responsiblePerson`, `issuer`, `issuedOn`, `dueOn`, `budget`
    /// (`[{"year": 2023, "amountMxn": "1000.00"}]`).
    AgreementCreated {
        agreement_id: Uuid,
        kind: ItemKind,
        origin: Origin,
        meeting_id: Option<Uuid>,
        meeting_type: Option<MeetingType>,
        description: String,
        agencies: Vec<String>,
        responsible_person: String,
        issuer: String,
        issued_on: NaiveDate,
        due_on: Option<NaiveDate>,
        budget: Vec<YearBudget>,
    },
    /// Fields: `stage`.
    InstructionStageChanged { stage: InstructionStage },
    /// Fields: `progress`, `note`.
    ProgressReported {
        progress: Progress,
        note: Option<String>,
    },
    /// "Última acción realizada". Fields: `text`, `date`.
    FollowUpActionRecorded { text: String, date: NaiveDate },
    /// Fields: `status`.
    StatusChanged { status: Status },
    /// Fields: `agencies`, `responsiblePerson`.
    AgreementReassigned {
        agencies: Vec<String>,
        responsible_person: String,
    },
    /// Fields: `reason`.
    AgreementCancelled { reason: String },
    /// A correction: the corrected event stays in the stream, the values given here win.
    /// Fields: `correctedEventId`, `reason`, `status`, `progress`, `dueOn`, `description`
    /// (each corrected value or null).
    EventCorrected {
        corrected_event_id: Uuid,
        reason: String,
        status: Option<Status>,
        progress: Option<Progress>,
        due_on: Option<NaiveDate>,
        description: Option<String>,
    },

    // ----- Compromiso de campaña (stream `commitment-<number>`) -----
    /// Fields: `number`, `text`.
    CommitmentRegistered { number: u32, text: String },
    /// Agencies added to the commitment. Fields: `agencies`.
    CommitmentAssigned { agencies: Vec<String> },
    /// Schema v2. Fields: `actionId`, `agency`, `description`, `status`, `progress`
    /// (or null), `investmentMxn` (decimal string), `date`.
    /// v1 (spreadsheet import) had `investment` as a JSON number and no `progress`.
    ActionRegistered {
        action_id: Uuid,
        agency: String,
        description: String,
        status: Status,
        progress: Option<Progress>,
        investment_mxn: Mxn,
        date: NaiveDate,
    },
    /// Fields: `actionId`, `status`.
    ActionStatusChanged { action_id: Uuid, status: Status },
    /// Fields: `actionId`, `progress`.
    ActionProgressReported { action_id: Uuid, progress: Progress },

    // ----- Actividad (stream `activity-<uuid>`) -----
    /// Fields: `activityId`, `title`, `priority`, `dueOn`, `responsibles`.
    ActivityCreated {
        activity_id: Uuid,
        title: String,
        priority: Priority,
        due_on: NaiveDate,
        responsibles: Vec<String>,
    },
    /// Fields: `responsible`, `status`, `progress`.
    ResponsibleReported {
        responsible: String,
        status: Status,
        progress: Progress,
    },
    /// Fields: `responsible`.
    ResponsibleClosed { responsible: String },
    /// Emitted with the last `ResponsibleClosed`. Payload: `{}`.
    ActivityConcluded {},

    // ----- Correspondencia (stream `letter-<folio>`) -----
    /// Fields: `folio`, `unit`, `classification`, `sender`, `subject`, `receivedAt`.
    LetterReceived {
        folio: String,
        unit: Unit,
        classification: Classification,
        sender: String,
        subject: String,
        received_at: DateTime<Utc>,
    },
    /// Turnado. Fields: `agency`, `turnedAt`.
    LetterTurned {
        agency: String,
        turned_at: DateTime<Utc>,
    },
    /// Expediente abierto. Fields: `caseFile`, `openedAt`.
    CaseFileOpened {
        case_file: String,
        opened_at: DateTime<Utc>,
    },
    /// Oficio de salida. Fields: `number`, `recipient`, `issuedAt`.
    OutgoingLetterIssued {
        number: String,
        recipient: String,
        issued_at: DateTime<Utc>,
    },
    /// Fields: `note`, `recordedAt`.
    LetterFollowUpRecorded {
        note: String,
        recorded_at: DateTime<Utc>,
    },
    /// Closes the letter. Fields: `answeredAt`.
    LetterAnswered { answered_at: DateTime<Utc> },

    // ----- Petición ciudadana (stream `petition-<uuid>`) -----
    /// Fields: `petitionId`, `channel`, `topic`, `municipality`, `citizenId`, `contact`
    /// (`{name, phone, email, address}`: personal data, encrypted as one field by the
    /// application layer), `tourId` (or null), `receivedAt`.
    PetitionReceived {
        petition_id: Uuid,
        channel: Channel,
        topic: Topic,
        municipality: String,
        citizen_id: Uuid,
        contact: PersonalData,
        tour_id: Option<String>,
        received_at: DateTime<Utc>,
    },
    /// Fields: `target` (`{"agency": "SIDUR"}` or `{"governmentLevel": "FEDERAL"}`),
    /// `turnedAt`.
    PetitionTurned {
        target: TurnTarget,
        turned_at: DateTime<Utc>,
    },
    /// Fields: `kind`, `at`.
    PetitionFollowUpRecorded {
        kind: FollowUpKind,
        at: DateTime<Utc>,
    },
    /// Fields: `at`.
    PetitionAttended { at: DateTime<Utc> },
    /// Fields: `at`.
    PetitionClosed { at: DateTime<Utc> },
    /// The citizen's contact as rectified at their request (ARCO); it replaces the one
    /// received. Fields: `citizenId`, `contact` (personal data, sealed like
    /// `PetitionReceived`'s).
    PetitionContactRectified {
        citizen_id: Uuid,
        contact: PersonalData,
    },
}

/// Every stored event type: the variants of [`DomainEvent`], in declaration order.
pub const EVENT_TYPE_NAMES: &[&str] = <EventType as strum::VariantNames>::VARIANTS;

impl EventType {
    /// The one declaration of which aggregate's stream holds the events of each type: both
    /// [`DomainEvent::aggregate_kind`] and [`DomainEvent::kind_of_type`] read it.
    fn aggregate_kind(self) -> AggregateKind {
        use EventType::*;
        match self {
            AgencyRegistered
            | AgencyRenamed
            | AgencyDeactivated
            | LiaisonDesignated
            | CatalogueEntryRegistered
            | CatalogueEntryRenamed
            | CatalogueEntryRetired
            | AnnualGoalSet => AggregateKind::AgencyCatalog,
            CabinetMeetingHeld => AggregateKind::CabinetMeeting,
            AgreementCreated
            | InstructionStageChanged
            | ProgressReported
            | FollowUpActionRecorded
            | StatusChanged
            | AgreementReassigned
            | AgreementCancelled
            | EventCorrected => AggregateKind::Agreement,
            CommitmentRegistered
            | CommitmentAssigned
            | ActionRegistered
            | ActionStatusChanged
            | ActionProgressReported => AggregateKind::Commitment,
            ActivityCreated | ResponsibleReported | ResponsibleClosed | ActivityConcluded => {
                AggregateKind::Activity
            }
            LetterReceived
            | LetterTurned
            | CaseFileOpened
            | OutgoingLetterIssued
            | LetterFollowUpRecorded
            | LetterAnswered => AggregateKind::Letter,
            PetitionReceived
            | PetitionTurned
            | PetitionFollowUpRecorded
            | PetitionAttended
            | PetitionClosed
            | PetitionContactRectified => AggregateKind::Petition,
        }
    }
}

/// The current schema version of an event type, if the type is known: 1, unless its
/// stored shape changed since (each change has an upcaster in `from_stored`).
pub fn current_schema_version(event_type: &str) -> Option<i32> {
    if !EVENT_TYPE_NAMES.contains(&event_type) {
        return None;
    }
    Some(match event_type {
        "ActionRegistered" => 2,
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

    /// The business instant the event reports, when its payload carries one. A bare date
    /// is taken at midnight in Sonora ([`crate::time`]). The application uses it as the
    /// envelope's `effective_at`.
    pub fn effective_at(&self) -> Option<DateTime<Utc>> {
        self.effective_time().map(|(_, at)| at)
    }

    /// [`Self::effective_at`] with the command field it was given in (camelCase, as in
    /// JSON and GraphQL), so a refusal can name it.
    pub fn effective_time(&self) -> Option<(&'static str, DateTime<Utc>)> {
        use DomainEvent::*;
        match self {
            CabinetMeetingHeld { date, .. }
            | FollowUpActionRecorded { date, .. }
            | ActionRegistered { date, .. } => Some(("date", crate::time::midnight(*date))),
            AgreementCreated { issued_on, .. } => {
                Some(("issuedOn", crate::time::midnight(*issued_on)))
            }
            LetterReceived { received_at: t, .. } | PetitionReceived { received_at: t, .. } => {
                Some(("receivedAt", *t))
            }
            LetterTurned { turned_at: t, .. } | PetitionTurned { turned_at: t, .. } => {
                Some(("turnedAt", *t))
            }
            CaseFileOpened { opened_at: t, .. } => Some(("openedAt", *t)),
            OutgoingLetterIssued { issued_at: t, .. } => Some(("issuedAt", *t)),
            LetterFollowUpRecorded { recorded_at: t, .. } => Some(("recordedAt", *t)),
            LetterAnswered { answered_at: t } => Some(("answeredAt", *t)),
            PetitionFollowUpRecorded { at: t, .. }
            | PetitionAttended { at: t }
            | PetitionClosed { at: t } => Some(("at", *t)),
            _ => None,
        }
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

/// A payload that does not deserialize. serde quotes offending values; a petition payload
/// holds personal data, so its errors keep only the position-free category.
fn payload_error(event_type: &str, schema_version: i32, e: &serde_json::Error) -> DomainError {
    let reason = if event_type == "PetitionReceived" || event_type == "PetitionContactRectified" {
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
        _ => Err(upcast_error(
            event_type,
            version,
            "no upcaster for this version".into(),
        )),
    }
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
