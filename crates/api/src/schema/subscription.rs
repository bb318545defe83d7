//! Subscriptions (graphql-transport-ws at `/graphql/ws`): new events of the log, and
//! semáforo updates pushed by the live projection runner.

use async_graphql::{Context, Subscription};
use futures::{Stream, StreamExt};
use seguimiento_projections::models::semaforo::{self, SemaforoReport};
use seguimiento_projections::{Scope, View};
use tokio::sync::broadcast::error::RecvError;

use super::Services;
use crate::auth::{principal, require_history};
use crate::error::gql;
use crate::types::history::{reveal, HistoryEvent};

pub struct SubscriptionRoot;

#[Subscription]
impl SubscriptionRoot {
    /// Events whose stream starts with `streamPrefix` (`""`: all): those appended after
    /// the subscription starts, or, with `after`, every event after that log position
    /// first (a client that lost its connection resumes from the last `globalPosition` it
    /// received, and misses nothing). Admin and auditor.
    async fn events(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] stream_prefix: String,
        after: Option<u64>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<HistoryEvent>>> {
        let who = require_history(ctx)?;
        let app = ctx.data::<Services>()?.app.clone();
        let store = app.store().clone();
        let from = match after {
            Some(position) => position,
            None => store.head_position().await.map_err(gql)?,
        };
        let personal = who.role.can_read_personal_data();
        Ok(store
            .subscribe(from)
            .filter(move |item| {
                let keep = match item {
                    Ok(e) => e.stream.starts_with(&stream_prefix),
                    Err(_) => true,
                };
                futures::future::ready(keep)
            })
            .then(move |item| {
                let app = app.clone();
                async move {
                    let mut e = item.map_err(gql)?;
                    reveal(&app, &mut e, personal).await.map_err(gql)?;
                    Ok(HistoryEvent::new(e, |_| None))
                }
            }))
    }

    /// The semáforo of `scope`, recomputed from the live tables each time the live
    /// runner commits a batch that may change it.
    async fn compliance_changed(
        &self,
        ctx: &Context<'_>,
        scope: Scope,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<SemaforoReport>>> {
        principal(ctx)?;
        let s = ctx.data::<Services>()?;
        let store = s.app.store().clone();
        let rx = s.runner.subscribe();
        Ok(futures::stream::unfold(rx, move |mut rx| {
            let store = store.clone();
            async move {
                loop {
                    match rx.recv().await {
                        Ok(adv) if !adv.scopes.iter().any(|s| s == scope.name()) => continue,
                        // A lagging receiver missed some notices: recompute anyway.
                        Ok(_) | Err(RecvError::Lagged(_)) => {
                            let report = semaforo::query(&store, scope, View::LIVE, None)
                                .await
                                .map_err(gql);
                            return Some((report, rx));
                        }
                        Err(RecvError::Closed) => return None,
                    }
                }
            }
        }))
    }
}
