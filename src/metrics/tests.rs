use std::time::Duration;

use super::*;
use crate::store::users::UserState;

/// The value of the sample `series` (name and labels as exported) in `text`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

#[test]
fn every_family_is_exported_from_the_start() {
    let text = Metrics::new().encode(Format::Prometheus);
    for family in [
        "exsync_build_info",
        "exsync_users",
        "exsync_spaces",
        "exsync_cycles_total",
        "exsync_cycle_duration_seconds",
        "exsync_records_written_total",
        "exsync_change_lag_seconds",
        "exsync_upstream_requests_total",
        "exsync_upstream_throttled_total",
        "exsync_upstream_wait_seconds_total",
        "exsync_notifications_total",
        "exsync_subscription_operations_total",
        "exsync_user_actors",
    ] {
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "{family} missing from\n{text}"
        );
    }
    assert_eq!(
        sample(&text, "exsync_cycles_total{result=\"quiet\"}"),
        Some(0.0)
    );
    assert_eq!(
        sample(
            &text,
            "exsync_upstream_requests_total{service=\"graph\",route=\"delta\",status=\"transport_error\"}"
        ),
        Some(0.0)
    );
    assert!(
        !text.contains("service=\"pipeliner\",reason=\"paced\""),
        "Pipeliner is not paced"
    );
    assert!(
        !text.contains("service=\"pipeliner\",operation=\"renew\""),
        "Pipeliner webhooks are not renewed"
    );
}

#[test]
fn recorded_figures_show_under_their_labels() {
    let metrics = Metrics::new();
    metrics.cycle_ended(CycleResult::Ok, Some(0.02));
    metrics.cycle_ended(CycleResult::Leased, Some(0.000_1));
    metrics.cycle_ended(CycleResult::Failed, None);
    metrics.written(SideLabel::Exchange, Operation::Create, 3);
    metrics.change_lag(SideLabel::Pipeliner, 1.5);
    metrics.upstream_status(Route::GraphBatch, 200);
    metrics.upstream_status(Route::PipelinerContacts, 429);
    metrics.upstream(Route::PipelinerContacts, StatusClass::TransportError);
    metrics.waited(
        Service::Graph,
        WaitReason::Paced,
        Duration::from_millis(250),
    );
    metrics.notifications(Source::Graph, NotificationOutcome::WrongSecret, 1000);
    metrics.hook(Service::Graph, HookOperation::Renew, false);
    let now = chrono::Utc::now();
    assert!(metrics.store_counts_due(now), "never read");
    metrics.set_store_counts(
        [UserState::Activated, UserState::Activated, UserState::Error],
        2,
        now,
    );
    assert!(!metrics.store_counts_due(now + STORE_COUNTS_MAX_AGE - chrono::Duration::seconds(1)));
    assert!(metrics.store_counts_due(now + STORE_COUNTS_MAX_AGE));
    metrics.set_actors(2);
    let text = metrics.encode(Format::Prometheus);
    for (series, value) in [
        ("exsync_cycles_total{result=\"ok\"}", 1.0),
        ("exsync_cycles_total{result=\"leased\"}", 1.0),
        ("exsync_cycles_total{result=\"failed\"}", 1.0),
        ("exsync_cycle_duration_seconds_count{kind=\"full\"}", 1.0),
        ("exsync_cycle_duration_seconds_count{kind=\"leased\"}", 1.0),
        (
            "exsync_records_written_total{side=\"exchange\",operation=\"create\"}",
            3.0,
        ),
        ("exsync_change_lag_seconds_sum{side=\"pipeliner\"}", 1.5),
        (
            "exsync_upstream_requests_total{service=\"graph\",route=\"batch\",status=\"2xx\"}",
            1.0,
        ),
        (
            "exsync_upstream_requests_total{service=\"pipeliner\",route=\"contacts\",status=\"4xx\"}",
            1.0,
        ),
        (
            "exsync_upstream_requests_total{service=\"pipeliner\",route=\"contacts\",status=\"transport_error\"}",
            1.0,
        ),
        ("exsync_upstream_throttled_total{service=\"pipeliner\"}", 1.0),
        (
            "exsync_upstream_wait_seconds_total{service=\"graph\",reason=\"paced\"}",
            0.25,
        ),
        (
            "exsync_notifications_total{source=\"graph\",outcome=\"wrong_secret\"}",
            1000.0,
        ),
        (
            "exsync_subscription_operations_total{service=\"graph\",operation=\"renew\",result=\"failed\"}",
            1.0,
        ),
        ("exsync_users{state=\"activated\"}", 2.0),
        ("exsync_users{state=\"error\"}", 1.0),
        ("exsync_users{state=\"paused\"}", 0.0),
        ("exsync_spaces", 2.0),
        ("exsync_user_actors", 2.0),
    ] {
        assert_eq!(sample(&text, series), Some(value), "{series} in\n{text}");
    }
}

#[test]
fn two_registries_keep_apart() {
    let (a, b) = (Metrics::new(), Metrics::new());
    a.cycle_ended(CycleResult::Failed, Some(1.0));
    let text = b.encode(Format::Prometheus);
    assert_eq!(
        sample(&text, "exsync_cycles_total{result=\"failed\"}"),
        Some(0.0)
    );
}

#[test]
fn openmetrics_is_served_to_whoever_asks_for_it() {
    let prometheus_accept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    assert_eq!(
        Format::from_accept(Some(prometheus_accept)),
        Format::OpenMetrics
    );
    assert_eq!(Format::from_accept(Some("*/*")), Format::Prometheus);
    assert_eq!(Format::from_accept(None), Format::Prometheus);
    assert!(Format::Prometheus.content_type().starts_with("text/plain"));
    let text = Metrics::new().encode(Format::OpenMetrics);
    assert!(text.ends_with("# EOF\n"), "{text}");
}

#[cfg(target_os = "linux")]
#[test]
fn resident_memory_is_read_when_encoded() {
    let text = Metrics::new().encode(Format::Prometheus);
    let bytes = sample(&text, "exsync_process_resident_memory_bytes").expect("on Linux");
    assert!(bytes > 0.0);
}
