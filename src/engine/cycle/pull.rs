//! Pulling one cycle's changes from both sides and reading them into the planner's terms:
//! a Graph delta round (a full enumeration when there is no link or it expired) and the
//! Pipeliner contacts modified since the watermark (minus an overlap), each with what the
//! listing proves.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::errors::{graph_failed, pipeliner_failed};
use crate::connectors::graph::models::DeltaItem;
use crate::connectors::graph::{GraphClient, GraphError};
use crate::connectors::pipeliner::feed::{SharedPoll, FEED_OVERLAP};
use crate::connectors::pipeliner::PipelinerClient;
use crate::engine::runner::CycleError;
use crate::sync::mapping::graph::from_graph;
use crate::sync::mapping::pipeliner::from_pipeliner;
use crate::sync::mapping::{Change, Mapping};
use crate::sync::{Access, Listing, SideChanges};

/// The Exchange side of a cycle.
pub struct ExchangePull {
    /// What changed.
    pub changes: SideChanges,
    /// The deltaLink to store once the cycle commits.
    pub delta_link: String,
}

/// The Pipeliner side of a cycle.
pub struct CrmPull {
    /// What changed.
    pub changes: SideChanges,
    /// The watermark to store once the cycle commits.
    pub watermark: Option<DateTime<Utc>>,
}

impl ExchangePull {
    /// No change, from a user whose live subscription stands in for the delta: the
    /// stored link stays, so the next delta round returns everything since it.
    pub fn unchanged(delta_link: &str) -> Self {
        Self {
            changes: SideChanges::none(),
            delta_link: delta_link.to_owned(),
        }
    }
}

fn add(changes: &mut SideChanges, change: Change) {
    match change {
        Change::Upsert(upsert) => changes.upserts.push(*upsert),
        Change::Delete(id) => changes.deletes.push(id),
    }
}

/// One delta round on the folder. An expired link falls back to a full enumeration,
/// reconciled against the links by the planner (nothing is wiped).
pub async fn pull_exchange(
    graph: &GraphClient,
    mailbox: &str,
    folder: &str,
    delta_link: Option<&str>,
    mapping: &Mapping,
) -> Result<ExchangePull, CycleError> {
    let (round, listing) = match graph.delta_round(mailbox, folder, delta_link).await {
        Ok(round) if delta_link.is_some() => (round, Listing::Incremental),
        Ok(round) => (round, Listing::Full),
        Err(GraphError::SyncStateExpired { code }) => {
            tracing::info!(mailbox, code = %code, "delta token expired; enumerating the folder");
            let round = graph
                .delta_round(mailbox, folder, None)
                .await
                .map_err(graph_failed)?;
            (round, Listing::Full)
        }
        Err(e) => return Err(graph_failed(e)),
    };
    let mut changes = SideChanges {
        upserts: Vec::new(),
        deletes: Vec::new(),
        listing,
    };
    for item in round.items {
        let value = match item {
            DeltaItem::Upsert(contact) => contact.body,
            DeltaItem::Removed { id } => {
                changes.deletes.push(id);
                continue;
            }
        };
        match from_graph(&value, mapping) {
            Ok(read) => add(&mut changes, read.change),
            Err(e) => tracing::warn!(mailbox, error = %e, "skipping an unreadable Graph contact"),
        }
    }
    Ok(ExchangePull {
        changes,
        delta_link: round.delta_link,
    })
}

/// The user's access to a Pipeliner contact: owner, or what sharing and the share mode
/// grant.
pub fn access_of(contact: &Value, owner_id: &str, read: Access) -> Access {
    if read == Access::Owner {
        return Access::Owner;
    }
    let shared = contact["sharing_clients"]
        .as_array()
        .map(|shares| {
            shares
                .iter()
                .filter(|s| s["client_id"].as_str() == Some(owner_id))
                .map(|s| match s["role"].as_i64() {
                    Some(2) => Access::Editor,
                    _ => Access::Viewer,
                })
                .min()
                .unwrap_or(Access::None)
        })
        .unwrap_or(Access::None);
    let by_mode = match contact["share_mode"].as_i64() {
        Some(3) => Access::Editor,
        Some(2) => Access::Viewer,
        _ => Access::None,
    };
    shared.min(by_mode)
}

/// The contacts modified since the watermark (all of them the first time). With `shared`
/// (exsync's clock now and the age allowed), an incremental pull is answered from the
/// space's shared window of recent changes when it is that fresh.
pub async fn pull_crm(
    pipeliner: &PipelinerClient,
    owner_id: &str,
    watermark: Option<DateTime<Utc>>,
    mapping: &Mapping,
    shared: Option<(DateTime<Utc>, std::time::Duration)>,
) -> Result<CrmPull, CycleError> {
    let since = watermark.map(|w| w - FEED_OVERLAP);
    let listed = match (since, shared) {
        (Some(since), Some((now, max_age))) => {
            pipeliner
                .contacts_modified_since_shared(SharedPoll {
                    since,
                    now,
                    max_age: Duration::from_std(max_age).unwrap_or(Duration::zero()),
                })
                .await
        }
        _ => pipeliner.contacts_modified_since(since).await,
    }
    .map_err(pipeliner_failed)?;
    let mut changes = SideChanges {
        upserts: Vec::new(),
        deletes: Vec::new(),
        listing: if watermark.is_some() {
            Listing::Incremental
        } else {
            Listing::Full
        },
    };
    for value in &listed.contacts {
        match from_pipeliner(value, mapping, owner_id) {
            Ok(read) => {
                let change = match read.change {
                    Change::Upsert(mut upsert) => {
                        upsert.access = access_of(value, owner_id, upsert.access);
                        Change::Upsert(upsert)
                    }
                    delete => delete,
                };
                add(&mut changes, change);
            }
            Err(e) => tracing::warn!(error = %e, "skipping an unreadable Pipeliner contact"),
        }
    }
    Ok(CrmPull {
        changes,
        // The next pull starts from when this one ran on Pipeliner's clock, not from the
        // newest change: in a quiet space the overlap then holds nothing, instead of the
        // last burst of changes read again on every cycle.
        watermark: listed.newest_modified.max(listed.server_time).or(watermark),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn access_comes_from_ownership_sharing_and_share_mode() {
        let me = "client-1";
        assert_eq!(access_of(&json!({}), me, Access::Owner), Access::Owner);
        assert_eq!(access_of(&json!({}), me, Access::None), Access::None);
        let shared = json!({ "sharing_clients": [{ "client_id": me, "role": 2 }] });
        assert_eq!(access_of(&shared, me, Access::None), Access::Editor);
        let watched = json!({ "sharing_clients": [{ "client_id": me, "role": 1 }, { "client_id": "x", "role": 2 }] });
        assert_eq!(access_of(&watched, me, Access::None), Access::Viewer);
        assert_eq!(
            access_of(&json!({ "share_mode": 3 }), me, Access::None),
            Access::Editor
        );
        assert_eq!(
            access_of(&json!({ "share_mode": 2 }), me, Access::None),
            Access::Viewer
        );
    }
}
