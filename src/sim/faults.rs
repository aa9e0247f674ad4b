//! Fault injection shared by both simulators, deterministic for a seed: per-route error
//! rates (500/503), latency, 429 bursts with `Retry-After`, malformed JSON bodies,
//! dropped connections and stalled answers, and lost, delayed or duplicated deliveries
//! (Pipeliner webhooks, Graph change notifications).
//!
//! Whether a rule's `rate` lets it fire for a request is a pure function of (seed, rule
//! index, route, n-th request on that route), so the same requests give the same faults
//! on every run regardless of how requests to different routes interleave. A rule's
//! `skip` and `count` are counters over the requests that rule matches (its own state,
//! shown as what is left in the plan); with a pattern such as `contacts.*` they count
//! the matching requests of all those routes in the order they arrive.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// What a REST fault does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer with this status (500 or 503) and an error envelope; nothing is applied.
    Error {
        /// HTTP status.
        status: u16,
        /// Seconds in a `Retry-After` header, when one should be sent (e.g. with 503).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_secs: Option<u64>,
    },
    /// Wait this long before handling the request.
    Latency {
        /// Milliseconds.
        millis: u64,
    },
    /// Answer 429 with `Retry-After`; nothing is applied.
    TooManyRequests {
        /// Seconds in the `Retry-After` header.
        retry_after_secs: u64,
    },
    /// Apply the request, then answer 200 with a truncated, unparsable JSON body.
    MalformedJson,
    /// Apply the request, then close the connection without a complete answer.
    DropConnection,
    /// Apply the request, then hold the complete answer this long before sending it, so
    /// a client can be stopped after the write happened and before it learns the result.
    /// Only this request waits: the simulator serves others meanwhile.
    Stall {
        /// Milliseconds.
        millis: u64,
    },
}

fn one() -> f64 {
    1.0
}

fn any_route() -> String {
    "*".into()
}

/// One REST fault rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    /// Route name (`contacts.list`, `contacts.create`, `contacts.get`, `contacts.update`,
    /// `contacts.delete`, `contacts.batch_modify`, `contacts.batch_delete`,
    /// `clients.list`, `fields.list`, `webhooks.create`, …), a prefix such as
    /// `contacts.*`, or `*` for every route.
    #[serde(default = "any_route")]
    pub route: String,
    /// What happens.
    #[serde(flatten)]
    pub kind: FaultKind,
    /// Probability that a matching request is hit, 0.0–1.0 (default 1.0).
    #[serde(default = "one")]
    pub rate: f64,
    /// Hit at most this many requests, then stop (a burst); unlimited when absent.
    #[serde(default)]
    pub count: Option<u32>,
    /// Let this many matching requests pass untouched before the rule may fire (so
    /// "stall the 3rd batch-modify" is `skip: 2, count: 1`). Skipped requests use up
    /// no `count` and are not subject to `rate`; the plan shows what is left to skip.
    #[serde(default)]
    pub skip: u32,
}

/// What a webhook-delivery fault does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DeliveryFaultKind {
    /// Never send the delivery.
    Lose,
    /// Send the delivery twice.
    Duplicate,
    /// Send the delivery this much later (later deliveries may overtake it).
    Delay {
        /// Milliseconds.
        millis: u64,
    },
}

/// One webhook-delivery fault rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryFaultRule {
    /// What happens.
    #[serde(flatten)]
    pub kind: DeliveryFaultKind,
    /// Probability that a delivery is hit, 0.0–1.0 (default 1.0).
    #[serde(default = "one")]
    pub rate: f64,
    /// Hit at most this many deliveries; unlimited when absent.
    #[serde(default)]
    pub count: Option<u32>,
}

/// All active fault rules.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultPlan {
    /// REST rules, checked in order.
    #[serde(default)]
    pub rules: Vec<FaultRule>,
    /// Webhook-delivery rules, checked in order.
    #[serde(default)]
    pub deliveries: Vec<DeliveryFaultRule>,
}

/// The faults chosen for one REST request.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Decision {
    pub latency_ms: u64,
    /// The first non-latency fault that fired.
    pub outcome: Option<FaultKind>,
}

/// The faults chosen for one delivery.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct DeliveryDecision {
    pub lose: bool,
    pub duplicate: bool,
    pub delay_ms: u64,
}

/// The plan plus the counters that make decisions reproducible.
#[derive(Debug)]
pub(crate) struct FaultState {
    seed: u64,
    pub plan: FaultPlan,
    per_route: HashMap<String, u64>,
    deliveries: u64,
}

impl FaultState {
    /// No faults.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            plan: FaultPlan::default(),
            per_route: HashMap::new(),
            deliveries: 0,
        }
    }

    /// Replaces the plan and restarts the counters, so a plan replays identically.
    pub fn set(&mut self, plan: FaultPlan) {
        self.plan = plan;
        self.per_route.clear();
        self.deliveries = 0;
    }

    /// Decides the faults for the next request on `route`.
    pub fn decide(&mut self, route: &str) -> Decision {
        let n = self.per_route.entry(route.to_owned()).or_insert(0);
        *n += 1;
        let n = *n;
        let mut decision = Decision::default();
        for (i, rule) in self.plan.rules.iter_mut().enumerate() {
            if !route_matches(&rule.route, route) || rule.count == Some(0) {
                continue;
            }
            if rule.skip > 0 {
                rule.skip -= 1;
                continue;
            }
            let terminal = !matches!(rule.kind, FaultKind::Latency { .. });
            if terminal && decision.outcome.is_some() {
                continue;
            }
            if unit(self.seed, i as u64, route, n) >= rule.rate {
                continue;
            }
            if let Some(c) = rule.count.as_mut() {
                *c -= 1;
            }
            match &rule.kind {
                FaultKind::Latency { millis } => decision.latency_ms += millis,
                other => decision.outcome = Some(other.clone()),
            }
        }
        decision
    }

    /// Decides the faults for the next webhook delivery.
    pub fn delivery_decision(&mut self) -> DeliveryDecision {
        self.deliveries += 1;
        let n = self.deliveries;
        let mut d = DeliveryDecision::default();
        for (i, rule) in self.plan.deliveries.iter_mut().enumerate() {
            if rule.count == Some(0)
                || unit(self.seed, i as u64, "webhook.delivery", n) >= rule.rate
            {
                continue;
            }
            if let Some(c) = rule.count.as_mut() {
                *c -= 1;
            }
            match rule.kind {
                DeliveryFaultKind::Lose => {
                    // A lost delivery uses up no other rule.
                    return DeliveryDecision {
                        lose: true,
                        ..DeliveryDecision::default()
                    };
                }
                DeliveryFaultKind::Duplicate => d.duplicate = true,
                DeliveryFaultKind::Delay { millis } => d.delay_ms += millis,
            }
        }
        d
    }
}

fn route_matches(pattern: &str, route: &str) -> bool {
    pattern == "*"
        || pattern == route
        || pattern
            .strip_suffix('*')
            .is_some_and(|prefix| route.starts_with(prefix))
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A uniform number in [0, 1) fixed by its inputs.
fn unit(seed: u64, rule: u64, route: &str, n: u64) -> f64 {
    let route_hash = route.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let h = splitmix(splitmix(splitmix(splitmix(seed) ^ route_hash) ^ n) ^ rule);
    (h >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(rate: f64) -> FaultPlan {
        FaultPlan {
            rules: vec![FaultRule {
                route: "contacts.*".into(),
                kind: FaultKind::MalformedJson,
                rate,
                count: None,
                skip: 0,
            }],
            deliveries: vec![],
        }
    }

    fn hits(seed: u64, routes: &[&str]) -> Vec<bool> {
        let mut state = FaultState::new(seed);
        state.set(plan(0.5));
        routes
            .iter()
            .map(|r| state.decide(r).outcome.is_some())
            .collect()
    }

    #[test]
    fn decisions_depend_on_seed_and_per_route_order_only() {
        let a = hits(
            9,
            &[
                "contacts.list",
                "contacts.get",
                "contacts.list",
                "contacts.get",
            ],
        );
        let b = hits(
            9,
            &[
                "contacts.get",
                "contacts.list",
                "contacts.get",
                "contacts.list",
            ],
        );
        // The n-th request of each route gets the same answer however routes interleave.
        assert_eq!((a[0], a[2]), (b[1], b[3]));
        assert_eq!((a[1], a[3]), (b[0], b[2]));
        let many: Vec<bool> = hits(9, &["contacts.list"; 200]);
        let hit = many.iter().filter(|h| **h).count();
        assert!((60..140).contains(&hit), "about half: {hit}");
        assert!(
            hits(9, &["clients.list"; 20]).iter().all(|h| !h),
            "other routes untouched"
        );
    }

    fn stall_rule(route: &str, skip: u32, count: Option<u32>) -> FaultRule {
        FaultRule {
            route: route.into(),
            kind: FaultKind::Stall { millis: 50 },
            rate: 1.0,
            count,
            skip,
        }
    }

    fn stalled(state: &mut FaultState, route: &str) -> bool {
        state.decide(route).outcome == Some(FaultKind::Stall { millis: 50 })
    }

    #[test]
    fn skip_lets_matching_requests_pass_without_using_up_count() {
        let mut state = FaultState::new(1);
        state.set(FaultPlan {
            rules: vec![stall_rule("contacts.batch_modify", 2, Some(1))],
            deliveries: vec![],
        });
        let hits: Vec<bool> = ["contacts.list", "contacts.batch_modify", "contacts.list"]
            .iter()
            .chain(["contacts.batch_modify"; 4].iter())
            .map(|r| stalled(&mut state, r))
            .collect();
        // Only the 3rd batch-modify is hit; other routes neither skip nor fire.
        assert_eq!(hits, [false, false, false, false, true, false, false]);
        assert_eq!(state.plan.rules[0].skip, 0);
        assert_eq!(state.plan.rules[0].count, Some(0));
    }

    #[test]
    fn skip_counts_every_route_a_pattern_matches_and_replays_after_set() {
        let plan = FaultPlan {
            rules: vec![stall_rule("contacts.*", 1, None)],
            deliveries: vec![],
        };
        let mut state = FaultState::new(1);
        for _ in 0..2 {
            state.set(plan.clone());
            assert!(!stalled(&mut state, "contacts.get"), "skipped");
            assert!(!stalled(&mut state, "clients.list"), "no match");
            assert!(stalled(&mut state, "contacts.list"));
            assert!(stalled(&mut state, "contacts.get"), "no count: unlimited");
        }
    }

    #[test]
    fn skip_defaults_to_zero_in_json() {
        let rule: FaultRule =
            serde_json::from_str(r#"{"route":"contacts.create","kind":"stall","millis":5}"#)
                .expect("rule");
        assert_eq!(rule, stall_rule_ms("contacts.create", 5));
        let mut state = FaultState::new(3);
        state.set(FaultPlan {
            rules: vec![rule],
            deliveries: vec![],
        });
        assert!(state.decide("contacts.create").outcome.is_some());
    }

    fn stall_rule_ms(route: &str, millis: u64) -> FaultRule {
        FaultRule {
            kind: FaultKind::Stall { millis },
            ..stall_rule(route, 0, None)
        }
    }
}
