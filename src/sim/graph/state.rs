//! The simulated Exchange: apps and tokens per tenant, mailboxes with contact folders and
//! contacts, and each mailbox's change log (which feeds delta rounds and notifications).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, SecondsFormat, Utc};
use rand::rngs::StdRng;
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::errors::GraphFault;
use crate::sim::faults::FaultState;

/// Behaviours that can be switched on and off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimSettings {
    /// Delta rows of updated contacts carry only the properties that changed.
    pub partial_updates: bool,
    /// Delta rounds repeat an updated row now and then.
    pub duplicates: bool,
    /// Page size when a request sends no `odata.maxpagesize` (Graph uses about 10).
    pub default_page_size: usize,
    /// Lifetime of issued tokens, seconds.
    pub token_lifetime_secs: i64,
    /// Requests allowed per app and mailbox within `budget_window_secs` (Graph: 10,000
    /// per 600 s); `None` for no budget.
    pub budget_requests: Option<u64>,
    /// The budget window, seconds.
    pub budget_window_secs: i64,
    /// In a `$batch`, sub-requests beyond the fourth for one mailbox answer 429, as when
    /// Graph runs at most four at once and the mailbox is busy.
    pub strict_batch_concurrency: bool,
}

impl Default for SimSettings {
    fn default() -> Self {
        Self {
            partial_updates: true,
            duplicates: false,
            default_page_size: 10,
            token_lifetime_secs: 3599,
            budget_requests: Some(10_000),
            budget_window_secs: 600,
            strict_batch_concurrency: false,
        }
    }
}

/// A stored contact.
#[derive(Debug, Clone)]
pub(crate) struct StoredContact {
    pub folder: String,
    pub body: Map<String, Value>,
    pub extended: Vec<(String, String)>,
}

/// One entry of a mailbox's change log.
#[derive(Debug, Clone)]
pub(crate) struct ChangeEntry {
    pub seq: u64,
    pub folder: String,
    pub contact: String,
    /// Changed properties; `None` for a create or a delete.
    pub props: Option<Vec<String>>,
}

/// A mailbox.
#[derive(Debug, Clone)]
pub(crate) struct Mailbox {
    pub tenant: String,
    pub address: String,
    pub folders: BTreeMap<String, String>,
    pub contacts: BTreeMap<String, StoredContact>,
    pub changes: Vec<ChangeEntry>,
    pub generation: u64,
    pub inflight: usize,
}

/// A subscription.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimSubscription {
    /// The id.
    pub id: String,
    /// The mailbox (lower case).
    pub mailbox: String,
    /// The folder.
    pub folder: String,
    /// The resource as given.
    pub resource: String,
    /// Where notifications go.
    pub notification_url: String,
    /// Where lifecycle events go.
    pub lifecycle_notification_url: Option<String>,
    /// Echoed in every notification.
    pub client_state: Option<String>,
    /// When it lapses.
    pub expiration_date_time: DateTime<Utc>,
    /// The tenant.
    pub tenant: String,
}

/// A delta cursor behind a token.
#[derive(Debug, Clone)]
pub(crate) struct DeltaCursor {
    pub mailbox: String,
    pub folder: String,
    pub since: u64,
    pub generation: u64,
}

/// A round in progress behind a skip token.
#[derive(Debug, Clone)]
pub(crate) struct PendingRound {
    pub mailbox: String,
    pub folder: String,
    pub items: Vec<Value>,
    pub offset: usize,
    pub end: u64,
    pub generation: u64,
}

/// An issued token.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tenant: String,
    pub client_id: String,
    pub expires: DateTime<Utc>,
}

/// Requests per app and mailbox in the current window.
#[derive(Debug, Clone)]
pub(crate) struct Usage {
    pub window_start: DateTime<Utc>,
    pub count: u64,
}

/// Everything the simulator holds.
#[derive(Debug)]
pub(crate) struct State {
    pub rng: StdRng,
    pub apps: HashMap<(String, String), String>,
    pub tokens: HashMap<String, Token>,
    pub mailboxes: HashMap<String, Mailbox>,
    pub cursors: HashMap<String, DeltaCursor>,
    pub rounds: HashMap<String, PendingRound>,
    pub subscriptions: BTreeMap<String, SimSubscription>,
    pub usage: HashMap<(String, String), Usage>,
    pub settings: SimSettings,
    pub faults: FaultState,
    pub requests: BTreeMap<String, u64>,
    /// 429 answers given, whole requests and batched sub-requests.
    pub throttled: u64,
    pub seq: u64,
}

/// Formats a time as Graph does.
pub(crate) fn graph_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl State {
    pub fn new(rng: StdRng, faults: FaultState) -> Self {
        Self {
            rng,
            apps: HashMap::new(),
            tokens: HashMap::new(),
            mailboxes: HashMap::new(),
            cursors: HashMap::new(),
            rounds: HashMap::new(),
            subscriptions: BTreeMap::new(),
            usage: HashMap::new(),
            settings: SimSettings::default(),
            faults,
            requests: BTreeMap::new(),
            throttled: 0,
            seq: 0,
        }
    }

    /// A random id of `len` URL-safe characters with a prefix, like Graph's.
    pub fn fresh_id(&mut self, prefix: &str, len: usize) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let tail: String = (0..len)
            .map(|_| char::from(ALPHABET[self.rng.gen_range(0..ALPHABET.len())]))
            .collect();
        format!("{prefix}{tail}")
    }

    pub fn mailbox(&mut self, address: &str) -> Result<&mut Mailbox, GraphFault> {
        self.mailboxes
            .get_mut(&address.to_ascii_lowercase())
            .ok_or_else(|| {
                GraphFault::new(
                    404,
                    "ErrorItemNotFound",
                    format!("The mailbox {address} was not found."),
                )
            })
    }

    /// Creates a folder, refusing a duplicate name.
    pub fn create_folder(&mut self, address: &str, name: &str) -> Result<Value, GraphFault> {
        let id = self.fresh_id("AQMkAD", 40);
        self.create_folder_with_id(address, &id, name)
    }

    /// Creates a folder with a given id (Graph's are base64 and may hold `+`, `/`, `=`),
    /// refusing a duplicate name.
    pub fn create_folder_with_id(
        &mut self,
        address: &str,
        id: &str,
        name: &str,
    ) -> Result<Value, GraphFault> {
        let id = id.to_owned();
        let mailbox = self.mailbox(address)?;
        if mailbox.folders.values().any(|n| n == name) {
            return Err(GraphFault::new(
                409,
                "ErrorFolderExists",
                "A folder with the specified name already exists.",
            ));
        }
        mailbox.folders.insert(id.clone(), name.to_owned());
        Ok(folder_json(&id, name))
    }

    fn record(&mut self, address: &str, folder: &str, contact: &str, props: Option<Vec<String>>) {
        self.seq += 1;
        let seq = self.seq;
        if let Ok(mailbox) = self.mailbox(address) {
            mailbox.changes.push(ChangeEntry {
                seq,
                folder: folder.to_owned(),
                contact: contact.to_owned(),
                props,
            });
        }
    }

    /// Creates a contact in a folder.
    pub fn create_contact(
        &mut self,
        address: &str,
        folder: &str,
        input: &Value,
        now: DateTime<Utc>,
    ) -> Result<(String, Value), GraphFault> {
        let mut fields = input
            .as_object()
            .cloned()
            .ok_or_else(|| GraphFault::bad_request("The body must be a JSON object."))?;
        check_limits(&fields)?;
        let extended = take_extended(&mut fields)?;
        let id = self.fresh_id("AAMkAD", 60);
        let change_key = self.fresh_id("EQAAAB", 16);
        let mailbox = self.mailbox(address)?;
        if !mailbox.folders.contains_key(folder) {
            return Err(GraphFault::new(
                404,
                "ErrorItemNotFound",
                "The specified folder could not be found.",
            ));
        }
        for key in [
            "id",
            "changeKey",
            "createdDateTime",
            "lastModifiedDateTime",
            "parentFolderId",
        ] {
            fields.remove(key);
        }
        fields.insert("id".into(), json!(id));
        fields.insert("createdDateTime".into(), json!(graph_time(now)));
        fields.insert("lastModifiedDateTime".into(), json!(graph_time(now)));
        fields.insert("changeKey".into(), json!(change_key));
        fields.insert("parentFolderId".into(), json!(folder));
        mailbox.contacts.insert(
            id.clone(),
            StoredContact {
                folder: folder.to_owned(),
                body: fields,
                extended,
            },
        );
        self.record(address, folder, &id, None);
        let body = self.contact_json(address, &id)?;
        Ok((folder.to_owned(), body))
    }

    /// Changes only the sent properties of a contact.
    pub fn update_contact(
        &mut self,
        address: &str,
        id: &str,
        input: &Value,
        now: DateTime<Utc>,
    ) -> Result<(String, Value), GraphFault> {
        let mut patch = input
            .as_object()
            .cloned()
            .ok_or_else(|| GraphFault::bad_request("The body must be a JSON object."))?;
        check_limits(&patch)?;
        let extended = take_extended(&mut patch)?;
        let change_key = self.fresh_id("EQAAAB", 16);
        let mailbox = self.mailbox(address)?;
        let contact = mailbox.contacts.get_mut(id).ok_or_else(not_found)?;
        let mut props = Vec::new();
        for (key, value) in patch {
            if matches!(
                key.as_str(),
                "id" | "changeKey" | "createdDateTime" | "lastModifiedDateTime" | "parentFolderId"
            ) {
                continue;
            }
            props.push(key.clone());
            contact.body.insert(key, value);
        }
        for (prop, value) in extended {
            contact
                .extended
                .retain(|(p, _)| !p.eq_ignore_ascii_case(&prop));
            contact.extended.push((prop, value));
        }
        contact.body.insert("changeKey".into(), json!(change_key));
        contact
            .body
            .insert("lastModifiedDateTime".into(), json!(graph_time(now)));
        let folder = contact.folder.clone();
        self.record(address, &folder, id, Some(props));
        Ok((folder, self.contact_json(address, id)?))
    }

    /// Deletes a contact.
    pub fn delete_contact(&mut self, address: &str, id: &str) -> Result<String, GraphFault> {
        let mailbox = self.mailbox(address)?;
        let contact = mailbox.contacts.remove(id).ok_or_else(not_found)?;
        self.record(address, &contact.folder, id, None);
        Ok(contact.folder)
    }

    /// A contact as Graph renders it: every v1.0 property, `null` or empty when unset.
    pub fn contact_json(&mut self, address: &str, id: &str) -> Result<Value, GraphFault> {
        let mailbox = self.mailbox(address)?;
        let contact = mailbox.contacts.get(id).ok_or_else(not_found)?;
        let mut body = contact_template();
        for (key, value) in &contact.body {
            body.insert(key.clone(), value.clone());
        }
        let change_key = body
            .get("changeKey")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        body.insert("@odata.etag".into(), json!(format!("W/\"{change_key}\"")));
        Ok(Value::Object(body))
    }
}

/// Every property of a v1.0 contact, unset.
fn contact_template() -> Map<String, Value> {
    let mut body = Map::new();
    for key in [
        "birthday",
        "fileAs",
        "displayName",
        "givenName",
        "initials",
        "middleName",
        "nickName",
        "surname",
        "title",
        "yomiGivenName",
        "yomiSurname",
        "yomiCompanyName",
        "generation",
        "jobTitle",
        "companyName",
        "department",
        "officeLocation",
        "profession",
        "businessHomePage",
        "assistantName",
        "manager",
        "mobilePhone",
        "spouseName",
        "personalNotes",
    ] {
        body.insert(key.into(), Value::Null);
    }
    for key in [
        "categories",
        "imAddresses",
        "homePhones",
        "businessPhones",
        "children",
        "emailAddresses",
    ] {
        body.insert(key.into(), json!([]));
    }
    for key in ["homeAddress", "businessAddress", "otherAddress"] {
        body.insert(key.into(), json!({}));
    }
    body
}

fn not_found() -> GraphFault {
    GraphFault::new(
        404,
        "ErrorItemNotFound",
        "The specified object was not found in the store.",
    )
}

/// A folder as Graph renders it.
pub(crate) fn folder_json(id: &str, name: &str) -> Value {
    json!({ "id": id, "displayName": name, "parentFolderId": "AQMkADdefaultcontacts" })
}

fn check_limits(fields: &Map<String, Value>) -> Result<(), GraphFault> {
    for (prop, max, name) in [
        ("emailAddresses", 3, "EmailAddresses"),
        ("businessPhones", 2, "BusinessPhones"),
        ("homePhones", 2, "HomePhones"),
    ] {
        let count = fields
            .get(prop)
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        if count > max {
            return Err(GraphFault::bad_request(format!(
                "The multi value property {name} has {count} entries, that exceeds the max allowed value of {max}."
            )));
        }
    }
    Ok(())
}

fn take_extended(fields: &mut Map<String, Value>) -> Result<Vec<(String, String)>, GraphFault> {
    let Some(list) = fields.remove("singleValueExtendedProperties") else {
        return Ok(Vec::new());
    };
    list.as_array()
        .ok_or_else(|| GraphFault::bad_request("singleValueExtendedProperties must be an array."))?
        .iter()
        .map(|p| match (p["id"].as_str(), p["value"].as_str()) {
            (Some(id), Some(value)) => Ok((id.to_owned(), value.to_owned())),
            _ => Err(GraphFault::bad_request(
                "An extended property needs an id and a value.",
            )),
        })
        .collect()
}
