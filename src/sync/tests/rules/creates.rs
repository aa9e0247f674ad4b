//! Creates: first-sync matching, the required-field rule, interrupted creates.

use super::super::support::*;
use super::ada;
use crate::sync::contact::{Field, FieldKey};
use crate::sync::input::{Listing, PendingIntent, Side};
use crate::sync::output::{LinkChange, RecordId};
use crate::sync::settings::SyncType;
use crate::sync::{plan, IntentId};

#[test]
fn first_sync_pairs_by_email_before_creating_and_never_deletes() {
    let mut i = input(settings(SyncType::Bidirectional));
    i.first_sync = true;
    i.exchange.listing = Listing::Full;
    i.crm.listing = Listing::Full;
    i.exchange.upserts = vec![
        up(
            "e1",
            person("Ada", " ADA@example.com ").with(Field::JobTitle, "CTO"),
        ),
        up("e2", person("Bob", "bob@example.com")),
    ];
    i.crm.upserts = vec![
        up(
            "c1",
            person("Ada", "ada@example.com").with(Field::City, "Paris"),
        ),
        up("c3", person("Cy", "cy@example.com")),
    ];
    let p = plan(&i);
    assert!(p.links.iter().any(|l| matches!(
        l,
        LinkChange::Link { exchange: RecordId::Known(e), crm: RecordId::Known(c), .. } if e == "e1" && c == "c1"
    )));
    assert_eq!(creates(&p, Side::Crm).len(), 1);
    assert_eq!(creates(&p, Side::Exchange).len(), 1);
    assert_eq!(
        updates(&p, Side::Crm),
        vec![("c1", vec!["job_title".to_owned()])]
    );
    assert!(deletes(&p, Side::Exchange).is_empty() && deletes(&p, Side::Crm).is_empty());
    assert!(p.conflicts.is_empty());
}

#[test]
fn creates_follow_the_order_the_side_reported_and_a_plan_repeats_itself() {
    let mut i = input(settings(SyncType::Bidirectional));
    i.exchange.upserts = ["e3", "e1", "e2", "e1"]
        .iter()
        .map(|id| up(id, person(id, &format!("{id}@example.com"))))
        .collect();
    i.exchange.deletes = vec!["e2".to_owned()];
    let p = plan(&i);
    let names: Vec<_> = creates(&p, Side::Crm)
        .iter()
        .map(|c| c.given_name.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        names,
        ["e3", "e1"],
        "first reported first, the deleted one left out"
    );
    assert_eq!(format!("{:?}", plan(&i)), format!("{p:?}"));
}

#[test]
fn contacts_without_email_are_created_not_matched_by_name() {
    let mut i = input(settings(SyncType::Bidirectional));
    i.first_sync = true;
    let nameless = crate::sync::Contact::default().with(Field::GivenName, "Ada");
    i.exchange.upserts = vec![up("e1", nameless.clone())];
    i.crm.upserts = vec![up("c1", nameless)];
    let p = plan(&i);
    assert_eq!(creates(&p, Side::Crm).len(), 1);
    assert_eq!(creates(&p, Side::Exchange).len(), 1);
}

#[test]
fn required_field_rule_refuses_creates_once_and_keeps_updating() {
    let mut i = with_links(
        input(settings(SyncType::Bidirectional)),
        vec![link("e1", "c1", &ada())],
    );
    i.required_crm_fields = vec!["cf_region".into(), "owner_id".into()];
    i.exchange.upserts = vec![
        up("e2", person("Bob", "bob@example.com")),
        up("e1", ada().with(Field::City, "Oslo")),
    ];
    let p = plan(&i);
    assert!(creates(&p, Side::Crm).is_empty());
    assert_eq!(
        updates(&p, Side::Crm).len(),
        1,
        "updates to existing contacts go on"
    );
    assert_eq!(p.errors.len(), 1);
    assert_eq!(p.errors[0].id, "e2");
    assert!(p.errors[0].message.starts_with(
        "cannot create in Pipeliner: space requires field cf_region that no mapping fills"
    ));
    // Remembered: the same refusal is not reported (nor attempted) again.
    i.refusals = p.refusals.clone();
    let again = plan(&i);
    assert!(again.errors.is_empty() && creates(&again, Side::Crm).is_empty());
    // The mapping changes: the create goes ahead.
    i.mapping.custom = vec![crate::sync::CustomMapping {
        name: "region".into(),
        exchange: "department".into(),
        pipeliner: "cf_region".into(),
    }];
    i.exchange.upserts[0]
        .contact
        .set(&FieldKey::Custom("region".into()), Some("North"));
    let after = plan(&i);
    assert_eq!(creates(&after, Side::Crm).len(), 1);
    // A mapped but empty required field is refused with its own sentence.
    i.exchange.upserts[0].contact.custom.clear();
    i.refusals.clear();
    let empty = plan(&i);
    assert!(empty.errors[0]
        .message
        .contains("which is empty for this contact"));
}

#[test]
fn interrupted_create_is_adopted_not_duplicated() {
    let mut i = input(settings(SyncType::Bidirectional));
    let intent = IntentId::for_create(Side::Crm, "e1");
    i.intents = vec![PendingIntent {
        id: intent.clone(),
        target: Side::Crm,
        source_id: "e1".into(),
        contact: ada(),
        stamp: None,
        seq: None,
    }];
    i.exchange.upserts = vec![up("e1", ada())];
    let mut created = up("c7", ada());
    created.intent = Some(intent.clone());
    i.crm.upserts = vec![created];
    let p = plan(&i);
    assert_eq!(p.write_count(), 0);
    assert!(p.links.iter().any(|l| matches!(
        l,
        LinkChange::Link { resolves: Some(r), .. } if *r == intent
    )));
    // Without the created record, the create is retried under the same intent.
    i.crm.upserts.clear();
    let p = plan(&i);
    assert_eq!(creates(&p, Side::Crm).len(), 1);
    assert!(p.stale_intents.is_empty());
}

/// A pending create into Pipeliner of Exchange record e1 with Ada's values.
fn pending_ada() -> (IntentId, PendingIntent) {
    let intent = IntentId::for_create(Side::Crm, "e1");
    let pending = PendingIntent {
        id: intent.clone(),
        target: Side::Crm,
        source_id: "e1".into(),
        contact: ada(),
        stamp: None,
        seq: Some(0),
    };
    (intent, pending)
}

#[test]
fn an_interrupted_create_edited_since_is_adopted_and_the_edit_crosses() {
    let mut i = input(settings(SyncType::Bidirectional));
    let (intent, pending) = pending_ada();
    i.intents = vec![pending];
    i.exchange.upserts = vec![up("e1", ada())];
    let mut created = up("c7", ada().with(Field::Company, "Analytical Engines"));
    created.intent = Some(intent.clone());
    i.crm.upserts = vec![created];
    let p = plan(&i);
    assert!(creates(&p, Side::Crm).is_empty(), "not created again");
    assert!(
        creates(&p, Side::Exchange).is_empty(),
        "not copied back as new"
    );
    assert_eq!(
        updates(&p, Side::Exchange),
        vec![("e1", vec!["company".to_owned()])],
        "the person's edit reaches Exchange"
    );
}

#[test]
fn an_interrupted_create_deleted_since_passes_the_delete_on_unless_its_source_was_edited() {
    let mut i = input(settings(SyncType::Bidirectional));
    let (intent, pending) = pending_ada();
    i.intents = vec![pending];
    i.exchange.upserts = vec![up("e1", ada())];
    i.crm.deletes = vec!["c7".into()];
    i.crm.deleted_creates = vec![("c7".into(), intent.clone())];
    let p = plan(&i);
    assert!(
        creates(&p, Side::Crm).is_empty(),
        "the delete is not undone"
    );
    assert_eq!(deletes(&p, Side::Exchange), vec!["e1"]);
    assert!(p.links.iter().any(|l| matches!(
        l,
        LinkChange::Resolve { intent: r, .. } if *r == intent
    )));
    // Edit beats delete: the source changed since the create, so the copy comes back.
    i.exchange.upserts = vec![up("e1", ada().with(Field::JobTitle, "Countess"))];
    let p = plan(&i);
    assert!(deletes(&p, Side::Exchange).is_empty());
    assert_eq!(creates(&p, Side::Crm).len(), 1);
}

#[test]
fn interrupted_recreate_is_adopted_as_a_relink() {
    // Last cycle: Pipeliner c1 was deleted while e1 was edited; the recreate in Pipeliner
    // ran but its commit was lost. The delete and the edit replay with the new record.
    let mut i = with_links(
        input(settings(SyncType::Bidirectional)),
        vec![link("e1", "c1", &ada())],
    );
    let edited = ada().with(Field::Notes, "call back");
    let intent = IntentId::for_create(Side::Crm, "e1");
    i.intents = vec![PendingIntent {
        id: intent.clone(),
        target: Side::Crm,
        source_id: "e1".into(),
        contact: edited.clone(),
        stamp: None,
        seq: None,
    }];
    i.exchange.upserts = vec![up("e1", edited.clone())];
    i.crm.deletes = vec!["c1".into()];
    let mut created = up("c2", edited);
    created.intent = Some(intent.clone());
    i.crm.upserts = vec![created];
    let p = plan(&i);
    assert_eq!(p.write_count(), 0, "{:?} {:?}", p.exchange, p.crm);
    assert!(p.links.iter().any(|l| matches!(
        l,
        LinkChange::Relink { old_crm_id, crm: RecordId::Known(c), resolves: Some(r), .. }
            if old_crm_id == "c1" && c == "c2" && *r == intent
    )));
}

#[test]
fn partial_upsert_of_an_unlinked_record_is_fetched_whole_before_creating() {
    let mut i = input(settings(SyncType::Bidirectional));
    i.exchange.upserts = vec![partial("e1", &[(Field::JobTitle, Some("CTO"))])];
    let p = plan(&i);
    assert!(creates(&p, Side::Crm).is_empty());
    assert_eq!(p.fetch_full, vec![(Side::Exchange, "e1".to_owned())]);
}

#[test]
fn first_sync_rerun_keeps_and_tombstones_instead_of_deleting() {
    // A first sync that failed part-way left a link; its Exchange record is gone now.
    let mut i = with_links(
        input(settings(SyncType::Bidirectional)),
        vec![link("e1", "c1", &ada())],
    );
    i.first_sync = true;
    i.exchange.listing = Listing::Full;
    i.crm.listing = Listing::Full;
    i.exchange.upserts = vec![up("e2", person("Bob", "bob@example.com"))];
    i.crm.upserts = vec![up("c1", ada())];
    let p = plan(&i);
    assert!(deletes(&p, Side::Crm).is_empty() && deletes(&p, Side::Exchange).is_empty());
    assert!(p.links.iter().any(|l| matches!(
        l,
        LinkChange::Tombstone { tombstone, .. } if tombstone.id == "c1"
    )));
}

#[test]
fn plan_is_deterministic_and_independent_of_listing_order() {
    let mut i = with_links(
        input(settings(SyncType::Bidirectional)),
        (0..20)
            .map(|n| link(&format!("e{n}"), &format!("c{n}"), &ada()))
            .collect(),
    );
    i.exchange.upserts = (0..20)
        .step_by(3)
        .map(|n| up(&format!("e{n}"), ada().with(Field::City, "Oslo")))
        .chain([up("e99", person("New", "new@example.com"))])
        .collect();
    i.crm.upserts = (0..20)
        .step_by(4)
        .map(|n| up(&format!("c{n}"), ada().with(Field::City, "Rome")))
        .collect();
    i.crm.deletes = vec!["c5".into(), "c7".into()];
    let first = plan(&i);
    assert_eq!(plan(&i), first);
    i.exchange.upserts.reverse();
    i.crm.upserts.reverse();
    i.crm.deletes.reverse();
    assert_eq!(plan(&i), first);
}
