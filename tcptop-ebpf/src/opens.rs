//! Open-time notes of live sockets in `OPENS`, two slots per key (see
//! [`OpenSlot`]): plain memory access, no locks and no allocation (a hash map here cost
//! 1.5 us per connection, and a second, per-cookie hash map for the live sampler
//! 125 ns per state change on average).
use aya_ebpf::{macros::map, maps::Array};
use tcptop_common::{stat, OpenSlot, OPEN_SLOTS};

use crate::overflow::bump;

/// The notes, by [`OpenSlot::index`] and [`OpenSlot::other`] of their key.
#[map]
static OPENS: Array<OpenSlot> = Array::with_max_entries(OPEN_SLOTS, 0);

/// Notes that the socket with `key` opened at `start_ns`, how, and by which process.
#[inline(always)]
pub fn note(key: u64, start_ns: u64, origin: u8, comm: [u8; 16]) {
    let first = OpenSlot::index(key);
    let Some(mut slot) = OPENS.get_ptr_mut(first) else {
        return;
    };
    // SAFETY: an array slot; concurrent writers are caught by `check`.
    if unsafe { (*slot).key } != 0 {
        match OPENS.get_ptr_mut(OpenSlot::other(first)) {
            // SAFETY: as above.
            Some(other) if unsafe { (*other).key } == 0 => slot = other,
            _ => bump(stat::UNNOTED),
        }
    }
    let origin = u64::from(origin);
    // SAFETY: as above.
    unsafe {
        *slot = OpenSlot {
            key,
            start_ns,
            check: key ^ start_ns ^ origin,
            origin,
            comm,
        }
    };
}

/// The slot holding a whole note of `key`, if one does.
#[inline(always)]
fn find(key: u64) -> Option<*mut OpenSlot> {
    if key == 0 {
        return None;
    }
    let first = OpenSlot::index(key);
    for i in [first, OpenSlot::other(first)] {
        let slot = OPENS.get_ptr_mut(i)?;
        // SAFETY: an array slot.
        if unsafe { (*slot).holds(key) } {
            return Some(slot);
        }
    }
    None
}

/// What was noted of the open of `key`, if the note is still there and whole: when,
/// how, and by which process.
#[inline(always)]
pub fn peek(key: u64) -> Option<(u64, u8, [u8; 16])> {
    let slot = find(key)?;
    // SAFETY: an array slot.
    let s = unsafe { &*slot };
    Some((s.start_ns, s.origin as u8, s.comm))
}

/// Takes the note of `key` out of its slot: [`peek`], and the slot is free again.
#[inline(always)]
pub fn take(key: u64) -> Option<(u64, u8, [u8; 16])> {
    let slot = find(key)?;
    // SAFETY: an array slot.
    let s = unsafe { &mut *slot };
    s.key = 0;
    Some((s.start_ns, s.origin as u8, s.comm))
}
