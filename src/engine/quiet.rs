//! The times of quiet cycles, held in memory instead of the store.
//!
//! A cycle that found nothing to do, for a user whose record has nothing to clear (no
//! error, no sync asked for), writes nothing: most cycles are such safety-net ticks, and
//! writing each one's times kept the database rewriting and compacting pages all day.
//! Their times are held here, and the admin API shows them over the stored status. The
//! store keeps the last cycle that did something (and each hourly save of a lagging
//! watermark), which is what the status shows after a restart until the next cycle.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::status::CycleTimes;
use crate::ids::{SpaceId, UserId};
use crate::store::users::{UserRecord, UserState};

/// The last unrecorded quiet cycle of each user. Cloning is cheap; clones share.
#[derive(Debug, Clone, Default)]
pub struct QuietCycles {
    times: Arc<Mutex<HashMap<SpaceId, HashMap<UserId, CycleTimes>>>>,
}

impl QuietCycles {
    fn lock(&self) -> MutexGuard<'_, HashMap<SpaceId, HashMap<UserId, CycleTimes>>> {
        self.times.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Holds the times of the user's latest quiet cycle.
    pub fn hold(&self, space: &SpaceId, user: &UserId, times: CycleTimes) {
        let mut all = self.lock();
        match all.get_mut(space) {
            Some(users) => match users.get_mut(user) {
                Some(held) => *held = times,
                None => {
                    users.insert(user.clone(), times);
                }
            },
            None => {
                all.insert(space.clone(), HashMap::from([(user.clone(), times)]));
            }
        }
    }

    /// Forgets the user's held times (its actor stopped).
    pub fn forget(&self, space: &SpaceId, user: &UserId) {
        let mut all = self.lock();
        if let Some(users) = all.get_mut(space) {
            users.remove(user);
            if users.is_empty() {
                all.remove(space);
            }
        }
    }

    /// The record as the admin API shows it: an activated user's status takes the times
    /// of a held quiet cycle that finished after the stored one.
    pub fn show(&self, record: &mut UserRecord) {
        if record.state != UserState::Activated {
            return;
        }
        let Some(times) = self
            .lock()
            .get(&record.space)
            .and_then(|users| users.get(&record.id))
            .copied()
        else {
            return;
        };
        let status = &mut record.status;
        if status
            .last_sync_finished_at
            .is_none_or(|stored| stored < times.finished)
        {
            status.last_sync_started_at = Some(times.started);
            status.last_sync_finished_at = Some(times.finished);
            status.next_sync_at = Some(times.next);
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Duration, Utc};

    use super::*;
    use crate::store::users::SyncStatus;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    fn times(finished: i64) -> CycleTimes {
        CycleTimes {
            started: at(finished - 1),
            finished: at(finished),
            next: at(finished) + Duration::seconds(60),
        }
    }

    fn record(state: UserState, finished: i64) -> UserRecord {
        UserRecord {
            space: SpaceId::parse("acme").unwrap(),
            id: UserId::parse("ann").unwrap(),
            email: "ann@example.com".into(),
            pipeliner_user_id: None,
            credentials: None,
            settings: serde_json::from_str(
                r#"{"sync_type":"bidirectional","delete_protection":true,"folder":{"create":{}}}"#,
            )
            .unwrap(),
            state,
            activated_at: at(0),
            updated_at: at(0),
            status: SyncStatus {
                last_sync_started_at: Some(at(finished - 5)),
                last_sync_finished_at: Some(at(finished)),
                next_sync_at: Some(at(finished + 60)),
                ..SyncStatus::default()
            },
            reconcile_epoch: 0,
        }
    }

    #[test]
    fn a_later_quiet_cycle_shows_over_the_stored_status() {
        let quiet = QuietCycles::default();
        let mut shown = record(UserState::Activated, 100);
        quiet.show(&mut shown);
        assert_eq!(shown.status, record(UserState::Activated, 100).status);

        quiet.hold(&shown.space, &shown.id, times(200));
        quiet.hold(&shown.space, &shown.id, times(300));
        quiet.show(&mut shown);
        assert_eq!(shown.status.last_sync_started_at, Some(at(299)));
        assert_eq!(shown.status.last_sync_finished_at, Some(at(300)));
        assert_eq!(shown.status.next_sync_at, Some(at(360)));

        let mut recorded_later = record(UserState::Activated, 400);
        quiet.show(&mut recorded_later);
        assert_eq!(
            recorded_later.status,
            record(UserState::Activated, 400).status,
            "a cycle recorded after it wins"
        );

        let mut paused = record(UserState::Paused, 100);
        quiet.show(&mut paused);
        assert_eq!(paused.status, record(UserState::Paused, 100).status);

        quiet.forget(&shown.space, &shown.id);
        let mut forgotten = record(UserState::Activated, 100);
        quiet.show(&mut forgotten);
        assert_eq!(forgotten.status, record(UserState::Activated, 100).status);
        assert!(quiet.lock().is_empty(), "an emptied space is dropped");
    }
}
