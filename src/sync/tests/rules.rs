//! One table test per rule of DESIGN.md sections 1 and 3, named after the rule.

use super::support::*;
use crate::sync::contact::{Field, FieldKey};
use crate::sync::input::{Listing, PendingIntent, Side, Tombstone};
use crate::sync::output::{LinkChange, RecordId};
use crate::sync::settings::{Access, ConflictPolicy, SyncPreference, SyncType, Thresholds};
use crate::sync::{plan, IntentId};

fn ada() -> crate::sync::Contact {
    person("Ada", "ada@example.com")
}

#[test]
fn one_way_modes_never_write_the_source_side() {
    for (mode, source) in [
        (SyncType::ExchangeToCrm, Side::Exchange),
        (SyncType::CrmToExchange, Side::Crm),
    ] {
        let mut i = with_links(
            input(settings(mode)),
            vec![link("e1", "c1", &ada()), link("e2", "c2", &ada())],
        );
        // New contacts, edits and deletes on both sides at once.
        i.exchange.upserts = vec![
            up("e9", person("New", "new-e@example.com")),
            up("e1", ada().with(Field::JobTitle, "CTO")),
        ];
        i.crm.upserts = vec![
            up("c9", person("New", "new-c@example.com")),
            up("c1", ada().with(Field::City, "Paris")),
        ];
        i.exchange.deletes = vec!["e2".into()];
        i.crm.deletes = vec!["c2".into()];
        let p = plan(&i);
        assert!(
            p.actions(source).is_empty(),
            "{mode:?} wrote {:?}",
            p.actions(source)
        );
        assert!(
            !p.actions(source.other()).is_empty(),
            "{mode:?} wrote nothing"
        );
    }
}

#[test]
fn sync_type_decides_where_new_contacts_go() {
    // (mode, created in Pipeliner, created in Exchange)
    let table = [
        (SyncType::ExchangeToCrm, 1, 0),
        (SyncType::Bidirectional, 1, 1),
        (SyncType::CrmToExchange, 0, 1),
    ];
    for (mode, in_crm, in_exchange) in table {
        let mut i = input(settings(mode));
        i.exchange.upserts = vec![up("e1", person("A", "a@example.com"))];
        i.crm.upserts = vec![up("c1", person("B", "b@example.com"))];
        let p = plan(&i);
        assert_eq!(creates(&p, Side::Crm).len(), in_crm, "{mode:?}");
        assert_eq!(creates(&p, Side::Exchange).len(), in_exchange, "{mode:?}");
    }
}

#[test]
fn preference_owned_or_accessible_and_owner_or_editor_for_bidirectional() {
    use Access::*;
    // (mode, preference, access, goes to Exchange)
    let table = [
        (SyncType::CrmToExchange, SyncPreference::Owned, Owner, true),
        (
            SyncType::CrmToExchange,
            SyncPreference::Owned,
            Editor,
            false,
        ),
        (
            SyncType::CrmToExchange,
            SyncPreference::Owned,
            Viewer,
            false,
        ),
        (
            SyncType::CrmToExchange,
            SyncPreference::Accessible,
            Editor,
            true,
        ),
        (
            SyncType::CrmToExchange,
            SyncPreference::Accessible,
            Viewer,
            true,
        ),
        (
            SyncType::CrmToExchange,
            SyncPreference::Accessible,
            None,
            false,
        ),
        (SyncType::Bidirectional, SyncPreference::Owned, Owner, true),
        (SyncType::Bidirectional, SyncPreference::Owned, Editor, true),
        (
            SyncType::Bidirectional,
            SyncPreference::Owned,
            Viewer,
            false,
        ),
        (
            SyncType::Bidirectional,
            SyncPreference::Accessible,
            Viewer,
            false,
        ),
    ];
    for (mode, pref, access, expected) in table {
        let mut s = settings(mode);
        s.sync_preference = pref;
        let mut i = input(s);
        let mut u = up("c1", ada());
        u.access = access;
        i.crm.upserts = vec![u];
        let p = plan(&i);
        let created = creates(&p, Side::Exchange).len() == 1;
        assert_eq!(created, expected, "{mode:?} {pref:?} {access:?}");
    }
}

#[test]
fn contact_leaving_scope_is_removed_from_exchange_not_from_pipeliner() {
    for mode in [SyncType::Bidirectional, SyncType::CrmToExchange] {
        let mut i = with_links(input(settings(mode)), vec![link("e1", "c1", &ada())]);
        let mut u = up("c1", ada());
        u.access = Access::Viewer;
        i.crm.upserts = vec![u];
        let p = plan(&i);
        assert_eq!(deletes(&p, Side::Exchange), vec!["e1"], "{mode:?}");
        assert!(p.crm.is_empty());
        assert!(p
            .links
            .iter()
            .any(|l| matches!(l, LinkChange::Unlink { .. })));
    }
}

#[test]
fn delete_protection_keeps_pipeliner_contact_and_tombstones_it() {
    for mode in [SyncType::Bidirectional, SyncType::ExchangeToCrm] {
        let mut s = settings(mode);
        s.delete_protection = true;
        let mut i = with_links(input(s), vec![link("e1", "c1", &ada())]);
        i.exchange.deletes = vec!["e1".into()];
        let p = plan(&i);
        assert!(p.crm.is_empty() && p.exchange.is_empty(), "{mode:?}");
        assert!(p
            .links
            .iter()
            .any(|l| matches!(l, LinkChange::Unlink { .. })));
        assert!(p.links.iter().any(|l| matches!(
            l,
            LinkChange::Tombstone { tombstone, .. } if tombstone.side == Side::Crm && tombstone.id == "c1"
        )));
    }
}

#[test]
fn tombstone_prevents_recreate_loops_in_either_direction() {
    // A tombstoned Pipeliner contact edited later is not created in Exchange again.
    let mut i = input(settings(SyncType::Bidirectional));
    i.tombstones = vec![Tombstone {
        side: Side::Crm,
        id: "c1".into(),
        at: t(0),
    }];
    i.crm.upserts = vec![up("c1", ada().with(Field::City, "Rome"))];
    assert_eq!(plan(&i).write_count(), 0);
    // An Exchange contact whose Pipeliner copy was deleted in exchange_to_crm is not
    // created in Pipeliner again.
    let mut i = with_links(
        input(settings(SyncType::ExchangeToCrm)),
        vec![link("e1", "c1", &ada())],
    );
    i.crm.deletes = vec!["c1".into()];
    let p = plan(&i);
    assert_eq!(p.write_count(), 0);
    let tomb = p.links.iter().find_map(|l| match l {
        LinkChange::Tombstone { tombstone, .. } => Some(tombstone.clone()),
        _ => None,
    });
    let mut i = input(settings(SyncType::ExchangeToCrm));
    i.tombstones = tomb.into_iter().collect();
    i.exchange.upserts = vec![up("e1", ada())];
    assert_eq!(plan(&i).write_count(), 0);
    // Tombstoned records are not paired on a first sync either.
    let mut i = input(settings(SyncType::Bidirectional));
    i.first_sync = true;
    i.tombstones = vec![Tombstone {
        side: Side::Crm,
        id: "c1".into(),
        at: t(0),
    }];
    i.crm.upserts = vec![up("c1", ada())];
    i.exchange.upserts = vec![up("e1", ada())];
    let p = plan(&i);
    assert_eq!(creates(&p, Side::Crm).len(), 1);
    assert!(creates(&p, Side::Exchange).is_empty());
}

#[test]
fn deletes_propagate_when_delete_protection_is_off() {
    // (mode, deleted on, expected delete on)
    let table = [
        (SyncType::Bidirectional, Side::Exchange, Some(Side::Crm)),
        (SyncType::Bidirectional, Side::Crm, Some(Side::Exchange)),
        (SyncType::ExchangeToCrm, Side::Exchange, Some(Side::Crm)),
        (SyncType::CrmToExchange, Side::Crm, Some(Side::Exchange)),
        (SyncType::ExchangeToCrm, Side::Crm, None),
        (SyncType::CrmToExchange, Side::Exchange, None),
    ];
    for (mode, deleted_on, expected) in table {
        let mut i = with_links(input(settings(mode)), vec![link("e1", "c1", &ada())]);
        match deleted_on {
            Side::Exchange => i.exchange.deletes = vec!["e1".into()],
            Side::Crm => i.crm.deletes = vec!["c1".into()],
        }
        let p = plan(&i);
        for side in [Side::Exchange, Side::Crm] {
            let want = usize::from(expected == Some(side));
            assert_eq!(
                deletes(&p, side).len(),
                want,
                "{mode:?} {deleted_on:?} {side:?}"
            );
        }
        assert!(creates(&p, Side::Exchange).is_empty() && creates(&p, Side::Crm).is_empty());
    }
}

#[test]
fn field_level_merge_keeps_both_sides_edits() {
    let mut i = with_links(
        input(settings(SyncType::Bidirectional)),
        vec![link("e1", "c1", &ada())],
    );
    i.exchange.upserts = vec![up("e1", ada().with(Field::JobTitle, "CTO"))];
    i.crm.upserts = vec![up("c1", ada().with(Field::City, "Paris"))];
    let p = plan(&i);
    assert_eq!(
        updates(&p, Side::Crm),
        vec![("c1", vec!["job_title".to_owned()])]
    );
    assert_eq!(updates(&p, Side::Exchange), vec![("e1", address_group())]);
    assert!(p.conflicts.is_empty());
}

fn address_group() -> Vec<String> {
    // The address is one Graph property, so the whole group is sent.
    ["street", "city", "state", "postal_code", "country"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

#[test]
fn same_field_conflict_is_settled_by_policy_and_journaled() {
    // (policy, exchange modified, crm modified, winner)
    let table = [
        (ConflictPolicy::ExchangeWins, 10, 20, Side::Exchange),
        (ConflictPolicy::CrmWins, 20, 10, Side::Crm),
        (ConflictPolicy::Newest, 10, 20, Side::Crm),
        (ConflictPolicy::Newest, 20, 10, Side::Exchange),
        (ConflictPolicy::Newest, 10, 10, Side::Exchange),
    ];
    for (policy, em, cm, winner) in table {
        let mut s = settings(SyncType::Bidirectional);
        s.conflict_policy = policy;
        let mut i = with_links(input(s), vec![link("e1", "c1", &ada())]);
        i.exchange.upserts = vec![up_at("e1", ada().with(Field::JobTitle, "CTO"), em)];
        i.crm.upserts = vec![up_at("c1", ada().with(Field::JobTitle, "CEO"), cm)];
        let p = plan(&i);
        assert_eq!(p.conflicts.len(), 1, "{policy:?}");
        let c = &p.conflicts[0];
        assert_eq!(c.winner, winner, "{policy:?} {em} {cm}");
        assert_eq!(c.exchange_value.as_deref(), Some("CTO"));
        assert_eq!(c.crm_value.as_deref(), Some("CEO"));
        assert!(p
            .journal
            .iter()
            .any(|j| j.kind == crate::sync::JournalKind::Conflict));
        let loser = winner.other();
        assert_eq!(p.actions(loser).len(), 1);
        assert!(p.actions(winner).is_empty());
    }
}

#[test]
fn identical_edits_on_both_sides_are_not_conflicts() {
    let mut i = with_links(
        input(settings(SyncType::Bidirectional)),
        vec![link("e1", "c1", &ada())],
    );
    i.exchange.upserts = vec![up("e1", ada().with(Field::JobTitle, "CTO"))];
    i.crm.upserts = vec![up("c1", ada().with(Field::JobTitle, " CTO "))];
    let p = plan(&i);
    assert!(p.conflicts.is_empty());
    assert_eq!(p.write_count(), 0);
    assert!(matches!(p.links.as_slice(), [LinkChange::Refresh { .. }]));
}

#[test]
fn edit_beats_delete() {
    // (mode, deleted on, edited on, recreated on)
    let table = [
        (
            SyncType::Bidirectional,
            Side::Exchange,
            Side::Crm,
            Some(Side::Exchange),
        ),
        (
            SyncType::Bidirectional,
            Side::Crm,
            Side::Exchange,
            Some(Side::Crm),
        ),
        (
            SyncType::ExchangeToCrm,
            Side::Crm,
            Side::Exchange,
            Some(Side::Crm),
        ),
        (
            SyncType::CrmToExchange,
            Side::Exchange,
            Side::Crm,
            Some(Side::Exchange),
        ),
        (SyncType::ExchangeToCrm, Side::Exchange, Side::Crm, None),
        (SyncType::CrmToExchange, Side::Crm, Side::Exchange, None),
    ];
    for protection in [false, true] {
        for (mode, deleted, edited, recreated) in table {
            let mut s = settings(mode);
            s.delete_protection = protection;
            let mut i = with_links(input(s), vec![link("e1", "c1", &ada())]);
            let edit = ada().with(Field::Notes, "met at the fair");
            match (deleted, edited) {
                (Side::Exchange, _) => {
                    i.exchange.deletes = vec!["e1".into()];
                    i.crm.upserts = vec![up("c1", edit)];
                }
                (Side::Crm, _) => {
                    i.crm.deletes = vec!["c1".into()];
                    i.exchange.upserts = vec![up("e1", edit)];
                }
            }
            let p = plan(&i);
            // The edited record is never deleted.
            assert!(deletes(&p, edited).is_empty(), "{mode:?}");
            let made = [Side::Exchange, Side::Crm]
                .into_iter()
                .find(|s| !creates(&p, *s).is_empty());
            assert_eq!(made, recreated, "{mode:?} deleted on {deleted:?}");
            if recreated.is_some() {
                assert!(p
                    .links
                    .iter()
                    .any(|l| matches!(l, LinkChange::Relink { .. })));
                let made = creates(&p, deleted);
                assert_eq!(made[0].notes.as_deref(), Some("met at the fair"));
            }
        }
    }
}

#[test]
fn no_delete_is_inferred_from_an_incomplete_listing() {
    let links = vec![link("e1", "c1", &ada()), link("e2", "c2", &ada())];
    // A listing that failed part-way, and a "full" listing that came back empty.
    for (listing, upserts) in [(Listing::Incomplete, vec![]), (Listing::Full, vec![])] {
        let mut i = with_links(input(settings(SyncType::Bidirectional)), links.clone());
        i.exchange.listing = listing;
        i.exchange.upserts = upserts;
        let p = plan(&i);
        assert_eq!(p.write_count(), 0, "{listing:?}");
        assert!(p.links.is_empty());
    }
    // A complete full listing does prove the absent record was deleted.
    let mut i = with_links(input(settings(SyncType::Bidirectional)), links);
    i.exchange.listing = Listing::Full;
    i.exchange.upserts = vec![up("e1", ada())];
    let p = plan(&i);
    assert_eq!(deletes(&p, Side::Crm), vec!["c2"]);
}

#[test]
fn full_re_enumeration_reconciles_against_links_without_rewriting() {
    let links: Vec<_> = (0..5)
        .map(|n| link(&format!("e{n}"), &format!("c{n}"), &ada()))
        .collect();
    let mut i = with_links(input(settings(SyncType::Bidirectional)), links);
    i.exchange.listing = Listing::Full;
    i.exchange.upserts = (0..5).map(|n| up(&format!("e{n}"), ada())).collect();
    let p = plan(&i);
    assert_eq!(p.write_count(), 0);
    assert!(p.links.is_empty());
}

#[test]
fn mass_delete_threshold_stops_before_any_write() {
    let links: Vec<_> = (0..100)
        .map(|n| link(&format!("e{n}"), &format!("c{n}"), &ada()))
        .collect();
    // (deleted, thresholds, stops)
    let by_count = Thresholds {
        max_deletes: 10,
        max_delete_percent: 100,
        percent_min_links: 0,
    };
    let by_percent = Thresholds {
        max_deletes: 1000,
        max_delete_percent: 5,
        percent_min_links: 50,
    };
    let table = [
        (10, by_count, false),
        (11, by_count, true),
        (5, by_percent, false),
        (6, by_percent, true),
    ];
    for (n, thresholds, stops) in table {
        let mut s = settings(SyncType::Bidirectional);
        s.thresholds = thresholds;
        let mut i = with_links(input(s), links.clone());
        i.exchange.deletes = (0..n).map(|k| format!("e{k}")).collect();
        i.crm.upserts = vec![up("c99", ada().with(Field::City, "Oslo"))];
        let p = plan(&i);
        assert_eq!(p.stop.is_some(), stops, "{n} {thresholds:?}");
        if stops {
            assert_eq!(p.write_count(), 0);
            assert!(p.links.is_empty());
            let stop = p.stop.unwrap_or_else(|| unreachable!());
            assert_eq!((stop.crm_deletes, stop.links), (n, 100));
            i.deletes_confirmed = true;
            let p = plan(&i);
            assert!(p.stop.is_none());
            assert_eq!(deletes(&p, Side::Crm).len(), n);
        }
    }
}

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
fn echo_of_own_write_produces_no_action() {
    let mut i = with_links(
        input(settings(SyncType::Bidirectional)),
        vec![link("e1", "c1", &ada())],
    );
    // Graph lower-cases nothing here but re-serialises spacing and e-mail case.
    let echo = ada().with(Field::Email1, "ADA@EXAMPLE.COM");
    i.exchange.upserts = vec![up("e1", echo)];
    i.crm.upserts = vec![up("c1", ada())];
    let p = plan(&i);
    assert_eq!(p.write_count(), 0);
    assert!(p.conflicts.is_empty());
}

#[test]
fn partial_update_does_not_clear_other_fields() {
    let base = ada()
        .with(Field::City, "Paris")
        .with(Field::JobTitle, "CTO");
    let mut i = with_links(
        input(settings(SyncType::Bidirectional)),
        vec![link("e1", "c1", &base)],
    );
    i.exchange.upserts = vec![partial("e1", &[(Field::JobTitle, Some("CEO"))])];
    let p = plan(&i);
    assert_eq!(
        updates(&p, Side::Crm),
        vec![("c1", vec!["job_title".to_owned()])]
    );
    let snap = p.links.iter().find_map(|l| match l {
        LinkChange::Refresh { snapshot, .. } => Some(snapshot.clone()),
        _ => None,
    });
    let snap = snap.unwrap_or_default();
    assert_eq!(snap.exchange.city.as_deref(), Some("Paris"));
    assert_eq!(snap.crm.job_title.as_deref(), Some("CEO"));
}

#[test]
fn updates_send_only_changed_mapped_fields_with_whole_groups() {
    let base = ada().with(Field::Email2, "ada@work.example");
    let mut i = with_links(
        input(settings(SyncType::Bidirectional)),
        vec![link("e1", "c1", &base)],
    );
    i.crm.upserts = vec![up(
        "c1",
        base.clone().with(Field::Email2, "ada@new.example"),
    )];
    let p = plan(&i);
    assert_eq!(
        updates(&p, Side::Exchange),
        vec![(
            "e1",
            vec!["email1".into(), "email2".into(), "email3".into()]
        )]
    );
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

#[test]
fn one_way_source_wins_and_overwriting_an_unsynced_value_is_journaled() {
    let mut s = settings(SyncType::ExchangeToCrm);
    s.conflict_policy = ConflictPolicy::CrmWins;
    let mut l = link("e1", "c1", &ada());
    // Earlier, a person typed a job title in Pipeliner (never synced to Exchange).
    l.snapshot.crm.job_title = Some("Head of R&D".into());
    let mut i = with_links(input(s), vec![l]);
    i.exchange.upserts = vec![up("e1", ada().with(Field::JobTitle, "CTO"))];
    let p = plan(&i);
    assert_eq!(
        updates(&p, Side::Crm),
        vec![("c1", vec!["job_title".to_owned()])]
    );
    assert_eq!(p.conflicts.len(), 1);
    assert_eq!(p.conflicts[0].winner, Side::Exchange);
    assert_eq!(p.conflicts[0].crm_value.as_deref(), Some("Head of R&D"));
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
fn scope_does_not_apply_to_exchange_to_crm() {
    let mut i = with_links(
        input(settings(SyncType::ExchangeToCrm)),
        vec![link("e1", "c1", &ada())],
    );
    let mut u = up("c1", ada());
    u.access = Access::Viewer;
    i.crm.upserts = vec![u];
    i.exchange.upserts = vec![up("e1", ada().with(Field::City, "Oslo"))];
    let p = plan(&i);
    assert!(p.exchange.is_empty());
    assert_eq!(updates(&p, Side::Crm).len(), 1);
}
