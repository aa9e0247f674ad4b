//! The one rule tying the safety-net interval to Graph subscriptions. A subscription is
//! renewed only by a cycle of its user, so cycles must come often enough that one finds it
//! due for renewal while it still lives — and, should that renewal fail (Graph briefly
//! unreachable), another one does too. Everything here derives from two inputs: the
//! longest interval exsync accepts ([`MAX_TICK_INTERVAL_SECS`]) and the number of chances
//! ([`RENEWAL_CHANCES`]); the renewal margin follows from them, and a test checks that it
//! leaves most of a subscription's life between renewals.

use super::schedule::JITTER_PERCENT;

/// The longest interval between a user's safety-net ticks, plain or notified, seconds
/// (12 hours): `EXSYNC_TICK_INTERVAL` and `EXSYNC_NOTIFIED_TICK_INTERVAL` may not exceed
/// it while Graph subscriptions are made (`EXSYNC_PUBLIC_URL` set).
pub const MAX_TICK_INTERVAL_SECS: u64 = 12 * 60 * 60;

/// How many cycles at the longest interval fall within the renewal margin: the first
/// renews, the others are there for when it fails.
pub const RENEWAL_CHANCES: u64 = 2;

/// How long a new or renewed subscription lives: 4,230 minutes (70.5 hours), well under
/// Graph's 10,080-minute limit for Outlook contacts.
pub const SUBSCRIPTION_LIFETIME: chrono::Duration = chrono::Duration::minutes(4230);

/// The renewal margin: a cycle renews the subscription once less than this is left of
/// its life. It is [`RENEWAL_CHANCES`] of the longest gaps between two ticks at
/// [`MAX_TICK_INTERVAL_SECS`] (26.4 hours).
pub const RENEW_BEFORE: chrono::Duration =
    chrono::Duration::seconds((RENEWAL_CHANCES * longest_gap_secs(MAX_TICK_INTERVAL_SECS)) as i64);

/// The longest wait between two ticks at `interval` seconds: the interval plus its jitter.
pub const fn longest_gap_secs(interval: u64) -> u64 {
    (interval * (100 + JITTER_PERCENT)).div_ceil(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cycles every `gap` seconds, the first `phase` seconds after a subscription was
    /// made: the fewest of them, over phases, that find it due for renewal while it
    /// still lives.
    fn chances(gap: u64) -> u64 {
        let lifetime = SUBSCRIPTION_LIFETIME.num_seconds() as u64;
        let due = lifetime - RENEW_BEFORE.num_seconds() as u64;
        (0..gap)
            .step_by((gap / 16).max(1) as usize)
            .map(|phase| {
                (0..)
                    .map(|k| phase + k * gap)
                    .take_while(|at| *at < lifetime)
                    .filter(|at| *at >= due)
                    .count() as u64
            })
            .min()
            .unwrap_or(0)
    }

    #[test]
    fn every_accepted_interval_gets_each_subscription_its_renewal_chances() {
        let mut interval = 1;
        while interval <= MAX_TICK_INTERVAL_SECS {
            let gap = longest_gap_secs(interval);
            assert!(
                chances(gap) >= RENEWAL_CHANCES,
                "interval {interval} s (gap {gap} s) gets {} chances",
                chances(gap)
            );
            interval = interval * 3 / 2 + 1;
        }
        assert!(chances(longest_gap_secs(MAX_TICK_INTERVAL_SECS)) >= RENEWAL_CHANCES);
    }

    #[test]
    fn the_margin_leaves_most_of_a_subscription_s_life_between_renewals() {
        assert!(RENEW_BEFORE * 2 < SUBSCRIPTION_LIFETIME, "{RENEW_BEFORE}");
        assert!(SUBSCRIPTION_LIFETIME <= chrono::Duration::minutes(10_080));
        assert_eq!(
            RENEW_BEFORE,
            chrono::Duration::seconds(95_040),
            "26.4 hours"
        );
    }

    #[test]
    fn an_interval_above_the_cap_could_let_a_subscription_lapse() {
        // The cap is the rule's edge: well beyond it, a failed renewal is not retried in
        // time (which is why the configuration refuses such intervals).
        assert!(chances(longest_gap_secs(MAX_TICK_INTERVAL_SECS * 2)) < RENEWAL_CHANCES);
    }
}
