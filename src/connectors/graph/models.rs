//! The Graph payloads exsync reads and writes. Contacts stay JSON objects: the mapping in
//! `sync` decides which properties matter, and unmapped ones pass through untouched.

use serde::{Deserialize, Serialize};

/// A contacts folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactFolder {
    /// The folder id.
    pub id: String,
    /// The folder's name.
    pub display_name: String,
    /// The parent folder's id.
    #[serde(default)]
    pub parent_folder_id: Option<String>,
}

/// A contact as Graph returns it: the whole JSON object plus the fields exsync keys on.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphContact {
    /// The immutable id.
    pub id: String,
    /// Changes with every edit.
    pub change_key: Option<String>,
    /// The JSON object as received.
    pub body: serde_json::Value,
}

impl GraphContact {
    /// Reads the keys from a JSON object; `None` when it has no id.
    pub fn from_json(body: serde_json::Value) -> Option<Self> {
        let id = body.get("id")?.as_str()?.to_owned();
        let change_key = body
            .get("changeKey")
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        Some(Self {
            id,
            change_key,
            body,
        })
    }
}

/// One entry of a delta round.
#[derive(Debug, Clone, PartialEq)]
pub enum DeltaItem {
    /// Created or changed; an update may carry only the changed properties.
    Upsert(GraphContact),
    /// Deleted (or moved out of the folder).
    Removed {
        /// The contact's id.
        id: String,
    },
}

/// A complete delta round: every change since the previous round, and the link to ask
/// for the next one. Only a round that reached its deltaLink is returned.
#[derive(Debug, Clone)]
pub struct DeltaRound {
    /// The changes, in the order Graph sent them (duplicates possible).
    pub items: Vec<DeltaItem>,
    /// The `@odata.deltaLink` for the next round.
    pub delta_link: String,
}

/// A change-notification subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// The subscription id.
    pub id: String,
    /// The watched resource.
    #[serde(default)]
    pub resource: String,
    /// When it expires.
    pub expiration_date_time: chrono::DateTime<chrono::Utc>,
}

/// One request of a `$batch`.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchRequest {
    /// Unique within the batch.
    pub id: String,
    /// `GET`, `POST`, `PATCH` or `DELETE`.
    pub method: reqwest::Method,
    /// Relative to the version root, e.g. `/users/{u}/contacts/{id}`.
    pub url: String,
    /// A JSON body, for POST and PATCH.
    pub body: Option<serde_json::Value>,
}
