//! Contact writes, shared by the REST API and the control handle: create, update and
//! soft delete, one at a time or as a batch with Pipeliner's rollback methods. Every
//! applied write takes the next space revision and `modified = now`, and produces the
//! webhook events (`Contact.Create|Update|OwnerChanged|Delete`) for the deliverer. With
//! normalise-on-create switched on, creates store normalised values.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::contact_model::{apply_write, blank, WriteKind};
use super::contact_render::render;
use super::core::Core;
use super::delivery::Delivery;
use super::envelope::ApiError;
use super::events::{events_for, Event};
use super::normalize::normalize_creates;
use super::state::{ContactRecord, SimState};

/// One contact write.
#[derive(Debug, Clone)]
pub(crate) enum ContactOp {
    /// Create from these fields.
    Create(Map<String, Value>),
    /// Update the contact with this id with these fields (an `id` inside a
    /// batch-modify item).
    Update(String, Map<String, Value>),
    /// Soft-delete the contact with this id.
    Delete(String),
    /// Bring back a soft-deleted contact (`batch-restore`).
    Restore(String),
}

/// The outcome of a batch of writes.
#[derive(Debug)]
pub(crate) struct WriteResult {
    /// Per item: the rendered contact, or why it failed.
    pub items: Vec<Result<Value, ApiError>>,
    /// Whether the successful items were saved (false after a rollback-all).
    pub committed: bool,
}

/// How a batch of writes is checked and committed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WriteOptions<'a> {
    /// `rollback-method=0`: one failing item saves nothing.
    pub rollback_all: bool,
    /// Webhooks whose `options.skip_keys` contain this key are not triggered.
    pub skip_key: Option<&'a str>,
    /// `validation-level=0`: updates must leave every required field filled; otherwise
    /// only the fields sent are checked.
    pub validate_all: bool,
}

/// Applies `ops` to `space_id`.
pub(crate) fn write_contacts(
    core: &Core,
    state: &mut SimState,
    space_id: &str,
    ops: Vec<ContactOp>,
    options: WriteOptions<'_>,
) -> Result<WriteResult, ApiError> {
    let WriteOptions {
        rollback_all,
        skip_key,
        validate_all,
    } = options;
    let update_kind = if validate_all {
        WriteKind::Update
    } else {
        WriteKind::UpdateSentOnly
    };
    let ops = if core.normalize_on_create() {
        normalize_creates(ops)
    } else {
        ops
    };
    let now = core.now();
    let base = core.space_base(space_id);
    let SimState { spaces, ids } = state;
    let space = spaces
        .get_mut(space_id)
        .ok_or_else(|| ApiError::not_found("Space not found."))?;
    let mut staged: BTreeMap<String, ContactRecord> = BTreeMap::new();
    let mut revision = space.revision;
    let mut outcomes: Vec<Result<Applied, ApiError>> = Vec::new();
    for op in ops {
        let outcome = (|| {
            let (mut contact, kind, input) = match &op {
                ContactOp::Create(input) => {
                    let (id, seq) = ids.fresh();
                    (blank(space, id, seq, now), WriteKind::Create, Some(input))
                }
                ContactOp::Update(id, input) => {
                    (existing(space, &staged, id)?, update_kind, Some(input))
                }
                ContactOp::Delete(id) => (existing(space, &staged, id)?, WriteKind::Update, None),
                ContactOp::Restore(id) => {
                    let mut c = deleted(space, &staged, id)?;
                    c.is_deleted = false;
                    (c, WriteKind::Update, None)
                }
            };
            let before = render(space, &base, &contact, &[]);
            let mut events = Vec::new();
            match input {
                Some(input) => {
                    let owner_changed = apply_write(space, ids, &mut contact, input, kind, now)?;
                    events.push(if kind == WriteKind::Create {
                        "Contact.Create"
                    } else {
                        "Contact.Update"
                    });
                    if owner_changed && kind != WriteKind::Create {
                        events.push("Contact.OwnerChanged");
                    }
                }
                None if matches!(op, ContactOp::Restore(_)) => events.push("Contact.Update"),
                None => {
                    contact.is_deleted = true;
                    events.push("Contact.Delete");
                }
            }
            revision += 1;
            contact.revision = revision;
            contact.modified = now;
            let after = render(space, &base, &contact, &[]);
            let changed = (kind != WriteKind::Create).then(|| changed_fields(&before, &after));
            let id = contact.id.clone();
            staged.insert(id.clone(), contact);
            Ok(Applied {
                id,
                events,
                changed,
            })
        })();
        outcomes.push(outcome);
    }
    let failed = outcomes.iter().any(Result::is_err);
    let committed = !(rollback_all && failed);
    let mut events: Vec<Event> = Vec::new();
    if committed {
        space.revision = revision;
        for (id, contact) in staged.iter() {
            space.contacts.insert(id.clone(), contact.clone());
        }
    }
    let items = outcomes
        .into_iter()
        .map(|o| {
            o.map(|applied| {
                let stored = staged.get(&applied.id);
                let rendered = stored
                    .map(|c| render(space, &base, c, &[]))
                    .unwrap_or(Value::Null);
                if committed {
                    let audience = stored.and_then(audience);
                    for name in applied.events {
                        events.push(Event {
                            name,
                            entity: rendered.clone(),
                            audience: audience.clone(),
                            changed: applied.changed.clone(),
                        });
                    }
                }
                rendered
            })
        })
        .collect();
    let deliveries: Vec<Delivery> = events_for(space, &base, &events, skip_key, now);
    core.dispatch(deliveries);
    Ok(WriteResult { items, committed })
}

fn existing(
    space: &super::state::Space,
    staged: &BTreeMap<String, ContactRecord>,
    id: &str,
) -> Result<ContactRecord, ApiError> {
    staged
        .get(id)
        .or_else(|| space.contacts.get(id))
        .filter(|c| !c.is_deleted)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("Contact '{id}' not found.")))
}

fn deleted(
    space: &super::state::Space,
    staged: &BTreeMap<String, ContactRecord>,
    id: &str,
) -> Result<ContactRecord, ApiError> {
    staged
        .get(id)
        .or_else(|| space.contacts.get(id))
        .filter(|c| c.is_deleted)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("Deleted Contact '{id}' not found.")))
}

/// What one applied item produced.
struct Applied {
    id: String,
    events: Vec<&'static str>,
    /// Fields an update changed (`None` for creates).
    changed: Option<Vec<String>>,
}

/// API names whose rendered values differ, bookkeeping fields aside.
fn changed_fields(before: &Value, after: &Value) -> Vec<String> {
    const BOOKKEEPING: [&str; 3] = ["modified", "modified_by_user", "revision"];
    let (Some(before), Some(after)) = (before.as_object(), after.as_object()) else {
        return Vec::new();
    };
    after
        .iter()
        .filter(|(k, v)| !BOOKKEEPING.contains(&k.as_str()) && before.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .collect()
}

/// Who may see a private contact (owner and users it is shared with); `None` when
/// the share mode lets everyone in the space see it.
fn audience(c: &ContactRecord) -> Option<Vec<String>> {
    (c.share_mode == 1).then(|| {
        std::iter::once(c.owner_id.clone())
            .chain(c.sharing.iter().map(|s| s.client_id.clone()))
            .collect()
    })
}
