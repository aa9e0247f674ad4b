//! A sled tree that holds one record type, read and written through the versioned codec.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use super::codec::{decode, encode, Versioned};
use super::error::{StoreError, StoreResult};

/// Decoded records remembered with the bytes they were decoded from, by key (see
/// [`TypedTree::get_memoized`]).
pub type DecodeMemo<T> = Arc<Mutex<HashMap<Vec<u8>, (sled::IVec, T)>>>;

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

    /// The record at `key`, cloned from `memo` when the stored bytes are the ones it was
    /// decoded from, decoded (and remembered) otherwise. As fresh as [`Self::get`]
    /// whoever wrote the record, since the bytes are compared on every read (a record
    /// found gone is forgotten); for small sets of records read far more often than
    /// written.
    pub fn get_memoized(&self, key: &[u8], memo: &DecodeMemo<T>) -> StoreResult<Option<T>>
    where
        T: Clone,
    {
        let Some(bytes) = self.tree.get(key)? else {
            memo.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
            return Ok(None);
        };
        if let Some((seen, record)) = memo.lock().unwrap_or_else(|p| p.into_inner()).get(key) {
            if *seen == bytes {
                return Ok(Some(record.clone()));
            }
        }
        let record: T = decode(&bytes)?;
        memo.lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_vec(), (bytes, record.clone()));
        Ok(Some(record))
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

#[cfg(test)]
mod memo_tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Note {
        text: String,
    }

    impl Versioned for Note {
        const WHAT: &'static str = "note";
        const VERSION: u8 = 1;
    }

    #[test]
    fn a_memoized_read_sees_every_write_whoever_made_it() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let notes: TypedTree<Note> = TypedTree::open(&db, "notes").unwrap();
        let memo = DecodeMemo::<Note>::default();
        let note = |text: &str| Note { text: text.into() };
        assert_eq!(notes.get_memoized(b"k", &memo).unwrap(), None);
        notes.put(b"k", &note("first")).unwrap();
        assert_eq!(
            notes.get_memoized(b"k", &memo).unwrap(),
            Some(note("first"))
        );
        assert_eq!(
            notes.get_memoized(b"k", &memo).unwrap(),
            Some(note("first"))
        );
        // A write through the raw tree, past the typed API, is seen too.
        notes
            .raw()
            .insert(b"k", encode(&note("second")).unwrap())
            .unwrap();
        assert_eq!(
            notes.get_memoized(b"k", &memo).unwrap(),
            Some(note("second"))
        );
        notes.remove(b"k").unwrap();
        assert_eq!(notes.get_memoized(b"k", &memo).unwrap(), None);
        assert!(
            memo.lock().unwrap().is_empty(),
            "a removed record is forgotten"
        );
    }
}
