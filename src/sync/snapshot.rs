//! What was last synced for a link, and its stable hash. The snapshot keeps each side's
//! mapped values as exsync last saw or wrote them; comparing a change against it is what
//! stops exsync's own writes from echoing back, and it is the base of the three-way merge.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::contact::{Contact, Field, ValueKind};
use super::normalize;

/// Last synced state of one linked pair.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The Exchange contact's mapped values.
    pub exchange: Contact,
    /// The Pipeliner contact's mapped values.
    pub crm: Contact,
}

impl Snapshot {
    /// A snapshot where both sides hold the same values.
    pub fn agreed(contact: Contact) -> Self {
        Snapshot {
            exchange: contact.clone(),
            crm: contact,
        }
    }

    /// A stable SHA-256 (hex) of both sides' normalised values; equal for snapshots that
    /// compare equal, the same across processes and versions of Rust.
    pub fn hash(&self) -> String {
        let mut h = Sha256::new();
        feed(&mut h, b"exchange", &self.exchange);
        feed(&mut h, b"crm", &self.crm);
        hex(&h.finalize())
    }
}

/// A stable SHA-256 (hex) of one contact's normalised mapped values.
pub fn contact_hash(contact: &Contact) -> String {
    let mut h = Sha256::new();
    feed(&mut h, b"contact", contact);
    hex(&h.finalize())
}

fn feed(h: &mut Sha256, tag: &[u8], c: &Contact) {
    h.update(tag);
    h.update([0]);
    for f in Field::ALL {
        if let Some(v) = c.field(f) {
            put(h, f.name().as_bytes(), f.kind(), v);
        }
    }
    for (name, v) in &c.custom {
        h.update(b"cf:");
        put(h, name.as_bytes(), ValueKind::Text, v);
    }
}

fn put(h: &mut Sha256, key: &[u8], kind: ValueKind, value: &str) {
    h.update((key.len() as u64).to_be_bytes());
    h.update(key);
    let v = match kind {
        ValueKind::Email => normalize::email_key(value),
        ValueKind::Text | ValueKind::Phone => value.trim().to_owned(),
    };
    h.update((v.len() as u64).to_be_bytes());
    h.update(v.as_bytes());
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
