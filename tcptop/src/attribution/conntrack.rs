//! The backend behind a Service address: kube-proxy's DNAT, read back from the kernel's
//! conntrack table of tcptop's own network namespace over ctnetlink. [`Nat`] is the
//! seam; [`Conntrack`] asks the kernel (one `IPCTNL_MSG_CT_GET` per socket, by its
//! original tuple) and [`NatCache`] keeps the answers of open sockets so that a live
//! socket is looked up once, not at every sample.
use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    sync::Mutex,
};

use netlink_packet_core::{NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_REQUEST};
use netlink_packet_netfilter::{
    conntrack::{ConntrackAttribute, ConntrackMessage, IPTuple, ProtoTuple, Protocol, Tuple},
    NetfilterHeader, NetfilterMessage, NetfilterMessageInner, NetfilterProtoFamily,
};
use netlink_sys::{protocols::NETLINK_NETFILTER, Socket};

/// Why the conntrack table cannot be read; each says what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NatError {
    /// The kernel refused: reading conntrack needs CAP_NET_ADMIN in this namespace.
    #[error(
        "conntrack: no CAP_NET_ADMIN, so Service peers stay svc/<name> (grant NET_ADMIN in \
         the node's network namespace: deploy/service-backends/patch.yaml)"
    )]
    NoPermission,
    /// No ctnetlink in this kernel.
    #[error(
        "conntrack: netlink not available, so Service peers stay svc/<name> (load \
         nf_conntrack_netlink)"
    )]
    Unavailable,
    /// Lookups find no entries: the connections were translated in another network
    /// namespace than tcptop's.
    #[error(
        "conntrack: no entry for Service connections, so they stay svc/<name> (run tcptop \
         in the node's network namespace: hostNetwork: true)"
    )]
    NotHere,
    /// Another failure, with the kernel's words.
    #[error("conntrack: {0}")]
    Other(String),
}

/// Finds where the kernel translated a connection to.
pub trait Nat: Send + Sync {
    /// The address the TCP connection `local` -> `peer` (as the socket sees it) really
    /// reached: the reply tuple's source. `None` when the table has no entry for it, or
    /// the entry was not translated.
    fn backend(&self, local: SocketAddr, peer: SocketAddr) -> Result<Option<SocketAddr>, NatError>;
}

/// The kernel's conntrack table, over one netlink socket.
pub struct Conntrack {
    socket: Mutex<Socket>,
}

impl std::fmt::Debug for Conntrack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Conntrack")
    }
}

/// `errno` as one of [`NatError`].
fn classify(errno: i32) -> NatError {
    match errno {
        libc::EPERM | libc::EACCES => NatError::NoPermission,
        libc::EPROTONOSUPPORT | libc::EAFNOSUPPORT | libc::EOPNOTSUPP => NatError::Unavailable,
        e => NatError::Other(std::io::Error::from_raw_os_error(e).to_string()),
    }
}

impl Conntrack {
    /// Opens a ctnetlink socket in the current network namespace.
    pub fn open() -> Result<Self, NatError> {
        let mut socket = Socket::new(NETLINK_NETFILTER)
            .map_err(|e| classify(e.raw_os_error().unwrap_or(libc::EIO)))?;
        socket
            .bind_auto()
            .map_err(|e| classify(e.raw_os_error().unwrap_or(libc::EIO)))?;
        socket
            .connect(&netlink_sys::SocketAddr::new(0, 0))
            .map_err(|e| classify(e.raw_os_error().unwrap_or(libc::EIO)))?;
        let ct = Self {
            socket: Mutex::new(socket),
        };
        // Asking for a tuple no connection has tells a refusal apart at once.
        let none = SocketAddr::from(([0, 0, 0, 0], 0));
        ct.backend(none, none)?;
        Ok(ct)
    }
}

/// The CT_GET request for the TCP tuple `src` -> `dst`.
fn request(src: SocketAddr, dst: SocketAddr, seq: u32) -> Vec<u8> {
    let family = match src.ip() {
        IpAddr::V4(_) => NetfilterProtoFamily::IPv4,
        IpAddr::V6(_) => NetfilterProtoFamily::IPv6,
    };
    let tuple = vec![
        Tuple::Ip(vec![
            IPTuple::SourceAddress(src.ip()),
            IPTuple::DestinationAddress(dst.ip()),
        ]),
        Tuple::Proto(vec![
            ProtoTuple::Protocol(Protocol::Tcp),
            ProtoTuple::SourcePort(src.port()),
            ProtoTuple::DestinationPort(dst.port()),
        ]),
    ];
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST;
    header.sequence_number = seq;
    let mut msg = NetlinkMessage::new(
        header,
        NetlinkPayload::from(NetfilterMessage::new(
            NetfilterHeader::new(family, 0, 0),
            ConntrackMessage::Get(vec![ConntrackAttribute::CtaTupleOrig(tuple)]),
        )),
    );
    msg.finalize();
    let mut buf = vec![0; msg.buffer_len()];
    msg.serialize(&mut buf);
    buf
}

/// The source of the reply tuple among `attrs`.
fn reply_source(attrs: &[ConntrackAttribute]) -> Option<SocketAddr> {
    let reply = attrs.iter().find_map(|a| match a {
        ConntrackAttribute::CtaTupleReply(t) => Some(t),
        _ => None,
    })?;
    let mut ip = None;
    let mut port = None;
    for t in reply {
        match t {
            Tuple::Ip(parts) => {
                ip = parts.iter().find_map(|p| match p {
                    IPTuple::SourceAddress(a) => Some(*a),
                    _ => None,
                })
            }
            Tuple::Proto(parts) => {
                port = parts.iter().find_map(|p| match p {
                    ProtoTuple::SourcePort(p) => Some(*p),
                    _ => None,
                })
            }
            _ => {}
        }
    }
    Some(SocketAddr::new(ip?, port?))
}

impl Nat for Conntrack {
    fn backend(&self, local: SocketAddr, peer: SocketAddr) -> Result<Option<SocketAddr>, NatError> {
        let socket = self
            .socket
            .lock()
            .map_err(|_| NatError::Other("socket lock poisoned".into()))?;
        let io = |e: std::io::Error| classify(e.raw_os_error().unwrap_or(libc::EIO));
        socket.send(&request(local, peer, 1), 0).map_err(io)?;
        let mut buf = vec![0u8; 8192];
        let n = socket.recv(&mut &mut buf[..], 0).map_err(io)?;
        let msg = NetlinkMessage::<NetfilterMessage>::deserialize(&buf[..n])
            .map_err(|e| NatError::Other(format!("bad reply: {e}")))?;
        match msg.payload {
            NetlinkPayload::InnerMessage(NetfilterMessage {
                inner: NetfilterMessageInner::Conntrack(m),
                ..
            }) => Ok(match m {
                ConntrackMessage::New(attrs) | ConntrackMessage::Get(attrs) => {
                    reply_source(&attrs).filter(|b| *b != peer)
                }
                _ => None,
            }),
            NetlinkPayload::Error(e) => match e.code.map(|c| -c.get()) {
                None | Some(libc::ENOENT) => Ok(None),
                Some(errno) => Err(classify(errno)),
            },
            _ => Ok(None),
        }
    }
}

/// Open sockets' backends are kept at most this many; more are counted and forgotten.
pub const NAT_CACHE: usize = 16_384;

/// A [`Nat`] that asks `inner` once per open socket and remembers its last problem.
pub struct NatCache {
    inner: Box<dyn Nat>,
    state: Mutex<CacheState>,
}

#[derive(Default)]
struct CacheState {
    open: HashMap<(SocketAddr, SocketAddr), Option<SocketAddr>>,
    evicted: u64,
    found_any: bool,
    problem: Option<NatError>,
}

impl NatCache {
    /// The conntrack table of this network namespace, cached; or why it cannot be read.
    pub fn conntrack() -> Result<Self, NatError> {
        Ok(Self::new(Box::new(Conntrack::open()?)))
    }

    /// Caches the answers of `inner`.
    pub fn new(inner: Box<dyn Nat>) -> Self {
        Self {
            inner,
            state: Mutex::new(CacheState::default()),
        }
    }

    /// The backend of `local` -> `peer`; `last` forgets it (the socket closed: its
    /// tuple may be reused by the next connection).
    pub fn backend(&self, local: SocketAddr, peer: SocketAddr, last: bool) -> Option<SocketAddr> {
        let Ok(mut st) = self.state.lock() else {
            return None;
        };
        let key = (local, peer);
        let cached = if last {
            st.open.remove(&key)
        } else {
            st.open.get(&key).copied()
        };
        if let Some(hit) = cached {
            return hit;
        }
        let found = match self.inner.backend(local, peer) {
            Ok(b) => {
                // One miss after a hit is a connection gone from the table; misses
                // alone mean the table is not the one that translated them.
                st.found_any |= b.is_some();
                st.problem = (!st.found_any).then_some(NatError::NotHere);
                b
            }
            Err(e) => {
                st.problem = Some(e);
                None
            }
        };
        if !last {
            if st.open.len() >= NAT_CACHE {
                st.evicted += st.open.len() as u64;
                st.open.clear();
            }
            st.open.insert(key, found);
        }
        found
    }

    /// Why the last lookup failed, if it did.
    pub fn problem(&self) -> Option<NatError> {
        self.state.lock().ok().and_then(|s| s.problem.clone())
    }

    /// Open sockets' answers forgotten because the cache was full.
    pub fn evicted(&self) -> u64 {
        self.state.lock().map_or(0, |s| s.evicted)
    }
}

impl std::fmt::Debug for NatCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NatCache")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    };

    use super::*;

    struct Fake {
        asked: Arc<AtomicUsize>,
        answer: Result<Option<SocketAddr>, NatError>,
    }

    impl Nat for Fake {
        fn backend(&self, _: SocketAddr, _: SocketAddr) -> Result<Option<SocketAddr>, NatError> {
            self.asked.fetch_add(1, Ordering::Relaxed);
            self.answer.clone()
        }
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    /// A cache over a table that always gives `answer`, and how often it was asked.
    fn cache_of(answer: Result<Option<SocketAddr>, NatError>) -> (NatCache, Arc<AtomicUsize>) {
        let asked = Arc::new(AtomicUsize::new(0));
        let fake = Fake {
            asked: asked.clone(),
            answer,
        };
        (NatCache::new(Box::new(fake)), asked)
    }

    #[test]
    fn open_sockets_are_asked_once_and_closes_forget_them() {
        let backend = addr("10.1.0.5:8080");
        let (cache, asked) = cache_of(Ok(Some(backend)));
        let (l, p) = (addr("10.0.0.2:40000"), addr("10.96.0.10:80"));
        for _ in 0..3 {
            assert_eq!(cache.backend(l, p, false), Some(backend));
        }
        assert_eq!(
            cache.backend(l, p, true),
            Some(backend),
            "the close hits too"
        );
        assert_eq!(cache.backend(l, p, true), Some(backend), "then asks again");
        assert_eq!(
            asked.load(Ordering::Relaxed),
            2,
            "once while open, once after"
        );
        assert_eq!(cache.problem(), None);
    }

    #[test]
    fn misses_alone_say_tcptop_is_in_the_wrong_namespace() {
        let (cache, _) = cache_of(Ok(None));
        let (l, p) = (addr("10.0.0.2:40000"), addr("10.96.0.10:80"));
        assert_eq!(cache.backend(l, p, true), None);
        assert_eq!(cache.problem(), Some(NatError::NotHere));
        assert!(cache
            .problem()
            .unwrap()
            .to_string()
            .contains("node's network namespace"));
    }

    #[test]
    fn a_refusal_is_remembered_as_the_problem() {
        let (cache, _) = cache_of(Err(NatError::NoPermission));
        assert_eq!(
            cache.backend(addr("10.0.0.2:1"), addr("10.96.0.1:443"), true),
            None
        );
        assert_eq!(cache.problem(), Some(NatError::NoPermission));
        assert!(cache
            .problem()
            .unwrap()
            .to_string()
            .contains("CAP_NET_ADMIN"));
    }

    #[test]
    fn requests_carry_the_original_tuple_and_replies_give_the_backend() {
        let buf = request(addr("10.0.0.2:40000"), addr("10.96.0.10:80"), 7);
        let msg = NetlinkMessage::<NetfilterMessage>::deserialize(&buf).unwrap();
        let NetlinkPayload::InnerMessage(m) = msg.payload else {
            panic!("not a netfilter message")
        };
        let NetfilterMessageInner::Conntrack(ConntrackMessage::Get(attrs)) = m.inner else {
            panic!("not a CT_GET")
        };
        let ConntrackAttribute::CtaTupleOrig(t) = &attrs[0] else {
            panic!("no original tuple")
        };
        // The same shape as a reply tuple: its source reads back.
        let reply = [ConntrackAttribute::CtaTupleReply(t.clone())];
        assert_eq!(reply_source(&reply), Some(addr("10.0.0.2:40000")));
        assert_eq!(classify(libc::EPERM), NatError::NoPermission);
    }
}
