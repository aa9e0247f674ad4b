//! The per-user journal: what the sync did and why, newest kept, oldest dropped past a
//! bound.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::codec::{parse_user_seq_key, user_key, user_seq_key, Versioned};
use super::error::StoreResult;
use super::Store;
use crate::ids::{SpaceId, UserId};

/// One journal entry.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug, PartialEq)]
pub struct JournalEvent {
    /// Position in the user's journal; increases with every entry.
    pub seq: u64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// A stable snake_case kind, e.g. `activated`, `conflict`, `record_error`.
    pub kind: String,
    /// A human sentence.
    pub message: String,
    /// Structured details (ids, both values of a conflict).
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub details: serde_json::Value,
}

impl Versioned for JournalEvent {
    const WHAT: &'static str = "journal event";
    const VERSION: u8 = 1;
}

impl Store {
    /// Appends an event to a user's journal, dropping the oldest past the bound.
    pub fn append_journal(
        &self,
        space: &SpaceId,
        user: &UserId,
        at: DateTime<Utc>,
        kind: &str,
        message: String,
        details: serde_json::Value,
    ) -> StoreResult<JournalEvent> {
        let event = JournalEvent {
            seq: self.db.generate_id()?,
            at,
            kind: kind.to_owned(),
            message,
            details,
        };
        self.journal
            .put(&user_seq_key(space, user, event.seq), &event)?;
        let prefix = user_key(space, user);
        let keys = self.journal.keys_with_prefix(&prefix)?;
        let excess = keys.len().saturating_sub(self.journal_limit);
        for key in &keys[..excess] {
            self.journal.remove(key)?;
        }
        Ok(event)
    }

    /// Up to `limit` events of a user, oldest first, after sequence number `after`.
    pub fn journal(
        &self,
        space: &SpaceId,
        user: &UserId,
        after: Option<u64>,
        limit: usize,
    ) -> StoreResult<Vec<JournalEvent>> {
        let after_key = after.map(|seq| user_seq_key(space, user, seq));
        Ok(self
            .journal
            .page(&user_key(space, user), after_key.as_deref(), limit)?
            .into_iter()
            .filter(|(k, _)| parse_user_seq_key(k).is_some())
            .map(|(_, e)| e)
            .collect())
    }

    /// Drops a user's whole journal.
    pub(super) fn clear_journal(&self, space: &SpaceId, user: &UserId) -> StoreResult<()> {
        for key in self.journal.keys_with_prefix(&user_key(space, user))? {
            self.journal.remove(&key)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::ids::{SpaceId, UserId};
    use crate::store::test_store;

    #[test]
    fn journal_is_bounded_and_ordered() {
        let (_dir, mut store) = test_store();
        store.journal_limit = 3;
        let space = SpaceId::parse("acme").unwrap();
        let user = UserId::parse("jane").unwrap();
        let at = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
        for i in 0..5 {
            store
                .append_journal(
                    &space,
                    &user,
                    at,
                    "note",
                    format!("n{i}"),
                    serde_json::Value::Null,
                )
                .unwrap();
        }
        let events = store.journal(&space, &user, None, 10).unwrap();
        let messages: Vec<_> = events.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(messages, ["n2", "n3", "n4"]);
        let after = store
            .journal(&space, &user, Some(events[0].seq), 10)
            .unwrap();
        assert_eq!(after.len(), 2);
        store.clear_journal(&space, &user).unwrap();
        assert!(store.journal(&space, &user, None, 10).unwrap().is_empty());
    }
}
