//! Normalising the values of a create, as real Pipeliner may: with the switch on
//! ([`PipelinerControl::set_normalize_on_create`]), text fields are stored trimmed with
//! runs of whitespace collapsed to one space, and phone fields in one canonical form.
//! Updates are stored as sent. Off by default.
//!
//! [`PipelinerControl::set_normalize_on_create`]: super::PipelinerControl::set_normalize_on_create

use serde_json::{Map, Value};

use super::contact_model::TEXT_FIELDS;
use super::writes::ContactOp;

/// The phone fields of the Contact schema.
const PHONE_FIELDS: [&str; 5] = ["phone1", "phone2", "phone3", "phone4", "phone5"];

/// Normalises the values of every create in `ops`; other writes pass unchanged.
pub(crate) fn normalize_creates(ops: Vec<ContactOp>) -> Vec<ContactOp> {
    ops.into_iter()
        .map(|op| match op {
            ContactOp::Create(mut input) => {
                normalize_input(&mut input);
                ContactOp::Create(input)
            }
            other => other,
        })
        .collect()
}

/// Normalises the string values of standard text fields, `cf_*` fields and phones.
fn normalize_input(input: &mut Map<String, Value>) {
    for (key, value) in input.iter_mut() {
        let Value::String(s) = value else { continue };
        if PHONE_FIELDS.contains(&key.as_str()) {
            *s = normalize_phone(s);
        } else if TEXT_FIELDS.contains(&key.as_str()) || key.starts_with("cf_") {
            *s = normalize_text(s);
        }
    }
}

/// Trimmed, with every run of whitespace inside collapsed to one space.
pub(crate) fn normalize_text(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// E.164-like: a leading `+` when the value starts with one, then its ASCII digits and
/// nothing else (`" +1 (555) 010-0100 "` → `"+15550100100"`). A value without digits is
/// only trimmed and collapsed, so no text is lost to the format.
pub(crate) fn normalize_phone(s: &str) -> String {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return normalize_text(s);
    }
    let plus = if s.trim_start().starts_with('+') {
        "+"
    } else {
        ""
    };
    format!("{plus}{digits}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SAMPLES: [&str; 9] = [
        " +1 (555) 010-0100 ",
        "555 0100",
        "+47  22 00\t00 00",
        "  Ann   Lee ",
        "n/a",
        "",
        "   ",
        "+",
        "(0) 12-34 ext. 5",
    ];

    #[test]
    fn normalising_twice_changes_nothing() {
        for s in SAMPLES {
            let phone = normalize_phone(s);
            assert_eq!(normalize_phone(&phone), phone, "{s:?}");
            let text = normalize_text(s);
            assert_eq!(normalize_text(&text), text, "{s:?}");
        }
    }

    #[test]
    fn phones_and_text_take_their_canonical_forms() {
        assert_eq!(normalize_phone(" +1 (555) 010-0100 "), "+15550100100");
        assert_eq!(normalize_phone("555 0100"), "5550100");
        assert_eq!(normalize_phone("  n/a  "), "n/a");
        assert_eq!(normalize_text("  Ann \t  Lee "), "Ann Lee");
    }

    #[test]
    fn only_creates_and_only_text_values_change() {
        let messy = json!({"first_name": "  Ann   Lee ", "phone2": " +1 (555) 010-0100 ",
            "cf_note": " a  b ", "gender": 1, "owner_id": " x "});
        let Value::Object(map) = messy else {
            unreachable!("an object")
        };
        let ops = normalize_creates(vec![
            ContactOp::Create(map.clone()),
            ContactOp::Update("id".into(), map.clone()),
        ]);
        let ContactOp::Create(created) = &ops[0] else {
            panic!("a create")
        };
        assert_eq!(
            Value::Object(created.clone()),
            json!({"first_name": "Ann Lee", "phone2": "+15550100100", "cf_note": "a b",
                "gender": 1, "owner_id": " x "})
        );
        assert!(matches!(&ops[1], ContactOp::Update(_, m) if *m == map));
    }
}
