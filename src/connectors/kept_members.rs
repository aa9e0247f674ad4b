//! Reading the contacts of an upstream's list pages with only the members exsync uses.
//!
//! Graph and Pipeliner return forty to fifty members per contact (relations, flags, every
//! property), of which exsync reads ids and versions, ownership and sharing, and the
//! mapped fields. A listed contact is read into a JSON object of the members its side's
//! [`MemberFilter`] keeps: the others are skipped in the parse, unallocated. A kept member
//! keeps its value exactly, `null` and `""` included, so what a mapping sees as present or
//! absent does not change.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};

/// Room for the members a contact usually keeps, so its map is not regrown member by
/// member.
const KEPT_CAPACITY: usize = 32;

/// Which members of a contact one side's reads keep.
pub trait MemberFilter {
    /// Whether the member called `name` is kept.
    fn keeps(name: &str) -> bool;
}

/// One listed contact: the members `F` keeps, as a JSON object.
#[derive(Debug)]
pub struct KeptMembers<F> {
    /// The kept members.
    pub value: Value,
    filter: PhantomData<F>,
}

impl<'de, F: MemberFilter> Deserialize<'de> for KeptMembers<F> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(KeptMembersVisitor(PhantomData))
    }
}

struct KeptMembersVisitor<F>(PhantomData<F>);

impl<'de, F: MemberFilter> Visitor<'de> for KeptMembersVisitor<F> {
    type Value = KeptMembers<F>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a contact object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<KeptMembers<F>, A::Error> {
        let mut kept = Map::with_capacity(KEPT_CAPACITY);
        while let Some(MemberName(name)) = access.next_key()? {
            if F::keeps(&name) {
                kept.insert(name.into_owned(), access.next_value::<Value>()?);
            } else {
                access.next_value::<IgnoredAny>()?;
            }
        }
        Ok(KeptMembers {
            value: Value::Object(kept),
            filter: PhantomData,
        })
    }
}

/// A member name, borrowed from the page's text unless it holds escapes.
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Keeps `id` and names starting with `x_`.
    #[derive(Debug)]
    struct IdAndX;

    impl MemberFilter for IdAndX {
        fn keeps(name: &str) -> bool {
            name == "id" || name.starts_with("x_")
        }
    }

    type Kept = KeptMembers<IdAndX>;

    #[test]
    fn only_kept_members_remain_with_their_exact_values() {
        let page = r#"[{"id":"c1","owner":"https://x/o","x_a":null,"x_b":"","flag":false,
            "x_list":[{"deep":{"er":[1,2.5,"s"]}}],"nested":{"id":"not kept"}}]"#;
        let listed: Vec<Kept> = serde_json::from_str(page).unwrap();
        assert_eq!(
            listed[0].value,
            json!({"id":"c1","x_a":null,"x_b":"","x_list":[{"deep":{"er":[1,2.5,"s"]}}]})
        );
    }

    #[test]
    fn escaped_member_names_are_read_too() {
        let listed: Kept = serde_json::from_str(r#"{"\u0069d":"c1","for\u006dat":1}"#).unwrap();
        assert_eq!(listed.value, json!({"id":"c1"}));
    }

    #[test]
    fn a_contact_that_is_not_an_object_or_is_cut_short_is_an_error() {
        assert!(serde_json::from_str::<Vec<Kept>>(r#"["c1"]"#).is_err());
        assert!(serde_json::from_str::<Vec<Kept>>(r#"[{"id":"c1","x":]"#).is_err());
        assert!(serde_json::from_str::<Vec<Kept>>(r#"[{"id":"c1","skipped":[}]"#).is_err());
    }
}
