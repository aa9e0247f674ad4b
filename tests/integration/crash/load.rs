//! First syncs cut off while creating in bulk: into a Pipeliner that normalises what it
//! stores (the recovery must still recognise its records, and the sync must settle
//! without writing back and forth), and into Exchange with hundreds of creates (the
//! recovery must cost a few requests, not one per create).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::cards::{by_token, Card, Side};
use super::rig::{CrashRig, ANN, PATIENCE};

/// Every token of `contacts` on `side` appears once and they are exactly `tokens`.
fn once_each(side: Side, contacts: &[Value], tokens: &[String]) -> bool {
    let found = by_token(side, contacts);
    found.len() == tokens.len()
        && tokens
            .iter()
            .all(|t| found.get(t).is_some_and(|list| list.len() == 1))
}

/// A card as Pipeliner stores it when it normalises: text trimmed with whitespace runs
/// collapsed, phones as `+` and digits.
fn normalised(card: &Card) -> Card {
    let text = |v: &Option<String>| {
        v.as_deref()
            .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
    };
    let phone = card.phone.as_deref().map(|s| {
        let digits: String = s.chars().filter(char::is_ascii_digit).collect();
        let plus = if s.trim_start().starts_with('+') {
            "+"
        } else {
            ""
        };
        format!("{plus}{digits}")
    });
    Card {
        given: text(&card.given),
        surname: text(&card.surname),
        company: text(&card.company),
        email: text(&card.email),
        phone,
    }
}

/// Scenario e: 40 Exchange contacts with messy spacing and phones, half of them without
/// an e-mail (so the first sync cannot pair them by address after the restart); the one
/// batch-modify creating them in a normalising Pipeliner is cut off.
#[actix_web::test]
async fn a_first_sync_cut_off_in_a_normalising_pipeliner_converges_and_then_writes_nothing() {
    let mut rig = CrashRig::start(206).await;
    rig.world.crm().set_normalize_on_create(true);
    let tokens: Vec<String> = (0..40).map(|i| format!("tok-e-{i}")).collect();
    let mut originals = BTreeMap::new();
    for (i, token) in tokens.iter().enumerate() {
        let mut body = json!({
            "givenName": format!("  Ada{i}  "),
            "surname": format!("Love   lace {i} "),
            "companyName": format!(" Acme   Corp {i}"),
            "businessPhones": [format!(" +31 (20) 555-{i:04} ")],
            "personalNotes": token,
        });
        if i % 2 == 0 {
            body["emailAddresses"] = json!([{ "address": format!("e{i}@messy.example") }]);
        }
        originals.insert(token.clone(), normalised(&Card::from_graph(&body)));
        rig.world
            .graph()
            .create_contact(ANN, &rig.folder, body)
            .expect("created");
    }
    let armed = rig.stall_next_write(Side::Crm, "contacts.batch_modify", 0);
    rig.activate(true).await;
    assert!(
        rig.wait_until_stalled(&armed, PATIENCE).await,
        "{}",
        rig.explain().await
    );
    rig.until("the 40 creates are applied", PATIENCE, || {
        rig.crm().len() == 40
    })
    .await;
    rig.kill();
    rig.world.crm().clear_faults();
    rig.restart().await;

    rig.until("40 people once on each side", PATIENCE, || {
        once_each(Side::Exchange, &rig.exchange(), &tokens)
            && once_each(Side::Crm, &rig.crm(), &tokens)
    })
    .await;
    rig.until_settled("the first sync is done", PATIENCE).await;
    rig.forced_sync().await;
    let settled = rig.writes();
    rig.forced_sync().await;
    rig.forced_sync().await;
    assert_eq!(
        rig.writes(),
        settled,
        "two more syncs wrote something: a loop"
    );

    assert!(once_each(Side::Exchange, &rig.exchange(), &tokens));
    assert!(once_each(Side::Crm, &rig.crm(), &tokens));
    assert!(
        once_each(Side::Crm, &rig.crm_with_deleted(), &tokens),
        "no Pipeliner duplicate, not even deleted"
    );
    let exchange = by_token(Side::Exchange, &rig.exchange());
    for (token, list) in by_token(Side::Crm, &rig.crm()) {
        let expected = &originals[&token];
        assert_eq!(
            normalised(&Card::from_crm(&list[0])),
            *expected,
            "{token} in Pipeliner"
        );
        let mirror = normalised(&Card::from_graph(&exchange[&token][0]));
        assert_eq!(mirror, *expected, "{token} in Exchange");
    }
    assert_eq!(rig.links().await.len(), 40);
    rig.stop().await;
}

/// Scenario f: 300 Pipeliner contacts copied into an empty folder; the second `$batch`
/// is cut off. After the restart the recovery looks up only the creates that may have
/// been sent (the mark of sent creates runs ahead of the sent ones by at most twice as
/// many), 20 lookups to a `$batch`, no GET by id, and every missing contact is created
/// exactly once.
#[actix_web::test]
async fn recovering_a_large_cut_off_first_sync_costs_a_few_requests_not_one_per_create() {
    let mut rig = CrashRig::start(207).await;
    let total = 300;
    let tokens: Vec<String> = (0..total).map(|i| format!("tok-f-{i}")).collect();
    for (i, token) in tokens.iter().enumerate() {
        let card = Card::full(
            &format!("Given{i}"),
            &format!("Surname{i}"),
            &format!("Company{i}"),
            &format!("f{i}@bulk.example"),
            &format!("+3120{i:07}"),
        );
        rig.person_creates(Side::Crm, &card, token);
    }
    let armed = rig.stall_next_write(Side::Exchange, "batch", 1);
    rig.activate(true).await;
    assert!(
        rig.wait_until_stalled(&armed, PATIENCE).await,
        "{}",
        rig.explain().await
    );
    rig.kill();
    rig.world.graph().clear_faults();
    let made = rig.exchange().len();
    let before = rig.world.graph().request_counts();
    rig.restart().await;

    rig.until("300 people once in Exchange", PATIENCE, || {
        once_each(Side::Exchange, &rig.exchange(), &tokens)
    })
    .await;
    rig.until_settled("the first sync is done", PATIENCE).await;
    let after = rig.world.graph().request_counts();
    let spent = |route: &str| {
        after.get(route).copied().unwrap_or(0) - before.get(route).copied().unwrap_or(0)
    };
    let missing = (total - made) as u64;
    eprintln!(
        "scenario f: {made} of {total} created before the kill; after the restart: {} \
         $batch, {} creates, {} filtered lookups, {} GETs by id, {} delta pages",
        spent("batch"),
        spent("contacts.create"),
        spent("contacts.list"),
        spent("contacts.get"),
        spent("delta"),
    );
    assert!(made >= 20 && made < total, "the cut came mid-way: {made}");
    assert_eq!(
        spent("contacts.create"),
        missing,
        "each missing contact created once"
    );
    let lookups = spent("contacts.list");
    assert!(
        lookups >= made as u64 && lookups <= 3 * made as u64,
        "{lookups} `$filter` lookups: the {made} sent creates, and no more than the mark \
         of possibly sent ones allows, not one per pending create"
    );
    assert_eq!(spent("contacts.get"), 0, "no GET per pending create");
    assert!(
        spent("batch") <= missing.div_ceil(20) + lookups.div_ceil(20) + 1,
        "{} $batch requests for {missing} creates and {lookups} lookups",
        spent("batch")
    );
    assert!(
        once_each(Side::Crm, &rig.crm(), &tokens),
        "nothing created back"
    );
    rig.stop().await;
}
