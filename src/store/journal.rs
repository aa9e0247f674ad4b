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

/// An event to journal, before it gets its sequence number.
#[derive(Clone, Debug)]
pub struct NewEvent {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// A stable snake_case kind.
    pub kind: String,
    /// A human sentence.
    pub message: String,
    /// Structured details.
    pub details: serde_json::Value,
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
        let event = self.put_event(
            space,
            user,
            NewEvent {
                at,
                kind: kind.to_owned(),
                message,
                details,
            },
        )?;
        self.trim_journal(space, user)?;
        Ok(event)
    }

    /// Appends many events in order, then drops the oldest past the bound once (a cycle
    /// that journals thousands of writes trims once, not per event). Of more events than
    /// the bound holds only the newest are written: the rest would be dropped at once.
    /// Returns how many events were journaled, written or not.
    pub fn append_journal_all(
        &self,
        space: &SpaceId,
        user: &UserId,
        events: Vec<NewEvent>,
    ) -> StoreResult<usize> {
        let journaled = events.len();
        if journaled == 0 {
            return Ok(0);
        }
        for event in events
            .into_iter()
            .skip(journaled.saturating_sub(self.journal_limit))
        {
            self.put_event(space, user, event)?;
        }
        self.trim_journal(space, user)?;
        Ok(journaled)
    }

    /// How many events a user's journal keeps; older ones are dropped.
    pub fn journal_limit(&self) -> usize {
        self.journal_limit
    }

    fn put_event(
        &self,
        space: &SpaceId,
        user: &UserId,
        event: NewEvent,
    ) -> StoreResult<JournalEvent> {
        let event = JournalEvent {
            seq: self.db.generate_id()?,
            at: event.at,
            kind: event.kind,
            message: event.message,
            details: event.details,
        };
        self.journal
            .put(&user_seq_key(space, user, event.seq), &event)?;
        Ok(event)
    }

    /// Drops a user's oldest events beyond the bound: walks back over the newest
    /// `journal_limit` keys only, then removes what lies before them.
    fn trim_journal(&self, space: &SpaceId, user: &UserId) -> StoreResult<()> {
        let prefix = user_key(space, user);
        let Some(boundary) = self
            .journal
            .keys_with_prefix_newest_first(&prefix)
            .nth(self.journal_limit)
            .transpose()?
        else {
            return Ok(());
        };
        for key in self.journal.keys_up_to(&prefix, &boundary)? {
            self.journal.remove(&key)?;
        }
        Ok(())
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
    use super::NewEvent;
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

    #[test]
    fn a_batch_is_appended_in_order_and_trimmed_once() {
        let (_dir, mut store) = test_store();
        store.journal_limit = 3;
        let space = SpaceId::parse("acme").unwrap();
        let (jane, joe) = (
            UserId::parse("jane").unwrap(),
            UserId::parse("joe").unwrap(),
        );
        let event = |i: usize| NewEvent {
            at: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
            kind: "note".into(),
            message: format!("n{i}"),
            details: serde_json::Value::Null,
        };
        store
            .append_journal_all(&space, &joe, (0..2).map(event).collect())
            .unwrap();
        let written = store
            .append_journal_all(&space, &jane, (0..5).map(event).collect())
            .unwrap();
        assert_eq!(written, 5);
        let messages = |user| -> Vec<String> {
            store
                .journal(&space, user, None, 10)
                .unwrap()
                .into_iter()
                .map(|e| e.message)
                .collect()
        };
        assert_eq!(messages(&jane), ["n2", "n3", "n4"]);
        assert_eq!(
            messages(&joe),
            ["n0", "n1"],
            "another user's journal is untouched"
        );
    }
}
