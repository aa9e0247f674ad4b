//! Delta rounds on a contacts folder: a full enumeration without a token, the changes
//! since a token otherwise; pages of `odata.maxpagesize` joined by `@odata.nextLink`, a
//! final `@odata.deltaLink`, deletions as `@removed`, updates possibly partial or repeated,
//! and 410 `syncStateNotFound` for a token invalidated on purpose.

use rand::Rng;
use serde_json::{json, Map, Value};

use super::errors::GraphFault;
use super::state::{DeltaCursor, PendingRound, State};

fn removed(id: &str) -> Value {
    json!({ "@odata.type": "#microsoft.graph.contact", "id": id, "@removed": { "reason": "deleted" } })
}

fn expired() -> GraphFault {
    GraphFault::new(
        410,
        "syncStateNotFound",
        "The sync state generation is not found. Please restart the sync without a token.",
    )
}

impl State {
    /// The rows of a round for `folder` since change `since` (`None`: everything now there).
    fn round_rows(
        &mut self,
        address: &str,
        folder: &str,
        since: Option<u64>,
    ) -> Result<Vec<Value>, GraphFault> {
        let (partial, duplicates) = (self.settings.partial_updates, self.settings.duplicates);
        let mailbox = self.mailbox(address)?.clone();
        let mut rows = Vec::new();
        let Some(since) = since else {
            for (id, contact) in &mailbox.contacts {
                if contact.folder == folder {
                    rows.push(self.contact_json(address, id)?);
                }
            }
            return Ok(rows);
        };
        let mut order: Vec<String> = Vec::new();
        let mut props: Map<String, Value> = Map::new();
        let mut whole: Vec<String> = Vec::new();
        for change in mailbox
            .changes
            .iter()
            .filter(|c| c.seq > since && c.folder == folder)
        {
            if !order.contains(&change.contact) {
                order.push(change.contact.clone());
            }
            match &change.props {
                Some(changed) => {
                    let entry = props
                        .entry(change.contact.clone())
                        .or_insert_with(|| json!([]));
                    if let Some(list) = entry.as_array_mut() {
                        list.extend(changed.iter().map(|p| json!(p)));
                    }
                }
                None => whole.push(change.contact.clone()),
            }
        }
        for id in order {
            let Some(contact) = mailbox.contacts.get(&id).filter(|c| c.folder == folder) else {
                rows.push(removed(&id));
                continue;
            };
            let full = self.contact_json(address, &id)?;
            let row = if partial && !whole.contains(&id) {
                let mut row = Map::new();
                row.insert("@odata.type".into(), json!("#microsoft.graph.contact"));
                for key in ["id", "changeKey", "lastModifiedDateTime", "@odata.etag"] {
                    if let Some(v) = full.get(key) {
                        row.insert(key.into(), v.clone());
                    }
                }
                for p in props
                    .get(&id)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(name) = p.as_str() {
                        row.insert(
                            name.into(),
                            contact.body.get(name).cloned().unwrap_or(Value::Null),
                        );
                    }
                }
                Value::Object(row)
            } else {
                full
            };
            if duplicates && self.rng.gen_bool(0.2) {
                rows.push(row.clone());
            }
            rows.push(row);
        }
        Ok(rows)
    }

    /// One page of a delta round. `link_base` is the delta URL without a query.
    pub fn delta_page(
        &mut self,
        address: &str,
        folder: &str,
        query: &std::collections::HashMap<String, String>,
        page_size: usize,
        link_base: &str,
    ) -> Result<Value, GraphFault> {
        let key = address.to_ascii_lowercase();
        let generation = self.mailbox(address)?.generation;
        if !self.mailbox(address)?.folders.contains_key(folder) {
            return Err(GraphFault::new(
                404,
                "ErrorItemNotFound",
                "The specified folder could not be found.",
            ));
        }
        let mut round = if let Some(skip) = query.get("$skiptoken") {
            let round = self.rounds.remove(skip).ok_or_else(expired)?;
            if round.generation != generation || round.mailbox != key || round.folder != folder {
                return Err(expired());
            }
            round
        } else {
            let since = match query.get("$deltatoken") {
                Some(token) => {
                    let cursor = self.cursors.get(token).cloned().ok_or_else(expired)?;
                    if cursor.generation != generation
                        || cursor.mailbox != key
                        || cursor.folder != folder
                    {
                        return Err(expired());
                    }
                    Some(cursor.since)
                }
                None => None,
            };
            let end = self.seq;
            PendingRound {
                items: self.round_rows(address, folder, since)?,
                mailbox: key.clone(),
                folder: folder.to_owned(),
                offset: 0,
                end,
                generation,
            }
        };
        let page: Vec<Value> = round
            .items
            .iter()
            .skip(round.offset)
            .take(page_size.max(1))
            .cloned()
            .collect();
        round.offset += page.len();
        let mut answer =
            json!({ "@odata.context": "$metadata#Collection(contact)", "value": page });
        if round.offset < round.items.len() {
            let token = self.fresh_id("skip", 24);
            answer["@odata.nextLink"] = json!(format!("{link_base}?$skiptoken={token}"));
            self.rounds.insert(token, round);
        } else {
            let token = self.fresh_id("delta", 24);
            answer["@odata.deltaLink"] = json!(format!("{link_base}?$deltatoken={token}"));
            self.cursors.insert(
                token,
                DeltaCursor {
                    mailbox: key,
                    folder: folder.to_owned(),
                    since: round.end,
                    generation,
                },
            );
        }
        Ok(answer)
    }
}
