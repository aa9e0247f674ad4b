//! A cycle's part in removing upstream registrations: storing a subscription or webhook
//! only while its user and space still want it (one made while an admin removed them is
//! deleted at once), and clearing what a new subscription replaces before making it (the
//! user's old subscription, and its subscription removals still pending from an earlier
//! deactivation or state reset).

use super::{clients, SpaceClients, SyncCycle};
use crate::connectors::retry::RetryPolicy;
use crate::engine::removals::{self, reaches_same_upstream};
use crate::engine::runner::CycleError;
use crate::ids::SpaceId;
use crate::store::hooks::{SpaceHookRecord, SubscriptionRecord};
use crate::store::removals::{PendingRemoval, RemovalReason, RemovalTarget, SpaceConnection};
use crate::store::spaces::SpaceRecord;
use crate::store::users::UserRecord;

impl SyncCycle {
    /// Clients for removals, built afresh from `connection` (the space's, or the copy a
    /// removal keeps). Each call is tried twice at most: a removal that fails stays
    /// pending and the sweep tries again later.
    pub fn removal_clients(
        &self,
        space: &SpaceId,
        connection: &SpaceConnection,
    ) -> Result<SpaceClients, CycleError> {
        let options = clients::ClientOptions {
            retry: RetryPolicy {
                max_retries: self.options.retry.max_retries.min(1),
                ..self.options.retry
            },
            ..self.options.clone()
        };
        clients::build(
            &self.store,
            space,
            &connection.pipeliner,
            &connection.microsoft,
            &[],
            &self.clock,
            &options,
        )
    }

    /// Deletes `removal` upstream now and records the outcome (gone, or still pending
    /// with the error).
    async fn remove_now(&self, clients: &SpaceClients, removal: PendingRemoval) {
        let outcome = removals::delete_upstream(clients, &removal, self.clock.now()).await;
        let now = self.clock.now();
        if let Err(e) = self
            .on_store(move |st| removals::settle(st, vec![(removal, outcome)], now))
            .await
        {
            tracing::error!(error = %e, "cannot record the outcome of a removal");
        }
    }

    /// Before the user gets a new subscription: the one it replaces (expired, not
    /// renewed, or on the folder of before a reset) is deleted, and so are the user's
    /// subscriptions whose removal is pending, so that a reset user never has two.
    /// A delete that fails stays pending for the sweep and does not hold up the new one.
    pub(super) async fn retire_before_subscribing(
        &self,
        clients: &SpaceClients,
        space: &SpaceRecord,
        user: &UserRecord,
        replaced: Option<SubscriptionRecord>,
    ) {
        let (record, email, now) = (space.clone(), user.email.clone(), self.clock.now());
        let (s, u) = (space.id.clone(), user.id.clone());
        let pending = self
            .on_store(move |st| {
                if let Some(old) = replaced {
                    let reason = RemovalReason::Replaced;
                    removals::retire_subscription(st, &record, &old, &email, reason, now)?;
                }
                st.pending_removals_of_user(&s, &u)
            })
            .await;
        let pending = match pending {
            Ok(pending) => pending,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the user's pending removals");
                return;
            }
        };
        for removal in pending {
            // Only what the cycle's own clients reach; the rest is for the sweep.
            if matches!(removal.target, RemovalTarget::GraphSubscription { .. })
                && reaches_same_upstream(&removal, space)
            {
                self.remove_now(clients, removal).await;
            }
        }
    }

    /// Stores a subscription the cycle made or renewed; when the user or space stopped
    /// wanting it meanwhile, it is deleted at once instead.
    pub(super) async fn store_subscription(
        &self,
        clients: &SpaceClients,
        space: &SpaceRecord,
        user: &UserRecord,
        record: SubscriptionRecord,
    ) -> Result<(), String> {
        let (space_record, email, now) = (space.clone(), user.email.clone(), self.clock.now());
        let retired = self
            .on_store(move |st| {
                removals::keep_subscription(st, &space_record, &email, &record, now)
            })
            .await
            .map_err(|e| e.message)?;
        match retired {
            None => Ok(()),
            Some(removal) => {
                self.remove_now(clients, removal).await;
                Err("the user stopped syncing while its subscription was made".into())
            }
        }
    }

    /// Stores the space's webhook the cycle registered; when the space stopped wanting
    /// it meanwhile, it is deleted at once instead. The webhook it replaces, if any, is
    /// deleted at once too (and stays pending for the sweep if that fails).
    pub(super) async fn store_space_hook(
        &self,
        clients: &SpaceClients,
        space: &SpaceRecord,
        hook: SpaceHookRecord,
    ) -> Result<(), String> {
        let (space_record, now) = (space.clone(), self.clock.now());
        let kept = self
            .on_store(move |st| removals::keep_space_hook(st, &space_record, &hook, now))
            .await
            .map_err(|e| e.message)?;
        if let Some(replaced) = kept.replaced {
            self.remove_now(clients, replaced).await;
        }
        match kept.unwanted {
            None => Ok(()),
            Some(removal) => {
                self.remove_now(clients, removal).await;
                Err("the space stopped syncing while its webhook was registered".into())
            }
        }
    }
}
