//! Pacing under Graph's request budget per app and mailbox (10,000 requests per
//! 10 minutes for contacts): every request to a mailbox, and every sub-request of a
//! `$batch`, waits for a unit of that mailbox's budget before it is sent, so a large load
//! runs close to the budget without drawing 429s.
//!
//! The pacer is a GCRA limiter (the `governor` crate) with a small burst `b` and a
//! replenish period `T` chosen so that any interval of one window holds at most
//! `b + window / T` requests, which stays within [`SAFETY`] of the budget whatever the
//! window's alignment on Graph's side.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Share of the budget exsync allows itself, leaving room for clock skew and for
/// requests sent outside the pacer (another app instance, a retry racing a window).
pub const SAFETY: f64 = 0.98;

/// Graph's request budget per app and mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailboxBudget {
    /// Requests allowed per window.
    pub requests: u32,
    /// The window.
    pub window: Duration,
}

impl Default for MailboxBudget {
    /// Graph's Outlook limit: 10,000 requests per 10 minutes.
    fn default() -> Self {
        Self {
            requests: 10_000,
            window: Duration::from_secs(600),
        }
    }
}

impl MailboxBudget {
    /// The requests exsync allows itself per window.
    pub fn usable(&self) -> u32 {
        ((f64::from(self.requests) * SAFETY).floor() as u32).max(1)
    }

    /// The burst: one full batch (20) or 2 % of the budget, whichever is more, and never
    /// more than half of what is usable.
    pub fn burst(&self) -> u32 {
        let usable = self.usable();
        (usable / 50).max(20).min(usable / 2).max(1)
    }

    /// The limiter's quota: after the burst, one request every `window / (usable - burst)`.
    pub fn quota(&self) -> Quota {
        let usable = self.usable();
        let burst = self.burst();
        let steady = usable.saturating_sub(burst).max(1);
        let period = (self.window / steady).max(Duration::from_nanos(1));
        Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN))
    }

    /// The most requests the quota lets through in any interval of one window.
    pub fn most_per_window(&self) -> u64 {
        let quota = self.quota();
        let period = quota.replenish_interval().as_nanos().max(1);
        u64::from(quota.burst_size().get()) + (self.window.as_nanos() / period) as u64
    }
}

/// Per-mailbox pacing for one app (one Graph client).
pub struct MailboxPacer {
    limiter: DefaultKeyedRateLimiter<String>,
    burst: u32,
}

impl std::fmt::Debug for MailboxPacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailboxPacer")
            .field("burst", &self.burst)
            .finish_non_exhaustive()
    }
}

impl MailboxPacer {
    /// A pacer holding every mailbox to `budget`.
    pub fn new(budget: MailboxBudget) -> Self {
        Self {
            limiter: RateLimiter::keyed(budget.quota()),
            burst: budget.burst(),
        }
    }

    /// Waits until `cost` requests may be sent to `mailbox`; how long it waited.
    pub async fn take(&self, mailbox: &str, cost: u32) -> Duration {
        let key = mailbox.to_ascii_lowercase();
        let mut left = cost;
        let mut waited = Duration::ZERO;
        while left > 0 {
            let n = left.min(self.burst);
            let Some(cells) = NonZeroU32::new(n) else {
                return waited;
            };
            // Waits on the runtime's own timer rather than governor's, which would run a
            // timer thread of its own for every wait.
            while let Ok(Err(not_until)) = self.limiter.check_key_n(&key, cells) {
                let wait = not_until.wait_time_from(self.limiter.clock().now());
                waited += wait;
                tokio::time::sleep(wait).await;
            }
            // (`Err(InsufficientCapacity)` cannot happen: `n` never exceeds the burst.)
            left -= n;
        }
        waited
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_window_stays_within_the_budget_and_uses_most_of_it() {
        for (requests, secs) in [(10_000, 600), (10_000, 20), (1_000, 2), (50, 10), (3, 1)] {
            let budget = MailboxBudget {
                requests,
                window: Duration::from_secs(secs),
            };
            let most = budget.most_per_window();
            assert!(
                most <= u64::from(requests),
                "{requests}/{secs}s lets {most} through"
            );
            if requests >= 1_000 {
                let steady = f64::from(budget.usable() - budget.burst()) / f64::from(requests);
                assert!(steady >= 0.95, "{requests}/{secs}s paces at {steady}");
            }
        }
    }

    #[test]
    fn a_batch_fits_in_the_burst_of_the_real_budget() {
        let budget = MailboxBudget::default();
        assert_eq!(budget.usable(), 9_800);
        assert_eq!(budget.burst(), 196);
        assert!(budget.burst() >= 20);
    }

    #[tokio::test]
    async fn each_mailbox_has_its_own_budget_whatever_the_case_of_its_address() {
        let pacer = MailboxPacer::new(MailboxBudget {
            requests: 100,
            window: Duration::from_secs(1_000),
        });
        pacer.take("Ann@Acme.example", 20).await;
        let key = |m: &str| m.to_owned();
        assert!(
            pacer.limiter.check_key(&key("ann@acme.example")).is_err(),
            "the burst of Ann's mailbox is spent"
        );
        assert!(pacer.limiter.check_key(&key("joe@acme.example")).is_ok());
    }
}
