//! The Kubernetes [`Resolver`]: one read lock and one hash lookup per IP, no API call.
use std::{net::IpAddr, sync::Arc};

use super::watch::Shared;
use crate::attribution::{is_loopback, Attribution, Resolver, LOOPBACK, UNKNOWN};

/// The label of IPs that the current cache does not know.
pub const EXTERNAL: &str = "external";

/// Resolves IPs from the watch cache shared with the background watchers.
#[derive(Clone, Debug)]
pub struct KubeResolver {
    shared: Arc<Shared>,
    loopback: Attribution,
    unknown: Attribution,
    external: Attribution,
}

impl KubeResolver {
    /// A resolver reading `shared`.
    pub fn new(shared: Arc<Shared>) -> Self {
        Self {
            shared,
            loopback: Attribution::all(LOOPBACK),
            unknown: Attribution::all(UNKNOWN),
            external: Attribution::all(EXTERNAL),
        }
    }
}

impl Resolver for KubeResolver {
    /// Loopback is `loopback`; a cached IP its owner; any other IP `external` while the
    /// cache is current (every kind listed, no watch failing, credentials in hand) and
    /// `unknown` otherwise (and for the unspecified address, which stands for a
    /// missing one).
    fn resolve(&self, ip: IpAddr) -> Attribution {
        if is_loopback(ip) {
            return self.loopback.clone();
        }
        if ip.is_unspecified() {
            return self.unknown.clone();
        }
        let idx = self.shared.read();
        match idx.resolve(ip) {
            Some(a) => a,
            None if idx.current() => self.external.clone(),
            None => self.unknown.clone(),
        }
    }
}
