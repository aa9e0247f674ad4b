//! Deterministic sample people for the demo and the tests: names, companies, positions,
//! e-mails and phones drawn from small lists by a seeded generator.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};

const FIRST: &[&str] = &[
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Barbara",
    "Ken",
    "Margaret",
    "Dennis",
    "Frances",
    "Edsger",
    "Katherine",
    "Donald",
    "Radia",
    "Tim",
    "Hedy",
    "John",
    "Sophie",
    "Niklaus",
    "Joan",
    "Brian",
];
const LAST: &[&str] = &[
    "Lovelace",
    "Turing",
    "Hopper",
    "Torvalds",
    "Liskov",
    "Thompson",
    "Hamilton",
    "Ritchie",
    "Allen",
    "Dijkstra",
    "Johnson",
    "Knuth",
    "Perlman",
    "Berners-Lee",
    "Lamarr",
    "Backus",
    "Wilson",
    "Wirth",
    "Clarke",
    "Kernighan",
];
const COMPANIES: &[&str] = &[
    "Northwind",
    "Contoso",
    "Fabrikam",
    "Tailspin",
    "Woodgrove",
    "Litware",
    "Adatum",
    "Proseware",
];
const POSITIONS: &[&str] = &[
    "CEO",
    "CTO",
    "Buyer",
    "Engineer",
    "Sales lead",
    "Office manager",
];
const CITIES: &[&str] = &["Oslo", "Vienna", "Lisbon", "Dublin", "Bratislava", "Austin"];

/// One sample person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Given name.
    pub given_name: String,
    /// Surname.
    pub surname: String,
    /// Company.
    pub company: String,
    /// Job title.
    pub job_title: String,
    /// E-mail address (unique per person).
    pub email: String,
    /// Business phone.
    pub phone: String,
    /// City of the business address.
    pub city: String,
}

/// `count` distinct people for `seed`.
pub fn people(seed: u64, count: usize) -> Vec<Person> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|i| {
            let given = FIRST[rng.gen_range(0..FIRST.len())];
            let last = LAST[rng.gen_range(0..LAST.len())];
            let company = COMPANIES[rng.gen_range(0..COMPANIES.len())];
            Person {
                given_name: given.to_owned(),
                surname: last.to_owned(),
                company: company.to_owned(),
                job_title: POSITIONS[rng.gen_range(0..POSITIONS.len())].to_owned(),
                email: format!(
                    "{}.{}{i}@{}.example",
                    given.to_lowercase(),
                    last.to_lowercase().replace('-', ""),
                    company.to_lowercase()
                ),
                phone: format!("+1 555 {:04}", rng.gen_range(0..10_000)),
                city: CITIES[rng.gen_range(0..CITIES.len())].to_owned(),
            }
        })
        .collect()
}

impl Person {
    /// The person as a Graph contact body.
    pub fn graph(&self) -> Value {
        json!({
            "givenName": self.given_name,
            "surname": self.surname,
            "companyName": self.company,
            "jobTitle": self.job_title,
            "emailAddresses": [{ "address": self.email, "name": format!("{} {}", self.given_name, self.surname) }],
            "businessPhones": [self.phone],
            "businessAddress": { "city": self.city },
        })
    }

    /// The person as Pipeliner Contact fields, owned by `owner_id`.
    pub fn pipeliner(&self, owner_id: &str) -> Map<String, Value> {
        let value = json!({
            "owner_id": owner_id,
            "first_name": self.given_name,
            "last_name": self.surname,
            "quick_account_name": self.company,
            "position": self.job_title,
            "email1": self.email,
            "phone1": self.phone,
            "city": self.city,
        });
        value.as_object().cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_are_deterministic_with_unique_emails() {
        let a = people(7, 300);
        assert_eq!(a, people(7, 300));
        let mut emails: Vec<_> = a.iter().map(|p| p.email.clone()).collect();
        emails.sort();
        emails.dedup();
        assert_eq!(emails.len(), 300);
        assert_ne!(people(8, 5), people(7, 5));
        assert_eq!(a[0].graph()["emailAddresses"][0]["address"], a[0].email);
        assert_eq!(a[0].pipeliner("o")["email1"], a[0].email.as_str());
    }
}
