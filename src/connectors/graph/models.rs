//! The Graph payloads exsync reads and writes. A single contact stays a JSON object: the
//! mapping in `sync` decides which properties matter, and unmapped ones pass through
//! untouched. Delta rows are read into [`ListedGraphContact`] with only what exsync reads.

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

pub use super::listed::ListedGraphContact;

/// A page of a delta round, its rows kept with only the members exsync reads.
#[derive(Debug, Default, Deserialize)]
pub struct DeltaPage {
    /// The rows, when the page has them.
    #[serde(default)]
    pub value: Option<Vec<ListedGraphContact>>,
    /// The next page of the round.
    #[serde(rename = "@odata.nextLink", default)]
    pub next_link: Option<String>,
    /// The link that starts the next round; on the round's last page.
    #[serde(rename = "@odata.deltaLink", default)]
    pub delta_link: Option<String>,
}

/// A contact as Graph returns it: the JSON object (a delta row holds only the members
/// exsync reads) plus the fields exsync keys on.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphContact {
    /// The immutable id.
    pub id: String,
    /// Changes with every edit.
    pub change_key: Option<String>,
    /// The JSON object as received (for a delta row, its members exsync reads).
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
    Upsert(Box<ListedGraphContact>),
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
#[derive(Debug, Clone)]
pub struct BatchRequest {
    /// Unique within the batch.
    pub id: String,
    /// `GET`, `POST`, `PATCH` or `DELETE`.
    pub method: reqwest::Method,
    /// Relative to the version root, e.g. `/users/{u}/contacts/{id}`.
    pub url: String,
    /// A JSON body, for POST and PATCH, as the text sent.
    pub body: Option<Box<serde_json::value::RawValue>>,
}
