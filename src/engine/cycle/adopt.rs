//! Recovery of creates cut off before their commit: before planning, the records that
//! such creates produced are found and marked with their intent, so the planner links
//! them instead of creating them again.
//!
//! Only creates that may have been sent are looked for: those below the user's mark of
//! sent creates ([`crate::store::create_sends`]). Exchange records carry their intent in
//! an extended property, which Graph's contact delta never returns (only `$select` is
//! documented for it, and extended properties cannot be selected): after any delta round,
//! a whole enumeration of a cut-off first sync included, they are looked up in bulk
//! (`$batch`) by that property. Pipeliner records carry their intent's stamp in `created`
//! and are paired by [`crate::sync::recover::match_stamped`].

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::errors::graph_failed;
use crate::connectors::graph::mapping::{from_graph, INTENT_PROPERTY};
use crate::connectors::graph::GraphClient;
use crate::engine::runner::CycleError;
use crate::store::create_sends::CreateSends;
use crate::sync::mapping::{Change, Mapping};
use crate::sync::recover::{match_stamped, maybe_sent, StampedRecord};
use crate::sync::{LinkSet, PendingIntent, Side, SideChanges};

/// The `created` stamps of the Pipeliner creates that may have been sent.
pub fn pending_stamps(intents: &[PendingIntent], sends: CreateSends) -> BTreeSet<DateTime<Utc>> {
    intents
        .iter()
        .filter(|i| i.target == Side::Crm && maybe_sent(i, sends.below(Side::Crm)))
        .filter_map(|i| i.stamp)
        .collect()
}

/// Marks the Exchange records of creates that may have been sent with their intent,
/// looked up by their property all at once (the delta round returns records unmarked, so
/// a listed record is replaced by the marked one found). A lookup that fails fails the
/// cycle, since a create not found would be sent again.
pub async fn adopt_exchange(
    graph: &GraphClient,
    mailbox: &str,
    folder: &str,
    intents: &[PendingIntent],
    sends: CreateSends,
    mapping: &Mapping,
    exchange: &mut SideChanges,
) -> Result<(), CycleError> {
    let wanted: Vec<String> = intents
        .iter()
        .filter(|i| i.target == Side::Exchange && maybe_sent(i, sends.below(Side::Exchange)))
        .map(|i| i.id.0.clone())
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    tracing::info!(
        mailbox,
        count = wanted.len(),
        "looking for Exchange creates cut off before their commit"
    );
    let found = graph
        .find_by_property_many(mailbox, folder, INTENT_PROPERTY, &wanted)
        .await
        .map_err(graph_failed)?;
    for (value, contact) in found {
        let Ok(read) = from_graph(&contact.body, mapping) else {
            continue;
        };
        if let Change::Upsert(mut upsert) = read.change {
            upsert.intent = Some(crate::sync::IntentId(value));
            exchange.upserts.retain(|u| u.id != upsert.id);
            exchange.upserts.push(*upsert);
        }
    }
    Ok(())
}

/// Marks the Pipeliner records of creates that may have been sent with their intent,
/// among `stamped` (the listed contacts carrying a pending stamp, already read into
/// `crm`): upserts get [`crate::sync::Upsert::intent`], deleted ones go to
/// [`SideChanges::deleted_creates`]. Linked records are never candidates.
pub fn adopt_crm(
    intents: &[PendingIntent],
    sends: CreateSends,
    stamped: &[(String, DateTime<Utc>)],
    links: &LinkSet,
    mapping: &Mapping,
    crm: &mut SideChanges,
) {
    if stamped.is_empty() {
        return;
    }
    let pending: Vec<&PendingIntent> = intents
        .iter()
        .filter(|i| i.target == Side::Crm && maybe_sent(i, sends.below(Side::Crm)))
        .collect();
    // Each match with the position of its upsert, or none for a deleted record.
    let matched: Vec<(Option<usize>, String, crate::sync::IntentId)> = {
        let upserts: HashMap<&str, usize> = crm
            .upserts
            .iter()
            .enumerate()
            .map(|(i, u)| (u.id.as_str(), i))
            .collect();
        let deleted: HashSet<&str> = crm.deletes.iter().map(String::as_str).collect();
        let records: Vec<StampedRecord<'_>> = stamped
            .iter()
            .filter(|(id, _)| links.position(Side::Crm, id).is_none())
            .filter_map(|(id, created)| {
                let contact = match upserts.get(id.as_str()) {
                    Some(&i) if crm.upserts[i].intent.is_none() => Some(&crm.upserts[i].contact),
                    Some(_) => return None,
                    None if deleted.contains(id.as_str()) => None,
                    None => return None,
                };
                Some(StampedRecord {
                    id,
                    created: *created,
                    contact,
                })
            })
            .collect();
        match_stamped(&pending, &records, &mapping.keys())
            .into_iter()
            .map(|(id, intent)| (upserts.get(id).copied(), id.to_owned(), intent.clone()))
            .collect()
    };
    if !matched.is_empty() {
        tracing::info!(
            count = matched.len(),
            "found Pipeliner creates cut off before their commit"
        );
    }
    for (position, id, intent) in matched {
        match position {
            Some(i) => crm.upserts[i].intent = Some(intent),
            None => crm.deleted_creates.push((id, intent)),
        }
    }
}
