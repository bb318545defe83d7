//! An item's status/progress history with corrections: the rule behind every semáforo.
//!
//! Item progress (avance) = 100 when concluded, 0 when pending, and when in progress its
//! last recorded progress or 50 when none was recorded. A correction (EventCorrected)
//! replaces the values of the event it corrects, in place, so later events still win.

use chrono::NaiveDate;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use seguimiento_domain::values::{Progress, Status};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::event::ProjectedEvent;

/// One event that set status, progress or due date of an item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fact {
    pub event_id: Uuid,
    pub position: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<Progress>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_on: Option<NaiveDate>,
    /// Whether an EventCorrected changed this fact.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub corrected: bool,
}

/// Folds an agreement's later event (status, progress, cancellation, a correction, which
/// may also correct the description) the one way every projection that follows agreements
/// reads it. Returns `false` for an event that changes none of them.
pub fn fold_agreement_event(
    track: &mut Track,
    description: &mut String,
    cancelled: &mut bool,
    ev: &ProjectedEvent,
) -> bool {
    use seguimiento_domain::DomainEvent as E;
    match &ev.event {
        E::ProgressReported { progress, .. } => track.record(ev, None, Some(*progress), None),
        E::StatusChanged { status } => track.record(ev, Some(*status), None, None),
        E::AgreementCancelled { .. } => *cancelled = true,
        E::EventCorrected {
            corrected_event_id,
            status,
            progress,
            due_on,
            description: corrected,
            ..
        } => {
            track.correct(*corrected_event_id, *status, *progress, *due_on);
            if let Some(d) = corrected {
                description.clone_from(d);
            }
        }
        _ => return false,
    }
    true
}

report! {
    /// Where a figure came from: the id and log position of an event.
    #[derive(Copy)]
    pub struct EventRef as "EventReference" {
        pub event_id: Uuid,
        #[cfg_attr(feature = "graphql", graphql(name = "globalPosition"))]
        pub position: u64,
    }
}

/// The facts of one item, in log order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Track {
    pub facts: Vec<Fact>,
}

impl Track {
    /// Records the values an event sets (any of them may be absent).
    pub fn record(
        &mut self,
        ev: &ProjectedEvent,
        status: Option<Status>,
        progress: Option<Progress>,
        due_on: Option<NaiveDate>,
    ) {
        if status.is_none() && progress.is_none() && due_on.is_none() {
            return;
        }
        self.facts.push(Fact {
            event_id: ev.id,
            position: ev.position,
            status,
            progress,
            due_on,
            corrected: false,
        });
    }

    /// The facts of an item just created: pending, with its due date.
    pub fn created(ev: &ProjectedEvent, due_on: Option<NaiveDate>) -> Self {
        let mut track = Track::default();
        track.record(ev, Some(Status::Pending), None, due_on);
        track
    }

    /// Applies a correction to the fact of `event_id`: each given value replaces the
    /// corrected event's. Returns `false` when the event is not part of this item.
    pub fn correct(
        &mut self,
        event_id: Uuid,
        status: Option<Status>,
        progress: Option<Progress>,
        due_on: Option<NaiveDate>,
    ) -> bool {
        let Some(f) = self.facts.iter_mut().find(|f| f.event_id == event_id) else {
            return false;
        };
        if status.is_some() {
            f.status = status;
        }
        if progress.is_some() {
            f.progress = progress;
        }
        if due_on.is_some() {
            f.due_on = due_on;
        }
        f.corrected = true;
        true
    }

    fn last_with<T>(&self, pick: impl Fn(&Fact) -> Option<T>) -> Option<(T, &Fact)> {
        self.facts
            .iter()
            .rev()
            .find_map(|f| pick(f).map(|v| (v, f)))
    }

    /// Current status (pending when none was ever set).
    pub fn status(&self) -> Status {
        self.last_with(|f| f.status)
            .map_or(Status::Pending, |(s, _)| s)
    }

    /// Last recorded progress.
    pub fn last_progress(&self) -> Option<Progress> {
        self.last_with(|f| f.progress).map(|(p, _)| p)
    }

    /// Current due date.
    pub fn due_on(&self) -> Option<NaiveDate> {
        self.last_with(|f| f.due_on).map(|(d, _)| d)
    }

    /// The progress the item counts with (see the module doc).
    pub fn progress_used(&self) -> Decimal {
        self.status().item_progress(self.last_progress())
    }

    /// The event that set the current status.
    pub fn status_source(&self) -> Option<EventRef> {
        self.last_with(|f| f.status).map(|(_, f)| f.into())
    }

    /// The event the used progress comes from: the last progress report when in progress
    /// and one exists, otherwise the status event.
    pub fn progress_source(&self) -> Option<EventRef> {
        if self.status() == Status::InProgress {
            if let Some((_, f)) = self.last_with(|f| f.progress) {
                return Some(f.into());
            }
        }
        self.status_source()
    }

    /// Not concluded and due before `on`.
    pub fn overdue(&self, on: NaiveDate) -> bool {
        self.status() != Status::Concluded && self.due_on().is_some_and(|d| d < on)
    }
}

impl From<&Fact> for EventRef {
    fn from(f: &Fact) -> Self {
        EventRef {
            event_id: f.event_id,
            position: f.position,
        }
    }
}

/// Counts of a group of items: the columns of a semáforo row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub items: u64,
    pub concluded: u64,
    pub in_progress: u64,
    pub pending: u64,
    pub overdue: u64,
    /// Sum of the progress used of every item (exact).
    pub progress_sum: Decimal,
}

impl Tally {
    pub fn add(&mut self, status: Status, progress: Decimal, overdue: bool) {
        self.items += 1;
        match status {
            Status::Concluded => self.concluded += 1,
            Status::InProgress => self.in_progress += 1,
            Status::Pending => self.pending += 1,
        }
        if overdue {
            self.overdue += 1;
        }
        self.progress_sum += progress;
    }

    pub fn add_track(&mut self, track: &Track, on: Option<NaiveDate>) {
        self.add(
            track.status(),
            track.progress_used(),
            on.is_some_and(|d| track.overdue(d)),
        );
    }

    pub fn merge(&mut self, other: &Tally) {
        self.items += other.items;
        self.concluded += other.concluded;
        self.in_progress += other.in_progress;
        self.pending += other.pending;
        self.overdue += other.overdue;
        self.progress_sum += other.progress_sum;
    }

    /// Exact mean item progress.
    pub fn mean(&self) -> Decimal {
        super::mean(self.progress_sum, self.items)
    }

    /// Mean progress with two decimals (half up).
    pub fn pct(&self) -> super::Pct {
        super::Pct(super::round_half_up(self.mean(), 2))
    }

    /// Mean progress as a whole percent (half up), as the published semáforo prints it.
    pub fn whole(&self) -> u64 {
        // A mean of progresses in 0..=100: always a whole number that fits.
        super::round_half_up(self.mean(), 0)
            .to_u64()
            .unwrap_or_default()
    }
}
