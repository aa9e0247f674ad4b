//! The field mapping: the default table of DESIGN.md section 5 and admin-defined custom
//! mappings (`cf_*` on Pipeliner, a documented Graph contact property on Exchange), and
//! what a read of either side yields. The conversions between each upstream's JSON and
//! the canonical contact live with its connector (`connectors::graph::mapping`,
//! `connectors::pipeliner::mapping`), which build on these tables.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::contact::{Field, FieldKey};

/// How a custom value is read and compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomKind {
    /// Trimmed text.
    Text,
    /// A calendar date, kept as `YYYY-MM-DD`.
    Date,
}

/// Documented Graph v1.0 contact properties that a custom mapping may use, with their kind.
/// The properties of the default table are not in this list.
pub const GRAPH_CUSTOM_PROPERTIES: &[(&str, CustomKind)] = &[
    ("birthday", CustomKind::Date),
    ("department", CustomKind::Text),
    ("nickName", CustomKind::Text),
    ("businessHomePage", CustomKind::Text),
    ("officeLocation", CustomKind::Text),
    ("profession", CustomKind::Text),
    ("manager", CustomKind::Text),
    ("assistantName", CustomKind::Text),
    ("spouseName", CustomKind::Text),
    ("generation", CustomKind::Text),
    ("initials", CustomKind::Text),
    ("fileAs", CustomKind::Text),
    ("yomiGivenName", CustomKind::Text),
    ("yomiSurname", CustomKind::Text),
    ("yomiCompanyName", CustomKind::Text),
];

/// The Pipeliner api name of each standard field.
pub fn pipeliner_name(f: Field) -> &'static str {
    match f {
        Field::GivenName => "first_name",
        Field::MiddleName => "middle_name",
        Field::Surname => "last_name",
        Field::Title => "title",
        Field::JobTitle => "position",
        Field::Company => "quick_account_name",
        Field::Email1 => "email1",
        Field::Email2 => "email2",
        Field::Email3 => "email3",
        Field::BusinessPhone => "phone1",
        Field::MobilePhone => "phone2",
        Field::HomePhone => "phone3",
        Field::BusinessPhone2 => "phone4",
        Field::HomePhone2 => "phone5",
        Field::Street => "address",
        Field::City => "city",
        Field::State => "state_province",
        Field::PostalCode => "zip_code",
        Field::Country => "country",
        Field::Notes => "comments",
    }
}

/// The standard field whose Pipeliner api name is `name` (the inverse of
/// [`pipeliner_name`]).
pub fn pipeliner_field(name: &str) -> Option<Field> {
    Some(match name {
        "first_name" => Field::GivenName,
        "middle_name" => Field::MiddleName,
        "last_name" => Field::Surname,
        "title" => Field::Title,
        "position" => Field::JobTitle,
        "quick_account_name" => Field::Company,
        "email1" => Field::Email1,
        "email2" => Field::Email2,
        "email3" => Field::Email3,
        "phone1" => Field::BusinessPhone,
        "phone2" => Field::MobilePhone,
        "phone3" => Field::HomePhone,
        "phone4" => Field::BusinessPhone2,
        "phone5" => Field::HomePhone2,
        "address" => Field::Street,
        "city" => Field::City,
        "state_province" => Field::State,
        "zip_code" => Field::PostalCode,
        "country" => Field::Country,
        "comments" => Field::Notes,
        _ => return None,
    })
}

/// One admin-defined mapping between a Graph property and a Pipeliner custom field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomMapping {
    /// Canonical name, unique within the mapping (e.g. `birthday`).
    pub name: String,
    /// Graph contact property (one of [`GRAPH_CUSTOM_PROPERTIES`]).
    pub exchange: String,
    /// Pipeliner custom field api name, starting with `cf_`.
    pub pipeliner: String,
}

impl CustomMapping {
    /// The kind implied by the Graph property (text when unknown).
    pub fn kind(&self) -> CustomKind {
        GRAPH_CUSTOM_PROPERTIES
            .iter()
            .find(|(p, _)| *p == self.exchange)
            .map_or(CustomKind::Text, |(_, k)| *k)
    }
}

/// A space's mapping: the default table plus custom mappings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    /// Custom mappings, in the admin's order.
    pub custom: Vec<CustomMapping>,
}

/// Why a custom mapping is not accepted.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum MappingError {
    /// Name empty or used twice.
    #[error("custom mapping name {0:?} is empty or used twice")]
    BadName(String),
    /// The Graph property is not a documented, unmapped contact property.
    #[error("{0:?} is not a Graph contact property a custom mapping can use (allowed: birthday, department, nickName, businessHomePage, …)")]
    BadExchangeProperty(String),
    /// The Pipeliner field is not a custom field, or is used twice.
    #[error("{0:?} must be a Pipeliner custom field (api name starting with cf_) used by one mapping only")]
    BadPipelinerField(String),
}

impl Mapping {
    /// Checks the custom mappings.
    pub fn validate(&self) -> Result<(), MappingError> {
        let mut names = std::collections::BTreeSet::new();
        let mut graph = std::collections::BTreeSet::new();
        let mut crm = std::collections::BTreeSet::new();
        for m in &self.custom {
            if m.name.trim().is_empty() || !names.insert(m.name.as_str()) {
                return Err(MappingError::BadName(m.name.clone()));
            }
            let known = GRAPH_CUSTOM_PROPERTIES
                .iter()
                .any(|(p, _)| *p == m.exchange);
            if !known || !graph.insert(m.exchange.as_str()) {
                return Err(MappingError::BadExchangeProperty(m.exchange.clone()));
            }
            let cf = m.pipeliner.starts_with("cf_") && m.pipeliner.len() > 3;
            if !cf || !crm.insert(m.pipeliner.as_str()) {
                return Err(MappingError::BadPipelinerField(m.pipeliner.clone()));
            }
        }
        Ok(())
    }

    /// Every mapped field: the standard ones, then the custom ones.
    pub fn keys(&self) -> Vec<FieldKey> {
        Field::ALL
            .iter()
            .map(|f| FieldKey::Std(*f))
            .chain(self.custom.iter().map(|m| FieldKey::Custom(m.name.clone())))
            .collect()
    }

    /// The mapped field that fills a Pipeliner api name, if any.
    pub fn key_for_pipeliner(&self, api_name: &str) -> Option<FieldKey> {
        pipeliner_field(api_name).map(FieldKey::Std).or_else(|| {
            self.custom
                .iter()
                .find(|m| m.pipeliner == api_name)
                .map(|m| FieldKey::Custom(m.name.clone()))
        })
    }

    /// A stable hash of the custom mappings; refusals depend on it.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        for m in &self.custom {
            for part in [&m.name, &m.exchange, &m.pipeliner] {
                h.update((part.len() as u64).to_be_bytes());
                h.update(part.as_bytes());
            }
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Something in a record that could not be carried over, reported and never sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappingWarning {
    /// The property or field concerned.
    pub field: String,
    /// What happened.
    pub message: String,
}

/// Why a record could not be read at all.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ReadError {
    /// Not a JSON object.
    #[error("the record is not a JSON object")]
    NotAnObject,
    /// No usable id.
    #[error("the record has no id")]
    MissingId,
}

/// One record read from a side: a created/changed contact or a delete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Created or changed.
    Upsert(Box<super::input::Upsert>),
    /// Deleted (by id).
    Delete(String),
}

/// A record read from a side, with what could not be carried over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Read {
    /// The change.
    pub change: Change,
    /// Values dropped or not understood.
    pub warnings: Vec<MappingWarning>,
}

/// The mapped fields one read found: a bit per standard field and the custom ones in a
/// short list, so that the common read, which carries every field, builds no set.
#[derive(Debug, Default)]
pub(crate) struct Present {
    std: u32,
    custom: Vec<FieldKey>,
}

impl Present {
    /// Notes a standard field as present.
    pub fn std(&mut self, f: Field) {
        self.std |= 1 << f as u32;
    }

    /// Notes a custom field as present.
    pub fn custom(&mut self, key: FieldKey) {
        self.custom.push(key);
    }

    fn has_std(&self, f: Field) -> bool {
        self.std & (1 << f as u32) != 0
    }

    /// `Full` when every field of `mapping` was found, otherwise the fields found.
    pub fn into_presence(self, mapping: &Mapping) -> super::input::Presence {
        let all_custom = mapping.custom.iter().all(|m| {
            self.custom
                .iter()
                .any(|k| matches!(k, FieldKey::Custom(name) if *name == m.name))
        });
        if all_custom && Field::ALL.iter().all(|f| self.has_std(*f)) {
            return super::input::Presence::Full;
        }
        let mut found: std::collections::BTreeSet<FieldKey> = Field::ALL
            .iter()
            .filter(|f| self.has_std(**f))
            .map(|f| FieldKey::Std(*f))
            .collect();
        found.extend(self.custom);
        super::input::Presence::Partial(found)
    }
}

pub(crate) fn custom_value(
    m: &CustomMapping,
    raw: Option<&str>,
    warnings: &mut Vec<MappingWarning>,
) -> Option<String> {
    let raw = raw.and_then(super::normalize::clean)?;
    match m.kind() {
        CustomKind::Text => Some(raw),
        CustomKind::Date => {
            let d = super::normalize::date_text(&raw);
            if d.is_none() {
                warnings.push(MappingWarning {
                    field: m.name.clone(),
                    message: format!("{raw:?} is not a date; the value is not synced"),
                });
            }
            d
        }
    }
}
