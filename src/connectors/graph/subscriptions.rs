//! Change-notification subscriptions on a contacts folder: create (Graph runs the
//! validation handshake against exsync's webhook), renew, reauthorize, delete. Ids go into
//! a subscription's `resource` as Graph returned them ([`subscription_resource`]).

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::json;

use super::folders::urlencode;
use super::models::Subscription;
use super::{GraphClient, GraphError, Replay};

/// Where Graph should deliver, and the secret it echoes back.
#[derive(Clone)]
pub struct SubscriptionTarget {
    /// exsync's notification URL.
    pub notification_url: String,
    /// exsync's lifecycle URL.
    pub lifecycle_url: String,
    /// The random secret Graph sends back in every notification.
    pub client_state: secrecy::SecretString,
}

/// The `resource` of a subscription to a folder's contacts, with the mailbox and the
/// folder id exactly as Graph returned them. Graph does not read `resource` as a URL: it
/// builds its own Outlook URL from it and encodes the ids there, so an id encoded here
/// (`=` as `%3D`) would be encoded twice and name a folder that does not exist.
pub fn subscription_resource(mailbox: &str, folder: &str) -> String {
    format!("/users/{mailbox}/contactFolders/{folder}/contacts")
}

impl GraphClient {
    /// Subscribes to created, updated and deleted contacts of `folder`.
    pub async fn create_subscription(
        &self,
        mailbox: &str,
        folder: &str,
        target: &SubscriptionTarget,
        expires: DateTime<Utc>,
    ) -> Result<Subscription, GraphError> {
        let body = json!({
            "changeType": "created,updated,deleted",
            "notificationUrl": target.notification_url,
            "lifecycleNotificationUrl": target.lifecycle_url,
            "resource": subscription_resource(mailbox, folder),
            "expirationDateTime": expires.to_rfc3339(),
            "clientState": secrecy::ExposeSecret::expose_secret(&target.client_state),
        });
        let answer = self
            .send(
                mailbox,
                Method::POST,
                "/subscriptions",
                Some(&body),
                Replay::OnlyIfThrottled,
            )
            .await?;
        serde_json::from_value(answer.body).map_err(|e| GraphError::Malformed(e.to_string()))
    }

    /// Moves a subscription's expiry.
    pub async fn renew_subscription(
        &self,
        mailbox: &str,
        id: &str,
        expires: DateTime<Utc>,
    ) -> Result<Subscription, GraphError> {
        let body = json!({ "expirationDateTime": expires.to_rfc3339() });
        let answer = self
            .send(
                mailbox,
                Method::PATCH,
                &format!("/subscriptions/{}", urlencode(id)),
                Some(&body),
                Replay::Safe,
            )
            .await?;
        serde_json::from_value(answer.body).map_err(|e| GraphError::Malformed(e.to_string()))
    }

    /// Removes a subscription; one already gone counts as removed.
    pub async fn delete_subscription(&self, mailbox: &str, id: &str) -> Result<(), GraphError> {
        match self
            .send(
                mailbox,
                Method::DELETE,
                &format!("/subscriptions/{}", urlencode(id)),
                None,
                Replay::Safe,
            )
            .await
        {
            Ok(_) | Err(GraphError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::subscription_resource;

    #[test]
    fn the_resource_carries_the_ids_as_graph_returned_them() {
        assert_eq!(
            subscription_resource("jane+x@acme.com", "AAMkAD+x/y=="),
            "/users/jane+x@acme.com/contactFolders/AAMkAD+x/y==/contacts"
        );
    }
}
