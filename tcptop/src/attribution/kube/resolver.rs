//! The Kubernetes [`Resolver`]: one read lock and one hash lookup per IP, no API call.
//! A peer that is a Service address becomes the backend pod conntrack says the
//! connection was translated to, where a [`NatCache`] is given.
use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

use super::{cgroup::pod_uid, watch::Shared};
use crate::attribution::{
    conntrack::NatCache, is_loopback, Attribution, Resolver, LOOPBACK, NO_SERVICE, UNKNOWN,
};

/// The label of IPs that the current cache does not know.
pub const EXTERNAL: &str = "external";

/// Resolves IPs from the watch cache shared with the background watchers.
#[derive(Clone, Debug)]
pub struct KubeResolver {
    shared: Arc<Shared>,
    loopback: Attribution,
    unknown: Attribution,
    external: Attribution,
    nat: Option<Arc<NatCache>>,
}

impl KubeResolver {
    /// A resolver reading `shared`.
    pub fn new(shared: Arc<Shared>) -> Self {
        Self {
            shared,
            loopback: Attribution::all(LOOPBACK),
            unknown: Attribution::all(UNKNOWN),
            external: Attribution::all(EXTERNAL),
            nat: None,
        }
    }

    /// Finds Service peers' backends with `nat`.
    pub fn with_nat(mut self, nat: Arc<NatCache>) -> Self {
        self.nat = Some(nat);
        self
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

    /// A Service peer is the backend pod conntrack names, keeping the Service; without
    /// a backend it stays the Service (`svc/<name>`). A server on a node IP is the
    /// hostNetwork pod that declares its port, else the node.
    fn resolve_peer(
        &self,
        local: SocketAddr,
        peer: SocketAddr,
        server: bool,
        last: bool,
    ) -> Attribution {
        let owner = self.resolve_end(peer, server);
        if &*owner.service == NO_SERVICE {
            return owner;
        }
        match self.nat.as_ref().and_then(|n| n.backend(local, peer, last)) {
            Some(backend) => Attribution {
                service: owner.service,
                port: server.then_some(backend.port()),
                ..self.resolve(backend.ip())
            },
            None => owner,
        }
    }

    fn resolve_local(&self, local: SocketAddr, cgroup: Option<&str>) -> Attribution {
        let pod = cgroup
            .and_then(pod_uid)
            .and_then(|uid| self.shared.read().resolve_uid(&uid));
        pod.unwrap_or_else(|| self.resolve(local.ip()))
    }

    fn resolve_server(&self, addr: SocketAddr) -> Attribution {
        match self.shared.read().resolve_host_port(addr) {
            Some(pod) => pod,
            None => self.resolve(addr.ip()),
        }
    }
}
