//! Finding the Pipeliner records of creates cut off before their commit.
//!
//! Pipeliner has no field exsync may mark its records with (its own `*_entity_id` fields
//! belong to its own integrations, and a custom field would change the customer's
//! space), and the answer that carries a create's new id can be lost with the process.
//! So exsync sets the one documented field that is writable on create and that no person
//! can set or edit: `created`. Every Pipeliner create carries its intent's
//! [`PendingIntent::stamp`], the moment exsync decided to create it, to the second; a
//! person's edits never touch it, and Pipeliner's own normalisation of values leaves it.
//!
//! A recovery therefore looks at the unlinked records whose `created` equals the stamp of
//! a create that may have been sent (see [`PendingIntent::seq`]), and pairs them with
//! those intents:
//! 1. a record whose values are still exactly what was sent is that create's;
//! 2. then, by the most mapped values in common (compared loosely, as Pipeliner may have
//!    trimmed or reformatted them), at least one;
//! 3. deleted records carry no values: they are paired with the intents left over only
//!    when as many are left as there are deleted records, since every intent left would
//!    then have had its record deleted, whichever pairing is chosen.
//!
//! A contact a person created is never taken: Pipeliner stamps it with its own clock at
//! the moment it is created, so it carries a pending stamp only if it was created in the
//! very second exsync decided its creates, by the same or another owner, and it shares
//! values with one of them; even then exact matches and better matches win.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::contact::{Contact, FieldKey, ValueKind};
use super::input::{IntentId, PendingIntent, Side};
use super::snapshot::contact_hash;

/// A Pipeliner record that carries a pending create's stamp and no link.
#[derive(Debug, Clone, Copy)]
pub struct StampedRecord<'a> {
    /// Its Pipeliner id.
    pub id: &'a str,
    /// Its `created` time.
    pub created: DateTime<Utc>,
    /// Its values; `None` when it was deleted.
    pub contact: Option<&'a Contact>,
}

/// Whether a pending create may have been sent: its sequence number lies below the mark
/// of its side, or it was recorded before sequence numbers existed.
pub fn maybe_sent(intent: &PendingIntent, sent_below: u64) -> bool {
    intent.seq.is_none_or(|seq| seq < sent_below)
}

/// Pairs the stamped records with the Pipeliner creates they came from, following the
/// rules in the module documentation. `intents` are the pending creates into Pipeliner
/// that may have been sent; `keys` are the mapped fields.
pub fn match_stamped<'a>(
    intents: &[&'a PendingIntent],
    records: &[StampedRecord<'a>],
    keys: &[FieldKey],
) -> Vec<(&'a str, &'a IntentId)> {
    let mut groups: BTreeMap<DateTime<Utc>, (Vec<&'a PendingIntent>, Vec<StampedRecord<'a>>)> =
        BTreeMap::new();
    for intent in intents {
        if let (Side::Crm, Some(stamp)) = (intent.target, intent.stamp) {
            groups.entry(stamp).or_default().0.push(intent);
        }
    }
    for record in records {
        if let Some((_, found)) = groups.get_mut(&record.created) {
            found.push(*record);
        }
    }
    let mut matched = Vec::new();
    for (intents, records) in groups.into_values() {
        match_group(intents, records, keys, &mut matched);
    }
    matched
}

/// Pairs one stamp's intents and records.
fn match_group<'a>(
    mut intents: Vec<&'a PendingIntent>,
    mut records: Vec<StampedRecord<'a>>,
    keys: &[FieldKey],
    matched: &mut Vec<(&'a str, &'a IntentId)>,
) {
    // 1. Untouched since the create.
    let sent: Vec<String> = intents.iter().map(|i| contact_hash(&i.contact)).collect();
    let mut taken = vec![false; intents.len()];
    records.retain(|record| {
        let Some(contact) = record.contact else {
            return true;
        };
        let hash = contact_hash(contact);
        match (0..intents.len()).find(|&i| !taken[i] && sent[i] == hash) {
            Some(i) => {
                taken[i] = true;
                matched.push((record.id, &intents[i].id));
                false
            }
            None => true,
        }
    });
    let mut left: Vec<&'a PendingIntent> = intents
        .drain(..)
        .zip(taken)
        .filter_map(|(intent, taken)| (!taken).then_some(intent))
        .collect();
    // 2. Edited since: the most values in common first.
    let mut scored = Vec::new();
    for (r, record) in records.iter().enumerate() {
        let Some(contact) = record.contact else {
            continue;
        };
        for (i, intent) in left.iter().enumerate() {
            let score = common_values(contact, &intent.contact, keys);
            if score > 0 {
                scored.push((std::cmp::Reverse(score), i, r));
            }
        }
    }
    scored.sort_unstable();
    let mut intent_taken = vec![false; left.len()];
    let mut record_taken = vec![false; records.len()];
    for (_, i, r) in scored {
        if !intent_taken[i] && !record_taken[r] {
            intent_taken[i] = true;
            record_taken[r] = true;
            matched.push((records[r].id, &left[i].id));
        }
    }
    let mut i = 0;
    left.retain(|_| {
        i += 1;
        !intent_taken[i - 1]
    });
    // 3. Deleted since: only when every intent left must have been one of them.
    let deleted: Vec<&StampedRecord<'a>> = records
        .iter()
        .zip(record_taken)
        .filter(|(record, taken)| !taken && record.contact.is_none())
        .map(|(record, _)| record)
        .collect();
    if !deleted.is_empty() && deleted.len() == left.len() {
        for (record, intent) in deleted.into_iter().zip(left) {
            matched.push((record.id, &intent.id));
        }
    }
}

/// How many mapped fields hold the same non-empty value in both contacts, compared as
/// Pipeliner may have stored what was sent: without spaces and case, and phones by their
/// digits.
fn common_values(a: &Contact, b: &Contact, keys: &[FieldKey]) -> usize {
    keys.iter()
        .filter(|key| match (a.get(key), b.get(key)) {
            (Some(x), Some(y)) => {
                let (x, y) = (loose(key.kind(), x), loose(key.kind(), y));
                !x.is_empty() && x == y
            }
            _ => false,
        })
        .count()
}

/// A value without what normalising it may change.
fn loose(kind: ValueKind, value: &str) -> String {
    match kind {
        ValueKind::Phone => value.chars().filter(char::is_ascii_digit).collect(),
        ValueKind::Text | ValueKind::Email => value
            .chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::sync::contact::Field;
    use crate::sync::mapping::Mapping;

    fn at(second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 10, 0, second).unwrap()
    }

    fn person(first: &str, last: &str, email: &str, phone: &str) -> Contact {
        Contact::default()
            .with(Field::GivenName, first)
            .with(Field::Surname, last)
            .with(Field::Email1, email)
            .with(Field::BusinessPhone, phone)
    }

    fn intent(source: &str, second: u32, contact: Contact) -> PendingIntent {
        PendingIntent {
            id: IntentId::for_create(Side::Crm, source),
            target: Side::Crm,
            source_id: source.into(),
            contact,
            stamp: Some(at(second)),
            seq: Some(0),
        }
    }

    fn record<'a>(id: &'a str, second: u32, contact: Option<&'a Contact>) -> StampedRecord<'a> {
        StampedRecord {
            id,
            created: at(second),
            contact,
        }
    }

    fn pairs<'a>(found: Vec<(&'a str, &'a IntentId)>) -> Vec<(&'a str, &'a str)> {
        let mut pairs: Vec<_> = found.into_iter().map(|(r, i)| (r, i.0.as_str())).collect();
        pairs.sort();
        pairs
    }

    #[test]
    fn edited_and_normalised_records_are_found_by_their_stamp_and_values() {
        let keys = Mapping::default().keys();
        let ann = person("Ann", "Lee", "ann@example.com", "+1 555 0100");
        let bo = person("Bo", "Berg", "bo@example.com", "+1 555 0200");
        let cy = person("Cy", "Cole", "cy@example.com", "+1 555 0300");
        let intents = [
            intent("e1", 5, ann.clone()),
            intent("e2", 5, bo),
            intent("e3", 5, cy),
        ];
        let refs: Vec<&PendingIntent> = intents.iter().collect();
        // Ann untouched, Bo's e-mail changed by a person, Cy's phone reformatted.
        let bo_now = person("Bo", "Berg", "bo.berg@example.com", "+1 555 0200");
        let cy_now = person("Cy", "Cole", "cy@example.com", "+1 (555) 0300");
        let records = [
            record("p-cy", 5, Some(&cy_now)),
            record("p-bo", 5, Some(&bo_now)),
            record("p-ann", 5, Some(&ann)),
        ];
        assert_eq!(
            pairs(match_stamped(&refs, &records, &keys)),
            [("p-ann", "p:e1"), ("p-bo", "p:e2"), ("p-cy", "p:e3")]
        );
    }

    #[test]
    fn a_person_created_contact_is_never_taken() {
        let keys = Mapping::default().keys();
        let ann = person("Ann", "Lee", "ann@example.com", "+1 555 0100");
        let intents = [intent("e1", 5, ann.clone())];
        let refs: Vec<&PendingIntent> = intents.iter().collect();
        // The same values typed by a person a second later, or another contact in the
        // same second: neither is exsync's create.
        let other = person("Zed", "Zorn", "zed@example.com", "+1 555 0999");
        let records = [
            record("typed", 6, Some(&ann)),
            record("other", 5, Some(&other)),
        ];
        assert!(match_stamped(&refs, &records, &keys).is_empty());
        // Exsync's record beside a person's of the same second: the exact one wins.
        let records = [
            record("other", 5, Some(&other)),
            record("mine", 5, Some(&ann)),
        ];
        assert_eq!(
            pairs(match_stamped(&refs, &records, &keys)),
            [("mine", "p:e1")]
        );
    }

    #[test]
    fn deleted_records_are_paired_only_when_every_intent_left_had_one() {
        let keys = Mapping::default().keys();
        let ann = person("Ann", "Lee", "ann@example.com", "1");
        let bo = person("Bo", "Berg", "bo@example.com", "2");
        let intents = [intent("e1", 5, ann.clone()), intent("e2", 5, bo)];
        let refs: Vec<&PendingIntent> = intents.iter().collect();
        let records = [record("p-ann", 5, Some(&ann)), record("gone", 5, None)];
        assert_eq!(
            pairs(match_stamped(&refs, &records, &keys)),
            [("gone", "p:e2"), ("p-ann", "p:e1")]
        );
        // Two creates left and one deleted record: which one it was is unknown.
        let records = [record("gone", 5, None)];
        assert!(match_stamped(&refs, &records, &keys).is_empty());
    }

    #[test]
    fn only_creates_that_may_have_been_sent_are_looked_for() {
        let mut sent = intent("e1", 5, Contact::default());
        assert!(maybe_sent(&sent, 1));
        assert!(!maybe_sent(&sent, 0), "above the mark: never sent");
        sent.seq = None;
        assert!(maybe_sent(&sent, 0), "recorded before marks existed");
    }
}
