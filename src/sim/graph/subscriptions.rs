//! Creating subscriptions: the resource must be a contacts folder of a mailbox of the
//! caller's tenant, and both URLs must pass the validation handshake (the token echoed as
//! text/plain within 10 s) before the subscription exists.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::core::Core;
use super::errors::GraphFault;
use super::routes::{segments, Answer};
use super::state::{graph_time, SimSubscription};

/// The longest lifetime Graph grants Outlook contact subscriptions, in minutes.
pub const MAX_LIFETIME_MINUTES: i64 = 10_080;

/// A subscription as Graph renders it.
pub(crate) fn render(sub: &SimSubscription) -> Value {
    json!({
        "id": sub.id,
        "resource": sub.resource,
        "changeType": "created,updated,deleted",
        "clientState": sub.client_state,
        "notificationUrl": sub.notification_url,
        "lifecycleNotificationUrl": sub.lifecycle_notification_url,
        "expirationDateTime": graph_time(sub.expiration_date_time),
        "applicationId": "sim",
        "creatorId": "sim",
        "includeResourceData": false,
        "latestSupportedTlsVersion": "v1_2",
    })
}

async fn handshake(core: &Core, url: &str, token: &str) -> bool {
    let Ok(mut target) = reqwest::Url::parse(url) else {
        return false;
    };
    target
        .query_pairs_mut()
        .append_pair("validationToken", token);
    let answer = core
        .http
        .post(target)
        .header("Content-Type", "text/plain")
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    match answer {
        Ok(r) if r.status().is_success() => r.text().await.is_ok_and(|body| body == token),
        _ => false,
    }
}

fn failed(url: &str) -> GraphFault {
    GraphFault::new(
        400,
        "ValidationError",
        format!("Subscription validation request failed. Notification endpoint {url} must respond with 200 OK to validation request."),
    )
}

/// `POST /subscriptions`.
pub(crate) async fn create(core: &Core, tenant: &str, body: &Value) -> Result<Answer, GraphFault> {
    let text = |key: &str| body[key].as_str().map(str::to_owned);
    let resource =
        text("resource").ok_or_else(|| GraphFault::bad_request("resource is required."))?;
    let notification_url = text("notificationUrl")
        .ok_or_else(|| GraphFault::bad_request("notificationUrl is required."))?;
    let lifecycle_url = text("lifecycleNotificationUrl");
    let expires: DateTime<Utc> = text("expirationDateTime")
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| GraphFault::bad_request("expirationDateTime is required."))?;
    let now = core.now();
    if expires <= now || expires > now + chrono::Duration::minutes(MAX_LIFETIME_MINUTES) {
        return Err(GraphFault::bad_request(
            "Subscription expiration can only be 10080 minutes in the future.",
        ));
    }
    let segs = segments(&resource);
    let (mailbox, folder) = match segs
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["users", m, "contactFolders", f, "contacts"] => (m.to_string(), f.to_string()),
        _ => {
            return Err(GraphFault::bad_request(format!(
                "Unsupported resource {resource}."
            )))
        }
    };
    let (id, token) = {
        let mut state = core.state();
        let found = state.mailbox(&mailbox)?;
        if found.tenant != tenant || !found.folders.contains_key(&folder) {
            return Err(GraphFault::new(
                404,
                "ErrorItemNotFound",
                "The resource was not found.",
            ));
        }
        (state.fresh_id("", 36), state.fresh_id("Validation: ", 20))
    };
    for url in std::iter::once(&notification_url).chain(lifecycle_url.as_ref()) {
        if !handshake(core, url, &token).await {
            return Err(failed(url));
        }
    }
    let sub = SimSubscription {
        id: id.clone(),
        mailbox: mailbox.to_ascii_lowercase(),
        folder,
        resource,
        notification_url,
        lifecycle_notification_url: lifecycle_url,
        client_state: text("clientState"),
        expiration_date_time: expires,
        tenant: tenant.to_owned(),
    };
    let rendered = render(&sub);
    core.state().subscriptions.insert(id, sub);
    Ok(Answer {
        status: 201,
        body: rendered,
        notes: Vec::new(),
    })
}
