//! Keeping the upstreams' notifications flowing: one Graph subscription per user folder
//! (created with a random `clientState` once the user's first sync is done, renewed
//! [`RENEW_BEFORE`] before it expires (see [`crate::engine::renewal`]), recreated when
//! gone) and one Pipeliner webhook per space (signed with a random UUID). Failures here
//! are journaled, not fatal: the periodic tick still syncs.

use rand::RngCore;
use secrecy::SecretString;

use super::{SpaceClients, SyncCycle};
use crate::connectors::graph::subscriptions::SubscriptionTarget;
use crate::connectors::pipeliner::webhooks::WEBHOOK_OPTIONS_VERSION;
use crate::engine::renewal::{RENEW_BEFORE, SUBSCRIPTION_LIFETIME};
use crate::engine::runner::HookRecords;
use crate::store::hooks::{
    client_state_context, signature_context, SpaceHookRecord, SubscriptionRecord,
};
use crate::store::spaces::SpaceRecord;
use crate::store::sync_state::UserSyncState;
use crate::store::users::UserRecord;

/// Which upstreams will notify exsync of a user's changes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Notified {
    /// A live Graph subscription on the user's folder.
    pub exchange: bool,
    /// The space's Pipeliner webhook.
    pub crm: bool,
}

impl Notified {
    /// Both sides notify: periodic polls are only the safety net.
    pub fn both(self) -> bool {
        self.exchange && self.crm
    }
}

/// When the user's Graph subscription is due for renewal, if the state names a stored one.
pub(super) fn renewal_due(
    records: &HookRecords,
    state: &UserSyncState,
) -> Option<chrono::DateTime<chrono::Utc>> {
    records
        .subscription
        .as_ref()
        .filter(|r| state.subscription_id.as_ref() == Some(&r.id))
        .map(|r| r.expires_at - RENEW_BEFORE)
}

impl SyncCycle {
    /// Sets up, renews or recreates what is missing, and tells which upstreams will
    /// notify exsync of this user's changes afterwards. A first sync leaves the Graph
    /// subscription alone: it fills the folder itself, and a subscription would only
    /// bring its own writes back as notifications, one per contact. The cycle after it
    /// subscribes.
    pub(super) async fn ensure_hooks(
        &self,
        clients: &SpaceClients,
        space: &SpaceRecord,
        user: &UserRecord,
        folder: &str,
        state: &mut UserSyncState,
        records: HookRecords,
    ) -> Notified {
        let Some(public_url) = self.public_url.clone() else {
            return Notified::default();
        };
        let exchange = state.first_sync_done
            && match self
                .ensure_subscription(
                    clients,
                    &public_url,
                    space,
                    user,
                    folder,
                    state,
                    records.subscription,
                )
                .await
            {
                Ok(()) => true,
                Err(message) => {
                    self.journal_hook_failure(user, "subscription_failed", message)
                        .await;
                    false
                }
            };
        let url = webhook_url(&public_url, space);
        if records.space_webhook.is_some_and(|h| is_current(&h, &url)) {
            return Notified {
                exchange,
                crm: true,
            };
        }
        let crm = match self.ensure_space_webhook(clients, &url, space).await {
            Ok(()) => true,
            Err(message) => {
                self.journal_hook_failure(user, "webhook_failed", message)
                    .await;
                false
            }
        };
        Notified { exchange, crm }
    }

    async fn journal_hook_failure(&self, user: &UserRecord, kind: &'static str, message: String) {
        tracing::warn!(space = %user.space, user = %user.id, kind, %message, "notifications are not set up");
        let (s, u, now) = (user.space.clone(), user.id.clone(), self.clock.now());
        let _ = self
            .on_store(move |st| {
                st.append_journal(&s, &u, now, kind, message, serde_json::Value::Null)
                    .map(|_| ())
            })
            .await;
    }

    #[allow(clippy::too_many_arguments)]
    async fn ensure_subscription(
        &self,
        clients: &SpaceClients,
        public_url: &str,
        space: &SpaceRecord,
        user: &UserRecord,
        folder: &str,
        state: &mut UserSyncState,
        existing: Option<SubscriptionRecord>,
    ) -> Result<(), String> {
        let now = self.clock.now();
        let existing = existing.filter(|r| state.subscription_id.as_ref() == Some(&r.id));
        if let Some(record) = existing.as_ref().filter(|r| r.folder_id == folder) {
            if record.expires_at - now > RENEW_BEFORE {
                return Ok(());
            }
            let expires = now + SUBSCRIPTION_LIFETIME;
            if record.expires_at > now {
                if let Ok(renewed) = clients
                    .graph
                    .renew_subscription(&user.email, &record.id, expires)
                    .await
                {
                    let mut record = record.clone();
                    record.expires_at = renewed.expiration_date_time;
                    return self.store_subscription(clients, space, user, record).await;
                }
            }
        }
        // What the new subscription replaces goes first (see `retire`).
        self.retire_before_subscribing(clients, space, user, existing)
            .await;
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let client_state = SecretString::from(hex::encode(bytes));
        let target = SubscriptionTarget {
            notification_url: format!("{public_url}/webhooks/graph"),
            lifecycle_url: format!("{public_url}/webhooks/graph/lifecycle"),
            client_state: client_state.clone(),
        };
        let created = clients
            .graph
            .create_subscription(&user.email, folder, &target, now + SUBSCRIPTION_LIFETIME)
            .await
            .map_err(|e| format!("cannot subscribe to changes in the folder: {e}"))?;
        let sealed = self
            .store
            .seal(&client_state_context(&created.id), &client_state)
            .map_err(|e| e.to_string())?;
        let record = SubscriptionRecord {
            id: created.id.clone(),
            space: user.space.clone(),
            user: user.id.clone(),
            folder_id: folder.to_owned(),
            client_state: sealed,
            expires_at: created.expiration_date_time,
        };
        self.store_subscription(clients, space, user, record)
            .await?;
        state.subscription_id = Some(created.id);
        Ok(())
    }

    /// Registers the space's webhook unless another user of the space did meanwhile. A
    /// stored one that delivers to another URL (the public URL changed) or was registered
    /// with other options (an older exsync) is replaced: the new one is registered and
    /// stored first, and the old one becomes a pending removal.
    async fn ensure_space_webhook(
        &self,
        clients: &SpaceClients,
        url: &str,
        space: &SpaceRecord,
    ) -> Result<(), String> {
        let _guard = self.hooks_lock.lock().await;
        let id = space.id.clone();
        let stored = self
            .on_store(move |st| st.space_hook(&id))
            .await
            .map_err(|e| e.message)?;
        if stored.as_ref().is_some_and(|h| is_current(h, url)) {
            return Ok(());
        }
        let kept = stored.map(|h| h.webhook_id);
        self.delete_unstored_webhooks(clients, url, kept.as_deref())
            .await;
        let signature = uuid::Uuid::new_v4().to_string();
        let hook = clients
            .pipeliner
            .create_webhook(url, &signature)
            .await
            .map_err(|e| format!("cannot register the Pipeliner webhook: {e}"))?;
        let sealed = self
            .store
            .seal(
                &signature_context(&space.id),
                &SecretString::from(signature),
            )
            .map_err(|e| e.to_string())?;
        let record = SpaceHookRecord {
            webhook_id: hook.id,
            url: hook.url,
            signature: sealed,
            options_version: WEBHOOK_OPTIONS_VERSION,
        };
        self.store_space_hook(clients, space, record).await
    }

    /// Deletes the space's webhooks that deliver to this space's exsync route (`url`,
    /// under this or an earlier public URL) other than the stored one (`kept`): a
    /// registration cut off between Pipeliner's answer and the store (a kill) left one
    /// signed with a key nobody kept. Best effort: what fails now is listed again before
    /// the next registration.
    async fn delete_unstored_webhooks(
        &self,
        clients: &SpaceClients,
        url: &str,
        kept: Option<&str>,
    ) {
        let route = url
            .rfind("/webhooks/pipeliner/")
            .map_or(url, |at| &url[at..]);
        let existing = match clients.pipeliner.webhooks().await {
            Ok(existing) => existing,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list the space's Pipeliner webhooks");
                return;
            }
        };
        for hook in existing
            .iter()
            .filter(|h| h.url.ends_with(route) && Some(h.id.as_str()) != kept)
        {
            if let Err(e) = clients.pipeliner.delete_webhook(&hook.id).await {
                tracing::warn!(error = %e, webhook = %hook.id, "cannot delete a webhook left by a cut-off registration");
            }
        }
    }
}

/// Where the space's Pipeliner webhook delivers, under exsync's public URL.
fn webhook_url(public_url: &str, space: &SpaceRecord) -> String {
    format!("{public_url}/webhooks/pipeliner/{}", space.id)
}

/// Whether `hook` is the webhook this exsync registers: at `url`, with the current
/// options.
fn is_current(hook: &SpaceHookRecord, url: &str) -> bool {
    hook.url == url && hook.options_version == WEBHOOK_OPTIONS_VERSION
}
