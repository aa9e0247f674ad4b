//! The secrets that authenticate upstream webhooks: each Graph subscription (its id, the
//! user it belongs to, its sealed `clientState`) and each space's Pipeliner webhook (its
//! id and sealed signature key).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::codec::{space_key, Versioned};
use super::crypto::SealedSecret;
use super::error::StoreResult;
use super::Store;
use crate::ids::{SpaceId, UserId};

/// A Graph change-notification subscription exsync created for a user's folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionRecord {
    /// Graph's subscription id.
    pub id: String,
    /// The space of the user.
    pub space: SpaceId,
    /// The user whose folder it watches.
    pub user: UserId,
    /// The watched folder.
    pub folder_id: String,
    /// The secret Graph echoes in every notification, sealed.
    pub client_state: SealedSecret,
    /// When Graph drops it unless renewed.
    pub expires_at: DateTime<Utc>,
}

impl Versioned for SubscriptionRecord {
    const WHAT: &'static str = "subscription";
    const VERSION: u8 = 1;
}

/// The associated-data context a subscription's client state is sealed under.
pub fn client_state_context(subscription_id: &str) -> String {
    format!("subscription/{subscription_id}/client_state")
}

/// The webhook exsync registered in a Pipeliner space.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpaceHookRecord {
    /// Pipeliner's webhook id.
    pub webhook_id: String,
    /// The URL it delivers to.
    pub url: String,
    /// The HMAC key of `WebHook-Signature` (a UUID), sealed.
    pub signature: SealedSecret,
    /// The version of the options it was registered with
    /// ([`WEBHOOK_OPTIONS_VERSION`](crate::connectors::pipeliner::webhooks::WEBHOOK_OPTIONS_VERSION));
    /// 0 for a webhook registered before versions were kept.
    #[serde(default)]
    pub options_version: u32,
}

impl Versioned for SpaceHookRecord {
    const WHAT: &'static str = "space webhook";
    const VERSION: u8 = 1;
}

/// The associated-data context a space's webhook signature is sealed under.
pub fn signature_context(space: &SpaceId) -> String {
    format!("space/{space}/webhook_signature")
}

impl Store {
    /// Stores a subscription.
    pub fn put_subscription(&self, record: &SubscriptionRecord) -> StoreResult<()> {
        self.subscriptions.put(record.id.as_bytes(), record)
    }

    /// The subscription with this Graph id.
    pub fn subscription(&self, id: &str) -> StoreResult<Option<SubscriptionRecord>> {
        self.subscriptions.get(id.as_bytes())
    }

    /// Forgets a subscription.
    pub fn remove_subscription(&self, id: &str) -> StoreResult<bool> {
        self.subscriptions.remove(id.as_bytes())
    }

    /// The stored subscriptions of a space, or of one of its users; a scan of every
    /// subscription, for admin removals and the occasional check for orphans.
    pub fn subscriptions_of(
        &self,
        space: &SpaceId,
        user: Option<&UserId>,
    ) -> StoreResult<Vec<SubscriptionRecord>> {
        let mut all = self.all_subscriptions()?;
        all.retain(|r| &r.space == space && user.is_none_or(|u| &r.user == u));
        Ok(all)
    }

    /// Every stored subscription.
    pub fn all_subscriptions(&self) -> StoreResult<Vec<SubscriptionRecord>> {
        Ok(self
            .subscriptions
            .scan_prefix(&[])?
            .into_iter()
            .map(|(_, r)| r)
            .collect())
    }

    /// Stores a space's webhook.
    pub fn put_space_hook(&self, space: &SpaceId, record: &SpaceHookRecord) -> StoreResult<()> {
        self.space_hooks.put(&space_key(space), record)
    }

    /// A space's webhook.
    pub fn space_hook(&self, space: &SpaceId) -> StoreResult<Option<SpaceHookRecord>> {
        self.space_hooks.get(&space_key(space))
    }

    /// Forgets a space's webhook.
    pub fn remove_space_hook(&self, space: &SpaceId) -> StoreResult<bool> {
        self.space_hooks.remove(&space_key(space))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_store;
    use secrecy::{ExposeSecret, SecretString};

    #[test]
    fn subscriptions_and_space_hooks_round_trip_with_sealed_secrets() {
        let (_dir, store) = test_store();
        let space = SpaceId::parse("acme").unwrap();
        let sealed = store
            .seal(
                &client_state_context("sub-1"),
                &SecretString::from("state".to_owned()),
            )
            .unwrap();
        let record = SubscriptionRecord {
            id: "sub-1".into(),
            space: space.clone(),
            user: UserId::parse("jane").unwrap(),
            folder_id: "f".into(),
            client_state: sealed,
            expires_at: DateTime::<Utc>::UNIX_EPOCH,
        };
        store.put_subscription(&record).unwrap();
        let back = store.subscription("sub-1").unwrap().unwrap();
        assert_eq!(back, record);
        let opened = store
            .open_secret(&client_state_context("sub-1"), &back.client_state)
            .unwrap();
        assert_eq!(opened.expose_secret(), "state");
        assert!(store.remove_subscription("sub-1").unwrap());
        assert!(store.subscription("sub-1").unwrap().is_none());

        let hook = SpaceHookRecord {
            webhook_id: "w1".into(),
            url: "https://x/webhooks/pipeliner/acme".into(),
            signature: store
                .seal(
                    &signature_context(&space),
                    &SecretString::from("uuid".to_owned()),
                )
                .unwrap(),
            options_version: 1,
        };
        store.put_space_hook(&space, &hook).unwrap();
        assert_eq!(store.space_hook(&space).unwrap(), Some(hook));
    }
}
