//! Catálogo de dependencias y entidades, with their enlaces. The whole catalog is one
//! aggregate (stream `agencies`) so acronym uniqueness is checked in one place.
//!
//! Workflow: register an agency (optionally under a sector head) → rename it, designate
//! its liaison (enlace, with a designation letter) → deactivate it. An inactive agency
//! keeps its history but cannot be assigned new work.

use std::collections::BTreeMap;

use crate::catalogue::{self, Catalogues};
use crate::command::{input, route, Command};
use crate::error::DomainError;
use crate::event::DomainEvent;
use crate::rules::{acronym, optional, required};
use crate::values::normalize_acronym;
use crate::AGENCY_CATALOG_STREAM;
use crate::{Aggregate, Context};

// ----- Commands: inputs and routing -----

input! {
    /// Registrar dependencia.
    pub struct RegisterAgencyInput { pub acronym: String, pub name: String, pub sector_head: Option<String> }
}

input! {
    pub struct RenameAgencyInput { pub acronym: String, pub name: String }
}

input! {
    pub struct DeactivateAgencyInput { pub acronym: String }
}

input! {
    /// Designar enlace.
    pub struct DesignateLiaisonInput {
        pub acronym: String,
        pub name: String,
        pub position: String,
        pub contact: String,
        pub designation_letter: String,
    }
}

route!(RegisterAgencyInput, RenameAgencyInput, DeactivateAgencyInput, DesignateLiaisonInput
    => |_i| AGENCY_CATALOG_STREAM.to_owned(),
       |i, _, out| out.push(&i.acronym));

// ----- State and rules -----

/// Enlace de una dependencia.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Liaison {
    pub name: String,
    pub position: String,
    pub contact: String,
    pub designation_letter: String,
}

/// Dependencia.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agency {
    pub acronym: String,
    pub name: String,
    pub sector_head: Option<String>,
    pub active: bool,
    pub liaison: Option<Liaison>,
}

/// State of the `agencies` stream: the agencies and the Office's other catalogues.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgencyCatalog {
    pub agencies: BTreeMap<String, Agency>,
    pub catalogues: Catalogues,
}

impl AgencyCatalog {
    /// The agency by acronym (compared normalized).
    pub fn get(&self, acronym: &str) -> Option<&Agency> {
        self.agencies.get(&normalize_acronym(acronym))
    }

    pub fn is_active(&self, acronym: &str) -> bool {
        self.get(acronym).is_some_and(|a| a.active)
    }

    /// The normalized acronym of a known, active agency.
    pub fn require_active(&self, acronym: &str) -> Result<String, DomainError> {
        let key = normalize_acronym(acronym);
        match self.agencies.get(&key) {
            None => Err(DomainError::UnknownAgency(key)),
            Some(a) if !a.active => Err(DomainError::AgencyInactive(key)),
            Some(_) => Ok(key),
        }
    }
}

impl Aggregate for AgencyCatalog {
    fn apply(&mut self, event: &DomainEvent) {
        match event {
            DomainEvent::AgencyRegistered {
                acronym,
                name,
                sector_head,
            } => {
                self.agencies.insert(
                    acronym.clone(),
                    Agency {
                        acronym: acronym.clone(),
                        name: name.clone(),
                        sector_head: sector_head.clone(),
                        active: true,
                        liaison: None,
                    },
                );
            }
            DomainEvent::AgencyRenamed { acronym, name } => {
                if let Some(a) = self.agencies.get_mut(acronym) {
                    a.name.clone_from(name);
                }
            }
            DomainEvent::AgencyDeactivated { acronym } => {
                if let Some(a) = self.agencies.get_mut(acronym) {
                    a.active = false;
                }
            }
            DomainEvent::LiaisonDesignated {
                acronym,
                name,
                position,
                contact,
                designation_letter,
            } => {
                if let Some(a) = self.agencies.get_mut(acronym) {
                    a.liaison = Some(Liaison {
                        name: name.clone(),
                        position: position.clone(),
                        contact: contact.clone(),
                        designation_letter: designation_letter.clone(),
                    });
                }
            }
            other => self.catalogues.apply(other),
        }
    }
    fn decide(&self, cmd: &Command, _ctx: &Context) -> Result<Vec<DomainEvent>, DomainError> {
        decide(self, cmd)
    }
}

/// Decides an agency-catalog command against the folded catalog.
pub fn decide(state: &AgencyCatalog, cmd: &Command) -> Result<Vec<DomainEvent>, DomainError> {
    if let Some(decided) = catalogue::decide(&state.catalogues, cmd) {
        return decided;
    }
    match cmd {
        Command::RegisterAgency(i) => {
            let acr = acronym(&i.acronym)?;
            let name = required("name", &i.name)?;
            if state.agencies.contains_key(&acr) {
                return Err(DomainError::DuplicateAcronym(acr));
            }
            // A ministry heads its own sector, so naming itself is allowed.
            let sector_head = match optional(i.sector_head.as_ref()) {
                Some(h) if normalize_acronym(&h) == acr => Some(acr.clone()),
                Some(h) => Some(state.require_active(&h)?),
                None => None,
            };
            Ok(vec![DomainEvent::AgencyRegistered {
                acronym: acr,
                name,
                sector_head,
            }])
        }
        Command::RenameAgency(i) => {
            let acr = state.require_active(&i.acronym)?;
            let name = required("name", &i.name)?;
            Ok(vec![DomainEvent::AgencyRenamed { acronym: acr, name }])
        }
        Command::DeactivateAgency(i) => {
            let acr = state.require_active(&i.acronym)?;
            Ok(vec![DomainEvent::AgencyDeactivated { acronym: acr }])
        }
        Command::DesignateLiaison(i) => {
            let acr = state.require_active(&i.acronym)?;
            Ok(vec![DomainEvent::LiaisonDesignated {
                acronym: acr,
                name: required("name", &i.name)?,
                position: required("position", &i.position)?,
                contact: required("contact", &i.contact)?,
                designation_letter: required("designationLetter", &i.designation_letter)?,
            }])
        }
        other => Err(crate::wrong_aggregate(other, "agency catalog")),
    }
}
