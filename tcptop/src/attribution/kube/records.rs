//! Compact records of the few fields tcptop needs from Pods, Nodes and Services,
//! borrowed from the API objects. Pure conversion, no I/O.
use std::net::IpAddr;

use k8s_openapi::{
    api::core::v1::{Node, Pod, Service},
    apimachinery::pkg::apis::meta::v1::ObjectMeta,
};

/// The zone label on the node, and the one read when it is missing.
pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";
/// The deprecated zone label read when [`ZONE_LABEL`] is missing.
pub const LEGACY_ZONE_LABEL: &str = "failure-domain.beta.kubernetes.io/zone";

/// Which node labels hold the zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneLabels {
    /// Read first.
    pub primary: String,
    /// Read when the primary label is missing.
    pub fallback: Option<String>,
}

impl Default for ZoneLabels {
    fn default() -> Self {
        Self {
            primary: ZONE_LABEL.into(),
            fallback: Some(LEGACY_ZONE_LABEL.into()),
        }
    }
}

impl ZoneLabels {
    /// `--zone-label KEY`: `KEY` only, or the default pair when `KEY` is the default.
    pub fn from_flag(key: &str) -> Self {
        if key == ZONE_LABEL {
            Self::default()
        } else {
            Self {
                primary: key.into(),
                fallback: None,
            }
        }
    }
}

/// Where a pod is in its life, as far as IP ownership goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Pending, Running or Unknown: it holds its IPs.
    Live,
    /// Succeeded or Failed: its IPs may already belong to another pod.
    Finished,
}

/// What tcptop keeps of a Pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodRecord<'a> {
    /// `metadata.uid`.
    pub uid: &'a str,
    /// `metadata.namespace`.
    pub namespace: &'a str,
    /// `metadata.name`.
    pub name: &'a str,
    /// `spec.nodeName`; empty before scheduling.
    pub node: &'a str,
    /// Every parseable IP in `status.podIPs` (else `status.podIP`).
    pub ips: Vec<IpAddr>,
    /// `spec.hostNetwork`.
    pub host_network: bool,
    /// From `status.phase`.
    pub phase: Phase,
    /// `metadata.creationTimestamp` in seconds since the epoch (0 when missing).
    pub created: i64,
    /// Its controller, from `metadata.ownerReferences`.
    pub owner: Option<OwnerRef<'a>>,
    /// The TCP ports a hostNetwork pod declares (`containerPort`, `hostPort`): a
    /// connection to its node's IP on one of them is the pod's. Empty otherwise.
    pub host_ports: Vec<u16>,
}

/// An object's controller: the owner reference with `controller: true`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OwnerRef<'a> {
    /// `kind`: `ReplicaSet`, `StatefulSet`, `DaemonSet`, `Job`, ...
    pub kind: &'a str,
    /// `name`.
    pub name: &'a str,
}

/// What tcptop keeps of a ReplicaSet: its owner chain only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaSetRecord<'a> {
    /// `metadata.namespace`.
    pub namespace: &'a str,
    /// `metadata.name`.
    pub name: &'a str,
    /// Its controller (a Deployment, normally).
    pub owner: Option<OwnerRef<'a>>,
}

/// What tcptop keeps of a Node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeRecord<'a> {
    /// `metadata.name`.
    pub name: &'a str,
    /// The zone label's value.
    pub zone: Option<&'a str>,
    /// Every parseable IP in `status.addresses`.
    pub ips: Vec<IpAddr>,
}

/// What tcptop keeps of a Service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceRecord<'a> {
    /// `metadata.uid`.
    pub uid: &'a str,
    /// `metadata.namespace`.
    pub namespace: &'a str,
    /// `metadata.name`.
    pub name: &'a str,
    /// `spec.clusterIPs` (else `spec.clusterIP`), without `None` (headless).
    pub ips: Vec<IpAddr>,
}

/// The controller among `m`'s owner references.
fn controller(m: &ObjectMeta) -> Option<OwnerRef<'_>> {
    m.owner_references
        .as_deref()?
        .iter()
        .find(|o| o.controller == Some(true))
        .map(|o| OwnerRef {
            kind: &o.kind,
            name: &o.name,
        })
}

/// The TCP ports `pod` declares, container and host ports alike, sorted.
fn declared_ports(pod: &Pod) -> Vec<u16> {
    let containers = pod.spec.iter().flat_map(|s| s.containers.iter());
    let mut ports: Vec<u16> = containers
        .flat_map(|c| c.ports.iter().flatten())
        .filter(|p| p.protocol.as_deref().unwrap_or("TCP") == "TCP")
        .flat_map(|p| [Some(p.container_port), p.host_port])
        .flatten()
        .filter_map(|p| u16::try_from(p).ok())
        .filter(|p| *p != 0)
        .collect();
    ports.sort_unstable();
    ports.dedup();
    ports
}

/// The record of a ReplicaSet from its metadata, or `None` without a name.
pub fn replicaset_record(m: &ObjectMeta) -> Option<ReplicaSetRecord<'_>> {
    Some(ReplicaSetRecord {
        namespace: m.namespace.as_deref().unwrap_or("default"),
        name: m.name.as_deref()?,
        owner: controller(m),
    })
}

fn parse_ips<'a>(it: impl Iterator<Item = &'a str>) -> Vec<IpAddr> {
    let mut v: Vec<IpAddr> = it.filter_map(|s| s.trim().parse().ok()).collect();
    v.dedup();
    v
}

/// The record of `pod`, or `None` when it lacks a uid or name.
pub fn pod_record(pod: &Pod) -> Option<PodRecord<'_>> {
    let m = &pod.metadata;
    let spec = pod.spec.as_ref();
    let status = pod.status.as_ref();
    let ips = match status.and_then(|s| s.pod_ips.as_deref()) {
        Some(list) if !list.is_empty() => parse_ips(list.iter().map(|p| p.ip.as_str())),
        _ => parse_ips(status.and_then(|s| s.pod_ip.as_deref()).into_iter()),
    };
    let phase = match status.and_then(|s| s.phase.as_deref()) {
        Some("Succeeded" | "Failed") => Phase::Finished,
        _ => Phase::Live,
    };
    let host_network = spec.and_then(|s| s.host_network).unwrap_or(false);
    Some(PodRecord {
        uid: m.uid.as_deref()?,
        namespace: m.namespace.as_deref().unwrap_or("default"),
        name: m.name.as_deref()?,
        node: spec.and_then(|s| s.node_name.as_deref()).unwrap_or(""),
        ips,
        host_network,
        phase,
        created: m.creation_timestamp.as_ref().map_or(0, |t| t.0.as_second()),
        owner: controller(m),
        host_ports: if host_network {
            declared_ports(pod)
        } else {
            Vec::new()
        },
    })
}

/// The record of `node`, or `None` when it lacks a name.
pub fn node_record<'a>(node: &'a Node, labels: &ZoneLabels) -> Option<NodeRecord<'a>> {
    let m = &node.metadata;
    let zone = m.labels.as_ref().and_then(|l| {
        l.get(&labels.primary)
            .or_else(|| labels.fallback.as_ref().and_then(|f| l.get(f)))
            .map(String::as_str)
            .filter(|z| !z.is_empty())
    });
    let addrs = node
        .status
        .as_ref()
        .and_then(|s| s.addresses.as_deref())
        .unwrap_or_default();
    Some(NodeRecord {
        name: m.name.as_deref()?,
        zone,
        ips: parse_ips(addrs.iter().map(|a| a.address.as_str())),
    })
}

/// The record of `svc`, or `None` when it lacks a uid or name.
pub fn service_record(svc: &Service) -> Option<ServiceRecord<'_>> {
    let m = &svc.metadata;
    let spec = svc.spec.as_ref();
    let ips = match spec.and_then(|s| s.cluster_ips.as_deref()) {
        Some(list) if !list.is_empty() => parse_ips(list.iter().map(String::as_str)),
        _ => parse_ips(spec.and_then(|s| s.cluster_ip.as_deref()).into_iter()),
    };
    Some(ServiceRecord {
        uid: m.uid.as_deref()?,
        namespace: m.namespace.as_deref().unwrap_or("default"),
        name: m.name.as_deref()?,
        ips,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pod_fields() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "web-1", "namespace": "shop", "uid": "u1",
                         "creationTimestamp": "2026-01-02T03:04:05Z"},
            "spec": {"nodeName": "n1", "containers": []},
            "status": {"phase": "Succeeded", "podIP": "10.0.0.9",
                       "podIPs": [{"ip": "10.0.0.9"}, {"ip": "fd00::9"}]}
        }))
        .unwrap();
        let r = pod_record(&pod).unwrap();
        assert_eq!(
            (r.namespace, r.name, r.node, r.uid),
            ("shop", "web-1", "n1", "u1")
        );
        assert_eq!(
            r.ips,
            vec![
                "10.0.0.9".parse::<IpAddr>().unwrap(),
                "fd00::9".parse().unwrap()
            ]
        );
        assert_eq!(r.phase, Phase::Finished);
        assert!(!r.host_network);
        assert_eq!(r.created, 1_767_323_045);
    }

    #[test]
    fn pod_ip_fallback_and_host_network() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "proxy", "namespace": "kube-system", "uid": "u2"},
            "spec": {"nodeName": "n1", "hostNetwork": true, "containers": []},
            "status": {"phase": "Running", "podIP": "192.168.1.10"}
        }))
        .unwrap();
        let r = pod_record(&pod).unwrap();
        assert!(r.host_network);
        assert_eq!(r.owner, None);
        assert_eq!(r.phase, Phase::Live);
        assert_eq!(r.ips, vec!["192.168.1.10".parse::<IpAddr>().unwrap()]);
    }

    #[test]
    fn controllers_and_declared_ports() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "agent-x", "namespace": "ops", "uid": "u3",
                "ownerReferences": [
                    {"apiVersion": "v1", "kind": "ConfigMap", "name": "cm", "uid": "c"},
                    {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent",
                     "uid": "d", "controller": true}]},
            "spec": {"nodeName": "n1", "hostNetwork": true, "containers": [
                {"name": "a", "ports": [{"containerPort": 9100},
                    {"containerPort": 53, "protocol": "UDP"}]},
                {"name": "b", "ports": [{"containerPort": 8443, "hostPort": 443}]}]}
        }))
        .unwrap();
        let r = pod_record(&pod).unwrap();
        let daemonset = OwnerRef {
            kind: "DaemonSet",
            name: "agent",
        };
        assert_eq!(r.owner, Some(daemonset));
        assert_eq!(r.host_ports, vec![443, 8443, 9100], "TCP only, sorted");
        let rs: ObjectMeta =
            serde_json::from_value(json!({"name": "api-7d9f", "namespace": "shop",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "api",
                "uid": "x", "controller": true}]}))
            .unwrap();
        let deployment = OwnerRef {
            kind: "Deployment",
            name: "api",
        };
        assert_eq!(replicaset_record(&rs).unwrap().owner, Some(deployment));
    }

    #[test]
    fn node_zone_labels() {
        let node = |labels: serde_json::Value| -> Node {
            serde_json::from_value(json!({
                "metadata": {"name": "n1", "labels": labels},
                "status": {"addresses": [
                    {"type": "InternalIP", "address": "192.168.1.10"},
                    {"type": "Hostname", "address": "n1"},
                    {"type": "InternalIP", "address": "fd00:1::10"}]}
            }))
            .unwrap()
        };
        let both = node(json!({ZONE_LABEL: "a", LEGACY_ZONE_LABEL: "b", "x/zone": "c"}));
        let legacy = node(json!({LEGACY_ZONE_LABEL: "b"}));
        let d = ZoneLabels::default();
        assert_eq!(node_record(&both, &d).unwrap().zone, Some("a"));
        assert_eq!(node_record(&legacy, &d).unwrap().zone, Some("b"));
        let custom = ZoneLabels::from_flag("x/zone");
        assert_eq!(node_record(&both, &custom).unwrap().zone, Some("c"));
        assert_eq!(node_record(&legacy, &custom).unwrap().zone, None);
        assert_eq!(node_record(&both, &d).unwrap().ips.len(), 2);
    }

    #[test]
    fn service_cluster_ips() {
        let svc = |spec: serde_json::Value| -> Service {
            serde_json::from_value(json!({
                "metadata": {"name": "db", "namespace": "shop", "uid": "s1"}, "spec": spec
            }))
            .unwrap()
        };
        let dual =
            svc(json!({"clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10", "fd00:96::10"]}));
        assert_eq!(service_record(&dual).unwrap().ips.len(), 2);
        let headless = svc(json!({"clusterIP": "None", "clusterIPs": ["None"]}));
        assert!(service_record(&headless).unwrap().ips.is_empty());
    }
}
