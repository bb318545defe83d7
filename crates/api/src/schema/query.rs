//! Queries: aggregates (live tables or an as-of fold), the agency catalog, one record's
//! current state, and the audit history.

use std::collections::HashMap;

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, Object, ID};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use seguimiento_domain::agency::AgencyCatalog;
use seguimiento_domain::catalogue::Catalogue;
use seguimiento_domain::{self as domain, DomainEvent, StreamState};
use seguimiento_eventstore::EventStore;
use seguimiento_projections::models::cabinet::{self, CabinetReport};
use seguimiento_projections::models::commitments::{self, CommitmentsReport};
use seguimiento_projections::models::compliance::Compliance;
use seguimiento_projections::models::correspondence::{self, Correspondence, CorrespondenceReport};
use seguimiento_projections::models::petitions::{self, Petitions, PetitionsReport};
use seguimiento_projections::models::press_conferences::{
    self, ConferenceDoc, PeriodReport, PressConferences,
};
use seguimiento_projections::models::semaforo::{self, ExplainedItem, SemaforoReport};
use seguimiento_projections::{Projector, Scope, View};
use tokio::sync::SemaphorePermit;

use super::{view, Services};
use crate::auth::{
    principal, require_history, require_office_work, require_own_record, require_personal_data,
    require_records,
};
use crate::cache::{depends_on, depends_on_today};
use crate::error::{ApiError, ApiResult};
use crate::limits::read_model_complexity;
use crate::types::agency::{load_agency, Agency};
use crate::types::catalogue::{AnnualGoalValue, CatalogueEntry};
use crate::types::history::{reveal, HistoryEvent, LogHead, VerifyResult};
use crate::types::records::{Agreement, Commitment, Letter, Petition};
use crate::types::reports::{AgencyTurns, CommitmentSummary};

pub struct QueryRoot;

fn services<'a>(ctx: &'a Context<'_>) -> ApiResult<&'a Services> {
    Ok(ctx.data::<Services>()?)
}

/// What a read-model resolver reads through. The fold permit is held for as long as the
/// resolver keeps this, so that an as-of or effective-at fold counts against the limit
/// of concurrent folds until its answer is built.
struct ReadView<'a> {
    store: &'a EventStore,
    view: View,
    _fold: Option<SemaphorePermit<'a>>,
}

/// The steps every read of `projection` takes before querying it: the view asked for, a
/// fold permit when that view folds the log, and the dependency on the projection
/// recorded for the response cache.
async fn read_view<'a>(
    ctx: &'a Context<'_>,
    as_of: Option<DateTime<Utc>>,
    effective_at: Option<DateTime<Utc>>,
    projection: &'static str,
) -> ApiResult<ReadView<'a>> {
    let s = services(ctx)?;
    let view = view(as_of, effective_at);
    let fold = s.fold_permit(!view.is_live()).await?;
    depends_on(ctx, s.app.store(), projection, view).await?;
    Ok(ReadView {
        store: s.app.store(),
        view,
        _fold: fold,
    })
}

/// The folded `agencies` stream (agencies and the other catalogues), for any signed-in
/// caller.
async fn catalog(ctx: &Context<'_>) -> ApiResult<AgencyCatalog> {
    principal(ctx)?;
    Ok(services(ctx)?.app.agency_catalog().await?)
}

/// Parses a numeric cursor.
fn cursor(after: Option<String>) -> ApiResult<Option<u64>> {
    after
        .map(|a| {
            a.parse::<u64>()
                .map_err(|_| ApiError::Validation(format!("invalid cursor {a:?}")).into())
        })
        .transpose()
}

#[Object]
impl QueryRoot {
    /// The agency catalog (every role).
    async fn agencies(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = false)] include_inactive: bool,
    ) -> ApiResult<Vec<Agency>> {
        Ok(catalog(ctx)
            .await?
            .agencies
            .values()
            .filter(|a| include_inactive || a.active)
            .map(Agency::from)
            .collect())
    }

    /// The entries of one of the Office's catalogues in their order (every role): the
    /// codes commands accept (`active`) and, with `includeRetired`, the retired ones that
    /// stored facts still name.
    async fn catalogue(
        &self,
        ctx: &Context<'_>,
        kind: Catalogue,
        #[graphql(default = false)] include_retired: bool,
    ) -> ApiResult<Vec<CatalogueEntry>> {
        Ok(catalog(ctx)
            .await?
            .catalogues
            .entries(kind)
            .iter()
            .filter(|e| include_retired || e.active)
            .map(|e| CatalogueEntry::new(kind, e))
            .collect())
    }

    /// The annual goals set (metas anuales), by goal and year (every role).
    async fn annual_goals(&self, ctx: &Context<'_>) -> ApiResult<Vec<AnnualGoalValue>> {
        Ok(catalog(ctx)
            .await?
            .catalogues
            .goals()
            .map(|(goal, year, target)| AnnualGoalValue { goal, year, target })
            .collect())
    }

    /// One agency by acronym (case-insensitive).
    async fn agency(&self, ctx: &Context<'_>, acronym: String) -> ApiResult<Option<Agency>> {
        principal(ctx)?;
        load_agency(ctx, &acronym).await
    }

    /// Semáforo of one scope. Without `asOf`/`effectiveAt` it reads the live read model;
    /// with them it folds the log in memory (`asOf`: recorded ≤ T, what the system showed;
    /// `effectiveAt`: took effect ≤ T, as known now).
    #[graphql(
        complexity = "read_model_complexity(as_of.is_some() || effective_at.is_some(), child_complexity)"
    )]
    async fn compliance(
        &self,
        ctx: &Context<'_>,
        scope: Scope,
        as_of: Option<DateTime<Utc>>,
        effective_at: Option<DateTime<Utc>>,
    ) -> ApiResult<SemaforoReport> {
        principal(ctx)?;
        let read = read_view(ctx, as_of, effective_at, Compliance::NAME).await?;
        depends_on_today(ctx, read.view);
        Ok(semaforo::query(read.store, scope, read.view, None).await?)
    }

    /// The items behind one semáforo row (`key`: agency acronym or responsible person).
    /// They are records, so they are read as records: not by viewers; by a capturista,
    /// every commitment's actions, its own agency's agreements, and no activities (the
    /// Office's internal work).
    #[graphql(
        complexity = "read_model_complexity(as_of.is_some() || effective_at.is_some(), child_complexity)"
    )]
    async fn compliance_explain(
        &self,
        ctx: &Context<'_>,
        scope: Scope,
        key: String,
        as_of: Option<DateTime<Utc>>,
        effective_at: Option<DateTime<Utc>>,
    ) -> ApiResult<Vec<ExplainedItem>> {
        let who = require_records(ctx)?;
        let key = match scope {
            Scope::Activities => key,
            _ => domain::values::normalize_acronym(&key),
        };
        match scope {
            Scope::CommitmentActions => {}
            Scope::CabinetAgreements => require_own_record(&who, std::iter::once(key.as_str()))?,
            Scope::Activities => require_office_work(&who)?,
        }
        let read = read_view(ctx, as_of, effective_at, Compliance::NAME).await?;
        depends_on_today(ctx, read.view);
        Ok(semaforo::query_explain(read.store, scope, &key, read.view, None).await?)
    }

    /// Cabinet compliance per meeting type and overall (`year` filters by meeting date and
    /// agreement issue date).
    #[graphql(
        complexity = "read_model_complexity(as_of.is_some() || effective_at.is_some(), child_complexity)"
    )]
    async fn cabinet_report(
        &self,
        ctx: &Context<'_>,
        year: Option<i32>,
        as_of: Option<DateTime<Utc>>,
        effective_at: Option<DateTime<Utc>>,
    ) -> ApiResult<CabinetReport> {
        principal(ctx)?;
        let read = read_view(ctx, as_of, effective_at, Compliance::NAME).await?;
        Ok(cabinet::query(read.store, read.view, year).await?)
    }

    /// Campaign commitments by number (cursor: the commitment number), with overall
    /// figures.
    #[graphql(
        complexity = "read_model_complexity(as_of.is_some() || effective_at.is_some(), child_complexity)"
    )]
    async fn commitments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        as_of: Option<DateTime<Utc>>,
        effective_at: Option<DateTime<Utc>>,
    ) -> ApiResult<Connection<String, CommitmentSummary, CommitmentsReport, EmptyFields>> {
        principal(ctx)?;
        let s = services(ctx)?;
        let first = s.config.page_size(first)?;
        let after = cursor(after)?;
        let read = read_view(ctx, as_of, effective_at, Compliance::NAME).await?;
        let mut totals = commitments::query(read.store, read.view).await?;
        let mut rows: Vec<_> = std::mem::take(&mut totals.rows)
            .into_iter()
            .filter(|r| after.is_none_or(|a| u64::from(r.number) > a))
            .take(first + 1)
            .collect();
        let has_next = rows.len() > first;
        rows.truncate(first);
        let mut conn = Connection::with_additional_fields(after.is_some(), has_next, totals);
        conn.edges.extend(
            rows.into_iter().map(|figures| {
                Edge::new(figures.number.to_string(), CommitmentSummary { figures })
            }),
        );
        Ok(conn)
    }

    /// Monthly correspondence table of a year (the columns of the published report).
    #[graphql(complexity = "read_model_complexity(as_of.is_some(), child_complexity)")]
    async fn correspondence_monthly(
        &self,
        ctx: &Context<'_>,
        year: i32,
        as_of: Option<DateTime<Utc>>,
    ) -> ApiResult<CorrespondenceReport> {
        principal(ctx)?;
        let read = read_view(ctx, as_of, None, Correspondence::NAME).await?;
        Ok(correspondence::query(read.store, read.view, year).await?)
    }

    /// Per agency: letters turned, share within 48 hours, still unanswered.
    #[graphql(complexity = "read_model_complexity(as_of.is_some(), child_complexity)")]
    async fn correspondence_by_agency(
        &self,
        ctx: &Context<'_>,
        year: i32,
        as_of: Option<DateTime<Utc>>,
    ) -> ApiResult<Vec<AgencyTurns>> {
        principal(ctx)?;
        let read = read_view(ctx, as_of, None, Correspondence::NAME).await?;
        let r = correspondence::query(read.store, read.view, year).await?;
        Ok(r.agencies
            .into_iter()
            .map(|figures| AgencyTurns { figures })
            .collect())
    }

    /// The press conferences of a year ("Ruedas de Prensa"), oldest first, each with its
    /// participants and interventions.
    #[graphql(complexity = "read_model_complexity(as_of.is_some(), child_complexity)")]
    async fn press_conferences(
        &self,
        ctx: &Context<'_>,
        year: i32,
        as_of: Option<DateTime<Utc>>,
    ) -> ApiResult<Vec<ConferenceDoc>> {
        principal(ctx)?;
        let read = read_view(ctx, as_of, None, PressConferences::NAME).await?;
        Ok(press_conferences::query_list(read.store, read.view, Some(year)).await?)
    }

    /// One press conference with its executive report ("Reporte de Conferencias de
    /// Prensa": each participant's interventions and their topic); null if none has the id.
    #[graphql(complexity = "read_model_complexity(as_of.is_some(), child_complexity)")]
    async fn press_conference(
        &self,
        ctx: &Context<'_>,
        conference_id: uuid::Uuid,
        as_of: Option<DateTime<Utc>>,
    ) -> ApiResult<Option<ConferenceDoc>> {
        principal(ctx)?;
        let read = read_view(ctx, as_of, None, PressConferences::NAME).await?;
        Ok(press_conferences::query_conference(read.store, read.view, conference_id).await?)
    }

    /// The period report of the press conferences of a year: conferences per month and
    /// kind, and the topics most addressed.
    #[graphql(complexity = "read_model_complexity(as_of.is_some(), child_complexity)")]
    async fn press_conference_period(
        &self,
        ctx: &Context<'_>,
        year: i32,
        as_of: Option<DateTime<Utc>>,
    ) -> ApiResult<PeriodReport> {
        principal(ctx)?;
        let read = read_view(ctx, as_of, None, PressConferences::NAME).await?;
        Ok(press_conferences::query_period(read.store, read.view, year).await?)
    }

    /// Monthly petitions by topic and channel, tours, progress to the annual goal.
    #[graphql(complexity = "read_model_complexity(as_of.is_some(), child_complexity)")]
    async fn petitions_monthly(
        &self,
        ctx: &Context<'_>,
        year: i32,
        as_of: Option<DateTime<Utc>>,
    ) -> ApiResult<PetitionsReport> {
        principal(ctx)?;
        let read = read_view(ctx, as_of, None, Petitions::NAME).await?;
        Ok(petitions::query(read.store, read.view, year).await?)
    }

    /// Every event of one stream in order (cursor: the version). Admin and auditor.
    async fn history(
        &self,
        ctx: &Context<'_>,
        stream: ID,
        first: Option<i32>,
        after: Option<String>,
        as_of: Option<DateTime<Utc>>,
    ) -> ApiResult<Connection<String, HistoryEvent>> {
        let who = require_history(ctx)?;
        let s = services(ctx)?;
        let first = s.config.page_size(first)?;
        let after = cursor(after)?;
        let events: Vec<_> = s
            .app
            .store()
            .read_stream(stream.as_str(), 0, as_of)
            .try_collect()
            .await?;
        let known: HashMap<uuid::Uuid, (u64, String)> = events
            .iter()
            .map(|e| (e.id, (e.version, e.event_type.clone())))
            .collect();
        let mut page: Vec<_> = events
            .into_iter()
            .filter(|e| after.is_none_or(|a| e.version > a))
            .take(first + 1)
            .collect();
        let has_next = page.len() > first;
        page.truncate(first);
        let personal = who.role.can_read_personal_data();
        let mut conn = Connection::new(after.is_some(), has_next);
        for mut e in page {
            reveal(&s.app, &mut e, personal).await?;
            let cursor = e.version.to_string();
            conn.edges.push(Edge::new(
                cursor,
                HistoryEvent::new(e, |id| known.get(&id).cloned()),
            ));
        }
        Ok(conn)
    }

    /// Walks the hash chain of one stream, or of the whole log (then also the log chain over
    /// all positions). Admin and auditor.
    #[graphql(complexity = "read_model_complexity(stream.is_none(), child_complexity)")]
    async fn verify(&self, ctx: &Context<'_>, stream: Option<ID>) -> ApiResult<VerifyResult> {
        require_history(ctx)?;
        let s = services(ctx)?;
        let _fold = s.fold_permit(stream.is_none()).await?;
        let report = s
            .app
            .store()
            .verify(stream.as_ref().map(|s| s.as_str()))
            .await?;
        Ok(report.into())
    }

    /// The head of the log chain (last position and its link), to keep as an anchor outside
    /// the database. Admin and auditor.
    async fn log_head(&self, ctx: &Context<'_>) -> ApiResult<LogHead> {
        require_history(ctx)?;
        let s = services(ctx)?;
        let head = s.app.store().log_head().await?;
        Ok(head.into())
    }

    /// One agreement or instruction, as of now. A capturista reads only its agency's.
    async fn agreement(&self, ctx: &Context<'_>, id: uuid::Uuid) -> ApiResult<Option<Agreement>> {
        let who = require_records(ctx)?;
        let stream = domain::agreement_stream(id);
        let (state, version) = services(ctx)?.app.stream_state(&stream).await?;
        let record = Agreement::from_state(state, stream, version);
        if let Some(r) = &record {
            require_own_record(&who, r.agency_acronyms.iter().map(String::as_str))?;
        }
        Ok(record)
    }

    /// One campaign commitment with its actions, as of now.
    async fn commitment(&self, ctx: &Context<'_>, number: u32) -> ApiResult<Option<Commitment>> {
        require_records(ctx)?;
        if !(1..=domain::validate::MAX_COMMITMENT_NUMBER).contains(&number) {
            return Err(ApiError::Validation(format!(
                "field number: a commitment number is from 1 to {}, found {number}",
                domain::validate::MAX_COMMITMENT_NUMBER
            ))
            .into());
        }
        let stream = domain::commitment_stream(number);
        let (state, version) = services(ctx)?.app.stream_state(&stream).await?;
        Ok(Commitment::from_state(state, stream, version))
    }

    /// One received letter by folio, as of now. A capturista reads only the letters
    /// turned to its agency.
    async fn letter(&self, ctx: &Context<'_>, folio: String) -> ApiResult<Option<Letter>> {
        let who = require_records(ctx)?;
        let stream = domain::letter_stream(&folio);
        let (state, version) = services(ctx)?.app.stream_state(&stream).await?;
        let record = Letter::from_state(state, stream, version);
        if let Some(r) = &record {
            require_own_record(&who, r.turns.iter().map(|t| t.agency_acronym.as_str()))?;
        }
        Ok(record)
    }

    /// One citizen petition with its contact data. Admin and auditor.
    async fn petition(&self, ctx: &Context<'_>, id: uuid::Uuid) -> ApiResult<Option<Petition>> {
        let who = require_personal_data(ctx)?;
        let stream = domain::petition_stream(id);
        let app = &services(ctx)?.app;
        let recorded = app.load_stream(&stream).await?;
        let version = recorded.last().map(|e| e.version);
        let personal = who.role.can_read_personal_data();
        let mut events = Vec::with_capacity(recorded.len());
        for mut e in recorded {
            reveal(app, &mut e, personal).await?;
            let ev = DomainEvent::from_stored(&e.event_type, e.schema_version, e.payload)
                .map_err(seguimiento_app::AppError::from)?;
            events.push(ev);
        }
        // The latest contact: a rectification replaces the one received.
        let contact = events.iter().rev().find_map(|e| match e {
            DomainEvent::PetitionReceived { contact, .. }
            | DomainEvent::PetitionContactRectified { contact, .. } => contact.plain().cloned(),
            _ => None,
        });
        Ok(match domain::fold(&events) {
            StreamState::Petition(s) => s
                .petition
                .map(|p| Petition::new(p, stream, version, contact)),
            _ => None,
        })
    }
}
