//! The flight recorder: every pair's totals at one-second resolution for the last
//! `span` (`--history`), in bounded memory (`--history-memory`). A pair is the finest
//! grouping the UI offers: both addresses and both owners, so every grouping and
//! drill-down rolls up from it exactly.
//!
//! Each second is sealed into a compact byte string ([`codec`]): a pair's id (pairs are
//! interned once, however many seconds hold them), the counters that are not zero, and
//! the srtt buckets. When the bytes held pass the cap, the oldest seconds go first, and
//! are counted. Pure logic: time is passed in.
pub mod codec;

use std::{
    collections::{HashMap, VecDeque},
    net::IpAddr,
    sync::Arc,
    time::Duration,
};

use super::metrics::Metrics;
use crate::{
    attribution::{AttributedFolded, Attribution, Item},
    collector::FoldedTotals,
};

/// What the interned copy of one pair costs, estimated: both addresses, both owners
/// (their strings are shared with the watch cache), the intern table's entry.
pub const PAIR_BYTES: usize = 320;

/// What a sealed second costs besides its bytes.
pub const SECOND_BYTES: usize = 64;

/// Most pairs one second keeps; beyond, they count under one `other` pair.
pub const ROWS_PER_SECOND: usize = 50_000;

/// Both ends of a connection: the finest row of the history.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Pair {
    /// The local address.
    pub local: IpAddr,
    /// The peer address.
    pub peer: IpAddr,
    /// The local end's owner.
    pub local_owner: Attribution,
    /// The peer end's owner.
    pub peer_owner: Attribution,
}

impl Pair {
    /// The pair an item's numbers belong to; `None` for items without numbers.
    pub fn of(item: &Item) -> Option<Pair> {
        let (local, peer, l, p) = match item {
            Item::Close(c) => (c.event.local.ip(), c.event.peer.ip(), &c.local, &c.peer),
            Item::Live(d) => (d.delta.local.ip(), d.delta.peer.ip(), &d.local, &d.peer),
            Item::Folded(f) => (f.totals.local, f.totals.peer, &f.local, &f.peer),
            Item::Gone(_) | Item::Pass(_) | Item::Drops(_) => return None,
        };
        Some(Pair {
            local,
            peer,
            local_owner: l.clone(),
            peer_owner: p.clone(),
        })
    }

    /// The pair rows beyond [`ROWS_PER_SECOND`] count under.
    fn other() -> Pair {
        let other = Attribution::all(crate::aggregation::OTHER);
        Pair {
            local: IpAddr::from([0, 0, 0, 0]),
            peer: IpAddr::from([0, 0, 0, 0]),
            local_owner: other.clone(),
            peer_owner: other,
        }
    }

    /// A row of this pair as folded totals with their srtt samples.
    pub fn folded(&self, m: Metrics) -> AttributedFolded {
        AttributedFolded {
            totals: FoldedTotals {
                local: self.local,
                peer: self.peer,
                counters: m.counters,
            },
            local: self.local_owner.clone(),
            peer: self.peer_owner.clone(),
            srtt: m.srtt,
        }
    }
}

/// Pairs interned once for every second that holds them.
#[derive(Debug, Default)]
struct Interner {
    ids: HashMap<Arc<Pair>, u32>,
    slots: Vec<Option<(Arc<Pair>, u32)>>,
    free: Vec<u32>,
}

impl Interner {
    /// The id of `pair`, one more second holding it.
    fn hold(&mut self, pair: &Pair) -> u32 {
        if let Some(&id) = self.ids.get(pair) {
            if let Some((_, refs)) = &mut self.slots[id as usize] {
                *refs += 1;
            }
            return id;
        }
        let pair = Arc::new(pair.clone());
        let id = match self.free.pop() {
            Some(id) => {
                self.slots[id as usize] = Some((pair.clone(), 1));
                id
            }
            None => {
                self.slots.push(Some((pair.clone(), 1)));
                (self.slots.len() - 1) as u32
            }
        };
        self.ids.insert(pair, id);
        id
    }

    /// One second fewer holds `id`; the pair goes with the last.
    fn release(&mut self, id: u32) {
        let slot = &mut self.slots[id as usize];
        if let Some((pair, refs)) = slot {
            *refs -= 1;
            if *refs == 0 {
                self.ids.remove(&**pair);
                *slot = None;
                self.free.push(id);
            }
        }
    }

    fn len(&self) -> usize {
        self.ids.len()
    }
}

/// One sealed second.
#[derive(Debug)]
struct Second {
    /// Unix time (seconds) at its end.
    t: u64,
    /// Its rows, encoded (shared with snapshots being sent).
    data: Arc<[u8]>,
    /// The pair ids it holds.
    ids: Box<[u32]>,
}

/// What the history holds now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Held {
    /// Seconds held.
    pub seconds: usize,
    /// The oldest second's end, unix seconds.
    pub oldest: Option<u64>,
    /// Bytes held, by the estimate the cap applies to.
    pub bytes: usize,
    /// Distinct pairs held.
    pub pairs: usize,
    /// Seconds dropped before their time to stay within the cap.
    pub evicted: u64,
    /// Rows counted under `other` because a second had too many pairs.
    pub folded: u64,
}

/// The flight recorder.
#[derive(Debug)]
pub struct History {
    span: u64,
    cap: usize,
    keys: Interner,
    seconds: VecDeque<Second>,
    current: HashMap<Pair, Metrics>,
    data_bytes: usize,
    evicted: u64,
    folded: u64,
}

impl History {
    /// An empty history of `span` that holds at most `cap` bytes.
    pub fn new(span: Duration, cap: usize) -> Self {
        Self {
            span: span.as_secs().max(1),
            cap,
            keys: Interner::default(),
            seconds: VecDeque::new(),
            current: HashMap::new(),
            data_bytes: 0,
            evicted: 0,
            folded: 0,
        }
    }

    /// Adds an item to the second in progress.
    pub fn add(&mut self, item: &Item) {
        let Some(mut pair) = Pair::of(item) else {
            return;
        };
        if self.current.len() >= ROWS_PER_SECOND && !self.current.contains_key(&pair) {
            pair = Pair::other();
            self.folded += 1;
        }
        let m = self.current.entry(pair).or_default();
        match item {
            Item::Close(c) => m.add_event(&c.event),
            Item::Live(l) => m.add_live(&l.delta, true),
            Item::Folded(f) => m.add_folded(f),
            Item::Gone(_) | Item::Pass(_) | Item::Drops(_) => {}
        }
    }

    /// Ends the second in progress at unix time `t`, then drops what is older than
    /// the span, and the oldest seconds while the bytes held pass the cap.
    pub fn seal(&mut self, t: u64) {
        let rows = std::mem::take(&mut self.current);
        let mut data = Vec::new();
        let mut ids = Vec::with_capacity(rows.len());
        for (pair, m) in &rows {
            let id = self.keys.hold(pair);
            codec::put_row(&mut data, id, m);
            ids.push(id);
        }
        self.data_bytes += data.len() + ids.len() * 4 + SECOND_BYTES;
        self.seconds.push_back(Second {
            t,
            data: data.into(),
            ids: ids.into(),
        });
        while self.seconds.front().is_some_and(|s| s.t + self.span <= t) {
            self.pop();
        }
        while self.bytes() > self.cap && self.seconds.len() > 1 {
            self.pop();
            self.evicted += 1;
        }
    }

    fn pop(&mut self) {
        if let Some(s) = self.seconds.pop_front() {
            self.data_bytes -= s.data.len() + s.ids.len() * 4 + SECOND_BYTES;
            for id in s.ids.iter() {
                self.keys.release(*id);
            }
        }
    }

    /// Bytes held, by the estimate the cap applies to.
    pub fn bytes(&self) -> usize {
        self.data_bytes + self.keys.len() * PAIR_BYTES
    }

    /// What the history holds now.
    pub fn held(&self) -> Held {
        Held {
            seconds: self.seconds.len(),
            oldest: self.seconds.front().map(|s| s.t),
            bytes: self.bytes(),
            pairs: self.keys.len(),
            evicted: self.evicted,
            folded: self.folded,
        }
    }

    /// The sealed seconds that ended after `since` and at or before `until` (unix
    /// seconds): a copy that costs a pointer per second and per pair, to decode
    /// without holding the history.
    pub fn snapshot(&self, since: u64, until: u64) -> Snapshot {
        let seconds: Vec<(u64, Arc<[u8]>)> = self
            .seconds
            .iter()
            .filter(|s| s.t > since && s.t <= until)
            .map(|s| (s.t, s.data.clone()))
            .collect();
        let pairs = self
            .keys
            .slots
            .iter()
            .enumerate()
            .filter_map(|(id, slot)| slot.as_ref().map(|(p, _)| (id as u32, p.clone())))
            .collect();
        Snapshot { seconds, pairs }
    }

    /// The sealed seconds that ended after `since` and at or before `until`, oldest
    /// first, each with its rows.
    pub fn seconds(
        &self,
        since: u64,
        until: u64,
    ) -> impl Iterator<Item = (u64, Vec<AttributedFolded>)> {
        self.snapshot(since, until).into_seconds()
    }

    /// The second in progress, not sealed yet.
    pub fn current(&self) -> Vec<AttributedFolded> {
        self.current
            .iter()
            .map(|(p, m)| p.folded(m.clone()))
            .collect()
    }
}

/// Seconds of the history, copied out of it: see [`History::snapshot`].
#[derive(Debug)]
pub struct Snapshot {
    seconds: Vec<(u64, Arc<[u8]>)>,
    pairs: HashMap<u32, Arc<Pair>>,
}

impl Snapshot {
    /// The seconds, oldest first, each with its rows.
    pub fn into_seconds(self) -> impl Iterator<Item = (u64, Vec<AttributedFolded>)> {
        let pairs = self.pairs;
        self.seconds.into_iter().map(move |(t, data)| {
            let mut rows = Vec::new();
            let mut at = 0;
            while let Some((id, m)) = codec::take_row(&data, &mut at) {
                if let Some(p) = pairs.get(&id) {
                    rows.push(p.folded(m));
                }
            }
            (t, rows)
        })
    }

    /// The end of its oldest second, unix seconds.
    pub fn oldest(&self) -> Option<u64> {
        self.seconds.first().map(|(t, _)| *t)
    }

    /// The end of its newest second, unix seconds.
    pub fn newest(&self) -> Option<u64> {
        self.seconds.last().map(|(t, _)| *t)
    }

    /// Every pair's sums over all the seconds: one row per pair, however many seconds
    /// held it (what a window shows).
    pub fn merged(self) -> Vec<AttributedFolded> {
        let mut sums: HashMap<u32, Metrics> = HashMap::new();
        for (_, data) in &self.seconds {
            let mut at = 0;
            while let Some((id, m)) = codec::take_row(data, &mut at) {
                sums.entry(id).or_default().merge(&m);
            }
        }
        sums.into_iter()
            .filter_map(|(id, m)| Some(self.pairs.get(&id)?.folded(m)))
            .collect()
    }
}

#[cfg(test)]
mod tests;
