//! When things happen: tick intervals with jitter (so ten thousand users never tick as a
//! herd), the longer safety-net interval of users whose changes both upstreams notify,
//! the notification debounce, the restart backoff after failures, and the alignment of
//! leased ticks (cheap ones) to whole seconds so that they share wake-ups.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// How the engine paces cycles.
#[derive(Debug, Clone, Copy)]
pub struct Pacing {
    /// The periodic tick (`EXSYNC_TICK_INTERVAL`, default 300 s).
    pub tick: Duration,
    /// The periodic tick of a user whose changes both upstreams notify
    /// (`EXSYNC_NOTIFIED_TICK_INTERVAL`, default 1,800 s): notifications move changes
    /// within seconds, so the tick is only the safety net for a lost one.
    pub notified_tick: Duration,
    /// Notifications arriving within this window run one cycle.
    pub debounce: Duration,
    /// The first restart waits this long; each further failure doubles it.
    pub restart_base: Duration,
    /// The longest restart wait.
    pub restart_max: Duration,
}

impl Default for Pacing {
    fn default() -> Self {
        Self {
            tick: Duration::from_secs(300),
            notified_tick: Duration::from_secs(1800),
            debounce: Duration::from_millis(200),
            restart_base: Duration::from_secs(1),
            restart_max: Duration::from_secs(300),
        }
    }
}

/// How far a tick may fall from its interval, percent: ticks come at the interval
/// ±10 %.
pub const JITTER_PERCENT: u64 = 10;

/// The range a tick interval is multiplied by.
const JITTER: std::ops::Range<f64> =
    (1.0 - JITTER_PERCENT as f64 / 100.0)..(1.0 + JITTER_PERCENT as f64 / 100.0);

/// The longest step leased ticks are aligned to.
const LEASED_TICK_STEP: Duration = Duration::from_secs(1);

/// Seeds a user's jitter from its key, so one user's schedule is reproducible and users
/// spread over the whole interval.
pub fn jitter_rng(key: &str) -> StdRng {
    let seed = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    StdRng::seed_from_u64(seed)
}

impl Pacing {
    /// The delay before a user's first tick: anywhere in one interval.
    pub fn first_tick(&self, rng: &mut StdRng) -> Duration {
        self.tick.mul_f64(rng.gen_range(0.0..1.0))
    }

    /// The delay before the next tick: the interval ±10 %.
    pub fn next_tick(&self, rng: &mut StdRng) -> Duration {
        self.tick.mul_f64(rng.gen_range(JITTER))
    }

    /// The delay before the next tick of a user whose changes both upstreams notify: the
    /// notified interval ±10 %, never shorter than the plain one.
    pub fn next_notified_tick(&self, rng: &mut StdRng) -> Duration {
        self.notified_tick
            .max(self.tick)
            .mul_f64(rng.gen_range(JITTER))
    }

    /// The wait before a leased tick (one that most likely only asks the space's window),
    /// lengthened so that it falls on a whole step of the wall clock: such ticks of many
    /// users then share one wake-up of the event loop instead of one each. The step is a
    /// tenth of the tick interval, at most a second; ticks that run full cycles keep their
    /// spread to the millisecond.
    pub fn leased_tick_delay(
        &self,
        delay: Duration,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Duration {
        let step = (self.tick / 10).min(LEASED_TICK_STEP).as_micros().max(1) as i64;
        let due = now
            .timestamp_micros()
            .saturating_add(delay.as_micros() as i64);
        let past_step = due.rem_euclid(step);
        if past_step == 0 {
            delay
        } else {
            delay + Duration::from_micros((step - past_step) as u64)
        }
    }

    /// The wait before the `failures`-th consecutive restart runs a cycle.
    pub fn restart_delay(&self, failures: u32) -> Duration {
        let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(16));
        self.restart_base
            .saturating_mul(factor)
            .min(self.restart_max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leased_ticks_fall_on_whole_steps_of_the_clock() {
        use chrono::TimeZone;
        let pacing = Pacing::default();
        let now = chrono::Utc.with_ymd_and_hms(2026, 1, 1, 10, 0, 0).unwrap()
            + chrono::Duration::milliseconds(250);
        let delay = pacing.leased_tick_delay(Duration::from_millis(1_500), now);
        assert_eq!(delay, Duration::from_millis(1_750), "due at 10:00:02");
        let on_step = pacing.leased_tick_delay(Duration::from_millis(750), now);
        assert_eq!(
            on_step,
            Duration::from_millis(750),
            "already on a whole second"
        );
        let short = Pacing {
            tick: Duration::from_secs(1),
            ..Pacing::default()
        };
        assert_eq!(
            short.leased_tick_delay(Duration::from_millis(20), now),
            Duration::from_millis(50),
            "a tenth of a short tick"
        );
    }

    #[test]
    fn ticks_spread_over_the_interval_and_stay_near_it() {
        let pacing = Pacing::default();
        let firsts: Vec<_> = (0..1000)
            .map(|i| pacing.first_tick(&mut jitter_rng(&format!("user{i}"))))
            .collect();
        let early = firsts.iter().filter(|d| **d < pacing.tick / 2).count();
        assert!(
            (400..600).contains(&early),
            "first ticks spread evenly: {early}"
        );
        let mut rng = jitter_rng("jane");
        for _ in 0..100 {
            let next = pacing.next_tick(&mut rng);
            assert!(next >= pacing.tick.mul_f64(0.9) && next <= pacing.tick.mul_f64(1.1));
            let notified = pacing.next_notified_tick(&mut rng);
            assert!(notified >= pacing.notified_tick.mul_f64(0.9));
        }
        let short = Pacing {
            tick: Duration::from_secs(3600),
            ..Pacing::default()
        };
        assert!(
            short.next_notified_tick(&mut rng) >= short.tick.mul_f64(0.9),
            "notifications never make the safety net more frequent"
        );
    }

    #[test]
    fn restarts_back_off_exponentially_to_a_cap() {
        let pacing = Pacing::default();
        assert_eq!(pacing.restart_delay(1), Duration::from_secs(1));
        assert_eq!(pacing.restart_delay(3), Duration::from_secs(4));
        assert_eq!(pacing.restart_delay(40), pacing.restart_max);
    }
}
