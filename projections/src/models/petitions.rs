//! Projector `petitions`: monthly citizen petitions (peticiones ciudadanas) by topic and
//! channel, tours (giras) and their follow-ups, attended vs the annual goal.
//!
//! No personal data: neither the contact nor the citizen id is copied into any row.
//! Keys: `month/<yyyy>-<mm>`, `petition/<stream>` (only the tour id and flags), the goal
//! of petitions attended `goal/<yyyy>`, and the topics and channels of the catalogue
//! under `entry/<CATALOGUE>/<code>` (labels and report order).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use seguimiento_domain::catalogue::{AnnualGoal, Catalogue};
use seguimiento_domain::values::{Channel, Topic};
use seguimiento_domain::{AggregateKind, DomainEvent};
use seguimiento_eventstore::EventStore;
use serde::{Deserialize, Serialize};

use super::catalogue::{self, in_catalogue_order, EntryDoc};
use super::{percent, year_month, Pct};
use crate::error::Result;
use crate::event::ProjectedEvent;
use crate::projector::Projector;
use crate::rows::Rows;
use crate::runner::as_of::{load, View};

/// The projector (registered as `petitions`).
pub struct Petitions;

/// Counters of one month.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PetitionMonth {
    pub received: u64,
    pub by_topic: BTreeMap<Topic, u64>,
    pub by_channel: BTreeMap<Channel, u64>,
    /// Distinct tour ids of petitions received this month.
    pub tours: BTreeSet<String>,
    pub turned: u64,
    pub follow_ups: u64,
    /// Follow-ups on petitions collected on a tour.
    pub tour_follow_ups: u64,
    pub attended: u64,
    pub closed: u64,
}

impl PetitionMonth {
    fn add(&mut self, o: &PetitionMonth) {
        self.received += o.received;
        for (k, v) in &o.by_topic {
            *self.by_topic.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &o.by_channel {
            *self.by_channel.entry(k.clone()).or_default() += v;
        }
        self.tours.extend(o.tours.iter().cloned());
        self.turned += o.turned;
        self.follow_ups += o.follow_ups;
        self.tour_follow_ups += o.tour_follow_ups;
        self.attended += o.attended;
        self.closed += o.closed;
    }
}

/// What a petition row keeps: nothing personal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PetitionDoc {
    pub tour_id: Option<String>,
    pub attended: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "row", rename_all = "camelCase")]
pub enum PetitionRow {
    Month(PetitionMonth),
    Petition(PetitionDoc),
    /// A channel or topic of the catalogue, for the report's labels and order.
    Entry(EntryDoc),
    /// The annual goal of petitions attended, under `goal/<yyyy>`.
    Goal {
        target: u64,
    },
}

catalogue::holds_entries!(PetitionRow::Entry);

fn goal_key(year: i32) -> String {
    format!("goal/{year:04}")
}

fn bump(rows: &mut Rows<PetitionRow>, t: DateTime<Utc>, f: impl FnOnce(&mut PetitionMonth)) {
    let (y, m) = year_month(t);
    let row = rows.upsert_with(format!("month/{y:04}-{m:02}"), || {
        PetitionRow::Month(PetitionMonth::default())
    });
    if let PetitionRow::Month(pm) = row {
        f(pm);
    }
}

impl Projector for Petitions {
    const NAME: &'static str = "petitions";
    const READS: &'static [AggregateKind] =
        &[AggregateKind::Petition, AggregateKind::AgencyCatalog];
    type Row = PetitionRow;

    fn apply(rows: &mut Rows<PetitionRow>, ev: &ProjectedEvent) -> Result<()> {
        use DomainEvent as E;
        match &ev.event {
            E::AnnualGoalSet {
                goal: AnnualGoal::PetitionsAttended,
                year,
                target,
            } => {
                rows.insert(goal_key(*year), PetitionRow::Goal { target: *target });
                return Ok(());
            }
            E::CatalogueEntryRegistered { .. }
            | E::CatalogueEntryRenamed { .. }
            | E::CatalogueEntryRetired { .. } => {
                catalogue::apply(rows, &ev.event, KEPT);
                return Ok(());
            }
            _ => {}
        }
        // A rebuild folds every event into every projection: other aggregates' events
        // leave before this projection's key is built for them.
        if ev.event.aggregate_kind() != AggregateKind::Petition {
            return Ok(());
        }
        let key = format!("petition/{}", ev.stream);
        let tour = match rows.get(&key) {
            Some(PetitionRow::Petition(p)) => Some(p.tour_id.is_some()),
            _ => None,
        };
        match &ev.event {
            E::PetitionReceived {
                channel,
                topic,
                tour_id,
                received_at,
                ..
            } => {
                rows.insert(
                    key,
                    PetitionRow::Petition(PetitionDoc {
                        tour_id: tour_id.clone(),
                        attended: false,
                    }),
                );
                bump(rows, *received_at, |m| {
                    m.received += 1;
                    *m.by_topic.entry(topic.clone()).or_default() += 1;
                    *m.by_channel.entry(channel.clone()).or_default() += 1;
                    if let Some(t) = tour_id {
                        m.tours.insert(t.clone());
                    }
                });
            }
            E::PetitionTurned { turned_at, .. } if tour.is_some() => {
                bump(rows, *turned_at, |m| m.turned += 1);
            }
            E::PetitionFollowUpRecorded { at, .. } => {
                if let Some(on_tour) = tour {
                    bump(rows, *at, |m| {
                        m.follow_ups += 1;
                        if on_tour {
                            m.tour_follow_ups += 1;
                        }
                    });
                }
            }
            E::PetitionAttended { at } if tour.is_some() => {
                if let Some(PetitionRow::Petition(p)) = rows.get_mut(&key) {
                    p.attended = true;
                }
                bump(rows, *at, |m| m.attended += 1);
            }
            E::PetitionClosed { at } if tour.is_some() => {
                bump(rows, *at, |m| m.closed += 1);
            }
            _ => {}
        }
        Ok(())
    }

    fn scopes(ev: &ProjectedEvent) -> Vec<String> {
        match ev.event.aggregate_kind() {
            AggregateKind::Petition => vec!["PETITIONS".to_owned()],
            _ => Vec::new(),
        }
    }
}

/// The catalogues whose labels and order the report uses.
const KEPT: &[Catalogue] = &[Catalogue::PetitionTopic, Catalogue::PetitionChannel];

report! {
    /// One month of the report.
    pub struct PetitionMonthRow as "PetitionsMonth" {
        pub month: u32,
        pub received: u64,
        /// Every topic of the catalogue in its order, zeros included, then codes outside it.
        pub by_topic: Vec<TopicCount>,
        /// Every channel of the catalogue in its order, zeros included, then codes outside it.
        pub by_channel: Vec<ChannelCount>,
        /// Distinct tours with petitions received this month.
        pub tours: u64,
        pub tour_follow_ups: u64,
        pub follow_ups: u64,
        pub turned: u64,
        pub attended: u64,
        pub closed: u64,
    }
}

report! {
    pub struct PetitionsReport as "PetitionsMonthly" {
        pub year: i32,
        /// Always 12 rows.
        pub months: Vec<PetitionMonthRow>,
        /// Year totals (`tours`: distinct over the year).
        pub total: PetitionMonthRow,
        /// The year's goal of petitions attended (meta anual); null when none was set (`setAnnualGoal`).
        pub annual_goal: Option<u64>,
        /// Attended in the year vs the goal, two decimals; null without a goal.
        pub goal_pct: Option<Pct>,
    }
}

report! {
    /// Petitions of one topic.
    pub struct TopicCount as "TopicCount" {
        pub topic: Topic,
        /// The catalogue's label (the code, for a code it does not hold).
        pub label: String,
        pub count: u64,
    }
}

report! {
    /// Petitions of one channel.
    pub struct ChannelCount as "ChannelCount" {
        pub channel: Channel,
        /// The catalogue's label (the code, for a code it does not hold).
        pub label: String,
        pub count: u64,
    }
}

/// The catalogue entries a report lists counts by.
struct Labels<'a> {
    topics: Vec<&'a EntryDoc>,
    channels: Vec<&'a EntryDoc>,
}

fn to_row(month: u32, m: &PetitionMonth, labels: &Labels<'_>) -> PetitionMonthRow {
    PetitionMonthRow {
        month,
        received: m.received,
        by_topic: in_catalogue_order(
            &labels.topics,
            m.by_topic.iter().map(|(k, v)| (k.as_str(), *v)),
        )
        .into_iter()
        .map(|c| TopicCount {
            topic: Topic::new(c.code),
            label: c.label,
            count: c.count,
        })
        .collect(),
        by_channel: in_catalogue_order(
            &labels.channels,
            m.by_channel.iter().map(|(k, v)| (k.as_str(), *v)),
        )
        .into_iter()
        .map(|c| ChannelCount {
            channel: Channel::new(c.code),
            label: c.label,
            count: c.count,
        })
        .collect(),
        tours: m.tours.len() as u64,
        tour_follow_ups: m.tour_follow_ups,
        follow_ups: m.follow_ups,
        turned: m.turned,
        attended: m.attended,
        closed: m.closed,
    }
}

pub fn report(rows: &Rows<PetitionRow>, year: i32) -> PetitionsReport {
    let labels = Labels {
        topics: catalogue::entries(rows, Catalogue::PetitionTopic),
        channels: catalogue::entries(rows, Catalogue::PetitionChannel),
    };
    let annual_goal = match rows.get(&goal_key(year)) {
        Some(PetitionRow::Goal { target }) => Some(*target),
        _ => None,
    };
    let mut total = PetitionMonth::default();
    let empty = PetitionMonth::default();
    let months = (1..=12u32)
        .map(|m| {
            let pm = match rows.get(&format!("month/{year:04}-{m:02}")) {
                Some(PetitionRow::Month(pm)) => pm,
                _ => &empty,
            };
            total.add(pm);
            to_row(m, pm, &labels)
        })
        .collect();
    PetitionsReport {
        year,
        months,
        total: to_row(0, &total, &labels),
        annual_goal,
        goal_pct: annual_goal.map(|goal| Pct(percent(total.attended, goal))),
    }
}

pub async fn query(store: &EventStore, view: View, year: i32) -> Result<PetitionsReport> {
    let rows = load::<Petitions>(store, view).await?;
    Ok(report(&rows, year))
}
