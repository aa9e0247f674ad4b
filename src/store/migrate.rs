//! Schema migrations run when a data directory written by an older exsync is opened.
//!
//! Each step is safe to repeat: a crash part-way leaves the old schema version in place,
//! and the next start runs the step again from the start.

use std::collections::BTreeMap;

use super::codec::{decode, parse_user_item_key, parse_user_key};
use super::error::StoreResult;
use super::links::{LinkOp, LinkRecord};
use super::{Store, SCHEMA_VERSION, SCHEMA_VERSION_KEY};

/// Version 1's trees: one entry per link by Exchange id, and its inverse.
const V1_LINK_TREES: [&str; 2] = ["links_by_exchange_id", "links_by_crm_id"];

/// How many links a migration writes per transaction.
const MIGRATION_BATCH: usize = 10_000;

impl Store {
    /// Records that the store is in this binary's schema.
    pub(super) fn write_schema_version(&self) -> StoreResult<()> {
        self.meta
            .insert(SCHEMA_VERSION_KEY, &SCHEMA_VERSION.to_be_bytes())?;
        Ok(())
    }

    /// Brings a store written in schema version `found` up to [`SCHEMA_VERSION`].
    pub(super) fn migrate_from(&self, found: u32) -> StoreResult<()> {
        if found < 2 {
            self.move_v1_links_into_buckets()?;
            self.write_schema_version()?;
            self.db.flush()?;
        }
        self.drop_v1_link_trees()
    }

    /// Copies every link of version 1's per-link tree into the buckets.
    fn move_v1_links_into_buckets(&self) -> StoreResult<()> {
        if !self.has_tree(V1_LINK_TREES[0]) {
            return Ok(());
        }
        let old = self.db.open_tree(V1_LINK_TREES[0])?;
        let mut by_user: BTreeMap<Vec<u8>, Vec<LinkOp>> = BTreeMap::new();
        for entry in old.iter() {
            let (key, bytes) = entry?;
            let Some(item) = parse_user_item_key(&key) else {
                continue;
            };
            let user_prefix = key[..key.len() - 2 - item.len()].to_vec();
            let link: LinkRecord = decode(&bytes)?;
            by_user
                .entry(user_prefix)
                .or_default()
                .push(LinkOp::Put(link));
        }
        for (prefix, ops) in by_user {
            let Some((space, user)) = parse_user_key(&prefix) else {
                continue;
            };
            for batch in ops.chunks(MIGRATION_BATCH) {
                self.apply_link_ops(&space, &user, batch)?;
            }
        }
        Ok(())
    }

    /// Drops version 1's link trees once their links are in the buckets.
    fn drop_v1_link_trees(&self) -> StoreResult<()> {
        for name in V1_LINK_TREES {
            if self.has_tree(name) {
                self.db.drop_tree(name)?;
            }
        }
        Ok(())
    }

    fn has_tree(&self, name: &str) -> bool {
        self.db
            .tree_names()
            .iter()
            .any(|tree| tree.as_ref() == name.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{SpaceId, UserId};
    use crate::store::codec::{encode, user_item_key};
    use crate::store::links::{test_link, LinkStateJson};

    fn link(exchange_id: &str, crm_id: &str) -> LinkRecord {
        let state = LinkStateJson::of(&serde_json::json!({ "crm_version": "7" })).unwrap();
        test_link(exchange_id, crm_id, state)
    }

    /// Writes links as version 1 did and marks the store as version 1.
    fn write_v1(dir: &std::path::Path, links: &[(&str, &str, LinkRecord)]) {
        let db = sled::open(super::super::database_path(dir)).unwrap();
        let forward = db.open_tree(V1_LINK_TREES[0]).unwrap();
        let inverse = db.open_tree(V1_LINK_TREES[1]).unwrap();
        for (space, user, link) in links {
            let (space, user) = (SpaceId::parse(space).unwrap(), UserId::parse(user).unwrap());
            forward
                .insert(
                    user_item_key(&space, &user, &link.exchange_id),
                    encode(link).unwrap(),
                )
                .unwrap();
            inverse
                .insert(
                    user_item_key(&space, &user, &link.crm_id),
                    link.exchange_id.as_bytes(),
                )
                .unwrap();
        }
        db.open_tree("meta")
            .unwrap()
            .insert(SCHEMA_VERSION_KEY, &1u32.to_be_bytes())
            .unwrap();
        db.flush().unwrap();
    }

    #[test]
    fn version_1_links_move_into_buckets_and_the_old_trees_go() {
        let dir = tempfile::tempdir().unwrap();
        let jane_links: Vec<_> = (0..300)
            .map(|i| ("acme", "jane", link(&format!("AAMk{i}"), &format!("c{i}"))))
            .collect();
        let mut all = jane_links.clone();
        all.push(("beta", "joe", link("AAMkJoe", "cj")));
        write_v1(dir.path(), &all);

        let store = Store::open(dir.path(), None).unwrap();
        let (acme, jane) = (
            SpaceId::parse("acme").unwrap(),
            UserId::parse("jane").unwrap(),
        );
        let (beta, joe) = (
            SpaceId::parse("beta").unwrap(),
            UserId::parse("joe").unwrap(),
        );
        assert_eq!(store.all_links(&acme, &jane).unwrap().len(), 300);
        assert_eq!(
            store.link_by_crm_id(&acme, &jane, "c42").unwrap(),
            Some(link("AAMk42", "c42")),
            "the link and its state survive"
        );
        assert_eq!(
            store.link_by_exchange_id(&beta, &joe, "AAMkJoe").unwrap(),
            Some(link("AAMkJoe", "cj"))
        );
        for name in V1_LINK_TREES {
            assert!(!store.has_tree(name), "{name} is dropped");
        }
        let version = store.meta.get(SCHEMA_VERSION_KEY).unwrap().unwrap();
        assert_eq!(version.as_ref(), SCHEMA_VERSION.to_be_bytes());
        drop(store);
        // Opening again finds nothing left to migrate and keeps the links.
        let store = Store::open(dir.path(), None).unwrap();
        assert_eq!(store.all_links(&acme, &jane).unwrap().len(), 300);
    }
}
