//! The sockets open now, as the live sampler's items say: each appears with its first
//! pass and leaves with its close (or when a pass no longer finds it). Rows count their
//! open sockets from here (`open`), and the connections view lists them.
use std::collections::HashMap;

use super::{dimension::Dimension, group::GroupKey};
use crate::{
    attribution::{AttributedLive, Item, Resolver},
    collector::Counters,
};

/// One open socket: its latest pass, and whether it moved anything since it was first
/// seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenSocket {
    /// The latest activity seen (its counters are that pass's growth).
    pub last: AttributedLive,
    /// It sent, received or retransmitted something since it was first seen (or it
    /// opened in the window).
    pub active: bool,
    /// What it did since it was first seen (since it opened, where that was seen).
    pub total: Counters,
}

/// The open sockets, by tag, at most `limit` of them (a table bound like every other:
/// beyond it, new sockets are counted in [`OpenSockets::overflow`] and not listed).
#[derive(Clone, Debug)]
pub struct OpenSockets {
    socks: HashMap<u64, OpenSocket>,
    limit: usize,
    overflow: u64,
    /// Nanoseconds since boot at the end of the latest pass.
    now_ns: u64,
}

impl OpenSockets {
    /// An empty set listing at most `limit` sockets.
    pub fn new(limit: usize) -> Self {
        Self {
            socks: HashMap::new(),
            limit,
            overflow: 0,
            now_ns: 0,
        }
    }

    /// Takes an item: live activity adds or updates a socket, a close or a gone
    /// removes it.
    pub fn add(&mut self, item: &Item) {
        match item {
            Item::Live(l) => {
                let moved = l.delta.counters.bytes() > 0
                    || l.delta.counters.retransmits > 0
                    || l.delta.counters.opened > 0;
                let full = self.socks.len() >= self.limit;
                match self.socks.get_mut(&l.delta.id) {
                    Some(s) => {
                        s.active |= moved;
                        s.total += l.delta.counters;
                        s.last = l.clone();
                    }
                    None if full => self.overflow += 1,
                    None => {
                        self.socks.insert(
                            l.delta.id,
                            OpenSocket {
                                last: l.clone(),
                                active: moved,
                                total: l.delta.counters,
                            },
                        );
                    }
                }
            }
            Item::Close(c) => {
                if let Some(id) = c.event.id {
                    self.socks.remove(&id);
                }
            }
            Item::Gone(ids) => ids.iter().for_each(|id| {
                self.socks.remove(id);
            }),
            Item::Pass(now_ns) => self.now_ns = *now_ns,
            Item::Folded(_) | Item::Drops(_) => {}
        }
    }

    /// Labels both ends of every socket afresh with `resolver` (once the Kubernetes
    /// cache has synced, for sockets first seen before).
    pub fn relabel(&mut self, resolver: &dyn Resolver) {
        for s in self.socks.values_mut() {
            s.last.relabel(resolver);
        }
    }

    /// The open socket tagged `id`.
    pub fn get(&self, id: u64) -> Option<&OpenSocket> {
        self.socks.get(&id)
    }

    /// The open sockets, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &OpenSocket> {
        self.socks.values()
    }

    /// Number of open sockets listed.
    pub fn len(&self) -> usize {
        self.socks.len()
    }

    /// True when none is open.
    pub fn is_empty(&self) -> bool {
        self.socks.is_empty()
    }

    /// Sockets not listed because the set was full.
    pub fn overflow(&self) -> u64 {
        self.overflow
    }

    /// Nanoseconds since boot at the latest pass.
    pub fn now_ns(&self) -> u64 {
        self.now_ns
    }

    /// Open sockets per row of a grouping by `dims`.
    pub fn count_by(&self, dims: &[Dimension]) -> HashMap<GroupKey, u64> {
        let mut out = HashMap::new();
        for s in self.socks.values() {
            let l = &s.last;
            let key = GroupKey::new(
                dims,
                (l.delta.local.ip(), &l.local),
                (l.delta.peer.ip(), &l.peer),
            );
            *out.entry(key).or_default() += 1;
        }
        out
    }
}
