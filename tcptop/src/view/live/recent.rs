//! A bounded ring of the most recent closed sockets, for the connections view. What
//! falls out is counted.
use std::{collections::VecDeque, time::Duration};

use crate::attribution::AttributedClose;

/// How many closes the ring keeps by default (a few MB).
pub const DEFAULT_CAPACITY: usize = 10_000;

/// One close in the ring.
#[derive(Clone, Debug, PartialEq)]
pub struct RecentClose {
    /// Arrival number, from 0: identifies the close across refreshes.
    pub seq: u64,
    /// When it arrived, on the source's clock.
    pub at: Duration,
    /// The record.
    pub close: AttributedClose,
}

/// The ring.
#[derive(Clone, Debug)]
pub struct Recent {
    ring: VecDeque<RecentClose>,
    capacity: usize,
    next_seq: u64,
}

impl Recent {
    /// An empty ring keeping at most `capacity` closes (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            ring: VecDeque::with_capacity(capacity.min(1024)),
            capacity,
            next_seq: 0,
        }
    }

    /// Adds a close that arrived at `at`, dropping the oldest when full.
    pub fn push(&mut self, close: AttributedClose, at: Duration) {
        if self.ring.len() == self.capacity {
            self.ring.pop_front();
        }
        self.ring.push_back(RecentClose {
            seq: self.next_seq,
            at,
            close,
        });
        self.next_seq += 1;
    }

    /// The closes kept, newest first.
    pub fn newest_first(&self) -> impl Iterator<Item = &RecentClose> {
        self.ring.iter().rev()
    }

    /// Closes that fell out of the ring.
    pub fn evicted(&self) -> u64 {
        self.next_seq - self.ring.len() as u64
    }

    /// Closes kept.
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    /// True when nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    /// The most closes kept.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}
