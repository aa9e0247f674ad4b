//! exsync's Prometheus metrics, served at `GET /metrics` ([`crate::http::metrics`]).
//!
//! One [`Metrics`] per running exsync, made in [`crate::app::run`] and handed as an `Arc`
//! to the HTTP state, the engine and the connectors' configurations: no global recorder,
//! so several exsync servers in one process (the tests) keep apart. Every label is a
//! closed enum ([`labels`], [`routes`]) and every series is created at start-up, so
//! recording is an array index and an atomic add, and no label can carry a user id, an
//! e-mail or a URL. Figures kept elsewhere (users per state, spaces, open actors, resident
//! memory) are read when scraped.

#[macro_use]
pub mod labels;
mod process;
pub mod routes;

use std::sync::atomic::AtomicU64;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

pub use labels::{
    CycleKind, CycleResult, HookOperation, NotificationOutcome, OpResult, Operation, Service,
    SideLabel, Source, StatusClass, UserStateLabel, WaitReason,
};
use labels::{
    HookLabels, KindLabels, NotificationLabels, RequestLabels, ResultLabels, ServiceLabels,
    SideLabels, StateLabels, WaitLabels, WrittenLabels,
};
pub use routes::Route;

/// How long the figures read from the store (users per state, spaces) are served before
/// a scrape reads them again: reading them scans every user record, which a scraper
/// asking every second should not pay each time.
pub const STORE_COUNTS_MAX_AGE: chrono::Duration = chrono::Duration::seconds(30);

/// A counter of seconds.
type Seconds = Counter<f64, AtomicU64>;
/// A family of histograms made by a plain function.
type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// The text formats `/metrics` can answer in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The Prometheus text format 0.0.4 (`text/plain`), for clients that ask for nothing
    /// else.
    Prometheus,
    /// OpenMetrics 1.0 text, which Prometheus asks for first.
    OpenMetrics,
}

impl Format {
    /// The format an `Accept` header asks for.
    pub fn from_accept(accept: Option<&str>) -> Self {
        match accept {
            Some(accept) if accept.contains("application/openmetrics-text") => Self::OpenMetrics,
            _ => Self::Prometheus,
        }
    }

    /// The `Content-Type` of an answer in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Prometheus => prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            Self::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// Every metric family of one exsync, with each series made ahead.
pub struct Metrics {
    registry: Registry,
    users: [Gauge; UserStateLabel::COUNT],
    spaces: Gauge,
    cycles: [Counter; CycleResult::COUNT],
    cycle_seconds: [Histogram; CycleKind::COUNT],
    written: [[Counter; Operation::COUNT]; SideLabel::COUNT],
    requests: [[Counter; StatusClass::COUNT]; Route::COUNT],
    throttled: [Counter; Service::COUNT],
    waited: [[Seconds; WaitReason::COUNT]; Service::COUNT],
    notifications: [[Counter; NotificationOutcome::COUNT]; Source::COUNT],
    change_lag: [Histogram; SideLabel::COUNT],
    hooks: [[[Counter; OpResult::COUNT]; HookOperation::COUNT]; Service::COUNT],
    resident: Gauge,
    actors: Gauge,
    /// When the store's figures were last read.
    store_counted_at: Mutex<Option<DateTime<Utc>>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Buckets of cycle durations: 0.25 ms to about a minute.
fn cycle_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_25, 4.0, 10))
}

/// Buckets of change lags: 0.25 s to about four and a half days.
fn lag_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.25, 4.0, 12))
}

/// The series of `family` for each label set `label(i)`, `i` in `0..N`.
fn series<L, M, C, const N: usize>(family: &Family<L, M, C>, label: impl Fn(usize) -> L) -> [M; N]
where
    L: Clone + std::hash::Hash + Eq,
    M: Clone,
    C: MetricConstructor<M>,
{
    std::array::from_fn(|i| family.get_or_create_owned(&label(i)))
}

/// As [`series`], where `None` stands for a combination that cannot happen: its counter
/// is kept outside the family and never exported.
fn some_series<L, M, const N: usize>(
    family: &Family<L, M>,
    label: impl Fn(usize) -> Option<L>,
) -> [M; N]
where
    L: Clone + std::hash::Hash + Eq,
    M: Clone + Default,
{
    std::array::from_fn(|i| match label(i) {
        Some(label) => family.get_or_create_owned(&label),
        None => M::default(),
    })
}

impl Metrics {
    /// A registry with every family and series, all at zero.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("exsync");
        registry.register(
            "build",
            "The running exsync's version",
            Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]),
        );

        let users = Family::<StateLabels, Gauge>::default();
        registry.register(
            "users",
            "Users per life-cycle state, as stored",
            users.clone(),
        );
        let users = series(&users, |i| StateLabels {
            state: UserStateLabel::ALL[i],
        });
        let spaces = Gauge::default();
        registry.register("spaces", "Registered spaces", spaces.clone());

        let cycles = Family::<ResultLabels, Counter>::default();
        registry.register("cycles", "Sync cycles by how they ended", cycles.clone());
        let cycles = series(&cycles, |i| ResultLabels {
            result: CycleResult::ALL[i],
        });
        let cycle_seconds = Histograms::<KindLabels>::new_with_constructor(cycle_histogram);
        registry.register_with_unit(
            "cycle_duration",
            "How long sync cycles took, from loading the user's job to recording the result",
            Unit::Seconds,
            cycle_seconds.clone(),
        );
        let cycle_seconds = series(&cycle_seconds, |i| KindLabels {
            kind: CycleKind::ALL[i],
        });

        let written = Family::<WrittenLabels, Counter>::default();
        registry.register(
            "records_written",
            "Contact records written upstream, by side and operation",
            written.clone(),
        );
        let written = std::array::from_fn(|side| {
            series(&written, |op| WrittenLabels {
                side: SideLabel::ALL[side],
                operation: Operation::ALL[op],
            })
        });
        let change_lag = Histograms::<SideLabels>::new_with_constructor(lag_histogram);
        registry.register_with_unit(
            "change_lag",
            "From a record's modification upstream until exsync wrote it to the other side",
            Unit::Seconds,
            change_lag.clone(),
        );
        let change_lag = series(&change_lag, |i| SideLabels {
            side: SideLabel::ALL[i],
        });

        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "upstream_requests",
            "HTTP requests sent upstream (each retry counts), by service, route and status class",
            requests.clone(),
        );
        let requests = std::array::from_fn(|route| {
            let route = Route::ALL[route];
            series(&requests, |status| RequestLabels {
                service: route.service(),
                route,
                status: StatusClass::ALL[status],
            })
        });
        let throttled = Family::<ServiceLabels, Counter>::default();
        registry.register(
            "upstream_throttled",
            "429 answers from upstream (each waits for its Retry-After before a retry)",
            throttled.clone(),
        );
        let throttled = series(&throttled, |i| ServiceLabels {
            service: Service::ALL[i],
        });
        let waited = Family::<WaitLabels, Seconds>::default();
        registry.register_with_unit(
            "upstream_wait",
            "Time spent waiting before upstream requests: Retry-After, backoff, budget pacing",
            Unit::Seconds,
            waited.clone(),
        );
        let waited = std::array::from_fn(|service| {
            let service = Service::ALL[service];
            some_series(&waited, |reason| {
                let reason = WaitReason::ALL[reason];
                (service == Service::Graph || reason != WaitReason::Paced)
                    .then_some(WaitLabels { service, reason })
            })
        });

        let notifications = Family::<NotificationLabels, Counter>::default();
        registry.register(
            "notifications",
            "Change notifications received, by source and outcome",
            notifications.clone(),
        );
        let notifications = std::array::from_fn(|source| {
            series(&notifications, |outcome| NotificationLabels {
                source: Source::ALL[source],
                outcome: NotificationOutcome::ALL[outcome],
            })
        });
        let hooks = Family::<HookLabels, Counter>::default();
        registry.register(
            "subscription_operations",
            "Graph subscriptions and Pipeliner webhooks created, renewed and deleted, by result",
            hooks.clone(),
        );
        let hooks = std::array::from_fn(|service| {
            let service = Service::ALL[service];
            std::array::from_fn(|operation| {
                let operation = HookOperation::ALL[operation];
                some_series(&hooks, |result| {
                    (service == Service::Graph || operation != HookOperation::Renew).then_some(
                        HookLabels {
                            service,
                            operation,
                            result: OpResult::ALL[result],
                        },
                    )
                })
            })
        });

        let resident = Gauge::default();
        registry.register_with_unit(
            "process_resident_memory",
            "Resident memory of the exsync process (Linux only)",
            Unit::Bytes,
            resident.clone(),
        );
        let actors = Gauge::default();
        registry.register("user_actors", "User actors the engine runs", actors.clone());
        Self {
            registry,
            users,
            spaces,
            cycles,
            cycle_seconds,
            written,
            requests,
            throttled,
            waited,
            notifications,
            change_lag,
            hooks,
            resident,
            actors,
            store_counted_at: Mutex::new(None),
        }
    }

    /// A cycle (or a leased tick) ended after `seconds`, when known (not for a crash).
    pub fn cycle_ended(&self, result: CycleResult, seconds: Option<f64>) {
        self.cycles[result as usize].inc();
        let kind = match result {
            CycleResult::Leased => CycleKind::Leased,
            _ => CycleKind::Full,
        };
        if let Some(seconds) = seconds {
            self.cycle_seconds[kind as usize].observe(seconds.max(0.0));
        }
    }

    /// `count` records were written to `side` with `operation`.
    pub fn written(&self, side: SideLabel, operation: Operation, count: u64) {
        if count > 0 {
            self.written[side as usize][operation as usize].inc_by(count);
        }
    }

    /// A record modified upstream `seconds` ago was written to `side`.
    pub fn change_lag(&self, side: SideLabel, seconds: f64) {
        self.change_lag[side as usize].observe(seconds.max(0.0));
    }

    /// One request to `route` ended with `status`.
    pub fn upstream(&self, route: Route, status: StatusClass) {
        self.requests[route as usize][status as usize].inc();
    }

    /// One request to `route` got an HTTP answer with this status code.
    pub fn upstream_status(&self, route: Route, status: u16) {
        self.upstream(route, StatusClass::of(status));
        if status == 429 {
            self.throttled[route.service() as usize].inc();
        }
    }

    /// exsync waited `wait` before a request to `service`.
    pub fn waited(&self, service: Service, reason: WaitReason, wait: Duration) {
        if !wait.is_zero() {
            self.waited[service as usize][reason as usize].inc_by(wait.as_secs_f64());
        }
    }

    /// `count` notifications from `source` ended with `outcome`.
    pub fn notifications(&self, source: Source, outcome: NotificationOutcome, count: u64) {
        if count > 0 {
            self.notifications[source as usize][outcome as usize].inc_by(count);
        }
    }

    /// A subscription (Graph) or webhook (Pipeliner) was created, renewed or deleted.
    pub fn hook(&self, service: Service, operation: HookOperation, ok: bool) {
        let result = if ok { OpResult::Ok } else { OpResult::Failed };
        self.hooks[service as usize][operation as usize][result as usize].inc();
    }

    /// Whether the store's figures are older than [`STORE_COUNTS_MAX_AGE`] at `now` (or
    /// were never read), so that a scrape should read them again.
    pub fn store_counts_due(&self, now: DateTime<Utc>) -> bool {
        let counted_at = *self
            .store_counted_at
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        counted_at.is_none_or(|at| now - at >= STORE_COUNTS_MAX_AGE || now < at)
    }

    /// Sets the figures of the store, read at `now`: users per state and spaces.
    pub fn set_store_counts(
        &self,
        states: impl IntoIterator<Item = crate::store::users::UserState>,
        spaces: usize,
        now: DateTime<Utc>,
    ) {
        *self
            .store_counted_at
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(now);
        let mut counts = [0i64; UserStateLabel::COUNT];
        for state in states {
            counts[UserStateLabel::from(state) as usize] += 1;
        }
        for (gauge, count) in self.users.iter().zip(counts) {
            gauge.set(count);
        }
        self.spaces.set(i64::try_from(spaces).unwrap_or(i64::MAX));
    }

    /// Sets the number of user actors the engine runs.
    pub fn set_actors(&self, actors: usize) {
        self.actors.set(i64::try_from(actors).unwrap_or(i64::MAX));
    }

    /// Every family in `format`, with the process's resident memory read now.
    pub fn encode(&self, format: Format) -> String {
        if let Some(bytes) = process::resident_bytes() {
            self.resident.set(i64::try_from(bytes).unwrap_or(i64::MAX));
        }
        let mut text = String::with_capacity(16 * 1024);
        let encoded = match format {
            Format::Prometheus => {
                prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)
            }
            Format::OpenMetrics => {
                prometheus_client::encoding::text::encode(&mut text, &self.registry)
            }
        };
        // Writing to a String cannot fail; an encoder error would be a bug in a metric.
        if let Err(e) = encoded {
            tracing::error!(error = %e, "cannot encode the metrics");
        }
        text
    }
}

#[cfg(test)]
mod tests;
