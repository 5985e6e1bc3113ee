//! The map from IP to its owners, kept small: an owner is a tagged slot number packed in
//! a `u32`, IPv4 and IPv6 keys live in separate maps, and the rare IP with several
//! owners points into a side table.
use std::net::IpAddr;

use super::super::slab::{FastMap, Slab};

/// An owner of an IP: a slot of the pod, node or Service slab.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// A pod slot.
    Pod(u32),
    /// A node slot.
    Node(u32),
    /// A Service slot.
    Service(u32),
}

const SHIFT: u32 = 30;
const SLOT: u32 = (1 << SHIFT) - 1;
const MULTI: u32 = 3;

impl Owner {
    fn pack(self) -> u32 {
        let (tag, slot) = match self {
            Owner::Pod(s) => (0, s),
            Owner::Node(s) => (1, s),
            Owner::Service(s) => (2, s),
        };
        assert!(slot <= SLOT, "more than 2^30 cached objects");
        tag << SHIFT | slot
    }

    fn unpack(v: u32) -> Self {
        let slot = v & SLOT;
        match v >> SHIFT {
            0 => Owner::Pod(slot),
            1 => Owner::Node(slot),
            _ => Owner::Service(slot),
        }
    }
}

/// IP -> owners.
#[derive(Debug, Default)]
pub struct IpOwners {
    v4: FastMap<u32, u32>,
    v6: FastMap<[u8; 16], u32>,
    multi: Slab<Vec<u32>>,
}

impl IpOwners {
    fn slot(&self, ip: IpAddr) -> Option<&u32> {
        match ip {
            IpAddr::V4(a) => self.v4.get(&u32::from(a)),
            IpAddr::V6(a) => self.v6.get(&a.octets()),
        }
    }

    fn slot_mut(&mut self, ip: IpAddr) -> Option<&mut u32> {
        match ip {
            IpAddr::V4(a) => self.v4.get_mut(&u32::from(a)),
            IpAddr::V6(a) => self.v6.get_mut(&a.octets()),
        }
    }

    fn remove_key(&mut self, ip: IpAddr) {
        match ip {
            IpAddr::V4(a) => self.v4.remove(&u32::from(a)),
            IpAddr::V6(a) => self.v6.remove(&a.octets()),
        };
    }

    /// The owners of `ip`.
    pub fn get(&self, ip: IpAddr) -> impl ExactSizeIterator<Item = Owner> + '_ {
        let packed: &[u32] = match self.slot(ip) {
            None => &[],
            Some(v) if v >> SHIFT == MULTI => self.multi.get(v & SLOT),
            Some(v) => std::slice::from_ref(v),
        };
        packed.iter().map(|v| Owner::unpack(*v))
    }

    /// Adds `o` as an owner of `ip`.
    pub fn add(&mut self, ip: IpAddr, o: Owner) {
        let p = o.pack();
        let Some(&cur) = self.slot(ip) else {
            match ip {
                IpAddr::V4(a) => self.v4.insert(u32::from(a), p),
                IpAddr::V6(a) => self.v6.insert(a.octets(), p),
            };
            return;
        };
        if cur >> SHIFT == MULTI {
            let list = self.multi.get_mut(cur & SLOT);
            if !list.contains(&p) {
                list.push(p);
            }
        } else if cur != p {
            let m = self.multi.insert(vec![cur, p]);
            assert!(m <= SLOT, "more than 2^30 shared IPs");
            *self.slot_mut(ip).expect("present") = MULTI << SHIFT | m;
        }
    }

    /// Removes `o` from the owners of `ip`.
    pub fn remove(&mut self, ip: IpAddr, o: Owner) {
        let p = o.pack();
        let Some(&cur) = self.slot(ip) else {
            return;
        };
        if cur >> SHIFT != MULTI {
            if cur == p {
                self.remove_key(ip);
            }
            return;
        }
        let list = self.multi.get_mut(cur & SLOT);
        list.retain(|x| *x != p);
        if let [only] = list[..] {
            self.multi.remove(cur & SLOT);
            *self.slot_mut(ip).expect("present") = only;
        }
    }

    /// Gives back memory left over from growth (after a full list).
    pub fn shrink(&mut self) {
        self.v4.shrink_to_fit();
        self.v6.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_then_many_then_one_owner() {
        let mut m = IpOwners::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let v6: IpAddr = "fd00::1".parse().unwrap();
        m.add(ip, Owner::Pod(7));
        m.add(v6, Owner::Pod(7));
        m.add(ip, Owner::Pod(7));
        assert_eq!(m.get(ip).collect::<Vec<_>>(), [Owner::Pod(7)]);
        m.add(ip, Owner::Node(7));
        m.add(ip, Owner::Service(SLOT));
        assert_eq!(
            m.get(ip).collect::<Vec<_>>(),
            [Owner::Pod(7), Owner::Node(7), Owner::Service(SLOT)]
        );
        m.remove(ip, Owner::Pod(7));
        m.remove(ip, Owner::Service(SLOT));
        assert_eq!(m.get(ip).collect::<Vec<_>>(), [Owner::Node(7)]);
        assert_eq!(m.multi.len(), 0);
        m.remove(ip, Owner::Pod(1));
        m.remove(ip, Owner::Node(7));
        assert_eq!(m.get(ip).count(), 0);
        assert_eq!(m.get(v6).collect::<Vec<_>>(), [Owner::Pod(7)]);
    }
}
