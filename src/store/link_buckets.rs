//! How a user's links are laid out in sled: grouped into [`BUCKETS`] buckets by a hash of
//! the id they are found by, one sled entry per bucket. A first sync links thousands of
//! pairs at once, and sled costs about ten microseconds per entry written whatever its
//! size, so writing a few hundred buckets instead of two entries per pair is what keeps a
//! large first sync cheap; a single change rewrites one bucket of the user's links.
//!
//! The forward buckets (`link_buckets_by_exchange_id`) hold the links themselves by
//! Exchange id; the inverse buckets (`link_buckets_by_crm_id`) map CRM ids to Exchange
//! ids. [`BucketSet`] reads and writes them inside one transaction over both trees.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionalTree};

use super::codec::{bucket_key, decode, encode, Versioned};
use super::error::StoreError;
use super::links::LinkRecord;
use crate::ids::{SpaceId, UserId};

/// How many buckets a user's links are spread over, on each side. Changing it needs a
/// migration of every stored bucket.
pub const BUCKETS: u16 = 256;

/// The bucket of an upstream id: CRC-32 of its bytes, which is stable across builds.
pub fn bucket_of(id: &str) -> u16 {
    (crc32fast::hash(id.as_bytes()) % u32::from(BUCKETS)) as u16
}

/// The links of one forward bucket, ordered by Exchange id.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ForwardBucket(pub Vec<LinkRecord>);

impl Versioned for ForwardBucket {
    const WHAT: &'static str = "link bucket";
    const VERSION: u8 = 1;
}

/// One inverse bucket: CRM id to Exchange id.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InverseBucket(pub BTreeMap<String, String>);

impl Versioned for InverseBucket {
    const WHAT: &'static str = "inverse link bucket";
    const VERSION: u8 = 1;
}

/// A transaction's result, aborting with a store error.
pub type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

fn abort(err: StoreError) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(err)
}

/// The buckets of one user that a transaction touched, decoded once, changed in memory
/// and written back together by [`BucketSet::write`].
pub struct BucketSet<'t> {
    forward_tree: &'t TransactionalTree,
    inverse_tree: &'t TransactionalTree,
    space: &'t SpaceId,
    user: &'t UserId,
    forward: HashMap<u16, BTreeMap<String, LinkRecord>>,
    inverse: HashMap<u16, BTreeMap<String, String>>,
}

impl<'t> BucketSet<'t> {
    /// Nothing read yet.
    pub fn new(
        forward_tree: &'t TransactionalTree,
        inverse_tree: &'t TransactionalTree,
        space: &'t SpaceId,
        user: &'t UserId,
    ) -> Self {
        Self {
            forward_tree,
            inverse_tree,
            space,
            user,
            forward: HashMap::new(),
            inverse: HashMap::new(),
        }
    }

    fn forward_bucket(&mut self, bucket: u16) -> TxResult<&mut BTreeMap<String, LinkRecord>> {
        if !self.forward.contains_key(&bucket) {
            let key = bucket_key(self.space, self.user, bucket);
            let links = match self.forward_tree.get(key)? {
                Some(bytes) => decode::<ForwardBucket>(&bytes).map_err(abort)?.0,
                None => Vec::new(),
            };
            let links = links
                .into_iter()
                .map(|link| (link.exchange_id.clone(), link))
                .collect();
            self.forward.insert(bucket, links);
        }
        Ok(self.forward.entry(bucket).or_default())
    }

    fn inverse_bucket(&mut self, bucket: u16) -> TxResult<&mut BTreeMap<String, String>> {
        if !self.inverse.contains_key(&bucket) {
            let key = bucket_key(self.space, self.user, bucket);
            let map = match self.inverse_tree.get(key)? {
                Some(bytes) => decode::<InverseBucket>(&bytes).map_err(abort)?.0,
                None => BTreeMap::new(),
            };
            self.inverse.insert(bucket, map);
        }
        Ok(self.inverse.entry(bucket).or_default())
    }

    /// Removes the link of an Exchange contact and its inverse entry.
    pub fn unlink_exchange(&mut self, exchange_id: &str) -> TxResult<Option<LinkRecord>> {
        let Some(old) = self
            .forward_bucket(bucket_of(exchange_id))?
            .remove(exchange_id)
        else {
            return Ok(None);
        };
        let inverse = self.inverse_bucket(bucket_of(&old.crm_id))?;
        if inverse.get(&old.crm_id).map(String::as_str) == Some(exchange_id) {
            inverse.remove(&old.crm_id);
        }
        Ok(Some(old))
    }

    /// Stores `link`, unlinking whatever either of its contacts was paired with before.
    pub fn put(&mut self, link: LinkRecord) -> TxResult<()> {
        self.unlink_exchange(&link.exchange_id)?;
        let crm_bucket = bucket_of(&link.crm_id);
        if let Some(other) = self.inverse_bucket(crm_bucket)?.get(&link.crm_id).cloned() {
            self.unlink_exchange(&other)?;
        }
        self.inverse_bucket(crm_bucket)?
            .insert(link.crm_id.clone(), link.exchange_id.clone());
        self.forward_bucket(bucket_of(&link.exchange_id))?
            .insert(link.exchange_id.clone(), link);
        Ok(())
    }

    /// Writes every bucket read back (removing the ones left empty).
    pub fn write(self) -> TxResult<()> {
        for (bucket, links) in self.forward {
            let key = bucket_key(self.space, self.user, bucket);
            if links.is_empty() {
                self.forward_tree.remove(key)?;
            } else {
                let bytes = encode(&ForwardBucket(links.into_values().collect())).map_err(abort)?;
                self.forward_tree.insert(key, bytes)?;
            }
        }
        for (bucket, map) in self.inverse {
            let key = bucket_key(self.space, self.user, bucket);
            if map.is_empty() {
                self.inverse_tree.remove(key)?;
            } else {
                self.inverse_tree
                    .insert(key, encode(&InverseBucket(map)).map_err(abort)?)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_stable_and_spread() {
        // The standard CRC-32 check value of "123456789" is 0xCBF43926: the bucket of a
        // stored link does not move between builds.
        assert_eq!(bucket_of("123456789"), 0x26);
        let used: std::collections::HashSet<u16> =
            (0..4096).map(|i| bucket_of(&format!("id-{i}"))).collect();
        assert_eq!(
            used.len(),
            usize::from(BUCKETS),
            "4,096 ids reach every bucket"
        );
    }
}
