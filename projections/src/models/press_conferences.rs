//! Projector `press_conferences`: the register of press conferences ("Ruedas de Prensa")
//! and what was said in them, for the conference list, the executive report of one
//! conference and the period report.
//!
//! Keys: `conference/<stream>`, one document per conference, with a summary of each
//! instruction given at it; `instruction/<agreement stream>`, what those summaries are
//! computed from (the instruction's status and progress facts, with corrections).

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use seguimiento_domain::press_conference::{conference_stream, ConferenceKind};
use seguimiento_domain::values::{InstructionStage, Status};
use seguimiento_domain::{AggregateKind, DomainEvent};
use seguimiento_eventstore::EventStore;
use serde::{Deserialize, Serialize};

use super::item::{fold_agreement_event, Track};
use super::{mean, round_half_up, Pct};
use crate::error::Result;
use crate::event::ProjectedEvent;
use crate::projector::Projector;
use crate::rows::Rows;
use crate::runner::as_of::{load, View};

/// The projector (registered as `press_conferences`).
pub struct PressConferences;

report! {
    /// One conference as recorded.
    pub struct ConferenceDoc as "PressConference" {
        pub conference_id: uuid::Uuid,
        /// The stream that holds it (`press-conference-<uuid>`).
        pub stream: String,
        pub kind: ConferenceKind,
        pub date: NaiveDate,
        pub presided_by: String,
        pub topic: String,
        pub state: String,
        pub venue: String,
        pub duration_minutes: u32,
        /// Registered before they speak, in order of registration.
        #[serde(default)]
        pub participants: Vec<Participant>,
        /// What was said, in the order it was recorded.
        #[serde(default)]
        pub interventions: Vec<Intervention>,
        /// The instructions given at the conference and where they stand.
        #[serde(default)]
        pub instructions: Vec<ConferenceInstruction>,
    }
}

/// A stored row of the projection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "row", rename_all = "camelCase")]
pub enum PressRow {
    Conference(ConferenceDoc),
    Instruction(InstructionLink),
}

fn conference_mut<'a>(rows: &'a mut Rows<PressRow>, key: &str) -> Option<&'a mut ConferenceDoc> {
    match rows.get_mut(key) {
        Some(PressRow::Conference(c)) => Some(c),
        _ => None,
    }
}

fn conferences(rows: &Rows<PressRow>) -> impl Iterator<Item = &ConferenceDoc> {
    rows.with_prefix("conference/")
        .filter_map(|(_, r)| match r {
            PressRow::Conference(c) => Some(c),
            PressRow::Instruction(_) => None,
        })
}

report! {
    /// An instruction given at a conference, as it stands.
    pub struct ConferenceInstruction as "PressConferenceInstruction" {
        pub agreement_id: uuid::Uuid,
        pub description: String,
        /// The last stage recorded, if any.
        pub stage: Option<InstructionStage>,
        pub status: Status,
        /// The progress it counts with: 100 concluded, 0 pending, else the last recorded
        /// (50 when none), two decimals.
        pub progress_pct: Pct,
        pub cancelled: bool,
    }
}

/// What an instruction given at a conference is summarized from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstructionLink {
    /// The key of its conference's row.
    pub conference: String,
    pub agreement_id: uuid::Uuid,
    pub description: String,
    pub stage: Option<InstructionStage>,
    pub cancelled: bool,
    pub track: Track,
}

impl InstructionLink {
    fn summary(&self) -> ConferenceInstruction {
        ConferenceInstruction {
            agreement_id: self.agreement_id,
            description: self.description.clone(),
            stage: self.stage,
            status: self.track.status(),
            progress_pct: Pct(round_half_up(self.track.progress_used(), 2)),
            cancelled: self.cancelled,
        }
    }
}

/// Folds an agreement's event into the instruction it tracks, if it was given at a
/// conference, and refreshes that instruction's summary on the conference.
fn apply_instruction(rows: &mut Rows<PressRow>, ev: &ProjectedEvent) {
    use DomainEvent as E;
    let key = format!("instruction/{}", ev.stream);
    if let E::AgreementCreated {
        agreement_id,
        conference_id: Some(conference_id),
        description,
        due_on,
        ..
    } = &ev.event
    {
        let track = Track::created(ev, *due_on);
        let link = InstructionLink {
            conference: format!("conference/{}", conference_stream(*conference_id)),
            agreement_id: *agreement_id,
            description: description.clone(),
            stage: None,
            cancelled: false,
            track,
        };
        rows.insert(key.clone(), PressRow::Instruction(link));
    } else {
        let Some(PressRow::Instruction(link)) = rows.get_mut(&key) else {
            return;
        };
        if let E::InstructionStageChanged { stage } = &ev.event {
            link.stage = Some(*stage);
        } else if !fold_agreement_event(
            &mut link.track,
            &mut link.description,
            &mut link.cancelled,
            ev,
        ) {
            return;
        }
    }
    let Some(PressRow::Instruction(link)) = rows.get(&key) else {
        return;
    };
    let (conference, summary) = (link.conference.clone(), link.summary());
    if let Some(c) = conference_mut(rows, &conference) {
        match c
            .instructions
            .iter_mut()
            .find(|i| i.agreement_id == summary.agreement_id)
        {
            Some(i) => *i = summary,
            None => c.instructions.push(summary),
        }
    }
}

/// What an intervention is: a speaker's exposition (the President's conference), a
/// question or its answer (the Governor's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[cfg_attr(feature = "graphql", graphql(name = "PressConferenceInterventionKind"))]
pub enum InterventionKind {
    Exposition,
    Question,
    Answer,
}

report! {
    /// One row of the executive report ("Reporte de Conferencias de Prensa"): who spoke,
    /// with their role and outlet, what they said and on which topic.
    pub struct Intervention as "PressConferenceIntervention" {
        pub kind: InterventionKind,
        pub participant: String,
        pub role: String,
        pub outlet: String,
        /// The exposition's ideas, the question, or the answer's summary.
        pub text: String,
        /// The exposition's topic; for a question and its answer, the conference's.
        pub topic: String,
    }
}

report! {
    /// Someone who takes part in a conference.
    pub struct Participant as "PressConferenceParticipant" {
        pub name: String,
        pub role: String,
        pub outlet: String,
    }
}

impl Projector for PressConferences {
    const NAME: &'static str = "press_conferences";
    const READS: &'static [AggregateKind] =
        &[AggregateKind::PressConference, AggregateKind::Agreement];
    type Row = PressRow;

    fn apply(rows: &mut Rows<PressRow>, ev: &ProjectedEvent) -> Result<()> {
        if ev.event.aggregate_kind() == AggregateKind::Agreement {
            apply_instruction(rows, ev);
            return Ok(());
        }
        let key = format!("conference/{}", ev.stream);
        match &ev.event {
            DomainEvent::PressConferenceHeld {
                conference_id,
                kind,
                date,
                presided_by,
                topic,
                state,
                venue,
                duration_minutes,
            } => rows.insert(
                key,
                PressRow::Conference(ConferenceDoc {
                    conference_id: *conference_id,
                    stream: ev.stream.clone(),
                    kind: *kind,
                    date: *date,
                    presided_by: presided_by.clone(),
                    topic: topic.clone(),
                    state: state.clone(),
                    venue: venue.clone(),
                    duration_minutes: duration_minutes.0,
                    participants: Vec::new(),
                    interventions: Vec::new(),
                    instructions: Vec::new(),
                }),
            ),
            DomainEvent::ConferenceParticipantRegistered { name, role, outlet } => {
                if let Some(c) = conference_mut(rows, &key) {
                    c.participants.push(Participant {
                        name: name.clone(),
                        role: role.clone(),
                        outlet: outlet.clone(),
                    });
                }
            }
            DomainEvent::ConferenceExpositionRecorded {
                speaker,
                topic,
                ideas,
            } => {
                if let Some(c) = conference_mut(rows, &key) {
                    c.intervene(InterventionKind::Exposition, speaker, ideas, topic.clone());
                }
            }
            DomainEvent::ConferenceQuestionRecorded {
                asked_by,
                question,
                answered_by,
                answer_summary,
            } => {
                if let Some(c) = conference_mut(rows, &key) {
                    let topic = c.topic.clone();
                    c.intervene(
                        InterventionKind::Question,
                        asked_by,
                        question,
                        topic.clone(),
                    );
                    c.intervene(InterventionKind::Answer, answered_by, answer_summary, topic);
                }
            }
            _ => {}
        }
        Ok(())
    }
}

impl ConferenceDoc {
    /// Adds what `who` said, with their role and outlet as registered.
    fn intervene(&mut self, kind: InterventionKind, who: &str, text: &str, topic: String) {
        let (role, outlet) = self
            .participants
            .iter()
            .find(|p| p.name == who)
            .map(|p| (p.role.clone(), p.outlet.clone()))
            .unwrap_or_default();
        self.interventions.push(Intervention {
            kind,
            participant: who.to_owned(),
            role,
            outlet,
            text: text.to_owned(),
            topic,
        });
    }

    /// The topics the conference addressed: its own and its expositions', each once.
    fn topics(&self) -> Vec<&str> {
        let mut topics = vec![self.topic.as_str()];
        for i in &self.interventions {
            if !topics.contains(&i.topic.as_str()) {
                topics.push(&i.topic);
            }
        }
        topics
    }
}

/// One conference by id, with its executive report (its interventions).
pub fn conference(rows: &Rows<PressRow>, conference_id: uuid::Uuid) -> Option<ConferenceDoc> {
    match rows.get(&format!("conference/{}", conference_stream(conference_id))) {
        Some(PressRow::Conference(c)) => Some(c.clone()),
        _ => None,
    }
}

/// The conferences of a year (every year when `None`), oldest first.
pub fn list(rows: &Rows<PressRow>, year: Option<i32>) -> Vec<ConferenceDoc> {
    let mut out: Vec<ConferenceDoc> = conferences(rows)
        .filter(|c| year.is_none_or(|y| c.date.year() == y))
        .cloned()
        .collect();
    out.sort_by(|a, b| (a.date, &a.stream).cmp(&(b.date, &b.stream)));
    out
}

report! {
    /// Conferences of one month (1..=12) by kind.
    pub struct ConferenceMonth as "PressConferenceMonth" {
        pub month: u32,
        pub president_morning: u64,
        pub governor: u64,
        pub total: u64,
    }
}

report! {
    /// A topic and how many conferences addressed it (as their topic or in an exposition).
    pub struct TopicCount as "PressConferenceTopic" {
        pub topic: String,
        pub conferences: u64,
    }
}

report! {
    /// The period report of a year: conferences per month and the topics most addressed.
    pub struct PeriodReport as "PressConferencePeriod" {
        pub year: i32,
        /// Always 12 rows, months 1..=12.
        pub months: Vec<ConferenceMonth>,
        pub total: u64,
        /// Most addressed first; ties by topic.
        pub topics: Vec<TopicCount>,
        /// Instructions given at the year's conferences (cancelled ones aside).
        pub instructions: u64,
        /// Their compliance: the mean progress they count with, two decimals.
        pub instruction_compliance_pct: Pct,
    }
}

pub fn period_report(rows: &Rows<PressRow>, year: i32) -> PeriodReport {
    let mut months: Vec<ConferenceMonth> = (1..=12)
        .map(|month| ConferenceMonth {
            month,
            president_morning: 0,
            governor: 0,
            total: 0,
        })
        .collect();
    let mut topics: BTreeMap<&str, u64> = BTreeMap::new();
    let conferences = list(rows, Some(year));
    for c in &conferences {
        // `date.month0()` is 0..=11 for every valid date.
        let m = &mut months[c.date.month0() as usize];
        match c.kind {
            ConferenceKind::PresidentMorning => m.president_morning += 1,
            ConferenceKind::Governor => m.governor += 1,
        }
        m.total += 1;
        for topic in c.topics() {
            *topics.entry(topic).or_default() += 1;
        }
    }
    let mut topics: Vec<TopicCount> = topics
        .into_iter()
        .map(|(topic, conferences)| TopicCount {
            topic: topic.to_owned(),
            conferences,
        })
        .collect();
    topics.sort_by(|a, b| {
        b.conferences
            .cmp(&a.conferences)
            .then(a.topic.cmp(&b.topic))
    });
    let given: Vec<&ConferenceInstruction> = conferences
        .iter()
        .flat_map(|c| &c.instructions)
        .filter(|i| !i.cancelled)
        .collect();
    let sum = given.iter().map(|i| i.progress_pct.0).sum();
    PeriodReport {
        year,
        months,
        total: conferences.len() as u64,
        topics,
        instructions: given.len() as u64,
        instruction_compliance_pct: Pct(round_half_up(mean(sum, given.len() as u64), 2)),
    }
}

pub async fn query_list(
    store: &EventStore,
    view: View,
    year: Option<i32>,
) -> Result<Vec<ConferenceDoc>> {
    let rows = load::<PressConferences>(store, view).await?;
    Ok(list(&rows, year))
}

pub async fn query_conference(
    store: &EventStore,
    view: View,
    conference_id: uuid::Uuid,
) -> Result<Option<ConferenceDoc>> {
    let rows = load::<PressConferences>(store, view).await?;
    Ok(conference(&rows, conference_id))
}

pub async fn query_period(store: &EventStore, view: View, year: i32) -> Result<PeriodReport> {
    let rows = load::<PressConferences>(store, view).await?;
    Ok(period_report(&rows, year))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests;
