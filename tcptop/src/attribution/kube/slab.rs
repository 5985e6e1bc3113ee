//! Storage helpers of the index: a slab with stable slot numbers, and a hash map with a
//! fast hasher (keys come from the API server, lookups run for every closed socket).
use std::collections::HashMap;

/// A `HashMap` with foldhash, several times faster than SipHash on IP keys.
pub type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// A vector of entries whose slot numbers stay valid until the entry is removed.
#[derive(Debug)]
pub struct Slab<T> {
    entries: Vec<Option<T>>,
    free: Vec<u32>,
    len: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Slab<T> {
    /// Stores `v`, returning its slot.
    pub fn insert(&mut self, v: T) -> u32 {
        self.len += 1;
        match self.free.pop() {
            Some(slot) => {
                self.entries[slot as usize] = Some(v);
                slot
            }
            None => {
                self.entries.push(Some(v));
                u32::try_from(self.entries.len() - 1).expect("fewer than 2^32 entries")
            }
        }
    }

    /// Removes and returns the entry in `slot`. Panics on an empty slot: slots are only
    /// ever taken from the index's own maps.
    pub fn remove(&mut self, slot: u32) -> T {
        let v = self.entries[slot as usize].take().expect("slot in use");
        self.free.push(slot);
        self.len -= 1;
        v
    }

    /// The entry in `slot`.
    pub fn get(&self, slot: u32) -> &T {
        self.entries[slot as usize].as_ref().expect("slot in use")
    }

    /// The entry in `slot`, mutably.
    pub fn get_mut(&mut self, slot: u32) -> &mut T {
        self.entries[slot as usize].as_mut().expect("slot in use")
    }

    /// Entries in use.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Slot numbers handed out so far (in use or free): an upper bound of every slot.
    pub fn slots(&self) -> usize {
        self.entries.len()
    }

    /// Gives back memory left over from growth.
    pub fn shrink(&mut self) {
        self.entries.shrink_to_fit();
        self.free.shrink_to_fit();
    }

    /// Entries in use with their slots.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &T)> {
        self.entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.as_ref().map(|e| (i as u32, e)))
    }

    /// Entries in use, mutably.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (u32, &mut T)> {
        self.entries
            .iter_mut()
            .enumerate()
            .filter_map(|(i, e)| e.as_mut().map(|e| (i as u32, e)))
    }
}
