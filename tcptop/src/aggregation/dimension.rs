//! The dimensions rows group by, and their values for one end of a connection.
use std::{
    fmt,
    net::IpAddr,
    str::FromStr,
    sync::{Arc, LazyLock},
};

use crate::attribution::Attribution;

/// The `port` of the client end, and the `process` where none is known.
pub const NO_PORT: &str = "-";

/// [`NO_PORT`], allocated once: every row key of the client end shares it.
static DASH: LazyLock<Arc<str>> = LazyLock::new(|| Arc::from(NO_PORT));

/// A property of one end of a connection that rows can be grouped by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimension {
    /// The IP address.
    Ip,
    /// The pod (or node, or `svc/<name>`).
    Pod,
    /// The Kubernetes namespace.
    Namespace,
    /// The node.
    Node,
    /// The node's availability zone.
    Az,
    /// The Service a ClusterIP peer was reached through (`namespace/name`), `-` for
    /// an end not reached through one.
    Service,
    /// The pod's controller (`Deployment/api`, `StatefulSet/db`, ...), `-` for a pod
    /// without one; for other ends the same as `pod`.
    Workload,
    /// The server's port, on the end that is the server (`-` on the client end).
    Port,
    /// The local process's name, where known (`-` elsewhere, and on the peer end).
    Process,
}

impl Dimension {
    /// Every dimension, in the order the CLI lists them.
    pub const ALL: [Dimension; 9] = [
        Dimension::Ip,
        Dimension::Pod,
        Dimension::Namespace,
        Dimension::Node,
        Dimension::Az,
        Dimension::Service,
        Dimension::Workload,
        Dimension::Port,
        Dimension::Process,
    ];

    /// The name used on the command line and in output field names.
    pub fn name(self) -> &'static str {
        match self {
            Dimension::Ip => "ip",
            Dimension::Pod => "pod",
            Dimension::Namespace => "namespace",
            Dimension::Node => "node",
            Dimension::Az => "az",
            Dimension::Service => "service",
            Dimension::Workload => "workload",
            Dimension::Port => "port",
            Dimension::Process => "process",
        }
    }

    /// This dimension's position in [`Dimension::ALL`].
    pub fn index(self) -> usize {
        match self {
            Dimension::Ip => 0,
            Dimension::Pod => 1,
            Dimension::Namespace => 2,
            Dimension::Node => 3,
            Dimension::Az => 4,
            Dimension::Service => 5,
            Dimension::Workload => 6,
            Dimension::Port => 7,
            Dimension::Process => 8,
        }
    }

    /// This dimension's value for an end with address `ip` owned by `owner`.
    pub fn value(self, ip: IpAddr, owner: &Attribution) -> Arc<str> {
        match self.value_ref(ip, owner) {
            ValueRef::Shared(v) => v.clone(),
            other => other.with_str(|s| Arc::from(s)),
        }
    }

    /// The value of this dimension for an end at `ip` owned by `owner`, without
    /// allocating: shared text, or an address or port to format.
    pub fn value_ref(self, ip: IpAddr, owner: &Attribution) -> ValueRef<'_> {
        match self {
            Dimension::Ip => ValueRef::Ip(ip),
            Dimension::Pod => ValueRef::Shared(&owner.pod),
            Dimension::Namespace => ValueRef::Shared(&owner.namespace),
            Dimension::Node => ValueRef::Shared(&owner.node),
            Dimension::Az => ValueRef::Shared(&owner.az),
            Dimension::Service => ValueRef::Shared(&owner.service),
            Dimension::Workload => ValueRef::Shared(&owner.workload),
            Dimension::Port => owner.port.map_or(ValueRef::Shared(&DASH), ValueRef::Port),
            Dimension::Process => ValueRef::Shared(owner.process.as_ref().unwrap_or(&DASH)),
        }
    }
}

/// One dimension's value of one end, borrowed: what a row lookup compares and hashes
/// without building the row's key.
#[derive(Clone, Copy, Debug)]
pub enum ValueRef<'a> {
    /// Text an attribution holds.
    Shared(&'a Arc<str>),
    /// An address, as text.
    Ip(IpAddr),
    /// A port, as text.
    Port(u16),
}

impl ValueRef<'_> {
    /// `f` of the value's text; an address or port is formatted on the stack.
    pub fn with_str<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        let mut buf = StackText::default();
        let text = match self {
            ValueRef::Shared(s) => return f(s),
            ValueRef::Ip(IpAddr::V4(ip)) => buf.ipv4(ip.octets()),
            ValueRef::Ip(ip) => buf.format(ip),
            ValueRef::Port(p) => buf.format(p),
        };
        f(text)
    }
}

/// Room for the longest address text (45 bytes, an IPv4-mapped IPv6 address).
struct StackText {
    bytes: [u8; 48],
    len: usize,
}

impl Default for StackText {
    fn default() -> Self {
        Self {
            bytes: [0; 48],
            len: 0,
        }
    }
}

impl StackText {
    /// `v` as text in this buffer.
    fn format(&mut self, v: &dyn fmt::Display) -> &str {
        use fmt::Write;
        self.len = 0;
        // An address or port always fits; a write that did not would leave it cut.
        let _ = write!(self, "{v}");
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

impl StackText {
    /// An IPv4 address as text, as `Display` writes it, without the formatting
    /// machinery (most of a row lookup by address).
    fn ipv4(&mut self, octets: [u8; 4]) -> &str {
        self.len = 0;
        for (i, o) in octets.into_iter().enumerate() {
            if i > 0 {
                self.push(b'.');
            }
            if o >= 100 {
                self.push(b'0' + o / 100);
            }
            if o >= 10 {
                self.push(b'0' + o / 10 % 10);
            }
            self.push(b'0' + o % 10);
        }
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }

    /// Appends one byte (an IPv4 address's 15 at most always fit).
    fn push(&mut self, b: u8) {
        if let Some(slot) = self.bytes.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }
}

impl fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let dst = self.bytes.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Dimension {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Dimension::ALL
            .into_iter()
            .find(|d| d.name() == s.trim())
            .ok_or_else(|| {
                format!("unknown dimension '{s}': use ip, pod, namespace, node, az, service, workload, port or process")
            })
    }
}

/// Parses a comma-separated dimension list such as `namespace,az`.
pub fn parse_dimensions(s: &str) -> Result<Vec<Dimension>, String> {
    let dims = s
        .split(',')
        .map(str::parse)
        .collect::<Result<Vec<Dimension>, String>>()?;
    for (i, d) in dims.iter().enumerate() {
        if dims[..i].contains(d) {
            return Err(format!("dimension '{d}' is listed twice"));
        }
    }
    Ok(dims)
}
