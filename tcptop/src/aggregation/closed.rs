//! The sockets that closed in a window, one by one, for `--connections`: each with what
//! it did in the window (its live passes and its close together), at most `limit` of
//! them; beyond, they are counted and not kept.
use super::open::OpenSockets;
use crate::attribution::{AttributedClose, Item, Resolver};

/// The closed sockets of a window.
#[derive(Clone, Debug, Default)]
pub struct ClosedSockets {
    socks: Vec<AttributedClose>,
    limit: usize,
    dropped: u64,
}

impl ClosedSockets {
    /// An empty list keeping at most `limit` sockets.
    pub fn new(limit: usize) -> Self {
        Self {
            socks: Vec::new(),
            limit,
            dropped: 0,
        }
    }

    /// Takes `item`; call it before `open` takes it, so that a close finds what its
    /// socket's passes counted.
    pub fn add(&mut self, item: &Item, open: &OpenSockets) {
        let Item::Close(c) = item else { return };
        if self.socks.len() >= self.limit {
            self.dropped += 1;
            return;
        }
        let mut c = c.clone();
        if let Some(s) = c.event.id.and_then(|id| open.get(id)) {
            let (conns, failed) = (
                c.event.counters.connections,
                c.event.counters.failed_connects,
            );
            c.event.counters += s.total;
            (
                c.event.counters.connections,
                c.event.counters.failed_connects,
            ) = (conns, failed);
        }
        self.socks.push(c);
    }

    /// Labels both ends of every socket afresh with `resolver`.
    pub fn relabel(&mut self, resolver: &dyn Resolver) {
        for s in &mut self.socks {
            s.local = resolver.resolve(s.event.local.ip());
            s.peer = resolver.resolve(s.event.peer.ip());
        }
    }

    /// The sockets kept, in the order they closed.
    pub fn iter(&self) -> impl Iterator<Item = &AttributedClose> {
        self.socks.iter()
    }

    /// Sockets not kept because the list was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}
