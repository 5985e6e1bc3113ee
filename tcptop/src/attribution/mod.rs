//! Attribution: who an IP address belongs to (namespace, pod, node, zone).
//!
//! The [`Resolver`] trait is the seam: [`IpOnly`] knows nothing but loopback, the
//! Kubernetes resolver answers from a watch cache. Every close record is attributed
//! once, on arrival, into an [`AttributedClose`]; an [`Item`] is what this stage hands
//! on, to aggregation and to recordings.
pub mod conntrack;
pub mod kube;

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

use serde::{Deserialize, Serialize};

use crate::collector::{
    histogram::SrttHistogram, live::LiveDelta, CloseEvent, DropCounters, FoldedTotals, Origin,
};

/// The label for a value that is not (yet) known.
pub const UNKNOWN: &str = "unknown";
/// The label for loopback addresses.
pub const LOOPBACK: &str = "loopback";
/// The `service` of an end that is not reached through a Service.
pub const NO_SERVICE: &str = "-";
/// The `workload` of a pod without a controller.
pub const NO_WORKLOAD: &str = "-";

/// What an IP address belongs to. Every field is a display label, never empty.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Attribution {
    /// Kubernetes namespace, `node` for node IPs, or a special label.
    pub namespace: Arc<str>,
    /// Pod name, `svc/<name>` for a ClusterIP, the node name for a node IP.
    pub pod: Arc<str>,
    /// Node name.
    pub node: Arc<str>,
    /// Availability zone of the node.
    pub az: Arc<str>,
    /// `namespace/name` of the Service this end was reached through (a ClusterIP
    /// peer, whether or not its backend pod was found); [`NO_SERVICE`] otherwise.
    #[serde(default = "no_service")]
    pub service: Arc<str>,
    /// A pod's controller, `Kind/name` (a ReplicaSet's Deployment: `Deployment/api`),
    /// [`NO_WORKLOAD`] for a pod without one; for other ends the same as `pod`.
    #[serde(default = "no_service")]
    pub workload: Arc<str>,
    /// The server's port, on the end that is the server: the peer port of a socket
    /// this side connected, the local port of an accepted one. `None` on the client
    /// end, and where there is no socket (folded totals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The local process's name, where known (the local end only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<Arc<str>>,
}

/// `-` ([`NO_SERVICE`], [`NO_WORKLOAD`]), for recordings made before ends had them.
fn no_service() -> Arc<str> {
    Arc::from(NO_SERVICE)
}

impl Attribution {
    /// Every field set to the same label.
    pub fn all(label: &str) -> Self {
        let l: Arc<str> = Arc::from(label);
        Self {
            namespace: l.clone(),
            pod: l.clone(),
            node: l.clone(),
            az: l.clone(),
            service: no_service(),
            workload: l,
            port: None,
            process: None,
        }
    }

    /// Every field `unknown`.
    pub fn unknown() -> Self {
        Self::all(UNKNOWN)
    }
}

/// Resolves an IP address to its [`Attribution`]. Must be cheap: it runs for every
/// closed socket.
pub trait Resolver {
    /// The owner of `ip`, as far as this resolver knows now.
    fn resolve(&self, ip: IpAddr) -> Attribution;

    /// The owner of the peer end of the socket `local` -> `peer`: for a peer that is a
    /// Service address, the backend pod the connection was translated to, and for a
    /// server peer on a node IP, the hostNetwork pod that declares its port, where the
    /// resolver can find them. `server` says the peer is the server; `last` says the
    /// socket is closing: nothing will ask for it again.
    fn resolve_peer(
        &self,
        local: SocketAddr,
        peer: SocketAddr,
        server: bool,
        last: bool,
    ) -> Attribution {
        let _ = (local, last);
        self.resolve_end(peer, server)
    }

    /// The owner of `addr`, by [`Resolver::resolve_server`] when it is the server.
    fn resolve_end(&self, addr: SocketAddr, server: bool) -> Attribution {
        match server {
            true => self.resolve_server(addr),
            false => self.resolve(addr.ip()),
        }
    }

    /// The owner of the local end `local` of a socket made in the cgroup `cgroup`
    /// (`parent/leaf` names, where known): a pod's container cgroup names that pod,
    /// even when it shares its node's IP.
    fn resolve_local(&self, local: SocketAddr, cgroup: Option<&str>) -> Attribution {
        let _ = cgroup;
        self.resolve(local.ip())
    }

    /// The owner of the server end `addr` of a connection: on a node IP, the
    /// hostNetwork pod that declares its port, where the resolver knows one.
    fn resolve_server(&self, addr: SocketAddr) -> Attribution {
        self.resolve(addr.ip())
    }
}

/// True when the peer of the socket `local` -> `peer` is the server: this side
/// connected; for a socket whose open was not seen, the end with the lower port
/// (clients' ports come from the high ephemeral range).
pub fn peer_is_server(local: SocketAddr, peer: SocketAddr, origin: Origin) -> bool {
    match origin {
        Origin::Connect => true,
        Origin::Accept => false,
        Origin::Unknown => peer.port() < local.port(),
    }
}

/// One socket as attribution sees it: its ends, who opened it, the cgroup that made
/// it.
#[derive(Clone, Copy, Debug)]
pub struct Socket<'a> {
    /// Local address and port.
    pub local: SocketAddr,
    /// Peer address and port.
    pub peer: SocketAddr,
    /// Who opened it.
    pub origin: Origin,
    /// Its cgroup's `parent/leaf` names, where known.
    pub cgroup: Option<&'a str>,
    /// The local process's name, where known.
    pub process: Option<&'a Arc<str>>,
}

/// Both ends of socket `s` attributed by `resolver`, the server end carrying its port
/// (a Service's backend: the backend's port) (`last`: see [`Resolver::resolve_peer`]).
pub fn attribute(resolver: &dyn Resolver, s: Socket<'_>, last: bool) -> (Attribution, Attribution) {
    let Socket {
        local,
        peer,
        origin,
        cgroup,
        process,
    } = s;
    let server = peer_is_server(local, peer, origin);
    let mut l = resolver.resolve_local(local, cgroup);
    l.process = process.cloned();
    let mut p = resolver.resolve_peer(local, peer, server, last);
    if server {
        // A resolver that found a backend behind a Service gave the backend's port.
        p.port.get_or_insert(peer.port());
    } else {
        l.port = Some(local.port());
    }
    (l, p)
}

/// The resolver used without Kubernetes: loopback is `loopback`, the rest `unknown`.
#[derive(Clone, Debug)]
pub struct IpOnly {
    loopback: Attribution,
    unknown: Attribution,
}

impl Default for IpOnly {
    fn default() -> Self {
        Self {
            loopback: Attribution::all(LOOPBACK),
            unknown: Attribution::unknown(),
        }
    }
}

impl Resolver for IpOnly {
    fn resolve(&self, ip: IpAddr) -> Attribution {
        if is_loopback(ip) {
            self.loopback.clone()
        } else {
            self.unknown.clone()
        }
    }
}

/// True for 127.0.0.0/8 and ::1.
pub fn is_loopback(ip: IpAddr) -> bool {
    ip.is_loopback()
}

/// A close record with both ends attributed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttributedClose {
    /// The record.
    pub event: CloseEvent,
    /// The local end's owner.
    pub local: Attribution,
    /// The peer end's owner.
    pub peer: Attribution,
}

impl CloseEvent {
    /// The socket as attribution sees it.
    pub fn socket(&self) -> Socket<'_> {
        Socket {
            local: self.local,
            peer: self.peer,
            origin: self.origin,
            cgroup: self.cgroup.as_deref(),
            process: self.process.as_ref(),
        }
    }
}

impl AttributedClose {
    /// Attributes both ends of `event` with `resolver`.
    pub fn new(event: CloseEvent, resolver: &dyn Resolver) -> Self {
        let (local, peer) = attribute(resolver, event.socket(), true);
        Self { local, peer, event }
    }

    /// Labels both ends afresh with `resolver`.
    pub fn relabel(&mut self, resolver: &dyn Resolver) {
        (self.local, self.peer) = attribute(resolver, self.event.socket(), true);
    }
}

/// Totals of records that overflowed the ring buffer, or one pair's second of the
/// daemon's history, with both ends attributed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttributedFolded {
    /// The totals.
    pub totals: FoldedTotals,
    /// The local end's owner.
    pub local: Attribution,
    /// The peer end's owner.
    pub peer: Attribution,
    /// srtt samples, where the totals kept them (the history does; the kernel's
    /// overflow map does not).
    pub srtt: SrttHistogram,
}

impl AttributedFolded {
    /// Attributes both ends of `totals` with `resolver`.
    pub fn new(totals: FoldedTotals, resolver: &dyn Resolver) -> Self {
        Self {
            local: resolver.resolve(totals.local),
            peer: resolver.resolve(totals.peer),
            totals,
            srtt: SrttHistogram::default(),
        }
    }
}

/// What a live socket did since the previous pass, with both ends attributed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttributedLive {
    /// The activity.
    pub delta: LiveDelta,
    /// The local end's owner.
    pub local: Attribution,
    /// The peer end's owner.
    pub peer: Attribution,
}

impl AttributedLive {
    /// Attributes both ends of `delta` with `resolver`.
    pub fn new(delta: LiveDelta, resolver: &dyn Resolver) -> Self {
        let (local, peer) = attribute(resolver, live_socket(&delta), false);
        Self { local, peer, delta }
    }

    /// Labels both ends afresh with `resolver`.
    pub fn relabel(&mut self, resolver: &dyn Resolver) {
        (self.local, self.peer) = attribute(resolver, live_socket(&self.delta), false);
    }
}

/// `d` as attribution sees it.
fn live_socket(d: &LiveDelta) -> Socket<'_> {
    Socket {
        local: d.local,
        peer: d.peer,
        origin: d.origin,
        cgroup: d.cgroup.as_deref(),
        process: d.process.as_ref(),
    }
}

/// One attributed record, as the live loop and `--once` consume it and a recording
/// stores it.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// A closed socket with both ends attributed.
    Close(AttributedClose),
    /// Totals of records that overflowed the ring buffer.
    Folded(AttributedFolded),
    /// A live socket's activity since the previous pass (or its first sight).
    Live(AttributedLive),
    /// Live sockets that are gone without a close record.
    Gone(Vec<u64>),
    /// A pass of the live sampler ended, at this many nanoseconds since boot.
    Pass(u64),
    /// The collector's drop counters so far.
    Drops(DropCounters),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_only_knows_loopback() {
        let r = IpOnly::default();
        assert_eq!(
            &*r.resolve("127.0.0.1".parse().unwrap()).namespace,
            LOOPBACK
        );
        assert_eq!(&*r.resolve("::1".parse().unwrap()).az, LOOPBACK);
        assert_eq!(&*r.resolve("10.0.0.1".parse().unwrap()).pod, UNKNOWN);
    }

    #[test]
    fn the_server_end_carries_the_port() {
        let r = IpOnly::default();
        let (client, server) = (
            "10.0.0.1:40000".parse().unwrap(),
            "10.0.0.2:5432".parse().unwrap(),
        );
        let ports = |local, peer, origin| {
            let s = Socket {
                local,
                peer,
                origin,
                cgroup: None,
                process: None,
            };
            let (a, b) = attribute(&r, s, true);
            (a.port, b.port)
        };
        assert_eq!(ports(client, server, Origin::Connect), (None, Some(5432)));
        assert_eq!(ports(server, client, Origin::Accept), (Some(5432), None));
        // An open not seen: the lower port is the server's.
        assert_eq!(ports(client, server, Origin::Unknown), (None, Some(5432)));
        assert_eq!(ports(server, client, Origin::Unknown), (Some(5432), None));
        // Folded totals have no socket, so no port.
        let t = FoldedTotals {
            local: client.ip(),
            peer: server.ip(),
            counters: crate::collector::Counters::default(),
        };
        assert_eq!(AttributedFolded::new(t, &r).peer.port, None);
    }
}
