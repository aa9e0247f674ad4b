//! The typed control handle: seed spaces, users (Clients), required and custom fields and
//! contacts; create, edit, share and delete contacts as a person would (webhooks fire,
//! `modified` and `revision` move); read state; set the fault plan and the
//! normalise-on-create switch. The `/_sim/pipeliner` HTTP routes call the same methods.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::clients::render_client;
use super::contact_render::render;
use super::core::{lock, Core};
use super::delivery::DeliveryRecord;
use super::envelope::ApiError;
use super::fields::standard_fields;
use super::seeds::{ClientSeed, ControlError, FieldSeed, SpaceInfo, SpaceSeed};
use super::state::{ClientRecord, FieldRecord, Space};
use super::webhooks::render_webhook;
use super::writes::{write_contacts, ContactOp, WriteOptions};
use crate::sim::faults::{DeliveryFaultRule, FaultPlan, FaultRule};

/// Handle to a simulator's state; cheap to clone, usable before and after `start`.
#[derive(Debug, Clone)]
pub struct PipelinerControl {
    pub(crate) core: Arc<Core>,
}

type Result<T> = std::result::Result<T, ControlError>;

fn with_space<T>(
    core: &Core,
    space_id: &str,
    f: impl FnOnce(&mut Space, &mut super::state::IdGen) -> Result<T>,
) -> Result<T> {
    let mut state = core.state();
    let state = &mut *state;
    let space = state
        .spaces
        .get_mut(space_id)
        .ok_or_else(|| ControlError::UnknownSpace(space_id.to_owned()))?;
    f(space, &mut state.ids)
}

impl PipelinerControl {
    /// Creates a space with its credentials, sales unit and standard Contact fields.
    pub fn create_space(&self, seed: SpaceSeed) -> Result<SpaceInfo> {
        let mut state = self.core.state();
        let state = &mut *state;
        let id = match seed.id {
            Some(id) => id,
            None => state.ids.new_id(),
        };
        if state.spaces.contains_key(&id) {
            return Err(ControlError::SpaceExists(id));
        }
        let fields = standard_fields(&mut state.ids)
            .into_iter()
            .map(|f| (f.id.clone(), f))
            .collect();
        let space = Space {
            id: id.clone(),
            name: seed.name.clone(),
            api_key: seed.api_key.clone(),
            api_secret: seed.api_secret.clone(),
            unit_id: state.ids.new_id(),
            contact_type_id: state.ids.new_id(),
            master_right_id: state.ids.new_id(),
            revision: 0,
            clients: Default::default(),
            fields,
            contacts: Default::default(),
            webhooks: Default::default(),
        };
        let info = SpaceInfo {
            id: id.clone(),
            name: seed.name,
            api_key: seed.api_key,
            api_secret: seed.api_secret,
            unit_id: space.unit_id.clone(),
        };
        state.spaces.insert(id, space);
        Ok(info)
    }

    /// The space's id, name, credentials and sales unit.
    pub fn space(&self, space_id: &str) -> Result<SpaceInfo> {
        with_space(&self.core, space_id, |space, _| {
            Ok(SpaceInfo {
                id: space.id.clone(),
                name: space.name.clone(),
                api_key: space.api_key.clone(),
                api_secret: space.api_secret.clone(),
                unit_id: space.unit_id.clone(),
            })
        })
    }

    /// Adds a user; returns it as the REST API renders a `Client`.
    pub fn add_client(&self, space_id: &str, seed: ClientSeed) -> Result<Value> {
        let now = self.core.now();
        let base = self.core.space_base(space_id);
        with_space(&self.core, space_id, |space, ids| {
            let (id, seq) = ids.fresh();
            let client = ClientRecord {
                id: id.clone(),
                seq,
                email: seed.email,
                first_name: seed.first_name,
                last_name: seed.last_name,
                created: now,
            };
            let rendered = render_client(space, &base, &client);
            space.clients.insert(id, client);
            Ok(rendered)
        })
    }

    /// The space's users (Clients) in the order they were added, as the REST API renders
    /// them: their `id` is what a contact's `owner_id` and a share's `client_id` take.
    pub fn clients(&self, space_id: &str) -> Result<Vec<Value>> {
        let base = self.core.space_base(space_id);
        with_space(&self.core, space_id, |space, _| {
            let mut list: Vec<_> = space.clients.values().collect();
            list.sort_by_key(|c| c.seq);
            Ok(list
                .into_iter()
                .map(|c| render_client(space, &base, c))
                .collect())
        })
    }

    /// Adds a custom field, or changes whether an existing field is required.
    pub fn set_field(&self, space_id: &str, seed: FieldSeed) -> Result<Value> {
        with_space(&self.core, space_id, |space, ids| {
            if let Some(f) = space
                .fields
                .values_mut()
                .find(|f| f.api_name == seed.api_name)
            {
                f.system_required = seed.required || f.api_name == "owner_id";
                return Ok(super::fields::render_field(f));
            }
            if !seed.api_name.starts_with("cf_") {
                return Err(ControlError::Rejected(ApiError::invalid(
                    "A new custom field's api_name must start with 'cf_'.",
                )));
            }
            let (id, seq) = ids.fresh();
            let field = FieldRecord {
                id: id.clone(),
                seq,
                name: seed.name.unwrap_or_else(|| seed.api_name.clone()),
                api_name: seed.api_name,
                type_id: seed.type_id.unwrap_or_else(|| "input".into()),
                system_required: seed.required,
                custom: true,
            };
            let rendered = super::fields::render_field(&field);
            space.fields.insert(id, field);
            Ok(rendered)
        })
    }

    fn write(&self, space_id: &str, op: ContactOp) -> Result<Value> {
        let mut state = self.core.state();
        if !state.spaces.contains_key(space_id) {
            return Err(ControlError::UnknownSpace(space_id.to_owned()));
        }
        // A person edits through Pipeliner's forms, which check what they change.
        let options = WriteOptions {
            rollback_all: true,
            skip_key: None,
            validate_all: false,
        };
        let mut result = write_contacts(&self.core, &mut state, space_id, vec![op], options)
            .map_err(ControlError::Rejected)?;
        result
            .items
            .pop()
            .unwrap_or_else(|| Err(ApiError::invalid("Nothing to write.")))
            .map_err(ControlError::Rejected)
    }

    /// Creates a contact as a person would (fires `Contact.Create`). `fields` take the
    /// REST names (`owner_id`, `first_name`, `email1`, `cf_…`, `sharing_clients`, …).
    pub fn create_contact(&self, space_id: &str, fields: Map<String, Value>) -> Result<Value> {
        self.write(space_id, ContactOp::Create(fields))
    }

    /// Edits a contact as a person would (fires `Contact.Update`).
    pub fn update_contact(
        &self,
        space_id: &str,
        id: &str,
        fields: Map<String, Value>,
    ) -> Result<Value> {
        self.write(space_id, ContactOp::Update(id.to_owned(), fields))
    }

    /// Soft-deletes a contact as a person would (fires `Contact.Delete`).
    pub fn delete_contact(&self, space_id: &str, id: &str) -> Result<Value> {
        self.write(space_id, ContactOp::Delete(id.to_owned()))
    }

    /// Restores a soft-deleted contact (fires `Contact.Update`).
    pub fn restore_contact(&self, space_id: &str, id: &str) -> Result<Value> {
        self.write(space_id, ContactOp::Restore(id.to_owned()))
    }

    /// Shares a contact with a user, role 1 (watcher) or 2 (editor), replacing any
    /// earlier share with that user (fires `Contact.Update`).
    pub fn share_contact(
        &self,
        space_id: &str,
        id: &str,
        client_id: &str,
        role: i64,
    ) -> Result<Value> {
        let mut shares: Vec<Value> = with_space(&self.core, space_id, |space, _| {
            let contact = space.contacts.get(id).ok_or_else(|| {
                ControlError::Rejected(ApiError::not_found(format!("Contact '{id}' not found.")))
            })?;
            Ok(contact
                .sharing
                .iter()
                .filter(|s| s.client_id != client_id)
                .map(|s| json!({"client_id": s.client_id, "role": s.role}))
                .collect())
        })?;
        shares.push(json!({"client_id": client_id, "role": role}));
        let mut fields = Map::new();
        fields.insert("sharing_clients".into(), Value::Array(shares));
        self.update_contact(space_id, id, fields)
    }

    /// One contact as the REST API renders it, deleted ones included.
    pub fn contact(&self, space_id: &str, id: &str) -> Result<Option<Value>> {
        let base = self.core.space_base(space_id);
        with_space(&self.core, space_id, |space, _| {
            Ok(space.contacts.get(id).map(|c| render(space, &base, c, &[])))
        })
    }

    /// All contacts in creation order, as the REST API renders them.
    pub fn contacts(&self, space_id: &str, include_deleted: bool) -> Result<Vec<Value>> {
        let base = self.core.space_base(space_id);
        with_space(&self.core, space_id, |space, _| {
            let mut list: Vec<_> = space
                .contacts
                .values()
                .filter(|c| include_deleted || !c.is_deleted)
                .collect();
            list.sort_by_key(|c| c.seq);
            Ok(list
                .into_iter()
                .map(|c| render(space, &base, c, &[]))
                .collect())
        })
    }

    /// Registered (not deleted) webhooks, as the REST API renders them.
    pub fn webhooks(&self, space_id: &str) -> Result<Vec<Value>> {
        let base = self.core.space_base(space_id);
        with_space(&self.core, space_id, |space, _| {
            let mut list: Vec<_> = space.webhooks.values().filter(|w| !w.is_deleted).collect();
            list.sort_by_key(|w| w.seq);
            Ok(list.into_iter().map(|w| render_webhook(&base, w)).collect())
        })
    }

    /// REST requests served per route (`contacts.list`, `contacts.batch_modify`, …), with
    /// the 429s given counted under `throttled`.
    pub fn request_counts(&self) -> std::collections::BTreeMap<String, u64> {
        lock(&self.core.requests).clone()
    }

    /// What happened to every webhook delivery so far.
    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.core.delivery_log()
    }

    /// The active fault plan (with the remaining counts of burst rules).
    pub fn faults(&self) -> FaultPlan {
        lock(&self.core.faults).plan.clone()
    }

    /// Replaces the fault plan; decisions restart, so a plan replays identically.
    pub fn set_faults(&self, plan: FaultPlan) {
        lock(&self.core.faults).set(plan);
    }

    /// Appends one REST fault rule.
    pub fn add_fault(&self, rule: FaultRule) {
        lock(&self.core.faults).plan.rules.push(rule);
    }

    /// Appends one webhook-delivery fault rule.
    pub fn add_delivery_fault(&self, rule: DeliveryFaultRule) {
        lock(&self.core.faults).plan.deliveries.push(rule);
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.set_faults(FaultPlan::default());
    }

    /// Switches normalising creates on or off (off by default), as real Pipeliner may
    /// store values: from then on every create (`POST /entities/Contacts`, the creates in
    /// `batch-modify`, and [`create_contact`](Self::create_contact)) stores text fields
    /// trimmed with inner whitespace collapsed, and `phone1`..`phone5` as a leading `+`
    /// (when sent) followed by the digits only. Updates are stored as sent.
    pub fn set_normalize_on_create(&self, enabled: bool) {
        self.core.set_normalize_on_create(enabled);
    }

    /// Whether creates store normalised values (see
    /// [`set_normalize_on_create`](Self::set_normalize_on_create)).
    pub fn normalize_on_create(&self) -> bool {
        self.core.normalize_on_create()
    }

    /// The REST base of a space: `<service_url>/api/v100/rest/spaces/<id>`.
    pub fn space_url(&self, space_id: &str) -> String {
        self.core.space_base(space_id)
    }
}
