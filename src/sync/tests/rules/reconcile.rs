//! A reconciliation after a settings change: widening pairs by e-mail before creating,
//! narrowing removes from Exchange only (behind the mass-delete guard), a new mapping's
//! values cross by the written rule with a journal line each, and a reconciliation that
//! finds nothing to change plans nothing.

use std::collections::BTreeSet;

use super::super::support::*;
use super::ada;
use crate::sync::contact::{Contact, FieldKey};
use crate::sync::input::{Listing, Side};
use crate::sync::mapping::{CustomMapping, Mapping};
use crate::sync::output::{JournalKind, LinkChange};
use crate::sync::plan;
use crate::sync::scope::{Reconciliation, ScopeChange};
use crate::sync::settings::{Access, SyncPreference, SyncType};
use crate::sync::PlanInput;

fn reconciling(mut i: PlanInput, change: ScopeChange) -> PlanInput {
    i.exchange.listing = Listing::Full;
    i.crm.listing = Listing::Full;
    i.reconcile = Some(Reconciliation {
        changes: vec![change],
        new_keys: BTreeSet::new(),
    });
    i
}

fn accessible() -> crate::sync::Settings {
    crate::sync::Settings {
        sync_preference: SyncPreference::Accessible,
        ..settings(SyncType::CrmToExchange)
    }
}

fn shared(id: &str, c: Contact) -> crate::sync::Upsert {
    crate::sync::Upsert {
        access: Access::Viewer,
        ..up(id, c)
    }
}

#[test]
fn widening_pairs_by_email_before_creating_and_leaves_linked_pairs_alone() {
    let bob = person("Bob", "bob@example.com");
    let cy = person("Cy", "cy@example.com");
    let mut i = reconciling(
        with_links(input(accessible()), vec![link("e1", "c1", &ada())]),
        ScopeChange::SyncPreference,
    );
    // Bob's copy is already in the folder (typed in by the user); Cy is new to them.
    i.exchange.upserts = vec![up("e1", ada()), up("e2", bob.clone())];
    i.crm.upserts = vec![up("c1", ada()), shared("c2", bob), shared("c3", cy)];
    let p = plan(&i);
    assert_eq!(creates(&p, Side::Exchange).len(), 1, "only Cy is created");
    assert!(p.crm.is_empty(), "Pipeliner is never written");
    let linked: Vec<_> = p
        .links
        .iter()
        .filter_map(|l| match l {
            LinkChange::Link { exchange, crm, .. } => Some((exchange.clone(), crm.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        linked.len(),
        2,
        "Bob paired by e-mail, Cy linked to its create"
    );
    assert!(p
        .journal
        .iter()
        .any(|j| j.message.contains("Paired by e-mail on a reconciliation")));
}

#[test]
fn narrowing_removes_from_exchange_only_and_the_mass_delete_guard_applies() {
    let links: Vec<_> = (0..10)
        .map(|n| link(&format!("e{n}"), &format!("c{n}"), &ada()))
        .collect();
    let mut i = reconciling(
        with_links(input(settings(SyncType::CrmToExchange)), links),
        ScopeChange::SyncPreference,
    );
    i.exchange.upserts = (0..10).map(|n| up(&format!("e{n}"), ada())).collect();
    // Two of the ten are only shared with the user: out of scope under `owned`.
    i.crm.upserts = (0..10)
        .map(|n| match n {
            0 | 1 => shared(&format!("c{n}"), ada()),
            _ => up(&format!("c{n}"), ada()),
        })
        .collect();
    let p = plan(&i);
    assert_eq!(deletes(&p, Side::Exchange), ["e0", "e1"]);
    assert!(p.crm.is_empty(), "Pipeliner is never touched");

    let mut guarded = i.clone();
    guarded.settings.thresholds.max_deletes = 5;
    guarded.crm.upserts = (0..10).map(|n| shared(&format!("c{n}"), ada())).collect();
    let stopped = plan(&guarded);
    assert!(stopped.stop.is_some(), "ten is over the threshold of five");
    assert!(stopped.exchange.is_empty() && stopped.links.is_empty());
    guarded.deletes_confirmed = true;
    assert_eq!(deletes(&plan(&guarded), Side::Exchange).len(), 10);
}

fn birthday() -> Mapping {
    Mapping {
        custom: vec![CustomMapping {
            name: "birthday".into(),
            exchange: "birthday".into(),
            pipeliner: "cf_birthday".into(),
        }],
    }
}

fn born(c: Contact, date: Option<&str>) -> Contact {
    let mut c = c;
    c.set(&FieldKey::Custom("birthday".into()), date);
    c
}

/// A reconciliation after `birthday` was mapped, with Exchange holding `e` and Pipeliner
/// `c` on a pair synced before the mapping existed.
fn new_mapping(mode: SyncType, e: Option<&str>, c: Option<&str>) -> PlanInput {
    let mut i = reconciling(
        with_links(input(settings(mode)), vec![link("e1", "c1", &ada())]),
        ScopeChange::FieldMappings,
    );
    i.mapping = birthday();
    i.reconcile = Some(Reconciliation {
        changes: vec![ScopeChange::FieldMappings],
        new_keys: BTreeSet::from([FieldKey::Custom("birthday".into())]),
    });
    // Pipeliner's record is the newer, Exchange's would win by `newest` otherwise.
    i.exchange.upserts = vec![up_at("e1", born(ada(), e), 50)];
    i.crm.upserts = vec![up_at("c1", born(ada(), c), 10)];
    i
}

#[test]
fn a_new_mapping_copies_a_value_one_side_has_where_the_sync_type_allows() {
    // (mode, Exchange value, Pipeliner value, Pipeliner written, Exchange written)
    let table = [
        (
            SyncType::Bidirectional,
            Some("1990-01-02"),
            None,
            true,
            false,
        ),
        (
            SyncType::Bidirectional,
            None,
            Some("1990-01-02"),
            false,
            true,
        ),
        (
            SyncType::ExchangeToCrm,
            Some("1990-01-02"),
            None,
            true,
            false,
        ),
        (
            SyncType::ExchangeToCrm,
            None,
            Some("1990-01-02"),
            false,
            false,
        ),
        (
            SyncType::CrmToExchange,
            Some("1990-01-02"),
            None,
            false,
            false,
        ),
        (
            SyncType::CrmToExchange,
            None,
            Some("1990-01-02"),
            false,
            true,
        ),
    ];
    for (mode, e, c, to_crm, to_exchange) in table {
        let p = plan(&new_mapping(mode, e, c));
        let wrote = |side| {
            updates(&p, side)
                == [(
                    if side == Side::Crm { "c1" } else { "e1" },
                    vec!["birthday".to_owned()],
                )]
        };
        assert_eq!(
            wrote(Side::Crm),
            to_crm,
            "{mode:?} {e:?} {c:?}: {:?}",
            p.crm
        );
        assert_eq!(wrote(Side::Exchange), to_exchange, "{mode:?} {e:?} {c:?}");
        let copied = p
            .journal
            .iter()
            .filter(|j| j.message.starts_with("New mapping birthday: the value in"))
            .count();
        assert_eq!(copied, usize::from(to_crm || to_exchange), "{mode:?}");
        assert!(p.conflicts.is_empty(), "a copy is not a conflict");
    }
}

#[test]
fn a_new_mapping_with_two_values_keeps_the_source_side_and_pipeliner_when_bidirectional() {
    let table = [
        (SyncType::Bidirectional, Side::Crm),
        (SyncType::ExchangeToCrm, Side::Exchange),
        (SyncType::CrmToExchange, Side::Crm),
    ];
    for (mode, winner) in table {
        let p = plan(&new_mapping(mode, Some("1990-01-02"), Some("1985-05-05")));
        let target = winner.other();
        let id = if target == Side::Crm { "c1" } else { "e1" };
        assert_eq!(
            updates(&p, target),
            [(id, vec!["birthday".to_owned()])],
            "{mode:?}"
        );
        assert!(p.actions(winner).is_empty(), "{mode:?}");
        let [conflict] = p.conflicts.as_slice() else {
            panic!("{mode:?}: one decision, journaled: {:?}", p.conflicts);
        };
        assert_eq!(conflict.winner, winner);
        let line = p
            .journal
            .iter()
            .find(|j| j.kind == JournalKind::Conflict)
            .expect("journaled");
        assert!(
            line.message.starts_with(
                "New mapping birthday: Exchange has \"1990-01-02\", Pipeliner has \"1985-05-05\""
            ),
            "{}",
            line.message
        );
    }
}

#[test]
fn a_mapping_added_again_ignores_the_values_it_left_in_the_snapshot() {
    let mut i = new_mapping(SyncType::Bidirectional, Some("1990-01-02"), None);
    // Mapped once before, when both sides held 1970-01-01; removed; added again.
    i.links = crate::sync::LinkSet::new(vec![link("e1", "c1", &born(ada(), Some("1970-01-01")))]).0;
    let p = plan(&i);
    assert_eq!(
        updates(&p, Side::Crm),
        [("c1", vec!["birthday".to_owned()])]
    );
    assert!(
        p.exchange.is_empty(),
        "Pipeliner's empty value is not an edit"
    );
}

#[test]
fn a_removed_mapping_writes_neither_side() {
    let mut i = reconciling(
        with_links(
            input(settings(SyncType::Bidirectional)),
            vec![link("e1", "c1", &born(ada(), Some("1970-01-01")))],
        ),
        ScopeChange::FieldMappings,
    );
    // The values differ now, but the mapping is gone: nothing is read or written.
    i.exchange.upserts = vec![up("e1", ada())];
    i.crm.upserts = vec![up("c1", ada())];
    let p = plan(&i);
    assert!(p.exchange.is_empty() && p.crm.is_empty());
}

#[test]
fn a_reconciliation_that_finds_nothing_to_change_plans_nothing() {
    for mode in [
        SyncType::Bidirectional,
        SyncType::CrmToExchange,
        SyncType::ExchangeToCrm,
    ] {
        let links: Vec<_> = (0..50)
            .map(|n| {
                link(
                    &format!("e{n}"),
                    &format!("c{n}"),
                    &person("P", &format!("p{n}@example.com")),
                )
            })
            .collect();
        let mut i = reconciling(
            with_links(input(settings(mode)), links),
            ScopeChange::Activation,
        );
        i.exchange.upserts = (0..50)
            .map(|n| up(&format!("e{n}"), person("P", &format!("p{n}@example.com"))))
            .collect();
        i.crm.upserts = (0..50)
            .map(|n| up(&format!("c{n}"), person("P", &format!("p{n}@example.com"))))
            .collect();
        let p = plan(&i);
        assert!(p.exchange.is_empty() && p.crm.is_empty(), "{mode:?}");
        assert!(p.links.is_empty(), "{mode:?}: no link is rewritten");
        assert!(p.journal.is_empty(), "{mode:?}: {:?}", p.journal);
    }
}
