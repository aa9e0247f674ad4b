//! Graph's change and lifecycle notifications: the validation handshake, each
//! notification checked against its subscription's sealed `clientState`, lifecycle events
//! applied to the subscription, one warning per request for the forged ones.

use std::collections::hash_map::{Entry, HashMap};

use actix_web::{post, web, HttpResponse};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

use crate::http::error::{ApiError, ErrorBody};
use crate::http::state::AppState;
use crate::ids::SpaceId;
use crate::metrics::{Metrics, NotificationOutcome, Source};
use crate::store::hooks::{client_state_context, SubscriptionRecord};
use crate::store::Store;

/// Graph's validation handshake parameter.
#[derive(Deserialize, IntoParams)]
pub struct Validation {
    /// Sent by Graph when a subscription is created; echoed back as plain text.
    #[serde(rename = "validationToken")]
    #[param(rename = "validationToken", max_length = 2048)]
    pub validation_token: Option<String>,
}

/// One Graph change or lifecycle notification; members exsync does not read (`changeType`,
/// `resource`, …) may come along.
#[derive(Deserialize, Debug, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GraphNotification {
    /// The subscription it belongs to.
    #[schema(example = "7f105c7d-2dc5-4530-97cd-4e7ae6534c07")]
    subscription_id: String,
    /// The secret exsync gave the subscription; a notification without the right one is
    /// dropped.
    #[serde(default)]
    #[schema(example = "the subscription's clientState")]
    client_state: Option<String>,
    /// Set on lifecycle notifications: `subscriptionRemoved`, `reauthorizationRequired` or
    /// `missed`.
    #[serde(default)]
    #[schema(example = json!(null))]
    lifecycle_event: Option<String>,
}

/// A collection of Graph notifications, as Graph posts them. Absent (an empty body) on
/// the validation handshake.
#[derive(Deserialize, Debug, Default, ToSchema)]
pub struct GraphNotifications {
    /// The notifications.
    value: Vec<GraphNotification>,
}

/// The longest validation token echoed, characters. Graph's are a sentence of about 120
/// characters; anything this long is not Graph, and exsync does not reflect it. At most 12
/// bytes a character once percent-encoded, the longest fits the server's request-line limit.
pub const MAX_VALIDATION_TOKEN: usize = 2048;

fn handshake(validation: &Validation) -> Option<Result<HttpResponse, ApiError>> {
    validation.validation_token.as_ref().map(|token| {
        if token.chars().count() > MAX_VALIDATION_TOKEN {
            return Err(ApiError::bad_request(
                "invalid_validation_token",
                format!(
                    "the validationToken is {} characters long; exsync echoes at most \
                     {MAX_VALIDATION_TOKEN} (Graph's are a short sentence)",
                    token.chars().count()
                ),
            ));
        }
        Ok(HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(token.clone()))
    })
}

fn same_secret(a: &str, b: &str) -> bool {
    // Comparing digests keeps the time independent of where the strings differ.
    Sha256::digest(a.as_bytes()) == Sha256::digest(b.as_bytes())
}

/// What a notification asks of its subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LifecycleAction {
    /// Just sync.
    Sync,
    /// The subscription is gone: forget it so the next cycle creates a new one.
    Recreate,
    /// The subscription needs renewing: make it due so the next cycle renews it.
    Renew,
}

/// Checks each notification's clientState, applies lifecycle consequences, counts each
/// notification's outcome in `metrics`, and returns the users to sync.
fn accept(
    store: &Store,
    notifications: Vec<GraphNotification>,
    now: chrono::DateTime<chrono::Utc>,
    metrics: &Metrics,
) -> Result<Vec<(SpaceId, crate::ids::UserId)>, crate::store::StoreError> {
    let mut users = Vec::new();
    // A collection usually carries many notifications of one subscription: read and
    // open its record once.
    let mut known: HashMap<String, Option<(SubscriptionRecord, SecretString)>> = HashMap::new();
    // Dropped notifications are logged once per collection with their count, so a flood
    // of forged ones costs one log line per request, not one per notification.
    let mut wrong: Option<(String, usize)> = None;
    let mut unknown = 0usize;
    for n in notifications {
        let found = match known.entry(n.subscription_id.clone()) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => {
                let opened = match store.subscription(&n.subscription_id)? {
                    Some(record) => {
                        let secret = store
                            .open_secret(&client_state_context(&record.id), &record.client_state)?;
                        Some((record, secret))
                    }
                    None => None,
                };
                entry.insert(opened)
            }
        };
        let Some((record, expected)) = found.as_ref() else {
            metrics.notifications(Source::Graph, NotificationOutcome::UnknownSubscription, 1);
            unknown += 1;
            continue;
        };
        let presented = n.client_state.as_deref().unwrap_or_default();
        if !same_secret(presented, expected.expose_secret()) {
            metrics.notifications(Source::Graph, NotificationOutcome::WrongSecret, 1);
            wrong.get_or_insert_with(|| (record.id.clone(), 0)).1 += 1;
            continue;
        }
        metrics.notifications(Source::Graph, NotificationOutcome::Accepted, 1);
        let action = match n.lifecycle_event.as_deref() {
            Some("subscriptionRemoved") => LifecycleAction::Recreate,
            Some("reauthorizationRequired") => LifecycleAction::Renew,
            _ => LifecycleAction::Sync,
        };
        match action {
            LifecycleAction::Recreate => {
                store.remove_subscription(&record.id)?;
            }
            LifecycleAction::Renew => {
                let mut due = record.clone();
                due.expires_at = now;
                store.put_subscription(&due)?;
            }
            LifecycleAction::Sync => {}
        }
        let user = (record.space.clone(), record.user.clone());
        if !users.contains(&user) {
            users.push(user);
        }
    }
    if let Some((first, count)) = wrong {
        tracing::warn!(
            count,
            subscription = %first,
            "notifications with a wrong clientState dropped"
        );
    }
    if unknown > 0 {
        tracing::debug!(
            count = unknown,
            "notifications for unknown subscriptions dropped"
        );
    }
    Ok(users)
}

/// The collection in `body`: none when the body is empty or `null` (Graph's handshake
/// sends none), else it must be a collection.
fn parse_notifications(state: &AppState, body: &[u8]) -> Result<GraphNotifications, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(GraphNotifications::default());
    }
    serde_json::from_slice::<Option<GraphNotifications>>(body)
        .map(Option::unwrap_or_default)
        .map_err(|e| {
            state
                .metrics
                .notifications(Source::Graph, NotificationOutcome::Malformed, 1);
            ApiError::bad_request(
                "malformed_json",
                format!("the notification is not valid JSON: {e}"),
            )
        })
}

async fn take_notifications(
    state: web::Data<AppState>,
    parsed: GraphNotifications,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    // Answer at once; checking and routing continue in the background.
    let state = state.into_inner();
    actix_web::rt::spawn(async move {
        let store = state.store.clone();
        let accepted = actix_web::rt::task::spawn_blocking({
            let metrics = state.metrics.clone();
            move || accept(&store, parsed.value, now, &metrics)
        })
        .await;
        match accepted {
            Ok(Ok(users)) => {
                if let Some(engine) = &state.engine {
                    for (space, user) in users {
                        let running = engine.notify(&space, &user).await;
                        tracing::debug!(space = %space, user = %user, running, "change notification routed");
                    }
                }
            }
            Ok(Err(e)) => tracing::error!(error = %e, "cannot check a Graph notification"),
            Err(e) => tracing::error!(error = %e, "cannot check a Graph notification"),
        }
    });
    Ok(HttpResponse::Accepted().finish())
}

/// Receives Graph change notifications (and answers the validation handshake).
#[utoipa::path(
    tag = "webhooks",
    security(()),
    params(Validation),
    request_body(content = Option<GraphNotifications>, description = "A change-notification collection; none on the validation handshake", content_type = "application/json"),
    responses(
        (status = 200, description = "handshake: the validation token echoed as text/plain", body = String, content_type = "text/plain"),
        (status = 202, description = "accepted; notifications whose clientState does not match are dropped, and an empty body carries none"),
        (status = 400, body = ErrorBody, description = "`malformed_json`, or `invalid_validation_token`: a validation token over 2,048 characters")
    )
)]
#[post("/webhooks/graph")]
pub async fn graph_notifications(
    state: web::Data<AppState>,
    validation: web::Query<Validation>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let notifications = parse_notifications(&state, &body)?;
    if let Some(answer) = handshake(&validation) {
        return answer;
    }
    take_notifications(state, notifications).await
}

/// Receives Graph lifecycle notifications (`subscriptionRemoved`,
/// `reauthorizationRequired`, `missed`) and answers the validation handshake.
#[utoipa::path(
    tag = "webhooks",
    security(()),
    params(Validation),
    request_body(content = Option<GraphNotifications>, description = "A lifecycle-notification collection; none on the validation handshake", content_type = "application/json"),
    responses(
        (status = 200, description = "handshake: the validation token echoed as text/plain", body = String, content_type = "text/plain"),
        (status = 202, description = "accepted"),
        (status = 400, body = ErrorBody, description = "`malformed_json`, or `invalid_validation_token`: a validation token over 2,048 characters")
    )
)]
#[post("/webhooks/graph/lifecycle")]
pub async fn graph_lifecycle(
    state: web::Data<AppState>,
    validation: web::Query<Validation>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let notifications = parse_notifications(&state, &body)?;
    if let Some(answer) = handshake(&validation) {
        return answer;
    }
    take_notifications(state, notifications).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_collection_is_checked_notification_by_notification() {
        let (_dir, store) = crate::store::test_store();
        let now = chrono::Utc::now();
        let (space, user) = (
            SpaceId::parse("acme").unwrap(),
            crate::ids::UserId::parse("jane").unwrap(),
        );
        let record = SubscriptionRecord {
            id: "sub-1".into(),
            space: space.clone(),
            user: user.clone(),
            folder_id: "folder-1".into(),
            client_state: store
                .seal(&client_state_context("sub-1"), &"right".into())
                .unwrap(),
            expires_at: now + chrono::Duration::hours(1),
        };
        store.put_subscription(&record).unwrap();
        let note = |sub: &str, state: &str, event: Option<&str>| GraphNotification {
            subscription_id: sub.into(),
            client_state: Some(state.into()),
            lifecycle_event: event.map(str::to_owned),
        };
        let metrics = Metrics::new();
        let wrong_only = vec![note("sub-1", "wrong", None), note("sub-2", "right", None)];
        assert!(accept(&store, wrong_only, now, &metrics)
            .unwrap()
            .is_empty());
        let users = accept(
            &store,
            vec![
                note("sub-1", "wrong", None),
                note("sub-1", "right", None),
                note("sub-1", "right", Some("reauthorizationRequired")),
            ],
            now,
            &metrics,
        )
        .unwrap();
        assert_eq!(users, vec![(space, user)], "one entry per user");
        assert_eq!(
            store.subscription("sub-1").unwrap().unwrap().expires_at,
            now,
            "the renewal is due at once"
        );
        let text = metrics.encode(crate::metrics::Format::Prometheus);
        for (outcome, count) in [
            ("wrong_secret", 2),
            ("unknown_subscription", 1),
            ("accepted", 2),
        ] {
            let series = format!(
                "exsync_notifications_total{{source=\"graph\",outcome=\"{outcome}\"}} {count}\n"
            );
            assert!(text.contains(&series), "{series} in\n{text}");
        }
    }
}
