//! Sync types, one-way direction and the user's Pipeliner scope.

use super::super::support::*;
use super::ada;
use crate::sync::contact::Field;
use crate::sync::input::Side;
use crate::sync::output::LinkChange;
use crate::sync::plan;
use crate::sync::settings::{Access, SyncPreference, SyncType};

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

#[test]
fn contact_leaving_scope_keeps_unsynced_exchange_edits() {
    let mut i = with_links(
        input(settings(SyncType::Bidirectional)),
        vec![link("e1", "c1", &ada())],
    );
    let mut u = up("c1", ada());
    u.access = Access::Viewer;
    i.crm.upserts = vec![u];
    i.exchange.upserts = vec![up("e1", ada().with(Field::Notes, "private note"))];
    let p = plan(&i);
    assert_eq!(p.write_count(), 0);
    let tombstoned: Vec<_> = p
        .links
        .iter()
        .filter_map(|l| match l {
            LinkChange::Tombstone { tombstone, .. } => Some(tombstone.side),
            _ => None,
        })
        .collect();
    assert_eq!(tombstoned, vec![Side::Exchange, Side::Crm]);
}
