//! Webhook receivers for the upstreams. They need no admin token: Graph notifications are
//! checked against the subscription's secret `clientState`, Pipeliner deliveries against
//! the HMAC-SHA256 `WebHook-Signature` keyed by the space's webhook signature. Accepted
//! notifications are handed to the user's actor, which runs a (debounced) cycle.

use std::collections::hash_map::{Entry, HashMap};

use actix_web::http::StatusCode;
use actix_web::{post, web, HttpRequest, HttpResponse};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use super::error::{ApiError, ErrorBody};
use super::state::AppState;
use crate::ids::SpaceId;
use crate::store::hooks::{client_state_context, signature_context, SubscriptionRecord};
use crate::store::Store;

/// The header Pipeliner signs deliveries in.
pub const SIGNATURE_HEADER: &str = "WebHook-Signature";

/// Registers the webhook routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(graph_notifications)
        .service(graph_lifecycle)
        .service(pipeliner_delivery);
}

/// Graph's validation handshake parameter.
#[derive(Deserialize, IntoParams)]
pub struct Validation {
    /// Sent by Graph when a subscription is created; echoed back as plain text.
    #[serde(rename = "validationToken")]
    #[param(rename = "validationToken")]
    pub validation_token: Option<String>,
}

/// One Graph change or lifecycle notification.
#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
struct GraphNotification {
    subscription_id: String,
    #[serde(default)]
    client_state: Option<String>,
    #[serde(default)]
    lifecycle_event: Option<String>,
}

#[derive(Deserialize, Debug)]
struct GraphNotifications {
    value: Vec<GraphNotification>,
}

fn handshake(validation: &Validation) -> Option<HttpResponse> {
    validation.validation_token.as_ref().map(|token| {
        HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(token.clone())
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

/// Checks each notification's clientState, applies lifecycle consequences, and returns
/// the users to sync.
fn accept(
    store: &Store,
    notifications: Vec<GraphNotification>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<(SpaceId, crate::ids::UserId)>, crate::store::StoreError> {
    let mut users = Vec::new();
    // A collection usually carries many notifications of one subscription: read and
    // open its record once.
    let mut known: HashMap<String, Option<(SubscriptionRecord, SecretString)>> = HashMap::new();
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
            tracing::debug!(subscription = %n.subscription_id, "notification for an unknown subscription");
            continue;
        };
        let presented = n.client_state.as_deref().unwrap_or_default();
        if !same_secret(presented, expected.expose_secret()) {
            tracing::warn!(subscription = %record.id, "notification with a wrong clientState dropped");
            continue;
        }
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
    Ok(users)
}

async fn take_notifications(
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let parsed: GraphNotifications = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(
            "malformed_json",
            format!("the notification is not valid JSON: {e}"),
        )
    })?;
    let now = state.clock.now();
    // Answer at once; checking and routing continue in the background.
    let state = state.into_inner();
    actix_web::rt::spawn(async move {
        let store = state.store.clone();
        let accepted =
            actix_web::rt::task::spawn_blocking(move || accept(&store, parsed.value, now)).await;
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
    request_body(content = String, description = "A change-notification collection `{ \"value\": [...] }`", content_type = "application/json"),
    responses(
        (status = 200, description = "handshake: the validation token echoed as text/plain", body = String, content_type = "text/plain"),
        (status = 202, description = "accepted; notifications whose clientState does not match are dropped"),
        (status = 400, body = ErrorBody, description = "`malformed_json`")
    )
)]
#[post("/webhooks/graph")]
pub async fn graph_notifications(
    state: web::Data<AppState>,
    validation: web::Query<Validation>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    if let Some(answer) = handshake(&validation) {
        return Ok(answer);
    }
    take_notifications(state, body).await
}

/// Receives Graph lifecycle notifications (`subscriptionRemoved`,
/// `reauthorizationRequired`, `missed`) and answers the validation handshake.
#[utoipa::path(
    tag = "webhooks",
    security(()),
    params(Validation),
    request_body(content = String, description = "A lifecycle-notification collection", content_type = "application/json"),
    responses(
        (status = 200, description = "handshake: the validation token echoed as text/plain", body = String, content_type = "text/plain"),
        (status = 202, description = "accepted"),
        (status = 400, body = ErrorBody, description = "`malformed_json`")
    )
)]
#[post("/webhooks/graph/lifecycle")]
pub async fn graph_lifecycle(
    state: web::Data<AppState>,
    validation: web::Query<Validation>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    if let Some(answer) = handshake(&validation) {
        return Ok(answer);
    }
    take_notifications(state, body).await
}

/// Checks a hex HMAC-SHA256 of `body` keyed by `key`.
pub fn signature_matches(key: &str, body: &[u8], presented_hex: &str) -> bool {
    let Ok(presented) = hex::decode(presented_hex.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&presented).is_ok()
}

/// Receives Pipeliner webhook deliveries for a space; each user of the space syncs.
#[utoipa::path(
    tag = "webhooks",
    security(()),
    params(("space" = String, Path, description = "The space id")),
    request_body(content = String, description = "A JSON array of Pipeliner events", content_type = "application/json"),
    responses(
        (status = 202, description = "accepted"),
        (status = 400, body = ErrorBody, description = "`malformed_json`"),
        (status = 401, body = ErrorBody, description = "`invalid_signature`: the WebHook-Signature header does not match"),
        (status = 404, body = ErrorBody, description = "`space_not_found`")
    )
)]
#[post("/webhooks/pipeliner/{space}")]
pub async fn pipeliner_delivery(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let space = SpaceId::parse(&path).map_err(|_| ApiError::space_not_found(&path))?;
    let presented = req
        .headers()
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let (verified, users) = state
        .blocking({
            let space = space.clone();
            let body = body.clone();
            move |store| {
                let hook = store
                    .space_hook(&space)?
                    .ok_or_else(|| ApiError::space_not_found(space.as_str()))?;
                let key = store.open_secret(&signature_context(&space), &hook.signature)?;
                let verified = signature_matches(key.expose_secret(), &body, &presented);
                let users = store
                    .users(&space)?
                    .into_iter()
                    .map(|u| u.id)
                    .collect::<Vec<_>>();
                Ok((verified, users))
            }
        })
        .await?;
    if !verified {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
            "the WebHook-Signature header does not match the delivery",
        ));
    }
    // Checked as a JSON array without building it: each event carries a whole contact,
    // and what it says is read from Pipeliner by the cycle anyway.
    serde_json::from_slice::<Vec<serde::de::IgnoredAny>>(&body).map_err(|e| {
        ApiError::bad_request(
            "malformed_json",
            format!("the delivery is not a JSON array: {e}"),
        )
    })?;
    if let Some(engine) = state.engine.clone() {
        actix_web::rt::spawn(async move {
            for user in users {
                engine.notify(&space, &user).await;
            }
        });
    }
    Ok(HttpResponse::Accepted().finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hex_hmac_sha256_of_the_body() {
        let key = "4f1c0d3e-8a5b-4c2d-9e7f-1a2b3c4d5e6f";
        let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(b"[{}]");
        let good = hex::encode(mac.finalize().into_bytes());
        assert!(signature_matches(key, b"[{}]", &good));
        assert!(!signature_matches(key, b"[{ }]", &good));
        assert!(!signature_matches("other", b"[{}]", &good));
        assert!(!signature_matches(key, b"[{}]", "not hex"));
    }

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
        let wrong_only = vec![note("sub-1", "wrong", None), note("sub-2", "right", None)];
        assert!(accept(&store, wrong_only, now).unwrap().is_empty());
        let users = accept(
            &store,
            vec![
                note("sub-1", "wrong", None),
                note("sub-1", "right", None),
                note("sub-1", "right", Some("reauthorizationRequired")),
            ],
            now,
        )
        .unwrap();
        assert_eq!(users, vec![(space, user)], "one entry per user");
        assert_eq!(
            store.subscription("sub-1").unwrap().unwrap().expires_at,
            now,
            "the renewal is due at once"
        );
    }
}
