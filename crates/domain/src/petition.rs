//! Petición ciudadana (stream `petition-<uuid>`).
//!
//! Workflow: received through a channel (call center, chat, e-mail, correspondence,
//! hearing, tour, social media) with a topic, municipality and the citizen's contact data
//! → turned to an agency or another level of government → followed up many times →
//! attended (atendida) → closed. The contact data is personal: it lives only in the
//! `PetitionReceived` and `PetitionContactRectified` events and is never kept in this state
//! or shown in errors.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::command::{input, route, Agencies, Command, Route};
use crate::error::DomainError;
use crate::event::DomainEvent;
use crate::petition_stream;
use crate::rules::{in_order, optional, required};
use crate::values::{Channel, CitizenContact, FollowUpKind, Topic, TurnTarget};
use crate::{Aggregate, Context};

// ----- Commands: inputs and routing -----

input! {
    /// Recibir petición ciudadana.
    pub struct ReceivePetitionInput {
        pub petition_id: Uuid,
        pub channel: Channel,
        pub topic: Topic,
        pub municipality: String,
        pub citizen_id: Uuid,
        pub contact: CitizenContact,
        /// Required when the channel is a tour (gira).
        pub tour_id: Option<String>,
        pub received_at: DateTime<Utc>,
    }
}

input! {
    pub struct TurnPetitionInput { pub petition_id: Uuid, pub target: TurnTarget, pub turned_at: DateTime<Utc> }
}

input! {
    pub struct RecordPetitionFollowUpInput { pub petition_id: Uuid, pub kind: FollowUpKind, pub at: DateTime<Utc> }
}

input! {
    pub struct AttendPetitionInput { pub petition_id: Uuid, pub at: DateTime<Utc> }
}

input! {
    pub struct ClosePetitionInput { pub petition_id: Uuid, pub at: DateTime<Utc> }
}

input! {
    /// Rectificar datos de contacto (ARCO): the citizen's contact as it should read.
    pub struct RectifyCitizenContactInput { pub petition_id: Uuid, pub contact: CitizenContact }
}

// Receiving and rectifying carry personal data: the Office's alone.
route!(ReceivePetitionInput, RectifyCitizenContactInput => |i| petition_stream(i.petition_id));
impl Route for TurnPetitionInput {
    fn stream_id(&self) -> String {
        petition_stream(self.petition_id)
    }
    fn agencies_touched(&self, _: &[DomainEvent], out: &mut Agencies) {
        if let TurnTarget::Agency(a) = &self.target {
            out.push(a);
        }
    }
}
route!(RecordPetitionFollowUpInput, AttendPetitionInput, ClosePetitionInput
    => |i| petition_stream(i.petition_id),
       |_, history, out| out.extend(turned_to(history)));

/// Every agency the petition was turned to.
fn turned_to(history: &[DomainEvent]) -> impl Iterator<Item = &str> {
    history.iter().filter_map(|e| match e {
        DomainEvent::PetitionTurned {
            target: TurnTarget::Agency(a),
            ..
        } => Some(a.as_str()),
        _ => None,
    })
}

// ----- State and rules -----

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Petition {
    pub petition_id: Uuid,
    pub citizen_id: Uuid,
    pub channel: Channel,
    pub topic: Topic,
    pub municipality: String,
    pub tour_id: Option<String>,
    pub received_at: DateTime<Utc>,
    pub turned_to: Vec<TurnTarget>,
    pub follow_ups: u32,
    pub attended_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// State of a `petition-<uuid>` stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PetitionState {
    pub petition: Option<Petition>,
}

impl Aggregate for PetitionState {
    fn apply(&mut self, event: &DomainEvent) {
        if let DomainEvent::PetitionReceived {
            petition_id,
            channel,
            topic,
            municipality,
            citizen_id,
            tour_id,
            received_at,
            ..
        } = event
        {
            self.petition = Some(Petition {
                petition_id: *petition_id,
                citizen_id: *citizen_id,
                channel: channel.clone(),
                topic: topic.clone(),
                municipality: municipality.clone(),
                tour_id: tour_id.clone(),
                received_at: *received_at,
                turned_to: Vec::new(),
                follow_ups: 0,
                attended_at: None,
                closed_at: None,
            });
            return;
        }
        let Some(p) = self.petition.as_mut() else {
            return;
        };
        match event {
            DomainEvent::PetitionTurned { target, .. } => p.turned_to.push(target.clone()),
            DomainEvent::PetitionFollowUpRecorded { .. } => p.follow_ups += 1,
            DomainEvent::PetitionAttended { at } => p.attended_at = Some(*at),
            DomainEvent::PetitionClosed { at } => p.closed_at = Some(*at),
            _ => {}
        }
    }
    fn decide(&self, cmd: &Command, ctx: &Context) -> Result<Vec<DomainEvent>, DomainError> {
        decide(self, cmd, ctx)
    }
}

/// The petition, which must exist, be open, and have been received no later than `at`.
fn open_petition<'s>(
    state: &'s PetitionState,
    cmd: &Command,
    field: &'static str,
    at: DateTime<Utc>,
) -> Result<&'s Petition, DomainError> {
    let p = state
        .petition
        .as_ref()
        .ok_or_else(|| DomainError::NotFound(cmd.stream_id()))?;
    if p.closed_at.is_some() {
        return Err(DomainError::AlreadyClosed(cmd.stream_id()));
    }
    in_order("receivedAt", p.received_at, field, at)?;
    Ok(p)
}

pub fn decide(
    state: &PetitionState,
    cmd: &Command,
    ctx: &Context,
) -> Result<Vec<DomainEvent>, DomainError> {
    match cmd {
        Command::ReceivePetition(i) => {
            if state.petition.is_some() {
                return Err(DomainError::AlreadyExists(cmd.stream_id()));
            }
            let municipality = required("municipality", &i.municipality)?;
            let contact = normalized_contact(&i.contact)?;
            let tour_id = optional(i.tour_id.as_ref());
            let codes = &ctx.agencies.catalogues;
            codes.require(Channel::CATALOGUE, "channel", i.channel.as_str())?;
            codes.require(Topic::CATALOGUE, "topic", i.topic.as_str())?;
            // Tour petitions are reported per tour, so the tour must be known.
            if i.channel.is_tour() && tour_id.is_none() {
                return Err(DomainError::EmptyField("tourId"));
            }
            Ok(vec![DomainEvent::PetitionReceived {
                petition_id: i.petition_id,
                channel: i.channel.clone(),
                topic: i.topic.clone(),
                municipality,
                citizen_id: i.citizen_id,
                contact: contact.into(),
                tour_id,
                received_at: i.received_at,
            }])
        }
        Command::TurnPetition(i) => {
            open_petition(state, cmd, "turnedAt", i.turned_at)?;
            let target = match &i.target {
                TurnTarget::Agency(a) => TurnTarget::Agency(ctx.agencies.require_active(a)?),
                level => level.clone(),
            };
            Ok(vec![DomainEvent::PetitionTurned {
                target,
                turned_at: i.turned_at,
            }])
        }
        Command::RecordPetitionFollowUp(i) => {
            open_petition(state, cmd, "at", i.at)?;
            let codes = &ctx.agencies.catalogues;
            codes.require(FollowUpKind::CATALOGUE, "kind", i.kind.as_str())?;
            Ok(vec![DomainEvent::PetitionFollowUpRecorded {
                kind: i.kind.clone(),
                at: i.at,
            }])
        }
        Command::AttendPetition(i) => {
            let p = open_petition(state, cmd, "at", i.at)?;
            if p.attended_at.is_some() {
                return Err(DomainError::ForbiddenTransition {
                    from: "Attended".into(),
                    to: "Attended".into(),
                });
            }
            Ok(vec![DomainEvent::PetitionAttended { at: i.at }])
        }
        Command::ClosePetition(i) => {
            let p = open_petition(state, cmd, "at", i.at)?;
            if let Some(attended) = p.attended_at {
                in_order("attendedAt", attended, "at", i.at)?;
            }
            Ok(vec![DomainEvent::PetitionClosed { at: i.at }])
        }
        // A citizen may have their data rectified whatever the petition's stage.
        Command::RectifyCitizenContact(i) => {
            let p = state
                .petition
                .as_ref()
                .ok_or_else(|| DomainError::NotFound(cmd.stream_id()))?;
            Ok(vec![DomainEvent::PetitionContactRectified {
                citizen_id: p.citizen_id,
                contact: normalized_contact(&i.contact)?.into(),
            }])
        }
        other => Err(crate::wrong_aggregate(other, "petition")),
    }
}

/// A contact with its name required and empty optional fields dropped.
fn normalized_contact(contact: &CitizenContact) -> Result<CitizenContact, DomainError> {
    let mut contact = contact.clone();
    contact.name = required("contact.name", &contact.name)?;
    contact.phone = optional(contact.phone.as_ref());
    contact.email = optional(contact.email.as_ref());
    contact.address = optional(contact.address.as_ref());
    Ok(contact)
}
