//! Upstream registrations exsync still has to remove: a Graph subscription of a user who
//! was deactivated, or a space's Pipeliner webhook after the space was deleted or its
//! integration switched off, whose delete upstream has not succeeded yet.
//!
//! Each record keeps a copy of the space's connection as it was when the removal was
//! asked for, its secrets still sealed under the space's contexts, so a removal can be
//! retried after the space itself is gone. Keys are the space, the user (empty for a
//! space's webhook) and the target, so a user's removals share its [`user_key`] prefix.
//!
//! [`user_key`]: super::codec::user_key

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::codec::{space_item_key, user_item_key, user_key, Versioned};
use super::error::StoreResult;
use super::spaces::{MicrosoftConnection, PipelinerConnection, SpaceRecord};
use super::Store;
use crate::ids::{SpaceId, UserId};

/// The longest error message kept with a removal.
const MAX_ERROR: usize = 500;

/// What is to be removed upstream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RemovalTarget {
    /// A user's Graph change-notification subscription.
    GraphSubscription {
        /// Graph's subscription id.
        id: String,
        /// The mailbox it watches (Graph paces requests per mailbox).
        mailbox: String,
        /// When Graph drops it on its own: after that there is nothing left to remove.
        expires_at: DateTime<Utc>,
    },
    /// A space's Pipeliner webhook.
    PipelinerWebhook {
        /// Pipeliner's webhook id.
        id: String,
    },
}

impl RemovalTarget {
    /// The target's kind, as shown in the status.
    pub fn kind(&self) -> RemovalKind {
        match self {
            Self::GraphSubscription { .. } => RemovalKind::GraphSubscription,
            Self::PipelinerWebhook { .. } => RemovalKind::PipelinerWebhook,
        }
    }

    /// The upstream id.
    pub fn id(&self) -> &str {
        match self {
            Self::GraphSubscription { id, .. } | Self::PipelinerWebhook { id } => id,
        }
    }
}

/// The kinds of registration exsync makes upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RemovalKind {
    /// A Graph change-notification subscription on a user's folder.
    GraphSubscription,
    /// A space's Pipeliner webhook.
    PipelinerWebhook,
}

impl RemovalKind {
    /// The kind's name, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GraphSubscription => "graph_subscription",
            Self::PipelinerWebhook => "pipeliner_webhook",
        }
    }
}

/// Why a registration is removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RemovalReason {
    /// The user was deactivated.
    UserDeactivated,
    /// The user was deactivated with `purge`.
    UserPurged,
    /// The space was deleted.
    SpaceDeleted,
    /// The space's integration was switched off.
    IntegrationOff,
    /// A new registration replaces it: a user's subscription after a state reset, a
    /// folder change or a failed renewal; a space's webhook registered at another URL
    /// or with the options of an older exsync.
    Replaced,
}

/// A copy of a space's connection, secrets still sealed under the space's contexts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpaceConnection {
    /// The Pipeliner side.
    pub pipeliner: PipelinerConnection,
    /// The Microsoft side.
    pub microsoft: MicrosoftConnection,
}

impl From<&SpaceRecord> for SpaceConnection {
    fn from(space: &SpaceRecord) -> Self {
        Self {
            pipeliner: space.pipeliner.clone(),
            microsoft: space.microsoft.clone(),
        }
    }
}

/// One registration whose removal upstream is pending.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingRemoval {
    /// The space it belongs to.
    pub space: SpaceId,
    /// The user, for a subscription.
    pub user: Option<UserId>,
    /// What to remove.
    pub target: RemovalTarget,
    /// How to reach the upstream, as the space was when the removal was asked for.
    pub connection: SpaceConnection,
    /// Why.
    pub reason: RemovalReason,
    /// When the removal was asked for.
    pub since: DateTime<Utc>,
    /// Failed attempts so far.
    pub attempts: u32,
    /// When the last attempt failed.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// Why it failed (an upstream's error, never a secret).
    pub last_error: Option<String>,
}

impl Versioned for PendingRemoval {
    const WHAT: &'static str = "pending removal";
    const VERSION: u8 = 1;
}

impl PendingRemoval {
    /// A removal of `target`, asked for at `now`, not yet attempted.
    pub fn new(
        space: &SpaceRecord,
        user: Option<UserId>,
        target: RemovalTarget,
        reason: RemovalReason,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            space: space.id.clone(),
            user,
            target,
            connection: SpaceConnection::from(space),
            reason,
            since: now,
            attempts: 0,
            last_attempt_at: None,
            last_error: None,
        }
    }

    /// The record's key: space, user (empty for a space's webhook), kind and id.
    pub fn key(&self) -> Vec<u8> {
        let item = format!("{}:{}", self.target.kind().as_str(), self.target.id());
        match &self.user {
            Some(user) => user_item_key(&self.space, user, &item),
            None => space_item_key(&self.space, &item),
        }
    }

    /// The same removal after an attempt that failed at `now` with `error`.
    pub fn failed(mut self, error: &str, now: DateTime<Utc>) -> Self {
        self.attempts += 1;
        self.last_attempt_at = Some(now);
        let mut error = error.to_owned();
        if error.len() > MAX_ERROR {
            let mut cut = MAX_ERROR;
            while !error.is_char_boundary(cut) {
                cut -= 1;
            }
            error.truncate(cut);
            error.push('…');
        }
        self.last_error = Some(error);
        self
    }
}

impl Store {
    /// Remembers a removal; one already pending for the same target keeps its history.
    pub fn add_pending_removal(&self, removal: &PendingRemoval) -> StoreResult<()> {
        match self.pending_removals.insert_new(&removal.key(), removal) {
            Err(super::StoreError::AlreadyExists(_)) => Ok(()),
            other => other,
        }
    }

    /// Replaces a pending removal's record (after a failed attempt) if it is still pending.
    pub fn note_removal_attempt(&self, removal: &PendingRemoval) -> StoreResult<()> {
        let key = removal.key();
        if self.pending_removals.get(&key)?.is_some() {
            self.pending_removals.put(&key, removal)?;
        }
        Ok(())
    }

    /// Forgets a removal that is done.
    pub fn remove_pending_removal(&self, removal: &PendingRemoval) -> StoreResult<bool> {
        self.pending_removals.remove(&removal.key())
    }

    /// Every pending removal, by space, user and target.
    pub fn pending_removals(&self) -> StoreResult<Vec<PendingRemoval>> {
        Ok(self
            .pending_removals
            .scan_prefix(&[])?
            .into_iter()
            .map(|(_, r)| r)
            .collect())
    }

    /// The pending removals of one user's registrations.
    pub fn pending_removals_of_user(
        &self,
        space: &SpaceId,
        user: &UserId,
    ) -> StoreResult<Vec<PendingRemoval>> {
        Ok(self
            .pending_removals
            .scan_prefix(&user_key(space, user))?
            .into_iter()
            .map(|(_, r)| r)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_store;
    use secrecy::{ExposeSecret, SecretString};

    fn space(store: &Store) -> SpaceRecord {
        let id = SpaceId::parse("acme").unwrap();
        let seal = |field: &str, value: &str| {
            store
                .seal(
                    &crate::store::spaces::space_secret_context(&id, field),
                    &SecretString::from(value.to_owned()),
                )
                .unwrap()
        };
        SpaceRecord {
            pipeliner: PipelinerConnection {
                service_url: "https://p".into(),
                space_id: "nl_acme".into(),
                api_key: "key".into(),
                api_secret: seal("pipeliner.api_secret", "p-secret"),
            },
            microsoft: MicrosoftConnection {
                tenant_id: "t".into(),
                client_id: "c".into(),
                client_secret: seal("microsoft.client_secret", "g-secret"),
                graph_url: "https://g".into(),
                login_url: "https://l".into(),
            },
            id,
            name: "Acme".into(),
            integration_enabled: true,
            custom_mappings: Vec::new(),
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            updated_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }

    #[test]
    fn pending_removals_round_trip_keep_their_history_and_group_by_user() {
        let (_dir, store) = test_store();
        let space = space(&store);
        let (jane, joe) = (
            UserId::parse("jane").unwrap(),
            UserId::parse("joe").unwrap(),
        );
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let subscription = |user: &UserId, id: &str| {
            PendingRemoval::new(
                &space,
                Some(user.clone()),
                RemovalTarget::GraphSubscription {
                    id: id.into(),
                    mailbox: format!("{user}@acme.com"),
                    expires_at: now,
                },
                RemovalReason::UserDeactivated,
                now,
            )
        };
        let webhook = PendingRemoval::new(
            &space,
            None,
            RemovalTarget::PipelinerWebhook { id: "w1".into() },
            RemovalReason::SpaceDeleted,
            now,
        );
        store
            .add_pending_removal(&subscription(&jane, "s1"))
            .unwrap();
        store
            .add_pending_removal(&subscription(&joe, "s2"))
            .unwrap();
        store.add_pending_removal(&webhook).unwrap();

        let failed = subscription(&jane, "s1").failed(&"x".repeat(2000), now);
        store.note_removal_attempt(&failed).unwrap();
        // Asking again for the same removal keeps its attempts.
        store
            .add_pending_removal(&subscription(&jane, "s1"))
            .unwrap();
        let of_jane = store.pending_removals_of_user(&space.id, &jane).unwrap();
        assert_eq!(of_jane.len(), 1);
        assert_eq!(of_jane[0].attempts, 1);
        assert!(of_jane[0].last_error.as_ref().unwrap().len() <= MAX_ERROR + 3);
        assert_eq!(store.pending_removals().unwrap().len(), 3);

        // The copied connection still opens with the space's contexts.
        let kept = &of_jane[0].connection.microsoft.client_secret;
        let opened = store
            .open_secret(
                &crate::store::spaces::space_secret_context(&space.id, "microsoft.client_secret"),
                kept,
            )
            .unwrap();
        assert_eq!(opened.expose_secret(), "g-secret");

        for kind in [
            RemovalKind::GraphSubscription,
            RemovalKind::PipelinerWebhook,
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }

        assert!(store.remove_pending_removal(&webhook).unwrap());
        store
            .note_removal_attempt(&webhook.clone().failed("late", now))
            .unwrap();
        assert_eq!(
            store.pending_removals().unwrap().len(),
            2,
            "a late failure note does not bring back a removal that is done"
        );
    }
}
