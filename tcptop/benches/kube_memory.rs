//! Memory per cached pod: 10,000 realistic pods (and 100 nodes, 50 namespaces, 400
//! Deployments' ReplicaSets) go into the IP index; a counting global allocator measures
//! what the index holds afterwards, the workloads' owner chains included.
//! Run: `cargo bench -p tcptop --bench kube_memory`.
mod counting;
#[path = "../tests/support_kube/mod.rs"]
mod support_kube;

use std::time::Instant;

use k8s_openapi::api::core::v1::{Node, Pod};
use support_kube::objects;
use tcptop::attribution::kube::{
    index::{Index, Kind},
    records::{node_record, pod_record, OwnerRef, ReplicaSetRecord, ZoneLabels},
};

#[global_allocator]
static ALLOC: counting::Counting = counting::Counting;

const PODS: u32 = 10_000;
const NODES: u32 = 100;

/// Realistic pods: 50 namespaces, deployment-style names, real UUIDs, spread on nodes.
fn pods(dual_stack: bool) -> Vec<Pod> {
    (0..PODS)
        .map(|i| {
            let ns = format!("team-{:02}-prod", i % 50);
            let name = format!(
                "service-{:03}-7d9f8b6c5-{:05x}",
                i % 400,
                i * 7919 % 0xfffff
            );
            let v4 = format!("10.{}.{}.{}", 64 + i / 65536, i / 256 % 256, i % 256);
            let v6 = format!("fd00:10::{i:x}");
            let ips: Vec<&str> = if dual_stack {
                vec![&v4, &v6]
            } else {
                vec![&v4]
            };
            let node = format!(
                "ip-10-0-{}-{}.eu-west-1.compute.internal",
                i % NODES / 10,
                i % NODES
            );
            let mut pod = objects::pod(&ns, &name, &objects::uid(i, i), &node, &ips, "Running");
            pod["metadata"]["ownerReferences"][0]["name"] = replicaset(i).into();
            serde_json::from_value(pod).unwrap()
        })
        .collect()
}

/// The ReplicaSet of pod `i`: one per Deployment `service-NNN`.
fn replicaset(i: u32) -> String {
    format!("service-{:03}-7d9f8b6c5", i % 400)
}

fn measure(dual_stack: bool) -> (f64, f64) {
    let pods = pods(dual_stack);
    let nodes: Vec<Node> = (0..NODES)
        .map(|n| {
            let name = format!("ip-10-0-{}-{}.eu-west-1.compute.internal", n / 10, n);
            let ip = format!("10.0.{}.{}", n / 10, n);
            serde_json::from_value(objects::node(
                &name,
                &format!("eu-west-1{}", ["a", "b", "c"][n as usize % 3]),
                &[&ip],
            ))
            .unwrap()
        })
        .collect();
    let zones = ZoneLabels::default();
    let mut idx = Index::new();
    for n in &nodes {
        idx.apply_node(&node_record(n, &zones).unwrap(), Instant::now());
    }
    let sets: Vec<(String, String, String)> = (0..400)
        .map(|i| {
            let ns = format!("team-{:02}-prod", i % 50);
            (ns, replicaset(i), format!("service-{i:03}"))
        })
        .collect();
    let (b0, k0) = (counting::bytes(), counting::blocks());
    // As the watcher does it: one full list, then InitDone.
    let now = Instant::now();
    idx.begin_relist(Kind::Pods, now);
    for p in &pods {
        idx.apply_pod(&pod_record(p).unwrap(), now);
    }
    idx.end_relist(Kind::Pods, now);
    idx.begin_relist(Kind::ReplicaSets, now);
    for (ns, name, deployment) in &sets {
        idx.apply_replicaset(&ReplicaSetRecord {
            namespace: ns,
            name,
            owner: Some(OwnerRef {
                kind: "Deployment",
                name: deployment,
            }),
        });
    }
    idx.end_relist(Kind::ReplicaSets, now);
    let (b1, k1) = (counting::bytes(), counting::blocks());
    assert_eq!(idx.pods(), PODS as usize);
    let one = idx.resolve("10.64.0.1".parse().unwrap()).unwrap();
    assert_eq!(&*one.workload, "Deployment/service-001");
    let per_pod = (b1 - b0) as f64 / f64::from(PODS);
    let blocks = (k1 - k0) as f64 / f64::from(PODS);
    drop(idx);
    (per_pod, blocks)
}

fn main() {
    for (label, dual) in [("single-stack IPv4", false), ("dual-stack", true)] {
        let (bytes, blocks) = measure(dual);
        println!(
            "kube_memory: {label}: {bytes:.0} bytes per cached pod ({blocks:.2} allocations) \
             with {PODS} pods on {NODES} nodes"
        );
    }
}
