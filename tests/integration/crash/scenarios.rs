//! One create cut off after the upstream applied it, and what a person does with the new
//! record while exsync is down: edits a name or the e-mail, deletes it, or creates the
//! same contact again by hand. After the restart there must be no duplicate and no lost
//! edit, and the record exsync created must be the one it adopted.

use std::time::Duration;

use chrono::NaiveDateTime;
use serde_json::Value;

use super::cards::{by_token, Card, Field, Side};
use super::rig::{CrashRig, PATIENCE};

/// The token of the one person of these scenarios.
const TOKEN: &str = "tok-ada";

/// The person of these scenarios.
fn ada() -> Card {
    Card::full(
        "Ada",
        "Lovelace",
        "Analytical Engines",
        "ada@crash.example",
        "+31205550101",
    )
}

/// A rig with Ann activated and her (empty) first sync done.
async fn ready(seed: u64, delete_protection: bool) -> CrashRig {
    let rig = CrashRig::start(seed).await;
    rig.activate(delete_protection).await;
    rig.until_settled("the first sync is done", PATIENCE).await;
    rig
}

/// A contact's id.
fn id(contact: &Value) -> String {
    contact["id"].as_str().expect("id").to_owned()
}

/// Ada is created on `from` by a person; exsync's copy to the other side is applied and
/// its answer stalled; the rig checks exsync has not committed it (the create is pending,
/// the copy unlinked) and kills exsync. Ada's id on `from` and exsync's copy.
async fn cut_off_copy(rig: &mut CrashRig, from: Side) -> (String, Value) {
    let to = from.other();
    let armed = match to {
        Side::Crm => rig.stall_next_write(Side::Crm, "contacts.batch_modify", 0),
        Side::Exchange => rig.stall_next_write(Side::Exchange, "batch", 0),
    };
    let original = rig.person_creates(from, &ada(), TOKEN);
    let sent = rig.wait_until_stalled(&armed, PATIENCE).await;
    assert!(sent, "exsync never sent the copy\n{}", rig.explain().await);
    rig.until("exsync's copy exists", PATIENCE, || {
        rig.carrying(to, TOKEN).len() == 1
    })
    .await;
    let copy = rig.carrying(to, TOKEN).remove(0);
    let user = rig.user().await;
    assert_eq!(
        user["sync"]["pending_creates"], 1,
        "the create is pending: {user}"
    );
    let copy_id = id(&copy);
    let links = rig.links().await;
    assert!(
        !links
            .iter()
            .any(|l| l["crm_id"] == copy_id.as_str() || l["exchange_id"] == copy_id.as_str()),
        "the copy is not linked yet: {links:?}"
    );
    rig.kill();
    rig.world.graph().clear_faults();
    rig.world.crm().clear_faults();
    (original, copy)
}

/// Waits until `ok` holds for the contacts carrying the token on each side (Exchange,
/// Pipeliner); on time-out panics with both lists and exsync's state.
async fn converge(rig: &CrashRig, what: &str, ok: impl Fn(&[Value], &[Value]) -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let (e, c) = (
            rig.carrying(Side::Exchange, TOKEN),
            rig.carrying(Side::Crm, TOKEN),
        );
        if ok(&e, &c) {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!(
                "timed out waiting until {what}\nExchange: {e:#?}\nPipeliner: {c:#?}\n{}",
                rig.explain().await
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The pairs `(exchange_id, crm_id)` Ann's links hold.
async fn pairs(rig: &CrashRig) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = rig
        .links()
        .await
        .iter()
        .map(|l| (id_of(&l["exchange_id"]), id_of(&l["crm_id"])))
        .collect();
    out.sort();
    out
}

fn id_of(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

/// After convergence and one forced sync: exactly one contact carrying the token per
/// side, both showing `expected`, the ids the scenario started with, linked to each
/// other, no Pipeliner duplicate ever created (deleted ones counted), nothing pending.
async fn assert_one_pair(rig: &CrashRig, expected: &Card, exchange_id: &str, crm_id: &str) {
    converge(rig, "both sides show the person once, as edited", |e, c| {
        e.len() == 1
            && c.len() == 1
            && Card::from_graph(&e[0]) == *expected
            && Card::from_crm(&c[0]) == *expected
    })
    .await;
    rig.forced_sync().await;
    let (e, c) = (
        rig.carrying(Side::Exchange, TOKEN),
        rig.carrying(Side::Crm, TOKEN),
    );
    assert_eq!(e.len(), 1, "one Exchange contact: {e:#?}");
    assert_eq!(c.len(), 1, "one Pipeliner contact: {c:#?}");
    assert_eq!(Card::from_graph(&e[0]), *expected, "Exchange");
    assert_eq!(Card::from_crm(&c[0]), *expected, "Pipeliner");
    assert_eq!(
        id(&e[0]),
        exchange_id,
        "the Exchange contact is the one from before"
    );
    assert_eq!(
        id(&c[0]),
        crm_id,
        "the Pipeliner contact is the one from before"
    );
    let ever = by_token(Side::Crm, &rig.crm_with_deleted()).remove(TOKEN);
    assert_eq!(
        ever.map_or(0, |v| v.len()),
        1,
        "no Pipeliner duplicate, not even deleted"
    );
    let pair = (exchange_id.to_owned(), crm_id.to_owned());
    assert_eq!(pairs(rig).await, vec![pair], "linked to each other");
    assert_eq!(rig.user().await["sync"]["pending_creates"], 0);
}

/// Scenario a: an Exchange create's copy to Pipeliner is cut off and a person edits the
/// copy's `field` while exsync is down.
async fn exchange_copy_edited_while_down(seed: u64, field: Field, value: &str) {
    let mut rig = ready(seed, true).await;
    let (exchange_id, copy) = cut_off_copy(&mut rig, Side::Exchange).await;
    rig.person_edits(Side::Crm, &id(&copy), &[(field, value.to_owned())]);
    rig.restart().await;
    let mut expected = ada();
    expected.set(field, value);
    assert_one_pair(&rig, &expected, &exchange_id, &id(&copy)).await;
    rig.stop().await;
}

#[actix_web::test]
async fn a_cut_off_copy_to_pipeliner_edited_by_name_while_down_is_adopted_with_the_edit() {
    exchange_copy_edited_while_down(201, Field::Given, "Augusta").await;
}

#[actix_web::test]
async fn a_cut_off_copy_to_pipeliner_edited_by_email_while_down_is_adopted_with_the_edit() {
    exchange_copy_edited_while_down(202, Field::Email, "augusta@crash.example").await;
}

#[actix_web::test]
async fn a_cut_off_copy_to_pipeliner_deleted_while_down_deletes_the_exchange_original() {
    let mut rig = ready(203, false).await;
    let (_, copy) = cut_off_copy(&mut rig, Side::Exchange).await;
    rig.world.crm_delete(&id(&copy));
    rig.restart().await;
    converge(&rig, "the person is gone from both sides", |e, c| {
        e.is_empty() && c.is_empty()
    })
    .await;
    rig.forced_sync().await;
    assert!(
        rig.carrying(Side::Exchange, TOKEN).is_empty(),
        "not recreated in Exchange"
    );
    assert!(
        rig.carrying(Side::Crm, TOKEN).is_empty(),
        "not recreated in Pipeliner"
    );
    let ever = by_token(Side::Crm, &rig.crm_with_deleted()).remove(TOKEN);
    assert_eq!(
        ever.map_or(0, |v| v.len()),
        1,
        "only the deleted copy ever existed"
    );
    assert!(pairs(&rig).await.is_empty(), "no link left");
    assert_eq!(rig.user().await["sync"]["pending_creates"], 0);
    rig.stop().await;
}

#[actix_web::test]
async fn a_cut_off_copy_to_exchange_edited_while_down_is_adopted_with_the_edit() {
    let mut rig = ready(204, true).await;
    let (crm_id, copy) = cut_off_copy(&mut rig, Side::Crm).await;
    let edit = [(Field::Surname, "Byron".to_owned())];
    rig.person_edits(Side::Exchange, &id(&copy), &edit);
    rig.restart().await;
    let mut expected = ada();
    expected.set(Field::Surname, "Byron");
    assert_one_pair(&rig, &expected, &id(&copy), &crm_id).await;
    rig.stop().await;
}

/// A first sync cut off after Graph applied its create of Ada's Exchange copy (the delta
/// of a first sync never shows exsync's mark on it), and a person changing Ada's e-mail
/// in Pipeliner while exsync is down: the restarted first sync adopts its copy rather
/// than pairing by e-mail or creating a second one, and the new e-mail crosses.
#[actix_web::test]
async fn a_first_sync_cut_off_after_its_exchange_create_adopts_the_copy() {
    let mut rig = CrashRig::start(206).await;
    let crm_id = rig.person_creates(Side::Crm, &ada(), TOKEN);
    let armed = rig.stall_next_write(Side::Exchange, "batch", 0);
    rig.activate(true).await;
    let sent = rig.wait_until_stalled(&armed, PATIENCE).await;
    assert!(sent, "exsync never sent the copy\n{}", rig.explain().await);
    rig.until("exsync's copy exists", PATIENCE, || {
        rig.carrying(Side::Exchange, TOKEN).len() == 1
    })
    .await;
    let copy = rig.carrying(Side::Exchange, TOKEN).remove(0);
    assert_eq!(rig.user().await["sync"]["initial_sync_done"], false);
    rig.kill();
    rig.world.graph().clear_faults();
    let edit = [(Field::Email, "ada@engines.example".to_owned())];
    rig.person_edits(Side::Crm, &crm_id, &edit);
    rig.restart().await;
    let mut expected = ada();
    expected.set(Field::Email, "ada@engines.example");
    assert_one_pair(&rig, &expected, &id(&copy), &crm_id).await;
    rig.stop().await;
}

/// The whole second Pipeliner stamped on a contact's `created`.
fn created_second(contact: &Value) -> i64 {
    let created = contact["created"].as_str().expect("created");
    NaiveDateTime::parse_from_str(created, "%Y-%m-%dT%H:%M:%S")
        .expect("Pipeliner time")
        .and_utc()
        .timestamp()
}

/// Scenario d. A person who recreates exsync's copy by hand does so at least a second
/// after exsync decided the create (Pipeliner stamps their contact with its own clock):
/// the one case the stamp cannot tell apart, a person's identical contact made within
/// that very second, is left out.
#[actix_web::test]
async fn a_person_recreating_the_cut_off_copy_by_hand_gets_a_contact_of_their_own() {
    let mut rig = ready(205, true).await;
    let (exchange_id, copy) = cut_off_copy(&mut rig, Side::Exchange).await;
    let stamp = created_second(&copy);
    rig.until("the clock passed the copy's second", PATIENCE, || {
        chrono::Utc::now().timestamp() > stamp
    })
    .await;
    let by_hand = rig.person_creates(Side::Crm, &Card::from_crm(&copy), TOKEN);
    rig.restart().await;
    // Bidirectional sync copies the person's new Pipeliner contact to Exchange as a new
    // contact; exsync's own copy stays paired with the original.
    converge(&rig, "two of each, each linked", |e, c| {
        e.len() == 2 && c.len() == 2
    })
    .await;
    rig.forced_sync().await;
    let (e, c) = (
        rig.carrying(Side::Exchange, TOKEN),
        rig.carrying(Side::Crm, TOKEN),
    );
    assert_eq!(
        (e.len(), c.len()),
        (2, 2),
        "Exchange {e:#?}\nPipeliner {c:#?}"
    );
    for contact in &e {
        assert_eq!(Card::from_graph(contact), ada());
    }
    for contact in &c {
        assert_eq!(Card::from_crm(contact), ada());
    }
    let ever = by_token(Side::Crm, &rig.crm_with_deleted()).remove(TOKEN);
    assert_eq!(ever.map_or(0, |v| v.len()), 2, "no third Pipeliner contact");
    let new_exchange = e
        .iter()
        .map(id)
        .find(|i| *i != exchange_id)
        .expect("a new one");
    let mut expected = vec![(exchange_id, id(&copy)), (new_exchange, by_hand)];
    expected.sort();
    assert_eq!(pairs(&rig).await, expected, "exsync adopted its own copy");
    assert_eq!(rig.user().await["sync"]["pending_creates"], 0);
    rig.stop().await;
}
