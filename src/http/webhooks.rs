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
use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

use super::error::{ApiError, ErrorBody};
use super::state::AppState;
use crate::ids::SpaceId;
use crate::metrics::{Metrics, NotificationOutcome, Source};
use crate::store::hooks::{client_state_context, signature_context, SubscriptionRecord};
use crate::store::Store;

/// The header Pipeliner signs deliveries in.
pub const SIGNATURE_HEADER: &str = "WebHook-Signature";

/// The most one event's envelope in a Pipeliner delivery takes, bytes: the event's name
/// and time, the Pipeliner space id (at most 512 characters, as registered), and the
/// webhook as Pipeliner echoes it: ids and stamps, its events, the options exsync
/// registered (skip key, chunk size, the load-only list) and its URL (exsync's public URL,
/// `/webhooks/pipeliner/` and a space id of at most 128). That is about 900 bytes with a
/// short public URL; 4 KiB leaves room for a public URL of 2 KiB and the longest ids.
pub const MAX_EVENT_ENVELOPE: usize = 4 * 1024;

/// The most one contact of a delivery takes, bytes, loaded with
/// [`WEBHOOK_LOAD_ONLY`](crate::connectors::pipeliner::webhooks::WEBHOOK_LOAD_ONLY) only:
/// two UUIDs, two stamps, two 64-bit numbers and a flag with their names are under 300;
/// 1 KiB leaves room for members Pipeliner adds on its own.
pub const MAX_LOAD_ONLY_CONTACT: usize = 1024;

/// The body limit of the Pipeliner route: a full chunk
/// ([`WEBHOOK_CHUNK_SIZE`](crate::connectors::pipeliner::webhooks::WEBHOOK_CHUNK_SIZE),
/// 100) of events of the largest load-only contacts is 100 × (4 KiB + 1 KiB) = 500 KiB,
/// doubled for headroom: 1,000 KiB. Without `load-only` a single contact may hold more
/// than that (Pipeliner bounds no field), which is why exsync registers it.
pub const MAX_PIPELINER_DELIVERY: usize = 2
    * crate::connectors::pipeliner::webhooks::WEBHOOK_CHUNK_SIZE
    * (MAX_EVENT_ENVELOPE + MAX_LOAD_ONLY_CONTACT);

/// Registers the webhook routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(graph_notifications)
        .service(graph_lifecycle)
        .service(
            scope("/webhooks/pipeliner")
                .app_data(web::PayloadConfig::new(MAX_PIPELINER_DELIVERY))
                .service(pipeliner_delivery),
        );
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

/// The longest validation token echoed, bytes. Graph's are a sentence of about 120
/// characters; anything this long is not Graph, and exsync does not reflect it.
pub const MAX_VALIDATION_TOKEN: usize = 8 * 1024;

fn handshake(validation: &Validation) -> Option<Result<HttpResponse, ApiError>> {
    validation.validation_token.as_ref().map(|token| {
        if token.len() > MAX_VALIDATION_TOKEN {
            return Err(ApiError::bad_request(
                "invalid_validation_token",
                format!(
                    "the validationToken is {} bytes long; exsync echoes at most \
                     {MAX_VALIDATION_TOKEN} (Graph's are a short sentence)",
                    token.len()
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

async fn take_notifications(
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let parsed: GraphNotifications = serde_json::from_slice(&body).map_err(|e| {
        state
            .metrics
            .notifications(Source::Graph, NotificationOutcome::Malformed, 1);
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
    request_body(content = String, description = "A change-notification collection `{ \"value\": [...] }`", content_type = "application/json"),
    responses(
        (status = 200, description = "handshake: the validation token echoed as text/plain", body = String, content_type = "text/plain"),
        (status = 202, description = "accepted; notifications whose clientState does not match are dropped"),
        (status = 400, body = ErrorBody, description = "`malformed_json`, or `invalid_validation_token`: a validation token over 8 KiB")
    )
)]
#[post("/webhooks/graph")]
pub async fn graph_notifications(
    state: web::Data<AppState>,
    validation: web::Query<Validation>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    if let Some(answer) = handshake(&validation) {
        return answer;
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
        (status = 400, body = ErrorBody, description = "`malformed_json`, or `invalid_validation_token`: a validation token over 8 KiB")
    )
)]
#[post("/webhooks/graph/lifecycle")]
pub async fn graph_lifecycle(
    state: web::Data<AppState>,
    validation: web::Query<Validation>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    if let Some(answer) = handshake(&validation) {
        return answer;
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
    params(("space" = inline(crate::ids::SpaceId), Path, description = "The space id")),
    request_body(content = String, description = "A JSON array of Pipeliner events", content_type = "application/json"),
    responses(
        (status = 202, description = "accepted"),
        (status = 400, body = ErrorBody, description = "`malformed_json`"),
        (status = 401, body = ErrorBody, description = "`invalid_signature`: the WebHook-Signature header does not match"),
        (status = 404, body = ErrorBody, description = "`space_not_found`"),
        (status = 413, body = ErrorBody, description = "`payload_too_large`: over 1,000 KiB, more than a chunk of exsync's narrowed events")
    )
)]
#[post("/{space}")]
pub async fn pipeliner_delivery(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let count = |outcome| state.metrics.notifications(Source::Pipeliner, outcome, 1);
    let space = SpaceId::parse(&path).map_err(|_| {
        count(NotificationOutcome::UnknownSubscription);
        ApiError::space_not_found(&path)
    })?;
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
        .await
        .inspect_err(|e| {
            if e.code() == "space_not_found" {
                count(NotificationOutcome::UnknownSubscription);
            }
        })?;
    if !verified {
        count(NotificationOutcome::WrongSecret);
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
            "the WebHook-Signature header does not match the delivery",
        ));
    }
    // Checked as a JSON array without building it: each event carries a whole contact,
    // and what it says is read from Pipeliner by the cycle anyway.
    serde_json::from_slice::<Vec<serde::de::IgnoredAny>>(&body).map_err(|e| {
        count(NotificationOutcome::Malformed);
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
    count(NotificationOutcome::Accepted);
    Ok(HttpResponse::Accepted().finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The largest event Pipeliner can send exsync's webhook: every id and text at its
    /// longest, a public URL of 2 KiB, numbers at their widest.
    pub(crate) fn largest_event() -> serde_json::Value {
        use crate::connectors::pipeliner::webhooks::{WEBHOOK_CHUNK_SIZE, WEBHOOK_LOAD_ONLY};
        let skip_key = crate::connectors::pipeliner::PipelinerConfig::new(
            "https://x",
            "x",
            "x",
            secrecy::SecretString::from("x"),
        )
        .skip_key;
        let uuid = "0f0e0d0c-0b0a-4908-8706-050403020100";
        let stamp = "2026-12-31T23:59:59.999999";
        let url = format!(
            "https://{}/webhooks/pipeliner/{}",
            "h".repeat(2048 - 8),
            "s".repeat(crate::ids::MAX_ID_LEN)
        );
        serde_json::json!({
            "webhook": {
                "id": uuid, "insecure_ssl": false, "is_deleted": false,
                "is_delete_protected": false,
                "options": {
                    "skip_keys": [skip_key],
                    "chunk_size": WEBHOOK_CHUNK_SIZE,
                    "entity": { "Contact": { "load-only": WEBHOOK_LOAD_ONLY } },
                },
                "url": url, "created": stamp, "modified": stamp,
                "application_id": uuid, "client_id": uuid, "client": format!(
                    "https://eu-central.api.pipelinersales.com/api/v100/rest/spaces/{}/entities/Clients/{uuid}",
                    "p".repeat(512)
                ),
                "events": ["Contact.*"], "signature": uuid,
            },
            "event": "Contact.DocumentLinked",
            "event_time": stamp,
            "team_space_id": "p".repeat(512),
            "entity": {
                "id": uuid, "is_deleted": false, "revision": i64::MIN,
                "created": stamp, "modified": stamp, "owner_id": uuid, "share_mode": i64::MIN,
            },
            "related_entity": null,
        })
    }

    #[test]
    fn the_largest_event_fits_the_allowances_the_limit_is_made_of() {
        let mut event = largest_event();
        let entity = serde_json::to_vec(&event["entity"]).unwrap().len();
        event["entity"] = serde_json::Value::Null;
        let envelope = serde_json::to_vec(&event).unwrap().len();
        assert!(entity <= MAX_LOAD_ONLY_CONTACT, "entity {entity}");
        assert!(envelope <= MAX_EVENT_ENVELOPE, "envelope {envelope}");
        assert_eq!(MAX_PIPELINER_DELIVERY, 1000 * 1024);
    }

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
