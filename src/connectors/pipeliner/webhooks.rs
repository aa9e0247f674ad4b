//! The space's webhook: one per space, for `Contact.*`, signed with a UUID, skipping
//! exsync's own writes by their skip key.

use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{PipelinerClient, PipelinerError};

/// A registered webhook.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Webhook {
    /// The webhook id.
    pub id: String,
    /// Where deliveries go.
    pub url: String,
}

impl PipelinerClient {
    /// Registers a webhook for contact events at `url`, signed with `signature` (a UUID).
    pub async fn create_webhook(
        &self,
        url: &str,
        signature: &str,
    ) -> Result<Webhook, PipelinerError> {
        let body = json!({
            "url": url,
            "events": ["Contact.*"],
            "insecure_ssl": false,
            "signature": signature,
            "options": { "skip_keys": [self.config().skip_key] },
        });
        let answer = self
            .send(Method::POST, "/entities/Webhooks", &[], Some(&body), false)
            .await?;
        serde_json::from_value(answer.data).map_err(|e| PipelinerError::Malformed(e.to_string()))
    }

    /// Every webhook of the space.
    pub async fn webhooks(&self) -> Result<Vec<Webhook>, PipelinerError> {
        let answer = self
            .send(
                Method::GET,
                "/entities/Webhooks",
                &[("first", "100".into())],
                None,
                true,
            )
            .await?;
        let items = answer.data.as_array().cloned().unwrap_or_default();
        Ok(items
            .into_iter()
            .filter_map(|v: Value| serde_json::from_value(v).ok())
            .collect())
    }

    /// Removes a webhook; one already gone counts as removed.
    pub async fn delete_webhook(&self, id: &str) -> Result<(), PipelinerError> {
        match self
            .send(
                Method::DELETE,
                &format!("/entities/Webhooks/{id}"),
                &[],
                None,
                true,
            )
            .await
        {
            Ok(_) | Err(PipelinerError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
