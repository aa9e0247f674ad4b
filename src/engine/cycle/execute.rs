//! Running a plan's writes: Exchange through `$batch` (20 per request), Pipeliner through
//! `batch-modify` / `batch-delete` (100 per request), each item's result kept so that only
//! pairs whose every write succeeded are committed.

use std::collections::{BTreeMap, HashMap};

use reqwest::Method;

use super::folders_path;
use crate::connectors::graph::batch::BatchResult;
use crate::connectors::graph::folders::urlencode;
use crate::connectors::graph::models::BatchRequest;
use crate::connectors::graph::{GraphClient, GraphError};
use crate::connectors::pipeliner::{PipelinerClient, PipelinerError};
use crate::sync::mapping::graph::{graph_create, graph_patch};
use crate::sync::mapping::pipeliner::{pipeliner_create, pipeliner_patch};
use crate::sync::mapping::Mapping;
use crate::sync::{Action, IntentId, PairKey, Side};

/// How one write ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteResult {
    /// Done; for creates and updates the record's id and new version when known.
    Done {
        /// The record id.
        id: Option<String>,
        /// The new changeKey / revision, when the answer told.
        version: Option<String>,
    },
    /// Refused for good (bad values, required field…); the message says why.
    Refused(String),
    /// Failed in a way that may be temporary, or may even have been applied.
    Uncertain(String),
}

/// The results of one side's writes.
#[derive(Debug, Default)]
pub struct Executed {
    /// Per pair: whether every write of the pair succeeded.
    pub pair_ok: HashMap<PairKey, bool>,
    /// Records created, by intent.
    pub created: HashMap<IntentId, String>,
    /// New versions of created and updated records, by id.
    pub versions: HashMap<String, String>,
    /// Writes refused for good, with the record and reason.
    pub refused: Vec<(Side, String, String)>,
    /// Whether any write failed in a way that may be temporary.
    pub any_uncertain: bool,
    /// Counts of successful creates, updates, deletes.
    pub counts: crate::store::users::SideCounts,
}

impl Executed {
    fn record(&mut self, side: Side, action: &Action, result: WriteResult) {
        let ok = matches!(result, WriteResult::Done { .. });
        let entry = self.pair_ok.entry(action.pair()).or_insert(true);
        *entry &= ok;
        match (action, result) {
            (
                Action::Create { intent, .. },
                WriteResult::Done {
                    id: Some(id),
                    version,
                },
            ) => {
                self.counts.created += 1;
                if let Some(version) = version {
                    self.versions.insert(id.clone(), version);
                }
                self.created.insert(intent.clone(), id);
            }
            (Action::Update { id, .. }, WriteResult::Done { version, .. }) => {
                self.counts.updated += 1;
                if let Some(version) = version {
                    self.versions.insert(id.clone(), version);
                }
            }
            (Action::Delete { .. }, WriteResult::Done { .. }) => self.counts.deleted += 1,
            (_, WriteResult::Uncertain(_)) => self.any_uncertain = true,
            (action, WriteResult::Refused(reason)) => {
                let id = match action {
                    Action::Create { intent, .. } => intent.0.clone(),
                    Action::Update { id, .. } | Action::Delete { id, .. } => id.clone(),
                };
                self.refused.push((side, id, reason));
            }
            (Action::Create { .. }, WriteResult::Done { id: None, .. }) => {
                self.any_uncertain = true;
                *self.pair_ok.entry(action.pair()).or_insert(true) = false;
            }
        }
    }
}

fn graph_result(result: BatchResult) -> WriteResult {
    match result {
        Ok(body) => WriteResult::Done {
            id: body.id,
            version: body.change_key,
        },
        Err(GraphError::NotFound { .. }) => WriteResult::Done {
            id: None,
            version: None,
        },
        Err(e @ GraphError::Rejected { .. }) | Err(e @ GraphError::Conflict { .. }) => {
            WriteResult::Refused(e.to_string())
        }
        Err(e) => WriteResult::Uncertain(e.to_string()),
    }
}

/// Writes to the user's Exchange folder.
pub async fn execute_exchange(
    graph: &GraphClient,
    mailbox: &str,
    folder: &str,
    actions: &[Action],
    mapping: &Mapping,
) -> Executed {
    let mut executed = Executed::default();
    if actions.is_empty() {
        return executed;
    }
    let user = graph.user_path(mailbox);
    let requests: Vec<BatchRequest> = actions
        .iter()
        .enumerate()
        .map(|(i, action)| {
            let (method, url, body) = match action {
                Action::Create {
                    intent, contact, ..
                } => (
                    Method::POST,
                    format!("{}/contacts", folders_path(&user, folder)),
                    Some(graph_create(contact, mapping, Some(intent))),
                ),
                Action::Update { id, changes, .. } => (
                    Method::PATCH,
                    format!("{user}/contacts/{}", urlencode(id)),
                    Some(graph_patch(changes, mapping)),
                ),
                Action::Delete { id, .. } => (
                    Method::DELETE,
                    format!("{user}/contacts/{}", urlencode(id)),
                    None,
                ),
            };
            BatchRequest {
                id: i.to_string(),
                method,
                url,
                body,
            }
        })
        .collect();
    let mut answers = graph.batch(mailbox, requests).await;
    for (i, action) in actions.iter().enumerate() {
        let result = match &mut answers {
            Ok(answers) => match answers.remove(&i.to_string()) {
                Some(result) => graph_result(result),
                None => WriteResult::Uncertain("no answer in the batch".into()),
            },
            Err(e) => WriteResult::Uncertain(e.to_string()),
        };
        executed.record(Side::Exchange, action, result);
    }
    executed
}

fn crm_result(result: &Result<String, PipelinerError>) -> WriteResult {
    match result {
        Ok(id) => WriteResult::Done {
            id: Some(id.clone()),
            version: None,
        },
        Err(PipelinerError::NotFound { .. }) => WriteResult::Done {
            id: None,
            version: None,
        },
        Err(e @ PipelinerError::Invalid { .. }) => WriteResult::Refused(e.to_string()),
        Err(e) => WriteResult::Uncertain(e.to_string()),
    }
}

/// Writes to Pipeliner: creates (with the user as owner), updates, deletes.
pub async fn execute_crm(
    pipeliner: &PipelinerClient,
    owner_id: &str,
    actions: &[Action],
    mapping: &Mapping,
) -> Executed {
    let mut executed = Executed::default();
    let mut groups: BTreeMap<u8, Vec<&Action>> = BTreeMap::new();
    for action in actions {
        let group = match action {
            Action::Create { .. } => 0,
            Action::Update { .. } => 1,
            Action::Delete { .. } => 2,
        };
        groups.entry(group).or_default().push(action);
    }
    for (group, actions) in groups {
        let answers = match group {
            0 => {
                let bodies: Vec<_> = actions
                    .iter()
                    .map(|a| match a {
                        Action::Create { contact, .. } => {
                            Some(pipeliner_create(contact, mapping, owner_id))
                        }
                        _ => None,
                    })
                    .collect();
                pipeliner.batch_modify(&bodies, None).await
            }
            1 => {
                let bodies: Vec<_> = actions
                    .iter()
                    .map(|a| match a {
                        Action::Update { id, changes, .. } => {
                            Some(pipeliner_patch(id, changes, mapping))
                        }
                        _ => None,
                    })
                    .collect();
                // Only the sent fields are validated: a field the space made required
                // later must not block updates of existing contacts.
                pipeliner.batch_modify(&bodies, Some(2)).await
            }
            _ => {
                let ids: Vec<String> = actions
                    .iter()
                    .filter_map(|a| match a {
                        Action::Delete { id, .. } => Some(id.clone()),
                        _ => None,
                    })
                    .collect();
                pipeliner.batch_delete(&ids).await
            }
        };
        for (i, action) in actions.iter().enumerate() {
            let result = match &answers {
                Ok(results) => results
                    .get(i)
                    .map(crm_result)
                    .unwrap_or_else(|| WriteResult::Uncertain("no answer for the item".into())),
                Err(e) if e.maybe_committed() => WriteResult::Uncertain(e.to_string()),
                Err(e @ PipelinerError::Invalid { .. }) => WriteResult::Refused(e.to_string()),
                Err(e) => WriteResult::Uncertain(e.to_string()),
            };
            executed.record(Side::Crm, action, result);
        }
    }
    executed
}
