//! The Office's catalogues as GraphQL reads them.

use async_graphql::SimpleObject;
use seguimiento_domain::catalogue::{AnnualGoal, Catalogue, Entry};

/// One entry of a catalogue.
#[derive(Debug, Clone, SimpleObject)]
pub struct CatalogueEntry {
    pub catalogue: Catalogue,
    /// Stable forever: what commands and stored events name.
    pub code: String,
    pub label: String,
    /// A retired code is kept by the facts that name it; no new fact may.
    pub active: bool,
}

impl CatalogueEntry {
    pub fn new(catalogue: Catalogue, e: &Entry) -> Self {
        CatalogueEntry {
            catalogue,
            code: e.code.clone(),
            label: e.label.clone(),
            active: e.active,
        }
    }
}

/// A goal set for one year (meta anual).
#[derive(Debug, Clone, SimpleObject)]
pub struct AnnualGoalValue {
    pub goal: AnnualGoal,
    pub year: i32,
    pub target: u64,
}
