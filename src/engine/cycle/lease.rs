//! Leases for quiet ticks: when a quiet cycle may let its user's next ticks only ask the
//! space's shared window of Pipeliner changes, and the probe that asks it. A leased tick
//! finds what the full tick would have found (the live subscription stands in for the
//! Exchange delta either way) without loading and decoding the user's records.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use futures_util::future::LocalBoxFuture;

use super::hooks::Notified;
use crate::connectors::pipeliner::feed::{SharedPoll, FEED_OVERLAP};
use crate::connectors::pipeliner::PipelinerClient;
use crate::engine::runner::{HeldWatermark, QuietLease, QuietProbe};
use crate::store::sync_state::{UserSyncState, EXCHANGE_SAFETY_NET};

/// Asks the space's shared window of Pipeliner changes, as a periodic poll does.
pub(super) struct WindowProbe {
    /// The space's client, whose window the space's users share.
    pub pipeliner: PipelinerClient,
    /// How old the window may be and still answer.
    pub max_age: Duration,
}

impl QuietProbe for WindowProbe {
    fn unchanged_since(
        &self,
        watermark: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> LocalBoxFuture<'static, Option<DateTime<Utc>>> {
        let (pipeliner, max_age) = (self.pipeliner.clone(), self.max_age);
        Box::pin(async move {
            let throttled = pipeliner.throttled_count();
            let poll = SharedPoll {
                since: watermark - FEED_OVERLAP,
                now,
                max_age,
            };
            let listed = match pipeliner.contacts_modified_since_shared(poll).await {
                Ok(listed) => listed,
                Err(e) => {
                    tracing::debug!(error = %e, "a leased tick could not ask Pipeliner; running a full cycle");
                    return None;
                }
            };
            (listed.contacts.is_empty() && pipeliner.throttled_count() == throttled)
                .then(|| listed.server_time.unwrap_or(watermark).max(watermark))
        })
    }
}

/// The lease a quiet cycle grants, if any, once the store holds `stored` as the user's
/// Pipeliner watermark (the one it started from when its state still stands, its own
/// when it saves the state): both upstreams notify, the first sync is done, and the
/// Exchange delta was read. It lasts until the Exchange safety net or the
/// subscription's renewal (`renewal_due`) is due, whichever comes first.
pub(super) fn grant(
    notified: Notified,
    stored: Option<DateTime<Utc>>,
    now: &UserSyncState,
    renewal_due: Option<DateTime<Utc>>,
    probe: Arc<dyn QuietProbe>,
) -> Option<QuietLease> {
    if !notified.both() || !now.first_sync_done || now.delta_link.is_none() {
        return None;
    }
    let stored = stored?;
    let reached = now.crm_watermark?;
    let safety_net = now.exchange_polled_at? + EXCHANGE_SAFETY_NET;
    Some(QuietLease {
        until: safety_net.min(renewal_due?),
        watermark: HeldWatermark {
            stored: Some(stored),
            reached,
        },
        probe,
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    struct NeverAsked;

    impl QuietProbe for NeverAsked {
        fn unchanged_since(
            &self,
            _: DateTime<Utc>,
            _: DateTime<Utc>,
        ) -> LocalBoxFuture<'static, Option<DateTime<Utc>>> {
            unreachable!("granting a lease does not ask")
        }
    }

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, hour, 0, 0).unwrap()
    }

    fn quiet(watermark: u32) -> UserSyncState {
        UserSyncState {
            delta_link: Some("delta-1".into()),
            crm_watermark: Some(at(watermark)),
            first_sync_done: true,
            exchange_polled_at: Some(at(1)),
            ..UserSyncState::default()
        }
    }

    const BOTH: Notified = Notified {
        exchange: true,
        crm: true,
    };

    fn lease(
        notified: Notified,
        loaded: &UserSyncState,
        now: &UserSyncState,
        renewal_due: Option<DateTime<Utc>>,
    ) -> Option<QuietLease> {
        grant(
            notified,
            loaded.crm_watermark,
            now,
            renewal_due,
            Arc::new(NeverAsked),
        )
    }

    #[test]
    fn a_lease_runs_to_the_safety_net_or_the_renewal_whichever_is_first() {
        let granted = lease(BOTH, &quiet(2), &quiet(3), Some(at(20))).expect("granted");
        assert_eq!(granted.until, at(1) + EXCHANGE_SAFETY_NET);
        assert_eq!(
            granted.watermark,
            HeldWatermark {
                stored: Some(at(2)),
                reached: at(3)
            }
        );
        let renewal_first = lease(BOTH, &quiet(2), &quiet(3), Some(at(4))).expect("granted");
        assert_eq!(renewal_first.until, at(4));
    }

    #[test]
    fn no_lease_without_both_notifications_a_first_sync_or_the_cursors() {
        let exchange_only = Notified {
            exchange: true,
            crm: false,
        };
        let due = Some(at(20));
        assert!(lease(exchange_only, &quiet(2), &quiet(2), due).is_none());
        assert!(
            lease(BOTH, &quiet(2), &quiet(2), None).is_none(),
            "no subscription record"
        );
        let first = UserSyncState {
            first_sync_done: false,
            ..quiet(2)
        };
        assert!(lease(BOTH, &first, &first, due).is_none());
        let never_polled = UserSyncState {
            exchange_polled_at: None,
            ..quiet(2)
        };
        assert!(lease(BOTH, &never_polled, &never_polled, due).is_none());
        let no_watermark = UserSyncState {
            crm_watermark: None,
            ..quiet(2)
        };
        assert!(lease(BOTH, &no_watermark, &quiet(2), due).is_none());
    }
}
