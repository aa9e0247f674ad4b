//! Pulling one cycle's changes from both sides and reading them into the planner's terms:
//! a Graph delta round (a full enumeration when there is no link or it expired) and the
//! Pipeliner contacts modified since the watermark (minus an overlap), each with what the
//! listing proves. Pipeliner contacts the user cannot see are set apart unread, since only
//! those the user has a link to can matter to the cycle.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::errors::{graph_failed, pipeliner_failed};
use crate::connectors::graph::mapping::from_listed_graph;
use crate::connectors::graph::models::DeltaItem;
use crate::connectors::graph::{GraphClient, GraphError};
use crate::connectors::pipeliner::feed::{SharedPoll, FEED_OVERLAP};
use crate::connectors::pipeliner::mapping::from_listed;
use crate::connectors::pipeliner::{ListedContact, PipelinerClient};
use crate::engine::runner::CycleError;
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
    /// What changed among the contacts the user can see.
    pub changes: SideChanges,
    /// Changed contacts the user can neither see nor edit (another owner, no share, no
    /// share mode), deleted ones included, as listed and not yet read: they are out of
    /// scope for every setting, so they matter only where the user has a link to them
    /// (see [`CrmPull::admit_linked`]). In a space of many users these are most of what
    /// the shared window answers.
    pub foreign: Vec<Arc<ListedContact>>,
    /// The watermark to store once the cycle commits.
    pub watermark: Option<DateTime<Utc>>,
    /// The listed contacts whose `created` is the stamp of a pending create, deleted and
    /// foreign ones included: the candidates of a recovery (see [`crate::sync::recover`]).
    pub stamped: Vec<(String, DateTime<Utc>)>,
}

impl CrmPull {
    /// The Pipeliner ids of the foreign contacts.
    pub fn foreign_ids(&self) -> Vec<String> {
        self.foreign
            .iter()
            .filter_map(|body| body.id.clone())
            .collect()
    }

    /// Reads the foreign contacts whose ids are in `linked` into the changes (a pair that
    /// left the user's scope, or whose Pipeliner side was deleted) and drops the rest.
    pub fn admit_linked(&mut self, linked: &HashSet<String>, mapping: &Mapping, owner_id: &str) {
        for body in std::mem::take(&mut self.foreign) {
            if body.id.as_ref().is_some_and(|id| linked.contains(id)) {
                read_crm(&mut self.changes, &body, mapping, owner_id);
            }
        }
    }
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
        upserts: Vec::with_capacity(round.items.len()),
        deletes: Vec::new(),
        deleted_creates: Vec::new(),
        listing,
    };
    for item in round.items {
        let row = match item {
            DeltaItem::Upsert(row) => row,
            DeltaItem::Removed { id } => {
                changes.deletes.push(id);
                continue;
            }
        };
        match from_listed_graph(&row, mapping) {
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
pub fn access_of(contact: &ListedContact, owner_id: &str, read: Access) -> Access {
    if read == Access::Owner {
        return Access::Owner;
    }
    let shared = contact
        .sharing
        .iter()
        .filter(|s| s.client_id.as_deref() == Some(owner_id))
        .map(|s| match s.role {
            Some(2) => Access::Editor,
            _ => Access::Viewer,
        })
        .min()
        .unwrap_or(Access::None);
    let by_mode = match contact.share_mode {
        Some(3) => Access::Editor,
        Some(2) => Access::Viewer,
        _ => Access::None,
    };
    shared.min(by_mode)
}

/// Whether a listed Pipeliner contact is one the user has no access to at all; one
/// without an id is read (and skipped with a warning) like any other.
fn is_foreign(contact: &ListedContact, owner_id: &str) -> bool {
    let owned = contact.owner_id.as_deref() == Some(owner_id);
    contact.id.is_some() && !owned && access_of(contact, owner_id, Access::None) == Access::None
}

/// Reads one Pipeliner contact into `changes`, with the user's access to it.
fn read_crm(changes: &mut SideChanges, value: &ListedContact, mapping: &Mapping, owner_id: &str) {
    match from_listed(value, mapping, owner_id) {
        Ok(read) => {
            let change = match read.change {
                Change::Upsert(mut upsert) => {
                    upsert.access = access_of(value, owner_id, upsert.access);
                    Change::Upsert(upsert)
                }
                delete => delete,
            };
            add(changes, change);
        }
        Err(e) => tracing::warn!(error = %e, "skipping an unreadable Pipeliner contact"),
    }
}

/// The contacts modified since the watermark (all of them the first time). With `shared`
/// (exsync's clock now and the age allowed), an incremental pull is answered from the
/// space's shared window of recent changes when it is that fresh.
///
/// Contacts created at one of `stamps` are also set apart in [`CrmPull::stamped`].
pub async fn pull_crm(
    pipeliner: &PipelinerClient,
    owner_id: &str,
    watermark: Option<DateTime<Utc>>,
    mapping: &Mapping,
    shared: Option<(DateTime<Utc>, std::time::Duration)>,
    stamps: &BTreeSet<DateTime<Utc>>,
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
        upserts: Vec::with_capacity(listed.contacts.len()),
        deletes: Vec::new(),
        deleted_creates: Vec::new(),
        listing: if watermark.is_some() {
            Listing::Incremental
        } else {
            Listing::Full
        },
    };
    let mut foreign = Vec::new();
    let mut stamped = Vec::new();
    for value in listed.contacts {
        if let (Some(id), Some(created)) = (&value.id, value.created) {
            if stamps.contains(&created) {
                stamped.push((id.clone(), created));
            }
        }
        if is_foreign(&value, owner_id) {
            foreign.push(value);
        } else {
            read_crm(&mut changes, &value, mapping, owner_id);
        }
    }
    Ok(CrmPull {
        changes,
        foreign,
        // The next pull starts from when this one ran on Pipeliner's clock, not from the
        // newest change: in a quiet space the overlap then holds nothing, instead of the
        // last burst of changes read again on every cycle.
        watermark: listed.newest_modified.max(listed.server_time).or(watermark),
        stamped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn listed(body: Value) -> ListedContact {
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn contacts_the_user_cannot_see_are_set_apart_until_a_link_admits_them() {
        let me = "client-1";
        let owned = listed(json!({ "id": "own", "owner_id": me, "last_name": "Mine" }));
        let shared = listed(
            json!({ "id": "shared", "owner_id": "x", "last_name": "Shared",
            "sharing_clients": [{ "client_id": me, "role": 1 }] }),
        );
        let open = listed(json!({ "id": "open", "owner_id": "x", "share_mode": 3 }));
        let hidden = listed(json!({ "id": "hidden", "owner_id": "x", "last_name": "Hidden" }));
        let gone = listed(json!({ "id": "gone", "owner_id": "x", "is_deleted": true }));
        let no_id = listed(json!({ "owner_id": "x" }));
        assert!(!is_foreign(&owned, me));
        assert!(!is_foreign(&shared, me));
        assert!(!is_foreign(&open, me));
        assert!(is_foreign(&hidden, me));
        assert!(is_foreign(&gone, me));
        assert!(!is_foreign(&no_id, me), "read, and skipped with a warning");

        let mut pull = CrmPull {
            changes: SideChanges::none(),
            foreign: vec![
                Arc::new(hidden),
                Arc::new(gone),
                Arc::new(listed(json!({ "id": "other", "owner_id": "x" }))),
            ],
            watermark: None,
            stamped: Vec::new(),
        };
        assert_eq!(pull.foreign_ids(), ["hidden", "gone", "other"]);
        let linked = HashSet::from(["hidden".to_owned(), "gone".to_owned()]);
        pull.admit_linked(&linked, &Mapping::default(), me);
        assert!(pull.foreign.is_empty());
        assert_eq!(pull.changes.deletes, ["gone"]);
        let [upsert] = pull.changes.upserts.as_slice() else {
            panic!("one upsert: {:?}", pull.changes.upserts);
        };
        assert_eq!(upsert.id, "hidden");
        assert_eq!(upsert.access, Access::None);
        assert_eq!(upsert.contact.surname.as_deref(), Some("Hidden"));
    }

    #[test]
    fn access_comes_from_ownership_sharing_and_share_mode() {
        let me = "client-1";
        assert_eq!(
            access_of(&ListedContact::default(), me, Access::Owner),
            Access::Owner
        );
        assert_eq!(
            access_of(&ListedContact::default(), me, Access::None),
            Access::None
        );
        let shared = listed(json!({ "sharing_clients": [{ "client_id": me, "role": 2 }] }));
        assert_eq!(access_of(&shared, me, Access::None), Access::Editor);
        let watched = listed(
            json!({ "sharing_clients": [{ "client_id": me, "role": 1 }, { "client_id": "x", "role": 2 }] }),
        );
        assert_eq!(access_of(&watched, me, Access::None), Access::Viewer);
        assert_eq!(
            access_of(&listed(json!({ "share_mode": 3 })), me, Access::None),
            Access::Editor
        );
        assert_eq!(
            access_of(&listed(json!({ "share_mode": 2 })), me, Access::None),
            Access::Viewer
        );
    }
}
