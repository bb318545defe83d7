//! Who may do what. Roles (roles) are enforced here, in the application layer, so every
//! entry point (GraphQL, import) gets the same rules.

use serde::{Deserialize, Serialize};

/// A caller's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including the agency catalog and tokens.
    Admin,
    /// Enlace / capturista: writes only for its own agency; reads like a viewer.
    Capturista,
    /// Contraloría / transparency: reads everything including history and verify; no writes.
    Auditor,
    /// Dashboards: aggregates only, never history or personal data.
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Capturista => "capturista",
            Role::Auditor => "auditor",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "capturista" => Some(Role::Capturista),
            "auditor" => Some(Role::Auditor),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }

    /// May read the audit history, verify chains and petitions' detail.
    pub fn can_read_history(self) -> bool {
        matches!(self, Role::Admin | Role::Auditor)
    }

    /// May see a citizen's contact data.
    pub fn can_read_personal_data(self) -> bool {
        matches!(self, Role::Admin | Role::Auditor)
    }
}

/// An authenticated caller. `subject` is what lands in each event's `actor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub subject: String,
    pub role: Role,
    /// The agency a capturista writes for.
    pub agency: Option<String>,
}

impl Principal {
    /// The principal used by trusted local tools (CLI import, demo loader).
    pub fn system(subject: &str) -> Self {
        Principal {
            subject: subject.to_string(),
            role: Role::Admin,
            agency: None,
        }
    }
}
