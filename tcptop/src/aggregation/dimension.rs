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
        match self {
            Dimension::Ip => Arc::from(ip.to_string()),
            Dimension::Pod => owner.pod.clone(),
            Dimension::Namespace => owner.namespace.clone(),
            Dimension::Node => owner.node.clone(),
            Dimension::Az => owner.az.clone(),
            Dimension::Service => owner.service.clone(),
            Dimension::Workload => owner.workload.clone(),
            Dimension::Port => owner
                .port
                .map_or_else(|| DASH.clone(), |p| Arc::from(p.to_string())),
            Dimension::Process => owner.process.clone().unwrap_or_else(|| DASH.clone()),
        }
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
