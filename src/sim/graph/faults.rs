//! Fault injection for the Graph simulator: per-route rules (server errors, 429 bursts
//! with `Retry-After`, latency, malformed bodies, dropped connections) and rules for
//! notification deliveries (lost, duplicated, delayed). Decisions come from a seeded
//! generator, so the same seed and requests give the same faults.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// What a request fault does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer this status (500, 503, 504) with Graph's error envelope; nothing is applied.
    Error {
        /// HTTP status.
        status: u16,
        /// Seconds in `Retry-After`, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_secs: Option<u64>,
    },
    /// Answer 429 `TooManyRequests` with `Retry-After`; nothing is applied. Inside a
    /// `$batch` it hits the sub-request, whose answer carries its own `Retry-After`.
    TooManyRequests {
        /// Seconds in `Retry-After`.
        retry_after_secs: u64,
    },
    /// Wait this long before handling the request.
    Latency {
        /// Milliseconds.
        millis: u64,
    },
    /// Apply the request, then answer with a truncated JSON body.
    MalformedJson,
    /// Apply the request, then cut the connection before the answer is complete.
    DropConnection,
}

fn one() -> f64 {
    1.0
}

fn any() -> String {
    "*".into()
}

/// One request fault rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    /// Route name (`token`, `folders.list`, `folders.create`, `folders.get`,
    /// `contacts.list`, `contacts.create`, `contacts.get`, `contacts.update`,
    /// `contacts.delete`, `delta`, `batch`, `subscriptions.create`,
    /// `subscriptions.update`, `subscriptions.delete`), a prefix like `contacts.*`, or `*`.
    #[serde(default = "any")]
    pub route: String,
    /// What happens.
    #[serde(flatten)]
    pub kind: FaultKind,
    /// Probability that a matching request is hit (default 1).
    #[serde(default = "one")]
    pub rate: f64,
    /// Hit at most this many requests; unlimited when absent.
    #[serde(default)]
    pub count: Option<u32>,
}

/// What a notification fault does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NotificationFaultKind {
    /// Never delivered.
    Lose,
    /// Delivered twice.
    Duplicate,
    /// Delivered this much later.
    Delay {
        /// Milliseconds.
        millis: u64,
    },
}

/// One notification fault rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationFaultRule {
    /// What happens.
    #[serde(flatten)]
    pub kind: NotificationFaultKind,
    /// Probability (default 1).
    #[serde(default = "one")]
    pub rate: f64,
    /// At most this many; unlimited when absent.
    #[serde(default)]
    pub count: Option<u32>,
}

/// The whole fault plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultPlan {
    /// Request rules, checked in order; the first hit wins (latency adds up).
    #[serde(default)]
    pub rules: Vec<FaultRule>,
    /// Notification rules, checked in order; the first hit wins.
    #[serde(default)]
    pub notifications: Vec<NotificationFaultRule>,
}

/// The plan with its generator.
#[derive(Debug)]
pub(crate) struct Faults {
    pub plan: FaultPlan,
    rng: StdRng,
}

/// What to do with one request.
#[derive(Debug, Default)]
pub(crate) struct Decision {
    pub latency_ms: u64,
    pub outcome: Option<FaultKind>,
}

fn matches(rule: &str, route: &str) -> bool {
    rule == "*"
        || rule == route
        || rule
            .strip_suffix('*')
            .is_some_and(|prefix| route.starts_with(prefix))
}

fn hit(rng: &mut StdRng, rate: f64, count: &mut Option<u32>) -> bool {
    if count == &Some(0) {
        return false;
    }
    let hit = rate >= 1.0 || rng.gen::<f64>() < rate;
    if hit {
        if let Some(left) = count {
            *left -= 1;
        }
    }
    hit
}

impl Faults {
    pub fn new(seed: u64) -> Self {
        Self {
            plan: FaultPlan::default(),
            rng: StdRng::seed_from_u64(seed ^ 0x6772_6170_6873_696d),
        }
    }

    pub fn decide(&mut self, route: &str) -> Decision {
        let mut decision = Decision::default();
        for rule in self
            .plan
            .rules
            .iter_mut()
            .filter(|r| matches(&r.route, route))
        {
            if !hit(&mut self.rng, rule.rate, &mut rule.count) {
                continue;
            }
            match &rule.kind {
                FaultKind::Latency { millis } => decision.latency_ms += millis,
                other if decision.outcome.is_none() => decision.outcome = Some(other.clone()),
                _ => {}
            }
        }
        decision
    }

    pub fn notification(&mut self) -> Option<NotificationFaultKind> {
        for rule in self.plan.notifications.iter_mut() {
            if hit(&mut self.rng, rule.rate, &mut rule.count) {
                return Some(rule.kind.clone());
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_stop_after_their_count_and_prefixes_match() {
        let mut faults = Faults::new(1);
        faults.plan.rules.push(FaultRule {
            route: "contacts.*".into(),
            kind: FaultKind::TooManyRequests {
                retry_after_secs: 1,
            },
            rate: 1.0,
            count: Some(2),
        });
        assert!(faults.decide("contacts.create").outcome.is_some());
        assert!(faults.decide("delta").outcome.is_none());
        assert!(faults.decide("contacts.get").outcome.is_some());
        assert!(faults.decide("contacts.get").outcome.is_none());
    }

    #[test]
    fn rates_are_deterministic_for_a_seed() {
        let run = |seed| {
            let mut faults = Faults::new(seed);
            faults.plan.rules.push(FaultRule {
                route: "*".into(),
                kind: FaultKind::Error {
                    status: 503,
                    retry_after_secs: None,
                },
                rate: 0.3,
                count: None,
            });
            (0..50)
                .map(|_| faults.decide("delta").outcome.is_some())
                .collect::<Vec<_>>()
        };
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
    }
}
