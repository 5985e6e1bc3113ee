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
            s.relabel(resolver);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        attribution::{AttributedClose, AttributedLive, Attribution},
        collector::{live::LiveDelta, CloseEvent, Counters, Gauges, Origin},
        testdata::event,
    };

    fn sent(n: u64) -> Counters {
        Counters {
            bytes_sent: n,
            ..Counters::default()
        }
    }

    #[test]
    fn a_close_adds_what_its_passes_counted_and_the_list_is_bounded() {
        let mut open = OpenSockets::new(10);
        let mut closed = ClosedSockets::new(1);
        let live = Item::Live(AttributedLive {
            delta: LiveDelta {
                id: 7,
                local: "10.0.0.1:1000".parse().unwrap(),
                peer: "10.0.0.2:80".parse().unwrap(),
                counters: sent(100),
                srtt_us: 50,
                origin: Origin::Connect,
                since_ns: 1,
                state: 1,
                gauges: Gauges::default(),
                cgroup: None,
                process: None,
            },
            local: Attribution::unknown(),
            peer: Attribution::unknown(),
        });
        closed.add(&live, &open);
        open.add(&live);
        let mut e = event("10.0.0.1:1000", "10.0.0.2:80", sent(5), 60);
        e.counters.connections = 1;
        e.id = Some(7);
        let close = |e: CloseEvent| {
            Item::Close(AttributedClose {
                event: e,
                local: Attribution::unknown(),
                peer: Attribution::unknown(),
            })
        };
        for item in [close(e.clone()), close(e)] {
            closed.add(&item, &open);
            open.add(&item);
        }
        let kept: Vec<_> = closed.iter().collect();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].event.counters.bytes_sent, 105);
        assert_eq!(kept[0].event.counters.connections, 1);
        assert_eq!(closed.dropped(), 1);
    }
}
