//! People as the crash tests see them: the five fields a person edits, and a token in the
//! notes (Graph `personalNotes`, Pipeliner `comments`) that nobody ever edits, which
//! identifies the same person on both sides.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::rig::{CrashRig, ANN};

/// One of the two upstreams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side {
    /// The Exchange folder (Graph simulator).
    Exchange,
    /// Pipeliner (Pipeliner simulator).
    Crm,
}

impl Side {
    /// The other side.
    pub fn other(self) -> Self {
        match self {
            Side::Exchange => Side::Crm,
            Side::Crm => Side::Exchange,
        }
    }
}

/// A field a person edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// Given name: Graph `givenName`, Pipeliner `first_name`.
    Given,
    /// Surname: `surname`, `last_name`.
    Surname,
    /// Company: `companyName`, `quick_account_name`.
    Company,
    /// First e-mail: `emailAddresses[0].address`, `email1`.
    Email,
    /// Business phone: `businessPhones[0]`, `phone1`.
    Phone,
}

impl Field {
    /// Every editable field.
    pub const ALL: [Field; 5] = [
        Field::Given,
        Field::Surname,
        Field::Company,
        Field::Email,
        Field::Phone,
    ];

    /// A Graph PATCH body setting this field to `value`.
    pub fn graph_patch(self, value: &str) -> Value {
        match self {
            Field::Given => json!({ "givenName": value }),
            Field::Surname => json!({ "surname": value }),
            Field::Company => json!({ "companyName": value }),
            Field::Email => json!({ "emailAddresses": [{ "address": value }] }),
            Field::Phone => json!({ "businessPhones": [value] }),
        }
    }

    /// The Pipeliner field name.
    pub fn crm_name(self) -> &'static str {
        match self {
            Field::Given => "first_name",
            Field::Surname => "last_name",
            Field::Company => "quick_account_name",
            Field::Email => "email1",
            Field::Phone => "phone1",
        }
    }
}

/// What a person sees of a contact; `None` for an empty field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Card {
    /// Given name.
    pub given: Option<String>,
    /// Surname.
    pub surname: Option<String>,
    /// Company.
    pub company: Option<String>,
    /// First e-mail.
    pub email: Option<String>,
    /// Business phone.
    pub phone: Option<String>,
}

fn text(value: &Value) -> Option<String> {
    value.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}

impl Card {
    /// A card with every field set.
    pub fn full(given: &str, surname: &str, company: &str, email: &str, phone: &str) -> Self {
        let some = |s: &str| Some(s.to_owned());
        Self {
            given: some(given),
            surname: some(surname),
            company: some(company),
            email: some(email),
            phone: some(phone),
        }
    }

    /// A Graph contact's card.
    pub fn from_graph(c: &Value) -> Self {
        Self {
            given: text(&c["givenName"]),
            surname: text(&c["surname"]),
            company: text(&c["companyName"]),
            email: text(&c["emailAddresses"][0]["address"]),
            phone: text(&c["businessPhones"][0]),
        }
    }

    /// A Pipeliner contact's card.
    pub fn from_crm(c: &Value) -> Self {
        Self {
            given: text(&c["first_name"]),
            surname: text(&c["last_name"]),
            company: text(&c["quick_account_name"]),
            email: text(&c["email1"]),
            phone: text(&c["phone1"]),
        }
    }

    /// A contact of `side` as rendered by its simulator.
    pub fn from_side(side: Side, c: &Value) -> Self {
        match side {
            Side::Exchange => Self::from_graph(c),
            Side::Crm => Self::from_crm(c),
        }
    }

    /// One field's value.
    pub fn get(&self, field: Field) -> Option<&str> {
        self.slot(field).as_deref()
    }

    /// Sets one field.
    pub fn set(&mut self, field: Field, value: &str) {
        *self.slot_mut(field) = Some(value.to_owned());
    }

    fn slot(&self, field: Field) -> &Option<String> {
        match field {
            Field::Given => &self.given,
            Field::Surname => &self.surname,
            Field::Company => &self.company,
            Field::Email => &self.email,
            Field::Phone => &self.phone,
        }
    }

    fn slot_mut(&mut self, field: Field) -> &mut Option<String> {
        match field {
            Field::Given => &mut self.given,
            Field::Surname => &mut self.surname,
            Field::Company => &mut self.company,
            Field::Email => &mut self.email,
            Field::Phone => &mut self.phone,
        }
    }

    /// The body of a Graph create of this card carrying `token` in its notes.
    pub fn graph_body(&self, token: &str) -> Value {
        let mut body = json!({ "personalNotes": token });
        for field in Field::ALL {
            if let Some(value) = self.get(field) {
                let patch = field.graph_patch(value);
                for (key, value) in patch.as_object().into_iter().flatten() {
                    body[key] = value.clone();
                }
            }
        }
        body
    }

    /// The fields of a Pipeliner create of this card, owned by `owner`, carrying `token`.
    pub fn crm_body(&self, owner: &str, token: &str) -> Value {
        let mut body = json!({ "owner_id": owner, "comments": token });
        for field in Field::ALL {
            if let Some(value) = self.get(field) {
                body[field.crm_name()] = json!(value);
            }
        }
        body
    }
}

/// The token in a contact's notes, on `side`.
pub fn token_of(side: Side, c: &Value) -> Option<&str> {
    let notes = match side {
        Side::Exchange => &c["personalNotes"],
        Side::Crm => &c["comments"],
    };
    notes.as_str().filter(|s| !s.is_empty())
}

/// The contacts of `side` grouped by their token (contacts without one under `""`).
pub fn by_token(side: Side, contacts: &[Value]) -> BTreeMap<String, Vec<Value>> {
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for c in contacts {
        let token = token_of(side, c).unwrap_or_default().to_owned();
        out.entry(token).or_default().push(c.clone());
    }
    out
}

impl CrashRig {
    /// Creates a contact of `card` carrying `token` on `side` as a person would; its id.
    pub fn person_creates(&self, side: Side, card: &Card, token: &str) -> String {
        match side {
            Side::Exchange => self
                .world
                .graph()
                .create_contact(ANN, &self.folder, card.graph_body(token))
                .expect("Exchange create")["id"]
                .as_str()
                .expect("id")
                .to_owned(),
            Side::Crm => self.world.crm_create(card.crm_body(&self.owner, token)),
        }
    }

    /// Sets `fields` of contact `id` on `side` as a person would.
    pub fn person_edits(&self, side: Side, id: &str, fields: &[(Field, String)]) {
        let mut patch = json!({});
        for (field, value) in fields {
            match side {
                Side::Exchange => {
                    for (key, value) in field.graph_patch(value).as_object().into_iter().flatten() {
                        patch[key] = value.clone();
                    }
                }
                Side::Crm => patch[field.crm_name()] = json!(value),
            }
        }
        match side {
            Side::Exchange => {
                self.world
                    .graph()
                    .update_contact(ANN, id, patch)
                    .expect("Exchange edit");
            }
            Side::Crm => self.world.crm_update(id, patch),
        }
    }

    /// The contacts of `side` carrying `token`.
    pub fn carrying(&self, side: Side, token: &str) -> Vec<Value> {
        by_token(side, &self.contacts(side))
            .remove(token)
            .unwrap_or_default()
    }
}
