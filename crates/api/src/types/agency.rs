//! Agencies (dependencias) from the catalog stream, resolved in batches by
//! [`crate::loaders::AgencyLoader`].

use async_graphql::{ComplexObject, Context, SimpleObject};
use seguimiento_domain::agency::Agency as DomainAgency;

use crate::auth::principal;
use crate::error::ApiResult;
use crate::loaders::AgencyDataLoader;

/// A ministry or state body.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex)]
pub struct Agency {
    pub acronym: String,
    pub name: String,
    /// Acronym of the ministry heading the agency's sector.
    pub sector_head_acronym: Option<String>,
    pub active: bool,
    #[graphql(skip)]
    pub liaison_data: Option<seguimiento_domain::agency::Liaison>,
}

/// The enlace an agency designated.
#[derive(Debug, Clone, SimpleObject)]
pub struct Liaison {
    pub name: String,
    pub position: String,
    pub designation_letter: String,
    /// Contact of the officer; only admins and auditors see it.
    pub contact: Option<String>,
}

impl From<&DomainAgency> for Agency {
    fn from(a: &DomainAgency) -> Self {
        Agency {
            acronym: a.acronym.clone(),
            name: a.name.clone(),
            sector_head_acronym: a.sector_head.clone(),
            active: a.active,
            liaison_data: a.liaison.clone(),
        }
    }
}

#[ComplexObject]
impl Agency {
    /// The ministry heading the agency's sector.
    async fn sector_head(&self, ctx: &Context<'_>) -> ApiResult<Option<Agency>> {
        match &self.sector_head_acronym {
            Some(acronym) => load_agency(ctx, acronym).await,
            None => Ok(None),
        }
    }

    async fn liaison(&self, ctx: &Context<'_>) -> ApiResult<Option<Liaison>> {
        let full = principal(ctx)?.role.can_read_personal_data();
        Ok(self.liaison_data.as_ref().map(|l| Liaison {
            name: l.name.clone(),
            position: l.position.clone(),
            designation_letter: l.designation_letter.clone(),
            contact: full.then(|| l.contact.clone()),
        }))
    }
}

/// One agency through the request's loader (batched with every other lookup of the
/// same request).
pub async fn load_agency(ctx: &Context<'_>, acronym: &str) -> ApiResult<Option<Agency>> {
    // The catalog is read from the log, not from a versioned read model.
    crate::cache::uncacheable(ctx);
    let loader = ctx.data::<AgencyDataLoader>()?;
    Ok(loader
        .load_one(seguimiento_domain::values::normalize_acronym(acronym))
        .await?)
}

/// Several agencies through the request's loader, in the given order (unknown acronyms
/// are left out).
pub async fn load_agencies(ctx: &Context<'_>, acronyms: &[String]) -> ApiResult<Vec<Agency>> {
    // The catalog is read from the log, not from a versioned read model.
    crate::cache::uncacheable(ctx);
    let loader = ctx.data::<AgencyDataLoader>()?;
    let keys: Vec<String> = acronyms
        .iter()
        .map(|a| seguimiento_domain::values::normalize_acronym(a))
        .collect();
    let found = loader.load_many(keys.iter().cloned()).await?;
    Ok(keys.iter().filter_map(|k| found.get(k).cloned()).collect())
}
