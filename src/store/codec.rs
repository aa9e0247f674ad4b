//! Byte encodings for the store: versioned values and typed composite keys.
//!
//! Values are one version byte followed by JSON, so a record's schema can change and be
//! migrated on read. Keys are built only here: each part is length-prefixed (ids are at
//! most 128 bytes) and integers are big-endian so keys sort in their natural order.

use serde::{de::DeserializeOwned, Serialize};

use super::error::{StoreError, StoreResult};
use crate::ids::{SpaceId, UserId};

/// A record type stored as a versioned value.
pub trait Versioned: Serialize + DeserializeOwned {
    /// Human name used in error messages.
    const WHAT: &'static str;
    /// The version this binary writes.
    const VERSION: u8;
}

/// Encodes a record with its version byte.
pub fn encode<T: Versioned>(value: &T) -> StoreResult<Vec<u8>> {
    let mut out = vec![T::VERSION];
    serde_json::to_writer(&mut out, value).map_err(|e| StoreError::Corrupt {
        what: T::WHAT,
        reason: e.to_string(),
    })?;
    Ok(out)
}

/// Decodes a record written by [`encode`], refusing versions newer than this binary's.
pub fn decode<T: Versioned>(bytes: &[u8]) -> StoreResult<T> {
    decode_view(bytes, T::WHAT, T::VERSION)
}

/// Decodes a value written as `what` (at most `supported` as version) into `T`, which may
/// be a partial view of it.
pub fn decode_view<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    what: &'static str,
    supported: u8,
) -> StoreResult<T> {
    let (&version, body) = bytes.split_first().ok_or(StoreError::Corrupt {
        what,
        reason: "empty value".into(),
    })?;
    if version == 0 || version > supported {
        return Err(StoreError::UnsupportedVersion {
            what,
            found: version,
            supported,
        });
    }
    serde_json::from_slice(body).map_err(|e| StoreError::Corrupt {
        what,
        reason: e.to_string(),
    })
}

/// Appends one length-prefixed part to a key.
fn push_part(key: &mut Vec<u8>, part: &[u8]) {
    let len = u16::try_from(part.len()).unwrap_or(u16::MAX);
    key.extend_from_slice(&len.to_be_bytes());
    key.extend_from_slice(&part[..usize::from(len)]);
}

/// Reads one length-prefixed part from the front of `rest`.
fn take_part<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    if rest.len() < 2 {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
    let part = rest.get(2..2 + len)?;
    *rest = &rest[2 + len..];
    Some(part)
}

/// The key of a space: its id.
pub fn space_key(space: &SpaceId) -> Vec<u8> {
    let mut key = Vec::with_capacity(2 + space.as_str().len());
    push_part(&mut key, space.as_str().as_bytes());
    key
}

/// The key of a user: space then user id. A space's users share the [`space_key`] prefix.
pub fn user_key(space: &SpaceId, user: &UserId) -> Vec<u8> {
    let mut key = space_key(space);
    push_part(&mut key, user.as_str().as_bytes());
    key
}

/// Parses a [`user_key`] back into its ids.
pub fn parse_user_key(key: &[u8]) -> Option<(SpaceId, UserId)> {
    let mut rest = key;
    let space = std::str::from_utf8(take_part(&mut rest)?).ok()?;
    let user = std::str::from_utf8(take_part(&mut rest)?).ok()?;
    if !rest.is_empty() {
        return None;
    }
    Some((SpaceId::parse(space).ok()?, UserId::parse(user).ok()?))
}

/// The key of a per-user item named by an upstream id (a link by Exchange or CRM id).
/// A user's items share the [`user_key`] prefix.
pub fn user_item_key(space: &SpaceId, user: &UserId, item: &str) -> Vec<u8> {
    let mut key = user_key(space, user);
    push_part(&mut key, item.as_bytes());
    key
}

/// The key of a space-wide item named by an upstream id (a space's webhook removal): the
/// space's key, an empty user part, then the item, so it never shares a user's prefix.
pub fn space_item_key(space: &SpaceId, item: &str) -> Vec<u8> {
    let mut key = space_key(space);
    push_part(&mut key, b"");
    push_part(&mut key, item.as_bytes());
    key
}

/// Parses the item part of a [`user_item_key`].
pub fn parse_user_item_key(key: &[u8]) -> Option<String> {
    let mut rest = key;
    take_part(&mut rest)?;
    take_part(&mut rest)?;
    let item = take_part(&mut rest)?;
    if !rest.is_empty() {
        return None;
    }
    String::from_utf8(item.to_vec()).ok()
}

/// The key of a per-user sequence entry (journal events): user prefix then a big-endian
/// sequence number, so a user's entries iterate oldest first.
pub fn user_seq_key(space: &SpaceId, user: &UserId, seq: u64) -> Vec<u8> {
    let mut key = user_key(space, user);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

/// Parses the sequence number at the end of a [`user_seq_key`].
pub fn parse_user_seq_key(key: &[u8]) -> Option<u64> {
    let tail: [u8; 8] = key.get(key.len().checked_sub(8)?..)?.try_into().ok()?;
    Some(u64::from_be_bytes(tail))
}

/// The key of one of a user's link buckets: the user's key, then the bucket number
/// big-endian, so a user's buckets iterate in bucket order.
pub fn bucket_key(space: &SpaceId, user: &UserId, bucket: u16) -> Vec<u8> {
    let mut key = user_key(space, user);
    key.extend_from_slice(&bucket.to_be_bytes());
    key
}

/// The bucket number at the end of a [`bucket_key`].
pub fn parse_bucket_key(key: &[u8]) -> Option<u16> {
    let tail: [u8; 2] = key.get(key.len().checked_sub(2)?..)?.try_into().ok()?;
    Some(u16::from_be_bytes(tail))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Sample {
        name: String,
    }
    impl Versioned for Sample {
        const WHAT: &'static str = "sample";
        const VERSION: u8 = 2;
    }

    fn ids(space: &str, user: &str) -> (SpaceId, UserId) {
        (SpaceId::parse(space).unwrap(), UserId::parse(user).unwrap())
    }

    #[test]
    fn values_round_trip_with_their_version() {
        let value = Sample { name: "x".into() };
        let bytes = encode(&value).unwrap();
        assert_eq!(bytes[0], 2);
        assert_eq!(decode::<Sample>(&bytes).unwrap(), value);
    }

    #[test]
    fn newer_versions_and_garbage_are_refused() {
        let mut bytes = encode(&Sample { name: "x".into() }).unwrap();
        bytes[0] = 3;
        assert!(matches!(
            decode::<Sample>(&bytes),
            Err(StoreError::UnsupportedVersion { found: 3, .. })
        ));
        assert!(matches!(
            decode::<Sample>(&[]),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(matches!(
            decode::<Sample>(&[1, b'{']),
            Err(StoreError::Corrupt { .. })
        ));
    }

    #[test]
    fn user_keys_round_trip_and_group_by_space() {
        let (space, user) = ids("acme", "jane@acme.com");
        let key = user_key(&space, &user);
        assert_eq!(parse_user_key(&key), Some((space.clone(), user.clone())));
        assert!(key.starts_with(&space_key(&space)));
        // A space whose id is a prefix of another's does not share its key prefix.
        let (longer, _) = ids("acme2", "x");
        assert!(!user_key(&longer, &user).starts_with(&space_key(&space)));
    }

    #[test]
    fn item_and_sequence_keys_round_trip_and_sort() {
        let (space, user) = ids("acme", "jane");
        let key = user_item_key(&space, &user, "AAMkAD=");
        assert_eq!(parse_user_item_key(&key).as_deref(), Some("AAMkAD="));
        let a = user_seq_key(&space, &user, 255);
        let b = user_seq_key(&space, &user, 256);
        assert!(a < b);
        assert_eq!(parse_user_seq_key(&b), Some(256));
    }

    #[test]
    fn bucket_keys_round_trip_and_stay_within_the_user() {
        let (space, user) = ids("acme", "jane");
        let key = bucket_key(&space, &user, 258);
        assert_eq!(parse_bucket_key(&key), Some(258));
        assert!(key.starts_with(&user_key(&space, &user)));
        assert!(bucket_key(&space, &user, 1) < bucket_key(&space, &user, 2));
    }
}
