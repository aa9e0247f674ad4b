//! A sled tree that holds one record type, read and written through the versioned codec.

use std::marker::PhantomData;

use super::codec::{decode, encode, Versioned};
use super::error::{StoreError, StoreResult};

/// One sled tree of `T` records.
#[derive(Debug, Clone)]
pub struct TypedTree<T> {
    tree: sled::Tree,
    _record: PhantomData<fn() -> T>,
}

impl<T: Versioned> TypedTree<T> {
    /// Opens (or creates) the tree called `name`.
    pub fn open(db: &sled::Db, name: &str) -> StoreResult<Self> {
        Ok(Self {
            tree: db.open_tree(name)?,
            _record: PhantomData,
        })
    }

    /// The raw tree, for transactions across trees.
    pub fn raw(&self) -> &sled::Tree {
        &self.tree
    }

    /// The record at `key`.
    pub fn get(&self, key: &[u8]) -> StoreResult<Option<T>> {
        self.tree.get(key)?.map(|v| decode(&v)).transpose()
    }

    /// Writes `value` at `key`.
    pub fn put(&self, key: &[u8], value: &T) -> StoreResult<()> {
        self.tree.insert(key, encode(value)?)?;
        Ok(())
    }

    /// Writes `value` at `key` only if nothing is there yet.
    pub fn insert_new(&self, key: &[u8], value: &T) -> StoreResult<()> {
        self.tree
            .compare_and_swap(key, None as Option<&[u8]>, Some(encode(value)?))?
            .map_err(|_| StoreError::AlreadyExists(T::WHAT))
    }

    /// Removes the record at `key`, returning whether one was there.
    pub fn remove(&self, key: &[u8]) -> StoreResult<bool> {
        Ok(self.tree.remove(key)?.is_some())
    }

    /// Applies `change` to the record at `key` atomically and returns the new record.
    /// `change` may run more than once if another writer races; it must be repeatable.
    pub fn update<E>(&self, key: &[u8], change: impl Fn(&mut T) -> Result<(), E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        loop {
            let current = self.tree.get(key).map_err(StoreError::from)?;
            let Some(bytes) = current.clone() else {
                return Err(StoreError::NotFound(T::WHAT).into());
            };
            let mut record: T = decode(&bytes)?;
            change(&mut record)?;
            let swapped = self
                .tree
                .compare_and_swap(key, current, Some(encode(&record)?))
                .map_err(StoreError::from)?;
            if swapped.is_ok() {
                return Ok(record);
            }
        }
    }

    /// All records whose key starts with `prefix`, in key order.
    pub fn scan_prefix(&self, prefix: &[u8]) -> StoreResult<Vec<(sled::IVec, T)>> {
        self.tree
            .scan_prefix(prefix)
            .map(|entry| {
                let (k, v) = entry?;
                Ok((k, decode(&v)?))
            })
            .collect()
    }

    /// Up to `limit` records with keys starting with `prefix` and greater than `after`.
    pub fn page(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> StoreResult<Vec<(sled::IVec, T)>> {
        let start = match after {
            Some(after) => std::ops::Bound::Excluded(after.to_vec()),
            None => std::ops::Bound::Included(prefix.to_vec()),
        };
        self.tree
            .range::<Vec<u8>, _>((start, std::ops::Bound::Unbounded))
            .take_while(|entry| entry.as_ref().map_or(true, |(k, _)| k.starts_with(prefix)))
            .take(limit)
            .map(|entry| {
                let (k, v) = entry?;
                Ok((k, decode(&v)?))
            })
            .collect()
    }

    /// The keys starting with `prefix`.
    pub fn keys_with_prefix(&self, prefix: &[u8]) -> StoreResult<Vec<sled::IVec>> {
        self.tree
            .scan_prefix(prefix)
            .keys()
            .map(|k| k.map_err(StoreError::from))
            .collect()
    }

    /// The keys starting with `prefix`, newest (greatest) first, read lazily.
    pub fn keys_with_prefix_newest_first(
        &self,
        prefix: &[u8],
    ) -> impl Iterator<Item = StoreResult<sled::IVec>> {
        self.tree
            .scan_prefix(prefix)
            .keys()
            .rev()
            .map(|k| k.map_err(StoreError::from))
    }

    /// The keys starting with `prefix` up to and including `last`.
    pub fn keys_up_to(&self, prefix: &[u8], last: &[u8]) -> StoreResult<Vec<sled::IVec>> {
        self.tree
            .range::<&[u8], _>(prefix..=last)
            .keys()
            .map(|k| k.map_err(StoreError::from))
            .collect()
    }
}
