//! Writing request bodies: the upstream bodies are serialized straight from the contact's
//! values into JSON text, with no intermediate `serde_json::Value` tree, and kept as
//! [`RawValue`] so a batch or a retry sends the same text again without rebuilding it.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::value::RawValue;

/// A JSON object of text members, in order; `None` is written as `null`.
pub(crate) struct Members<'a>(pub &'a [(&'a str, Option<&'a str>)]);

impl Serialize for Members<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// `body` as JSON text.
pub(crate) fn to_raw(body: &impl Serialize) -> Box<RawValue> {
    // The bodies are objects with string keys holding strings, lists and objects of the
    // same; writing them into memory has no way to fail.
    serde_json::value::to_raw_value(body).expect("a body of text members serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_written_in_order_with_null_for_none() {
        let raw = to_raw(&Members(&[
            ("b", Some("two \"quoted\"")),
            ("a", None),
            ("c", Some("")),
        ]));
        assert_eq!(raw.get(), r#"{"b":"two \"quoted\"","a":null,"c":""}"#);
    }
}
