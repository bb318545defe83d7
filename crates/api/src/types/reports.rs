//! Report types: the projections' report structs are the GraphQL types (their `graphql`
//! feature derives them); the API adds only the links from a row to its agencies, which
//! go through the API's loader.

use async_graphql::{ComplexObject, Context, SimpleObject};
use seguimiento_projections::models::commitments::CommitmentRow;
use seguimiento_projections::models::correspondence::AgencyTurns as TurnFigures;

use super::agency::{load_agencies, load_agency, Agency};
use crate::error::ApiResult;

/// One campaign commitment's figures.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex)]
pub struct CommitmentSummary {
    #[graphql(flatten)]
    pub figures: CommitmentRow,
}

#[ComplexObject]
impl CommitmentSummary {
    /// The agencies assigned (batched through the agency loader).
    async fn agencies(&self, ctx: &Context<'_>) -> ApiResult<Vec<Agency>> {
        load_agencies(ctx, &self.figures.agencies).await
    }
}

/// Turn figures of one agency.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex)]
pub struct AgencyTurns {
    #[graphql(flatten)]
    pub figures: TurnFigures,
}

#[ComplexObject]
impl AgencyTurns {
    async fn agency(&self, ctx: &Context<'_>) -> ApiResult<Option<Agency>> {
        load_agency(ctx, &self.figures.agency).await
    }
}
