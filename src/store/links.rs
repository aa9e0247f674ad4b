//! Contact links: which Exchange contact is paired with which Pipeliner contact, for a
//! user. Stored in buckets (see [`super::link_buckets`]): forward by Exchange id, inverse
//! by CRM id, both written in one transaction so they never disagree.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sled::Transactional;

use super::codec::{bucket_key, decode, parse_bucket_key, user_key, Versioned};
use super::error::{StoreError, StoreResult};
use super::link_buckets::{bucket_of, BucketSet, ForwardBucket, InverseBucket};
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

/// One change to a user's links; a cycle's changes are applied together.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkOp {
    /// Store the link, replacing any link either contact was part of.
    Put(LinkRecord),
    /// Remove the link of this Exchange contact, if any.
    Remove(String),
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
    /// a cycle that links thousands of pairs rewrites each bucket it touches once.
    pub fn apply_link_ops(
        &self,
        space: &SpaceId,
        user: &UserId,
        ops: &[LinkOp],
    ) -> StoreResult<()> {
        if ops.is_empty() {
            return Ok(());
        }
        (&self.link_buckets_by_exchange, &self.link_buckets_by_crm)
            .transaction(|(forward, inverse)| {
                let mut buckets = BucketSet::new(forward, inverse, space, user);
                for op in ops {
                    match op {
                        LinkOp::Put(link) => buckets.put(link.clone())?,
                        LinkOp::Remove(exchange_id) => {
                            buckets.unlink_exchange(exchange_id)?;
                        }
                    }
                }
                buckets.write()
            })
            .map_err(StoreError::from)
    }

    /// The links of one forward bucket.
    fn forward_bucket(
        &self,
        space: &SpaceId,
        user: &UserId,
        bucket: u16,
    ) -> StoreResult<Vec<LinkRecord>> {
        match self
            .link_buckets_by_exchange
            .get(bucket_key(space, user, bucket))?
        {
            Some(bytes) => Ok(decode::<ForwardBucket>(&bytes)?.0),
            None => Ok(Vec::new()),
        }
    }

    /// The link of an Exchange contact.
    pub fn link_by_exchange_id(
        &self,
        space: &SpaceId,
        user: &UserId,
        exchange_id: &str,
    ) -> StoreResult<Option<LinkRecord>> {
        Ok(self
            .forward_bucket(space, user, bucket_of(exchange_id))?
            .into_iter()
            .find(|link| link.exchange_id == exchange_id))
    }

    /// The link of a Pipeliner contact.
    pub fn link_by_crm_id(
        &self,
        space: &SpaceId,
        user: &UserId,
        crm_id: &str,
    ) -> StoreResult<Option<LinkRecord>> {
        let key = bucket_key(space, user, bucket_of(crm_id));
        let Some(bytes) = self.link_buckets_by_crm.get(key)? else {
            return Ok(None);
        };
        match decode::<InverseBucket>(&bytes)?.0.remove(crm_id) {
            Some(exchange_id) => self.link_by_exchange_id(space, user, &exchange_id),
            None => Ok(None),
        }
    }

    /// Which of `crm_ids` the user has a link to. The inverse buckets the ids fall in are
    /// read once each: by one scan of the user's buckets when they hold fewer buckets than
    /// that, by one lookup per bucket otherwise.
    pub fn linked_crm_ids(
        &self,
        space: &SpaceId,
        user: &UserId,
        crm_ids: Vec<String>,
    ) -> StoreResult<HashSet<String>> {
        let mut asked: std::collections::BTreeMap<u16, Vec<String>> = Default::default();
        for id in crm_ids {
            asked.entry(bucket_of(&id)).or_default().push(id);
        }
        let mut stored: Vec<(u16, sled::IVec)> = Vec::new();
        let mut scan = self.link_buckets_by_crm.scan_prefix(user_key(space, user));
        let complete = loop {
            if stored.len() == asked.len() {
                break scan.next().is_none();
            }
            match scan.next() {
                None => break true,
                Some(entry) => {
                    let (key, bytes) = entry?;
                    if let Some(bucket) = parse_bucket_key(&key) {
                        stored.push((bucket, bytes));
                    }
                }
            }
        };
        if !complete {
            // As many buckets as asked about: looking each up is no dearer than reading on.
            stored.clear();
            for &bucket in asked.keys() {
                if let Some(bytes) = self
                    .link_buckets_by_crm
                    .get(bucket_key(space, user, bucket))?
                {
                    stored.push((bucket, bytes));
                }
            }
        }
        let mut linked = HashSet::new();
        for (bucket, bytes) in stored {
            let Some(ids) = asked.remove(&bucket) else {
                continue;
            };
            let map = decode::<InverseBucket>(&bytes)?.0;
            linked.extend(ids.into_iter().filter(|id| map.contains_key(id)));
        }
        Ok(linked)
    }

    /// Removes the link of an Exchange contact, returning it.
    pub fn remove_link(
        &self,
        space: &SpaceId,
        user: &UserId,
        exchange_id: &str,
    ) -> StoreResult<Option<LinkRecord>> {
        (&self.link_buckets_by_exchange, &self.link_buckets_by_crm)
            .transaction(|(forward, inverse)| {
                let mut buckets = BucketSet::new(forward, inverse, space, user);
                let removed = buckets.unlink_exchange(exchange_id)?;
                buckets.write()?;
                Ok(removed)
            })
            .map_err(StoreError::from)
    }

    /// Every link of a user, bucket by bucket.
    pub fn all_links(&self, space: &SpaceId, user: &UserId) -> StoreResult<Vec<LinkRecord>> {
        let mut links = Vec::new();
        for entry in self
            .link_buckets_by_exchange
            .scan_prefix(user_key(space, user))
        {
            let (_, bytes) = entry?;
            links.extend(decode::<ForwardBucket>(&bytes)?.0);
        }
        Ok(links)
    }

    /// Up to `limit` links of a user after the link of the Exchange id `after`, in a
    /// stable order: by bucket, then by Exchange id within a bucket.
    pub fn links(
        &self,
        space: &SpaceId,
        user: &UserId,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<LinkRecord>> {
        let prefix = user_key(space, user);
        let first_bucket = after.map_or(0, bucket_of);
        let mut page = Vec::new();
        for entry in self
            .link_buckets_by_exchange
            .range(bucket_key(space, user, first_bucket)..)
        {
            let (key, bytes) = entry?;
            if !key.starts_with(&prefix) || page.len() >= limit {
                break;
            }
            let in_first = parse_bucket_key(&key) == Some(first_bucket);
            let links = decode::<ForwardBucket>(&bytes)?.0;
            page.extend(
                links
                    .into_iter()
                    .filter(|link| match after {
                        Some(after) if in_first => link.exchange_id.as_str() > after,
                        _ => true,
                    })
                    .take(limit - page.len()),
            );
        }
        Ok(page)
    }

    /// Removes every link of a user (their contacts are not touched).
    pub fn remove_links_of_user(&self, space: &SpaceId, user: &UserId) -> StoreResult<()> {
        self.remove_links_of(space, user)
    }

    /// Removes every link of a user, both indexes in one transaction.
    pub(super) fn remove_links_of(&self, space: &SpaceId, user: &UserId) -> StoreResult<()> {
        let prefix = user_key(space, user);
        let keys = |tree: &sled::Tree| -> StoreResult<Vec<sled::IVec>> {
            tree.scan_prefix(&prefix)
                .keys()
                .map(|k| k.map_err(StoreError::from))
                .collect()
        };
        let forward_keys = keys(&self.link_buckets_by_exchange)?;
        let inverse_keys = keys(&self.link_buckets_by_crm)?;
        (&self.link_buckets_by_exchange, &self.link_buckets_by_crm)
            .transaction(|(forward, inverse)| {
                for key in &forward_keys {
                    forward.remove(key)?;
                }
                for key in &inverse_keys {
                    inverse.remove(key)?;
                }
                Ok::<_, sled::transaction::ConflictableTransactionError<StoreError>>(())
            })
            .map_err(StoreError::from)
    }
}

/// A link for tests, linked at the epoch, with `state`.
#[cfg(test)]
pub(crate) fn test_link(exchange_id: &str, crm_id: &str, state: LinkStateJson) -> LinkRecord {
    LinkRecord {
        exchange_id: exchange_id.into(),
        crm_id: crm_id.into(),
        linked_at: DateTime::<Utc>::UNIX_EPOCH,
        state,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_store;

    fn link(exchange_id: &str, crm_id: &str) -> LinkRecord {
        test_link(exchange_id, crm_id, LinkStateJson::default())
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
        // Pages of two follow each other without gaps or repeats, in a stable order.
        let mut seen: Vec<String> = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = store.links(&space, &jane, after.as_deref(), 2).unwrap();
            assert!(page.len() <= 2);
            if page.is_empty() {
                break;
            }
            after = page.last().map(|l| l.exchange_id.clone());
            seen.extend(page.into_iter().map(|l| l.exchange_id));
        }
        let all: Vec<String> = store
            .all_links(&space, &jane)
            .unwrap()
            .into_iter()
            .map(|l| l.exchange_id)
            .collect();
        assert_eq!(seen, all, "paging walks the same order as reading them all");
        let mut sorted = seen.clone();
        sorted.sort();
        assert_eq!(sorted, ["ex0", "ex1", "ex2", "ex3", "ex4"]);
        store.remove_links_of(&space, &jane).unwrap();
        assert!(store.links(&space, &jane, None, 10).unwrap().is_empty());
        assert_eq!(store.links(&space, &joe, None, 10).unwrap().len(), 1);
    }

    #[test]
    fn thousands_of_links_in_one_batch_keep_both_indexes_in_step() {
        let (_dir, store) = test_store();
        let space = SpaceId::parse("acme").unwrap();
        let jane = UserId::parse("jane").unwrap();
        let ops: Vec<LinkOp> = (0..3000)
            .map(|i| LinkOp::Put(link(&format!("ex{i}"), &format!("c{i}"))))
            .collect();
        store.apply_link_ops(&space, &jane, &ops).unwrap();
        assert_eq!(store.all_links(&space, &jane).unwrap().len(), 3000);
        // In one batch: ex0 takes c1 (ex1 loses its link), ex2 goes, ex3 is relinked.
        store
            .apply_link_ops(
                &space,
                &jane,
                &[
                    LinkOp::Put(link("ex0", "c1")),
                    LinkOp::Remove("ex2".into()),
                    LinkOp::Put(link("ex3", "c3-new")),
                ],
            )
            .unwrap();
        assert_eq!(store.all_links(&space, &jane).unwrap().len(), 2998);
        assert_eq!(
            store.link_by_crm_id(&space, &jane, "c1").unwrap(),
            Some(link("ex0", "c1"))
        );
        for gone in ["c0", "c2", "c3"] {
            assert_eq!(store.link_by_crm_id(&space, &jane, gone).unwrap(), None);
        }
        assert_eq!(
            store.link_by_exchange_id(&space, &jane, "ex1").unwrap(),
            None
        );
        assert_eq!(
            store.link_by_exchange_id(&space, &jane, "ex3").unwrap(),
            Some(link("ex3", "c3-new"))
        );
        assert_eq!(
            store.link_by_crm_id(&space, &jane, "c2999").unwrap(),
            Some(link("ex2999", "c2999"))
        );
    }
}
