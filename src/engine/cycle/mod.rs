//! The real sync cycle, one user at a time: resolve the user's Pipeliner owner and
//! Exchange folder, keep the webhooks in place, pull both sides, `plan()`, execute the
//! writes in batches, commit each pair's result, and only then advance the cursors.
//!
//! A cycle whose settings give another scope than the one the contacts were last planned
//! under ([`crate::sync::scope`]: sync type, preference, folder, custom mappings, a new
//! activation) is a reconciliation: it reads both sides in full, as a first sync does,
//! plans with [`PlanInput::reconcile`] set, and commits the new scope with its cursors,
//! so the next cycle is incremental again. The scope committed is the one the cycle
//! loaded, so a settings change during the cycle makes the next one reconcile.

mod adopt;
mod clients;
pub mod commit;
mod errors;
mod execute;
mod hooks;
mod lease;
mod observe;
pub mod probe;
mod pull;
mod resolve;
mod retire;

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::future::{join, LocalBoxFuture};

pub use clients::{shared_poll_age, ClientCache, ClientOptions, SpaceClients};
pub use errors::{graph_failed, pipeliner_failed, store_failed};

use crate::clock::SharedClock;
use crate::connectors::graph::folders::urlencode;
use crate::connectors::graph::mapping::from_graph;
use crate::connectors::pipeliner::mapping::from_listed;
use crate::engine::runner::{
    CycleError, CycleJob, CycleReport, CycleRunner, HeldWatermark, StateLeft, Trigger,
};
use crate::store::create_sends::CreateSends;
use crate::store::sync_state::{UserSyncState, CRM_WATERMARK_LAG, EXCHANGE_SAFETY_NET};
use crate::store::Store;
use crate::sync::mapping::{Change, Mapping};
use crate::sync::{
    plan, Action, IntentId, LinkSet, OwnDelete, PendingIntent, PlanInput, PlannedScope, Settings,
    Side, SideChanges, SyncPreference, Thresholds,
};

/// Pipeliner fields exsync fills on every create whatever the mapping says.
const FILLED_BY_EXSYNC: &[&str] = &["owner_id"];

/// The path of a mailbox folder below the Graph root.
pub(crate) fn folders_path(user_path: &str, folder: &str) -> String {
    format!("{user_path}/contactFolders/{}", urlencode(folder))
}

/// Runs real cycles against Graph and Pipeliner.
#[derive(Clone)]
pub struct SyncCycle {
    store: Store,
    clock: SharedClock,
    clients: ClientCache,
    options: ClientOptions,
    public_url: Option<String>,
    hooks_lock: Arc<tokio::sync::Mutex<()>>,
    required_fields: Arc<std::sync::Mutex<RequiredFieldsCache>>,
}

/// The fields each space requires on a new Pipeliner contact, with when they were read.
type RequiredFieldsCache =
    std::collections::HashMap<crate::ids::SpaceId, (chrono::DateTime<chrono::Utc>, Vec<String>)>;

/// How long a space's required fields are trusted before they are read again.
const REQUIRED_FIELDS_TTL: chrono::Duration = chrono::Duration::minutes(10);

impl std::fmt::Debug for SyncCycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncCycle")
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

impl SyncCycle {
    /// A runner over `store`, reaching the upstreams with `options`; webhooks point at
    /// `public_url` when it is set (otherwise only ticks and manual syncs run cycles).
    pub fn new(
        store: Store,
        clock: SharedClock,
        options: ClientOptions,
        public_url: Option<String>,
    ) -> Self {
        Self {
            store,
            clock,
            clients: ClientCache::default(),
            options,
            public_url: public_url.map(|u| u.trim_end_matches('/').to_owned()),
            hooks_lock: Arc::new(tokio::sync::Mutex::new(())),
            required_fields: Arc::default(),
        }
    }

    /// The Pipeliner fields the space requires that exsync must fill from the mapping,
    /// read at most every ten minutes per space (quiet cycles stay at one request a side).
    async fn required_fields(
        &self,
        space: &crate::store::spaces::SpaceRecord,
        clients: &SpaceClients,
    ) -> Result<Vec<String>, CycleError> {
        let now = self.clock.now();
        if let Some((read_at, fields)) = self
            .required_fields
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&space.id)
        {
            if now - *read_at < REQUIRED_FIELDS_TTL {
                return Ok(fields.clone());
            }
        }
        // exsync sets the owner itself on every create; the rest must come from the mapping.
        let fields: Vec<String> = clients
            .pipeliner
            .required_contact_fields()
            .await
            .map_err(pipeliner_failed)?
            .into_iter()
            .filter(|field| !FILLED_BY_EXSYNC.contains(&field.as_str()))
            .collect();
        self.required_fields
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(space.id.clone(), (now, fields.clone()));
        Ok(fields)
    }

    /// The clients of a space.
    pub fn clients(
        &self,
        space: &crate::store::spaces::SpaceRecord,
    ) -> Result<SpaceClients, CycleError> {
        self.clients
            .get(&self.store, space, &self.clock, &self.options)
    }

    async fn on_store<T, F>(&self, work: F) -> Result<T, CycleError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, crate::store::StoreError> + Send + 'static,
    {
        crate::engine::storage::on_store(&self.store, work).await
    }

    async fn cycle(self, job: CycleJob) -> Result<CycleReport, CycleError> {
        let CycleJob {
            space,
            user,
            trigger,
            state,
            hooks: hook_records,
            held,
        } = job;
        // What the quiet path compares against (it never touches the bookkeeping lists).
        let loaded = state.cursors();
        let mut state = state;
        state.crm_watermark = HeldWatermark::over(held, state.crm_watermark);
        let clients = self.clients(&space)?;
        let throttled_before =
            clients.graph.throttled_count() + clients.pipeliner.throttled_count();
        let (space_id, user_id) = (space.id.clone(), user.id.clone());
        let mailbox = user.email.clone();
        let owner = resolve::owner(&clients.pipeliner, &user, &mut state).await?;
        let mapping = Mapping {
            custom: space.custom_mappings.clone(),
        };
        // The scope the settings give now, and whether it differs from the one the
        // contacts were last planned under.
        let scope = PlannedScope::of(&user.settings, &mapping, user.reconcile_epoch);
        let folder_changed = state
            .planned_scope
            .as_ref()
            .is_some_and(|before| before.folder != scope.folder);
        let folder = resolve::folder(
            &clients.graph,
            &space,
            &user,
            &mut state,
            &self.store,
            folder_changed,
        )
        .await?;
        let reconcile = scope.pending_after(state.planned_scope.as_ref(), state.first_sync_done);
        let renewal_due = hooks::renewal_due(&hook_records, &state);
        // A first sync subscribes to the folder's changes only once it is done.
        let first_sync = !state.first_sync_done;
        let notified = self
            .ensure_hooks(&clients, &space, &user, &folder, &mut state, hook_records)
            .await;
        let required = self.required_fields(&space, &clients).await?;
        // Creates of a cycle cut off before its commit that may have been sent.
        let sends = if state.intents.is_empty() {
            CreateSends::default()
        } else {
            let (s, u) = (space_id.clone(), user_id.clone());
            self.on_store(move |st| st.create_sends(&s, &u)).await?
        };
        let stamps = adopt::pending_stamps(&state.intents, sends);
        let pulled_at = self.clock.now();
        // A tick, or a wake by another user's Pipeliner write, trusts a live subscription
        // to have told of every Exchange change until the safety net says to look anyway;
        // a restarted actor's first cycle always looks.
        let trust_subscription = matches!(trigger, Trigger::Tick | Trigger::PeerWrote)
            && reconcile.is_none()
            && notified.exchange
            && state.first_sync_done
            && state.delta_link.is_some()
            && state
                .exchange_polled_at
                .is_some_and(|at| pulled_at - at < EXCHANGE_SAFETY_NET);
        // A reconciliation reads both sides in full, as a first sync does.
        let (delta_link, crm_watermark) = match reconcile {
            Some(_) => (None, None),
            None => (state.delta_link.as_deref(), state.crm_watermark),
        };
        let (exchange, crm) = join(
            async {
                match (trust_subscription, delta_link) {
                    (true, Some(link)) => Ok(pull::ExchangePull::unchanged(link)),
                    (_, link) => {
                        pull::pull_exchange(&clients.graph, &mailbox, &folder, link, &mapping).await
                    }
                }
            },
            pull::pull_crm(
                &clients.pipeliner,
                &owner,
                crm_watermark,
                &mapping,
                shared_age(trigger, notified.both(), &self.options).map(|age| (pulled_at, age)),
                &stamps,
            ),
        )
        .await;
        let (mut exchange, mut crm) = (exchange?, crm?);
        if !crm.foreign.is_empty() {
            // Other users' contacts the user cannot see: only pairs the user has with
            // them can be touched by their changes, so the rest never reach the planner
            // (and a cycle that saw only those is quiet).
            let (s, u, ids) = (space_id.clone(), user_id.clone(), crm.foreign_ids());
            let mut linked = self
                .on_store(move |st| st.linked_crm_ids(&s, &u, ids))
                .await?;
            // A cut-off create's record whose owner a person changed since is read too.
            linked.extend(crm.stamped.iter().map(|(id, _)| id.clone()));
            crm.admit_linked(&linked, &mapping, &owner);
        }
        // When the Exchange delta was last read: now, unless the subscription stood in.
        let exchange_read_at = (!trust_subscription).then_some(pulled_at);
        if is_quiet(&exchange.changes, &crm.changes, &state) {
            // A state stored before reconciliations existed takes the current scope.
            state.planned_scope.get_or_insert_with(|| scope.clone());
            // Nothing changed and nothing is pending: move the cursors and stop; the
            // planner would plan nothing from this. Most ticks end here, and their state
            // is saved with their status in one storage call.
            advance(
                &mut state,
                exchange_read_at,
                exchange.delta_link,
                crm.watermark,
            );
            let stands = still_stands(&loaded, &state);
            // The watermark stored once the cycle's status is recorded.
            let stored = if stands {
                loaded.crm_watermark
            } else {
                state.crm_watermark
            };
            let lease = lease::grant(
                notified,
                stored,
                &state,
                renewal_due,
                self.window_probe(&clients),
            );
            return Ok(CycleReport {
                throttled: (clients.graph.throttled_count() + clients.pipeliner.throttled_count())
                    .saturating_sub(throttled_before),
                notified: notified.both(),
                state: if stands {
                    StateLeft::Unchanged(held_watermark(&loaded, &state))
                } else {
                    StateLeft::Save(Box::new(state))
                },
                lease,
                ..CycleReport::default()
            });
        }
        // A cycle with work shows as running until it ends.
        let (s, u, started) = (space_id.clone(), user_id.clone(), self.clock.now());
        self.on_store(move |st| crate::engine::status::mark_started(st, &s, &u, started))
            .await?;
        adopt::adopt_exchange(
            &clients.graph,
            &mailbox,
            &folder,
            &state.intents,
            sends,
            &mapping,
            &mut exchange.changes,
        )
        .await?;
        let links = {
            let (s, u) = (space_id.clone(), user_id.clone());
            self.on_store(move |st| commit::load_links(st, &s, &u))
                .await?
        };
        let (links, rejected) = LinkSet::new(links);
        adopt::adopt_crm(
            &state.intents,
            sends,
            &crm.stamped,
            &links,
            &mapping,
            &mut crm.changes,
        );
        if !rejected.is_empty() {
            tracing::warn!(space = %space_id, user = %user_id, count = rejected.len(), "ignoring links that reuse an id");
        }
        let settings = Settings {
            sync_type: user.settings.sync_type,
            sync_preference: user
                .settings
                .sync_preference
                .unwrap_or(SyncPreference::Owned),
            delete_protection: user.settings.delete_protection,
            conflict_policy: user.settings.conflict_policy,
            thresholds: Thresholds::default(),
        };
        let mut input = PlanInput {
            exchange: exchange.changes,
            crm: crm.changes,
            links,
            tombstones: state.tombstones.clone(),
            intents: state.intents.clone(),
            refusals: state.refusals.clone(),
            settings,
            mapping: mapping.clone(),
            required_crm_fields: required,
            first_sync: !state.first_sync_done,
            reconcile: reconcile.clone(),
            deletes_confirmed: state.deletes_confirmed,
            own_deletes: state.own_deletes.clone(),
            now: self.clock.now(),
        };
        let mut planned = plan(&input);
        if !planned.fetch_full.is_empty() {
            self.fetch_full(
                &clients,
                &mailbox,
                &owner,
                &mapping,
                &planned.fetch_full,
                &mut input,
            )
            .await?;
            planned = plan(&input);
        }
        if let Some(stop) = planned.stop {
            return Ok(CycleReport {
                needs_confirmation: Some(format!(
                    "this sync would delete {} contact(s) in Exchange and {} in Pipeliner out of {} \
                     linked; confirm or reject the deletes",
                    stop.exchange_deletes, stop.crm_deletes, stop.links
                )),
                notified: notified.both(),
                ..CycleReport::default()
            });
        }
        // Record every create and delete before sending it: a create cut off mid-way is
        // adopted by the next cycle instead of repeated, and a delete is known as exsync's
        // own instead of being passed on as a person's. Each create gets the next sequence
        // number in the order it is sent, and a Pipeliner create its `created` stamp.
        let seqs = record_writes(&mut state, &planned, self.clock.now());
        let stamps: HashMap<IntentId, chrono::DateTime<chrono::Utc>> = state
            .intents
            .iter()
            .filter_map(|i| i.stamp.map(|stamp| (i.id.clone(), stamp)))
            .collect();
        let marker =
            execute::SendMarker::new(self.store.clone(), space_id.clone(), user_id.clone(), seqs);
        if planned.write_count() > 0 {
            let (s, u, st) = (space_id.clone(), user_id.clone(), state.clone());
            // On disk before anything is sent: a crash must not forget a write it sent.
            self.on_store(move |store| {
                store.put_sync_state(&s, &u, &st)?;
                store.flush()
            })
            .await?;
        }
        let (done_exchange, done_crm) = join(
            execute::execute_exchange(
                &clients.graph,
                &mailbox,
                &folder,
                &planned.exchange,
                &mapping,
                &marker,
            ),
            execute::execute_crm(
                &clients.pipeliner,
                &owner,
                &planned.crm,
                &mapping,
                &marker,
                &stamps,
            ),
        )
        .await;
        let now = self.clock.now();
        observe::writes(
            &self.options.metrics,
            &planned,
            &input,
            &done_exchange,
            &done_crm,
            now,
        );
        if !done_crm.refused.is_empty() {
            // The space's rules may have changed: read its required fields afresh.
            self.required_fields
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&space_id);
        }
        let any_uncertain = done_exchange.any_uncertain || done_crm.any_uncertain;
        if !any_uncertain {
            advance(
                &mut state,
                exchange_read_at,
                exchange.delta_link,
                crm.watermark,
            );
            state.first_sync_done = true;
            state.deletes_confirmed = false;
            state.planned_scope = Some(scope);
        }
        let report = CycleReport {
            exchange: done_exchange.counts,
            crm: done_crm.counts,
            conflicts: planned.conflicts.len() as u64,
            record_errors: (planned.errors.len()
                + done_exchange.refused.len()
                + done_crm.refused.len()) as u64,
            // Clients are shared by a space's users, so this counts the space's 429s
            // during the cycle: an upper bound for this user's.
            throttled: (clients.graph.throttled_count() + clients.pipeliner.throttled_count())
                .saturating_sub(throttled_before),
            needs_confirmation: None,
            notified: notified.both(),
            state: StateLeft::Saved,
            lease: None,
            // The subscription a first sync left out is set up by the next cycle, which
            // also reads what changed in Exchange while this one ran.
            follow_up: first_sync && self.public_url.is_some() && state.first_sync_done,
        };
        let (s, u) = (space_id.clone(), user_id.clone());
        // The committed cursors, when nothing is left pending for the next cycle.
        let settled = self
            .on_store(move |store| {
                let mut state = state;
                commit::commit(
                    store,
                    &s,
                    &u,
                    &planned,
                    &done_exchange,
                    &done_crm,
                    &mut state,
                    now,
                )?;
                store.put_sync_state(&s, &u, &state)?;
                store.flush()?;
                Ok(nothing_pending(&state).then(|| state.cursors()))
            })
            .await?;
        if any_uncertain {
            return Err(CycleError::new(
                "writes_incomplete",
                "some writes failed or timed out; the next cycle checks what happened and retries",
            ));
        }
        // Its own Pipeliner writes come back to the probe as changes and its Exchange
        // writes as notifications; either way the next look is a full cycle.
        let lease = settled.and_then(|committed| {
            lease::grant(
                notified,
                committed.crm_watermark,
                &committed,
                renewal_due,
                self.window_probe(&clients),
            )
        });
        Ok(CycleReport { lease, ..report })
    }

    /// The probe a lease asks: the space's shared window of Pipeliner changes, as fresh
    /// as a notified user's tick accepts.
    fn window_probe(&self, clients: &SpaceClients) -> Arc<dyn crate::engine::runner::QuietProbe> {
        Arc::new(lease::WindowProbe {
            pipeliner: clients.pipeliner.clone(),
            max_age: chrono::Duration::from_std(self.options.shared_notified_age)
                .unwrap_or(chrono::Duration::zero()),
        })
    }

    /// Replaces partial upserts of never-synced records with whole reads.
    async fn fetch_full(
        &self,
        clients: &SpaceClients,
        mailbox: &str,
        owner: &str,
        mapping: &Mapping,
        wanted: &[(Side, String)],
        input: &mut PlanInput,
    ) -> Result<(), CycleError> {
        for (side, id) in wanted {
            let read = match side {
                Side::Exchange => {
                    let contact = clients
                        .graph
                        .get_contact(mailbox, id)
                        .await
                        .map_err(graph_failed)?;
                    from_graph(&contact.body, mapping)
                }
                Side::Crm => {
                    let listed = clients
                        .pipeliner
                        .contact(id)
                        .await
                        .map_err(pipeliner_failed)?;
                    from_listed(&listed, mapping, owner).map(|mut read| {
                        if let Change::Upsert(upsert) = &mut read.change {
                            upsert.access = pull::access_of(&listed, owner, upsert.access);
                        }
                        read
                    })
                }
            };
            let changes = match side {
                Side::Exchange => &mut input.exchange,
                Side::Crm => &mut input.crm,
            };
            if let Ok(read) = read {
                changes.upserts.retain(|u| &u.id != id);
                match read.change {
                    Change::Upsert(upsert) => changes.upserts.push(*upsert),
                    Change::Delete(id) => changes.deletes.push(id),
                }
            }
        }
        Ok(())
    }
}

impl CycleRunner for SyncCycle {
    fn run(&self, job: CycleJob) -> LocalBoxFuture<'static, Result<CycleReport, CycleError>> {
        Box::pin(self.clone().cycle(job))
    }
}

/// Records the plan's deletes as exsync's own and its creates as pending intents, numbered
/// in the order each side sends them (Pipeliner creates first, then the rest as planned),
/// a Pipeliner create with the stamp of `now`. A create planned again keeps its number
/// and its first stamp, and takes the values sent now. Returns each create's number.
fn record_writes(
    state: &mut UserSyncState,
    planned: &crate::sync::Plan,
    now: chrono::DateTime<chrono::Utc>,
) -> HashMap<IntentId, u64> {
    let stamp = PendingIntent::stamp_for(now);
    let mut position: HashMap<IntentId, usize> = state
        .intents
        .iter()
        .enumerate()
        .map(|(i, intent)| (intent.id.clone(), i))
        .collect();
    let mut seqs = HashMap::new();
    for (side, actions) in [
        (Side::Exchange, &planned.exchange),
        (Side::Crm, &planned.crm),
    ] {
        for action in actions.iter() {
            match action {
                Action::Delete { id, .. } => {
                    let own = OwnDelete {
                        side,
                        id: id.clone(),
                    };
                    if !state.own_deletes.contains(&own) {
                        state.own_deletes.push(own);
                    }
                }
                Action::Create {
                    intent, contact, ..
                } => {
                    let stamp = (side == Side::Crm).then_some(stamp);
                    match position.get(intent) {
                        Some(&i) => {
                            // Planned again: it keeps its number (a create that may have
                            // been sent once stays one to look for) and its stamp.
                            let pending = &mut state.intents[i];
                            if let Some(seq) = pending.seq {
                                seqs.insert(intent.clone(), seq);
                            }
                            pending.stamp = pending.stamp.or(stamp);
                            pending.contact = (**contact).clone();
                        }
                        None => {
                            let seq = state.next_create_seq;
                            state.next_create_seq += 1;
                            seqs.insert(intent.clone(), seq);
                            position.insert(intent.clone(), state.intents.len());
                            state.intents.push(PendingIntent {
                                id: intent.clone(),
                                target: side,
                                source_id: intent
                                    .0
                                    .split_once(':')
                                    .map(|(_, s)| s.to_owned())
                                    .unwrap_or_default(),
                                contact: (**contact).clone(),
                                stamp,
                                seq: Some(seq),
                            });
                        }
                    }
                }
                Action::Update { .. } => {}
            }
        }
    }
    seqs
}

/// How old the space's shared window of Pipeliner changes may be when it answers a cycle
/// for `trigger`; `None` when the cycle asks Pipeliner itself. Periodic polls of a space,
/// and its users woken by each other's writes, share the window.
fn shared_age(
    trigger: Trigger,
    notified: bool,
    options: &ClientOptions,
) -> Option<std::time::Duration> {
    match trigger {
        Trigger::Tick | Trigger::Startup if notified => Some(options.shared_notified_age),
        Trigger::Tick | Trigger::Startup => Some(options.shared_poll_age),
        Trigger::PeerWrote => Some(options.shared_wake_age),
        Trigger::Notify | Trigger::Manual => None,
    }
}

/// Moves the cursors past what the cycle read: the delta link and Pipeliner watermark,
/// and when the Exchange delta was last read, if this cycle read it.
fn advance(
    state: &mut UserSyncState,
    exchange_read_at: Option<chrono::DateTime<chrono::Utc>>,
    delta_link: String,
    crm_watermark: Option<chrono::DateTime<chrono::Utc>>,
) {
    if exchange_read_at.is_some() {
        state.exchange_polled_at = exchange_read_at;
    }
    state.delta_link = Some(delta_link);
    state.crm_watermark = crm_watermark;
}

/// Whether the stored state, whose cursors are `loaded`, still serves after a quiet cycle
/// that ended with `now`: nothing but the Pipeliner watermark moved, and the stored
/// watermark is less than [`CRM_WATERMARK_LAG`] behind. An older watermark only means a
/// longer overlap read after a restart; skipping the write spares most quiet ticks a store
/// write. A quiet cycle never changes the bookkeeping lists, so the cursors decide.
fn still_stands(loaded: &UserSyncState, now: &UserSyncState) -> bool {
    let close = match (loaded.crm_watermark, now.crm_watermark) {
        (Some(stored), Some(new)) => new - stored < CRM_WATERMARK_LAG,
        (stored, new) => stored == new,
    };
    close
        && loaded.cursors()
            == UserSyncState {
                crm_watermark: loaded.crm_watermark,
                ..now.cursors()
            }
}

/// The watermark a quiet cycle reached beyond the stored one, for the actor to hold.
fn held_watermark(loaded: &UserSyncState, now: &UserSyncState) -> Option<HeldWatermark> {
    now.crm_watermark
        .filter(|reached| Some(*reached) != loaded.crm_watermark)
        .map(|reached| HeldWatermark {
            stored: loaded.crm_watermark,
            reached,
        })
}

/// Whether a cycle has nothing to plan: both sides listed incrementally with no change,
/// the first sync done, and no create, delete, refusal or confirmation pending.
fn is_quiet(
    exchange: &SideChanges,
    crm: &SideChanges,
    state: &crate::store::sync_state::UserSyncState,
) -> bool {
    let unchanged = |side: &SideChanges| {
        side.listing == crate::sync::Listing::Incremental
            && side.upserts.is_empty()
            && side.deletes.is_empty()
    };
    unchanged(exchange) && unchanged(crm) && nothing_pending(state)
}

/// Whether the state leaves nothing for the next cycle to finish: the first sync done,
/// and no create, delete, refusal or confirmation pending.
fn nothing_pending(state: &UserSyncState) -> bool {
    state.first_sync_done
        && state.intents.is_empty()
        && state.own_deletes.is_empty()
        && state.refusals.is_empty()
        && !state.deletes_confirmed
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};

    use super::*;
    use crate::connectors::pipeliner::feed::FEED_REACH;

    fn quiet_user(minute: i64) -> UserSyncState {
        UserSyncState {
            delta_link: Some("delta-1".into()),
            crm_watermark: Some(
                Utc.with_ymd_and_hms(2026, 1, 1, 10, 0, 0).unwrap() + Duration::minutes(minute),
            ),
            first_sync_done: true,
            ..UserSyncState::default()
        }
    }

    #[test]
    fn a_quiet_tick_keeps_the_stored_state_until_its_watermark_lags_too_far() {
        let stored = quiet_user(0);
        assert!(still_stands(&stored, &quiet_user(0)));
        assert!(
            still_stands(&stored, &quiet_user(59)),
            "a lagging watermark is fine"
        );
        assert!(
            !still_stands(&stored, &quiet_user(60)),
            "written once an hour"
        );
        let moved = UserSyncState {
            delta_link: Some("delta-2".into()),
            ..quiet_user(1)
        };
        assert!(
            !still_stands(&stored, &moved),
            "any other change is written"
        );
        let first = UserSyncState {
            crm_watermark: None,
            ..quiet_user(0)
        };
        assert!(
            !still_stands(&first, &quiet_user(0)),
            "a first watermark is written"
        );
        assert!(
            CRM_WATERMARK_LAG < FEED_REACH,
            "a stored watermark stays inside a space's window"
        );
    }

    #[test]
    fn a_notified_users_tick_accepts_an_older_shared_window() {
        let options = ClientOptions {
            http: reqwest::Client::new(),
            page_size: 100,
            timeout: std::time::Duration::from_secs(30),
            retry: crate::connectors::retry::RetryPolicy::none(),
            budget: crate::connectors::graph::budget::MailboxBudget::default(),
            shared_poll_age: shared_poll_age(std::time::Duration::from_secs(60)),
            shared_notified_age: shared_poll_age(std::time::Duration::from_secs(1800)),
            shared_wake_age: std::time::Duration::from_millis(200),
            metrics: Arc::default(),
        };
        let secs =
            |trigger, notified| shared_age(trigger, notified, &options).map(|a| a.as_secs_f64());
        assert_eq!(secs(Trigger::Tick, false), Some(6.0), "a tenth of the tick");
        assert_eq!(
            secs(Trigger::Tick, true),
            Some(30.0),
            "a tenth of the notified tick, at most 30 s"
        );
        assert_eq!(secs(Trigger::Startup, true), Some(30.0));
        assert_eq!(
            secs(Trigger::PeerWrote, true),
            Some(0.2),
            "fetched after the write"
        );
        assert_eq!(secs(Trigger::Notify, true), None);
        assert_eq!(secs(Trigger::Manual, false), None);
    }

    #[test]
    fn a_held_watermark_applies_while_the_state_it_was_reached_from_is_stored() {
        let stored = quiet_user(0);
        let now = quiet_user(5);
        let held = held_watermark(&stored, &now).expect("the watermark moved");
        assert_eq!(held.stored, stored.crm_watermark);
        assert_eq!(held.reached, now.crm_watermark.unwrap());
        assert_eq!(held_watermark(&stored, &quiet_user(0)), None);

        assert_eq!(
            HeldWatermark::over(Some(held), stored.crm_watermark),
            now.crm_watermark,
            "read on from where the quiet cycles got"
        );
        assert_eq!(
            HeldWatermark::over(Some(held), quiet_user(9).crm_watermark),
            quiet_user(9).crm_watermark,
            "a state stored since (a cycle with work, an admin) wins"
        );
        assert_eq!(HeldWatermark::over(Some(held), None), None, "a reset wins");
        assert_eq!(
            HeldWatermark::over(None, stored.crm_watermark),
            stored.crm_watermark
        );
    }
}
