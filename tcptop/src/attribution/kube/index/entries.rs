//! The cached entries of the index: compact pods (hot part read by lookups, cold part
//! by updates), nodes and Services, and how a claim on an IP ranks.
use std::{net::IpAddr, sync::Arc};

use super::super::records::Phase;
use crate::attribution::Attribution;

/// How good a claim on an IP is; higher wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rank {
    /// A finished pod that was since deleted.
    FinishedTombstone,
    /// A Succeeded or Failed pod: its IP may have been reused.
    Finished,
    /// A live pod or a Service deleted less than the grace period ago (or a pod whose
    /// IPs were cleared).
    Tombstone,
    /// A node address or a Service ClusterIP.
    Address,
    /// A Pending or Running pod (hostNetwork pods resolve to their node).
    Live,
}

/// A cached pod: what a lookup reads, in one cache line; the rest is behind `cold`.
#[derive(Debug)]
pub(super) struct PodEntry {
    pub(super) namespace: Arc<str>,
    pub(super) name: Arc<str>,
    /// What keeps the index right but no lookup reads.
    pub(super) cold: Box<PodCold>,
    /// Slot of its controller in the workloads (or `workloads::NO_WORKLOAD`).
    pub(super) workload: u32,
    /// Slot of its node in the node slab (a placeholder until the node is listed).
    pub(super) node: u32,
    /// `creationTimestamp`, seconds since the epoch: breaks ties of claims made at
    /// once (by one list).
    pub(super) created: u32,
    /// When it was deleted, in `Index::ticks` plus one; 0 while it exists.
    pub(super) deleted: u32,
    pub(super) phase: Phase,
    pub(super) host_network: bool,
}

/// The parts of a cached pod that only updates, and lookups of a shared IP, read.
#[derive(Debug)]
pub(super) struct PodCold {
    pub(super) ips: Box<[IpAddr]>,
    pub(super) uid: Uid,
    pub(super) seen: u32,
    /// When this cache first saw the pod hold its IPs, in ticks: the later claim of
    /// one rank wins.
    pub(super) claimed: u32,
}

impl PodEntry {
    pub(super) fn rank(&self) -> Rank {
        match (self.phase, self.deleted != 0) {
            (Phase::Live, false) => Rank::Live,
            (Phase::Live, true) => Rank::Tombstone,
            (Phase::Finished, false) => Rank::Finished,
            (Phase::Finished, true) => Rank::FinishedTombstone,
        }
    }
}

/// A node, or a placeholder for one that pods name but that is not (or no longer)
/// listed: its attribution (namespace `node`, zone) and addresses.
#[derive(Debug)]
pub(super) struct NodeEntry {
    pub(super) attr: Attribution,
    pub(super) ips: Box<[IpAddr]>,
    pub(super) seen: u32,
    /// As [`PodCold::claimed`].
    pub(super) claimed: u32,
    pub(super) listed: bool,
}

/// A Service: its attribution and ClusterIPs.
#[derive(Debug)]
pub(super) struct ServiceEntry {
    pub(super) attr: Attribution,
    pub(super) ips: Box<[IpAddr]>,
    pub(super) seen: u32,
    /// As [`PodCold::claimed`].
    pub(super) claimed: u32,
    /// As [`PodEntry::deleted`].
    pub(super) deleted: u32,
}

impl ServiceEntry {
    pub(super) fn rank(&self) -> Rank {
        if self.deleted == 0 {
            Rank::Address
        } else {
            Rank::Tombstone
        }
    }
}

/// The claim to keep when an object's IPs go from `old` to `new`: `claimed`, unless
/// `new` holds an IP that `old` did not (then the claim is renewed).
pub(super) fn kept_claim(old: &[IpAddr], new: &[IpAddr], claimed: u32) -> Option<u32> {
    new.iter().all(|ip| old.contains(ip)).then_some(claimed)
}

/// A uid's 128 bits, as two words (8-byte aligned, unlike `u128`).
pub(super) type Uid = [u64; 2];

/// Claim and tombstone times are kept in tenths of a second since the index was made.
pub(super) const TICKS_PER_SEC: u32 = 10;

/// A uid as a number: the UUID's 128 bits, or a hash of other strings.
pub(super) fn uid_key(uid: &str) -> Uid {
    let hex: String = uid.chars().filter(|c| *c != '-').collect();
    let n = match u128::from_str_radix(&hex, 16) {
        Ok(n) if hex.len() == 32 => n,
        // FNV-1a, 128-bit: stable and collision-free in practice for short strings.
        _ => uid
            .bytes()
            .fold(0x6c62272e07bb014262b821756295c58d, |h, b| {
                (h ^ u128::from(b)).wrapping_mul(0x0000000001000000000000000000013b)
            }),
    };
    [(n >> 64) as u64, n as u64]
}
