//! Catálogos de la Oficina: the coded vocabularies that change during a term (types of
//! cabinet, petition channels and topics, kinds of follow-up) and the annual goals. They
//! are data in the log, not code: the Office registers, renames and retires entries through
//! commands, and commands that name a code are checked against the catalogue as it stands.
//!
//! The entries live in the `agencies` stream beside the agencies, so that every command
//! is decided against one folded catalog ([`crate::Context::agencies`]). A code is stable
//! forever: renaming changes its label, retiring stops new uses, and stored events that
//! name it keep decoding and counting.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::command::{input, route, Command};
use crate::error::DomainError;
use crate::event::DomainEvent;
use crate::rules::required;
use crate::validate::Check;
use crate::values::vocabulary;
use crate::AGENCY_CATALOG_STREAM;

// ----- Commands: inputs and routing -----

input! {
    /// Registrar una entrada de catálogo: a new code, stable forever, and its label.
    pub struct RegisterCatalogueEntryInput { pub catalogue: Catalogue, pub code: String, pub label: String }
}

input! {
    pub struct RenameCatalogueEntryInput { pub catalogue: Catalogue, pub code: String, pub label: String }
}

input! {
    pub struct RetireCatalogueEntryInput { pub catalogue: Catalogue, pub code: String }
}

input! {
    /// Fijar la meta anual: replaces an earlier goal for the same year.
    pub struct SetAnnualGoalInput { pub goal: AnnualGoal, pub year: i32, pub target: u64 }
}

// The catalogues live in the agency catalog's stream and are the Office's alone.
route!(RegisterCatalogueEntryInput, RenameCatalogueEntryInput, RetireCatalogueEntryInput, SetAnnualGoalInput
    => |_i| AGENCY_CATALOG_STREAM.to_owned());

// ----- State and rules -----

vocabulary! {
    /// Which catalogue an entry belongs to. The set of catalogues is code (each one is
    /// read by some rule); their entries are data.
    #[derive(strum::IntoStaticStr)]
    #[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
    pub enum Catalogue {
        /// Tipos de gabinete (`HoldCabinetMeeting.meetingType`).
        MeetingType,
        /// Canales de recepción de peticiones (`ReceivePetition.channel`).
        PetitionChannel,
        /// Temas de peticiones (`ReceivePetition.topic`).
        PetitionTopic,
        /// Tipos de seguimiento de peticiones (`RecordPetitionFollowUp.kind`).
        FollowUpKind,
    }
}

impl Catalogue {
    /// The name as in JSON and GraphQL (`MEETING_TYPE`).
    pub fn code(self) -> &'static str {
        self.into()
    }
}

vocabulary! {
    /// What an annual goal (meta anual) counts.
    pub enum AnnualGoal {
        /// Peticiones ciudadanas atendidas en el año.
        PetitionsAttended,
    }
}

/// The longest code, in characters.
pub const MAX_CODE_CHARS: usize = 40;

/// Checks the shape of a code: an upper-case ASCII letter, then upper-case letters, digits
/// or `_`, at most [`MAX_CODE_CHARS`] in all. The message never repeats the value, which
/// may be anything a client typed.
pub fn check_code(field: &'static str, code: &str) -> Result<(), DomainError> {
    let mut chars = code.chars();
    let shaped = chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if shaped && code.len() <= MAX_CODE_CHARS {
        Ok(())
    } else {
        Err(DomainError::InvalidField {
            field: field.to_owned(),
            reason: format!(
                "a catalogue code is an upper-case letter followed by upper-case letters, \
                 digits or _, at most {MAX_CODE_CHARS} characters (e.g. CALL_CENTER)"
            ),
        })
    }
}

/// Declares a value that must be a code of one catalogue: a string in JSON and, with the
/// `graphql` feature, a scalar of its own name that also accepts the bare enum literal
/// clients wrote when these were enums (`channel: CALL_CENTER`).
macro_rules! coded {
    ($(#[$meta:meta])* $name:ident in $catalogue:ident, $gql:literal, $kind:literal, $example:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The catalogue its codes belong to.
            pub const CATALOGUE: Catalogue = Catalogue::$catalogue;

            pub fn new(code: impl Into<String>) -> Self {
                $name(code.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Check for $name {
            fn check(&self, field: &'static str) -> Result<(), DomainError> {
                check_code(field, &self.0)
            }
        }

        #[cfg(feature = "graphql")]
        impl async_graphql::Description for $name {
            fn description() -> &'static str {
                concat!(
                    "A code of the ",
                    $kind,
                    " catalogue, e.g. \"",
                    $example,
                    "\": query `catalogue(kind: ",
                    $kind,
                    ")` lists them. Written as a string; the bare enum literal of earlier \
                     versions (",
                    $example,
                    ") is accepted too."
                )
            }
        }

        #[cfg(feature = "graphql")]
        #[async_graphql::Scalar(name = $gql, use_type_description)]
        impl async_graphql::ScalarType for $name {
            fn parse(value: async_graphql::Value) -> async_graphql::InputValueResult<Self> {
                match value {
                    async_graphql::Value::String(s) => Ok($name(s)),
                    async_graphql::Value::Enum(name) => Ok($name(name.to_string())),
                    // The value is not repeated: it may be anything a client typed.
                    _ => Err(async_graphql::InputValueError::custom(
                        "a catalogue code is a string such as \"CALL_CENTER\"",
                    )),
                }
            }

            fn to_value(&self) -> async_graphql::Value {
                async_graphql::Value::String(self.0.clone())
            }
        }
    };
}

coded! {
    /// Tipo de gabinete: a code of [`Catalogue::MeetingType`].
    MeetingType in MeetingType, "MeetingType", "MEETING_TYPE", "LEGAL"
}
coded! {
    /// Canal de recepción de una petición: a code of [`Catalogue::PetitionChannel`].
    Channel in PetitionChannel, "Channel", "PETITION_CHANNEL", "CALL_CENTER"
}
coded! {
    /// Tema de una petición: a code of [`Catalogue::PetitionTopic`].
    Topic in PetitionTopic, "Topic", "PETITION_TOPIC", "HEALTH"
}
coded! {
    /// Tipo de seguimiento de una petición: a code of [`Catalogue::FollowUpKind`].
    FollowUpKind in FollowUpKind, "FollowUpKind", "FOLLOW_UP_KIND", "CALL"
}

impl Channel {
    /// The one channel code a rule reads: a petition collected on a tour (gira) names its
    /// tour, since tours are reported one by one.
    pub const TOUR: &'static str = "TOUR";

    pub fn is_tour(&self) -> bool {
        self.0 == Self::TOUR
    }
}

/// One entry of a catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub code: String,
    /// As published ("GABINETE PRIORITARIO DE AGUA").
    pub label: String,
    /// A retired entry keeps its history but no new fact may name it.
    pub active: bool,
}

/// Every catalogue folded from the `agencies` stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalogues {
    /// The entries of each catalogue in the order they were registered: the order reports
    /// list them in.
    entries: BTreeMap<Catalogue, Vec<Entry>>,
    goals: BTreeMap<(AnnualGoal, i32), u64>,
}

impl Catalogues {
    /// The entries of `catalogue`, in registration order, retired ones included.
    pub fn entries(&self, catalogue: Catalogue) -> &[Entry] {
        self.entries.get(&catalogue).map_or(&[], Vec::as_slice)
    }

    pub fn get(&self, catalogue: Catalogue, code: &str) -> Option<&Entry> {
        self.entries(catalogue).iter().find(|e| e.code == code)
    }

    /// The goal set for `year`, if any.
    pub fn goal(&self, goal: AnnualGoal, year: i32) -> Option<u64> {
        self.goals.get(&(goal, year)).copied()
    }

    /// Every goal set, by goal and year.
    pub fn goals(&self) -> impl Iterator<Item = (AnnualGoal, i32, u64)> + '_ {
        self.goals.iter().map(|(&(g, y), &t)| (g, y, t))
    }

    /// Checks that `code`, given in `field`, is an active code of `catalogue`.
    pub fn require(
        &self,
        catalogue: Catalogue,
        field: &'static str,
        code: &str,
    ) -> Result<(), DomainError> {
        match self.get(catalogue, code) {
            Some(e) if e.active => Ok(()),
            Some(_) => Err(DomainError::CodeRetired {
                field,
                code: code.to_owned(),
                valid: self.active_codes(catalogue),
            }),
            None => Err(DomainError::UnknownCode {
                field,
                catalogue: catalogue.code(),
                code: code.to_owned(),
                valid: self.active_codes(catalogue),
            }),
        }
    }

    fn active_codes(&self, catalogue: Catalogue) -> Vec<String> {
        self.entries(catalogue)
            .iter()
            .filter(|e| e.active)
            .map(|e| e.code.clone())
            .collect()
    }

    pub fn apply(&mut self, event: &DomainEvent) {
        match event {
            DomainEvent::CatalogueEntryRegistered {
                catalogue,
                code,
                label,
            } => {
                let list = self.entries.entry(*catalogue).or_default();
                if !list.iter().any(|e| &e.code == code) {
                    list.push(Entry {
                        code: code.clone(),
                        label: label.clone(),
                        active: true,
                    });
                }
            }
            DomainEvent::CatalogueEntryRenamed {
                catalogue,
                code,
                label,
            } => {
                if let Some(e) = self.entry_mut(*catalogue, code) {
                    e.label.clone_from(label);
                }
            }
            DomainEvent::CatalogueEntryRetired { catalogue, code } => {
                if let Some(e) = self.entry_mut(*catalogue, code) {
                    e.active = false;
                }
            }
            DomainEvent::AnnualGoalSet { goal, year, target } => {
                self.goals.insert((*goal, *year), *target);
            }
            _ => {}
        }
    }

    fn entry_mut(&mut self, catalogue: Catalogue, code: &str) -> Option<&mut Entry> {
        self.entries
            .get_mut(&catalogue)?
            .iter_mut()
            .find(|e| e.code == code)
    }

    /// The entry a rename or retirement names: a code of the catalogue, not retired.
    fn require_entry(&self, catalogue: Catalogue, code: &str) -> Result<(), DomainError> {
        check_code("code", code)?;
        self.require(catalogue, "code", code)
    }
}

/// Decides a catalogue command against the folded catalogues (`None`: not one of them).
pub(crate) fn decide(
    state: &Catalogues,
    cmd: &Command,
) -> Option<Result<Vec<DomainEvent>, DomainError>> {
    Some(match cmd {
        Command::RegisterCatalogueEntry(i) => register(state, i.catalogue, &i.code, &i.label),
        Command::RenameCatalogueEntry(i) => state
            .require_entry(i.catalogue, &i.code)
            .and_then(|_| required("label", &i.label))
            .map(|label| {
                vec![DomainEvent::CatalogueEntryRenamed {
                    catalogue: i.catalogue,
                    code: i.code.clone(),
                    label,
                }]
            }),
        Command::RetireCatalogueEntry(i) => state.require_entry(i.catalogue, &i.code).map(|()| {
            vec![DomainEvent::CatalogueEntryRetired {
                catalogue: i.catalogue,
                code: i.code.clone(),
            }]
        }),
        Command::SetAnnualGoal(i) => Ok(vec![DomainEvent::AnnualGoalSet {
            goal: i.goal,
            year: i.year,
            target: i.target,
        }]),
        _ => return None,
    })
}

fn register(
    state: &Catalogues,
    catalogue: Catalogue,
    code: &str,
    label: &str,
) -> Result<Vec<DomainEvent>, DomainError> {
    check_code("code", code)?;
    let label = required("label", label)?;
    // A code is never reused, not even after it was retired: stored facts name it.
    if state.get(catalogue, code).is_some() {
        return Err(DomainError::DuplicateCode {
            catalogue: catalogue.code(),
            code: code.to_owned(),
        });
    }
    Ok(vec![DomainEvent::CatalogueEntryRegistered {
        catalogue,
        code: code.to_owned(),
        label,
    }])
}
