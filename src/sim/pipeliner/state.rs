//! The simulator's data: spaces with their credentials, users (Clients), Contact field
//! definitions, contacts (with revision, modified, soft delete and sharing) and webhooks.
//! Everything lives behind one mutex in [`SimState`]; ids come from a seeded RNG so a run
//! is reproducible for a seed.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value};

/// A contact as stored: the writable values plus the bookkeeping Pipeliner keeps.
#[derive(Debug, Clone)]
pub(crate) struct ContactRecord {
    pub id: String,
    /// Insertion order, the default sort and the final tie-breaker.
    pub seq: u64,
    pub owner_id: String,
    pub unit_id: String,
    pub revision: i64,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
    pub is_deleted: bool,
    pub share_mode: i64,
    /// Writable scalar values (standard and `cf_*`), keyed by API name.
    pub values: Map<String, Value>,
    pub sharing: Vec<SharingRecord>,
}

/// One `ContactSharingClientRelation`: a user given access to a contact.
#[derive(Debug, Clone)]
pub(crate) struct SharingRecord {
    pub id: String,
    pub client_id: String,
    /// 1 watcher, 2 editor.
    pub role: i64,
    pub created: DateTime<Utc>,
}

/// A Pipeliner user.
#[derive(Debug, Clone)]
pub(crate) struct ClientRecord {
    pub id: String,
    pub seq: u64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub created: DateTime<Utc>,
}

/// A Contact field definition (standard or custom).
#[derive(Debug, Clone)]
pub(crate) struct FieldRecord {
    pub id: String,
    pub seq: u64,
    pub api_name: String,
    pub name: String,
    pub type_id: String,
    pub system_required: bool,
    pub custom: bool,
}

/// A registered webhook.
#[derive(Debug, Clone)]
pub(crate) struct WebhookRecord {
    pub id: String,
    pub seq: u64,
    pub url: String,
    pub events: Vec<String>,
    pub insecure_ssl: bool,
    pub signature: Option<String>,
    pub options: Map<String, Value>,
    pub client_id: Option<String>,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
    pub is_deleted: bool,
}

impl WebhookRecord {
    /// The skip keys from `options.skip_keys`.
    pub fn skip_keys(&self) -> Vec<&str> {
        self.options
            .get("skip_keys")
            .and_then(Value::as_array)
            .map(|keys| keys.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    /// Whether this webhook listens to `event` (e.g. `Contact.Update`).
    pub fn listens_to(&self, event: &str) -> bool {
        let entity = event.split('.').next().unwrap_or(event);
        self.events
            .iter()
            .any(|e| e == "*" || e == event || *e == format!("{entity}.*"))
    }
}

/// One space (Pipeliner team space) and everything in it.
#[derive(Debug, Clone)]
pub(crate) struct Space {
    pub id: String,
    pub name: String,
    pub api_key: String,
    pub api_secret: String,
    pub unit_id: String,
    pub contact_type_id: String,
    pub master_right_id: String,
    /// Space-wide revision counter; every write takes the next value.
    pub revision: i64,
    pub clients: BTreeMap<String, ClientRecord>,
    pub fields: BTreeMap<String, FieldRecord>,
    pub contacts: BTreeMap<String, ContactRecord>,
    pub webhooks: BTreeMap<String, WebhookRecord>,
}

impl Space {
    /// API names of fields a create must fill (besides `owner_id`).
    pub fn required_fields(&self) -> Vec<String> {
        let mut fields: Vec<&FieldRecord> = self
            .fields
            .values()
            .filter(|f| f.system_required && f.api_name != "owner_id")
            .collect();
        fields.sort_by_key(|f| f.seq);
        fields.into_iter().map(|f| f.api_name.clone()).collect()
    }

    /// The custom field named `api_name`, if defined.
    pub fn custom_field(&self, api_name: &str) -> Option<&FieldRecord> {
        self.fields
            .values()
            .find(|f| f.custom && f.api_name == api_name)
    }
}

/// All spaces plus the seeded id generator.
#[derive(Debug)]
pub(crate) struct SimState {
    pub spaces: BTreeMap<String, Space>,
    pub ids: IdGen,
}

impl SimState {
    /// Empty state whose ids derive from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            spaces: BTreeMap::new(),
            ids: IdGen {
                rng: StdRng::seed_from_u64(seed),
                seq: 0,
            },
        }
    }
}

/// Seeded UUIDs and the insertion counter.
#[derive(Debug)]
pub(crate) struct IdGen {
    rng: StdRng,
    seq: u64,
}

impl IdGen {
    /// A fresh UUID (v4 layout) drawn from the seeded generator.
    pub fn new_id(&mut self) -> String {
        let bytes: [u8; 16] = self.rng.gen();
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
    }

    /// A fresh id and the next insertion sequence number.
    pub fn fresh(&mut self) -> (String, u64) {
        self.seq += 1;
        (self.new_id(), self.seq)
    }
}

/// Formats a timestamp the way Pipeliner returns it: `2019-01-01T00:00:00`, UTC, no zone.
pub(crate) fn format_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// Drops sub-second precision; Pipeliner's timestamps and filters work in whole seconds.
pub(crate) fn whole_seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}
