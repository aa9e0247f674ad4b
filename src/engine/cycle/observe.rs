//! What a cycle with work tells the metrics once its writes are done: the records written
//! per side and operation, and for each record written because it changed on the other
//! side, how long after that change it was written (the change lag).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::execute::Executed;
use crate::metrics::{Metrics, Operation, SideLabel};
use crate::sync::{Action, LinkChange, Listing, PairKey, Plan, PlanInput, RecordId, Side};

/// Counts the writes of both sides and observes the lag of each create or update whose
/// pair succeeded on its side. Lags are taken only from incremental listings after the
/// first sync: a first sync or a full re-read finds changes that may be months old.
pub(super) fn writes(
    metrics: &Metrics,
    plan: &Plan,
    input: &PlanInput,
    exchange: &Executed,
    crm: &Executed,
    now: DateTime<Utc>,
) {
    for (side, done) in [(Side::Exchange, exchange), (Side::Crm, crm)] {
        let label = SideLabel::from(side);
        metrics.written(label, Operation::Create, done.counts.created);
        metrics.written(label, Operation::Update, done.counts.updated);
        metrics.written(label, Operation::Delete, done.counts.deleted);
    }
    if input.first_sync {
        return;
    }
    for (target, done) in [(Side::Exchange, exchange), (Side::Crm, crm)] {
        let source = match target {
            Side::Exchange => &input.crm,
            Side::Crm => &input.exchange,
        };
        if source.listing != Listing::Incremental {
            continue;
        }
        let written: HashSet<PairKey> = plan
            .actions(target)
            .iter()
            .filter(|a| matches!(a, Action::Create { .. } | Action::Update { .. }))
            .map(Action::pair)
            .filter(|pair| done.pair_ok.get(pair) == Some(&true))
            .collect();
        if written.is_empty() {
            continue;
        }
        let modified: HashMap<&str, DateTime<Utc>> = source
            .upserts
            .iter()
            .filter_map(|u| u.modified.map(|at| (u.id.as_str(), at)))
            .collect();
        for link in &plan.links {
            let Some((pair, exchange_id, crm_id)) = ids(link) else {
                continue;
            };
            let source_id = match target {
                Side::Exchange => crm_id,
                Side::Crm => exchange_id,
            };
            let changed = source_id.and_then(|id| modified.get(id));
            if let (true, Some(changed)) = (written.contains(&pair), changed) {
                let lag = (now - *changed).to_std().unwrap_or_default();
                metrics.change_lag(SideLabel::from(target), lag.as_secs_f64());
            }
        }
    }
}

/// The pair of a link change that keeps or makes a pair, with its known record ids
/// (Exchange, Pipeliner).
fn ids(link: &LinkChange) -> Option<(PairKey, Option<&str>, Option<&str>)> {
    match link {
        LinkChange::Link {
            pair,
            exchange,
            crm,
            ..
        }
        | LinkChange::Relink {
            pair,
            exchange,
            crm,
            ..
        } => Some((*pair, known(exchange), known(crm))),
        LinkChange::Refresh {
            pair,
            exchange_id,
            crm_id,
            ..
        } => Some((*pair, Some(exchange_id.as_str()), Some(crm_id.as_str()))),
        _ => None,
    }
}

/// The id of a record that exists already.
fn known(id: &RecordId) -> Option<&str> {
    match id {
        RecordId::Known(id) => Some(id.as_str()),
        RecordId::Created(_) => None,
    }
}
