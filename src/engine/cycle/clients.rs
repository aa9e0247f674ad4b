//! Building the upstream clients of a space from its stored record: secrets are opened
//! with the master key only here, and clients are cached per space so the Graph token and
//! per-mailbox limits are shared by all of the space's users.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use super::errors::store_failed;
use crate::clock::SharedClock;
use crate::connectors::graph::{GraphClient, GraphConfig};
use crate::connectors::pipeliner::mapping::listed_fields;
use crate::connectors::pipeliner::{PipelinerClient, PipelinerConfig};
use crate::engine::runner::CycleError;
use crate::ids::SpaceId;
use crate::store::spaces::{
    space_secret_context, MicrosoftConnection, PipelinerConnection, SpaceRecord,
};
use crate::store::Store;
use crate::sync::mapping::Mapping;

/// The two clients of one space.
#[derive(Clone, Debug)]
pub struct SpaceClients {
    /// Microsoft Graph for the space's tenant.
    pub graph: GraphClient,
    /// The Pipeliner space.
    pub pipeliner: PipelinerClient,
}

/// Cached clients with the space version they were built from.
type Entries = HashMap<SpaceId, (DateTime<Utc>, SpaceClients)>;

/// A cache of [`SpaceClients`], rebuilt when the space record changes.
#[derive(Clone, Default)]
pub struct ClientCache {
    entries: Arc<Mutex<Entries>>,
}

/// How clients are tuned.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// The shared HTTP client (connection pool).
    pub http: reqwest::Client,
    /// Graph page size.
    pub page_size: u32,
    /// Per-request timeout.
    pub timeout: std::time::Duration,
    /// Retry limits.
    pub retry: crate::connectors::retry::RetryPolicy,
    /// Graph's request budget per mailbox, paced under.
    pub budget: crate::connectors::graph::budget::MailboxBudget,
    /// How old the space's shared window of Pipeliner changes may be when it answers a
    /// periodic poll ([`crate::connectors::pipeliner::feed`]); see [`shared_poll_age`].
    pub shared_poll_age: std::time::Duration,
    /// The same for the periodic poll of a user whose changes both upstreams notify: its
    /// tick is only the safety net for a lost notification, so it takes the freshness of
    /// the longer notified interval ([`shared_poll_age`] of it).
    pub shared_notified_age: std::time::Duration,
    /// How old the shared window may be when it answers a cycle woken by another user's
    /// write to Pipeliner: the notification debounce, so the window was fetched after
    /// the write (the cycle starts at least that long after it).
    pub shared_wake_age: std::time::Duration,
    /// The process's metrics, handed to every client.
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// The freshness a periodic poll asks of the space's shared Pipeliner window: a tenth of
/// the user's tick interval, at most 30 s. Ticks are the safety net, so a change a tick
/// finds may be seen this much later; notifications and manual syncs always ask
/// Pipeliner.
pub fn shared_poll_age(tick: std::time::Duration) -> std::time::Duration {
    (tick / 10).min(std::time::Duration::from_secs(30))
}

impl ClientCache {
    /// The clients of `space`, built on first use or after the space changed.
    pub fn get(
        &self,
        store: &Store,
        space: &SpaceRecord,
        clock: &SharedClock,
        options: &ClientOptions,
    ) -> Result<SpaceClients, CycleError> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((version, clients)) = entries.get(&space.id) {
            if *version == space.updated_at {
                return Ok(clients.clone());
            }
        }
        let clients = build(
            store,
            &space.id,
            &space.pipeliner,
            &space.microsoft,
            &space.custom_mappings,
            clock,
            options,
        )?;
        entries.insert(space.id.clone(), (space.updated_at, clients.clone()));
        Ok(clients)
    }
}

/// Builds the clients of a space from its connection details; its secrets are opened
/// here. The cache builds them for cycles, and removals build their own from the copy of
/// a connection they keep.
pub(super) fn build(
    store: &Store,
    space: &SpaceId,
    pipeliner: &PipelinerConnection,
    microsoft: &MicrosoftConnection,
    custom_mappings: &[crate::sync::CustomMapping],
    clock: &SharedClock,
    options: &ClientOptions,
) -> Result<SpaceClients, CycleError> {
    let client_secret = store
        .open_secret(
            &space_secret_context(space, "microsoft.client_secret"),
            &microsoft.client_secret,
        )
        .map_err(store_failed)?;
    let api_secret = store
        .open_secret(
            &space_secret_context(space, "pipeliner.api_secret"),
            &pipeliner.api_secret,
        )
        .map_err(store_failed)?;
    let mut graph = GraphConfig::new(
        &microsoft.graph_url,
        &microsoft.login_url,
        &microsoft.tenant_id,
        &microsoft.client_id,
        client_secret,
    );
    graph.page_size = options.page_size;
    graph.timeout = options.timeout;
    graph.retry = options.retry;
    graph.budget = options.budget;
    graph.metrics = options.metrics.clone();
    let mut pipeliner = PipelinerConfig::new(
        &pipeliner.service_url,
        &pipeliner.space_id,
        &pipeliner.api_key,
        api_secret,
    );
    pipeliner.timeout = options.timeout;
    pipeliner.retry = options.retry;
    pipeliner.metrics = options.metrics.clone();
    pipeliner.listed_fields = Some(listed_fields(&Mapping {
        custom: custom_mappings.to_vec(),
    }));
    Ok(SpaceClients {
        graph: GraphClient::new(graph, options.http.clone(), clock.clone()),
        pipeliner: PipelinerClient::new(pipeliner, options.http.clone()),
    })
}
