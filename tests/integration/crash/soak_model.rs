//! The soak's people and its model of them: every person's expected card is the last
//! edit made to it on either side, and people only make edits that keep that
//! expectation unambiguous.
//!
//! Each field of a person is edited on one side only, chosen when the person is created
//! (their names on one side, the rest on the other): edits of different fields on both
//! sides must all survive the field-level merge, while two edits of one field on both
//! sides would be a conflict that `newest` settles by the records' modification times,
//! which a write of exsync's cut off before its commit can make newer than a person's
//! later edit on the other side. A person is edited on a side only when that side shows
//! them exactly once and exactly as the model expects, so no edit of theirs is still on
//! its way to that side, and never sooner than [`CROSS_SIDE_GAP`] after their last edit
//! on the other side.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use super::cards::{by_token, Card, Field, Side};
use super::rig::CrashRig;

/// How long after a person's edit on one side they may be edited on the other: Pipeliner
/// stamps `modified` in whole seconds, so closer edits could tie under `newest`.
const CROSS_SIDE_GAP: Duration = Duration::from_millis(1100);

/// One person.
#[derive(Debug)]
pub struct Person {
    /// The token in their notes.
    pub token: String,
    /// What both sides must show in the end.
    pub card: Card,
    /// Where they were first created.
    origin: Side,
    /// The side their given name and surname are edited on; the other fields are edited
    /// on the other side.
    names_on: Side,
    /// Where and when they were last created or edited.
    last_edit: (Side, Instant),
    /// What happened to them, for failure messages.
    history: Vec<String>,
}

/// Both sides' contacts by token, read at one moment.
pub struct Seen {
    exchange: BTreeMap<String, Vec<Value>>,
    crm: BTreeMap<String, Vec<Value>>,
}

impl Seen {
    /// Reads both simulators.
    pub fn read(rig: &CrashRig) -> Self {
        Self {
            exchange: by_token(Side::Exchange, &rig.exchange()),
            crm: by_token(Side::Crm, &rig.crm()),
        }
    }

    fn side(&self, side: Side) -> &BTreeMap<String, Vec<Value>> {
        match side {
            Side::Exchange => &self.exchange,
            Side::Crm => &self.crm,
        }
    }

    /// The one contact of `side` carrying `token`, if there is exactly one.
    fn one(&self, side: Side, token: &str) -> Option<&Value> {
        match self.side(side).get(token).map(Vec::as_slice) {
            Some([contact]) => Some(contact),
            _ => None,
        }
    }
}

/// The people, the expected state, and the randomness driving them.
pub struct Model {
    /// Everyone created so far.
    pub people: Vec<Person>,
    /// The seeded source of every choice.
    pub rng: StdRng,
    /// What is happening now (e.g. `round 3, down`), for histories.
    pub moment: String,
    serial: u64,
}

impl Model {
    /// No people yet.
    pub fn new(seed: u64) -> Self {
        Self {
            people: Vec::new(),
            rng: StdRng::seed_from_u64(seed),
            moment: "setup".into(),
            serial: 0,
        }
    }

    /// A value never used before.
    fn value(&mut self, field: Field) -> String {
        self.serial += 1;
        let n = self.serial;
        match field {
            Field::Given => format!("Given{n}"),
            Field::Surname => format!("Surname{n}"),
            Field::Company => format!("Company{n}"),
            Field::Email => format!("p{n}@soak.example"),
            Field::Phone => format!("+3120{n:07}"),
        }
    }

    /// A new person creates themselves on `side`.
    pub fn create(&mut self, rig: &CrashRig, side: Side) {
        let mut card = Card::default();
        for field in Field::ALL {
            card.set(field, &self.value(field));
        }
        let token = format!("tok-{}", self.people.len());
        rig.person_creates(side, &card, &token);
        let names_on = if self.rng.gen_bool(0.5) {
            Side::Exchange
        } else {
            Side::Crm
        };
        self.people.push(Person {
            token,
            card,
            origin: side,
            names_on,
            last_edit: (side, Instant::now()),
            history: vec![format!("{}: created on {side:?}", self.moment)],
        });
    }

    /// Whether person `i` may be edited on `side` now (see the module documentation).
    fn editable(&self, seen: &Seen, i: usize, side: Side) -> bool {
        let person = &self.people[i];
        let (last, at) = person.last_edit;
        (last == side || at.elapsed() >= CROSS_SIDE_GAP)
            && seen
                .one(side, &person.token)
                .is_some_and(|c| Card::from_side(side, c) == person.card)
    }

    /// `count` people each edit one or two fields on a random side. With `prefer_copies`
    /// most edits go to the records exsync created most recently (copies of people made
    /// on the other side, newest `created` first).
    pub fn edit_some(&mut self, rig: &CrashRig, count: usize, prefer_copies: bool) {
        let seen = Seen::read(rig);
        let mut edited = Vec::new();
        for _ in 0..count {
            let side = if self.rng.gen_bool(0.5) {
                Side::Exchange
            } else {
                Side::Crm
            };
            let mut candidates: Vec<usize> = (0..self.people.len())
                .filter(|i| !edited.contains(i) && self.editable(&seen, *i, side))
                .collect();
            if prefer_copies && self.rng.gen_bool(0.7) {
                let created = |i: &usize| {
                    let key = if side == Side::Exchange {
                        "createdDateTime"
                    } else {
                        "created"
                    };
                    seen.one(side, &self.people[*i].token)
                        .and_then(|c| c[key].as_str().map(str::to_owned))
                };
                candidates.retain(|i| self.people[*i].origin != side);
                candidates.sort_by_key(|i| std::cmp::Reverse(created(i)));
                candidates.truncate(3);
            }
            let Some(&i) = candidates.choose(&mut self.rng) else {
                continue;
            };
            let id = seen.one(side, &self.people[i].token).expect("editable")["id"]
                .as_str()
                .expect("id")
                .to_owned();
            let names = self.people[i].names_on == side;
            let owned: Vec<Field> = Field::ALL
                .into_iter()
                .filter(|f| matches!(f, Field::Given | Field::Surname) == names)
                .collect();
            let how_many = self.rng.gen_range(1..=2);
            let chosen: Vec<Field> = owned
                .choose_multiple(&mut self.rng, how_many)
                .copied()
                .collect();
            let fields: Vec<(Field, String)> =
                chosen.into_iter().map(|f| (f, self.value(f))).collect();
            rig.person_edits(side, &id, &fields);
            let person = &mut self.people[i];
            for (field, value) in &fields {
                person.card.set(*field, value);
            }
            person.last_edit = (side, Instant::now());
            person
                .history
                .push(format!("{}: edited on {side:?} {fields:?}", self.moment));
            edited.push(i);
        }
    }

    /// Where the simulators differ from the model; empty once converged.
    pub fn differences(&self, seen: &Seen) -> Vec<String> {
        let mut out = Vec::new();
        for side in [Side::Exchange, Side::Crm] {
            let found = seen.side(side);
            for person in &self.people {
                let token = &person.token;
                match found.get(token).map(Vec::as_slice) {
                    None | Some([]) => out.push(format!("{token} missing on {side:?}")),
                    Some([contact]) => {
                        let card = Card::from_side(side, contact);
                        if card != person.card {
                            out.push(format!("{token} on {side:?} shows {card:?}"));
                        }
                    }
                    Some(list) => out.push(format!("{token} {} times on {side:?}", list.len())),
                }
            }
            let strays = found
                .keys()
                .filter(|t| !self.people.iter().any(|p| &p.token == *t));
            for token in strays {
                out.push(format!("unknown contact(s) {token:?} on {side:?}"));
            }
        }
        out
    }

    /// The differences with the model card and history of each person involved.
    pub fn explain(&self, differences: &[String]) -> String {
        let mut out = Vec::new();
        for line in differences.iter().take(20) {
            out.push(line.clone());
            let token = line.split_whitespace().next().unwrap_or_default();
            if let Some(person) = self.people.iter().find(|p| p.token == token) {
                out.push(format!("  expected {:?}", person.card));
                for event in &person.history {
                    out.push(format!("  {event}"));
                }
            }
        }
        out.join("\n")
    }
}
