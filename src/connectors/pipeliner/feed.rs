//! The space's recent contact changes, shared by its users' periodic polls.
//!
//! Every user of a space asks Pipeliner the same question on each periodic poll: which of
//! the space's contacts changed since my watermark? The feed keeps a window of answers:
//! every contact whose `modified` falls between the window's start and Pipeliner's clock at
//! its last fetch. A poll whose watermark lies inside a window fetched recently enough is
//! answered from memory; otherwise one fetch extends the window from its end (less the
//! overlap) and answers every poll that waited on it. So a quiet space costs one Pipeliner
//! request per freshness period instead of one per user, and a poll never sees less than a
//! fetch of its own would have shown, only possibly older by at most the freshness.

use std::collections::HashMap;
use std::sync::Arc;

use super::contacts::ContactChanges;
use super::{ListedContact, PipelinerClient, PipelinerError};
use chrono::{DateTime, Duration, DurationRound, Utc};

/// How far before a watermark each pull of changes starts, so changes saved in the same
/// second as the last one seen, or committed a little after their `modified` stamp, are
/// not missed; also how far before the shared window's end each extending fetch starts.
/// Repeats are harmless but not free (each pull re-reads the space's changes of this
/// span), so it is kept to seconds.
pub const FEED_OVERLAP: Duration = Duration::seconds(10);

/// The most contacts one space's window holds; the oldest beyond it are dropped and the
/// window starts after them.
pub const FEED_CAPACITY: usize = 2_000;

/// How far back a window reaches at most. Watermarks older than this (a user that has
/// not polled for a day) are answered by a fetch of their own.
pub const FEED_REACH: Duration = Duration::hours(24);

/// A space's shared window of recent changes. Cheap to share; one per Pipeliner client.
#[derive(Debug, Default)]
pub struct ChangeFeed {
    window: tokio::sync::Mutex<Option<Window>>,
}

/// One contact held by the window.
#[derive(Debug)]
struct Held {
    modified: DateTime<Utc>,
    body: Arc<ListedContact>,
}

/// What the feed knows: every change with `modified` in `from ..= to`.
#[derive(Debug)]
struct Window {
    /// Every contact modified at or after this is held.
    from: DateTime<Utc>,
    /// Pipeliner's clock when the newest fetch was answered.
    to: DateTime<Utc>,
    /// exsync's clock when the newest fetch began.
    fetched_at: DateTime<Utc>,
    /// The held contacts by id, each at its newest revision.
    contacts: HashMap<String, Held>,
}

/// One periodic poll's question to the feed.
#[derive(Debug, Clone, Copy)]
pub struct SharedPoll {
    /// The poll's watermark less its overlap: the changes at or after it are wanted.
    pub since: DateTime<Utc>,
    /// exsync's clock now.
    pub now: DateTime<Utc>,
    /// How old a fetch may be and still answer this poll.
    pub max_age: Duration,
}

impl Window {
    /// Whether this window answers `poll`.
    fn answers(&self, poll: &SharedPoll) -> bool {
        self.from <= server_floor(poll.since) && poll.now - self.fetched_at <= poll.max_age
    }

    /// Adds a fetched contact, keeping the newer revision of one already held.
    fn hold(&mut self, body: Arc<ListedContact>) -> Result<(), PipelinerError> {
        let Some(id) = body.id.clone() else {
            return Err(PipelinerError::Malformed("a contact without an id".into()));
        };
        // A contact without a readable stamp is held as changed at the window's end, so
        // it is answered to every poll until it ages out.
        let modified = body.modified.unwrap_or(self.to);
        match self.contacts.get(&id) {
            Some(held) if held.body.revision() >= body.revision() => {}
            _ => {
                self.contacts.insert(id, Held { modified, body });
            }
        }
        Ok(())
    }

    /// Drops what is older than the reach, then the oldest beyond the capacity; the
    /// window then starts just after the newest contact it dropped.
    fn trim(&mut self) {
        let reach_start = self.to - FEED_REACH;
        if self.from < reach_start {
            self.from = reach_start;
            self.contacts.retain(|_, held| held.modified >= reach_start);
        }
        if self.contacts.len() > FEED_CAPACITY {
            let mut stamps: Vec<DateTime<Utc>> =
                self.contacts.values().map(|held| held.modified).collect();
            stamps.sort_unstable();
            let newest_dropped = stamps[stamps.len() - FEED_CAPACITY - 1];
            self.contacts
                .retain(|_, held| held.modified > newest_dropped);
            self.from = newest_dropped + Duration::nanoseconds(1);
        }
    }

    /// The held changes at or after `since`, oldest first, as a poll of its own would
    /// have listed them.
    fn answer(&self, since: DateTime<Utc>) -> ContactChanges {
        let since = server_floor(since);
        let mut wanted: Vec<&Held> = self
            .contacts
            .values()
            .filter(|held| held.modified >= since)
            .collect();
        wanted.sort_by_key(|held| held.modified);
        ContactChanges {
            newest_modified: wanted.last().map(|held| held.modified),
            contacts: wanted
                .into_iter()
                .map(|held| Arc::clone(&held.body))
                .collect(),
            server_time: Some(self.to),
        }
    }
}

/// `since` as Pipeliner's filter reads it: to the whole second.
fn server_floor(since: DateTime<Utc>) -> DateTime<Utc> {
    since.duration_trunc(Duration::seconds(1)).unwrap_or(since)
}

impl PipelinerClient {
    /// The contacts modified at or after `poll.since`, answered from the space's shared
    /// window when it covers the watermark and is fresh enough, otherwise by one fetch
    /// that extends the window. Polls of the same space wait for each other's fetch
    /// rather than sending their own.
    pub async fn contacts_modified_since_shared(
        &self,
        poll: SharedPoll,
    ) -> Result<ContactChanges, PipelinerError> {
        let mut window = self.feed().window.lock().await;
        if let Some(current) = window.as_ref().filter(|w| w.answers(&poll)) {
            return Ok(current.answer(poll.since));
        }
        // Extend a window the watermark lies in from its end; start a new one otherwise.
        let extending = window.take().filter(|w| w.from <= server_floor(poll.since));
        let fetch_from = match &extending {
            Some(w) => w.to - FEED_OVERLAP,
            None => poll.since,
        };
        let fetched = self.contacts_modified_since(Some(fetch_from)).await?;
        let Some(to) = fetched.server_time else {
            // Without Pipeliner's clock the window's end is unknown: answer this poll
            // alone and start afresh next time.
            return Ok(if extending.is_some() {
                self.contacts_modified_since(Some(poll.since)).await?
            } else {
                fetched
            });
        };
        let mut next = match extending {
            Some(mut w) => {
                w.to = w.to.max(to);
                w.fetched_at = poll.now;
                w
            }
            None => Window {
                from: server_floor(fetch_from),
                to,
                fetched_at: poll.now,
                contacts: HashMap::new(),
            },
        };
        for body in fetched.contacts {
            next.hold(body)?;
        }
        next.trim();
        let covered = next.from <= server_floor(poll.since);
        let answer = covered.then(|| next.answer(poll.since));
        *window = Some(next);
        drop(window);
        match answer {
            Some(answer) => Ok(answer),
            // Trimming moved the start past this watermark (a burst larger than the
            // capacity): the held part is no longer the whole answer.
            None => self.contacts_modified_since(Some(poll.since)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    fn contact(id: &str, modified: DateTime<Utc>, revision: i64) -> Arc<ListedContact> {
        Arc::new(ListedContact {
            id: Some(id.to_owned()),
            version: Some(revision.to_string()),
            modified: Some(modified),
            ..ListedContact::default()
        })
    }

    fn window(from: i64, to: i64) -> Window {
        Window {
            from: at(from),
            to: at(to),
            fetched_at: at(to),
            contacts: HashMap::new(),
        }
    }

    #[test]
    fn a_window_answers_watermarks_inside_it_while_fresh() {
        let w = window(0, 100);
        let poll = |since, now| SharedPoll {
            since: at(since),
            now: at(now),
            max_age: Duration::seconds(30),
        };
        assert!(w.answers(&poll(0, 100)));
        assert!(w.answers(&poll(50, 130)));
        assert!(!w.answers(&poll(-1, 100)), "older than the window");
        assert!(!w.answers(&poll(50, 131)), "fetched too long ago");
    }

    #[test]
    fn the_newest_revision_is_held_and_answers_filter_by_modified() {
        let mut w = window(0, 100);
        w.hold(contact("a", at(10), 2)).unwrap();
        w.hold(contact("a", at(5), 1)).unwrap();
        w.hold(contact("b", at(50), 1)).unwrap();
        w.hold(contact("c", at(30), 1)).unwrap();
        let all = w.answer(at(0));
        let ids: Vec<&str> = all
            .contacts
            .iter()
            .map(|c| c.id.as_deref().unwrap())
            .collect();
        assert_eq!(ids, ["a", "c", "b"], "oldest first");
        assert_eq!(all.contacts[0].revision(), 2);
        assert_eq!(all.newest_modified, Some(at(50)));
        assert_eq!(all.server_time, Some(at(100)));
        let recent = w.answer(at(30));
        assert_eq!(
            recent.contacts.len(),
            2,
            "modified at or after the watermark"
        );
        assert!(w.hold(Arc::new(ListedContact::default())).is_err(), "no id");
    }

    #[test]
    fn the_watermark_is_read_to_the_second_as_pipeliner_filters() {
        let mut w = window(0, 100);
        w.hold(contact("a", at(10), 1)).unwrap();
        let since = at(10) + Duration::milliseconds(700);
        assert_eq!(w.answer(since).contacts.len(), 1);
    }

    #[test]
    fn trimming_keeps_the_reach_and_the_capacity() {
        let mut w = window(0, 100);
        for i in 0..(FEED_CAPACITY as i64 + 10) {
            w.hold(contact(&format!("c{i}"), at(i / 4), 1)).unwrap();
        }
        w.trim();
        assert!(w.contacts.len() <= FEED_CAPACITY);
        assert!(w.contacts.values().all(|held| held.modified >= w.from));
        let dropped_before = w.from;
        assert!(dropped_before > at(0));

        let mut old = window(0, 0);
        old.to = at(0) + FEED_REACH + Duration::seconds(5);
        old.hold(contact("gone", at(1), 1)).unwrap();
        old.hold(contact("kept", old.to, 1)).unwrap();
        old.trim();
        assert_eq!(old.from, at(5));
        assert_eq!(old.contacts.len(), 1);
        assert!(old.contacts.contains_key("kept"));
    }
}
