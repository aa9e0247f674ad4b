//! `plan()`: turns one cycle's input into a [`Plan`]. The work is split by concept:
//! [`view`] indexes what each side reported, [`pair`] decides a linked pair (deletes,
//! scope, merge), [`unlinked`] handles records without a link (adoption of interrupted
//! creates, e-mail matching, creates and the required-field rule), [`emit`] writes the
//! plan's entries, [`reconcile`] settles a new mapping's fields after a settings change,
//! and the mass-delete guard runs last, before anything is handed out.

mod emit;
pub(crate) mod merge;
mod pair;
mod reconcile;
mod unlinked;
mod view;

use foldhash::{HashMap, HashSet};

use super::contact::FieldKey;
use super::input::{IntentId, PendingIntent, PlanInput, Side};
use super::output::{Action, JournalKind, NeedsConfirmation, Plan};
use view::SideView;

/// Plans one sync cycle. Pure: the same input always gives the same plan.
pub fn plan(input: &PlanInput) -> Plan {
    let mut cx = Cx::new(input);
    cx.adopt_interrupted_creates();
    cx.linked_pairs();
    cx.unlinked_records();
    cx.finish()
}

/// Working state of one planning round.
pub(crate) struct Cx<'a> {
    pub input: &'a PlanInput,
    pub keys: Vec<FieldKey>,
    pub exchange: SideView<'a>,
    pub crm: SideView<'a>,
    // Looked up by id only, never walked: hashed (foldhash: ids come from the upstreams,
    // not from whoever calls exsync), so a lookup does not compare long ids along a tree
    // path.
    pub tombstones: HashSet<(Side, &'a str)>,
    pub intents: HashMap<&'a IntentId, &'a PendingIntent>,
    pub used_intents: HashSet<IntentId>,
    pub refusals: HashMap<&'a str, &'a str>,
    /// Records already decided this round (adopted, linked or matched).
    pub consumed: HashSet<(Side, &'a str)>,
    pub next_pair: u32,
    pub out: Plan,
}

impl<'a> Cx<'a> {
    fn new(input: &'a PlanInput) -> Self {
        let mut out = Plan::default();
        let exchange = SideView::new(
            &input.exchange,
            input.links.len(),
            Side::Exchange,
            input,
            &mut out,
        );
        let crm = SideView::new(&input.crm, input.links.len(), Side::Crm, input, &mut out);
        Cx {
            input,
            keys: input.mapping.keys(),
            exchange,
            crm,
            tombstones: input
                .tombstones
                .iter()
                .map(|t| (t.side, t.id.as_str()))
                .collect(),
            intents: input.intents.iter().map(|i| (&i.id, i)).collect(),
            used_intents: HashSet::default(),
            refusals: input
                .refusals
                .iter()
                .map(|r| (r.exchange_id.as_str(), r.key.as_str()))
                .collect(),
            consumed: HashSet::default(),
            next_pair: 0,
            out,
        }
    }

    /// The view of one side.
    pub fn view(&self, side: Side) -> &SideView<'a> {
        match side {
            Side::Exchange => &self.exchange,
            Side::Crm => &self.crm,
        }
    }

    /// A fresh pair key.
    pub fn pair_key(&mut self) -> super::output::PairKey {
        let k = super::output::PairKey(self.next_pair);
        self.next_pair += 1;
        k
    }

    fn finish(mut self) -> Plan {
        let mut stale: Vec<IntentId> = self
            .input
            .intents
            .iter()
            .filter(|i| !self.used_intents.contains(&i.id))
            .map(|i| i.id.clone())
            .collect();
        stale.sort();
        stale.dedup();
        self.out.stale_intents = stale;
        let count = |v: &[Action]| {
            v.iter()
                .filter(|a| matches!(a, Action::Delete { .. }))
                .count()
        };
        let exchange_deletes = count(&self.out.exchange);
        let crm_deletes = count(&self.out.crm);
        let links = self.input.links.len();
        let thresholds = self.input.settings.thresholds;
        if !self.input.deletes_confirmed
            && thresholds.crossed(exchange_deletes + crm_deletes, links)
        {
            let stop = NeedsConfirmation {
                exchange_deletes,
                crm_deletes,
                links,
            };
            let mut plan = Plan {
                stop: Some(stop),
                ..Plan::default()
            };
            let message = format!(
                "Stopped before writing: this cycle would delete {exchange_deletes} contact(s) in Exchange and {crm_deletes} in Pipeliner out of {links} linked. An admin must confirm or reject the deletes."
            );
            plan.journal.push(emit::entry(
                self.input.now,
                JournalKind::Notice,
                None,
                None,
                None,
                message,
            ));
            return plan;
        }
        self.out
    }
}
