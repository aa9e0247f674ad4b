//! Running a plan's writes: Exchange through `$batch` (20 per request), Pipeliner through
//! `batch-modify` / `batch-delete` (100 per request), each item's result kept so that only
//! pairs whose every write succeeded are committed.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use reqwest::Method;

use super::folders_path;
use crate::connectors::graph::batch::{BatchResult, MAX_BATCH};
use crate::connectors::graph::folders::urlencode;
use crate::connectors::graph::mapping::{graph_create, graph_patch};
use crate::connectors::graph::models::BatchRequest;
use crate::connectors::graph::{GraphClient, GraphError};
use crate::connectors::pipeliner::contacts::ItemResult;
use crate::connectors::pipeliner::mapping::{pipeliner_create, pipeliner_patch};
use crate::connectors::pipeliner::{PipelinerClient, PipelinerError, MAX_PAGE};
use crate::engine::runner::CycleError;
use crate::engine::storage::on_store;
use crate::ids::{SpaceId, UserId};
use crate::store::Store;
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

/// Raises the user's mark of sent creates ([`crate::store::create_sends`]) before each
/// window of writes goes out, so that a cycle cut off later knows which creates can have
/// reached the upstream.
pub struct SendMarker {
    store: Store,
    space: SpaceId,
    user: UserId,
    /// Each planned create's sequence number.
    seqs: HashMap<IntentId, u64>,
}

impl SendMarker {
    /// A marker for `user`'s creates, numbered by `seqs`.
    pub fn new(store: Store, space: SpaceId, user: UserId, seqs: HashMap<IntentId, u64>) -> Self {
        Self {
            store,
            space,
            user,
            seqs,
        }
    }

    /// Marks the creates among `windows` as possibly sent to `side`, on disk.
    async fn cover(&self, side: Side, windows: &[&[&Action]]) -> Result<(), CycleError> {
        let top = windows
            .iter()
            .flat_map(|window| window.iter())
            .filter_map(|action| match action {
                Action::Create { intent, .. } => self.seqs.get(intent).copied(),
                _ => None,
            })
            .max();
        let Some(top) = top else {
            return Ok(());
        };
        let (space, user) = (self.space.clone(), self.user.clone());
        on_store(&self.store, move |store| {
            store.raise_create_sends(&space, &user, side, top + 1)
        })
        .await
    }

    /// Sends `windows` to `side` one after another through `send` (given a window's
    /// position; it answers with whether the window went through), each only once its
    /// creates are marked as possibly sent. A mark covers one window, then twice as many
    /// as the last up to [`MAX_MARKED_AHEAD`]: a small cycle is marked window by window,
    /// while a first sync of thousands writes its mark a few dozen times. Each mark is
    /// written while the window before it is in flight, so marks add no waiting. After a
    /// window fails, or a mark cannot be written, the later windows are not sent.
    async fn send_windows<T, F, Fut>(
        &self,
        side: Side,
        windows: &[&[&Action]],
        mut send: F,
    ) -> Vec<Sent<T>>
    where
        F: FnMut(usize) -> Fut,
        Fut: std::future::Future<Output = (T, bool)>,
    {
        let mut out = Vec::with_capacity(windows.len());
        let mut covered_until = windows.len().min(1);
        let mut step = 1;
        let mut covered = self.cover(side, &windows[..covered_until]).await;
        for w in 0..windows.len() {
            if let Err(e) = &covered {
                out.push(Sent::Not(format!("not sent: {}", e.message)));
                continue;
            }
            let ahead = if w + 1 == covered_until && covered_until < windows.len() {
                step = (step * 2).min(MAX_MARKED_AHEAD);
                let from = covered_until;
                covered_until = (from + step).min(windows.len());
                Some(&windows[from..covered_until])
            } else {
                None
            };
            let next = async {
                match ahead {
                    Some(ahead) => self.cover(side, ahead).await,
                    None => Ok(()),
                }
            };
            let ((answer, ok), next) = futures_util::future::join(send(w), next).await;
            out.push(Sent::Answered(answer));
            covered = match ok {
                true => next,
                false => Err(CycleError::new(
                    "writes_incomplete",
                    "an earlier batch of this cycle failed",
                )),
            };
        }
        out
    }
}

/// The most windows (batches) one mark of sent creates covers ahead: at most 320 Graph
/// creates, or 1,600 Pipeliner ones, for a recovery to look for beyond those sent.
const MAX_MARKED_AHEAD: usize = 16;

/// What became of one window of writes.
enum Sent<T> {
    /// It was sent; the upstream's answer.
    Answered(T),
    /// It was not sent, for this reason.
    Not(String),
}

/// Writes to the user's Exchange folder, one `$batch` at a time; a batch that fails
/// leaves the later ones unsent (uncertain, for the next cycle).
pub async fn execute_exchange(
    graph: &GraphClient,
    mailbox: &str,
    folder: &str,
    actions: &[Action],
    mapping: &Mapping,
    marker: &SendMarker,
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
    // One `$batch` per window, so a recovery looks only for the creates of the batches
    // that may have gone out.
    let windows: Vec<&[Action]> = actions.chunks(MAX_BATCH).collect();
    let window_refs: Vec<Vec<&Action>> = windows.iter().map(|w| w.iter().collect()).collect();
    let window_refs: Vec<&[&Action]> = window_refs.iter().map(Vec::as_slice).collect();
    let mut requests = requests.into_iter();
    let mut unsent: Vec<Vec<BatchRequest>> = windows
        .iter()
        .map(|w| requests.by_ref().take(w.len()).collect())
        .collect();
    let sent = marker
        .send_windows(Side::Exchange, &window_refs, |w| {
            let requests = std::mem::take(&mut unsent[w]);
            async move {
                let answer = graph.batch(mailbox, requests).await;
                let ok = answer.is_ok();
                (answer, ok)
            }
        })
        .await;
    for ((w, window), sent) in windows.iter().enumerate().zip(sent) {
        let mut answers = match sent {
            Sent::Answered(answer) => answer.map_err(|e| e.to_string()),
            Sent::Not(reason) => Err(reason),
        };
        for (j, action) in window.iter().enumerate() {
            let id = (w * MAX_BATCH + j).to_string();
            let result = match &mut answers {
                Ok(answers) => match answers.remove(&id) {
                    Some(result) => graph_result(result),
                    None => WriteResult::Uncertain("no answer in the batch".into()),
                },
                Err(reason) => WriteResult::Uncertain(reason.clone()),
            };
            executed.record(Side::Exchange, action, result);
        }
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

/// Writes to Pipeliner: creates (with the user as owner and their intent's `created`
/// stamp), updates, deletes.
pub async fn execute_crm(
    pipeliner: &PipelinerClient,
    owner_id: &str,
    actions: &[Action],
    mapping: &Mapping,
    marker: &SendMarker,
    stamps: &HashMap<IntentId, DateTime<Utc>>,
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
        if group == 0 {
            create_crm(
                pipeliner,
                owner_id,
                &actions,
                mapping,
                marker,
                stamps,
                &mut executed,
            )
            .await;
            continue;
        }
        let answers = match group {
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
        record_crm(&mut executed, &actions, &answers);
    }
    executed
}

/// Records each Pipeliner write's result from its batch's answer.
fn record_crm(
    executed: &mut Executed,
    actions: &[&Action],
    answers: &Result<Vec<ItemResult>, PipelinerError>,
) {
    for (i, action) in actions.iter().enumerate() {
        let result = match answers {
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

/// Sends the Pipeliner creates one `batch-modify` at a time, each window's send mark
/// first; a window that fails leaves the later ones unsent (uncertain, for the next
/// cycle).
async fn create_crm(
    pipeliner: &PipelinerClient,
    owner_id: &str,
    creates: &[&Action],
    mapping: &Mapping,
    marker: &SendMarker,
    stamps: &HashMap<IntentId, DateTime<Utc>>,
    executed: &mut Executed,
) {
    let windows: Vec<&[&Action]> = creates.chunks(MAX_PAGE as usize).collect();
    let sent = marker
        .send_windows(Side::Crm, &windows, |w| {
            let bodies: Vec<_> = windows[w]
                .iter()
                .map(|a| match a {
                    Action::Create {
                        contact, intent, ..
                    } => Some(pipeliner_create(
                        contact,
                        mapping,
                        owner_id,
                        stamps.get(intent).copied(),
                    )),
                    _ => None,
                })
                .collect();
            async move {
                let answer = pipeliner.batch_modify(&bodies, None).await;
                let ok = answer.is_ok();
                (answer, ok)
            }
        })
        .await;
    for (window, sent) in windows.iter().zip(sent) {
        match sent {
            Sent::Answered(answers) => record_crm(executed, window, &answers),
            Sent::Not(reason) => {
                for action in window.iter() {
                    executed.record(Side::Crm, action, WriteResult::Uncertain(reason.clone()));
                }
            }
        }
    }
}
