//! The deterministic 2023 demo dataset (commands), consistent with the published tables
//! in `tests/fixtures/`, and a pure in-memory command runner.
//!
//! Shape of [`dataset_2023`]:
//! - `agencies`: the 13 agencies of the commitments semáforo (exact published names) plus
//!   cabinet agencies (SIDUR, CEA, SE, IMTES, COVES).
//! - `commitments`: commitments 1..=220; 299 assignments (commitments 1..79 have two
//!   agencies) giving each agency its published `commitments_assigned`; each agency's
//!   published actions with exactly its concluded / in progress / pending counts (in
//!   progress without recorded progress, so they count 50) and its investment split
//!   exactly across its actions.
//! - `cabinet`: 39 meetings and 158 agreements by meeting type reproducing every row of
//!   `gabinetes_2023.csv` (in-progress agreements carry decimal progress so each
//!   type's mean rounds to the published two decimals), plus 124 instructions and
//!   agreements of other origins (press conference, special project) so the summary is
//!   282 / 106 / 84 / 92; the in-progress progress values of all 84 sum to exactly
//!   84 × 50, hence 14,800 / 282 = 52.48 %. Three extra agreements are cancelled (not
//!   counted).
//! - `letters`: every monthly column of `correspondencia_2023.csv`.
//! - `petitions`: ~2,400 petitions with turns, follow-ups (some on tours), attended and
//!   closed.
//! - `activities`: a dozen internal activities with several responsibles.

mod activities;
mod agencies;
mod cabinet;
mod commitments;
mod letters;
mod petitions;
mod rng;
mod runner;

use chrono::{DateTime, TimeZone, Utc};
use seguimiento_domain::Command;

pub use runner::{events_for, recorded, run, DemoEvent, Simulator};

/// One command of the dataset, with who issues it and when it took effect.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoCommand {
    pub command: Command,
    pub actor: String,
    pub effective_at: DateTime<Utc>,
}

/// The dataset as of the report generation ("12/02/2024 14:39:43"): every command in a
/// valid order.
pub fn dataset_2023() -> Vec<DemoCommand> {
    let mut out = Vec::new();
    out.extend(agencies::commands());
    out.extend(commitments::commands());
    out.extend(cabinet::commands());
    out.extend(activities::commands());
    out.extend(letters::commands());
    out.extend(petitions::commands());
    out
}

/// The instant the published semáforo was generated; the demo's "now".
pub fn report_instant() -> DateTime<Utc> {
    // 14:39:43 in Sonora (UTC−7).
    Utc.with_ymd_and_hms(2024, 2, 12, 21, 39, 43)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Midnight of a date in Sonora, as the domain reads bare dates.
pub(crate) fn day(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    local(y, m, d, 0, 0)
}

/// A local Sonora wall-clock time as UTC.
pub(crate) fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    chrono::NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|date| date.and_hms_opt(h, min, 0))
        .map_or(DateTime::<Utc>::MIN_UTC, seguimiento_domain::time::instant)
}

/// Deterministic ids: UUID v5 of a name in a fixed namespace.
pub(crate) fn id(name: &str) -> uuid::Uuid {
    const NS: uuid::Uuid = uuid::Uuid::from_u128(0x5e6f_0a1b_2c3d_4e5f_8a9b_0c1d_2e3f_4a5b);
    uuid::Uuid::new_v5(&NS, name.as_bytes())
}

pub(crate) fn cmd(command: Command, actor: &str, effective_at: DateTime<Utc>) -> DemoCommand {
    DemoCommand {
        command,
        actor: actor.to_owned(),
        effective_at,
    }
}

/// Total investment of the published commitments semáforo (sum of its rows), MXN.
pub fn published_investment() -> rust_decimal::Decimal {
    agencies::SEMAFORO
        .iter()
        .map(|s| rust_decimal::Decimal::from(s.investment_mxn))
        .sum()
}
