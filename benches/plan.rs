//! `plan()` over 100,000 links with 1% of them changed (half on each side), the steady
//! state of a large mailbox. Also measured: building the link index (the engine's cost
//! before planning) and a full re-enumeration of Exchange (the expired-delta-token path).

use std::hint::black_box;

use chrono::{TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use exsync::sync::{
    plan, Contact, Field, Link, LinkSet, Listing, Mapping, PlanInput, Settings, SideChanges,
    Snapshot, Upsert,
};

const LINKS: usize = 100_000;

fn contact(n: usize) -> Contact {
    Contact::default()
        .with(Field::GivenName, &format!("Given{n}"))
        .with(Field::Surname, &format!("Surname{n}"))
        .with(Field::Email1, &format!("person{n}@example.com"))
        .with(Field::BusinessPhone, &format!("+1 555 {n:06}"))
        .with(Field::Company, "Example Ltd")
        .with(Field::City, "Bratislava")
}

fn links() -> Vec<Link> {
    (0..LINKS)
        .map(|n| Link {
            exchange_id: format!("AAMkAD{n:08}"),
            crm_id: format!("0b6f{n:08}-crm"),
            snapshot: Snapshot::agreed(contact(n)),
            exchange_version: Some("ck0".into()),
            crm_version: Some("1".into()),
        })
        .collect()
}

fn input(links: LinkSet) -> PlanInput {
    let changed = LINKS / 100;
    let mut exchange = SideChanges::none();
    let mut crm = SideChanges::none();
    for k in 0..changed {
        let n = k * 100;
        if k % 2 == 0 {
            let c = contact(n).with(Field::JobTitle, "CTO");
            exchange
                .upserts
                .push(Upsert::full(format!("AAMkAD{n:08}"), c));
        } else {
            let c = contact(n).with(Field::City, "Vienna");
            crm.upserts.push(Upsert::full(format!("0b6f{n:08}-crm"), c));
        }
    }
    PlanInput {
        exchange,
        crm,
        links,
        tombstones: Vec::new(),
        intents: Vec::new(),
        refusals: Vec::new(),
        settings: Settings::default(),
        mapping: Mapping::default(),
        required_crm_fields: Vec::new(),
        first_sync: false,
        reconcile: None,
        deletes_confirmed: false,
        own_deletes: Vec::new(),
        now: Utc
            .timestamp_opt(1_790_000_000, 0)
            .single()
            .unwrap_or_default(),
    }
}

fn bench(c: &mut Criterion) {
    let all = links();
    let (set, _) = LinkSet::new(all.clone());
    let steady = input(set.clone());
    let mut g = c.benchmark_group("plan");
    g.sample_size(20);
    g.bench_function("100k links, 1% changed", |b| {
        b.iter(|| plan(black_box(&steady)))
    });
    let mut full = input(set);
    // Every Exchange record, the changed ones (every 200th) with their new job title.
    let listing: Vec<Upsert> = all
        .iter()
        .enumerate()
        .map(|(n, l)| {
            let mut c = l.snapshot.exchange.clone();
            if n % 200 == 0 {
                c = c.with(Field::JobTitle, "CTO");
            }
            Upsert::full(l.exchange_id.clone(), c)
        })
        .collect();
    full.exchange = SideChanges {
        upserts: listing,
        deletes: Vec::new(),
        deleted_creates: Vec::new(),
        listing: Listing::Full,
    };
    g.bench_function("100k links, full Exchange re-enumeration", |b| {
        b.iter(|| plan(black_box(&full)))
    });
    g.sample_size(10);
    g.bench_function("index 100k links (engine side)", |b| {
        b.iter(|| LinkSet::new(black_box(all.clone())))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
