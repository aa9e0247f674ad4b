//! Contact links: which Exchange contact is paired with which Pipeliner contact, for a
//! user. The forward tree is keyed by Exchange id, the inverse by CRM id; both are written
//! in one transaction so they never disagree.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionalTree};
use sled::Transactional;

use super::codec::{decode, encode, parse_user_item_key, user_item_key, user_key, Versioned};
use super::error::{StoreError, StoreResult};
use super::Store;
use crate::ids::{SpaceId, UserId};

/// A pair of contacts kept in sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkRecord {
    /// The Exchange contact's immutable id.
    pub exchange_id: String,
    /// The Pipeliner contact's id.
    pub crm_id: String,
    /// When the pair was linked.
    pub linked_at: DateTime<Utc>,
    /// Sync state the engine keeps with the pair (last synced snapshot, change keys).
    #[serde(default)]
    pub state: LinkStateJson,
}

/// The engine's state of a pair as the JSON it was written as: the store keeps it without
/// interpreting it, and without building a `serde_json::Value` on the way in or out.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LinkStateJson(Box<serde_json::value::RawValue>);

impl LinkStateJson {
    /// The JSON of `value`.
    pub fn of<T: Serialize>(value: &T) -> Result<Self, serde_json::Error> {
        serde_json::value::to_raw_value(value).map(Self)
    }

    /// Reads the state back as `T`.
    pub fn read<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.0.get())
    }

    /// The JSON text.
    pub fn json(&self) -> &str {
        self.0.get()
    }
}

impl Default for LinkStateJson {
    /// `null`: no state kept.
    fn default() -> Self {
        Self::of(&()).unwrap_or_else(|_| unreachable!("null always serialises"))
    }
}

impl PartialEq for LinkStateJson {
    fn eq(&self, other: &Self) -> bool {
        self.json() == other.json()
    }
}

impl Versioned for LinkRecord {
    const WHAT: &'static str = "link";
    const VERSION: u8 = 1;
}

type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

fn abort(err: StoreError) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(err)
}

/// Removes the forward entry at `forward_key` and its inverse, inside a transaction.
fn unlink_forward(
    forward: &TransactionalTree,
    inverse: &TransactionalTree,
    space: &SpaceId,
    user: &UserId,
    forward_key: &[u8],
) -> TxResult<Option<LinkRecord>> {
    let Some(bytes) = forward.remove(forward_key)? else {
        return Ok(None);
    };
    let old: LinkRecord = decode(&bytes).map_err(abort)?;
    inverse.remove(user_item_key(space, user, &old.crm_id))?;
    Ok(Some(old))
}

/// One change to a user's links; a cycle's changes are applied together.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkOp {
    /// Store the link, replacing any link either contact was part of.
    Put(LinkRecord),
    /// Remove the link of this Exchange contact, if any.
    Remove(String),
}

/// Stores `link` (already encoded) inside a transaction, unlinking whatever either of its
/// contacts was paired with before.
fn put_in(
    forward: &TransactionalTree,
    inverse: &TransactionalTree,
    space: &SpaceId,
    user: &UserId,
    link: &LinkRecord,
    encoded: &[u8],
) -> TxResult<()> {
    let forward_key = user_item_key(space, user, &link.exchange_id);
    let inverse_key = user_item_key(space, user, &link.crm_id);
    unlink_forward(forward, inverse, space, user, &forward_key)?;
    if let Some(other) = inverse.get(&inverse_key)? {
        let other = String::from_utf8_lossy(&other).into_owned();
        unlink_forward(
            forward,
            inverse,
            space,
            user,
            &user_item_key(space, user, &other),
        )?;
    }
    forward.insert(forward_key.as_slice(), encoded)?;
    inverse.insert(inverse_key.as_slice(), link.exchange_id.as_bytes())?;
    Ok(())
}

impl Store {
    /// Stores a link, replacing any link either contact was part of.
    pub fn put_link(&self, space: &SpaceId, user: &UserId, link: &LinkRecord) -> StoreResult<()> {
        self.apply_link_ops(
            space,
            user,
            std::slice::from_ref(&LinkOp::Put(link.clone())),
        )
    }

    /// Applies `ops` in order, all in one transaction: both indexes change together, and
    /// a cycle that links thousands of pairs pays for one transaction, not thousands.
    pub fn apply_link_ops(
        &self,
        space: &SpaceId,
        user: &UserId,
        ops: &[LinkOp],
    ) -> StoreResult<()> {
        if ops.is_empty() {
            return Ok(());
        }
        let encoded = ops
            .iter()
            .map(|op| match op {
                LinkOp::Put(link) => encode(link),
                LinkOp::Remove(_) => Ok(Vec::new()),
            })
            .collect::<StoreResult<Vec<_>>>()?;
        (self.links_by_exchange.raw(), &self.links_by_crm)
            .transaction(|(forward, inverse)| {
                for (op, bytes) in ops.iter().zip(&encoded) {
                    match op {
                        LinkOp::Put(link) => put_in(forward, inverse, space, user, link, bytes)?,
                        LinkOp::Remove(exchange_id) => {
                            let key = user_item_key(space, user, exchange_id);
                            unlink_forward(forward, inverse, space, user, &key)?;
                        }
                    }
                }
                Ok(())
            })
            .map_err(StoreError::from)
    }

    /// The link of an Exchange contact.
    pub fn link_by_exchange_id(
        &self,
        space: &SpaceId,
        user: &UserId,
        exchange_id: &str,
    ) -> StoreResult<Option<LinkRecord>> {
        self.links_by_exchange
            .get(&user_item_key(space, user, exchange_id))
    }

    /// The link of a Pipeliner contact.
    pub fn link_by_crm_id(
        &self,
        space: &SpaceId,
        user: &UserId,
        crm_id: &str,
    ) -> StoreResult<Option<LinkRecord>> {
        match self.links_by_crm.get(user_item_key(space, user, crm_id))? {
            Some(exchange_id) => {
                self.link_by_exchange_id(space, user, &String::from_utf8_lossy(&exchange_id))
            }
            None => Ok(None),
        }
    }

    /// Which of `crm_ids` the user has a link to. A user with fewer links than ids asked
    /// about is answered from one scan of their links, any other by one lookup per id.
    pub fn linked_crm_ids(
        &self,
        space: &SpaceId,
        user: &UserId,
        crm_ids: Vec<String>,
    ) -> StoreResult<HashSet<String>> {
        let asked: HashSet<String> = crm_ids.into_iter().collect();
        let mut users_links = Vec::new();
        for key in self.links_by_crm.scan_prefix(user_key(space, user)).keys() {
            if users_links.len() == asked.len() {
                // As many links as ids: looking each id up is no dearer than reading on.
                let mut linked = HashSet::new();
                for id in asked {
                    if self
                        .links_by_crm
                        .contains_key(user_item_key(space, user, &id))?
                    {
                        linked.insert(id);
                    }
                }
                return Ok(linked);
            }
            users_links.push(key?);
        }
        Ok(users_links
            .iter()
            .filter_map(|key| parse_user_item_key(key))
            .filter(|id| asked.contains(id))
            .collect())
    }

    /// Removes the link of an Exchange contact, returning it.
    pub fn remove_link(
        &self,
        space: &SpaceId,
        user: &UserId,
        exchange_id: &str,
    ) -> StoreResult<Option<LinkRecord>> {
        let forward_key = user_item_key(space, user, exchange_id);
        (self.links_by_exchange.raw(), &self.links_by_crm)
            .transaction(|(forward, inverse)| {
                unlink_forward(forward, inverse, space, user, &forward_key)
            })
            .map_err(StoreError::from)
    }

    /// Up to `limit` links of a user ordered by Exchange id, after the Exchange id `after`.
    pub fn links(
        &self,
        space: &SpaceId,
        user: &UserId,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<LinkRecord>> {
        let after_key = after.map(|id| user_item_key(space, user, id));
        Ok(self
            .links_by_exchange
            .page(&user_key(space, user), after_key.as_deref(), limit)?
            .into_iter()
            .map(|(_, link)| link)
            .collect())
    }

    /// Removes every link of a user (their contacts are not touched).
    pub fn remove_links_of_user(&self, space: &SpaceId, user: &UserId) -> StoreResult<()> {
        self.remove_links_of(space, user)
    }

    /// Removes every link of a user.
    pub(super) fn remove_links_of(&self, space: &SpaceId, user: &UserId) -> StoreResult<()> {
        for key in self
            .links_by_exchange
            .keys_with_prefix(&user_key(space, user))?
        {
            if let Some(exchange_id) = parse_user_item_key(&key) {
                self.remove_link(space, user, &exchange_id)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_store;

    fn link(exchange_id: &str, crm_id: &str) -> LinkRecord {
        LinkRecord {
            exchange_id: exchange_id.into(),
            crm_id: crm_id.into(),
            linked_at: DateTime::<Utc>::UNIX_EPOCH,
            state: LinkStateJson::default(),
        }
    }

    #[test]
    fn both_indexes_answer_and_relinking_drops_stale_entries() {
        let (_dir, store) = test_store();
        let space = SpaceId::parse("acme").unwrap();
        let user = UserId::parse("jane").unwrap();
        store.put_link(&space, &user, &link("ex1", "crm1")).unwrap();
        assert_eq!(
            store.link_by_crm_id(&space, &user, "crm1").unwrap(),
            Some(link("ex1", "crm1"))
        );
        // ex1 now pairs with crm2: crm1 must no longer point at it.
        store.put_link(&space, &user, &link("ex1", "crm2")).unwrap();
        assert_eq!(store.link_by_crm_id(&space, &user, "crm1").unwrap(), None);
        // ex2 takes crm2: ex1's link goes away entirely.
        store.put_link(&space, &user, &link("ex2", "crm2")).unwrap();
        assert_eq!(
            store.link_by_exchange_id(&space, &user, "ex1").unwrap(),
            None
        );
        assert_eq!(
            store.links(&space, &user, None, 10).unwrap(),
            vec![link("ex2", "crm2")]
        );
        assert!(store.remove_link(&space, &user, "ex2").unwrap().is_some());
        assert_eq!(store.link_by_crm_id(&space, &user, "crm2").unwrap(), None);
    }

    #[test]
    fn linked_crm_ids_answer_by_scan_or_by_lookup_alike() {
        let (_dir, store) = test_store();
        let space = SpaceId::parse("acme").unwrap();
        let jane = UserId::parse("jane").unwrap();
        let joe = UserId::parse("joe").unwrap();
        for i in 0..3 {
            store
                .put_link(&space, &jane, &link(&format!("ex{i}"), &format!("c{i}")))
                .unwrap();
        }
        store.put_link(&space, &joe, &link("exj", "cj")).unwrap();
        let ask = |ids: &[&str]| {
            store
                .linked_crm_ids(&space, &jane, ids.iter().map(|s| s.to_string()).collect())
                .unwrap()
        };
        let set = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<HashSet<_>>();
        // Fewer ids than links: looked up one by one.
        assert_eq!(ask(&["c1"]), set(&["c1"]));
        assert_eq!(ask(&["cj"]), set(&[]), "joe's link is not jane's");
        // More ids than links: one scan of jane's links.
        assert_eq!(ask(&["c0", "c2", "cj", "x", "y"]), set(&["c0", "c2"]));
        assert_eq!(ask(&[]), set(&[]));
    }

    #[test]
    fn links_page_within_one_user() {
        let (_dir, store) = test_store();
        let space = SpaceId::parse("acme").unwrap();
        let jane = UserId::parse("jane").unwrap();
        let joe = UserId::parse("joe").unwrap();
        for i in 0..5 {
            store
                .put_link(&space, &jane, &link(&format!("ex{i}"), &format!("c{i}")))
                .unwrap();
        }
        store.put_link(&space, &joe, &link("exj", "cj")).unwrap();
        let first = store.links(&space, &jane, None, 2).unwrap();
        assert_eq!(first.len(), 2);
        let rest = store.links(&space, &jane, Some("ex1"), 10).unwrap();
        assert_eq!(
            rest.iter()
                .map(|l| l.exchange_id.as_str())
                .collect::<Vec<_>>(),
            ["ex2", "ex3", "ex4"]
        );
        store.remove_links_of(&space, &jane).unwrap();
        assert!(store.links(&space, &jane, None, 10).unwrap().is_empty());
        assert_eq!(store.links(&space, &joe, None, 10).unwrap().len(), 1);
    }
}
