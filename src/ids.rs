//! Identifiers chosen by callers: space ids and user ids. Both are validated once, at the
//! edge, so the rest of the code (storage keys, URLs, logs) can rely on their shape.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The longest id accepted, in bytes.
pub const MAX_ID_LEN: usize = 128;

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
}

fn validate(raw: &str) -> Result<(), IdError> {
    if raw.is_empty() {
        return Err(IdError::Empty);
    }
    if raw.len() > MAX_ID_LEN {
        return Err(IdError::TooLong);
    }
    match raw
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-')))
    {
        Some(bad) => Err(IdError::BadCharacter(bad)),
        None => Ok(()),
    }
}

macro_rules! caller_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates `raw` as an id: 1–128 characters of `[A-Za-z0-9._@-]`.
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
                validate(&raw).map(|()| Self(raw))
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
    };
}

caller_id!(
    /// The id an admin gives a registered Pipeliner space, e.g. `acme`.
    SpaceId
);
caller_id!(
    /// The id a caller gives a user within a space, e.g. `jane@acme.com`.
    UserId
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
    fn deserialising_validates() {
        assert!(serde_json::from_str::<SpaceId>("\"ok\"").is_ok());
        assert!(serde_json::from_str::<SpaceId>("\"no space\"").is_err());
    }
}
