//! Aggregate read models: semáforo (compliance), cabinet report, commitments,
//! correspondence and petitions, mirrored from `seguimiento_projections`.

use async_graphql::{ComplexObject, Context, Enum, SimpleObject};
use chrono::NaiveDate;
use rust_decimal::prelude::ToPrimitive;
use seguimiento_domain::values::{Channel, MeetingType, Status, Topic};
use seguimiento_projections::models::{
    cabinet::{CabinetReport as PCabinet, CabinetSummary, MeetingTypeRow},
    commitments::CommitmentRow,
    correspondence::{AgencyTurns as PAgencyTurns, MonthCounts},
    item::EventRef,
    petitions::{PetitionMonthRow, PetitionsReport as PPetitions},
    semaforo::{ExplainedItem as PExplained, SemaforoReport, SemaforoRow},
    FigureError as PFigureError,
};
use seguimiento_projections::Scope;

use super::agency::{load_agencies, load_agency, Agency};
use super::two_decimals;
use crate::error::ApiResult;

/// Which items a semáforo counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum ComplianceScope {
    /// Actions registered on campaign commitments, per agency.
    CommitmentActions,
    /// Cabinet agreements and instructions, per responsible agency.
    CabinetAgreements,
    /// Activities, per responsible person.
    Activities,
}

impl From<ComplianceScope> for Scope {
    fn from(s: ComplianceScope) -> Scope {
        match s {
            ComplianceScope::CommitmentActions => Scope::CommitmentActions,
            ComplianceScope::CabinetAgreements => Scope::CabinetAgreements,
            ComplianceScope::Activities => Scope::Activities,
        }
    }
}

impl From<Scope> for ComplianceScope {
    fn from(s: Scope) -> ComplianceScope {
        match s {
            Scope::CommitmentActions => ComplianceScope::CommitmentActions,
            Scope::CabinetAgreements => ComplianceScope::CabinetAgreements,
            Scope::Activities => ComplianceScope::Activities,
        }
    }
}

/// One row of a semáforo (or its total).
#[derive(Debug, Clone, SimpleObject)]
pub struct ComplianceRow {
    /// Agency acronym, responsible person, or `TOTAL`.
    pub key: String,
    pub name: String,
    /// Commitments assigned (commitment actions) or items (other scopes).
    pub assigned: u64,
    pub items: u64,
    pub concluded: u64,
    pub in_progress: u64,
    pub pending: u64,
    /// Due before the report date and not concluded.
    pub overdue: u64,
    /// Mean item progress, two decimals, half up ("93.48").
    pub compliance_pct: String,
    /// Mean item progress in whole percent, half up, as published.
    pub compliance_whole: i64,
    /// Sum of the actions' investment, exact ("31211647.00"); null when the stored amounts
    /// do not add up (see `error`).
    pub investment_mxn: Option<String>,
    /// Why a figure of this row is null; every other row answers as usual.
    pub error: Option<FigureError>,
}

/// Why a figure of one row could not be computed from the stored events.
#[derive(Debug, Clone, SimpleObject)]
pub struct FigureError {
    /// Stable code: `AMOUNT_OVERFLOW` (amounts stored by an older release, before amounts
    /// were bounded, add up beyond what a decimal holds).
    pub code: String,
    /// Log position of the event that caused it (null on a record folded from its stream,
    /// where the message names the commitment instead).
    pub position: Option<u64>,
    pub message: String,
}

impl From<PFigureError> for FigureError {
    fn from(e: PFigureError) -> Self {
        FigureError {
            code: e.code,
            position: Some(e.position),
            message: e.message,
        }
    }
}

impl From<SemaforoRow> for ComplianceRow {
    fn from(r: SemaforoRow) -> Self {
        ComplianceRow {
            key: r.key,
            name: r.name,
            assigned: r.assigned,
            items: r.items,
            concluded: r.concluded,
            in_progress: r.in_progress,
            pending: r.pending,
            overdue: r.overdue,
            compliance_pct: two_decimals(r.compliance_pct),
            compliance_whole: r.compliance_whole.to_i64().unwrap_or_default(),
            investment_mxn: r.investment_mxn,
            error: r.error.map(Into::into),
        }
    }
}

/// A semáforo: rows by compliance (descending), and the total.
#[derive(Debug, Clone, SimpleObject)]
pub struct ComplianceReport {
    pub scope: ComplianceScope,
    /// The date "overdue" is judged on.
    pub report_date: NaiveDate,
    pub rows: Vec<ComplianceRow>,
    pub total: ComplianceRow,
}

impl From<SemaforoReport> for ComplianceReport {
    fn from(r: SemaforoReport) -> Self {
        ComplianceReport {
            scope: r.scope.into(),
            report_date: r.report_date,
            rows: r.rows.into_iter().map(Into::into).collect(),
            total: r.total.into(),
        }
    }
}

/// An event a figure comes from.
#[derive(Debug, Clone, SimpleObject)]
pub struct EventReference {
    pub event_id: uuid::Uuid,
    pub global_position: u64,
}

impl From<EventRef> for EventReference {
    fn from(e: EventRef) -> Self {
        EventReference {
            event_id: e.event_id,
            global_position: e.position,
        }
    }
}

/// One item behind a semáforo row.
#[derive(Debug, Clone, SimpleObject)]
pub struct ExplainedItem {
    /// Action, agreement or activity id.
    pub item_id: String,
    /// "Compromiso 12", the agreement's description, the activity's title.
    pub reference: String,
    pub status: Status,
    /// The progress the item counts with, two decimals.
    pub progress_used: String,
    pub overdue: bool,
    pub status_event: Option<EventReference>,
    pub progress_event: Option<EventReference>,
}

impl From<PExplained> for ExplainedItem {
    fn from(e: PExplained) -> Self {
        ExplainedItem {
            item_id: e.item_id,
            reference: e.reference,
            status: e.status,
            progress_used: two_decimals(e.progress_used),
            overdue: e.overdue,
            status_event: e.status_event.map(Into::into),
            progress_event: e.progress_event.map(Into::into),
        }
    }
}

/// Compliance of one meeting type.
#[derive(Debug, Clone, SimpleObject)]
pub struct MeetingTypeCompliance {
    pub meeting_type: MeetingType,
    /// As published ("GABINETE PRIORITARIO DE AGUA").
    pub label: String,
    pub meetings_held: u64,
    pub agreements: u64,
    pub concluded: u64,
    pub in_progress: u64,
    pub pending: u64,
    pub general_compliance_pct: String,
}

impl From<MeetingTypeRow> for MeetingTypeCompliance {
    fn from(r: MeetingTypeRow) -> Self {
        MeetingTypeCompliance {
            meeting_type: r.meeting_type,
            label: r.label,
            meetings_held: r.meetings_held,
            agreements: r.agreements,
            concluded: r.concluded,
            in_progress: r.in_progress,
            pending: r.pending,
            general_compliance_pct: two_decimals(r.general_compliance_pct),
        }
    }
}

/// Overall cabinet compliance.
#[derive(Debug, Clone, SimpleObject)]
pub struct CabinetOverall {
    pub agreements: u64,
    pub concluded: u64,
    pub in_progress: u64,
    pub pending: u64,
    pub compliance_pct: String,
}

impl From<CabinetSummary> for CabinetOverall {
    fn from(s: CabinetSummary) -> Self {
        CabinetOverall {
            agreements: s.agreements,
            concluded: s.concluded,
            in_progress: s.in_progress,
            pending: s.pending,
            compliance_pct: two_decimals(s.compliance_pct),
        }
    }
}

/// Cabinet compliance report: per meeting type and overall.
#[derive(Debug, Clone, SimpleObject)]
pub struct CabinetReport {
    pub year: Option<i32>,
    pub meeting_types: Vec<MeetingTypeCompliance>,
    pub overall: CabinetOverall,
}

impl From<PCabinet> for CabinetReport {
    fn from(r: PCabinet) -> Self {
        CabinetReport {
            year: r.year,
            meeting_types: r.rows.into_iter().map(Into::into).collect(),
            overall: r.summary.into(),
        }
    }
}

/// One campaign commitment's figures.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex)]
pub struct CommitmentSummary {
    pub number: u32,
    pub text: String,
    pub agency_acronyms: Vec<String>,
    pub actions: u64,
    pub concluded: u64,
    pub in_progress: u64,
    pub pending: u64,
    /// Null when the stored amounts do not add up (see `error`).
    pub investment_mxn: Option<String>,
    pub progress_pct: String,
    /// Why a figure of this commitment is null.
    pub error: Option<FigureError>,
}

impl From<CommitmentRow> for CommitmentSummary {
    fn from(r: CommitmentRow) -> Self {
        CommitmentSummary {
            number: r.number,
            text: r.text,
            agency_acronyms: r.agencies,
            actions: r.actions,
            concluded: r.concluded,
            in_progress: r.in_progress,
            pending: r.pending,
            investment_mxn: r.investment_mxn,
            progress_pct: two_decimals(r.progress_pct),
            error: r.error.map(Into::into),
        }
    }
}

#[ComplexObject]
impl CommitmentSummary {
    /// The agencies assigned (batched through the agency loader).
    async fn agencies(&self, ctx: &Context<'_>) -> ApiResult<Vec<Agency>> {
        load_agencies(ctx, &self.agency_acronyms).await
    }
}

/// Overall figures of the commitments (extra fields of the connection).
#[derive(Debug, Clone, SimpleObject)]
pub struct CommitmentsTotals {
    pub commitments: u64,
    pub actions: u64,
    /// Null when some commitment's investment does not add up (see `error`).
    pub investment_mxn: Option<String>,
    /// Why a figure of the totals is null.
    pub error: Option<FigureError>,
    /// Mean of the commitments' progress.
    pub compliance_pct: String,
    /// Mean item progress over all actions.
    pub actions_compliance_pct: String,
}

/// Correspondence columns of one month (or the year).
#[derive(Debug, Clone, SimpleObject)]
pub struct CorrespondenceCounts {
    pub relevantes: u64,
    pub ccp: u64,
    pub folios_dggd: u64,
    pub oficios_dggd: u64,
    pub expedientes_dggd: u64,
    pub seguimientos_dggd: u64,
    pub folios_oee: u64,
    pub oficios_oee: u64,
    pub expedientes_oee: u64,
    pub seguimientos_oee: u64,
}

impl From<MonthCounts> for CorrespondenceCounts {
    fn from(c: MonthCounts) -> Self {
        CorrespondenceCounts {
            relevantes: c.relevantes,
            ccp: c.ccp,
            folios_dggd: c.folios_dggd,
            oficios_dggd: c.oficios_dggd,
            expedientes_dggd: c.expedientes_dggd,
            seguimientos_dggd: c.seguimientos_dggd,
            folios_oee: c.folios_oee,
            oficios_oee: c.oficios_oee,
            expedientes_oee: c.expedientes_oee,
            seguimientos_oee: c.seguimientos_oee,
        }
    }
}

/// One month of the correspondence table.
#[derive(Debug, Clone, SimpleObject)]
pub struct CorrespondenceMonth {
    pub month: u32,
    #[graphql(flatten)]
    pub counts: CorrespondenceCounts,
}

#[derive(Debug, Clone, SimpleObject)]
pub struct CorrespondenceMonthly {
    pub year: i32,
    /// Always 12 rows.
    pub months: Vec<CorrespondenceMonth>,
    pub total: CorrespondenceCounts,
}

/// Turn figures of one agency.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex)]
pub struct AgencyTurns {
    pub acronym: String,
    pub letters_turned: u64,
    /// Share turned within 48 hours, two decimals.
    #[graphql(name = "within48hPct")]
    pub within_48h_pct: String,
    pub unanswered: u64,
    pub median_turn_hours: String,
}

impl From<PAgencyTurns> for AgencyTurns {
    fn from(a: PAgencyTurns) -> Self {
        AgencyTurns {
            acronym: a.agency,
            letters_turned: a.letters_turned,
            within_48h_pct: two_decimals(a.within_48h_pct),
            unanswered: a.unanswered,
            median_turn_hours: two_decimals(a.median_turn_hours),
        }
    }
}

#[ComplexObject]
impl AgencyTurns {
    async fn agency(&self, ctx: &Context<'_>) -> ApiResult<Option<Agency>> {
        load_agency(ctx, &self.acronym).await
    }
}

/// Petitions of one topic: every topic of the catalogue in its order, zeros included.
#[derive(Debug, Clone, SimpleObject)]
pub struct TopicCount {
    pub topic: Topic,
    /// The catalogue's label (the code, for a code it does not hold).
    pub label: String,
    pub count: u64,
}

/// Petitions of one channel: every channel of the catalogue in its order, zeros included.
#[derive(Debug, Clone, SimpleObject)]
pub struct ChannelCount {
    pub channel: Channel,
    /// The catalogue's label (the code, for a code it does not hold).
    pub label: String,
    pub count: u64,
}

/// Petitions of one month (or the year).
#[derive(Debug, Clone, SimpleObject)]
pub struct PetitionsMonth {
    /// 1–12; 0 for the year total.
    pub month: u32,
    pub received: u64,
    pub by_topic: Vec<TopicCount>,
    pub by_channel: Vec<ChannelCount>,
    /// Distinct tours with petitions.
    pub tours: u64,
    pub tour_follow_ups: u64,
    pub follow_ups: u64,
    pub turned: u64,
    pub attended: u64,
    pub closed: u64,
}

impl From<PetitionMonthRow> for PetitionsMonth {
    fn from(m: PetitionMonthRow) -> Self {
        PetitionsMonth {
            month: m.month,
            received: m.received,
            by_topic: m
                .by_topic
                .into_iter()
                .map(|c| TopicCount {
                    topic: Topic::new(c.code),
                    label: c.label,
                    count: c.count,
                })
                .collect(),
            by_channel: m
                .by_channel
                .into_iter()
                .map(|c| ChannelCount {
                    channel: Channel::new(c.code),
                    label: c.label,
                    count: c.count,
                })
                .collect(),
            tours: m.tours,
            tour_follow_ups: m.tour_follow_ups,
            follow_ups: m.follow_ups,
            turned: m.turned,
            attended: m.attended,
            closed: m.closed,
        }
    }
}

#[derive(Debug, Clone, SimpleObject)]
pub struct PetitionsMonthly {
    pub year: i32,
    pub months: Vec<PetitionsMonth>,
    pub total: PetitionsMonth,
    /// The year's goal of petitions attended (meta anual, set with `setAnnualGoal`);
    /// null when none was set.
    pub annual_goal: Option<u64>,
    /// Attended in the year vs the goal, two decimals; null without a goal.
    pub goal_pct: Option<String>,
}

impl From<PPetitions> for PetitionsMonthly {
    fn from(r: PPetitions) -> Self {
        PetitionsMonthly {
            year: r.year,
            months: r.months.into_iter().map(Into::into).collect(),
            total: r.total.into(),
            annual_goal: r.annual_goal,
            goal_pct: r.goal_pct.map(two_decimals),
        }
    }
}
