//! Identifiers chosen by callers: space ids and user ids. Both are validated once, at the
//! edge, so the rest of the code (storage keys, URLs, logs) can rely on their shape. An id
//! is also a URL path segment (the admin API's and the Pipeliner webhook's), so it may not
//! start with a dot: `.` and `..` are dot-segments that clients and proxies normalise away,
//! and a leading dot is refused with them to keep the rule simple.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The longest id accepted, in bytes.
pub const MAX_ID_LEN: usize = 128;

/// The id rule as a regular expression, as the OpenAPI spec states it: 1–128 characters
/// of `[A-Za-z0-9._@-]`, the first not a dot.
pub const ID_PATTERN: &str = "^[A-Za-z0-9_@-][A-Za-z0-9._@-]{0,127}$";

/// Why an id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The id is empty.
    #[error("must not be empty")]
    Empty,
    /// The id is longer than [`MAX_ID_LEN`].
    #[error("must be at most {MAX_ID_LEN} characters long")]
    TooLong,
    /// The id holds a character outside `[A-Za-z0-9._@-]`.
    #[error("may only contain letters, digits, '.', '_', '@' and '-' (found {0:?})")]
    BadCharacter(char),
    /// The id starts with a dot (`.` and `..` included): as a URL path segment it would be
    /// normalised away.
    #[error("must not start with '.' (ids like '.' and '..' are URL dot-segments)")]
    LeadingDot,
}

fn validate(raw: &str) -> Result<(), IdError> {
    if raw.is_empty() {
        return Err(IdError::Empty);
    }
    if raw.len() > MAX_ID_LEN {
        return Err(IdError::TooLong);
    }
    if let Some(bad) = raw
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-')))
    {
        return Err(IdError::BadCharacter(bad));
    }
    if raw.starts_with('.') {
        return Err(IdError::LeadingDot);
    }
    Ok(())
}

/// The OpenAPI schema of an id: a string of [`ID_PATTERN`], at most [`MAX_ID_LEN`] long.
fn id_schema(what: &str) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(format!(
            "{what}: 1–{MAX_ID_LEN} characters of letters, digits, '.', '_', '@' and '-', \
             not starting with '.'"
        )))
        .min_length(Some(1))
        .max_length(Some(MAX_ID_LEN))
        .pattern(Some(ID_PATTERN))
        .into()
}

macro_rules! caller_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates `raw` as an id: 1–128 characters of `[A-Za-z0-9._@-]`, the first
            /// not a dot.
            pub fn parse(raw: &str) -> Result<Self, IdError> {
                validate(raw).map(|()| Self(raw.to_owned()))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(raw: String) -> Result<Self, IdError> {
                // Ids read back from the store were checked when they were made; one
                // made before the leading-dot rule still loads, so it can be removed.
                match validate(&raw) {
                    Ok(()) | Err(IdError::LeadingDot) => Ok(Self(raw)),
                    Err(e) => Err(e),
                }
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                id_schema($what)
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

caller_id!(
    /// The id an admin gives a registered Pipeliner space, e.g. `acme`.
    SpaceId,
    "A space id"
);
caller_id!(
    /// The id a caller gives a user within a space, e.g. `jane@acme.com`.
    UserId,
    "A user id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_alphabet() {
        assert!(UserId::parse("jane.doe_1@acme-corp.com").is_ok());
        assert!(SpaceId::parse(&"a".repeat(MAX_ID_LEN)).is_ok());
    }

    #[test]
    fn refuses_empty_long_and_odd_ids() {
        assert_eq!(UserId::parse(""), Err(IdError::Empty));
        assert_eq!(
            UserId::parse(&"a".repeat(MAX_ID_LEN + 1)),
            Err(IdError::TooLong)
        );
        assert_eq!(UserId::parse("a/b"), Err(IdError::BadCharacter('/')));
        assert_eq!(UserId::parse("é"), Err(IdError::BadCharacter('é')));
    }

    #[test]
    fn refuses_dot_segments_and_leading_dots() {
        for raw in [".", "..", "...", ".hidden", "..acme"] {
            assert_eq!(SpaceId::parse(raw), Err(IdError::LeadingDot), "{raw}");
            assert_eq!(UserId::parse(raw), Err(IdError::LeadingDot), "{raw}");
        }
        assert!(SpaceId::parse("acme.").is_ok(), "a dot later on is fine");
        assert!(UserId::parse("jane.doe@acme.com").is_ok());
    }

    #[test]
    fn the_spec_schema_states_the_same_rule() {
        use utoipa::PartialSchema;
        let schema = serde_json::to_value(SpaceId::schema()).unwrap();
        assert_eq!(schema["pattern"], ID_PATTERN);
        assert_eq!(schema["maxLength"], MAX_ID_LEN);
        let samples = [
            ".",
            "..",
            ".x",
            "a/b",
            "é",
            "",
            "jane",
            "jane.doe@acme.com",
            "a.",
        ];
        for raw in samples
            .into_iter()
            .map(str::to_owned)
            .chain(["a".repeat(MAX_ID_LEN), "a".repeat(MAX_ID_LEN + 1)])
        {
            assert_eq!(
                jsonschema::is_valid(&schema, &serde_json::json!(raw)),
                SpaceId::parse(&raw).is_ok(),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn deserialising_validates() {
        assert!(serde_json::from_str::<SpaceId>("\"ok\"").is_ok());
        assert!(serde_json::from_str::<SpaceId>("\"no space\"").is_err());
        assert!(
            serde_json::from_str::<SpaceId>("\"..\"").is_ok(),
            "an id stored before the leading-dot rule still loads"
        );
    }
}
