//! Reading the contacts of an upstream's answers with only the members exsync uses.
//!
//! Graph and Pipeliner return thirty to fifty members per contact (relations, flags, every
//! property), of which exsync reads ids and versions, ownership and sharing, and the
//! mapped fields. Each side reads its contacts straight into a typed row
//! ([`crate::connectors::graph::listed`], [`crate::connectors::pipeliner::listed`]) with
//! the pieces here: member names borrowed from the answer's text, and a lenient
//! [`Scalar`] that reads a member of an unexpected type as "not text" instead of failing
//! the page, as a JSON object read with `as_str` would. Members no row reads are skipped
//! in the parse, unallocated.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A member name, borrowed from the answer's text unless it holds escapes.
pub(crate) struct MemberName<'de>(pub(crate) Cow<'de, str>);

impl<'de> Deserialize<'de> for MemberName<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(MemberNameVisitor)
    }
}

struct MemberNameVisitor;

impl<'de> Visitor<'de> for MemberNameVisitor {
    type Value = MemberName<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_borrowed_str<E>(self, name: &'de str) -> Result<MemberName<'de>, E> {
        Ok(MemberName(Cow::Borrowed(name)))
    }

    fn visit_str<E>(self, name: &str) -> Result<MemberName<'de>, E> {
        Ok(MemberName(Cow::Owned(name.to_owned())))
    }

    fn visit_string<E>(self, name: String) -> Result<MemberName<'de>, E> {
        Ok(MemberName(Cow::Owned(name)))
    }
}

/// One member's value as far as exsync reads it: text, a whole number, a flag, or
/// anything else (read past, unallocated).
pub(crate) enum Scalar {
    /// A string.
    Text(String),
    /// A whole number that fits an `i64`.
    Int(i64),
    /// `true` or `false`.
    Bool(bool),
    /// `null`, a fraction, an array or an object.
    Other,
}

impl Scalar {
    /// The text, when the value is a string.
    pub(crate) fn into_text(self) -> Option<String> {
        match self {
            Scalar::Text(text) => Some(text),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Text(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Scalar, E> {
        Ok(Scalar::Text(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar::Int(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
        Ok(i64::try_from(v).map_or(Scalar::Other, Scalar::Int))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Scalar, E> {
        Ok(Scalar::Other)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Scalar, E> {
        Ok(Scalar::Bool(v))
    }

    fn visit_unit<E>(self) -> Result<Scalar, E> {
        Ok(Scalar::Other)
    }

    fn visit_none<E>(self) -> Result<Scalar, E> {
        Ok(Scalar::Other)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Scalar, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> Scalar {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn scalars_read_text_numbers_and_flags_and_pass_over_the_rest() {
        assert!(matches!(read(r#""a\u0062""#), Scalar::Text(t) if t == "ab"));
        assert!(matches!(read("-7"), Scalar::Int(-7)));
        assert!(matches!(read("true"), Scalar::Bool(true)));
        for other in [
            "null",
            "2.5",
            "18446744073709551615",
            r#"[1,{"a":[]}]"#,
            r#"{"a":{"b":1}}"#,
        ] {
            assert!(matches!(read(other), Scalar::Other), "{other}");
        }
        assert!(
            serde_json::from_str::<Scalar>(r#"[1,"#).is_err(),
            "cut short"
        );
    }

    #[test]
    fn escaped_member_names_are_read_too() {
        let name: MemberName = serde_json::from_str(r#""\u0069d""#).unwrap();
        assert_eq!(name.0, "id");
        let name: MemberName = serde_json::from_str(r#""id""#).unwrap();
        assert!(matches!(name.0, Cow::Borrowed("id")));
    }
}
