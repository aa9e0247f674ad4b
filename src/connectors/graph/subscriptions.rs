//! Change-notification subscriptions on a contacts folder: create (Graph runs the
//! validation handshake against exsync's webhook), renew, reauthorize, delete.

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
            "resource": format!("{}/contactFolders/{}/contacts", self.user_path(mailbox), urlencode(folder)),
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
