//! A global allocator that counts the bytes and blocks currently allocated, for the
//! memory benchmarks. Include with `mod counting;` and install with
//! `#[global_allocator] static ALLOC: counting::Counting = counting::Counting;`.
use std::{
    alloc::{GlobalAlloc, Layout, System},
    sync::atomic::{AtomicUsize, Ordering::Relaxed},
};

/// Counts bytes and blocks currently allocated.
pub struct Counting;

static BYTES: AtomicUsize = AtomicUsize::new(0);
static BLOCKS: AtomicUsize = AtomicUsize::new(0);
static MADE: AtomicUsize = AtomicUsize::new(0);

/// Bytes allocated now.
#[allow(dead_code)]
pub fn bytes() -> usize {
    BYTES.load(Relaxed)
}

/// Blocks allocated now.
#[allow(dead_code)]
pub fn blocks() -> usize {
    BLOCKS.load(Relaxed)
}

/// Allocations made since start (reallocations included), freed or not.
#[allow(dead_code)]
pub fn made() -> usize {
    MADE.load(Relaxed)
}

// SAFETY: forwards to the system allocator, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        BYTES.fetch_add(l.size(), Relaxed);
        BLOCKS.fetch_add(1, Relaxed);
        MADE.fetch_add(1, Relaxed);
        // SAFETY: the caller's layout, passed on.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        BYTES.fetch_sub(l.size(), Relaxed);
        BLOCKS.fetch_sub(1, Relaxed);
        // SAFETY: a block System allocated, with its layout.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        BYTES.fetch_add(new, Relaxed);
        BYTES.fetch_sub(l.size(), Relaxed);
        MADE.fetch_add(1, Relaxed);
        // SAFETY: a block System allocated, with its layout.
        unsafe { System.realloc(p, l, new) }
    }
}
