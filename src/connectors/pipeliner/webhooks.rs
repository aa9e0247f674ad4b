//! The space's webhook: one per space, for `Contact.*`, signed with a UUID, skipping
//! exsync's own writes by their skip key, and narrowed (`chunk_size`, `load-only`) so
//! that every delivery fits the receiving route's body limit whatever the contacts hold.

use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{PipelinerClient, PipelinerError};

/// Events per delivery exsync asks for (`options.chunk_size`): Pipeliner's largest and
/// default chunk, stated so that the receiving route can size its body limit on it.
pub const WEBHOOK_CHUNK_SIZE: usize = 100;

/// The contact members a delivery carries (`options.entity.Contact.load-only`): those of
/// [`META_MEMBERS`](super::listed::META_MEMBERS) that identify a change. A delivery only
/// wakes the space's users, whose cycles read the contacts from Pipeliner; the fields
/// (whose length Pipeliner does not bound) and the sharing list (as long as the space has
/// users) stay out, so an event is small whatever its contact holds.
pub const WEBHOOK_LOAD_ONLY: [&str; 7] = [
    "id",
    "is_deleted",
    "revision",
    "created",
    "modified",
    "owner_id",
    "share_mode",
];

/// The version of what [`PipelinerClient::create_webhook`] registers (its events and
/// options). Pipeliner keeps a webhook's options as they were registered, so a stored
/// webhook of another version, registered by an older exsync, is replaced by a new one
/// (bump this whenever the registration changes).
pub const WEBHOOK_OPTIONS_VERSION: u32 = 1;

/// A registered webhook.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Webhook {
    /// The webhook id.
    pub id: String,
    /// Where deliveries go.
    pub url: String,
}

impl PipelinerClient {
    /// Registers a webhook for contact events at `url`, signed with `signature` (a UUID),
    /// delivering at most [`WEBHOOK_CHUNK_SIZE`] events of [`WEBHOOK_LOAD_ONLY`] contacts.
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
            "options": {
                "skip_keys": [self.config().skip_key],
                "chunk_size": WEBHOOK_CHUNK_SIZE,
                "entity": { "Contact": { "load-only": WEBHOOK_LOAD_ONLY } },
            },
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::pipeliner::listed::META_MEMBERS;

    #[test]
    fn deliveries_load_the_identifying_members_exsync_reads() {
        let expected: Vec<&str> = META_MEMBERS
            .into_iter()
            .filter(|m| *m != "sharing_clients")
            .collect();
        assert_eq!(WEBHOOK_LOAD_ONLY.to_vec(), expected);
    }
}
