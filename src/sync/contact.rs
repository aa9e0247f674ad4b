//! The canonical contact: the fields of the default mapping table (DESIGN.md section 5) plus
//! the values of admin-defined custom mappings. Both sides are converted into this shape
//! before planning, and every comparison happens on it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::normalize;

/// A field of the default mapping table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// Given name.
    GivenName,
    /// Middle name.
    MiddleName,
    /// Surname.
    Surname,
    /// Honorific (Mr., Dr.).
    Title,
    /// Job title.
    JobTitle,
    /// Company name.
    Company,
    /// First e-mail address.
    Email1,
    /// Second e-mail address.
    Email2,
    /// Third e-mail address.
    Email3,
    /// First business phone.
    BusinessPhone,
    /// Mobile phone.
    MobilePhone,
    /// First home phone.
    HomePhone,
    /// Second business phone.
    BusinessPhone2,
    /// Second home phone.
    HomePhone2,
    /// Business address: street.
    Street,
    /// Business address: city.
    City,
    /// Business address: state or province.
    State,
    /// Business address: postal code.
    PostalCode,
    /// Business address: country or region.
    Country,
    /// Free-form notes.
    Notes,
}

/// How values of a field are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    /// Trimmed text, compared exactly.
    Text,
    /// E-mail address, compared case-insensitively.
    Email,
    /// Phone number, compared verbatim after trimming.
    Phone,
}

/// The e-mail slots, filled from the first one on.
pub const EMAIL_SLOTS: [Field; 3] = [Field::Email1, Field::Email2, Field::Email3];
/// The business phone slots.
pub const BUSINESS_PHONE_SLOTS: [Field; 2] = [Field::BusinessPhone, Field::BusinessPhone2];
/// The home phone slots.
pub const HOME_PHONE_SLOTS: [Field; 2] = [Field::HomePhone, Field::HomePhone2];
/// The business address parts (one Graph property, written as a whole).
pub const ADDRESS_PARTS: [Field; 5] = [
    Field::Street,
    Field::City,
    Field::State,
    Field::PostalCode,
    Field::Country,
];

impl Field {
    /// Every standard field, in table order.
    pub const ALL: [Field; 20] = [
        Field::GivenName,
        Field::MiddleName,
        Field::Surname,
        Field::Title,
        Field::JobTitle,
        Field::Company,
        Field::Email1,
        Field::Email2,
        Field::Email3,
        Field::BusinessPhone,
        Field::MobilePhone,
        Field::HomePhone,
        Field::BusinessPhone2,
        Field::HomePhone2,
        Field::Street,
        Field::City,
        Field::State,
        Field::PostalCode,
        Field::Country,
        Field::Notes,
    ];

    /// The field's snake_case name, as in serde and the journal.
    pub fn name(self) -> &'static str {
        match self {
            Field::GivenName => "given_name",
            Field::MiddleName => "middle_name",
            Field::Surname => "surname",
            Field::Title => "title",
            Field::JobTitle => "job_title",
            Field::Company => "company",
            Field::Email1 => "email1",
            Field::Email2 => "email2",
            Field::Email3 => "email3",
            Field::BusinessPhone => "business_phone",
            Field::MobilePhone => "mobile_phone",
            Field::HomePhone => "home_phone",
            Field::BusinessPhone2 => "business_phone2",
            Field::HomePhone2 => "home_phone2",
            Field::Street => "street",
            Field::City => "city",
            Field::State => "state",
            Field::PostalCode => "postal_code",
            Field::Country => "country",
            Field::Notes => "notes",
        }
    }

    /// How values of this field compare.
    pub fn kind(self) -> ValueKind {
        match self {
            Field::Email1 | Field::Email2 | Field::Email3 => ValueKind::Email,
            Field::BusinessPhone
            | Field::MobilePhone
            | Field::HomePhone
            | Field::BusinessPhone2
            | Field::HomePhone2 => ValueKind::Phone,
            _ => ValueKind::Text,
        }
    }

    /// The fields that are written together with this one: Graph stores e-mails, business
    /// phones, home phones and the address as one property each, so a change to one slot
    /// sends the whole group (on both sides, to keep slot positions aligned).
    pub fn group(self) -> &'static [Field] {
        match self {
            Field::Email1 | Field::Email2 | Field::Email3 => &EMAIL_SLOTS,
            Field::BusinessPhone | Field::BusinessPhone2 => &BUSINESS_PHONE_SLOTS,
            Field::HomePhone | Field::HomePhone2 => &HOME_PHONE_SLOTS,
            Field::Street | Field::City | Field::State | Field::PostalCode | Field::Country => {
                &ADDRESS_PARTS
            }
            Field::GivenName => &[Field::GivenName],
            Field::MiddleName => &[Field::MiddleName],
            Field::Surname => &[Field::Surname],
            Field::Title => &[Field::Title],
            Field::JobTitle => &[Field::JobTitle],
            Field::Company => &[Field::Company],
            Field::MobilePhone => &[Field::MobilePhone],
            Field::Notes => &[Field::Notes],
        }
    }
}

/// A mapped field: a standard one or the canonical name of a custom mapping.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKey {
    /// A field of the default table.
    Std(Field),
    /// A custom mapping, by its canonical name.
    Custom(String),
}

impl FieldKey {
    /// How values of this key compare (custom values are normalised when read).
    pub fn kind(&self) -> ValueKind {
        match self {
            FieldKey::Std(f) => f.kind(),
            FieldKey::Custom(_) => ValueKind::Text,
        }
    }

    /// A short human name for messages and the journal.
    pub fn label(&self) -> String {
        match self {
            FieldKey::Std(f) => f.name().to_owned(),
            FieldKey::Custom(name) => name.clone(),
        }
    }
}

/// The canonical contact. Values are trimmed and never empty: an absent value is `None`,
/// and is left out of the stored JSON (link snapshots hold two contacts per link, most of
/// whose fields are usually empty).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// Given name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// Middle name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// Surname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surname: Option<String>,
    /// Honorific.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Job title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    /// Company.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    /// E-mail 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email1: Option<String>,
    /// E-mail 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email2: Option<String>,
    /// E-mail 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email3: Option<String>,
    /// Business phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_phone: Option<String>,
    /// Mobile phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_phone: Option<String>,
    /// Home phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_phone: Option<String>,
    /// Business phone 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_phone2: Option<String>,
    /// Home phone 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_phone2: Option<String>,
    /// Street.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// State or province.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// Country or region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Values of custom mappings, by canonical mapping name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom: BTreeMap<String, String>,
}

impl Contact {
    fn slot(&self, f: Field) -> &Option<String> {
        match f {
            Field::GivenName => &self.given_name,
            Field::MiddleName => &self.middle_name,
            Field::Surname => &self.surname,
            Field::Title => &self.title,
            Field::JobTitle => &self.job_title,
            Field::Company => &self.company,
            Field::Email1 => &self.email1,
            Field::Email2 => &self.email2,
            Field::Email3 => &self.email3,
            Field::BusinessPhone => &self.business_phone,
            Field::MobilePhone => &self.mobile_phone,
            Field::HomePhone => &self.home_phone,
            Field::BusinessPhone2 => &self.business_phone2,
            Field::HomePhone2 => &self.home_phone2,
            Field::Street => &self.street,
            Field::City => &self.city,
            Field::State => &self.state,
            Field::PostalCode => &self.postal_code,
            Field::Country => &self.country,
            Field::Notes => &self.notes,
        }
    }

    fn slot_mut(&mut self, f: Field) -> &mut Option<String> {
        match f {
            Field::GivenName => &mut self.given_name,
            Field::MiddleName => &mut self.middle_name,
            Field::Surname => &mut self.surname,
            Field::Title => &mut self.title,
            Field::JobTitle => &mut self.job_title,
            Field::Company => &mut self.company,
            Field::Email1 => &mut self.email1,
            Field::Email2 => &mut self.email2,
            Field::Email3 => &mut self.email3,
            Field::BusinessPhone => &mut self.business_phone,
            Field::MobilePhone => &mut self.mobile_phone,
            Field::HomePhone => &mut self.home_phone,
            Field::BusinessPhone2 => &mut self.business_phone2,
            Field::HomePhone2 => &mut self.home_phone2,
            Field::Street => &mut self.street,
            Field::City => &mut self.city,
            Field::State => &mut self.state,
            Field::PostalCode => &mut self.postal_code,
            Field::Country => &mut self.country,
            Field::Notes => &mut self.notes,
        }
    }

    /// The value of a standard field.
    pub fn field(&self, f: Field) -> Option<&str> {
        self.slot(f).as_deref()
    }

    /// The value of any mapped field.
    pub fn get(&self, key: &FieldKey) -> Option<&str> {
        match key {
            FieldKey::Std(f) => self.field(*f),
            FieldKey::Custom(name) => self.custom.get(name).map(String::as_str),
        }
    }

    /// Sets a mapped field; the value is trimmed and an empty one clears the field.
    pub fn set(&mut self, key: &FieldKey, value: Option<&str>) {
        let value = value.and_then(normalize::clean);
        match key {
            FieldKey::Std(f) => *self.slot_mut(*f) = value,
            FieldKey::Custom(name) => match value {
                Some(v) => {
                    self.custom.insert(name.clone(), v);
                }
                None => {
                    self.custom.remove(name);
                }
            },
        }
    }

    /// Builder form of [`Contact::set`] for a standard field.
    pub fn with(mut self, f: Field, value: &str) -> Self {
        self.set(&FieldKey::Std(f), Some(value));
        self
    }

    /// Moves e-mails and phones up so that no slot is empty before a filled one, the shape
    /// Graph's arrays give them. Applied to both sides so slot positions compare.
    pub fn compact_slots(&mut self) {
        for group in [&EMAIL_SLOTS[..], &BUSINESS_PHONE_SLOTS, &HOME_PHONE_SLOTS] {
            let mut next = 0;
            for read in 0..group.len() {
                if self.slot(group[read]).is_some() {
                    if read != next {
                        let v = self.slot_mut(group[read]).take();
                        *self.slot_mut(group[next]) = v;
                    }
                    next += 1;
                }
            }
        }
    }

    /// Restores the canonical form after fields were filled directly: values trimmed,
    /// empty ones absent, slots compacted. Allocates only for values that need trimming.
    pub fn tidy(&mut self) {
        for f in Field::ALL {
            let slot = self.slot_mut(f);
            if let Some(v) = slot.as_deref() {
                if v.trim().len() != v.len() || v.is_empty() {
                    *slot = normalize::clean(v);
                }
            }
        }
        self.custom.retain(|_, v| !v.trim().is_empty());
        for v in self.custom.values_mut() {
            if v.trim().len() != v.len() {
                *v = v.trim().to_owned();
            }
        }
        self.compact_slots();
    }

    /// The normalised first e-mail address, the key for first-sync matching.
    pub fn match_key(&self) -> Option<String> {
        EMAIL_SLOTS
            .iter()
            .find_map(|f| self.field(*f))
            .map(normalize::email_key)
    }

    /// Whether no mapped field has a value.
    pub fn is_empty(&self) -> bool {
        Field::ALL.iter().all(|f| self.slot(*f).is_none()) && self.custom.is_empty()
    }
}
