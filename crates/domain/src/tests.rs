//! Tests shared across aggregates.
