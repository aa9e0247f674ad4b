//! Pipeliner's webhook deliveries for a space: the body limit sized for a chunk of
//! exsync's narrowed events, the `WebHook-Signature` check, and a wake of the space's
//! users.

use actix_web::http::StatusCode;
use actix_web::{post, web, HttpRequest, HttpResponse};
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use sha2::Sha256;

use crate::http::error::{ApiError, ErrorBody};
use crate::http::state::AppState;
use crate::ids::SpaceId;
use crate::metrics::{NotificationOutcome, Source};
use crate::store::hooks::signature_context;

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
    request_body(content = Vec<Object>, description = "A JSON array of Pipeliner events", content_type = "application/json"),
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
}
