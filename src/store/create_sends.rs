//! How far each user's creates may have been sent: before a window of writes goes out,
//! the engine raises the user's mark on that side to cover the window's creates and
//! flushes it. A cycle cut off afterwards looks for the records of the creates below the
//! mark only; a create above it was never sent, so nothing of it can exist upstream.
//!
//! Tree `create_sends_by_user`, keyed like the sync state, one small record per user.

use serde::{Deserialize, Serialize};

use super::codec::{decode, encode, user_key, Versioned};
use super::error::StoreResult;
use super::Store;
use crate::ids::{SpaceId, UserId};
use crate::sync::Side;

/// The create sequence numbers (see [`crate::sync::PendingIntent::seq`]) below which
/// creates may have been sent, per side.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateSends {
    /// Creates into the Exchange folder.
    pub exchange: u64,
    /// Creates into Pipeliner.
    pub crm: u64,
}

impl CreateSends {
    /// The mark of one side.
    pub fn below(&self, side: Side) -> u64 {
        match side {
            Side::Exchange => self.exchange,
            Side::Crm => self.crm,
        }
    }

    /// The marks with `side`'s raised to at least `below`.
    fn raised(mut self, side: Side, below: u64) -> Self {
        let mark = match side {
            Side::Exchange => &mut self.exchange,
            Side::Crm => &mut self.crm,
        };
        *mark = (*mark).max(below);
        self
    }
}

impl Versioned for CreateSends {
    const WHAT: &'static str = "create sends";
    const VERSION: u8 = 1;
}

impl Store {
    /// A user's marks (zero before any create was sent).
    pub fn create_sends(&self, space: &SpaceId, user: &UserId) -> StoreResult<CreateSends> {
        Ok(self
            .create_sends
            .get(&user_key(space, user))?
            .unwrap_or_default())
    }

    /// Raises a user's mark on `side` to at least `below` and writes it to disk before
    /// returning, so that a write sent after it is never unaccounted for.
    pub fn raise_create_sends(
        &self,
        space: &SpaceId,
        user: &UserId,
        side: Side,
        below: u64,
    ) -> StoreResult<()> {
        let mut failed = None;
        self.create_sends
            .raw()
            .update_and_fetch(user_key(space, user), |old| {
                let current = match old.map(decode::<CreateSends>).transpose() {
                    Ok(current) => current.unwrap_or_default(),
                    Err(e) => {
                        failed = Some(e);
                        return old.map(<[u8]>::to_vec);
                    }
                };
                match encode(&current.raised(side, below)) {
                    Ok(bytes) => Some(bytes),
                    Err(e) => {
                        failed = Some(e);
                        old.map(<[u8]>::to_vec)
                    }
                }
            })?;
        if let Some(e) = failed {
            return Err(e);
        }
        self.flush()
    }

    /// Forgets a user's marks.
    pub(super) fn remove_create_sends(&self, space: &SpaceId, user: &UserId) -> StoreResult<()> {
        self.create_sends.remove(&user_key(space, user))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_store;

    #[test]
    fn marks_only_rise_and_are_kept_per_side_until_forgotten() {
        let (_dir, store) = test_store();
        let space = SpaceId::parse("acme").unwrap();
        let user = UserId::parse("jane").unwrap();
        assert_eq!(
            store.create_sends(&space, &user).unwrap(),
            CreateSends::default()
        );
        store
            .raise_create_sends(&space, &user, Side::Crm, 40)
            .unwrap();
        store
            .raise_create_sends(&space, &user, Side::Exchange, 7)
            .unwrap();
        store
            .raise_create_sends(&space, &user, Side::Crm, 12)
            .unwrap();
        let marks = store.create_sends(&space, &user).unwrap();
        assert_eq!(
            (marks.below(Side::Exchange), marks.below(Side::Crm)),
            (7, 40)
        );
        store.remove_create_sends(&space, &user).unwrap();
        assert_eq!(
            store.create_sends(&space, &user).unwrap(),
            CreateSends::default()
        );
    }
}
