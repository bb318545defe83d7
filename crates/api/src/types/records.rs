//! Current state of one record (agreement, commitment, letter, petition), folded from its
//! stream with the domain. Nested agencies resolve through the agency loader.

use async_graphql::{ComplexObject, Context, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use seguimiento_domain::agreement::Agreement as DAgreement;
use seguimiento_domain::commitment::{Action as DAction, Commitment as DCommitment};
use seguimiento_domain::correspondence::Letter as DLetter;
use seguimiento_domain::petition::Petition as DPetition;
use seguimiento_domain::values::{
    Channel, CitizenContact, Classification, GovernmentLevel, InstructionStage, ItemKind,
    MeetingType, Mxn, Origin, Progress, Status, Topic, TurnTarget, Unit,
};
use seguimiento_domain::StreamState;
use seguimiento_projections::models::AMOUNT_OVERFLOW;
use uuid::Uuid;

use super::agency::{load_agencies, load_agency, Agency};
use crate::error::ApiResult;
use seguimiento_projections::models::FigureError;

/// Budget of one year.
#[derive(Debug, Clone, SimpleObject)]
pub struct BudgetLine {
    pub year: i32,
    pub amount_mxn: Mxn,
}

/// The last "última acción realizada".
#[derive(Debug, Clone, SimpleObject)]
pub struct FollowUp {
    pub date: NaiveDate,
    pub text: String,
}

/// An agreement or instruction as of now.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex)]
pub struct Agreement {
    pub id: Uuid,
    pub stream: String,
    /// The stream's last version (pass it as `expectedVersion` to pin a write).
    pub version: Option<u64>,
    pub kind: ItemKind,
    pub origin: Origin,
    pub meeting_id: Option<Uuid>,
    pub meeting_type: Option<MeetingType>,
    pub description: String,
    pub agency_acronyms: Vec<String>,
    pub responsible_person: String,
    pub issuer: String,
    pub issued_on: NaiveDate,
    pub due_on: Option<NaiveDate>,
    pub budget: Vec<BudgetLine>,
    pub status: Status,
    pub progress: Option<Progress>,
    pub stage: Option<InstructionStage>,
    pub cancelled: bool,
    pub cancellation_reason: Option<String>,
    pub last_follow_up: Option<FollowUp>,
}

impl Agreement {
    /// The agreement a folded stream holds, if it is an agreement's stream.
    pub fn from_state(state: StreamState, stream: String, version: Option<u64>) -> Option<Self> {
        match state {
            StreamState::Agreement(s) => s.agreement.map(|a| Agreement::new(a, stream, version)),
            _ => None,
        }
    }

    pub fn new(a: DAgreement, stream: String, version: Option<u64>) -> Self {
        Agreement {
            id: a.agreement_id,
            stream,
            version,
            kind: a.kind,
            origin: a.origin,
            meeting_id: a.meeting_id,
            meeting_type: a.meeting_type,
            description: a.description,
            agency_acronyms: a.agencies,
            responsible_person: a.responsible_person,
            issuer: a.issuer,
            issued_on: a.issued_on,
            due_on: a.due_on,
            budget: a
                .budget
                .into_iter()
                .map(|b| BudgetLine {
                    year: b.year,
                    amount_mxn: b.amount_mxn,
                })
                .collect(),
            status: a.status,
            progress: a.progress,
            stage: a.stage,
            cancelled: a.cancelled.is_some(),
            cancellation_reason: a.cancelled,
            last_follow_up: a.last_follow_up.map(|(date, text)| FollowUp { date, text }),
        }
    }
}

#[ComplexObject]
impl Agreement {
    /// The responsible agencies.
    async fn agencies(&self, ctx: &Context<'_>) -> ApiResult<Vec<Agency>> {
        load_agencies(ctx, &self.agency_acronyms).await
    }
}

/// An action registered against a commitment.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex)]
pub struct CommitmentAction {
    pub action_id: Uuid,
    pub agency_acronym: String,
    pub description: String,
    pub status: Status,
    pub progress: Option<Progress>,
    pub investment_mxn: Mxn,
    pub date: NaiveDate,
}

impl From<DAction> for CommitmentAction {
    fn from(a: DAction) -> Self {
        CommitmentAction {
            action_id: a.action_id,
            agency_acronym: a.agency,
            description: a.description,
            status: a.status,
            progress: a.progress,
            investment_mxn: a.investment_mxn,
            date: a.date,
        }
    }
}

#[ComplexObject]
impl CommitmentAction {
    /// The agency that registered the action.
    async fn agency(&self, ctx: &Context<'_>) -> ApiResult<Option<Agency>> {
        load_agency(ctx, &self.agency_acronym).await
    }
}

/// A campaign commitment as of now.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex)]
pub struct Commitment {
    pub number: u32,
    pub stream: String,
    pub version: Option<u64>,
    pub text: String,
    pub agency_acronyms: Vec<String>,
    pub actions: Vec<CommitmentAction>,
    /// Sum of the actions' investment; null when the stored amounts do not add up (see
    /// `error`).
    pub investment_mxn: Option<Mxn>,
    /// Why a figure of this commitment is null.
    pub error: Option<FigureError>,
}

impl Commitment {
    /// The commitment a folded stream holds, if it is a commitment's stream.
    pub fn from_state(state: StreamState, stream: String, version: Option<u64>) -> Option<Self> {
        match state {
            StreamState::Commitment(s) => s.commitment.map(|c| Commitment::new(c, stream, version)),
            _ => None,
        }
    }

    pub fn new(c: DCommitment, stream: String, version: Option<u64>) -> Self {
        let investment_mxn = c.investment();
        let error = investment_mxn.is_none().then(|| FigureError {
            code: AMOUNT_OVERFLOW.into(),
            position: None,
            message: format!(
                "the investments of the actions of commitment {} add up beyond what a decimal \
                 holds",
                c.number
            ),
        });
        Commitment {
            number: c.number,
            stream,
            version,
            text: c.text,
            agency_acronyms: c.agencies,
            actions: c.actions.into_values().map(Into::into).collect(),
            investment_mxn,
            error,
        }
    }
}

#[ComplexObject]
impl Commitment {
    async fn agencies(&self, ctx: &Context<'_>) -> ApiResult<Vec<Agency>> {
        load_agencies(ctx, &self.agency_acronyms).await
    }
}

/// One turn of a letter.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex)]
pub struct LetterTurn {
    pub agency_acronym: String,
    pub turned_at: DateTime<Utc>,
}

#[ComplexObject]
impl LetterTurn {
    async fn agency(&self, ctx: &Context<'_>) -> ApiResult<Option<Agency>> {
        load_agency(ctx, &self.agency_acronym).await
    }
}

/// A received letter as of now.
#[derive(Debug, Clone, SimpleObject)]
pub struct Letter {
    pub folio: String,
    pub stream: String,
    pub version: Option<u64>,
    pub unit: Unit,
    pub classification: Classification,
    pub received_at: DateTime<Utc>,
    pub turns: Vec<LetterTurn>,
    pub case_file: Option<String>,
    pub outgoing_letters: u32,
    pub follow_ups: u32,
    pub answered_at: Option<DateTime<Utc>>,
}

impl Letter {
    /// The letter a folded stream holds, if it is a letter's stream.
    pub fn from_state(state: StreamState, stream: String, version: Option<u64>) -> Option<Self> {
        match state {
            StreamState::Letter(s) => s.letter.map(|l| Letter::new(l, stream, version)),
            _ => None,
        }
    }

    pub fn new(l: DLetter, stream: String, version: Option<u64>) -> Self {
        Letter {
            folio: l.folio,
            stream,
            version,
            unit: l.unit,
            classification: l.classification,
            received_at: l.received_at,
            turns: l
                .turned
                .into_iter()
                .map(|(agency_acronym, turned_at)| LetterTurn {
                    agency_acronym,
                    turned_at,
                })
                .collect(),
            case_file: l.case_file,
            outgoing_letters: l.outgoing_letters,
            follow_ups: l.follow_ups,
            answered_at: l.answered_at,
        }
    }
}

/// Where a petition was turned: an agency or another level of government.
#[derive(Debug, Clone, SimpleObject)]
pub struct PetitionTurn {
    pub agency_acronym: Option<String>,
    pub government_level: Option<GovernmentLevel>,
}

/// A citizen's contact data (personal: admins and auditors only).
#[derive(Debug, Clone, SimpleObject)]
pub struct Contact {
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
}

impl From<CitizenContact> for Contact {
    fn from(c: CitizenContact) -> Self {
        Contact {
            name: c.name,
            phone: c.phone,
            email: c.email,
            address: c.address,
        }
    }
}

/// A citizen petition as of now.
#[derive(Debug, Clone, SimpleObject)]
pub struct Petition {
    pub id: Uuid,
    pub stream: String,
    pub version: Option<u64>,
    pub channel: Channel,
    pub topic: Topic,
    pub municipality: String,
    pub tour_id: Option<String>,
    pub received_at: DateTime<Utc>,
    pub turned_to: Vec<PetitionTurn>,
    pub follow_ups: u32,
    pub attended_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Personal data; present only for roles allowed to see it.
    pub contact: Option<Contact>,
}

impl Petition {
    pub fn new(
        p: DPetition,
        stream: String,
        version: Option<u64>,
        contact: Option<CitizenContact>,
    ) -> Self {
        Petition {
            id: p.petition_id,
            stream,
            version,
            channel: p.channel,
            topic: p.topic,
            municipality: p.municipality,
            tour_id: p.tour_id,
            received_at: p.received_at,
            turned_to: p
                .turned_to
                .into_iter()
                .map(|t| match t {
                    TurnTarget::Agency(a) => PetitionTurn {
                        agency_acronym: Some(a),
                        government_level: None,
                    },
                    TurnTarget::GovernmentLevel(g) => PetitionTurn {
                        agency_acronym: None,
                        government_level: Some(g),
                    },
                })
                .collect(),
            follow_ups: p.follow_ups,
            attended_at: p.attended_at,
            closed_at: p.closed_at,
            contact: contact.map(Into::into),
        }
    }
}
