//! The `$filter`s the simulator understands on a folder's contacts, the two forms the
//! reference documents: by extended property
//! (`singleValueExtendedProperties/any(ep: ep/id eq '…' and ep/value eq '…')`) and by
//! e-mail address (`emailAddresses/any(a:a/address eq '…')`). Any other filter is refused
//! with 400 rather than ignored, so that a client whose filter is lost or garbled on the
//! way (alone or inside a `$batch`) is not answered with every contact of the folder.

use serde_json::Value;

use super::errors::GraphFault;
use super::state::StoredContact;

/// A filter on a folder's contacts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ContactFilter {
    /// The contact carries the extended property `id` (case-insensitive) with `value`.
    Extended { id: String, value: String },
    /// One of the contact's e-mail addresses is this one (case-insensitive).
    Email(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Punct(char),
    Literal(String),
}

fn unsupported(filter: &str) -> GraphFault {
    GraphFault::new(
        400,
        "ErrorInvalidUrlQueryFilter",
        format!("The query filter contains one or more invalid nodes: {filter}"),
    )
}

/// Splits a filter into words (paths, operators), `(`, `)`, `:` and string literals
/// (`''` unescaped).
fn tokens(filter: &str) -> Option<Vec<Token>> {
    let mut out = Vec::new();
    let mut chars = filter.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if "():".contains(c) {
            chars.next();
            out.push(Token::Punct(c));
        } else if c == '\'' {
            chars.next();
            let mut literal = String::new();
            loop {
                match chars.next()? {
                    '\'' if chars.peek() == Some(&'\'') => {
                        chars.next();
                        literal.push('\'');
                    }
                    '\'' => break,
                    c => literal.push(c),
                }
            }
            out.push(Token::Literal(literal));
        } else {
            let mut word = String::new();
            while let Some(&c) = chars
                .peek()
                .filter(|c| !c.is_whitespace() && !"():'".contains(**c))
            {
                word.push(c);
                chars.next();
            }
            out.push(Token::Word(word));
        }
    }
    Some(out)
}

impl ContactFilter {
    /// Reads a filter, or refuses it as Graph refuses one it cannot run.
    pub fn parse(filter: &str) -> Result<Self, GraphFault> {
        use Token::{Literal, Punct, Word};
        let tokens = tokens(filter).ok_or_else(|| unsupported(filter))?;
        let [Word(collection), Punct('('), Word(var), Punct(':'), body @ .., Punct(')')] =
            tokens.as_slice()
        else {
            return Err(unsupported(filter));
        };
        // `{var}/{member} eq '…'` starting at `at`: the member and the literal.
        let clause = |at: usize| match body.get(at..at + 3) {
            Some([Word(path), Word(eq), Literal(literal)]) if eq == "eq" => path
                .strip_prefix(var.as_str())
                .and_then(|p| p.strip_prefix('/'))
                .map(|member| (member, literal.clone())),
            _ => None,
        };
        let parsed = match (collection.as_str(), body.len()) {
            ("emailAddresses/any", 3) => match clause(0) {
                Some(("address", address)) => Some(Self::Email(address)),
                _ => None,
            },
            ("singleValueExtendedProperties/any", 7) if body[3] == Word("and".into()) => {
                match (clause(0), clause(4)) {
                    (Some(("id", id)), Some(("value", value)))
                    | (Some(("value", value)), Some(("id", id))) => {
                        Some(Self::Extended { id, value })
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        parsed.ok_or_else(|| unsupported(filter))
    }

    /// Whether `contact` passes the filter.
    pub fn matches(&self, contact: &StoredContact) -> bool {
        match self {
            Self::Extended { id, value } => contact
                .extended
                .iter()
                .any(|(p, v)| p.eq_ignore_ascii_case(id) && v == value),
            Self::Email(address) => contact
                .body
                .get("emailAddresses")
                .and_then(Value::as_array)
                .is_some_and(|list| {
                    list.iter().any(|e| {
                        e["address"]
                            .as_str()
                            .is_some_and(|a| a.eq_ignore_ascii_case(address))
                    })
                }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_filters_are_read_and_others_refused() {
        assert_eq!(
            ContactFilter::parse(
                "singleValueExtendedProperties/any(ep: ep/id eq 'String {x} Name y' and ep/value eq 'O''Brien')"
            ),
            Ok(ContactFilter::Extended {
                id: "String {x} Name y".into(),
                value: "O'Brien".into()
            })
        );
        assert_eq!(
            ContactFilter::parse(
                "singleValueExtendedProperties/any(p:p/value eq 'v' and p/id eq 'i')"
            ),
            Ok(ContactFilter::Extended {
                id: "i".into(),
                value: "v".into()
            })
        );
        assert_eq!(
            ContactFilter::parse("emailAddresses/any(a:a/address eq 'x@y.com')"),
            Ok(ContactFilter::Email("x@y.com".into()))
        );
        for refused in [
            "displayName eq 'x'",
            "singleValueExtendedProperties/any(ep: ep/id eq 'i')",
            "singleValueExtendedProperties/any(ep: ep/id eq 'i' or ep/value eq 'v')",
            "singleValueExtendedProperties/any(ep: other/id eq 'i' and ep/value eq 'v')",
            "singleValueExtendedProperties/any(ep: ep/id eq 'i' and ep/value eq 'v",
            "emailAddresses/any(a:a/name eq 'x')",
            "",
        ] {
            assert_eq!(
                ContactFilter::parse(refused).map_err(|f| f.status),
                Err(400),
                "{refused}"
            );
        }
    }
}
