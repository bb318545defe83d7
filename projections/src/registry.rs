//! The registered projections. Adding one = a file under `models/` implementing
//! [`Projector`](crate::Projector) + one line in [`all`].

use crate::error::{ProjectionError, Result};
use crate::models::{
    compliance::Compliance, correspondence::Correspondence, petitions::Petitions,
    press_conferences::PressConferences,
};
use crate::projector::{erase, DynProjector};

/// Every projection the live runner follows and `rebuild_all` rebuilds.
pub fn all() -> Vec<Box<dyn DynProjector>> {
    vec![
        erase::<Compliance>(),
        erase::<Correspondence>(),
        erase::<Petitions>(),
        erase::<PressConferences>(),
    ]
}

/// Names of the registered projections.
pub fn names() -> Vec<&'static str> {
    all().iter().map(|p| p.name()).collect()
}

/// The projection registered under `name`.
pub fn by_name(name: &str) -> Result<Box<dyn DynProjector>> {
    all()
        .into_iter()
        .find(|p| p.name() == name)
        .ok_or_else(|| ProjectionError::UnknownProjection(name.to_owned()))
}
