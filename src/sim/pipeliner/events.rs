//! Which webhooks an event reaches and what they are sent: subscribed events, skip
//! keys, the webhook client's visibility of private contacts, `options.entity.<Entity>`
//! (`filter`/`filter-op`, `on-field-change`, `load-only`), the JSON array body
//! (`webhook`, `event`, `event_time`, `team_space_id`, `entity`) and chunking by
//! `options.chunk_size`.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::delivery::Delivery;
use super::query::{load_only, matches, Filter};
use super::state::{format_time, Space, WebhookRecord};
use super::webhooks::render_webhook;

/// Largest (and default) number of events in one delivery.
const MAX_CHUNK: usize = 100;

/// One change, as webhooks see it.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    /// E.g. `Contact.Update`.
    pub name: &'static str,
    /// The rendered entity.
    pub entity: Value,
    /// Users allowed to see a private entity; `None` when everyone may.
    pub audience: Option<Vec<String>>,
    /// Fields an update changed (`None` for creates and deletes).
    pub changed: Option<Vec<String>>,
}

/// The deliveries that `events` cause in `space`.
pub(crate) fn events_for(
    space: &Space,
    base: &str,
    events: &[Event],
    skip_key: Option<&str>,
    now: DateTime<Utc>,
) -> Vec<Delivery> {
    let mut out = Vec::new();
    if events.is_empty() {
        return out;
    }
    let mut hooks: Vec<_> = space.webhooks.values().filter(|w| !w.is_deleted).collect();
    hooks.sort_by_key(|w| w.seq);
    for hook in hooks {
        if skip_key.is_some_and(|k| hook.skip_keys().contains(&k)) {
            continue;
        }
        let rendered_hook = render_webhook(base, hook);
        let payloads: Vec<Value> = events
            .iter()
            .filter(|e| hook.listens_to(e.name) && wants(hook, e))
            .map(|e| {
                json!({
                    "webhook": rendered_hook,
                    "event": e.name,
                    "event_time": format_time(now),
                    "team_space_id": space.id,
                    "entity": shape(hook, e),
                    "related_entity": null,
                })
            })
            .collect();
        let chunk = hook
            .options
            .get("chunk_size")
            .and_then(Value::as_u64)
            .map_or(MAX_CHUNK, |n| (n as usize).clamp(1, MAX_CHUNK));
        for part in payloads.chunks(chunk) {
            out.push(Delivery {
                webhook_id: hook.id.clone(),
                url: hook.url.clone(),
                signature: hook.signature.clone(),
                insecure_ssl: hook.insecure_ssl,
                event_count: part.len(),
                body: Value::Array(part.to_vec()).to_string().into_bytes(),
            });
        }
    }
    out
}

/// `options.entity.<Entity>` of a webhook, for the entity an event is about.
fn entity_options<'a>(hook: &'a WebhookRecord, event: &str) -> Option<&'a Value> {
    let entity = event.split('.').next()?;
    hook.options.get("entity")?.get(entity)
}

/// Whether a webhook is told about an event: the webhook's client may see the entity,
/// the entity passes `filter`/`filter-op`, and an update touched an `on-field-change`
/// field.
fn wants(hook: &WebhookRecord, e: &Event) -> bool {
    if let (Some(client), Some(audience)) = (&hook.client_id, &e.audience) {
        if !audience.contains(client) {
            return false;
        }
    }
    let Some(opts) = entity_options(hook, e.name) else {
        return true;
    };
    if let (Some(watch), Some(changed)) = (
        opts.get("on-field-change").and_then(Value::as_array),
        &e.changed,
    ) {
        if !watch
            .iter()
            .filter_map(Value::as_str)
            .any(|f| changed.iter().any(|c| c == f))
        {
            return false;
        }
    }
    let ops = opts.get("filter-op");
    opts.get("filter")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .all(|(field, wanted)| {
            let op = ops
                .and_then(|o| o.get(field))
                .and_then(Value::as_str)
                .unwrap_or("eq");
            let have = e.entity.get(field).cloned().unwrap_or(Value::Null);
            let values: Vec<String> = match wanted {
                Value::Array(items) => items.iter().map(plain).collect(),
                other => vec![plain(other)],
            };
            values.into_iter().any(|value| {
                let filter = Filter {
                    field: field.clone(),
                    op: op.to_owned(),
                    value,
                };
                matches(&have, &filter).unwrap_or(false)
            })
        })
}

fn plain(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

/// Applies `options.entity.<Entity>.load-only` to the entity sent.
fn shape(hook: &WebhookRecord, e: &Event) -> Value {
    let fields: Option<Vec<String>> = entity_options(hook, e.name)
        .and_then(|o| o.get("load-only"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        });
    load_only(e.entity.clone(), fields.as_ref())
}
