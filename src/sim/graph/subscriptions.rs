//! Creating subscriptions: the resource must be a contacts folder of a mailbox of the
//! caller's tenant, named by the ids as Graph returned them (never percent-encoded: Graph
//! encodes them itself), and both URLs must pass the validation handshake (the token
//! echoed as text/plain within 10 s) before the subscription exists.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::core::Core;
use super::errors::GraphFault;
use super::routes::Answer;
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

/// The mailbox and folder id a subscription's `resource` names
/// (`[/]users/{mailbox}/contactFolders/{folder}/contacts`), read as Graph reads them: as
/// the text given, never percent-decoded. Graph builds an Outlook URL from the resource
/// and encodes the ids itself, so `%3D` in a resource reaches Exchange as `%253D`.
fn contacts_folder(resource: &str) -> Option<(&str, &str)> {
    let rest = resource.strip_prefix('/').unwrap_or(resource);
    let (users, rest) = rest.split_once('/')?;
    let (mailbox, rest) = rest.split_once('/')?;
    let (folders, rest) = rest.split_once('/')?;
    let (folder, contacts) = rest.rsplit_once('/')?;
    let named = users.eq_ignore_ascii_case("users")
        && folders.eq_ignore_ascii_case("contactFolders")
        && contacts.eq_ignore_ascii_case("contacts");
    (named && !mailbox.is_empty() && !folder.is_empty()).then_some((mailbox, folder))
}

/// Percent-encodes an id as Graph does when it builds the Outlook URL of a resource.
fn outlook_encode(id: &str) -> String {
    id.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Graph's answer to a resource that names no folder of the caller's tenant: a 400
/// `ExtensionError` quoting the Outlook URL it built.
fn not_in_store(mailbox: &str, folder: &str) -> GraphFault {
    GraphFault::new(
        400,
        "ExtensionError",
        format!(
            "Operation: Create; Exception: [Status Code: NotFound; Reason: The value \
             'https://outlook.office365.com/api/v2.0/Users('{}')/ContactFolders('{}')/Contacts' \
             of parameter 'Resource' does not name an existing object.]",
            outlook_encode(mailbox),
            outlook_encode(folder)
        ),
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
    let Some((mailbox, folder)) = contacts_folder(&resource) else {
        return Err(GraphFault::bad_request(format!(
            "Unsupported resource {resource}."
        )));
    };
    let (mailbox, folder) = (mailbox.to_owned(), folder.to_owned());
    let (id, token) = {
        let mut state = core.state();
        let known = state
            .mailbox(&mailbox)
            .is_ok_and(|found| found.tenant == tenant && found.folders.contains_key(&folder));
        if !known {
            return Err(not_in_store(&mailbox, &folder));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resource_is_read_as_given() {
        assert_eq!(
            contacts_folder("/users/a@b.c/contactFolders/AB+c/d==/contacts"),
            Some(("a@b.c", "AB+c/d=="))
        );
        assert_eq!(
            contacts_folder("Users/a%40b.c/ContactFolders/AB%3D/Contacts"),
            Some(("a%40b.c", "AB%3D"))
        );
        assert_eq!(contacts_folder("/users/a@b.c/contacts"), None);
        assert_eq!(contacts_folder("/me/contactFolders/x/contacts"), None);
        assert_eq!(outlook_encode("a@b+c/=="), "a%40b%2Bc%2F%3D%3D");
    }
}
