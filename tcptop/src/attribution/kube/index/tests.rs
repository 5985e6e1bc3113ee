use std::time::Duration;

use super::{entries::uid_key, *};
use crate::attribution::kube::records::{NodeRecord, Phase, PodRecord, ServiceRecord};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn pod<'a>(uid: &'a str, ns: &'a str, name: &'a str, node: &'a str, ips: &[&str]) -> PodRecord<'a> {
    PodRecord {
        uid,
        namespace: ns,
        name,
        node,
        ips: ips.iter().map(|s| ip(s)).collect(),
        host_network: false,
        phase: Phase::Live,
        created: 100,
        owner: None,
        host_ports: Vec::new(),
    }
}

fn node<'a>(name: &'a str, zone: &'a str, ips: &[&str]) -> NodeRecord<'a> {
    NodeRecord {
        name,
        zone: Some(zone),
        ips: ips.iter().map(|s| ip(s)).collect(),
    }
}

/// `(namespace, pod, node, az)` of `addr`, or `None`.
fn who(idx: &Index, addr: &str) -> Option<(String, String, String, String)> {
    idx.resolve(ip(addr)).map(|a| {
        (
            a.namespace.to_string(),
            a.pod.to_string(),
            a.node.to_string(),
            a.az.to_string(),
        )
    })
}

fn t(v: &[&str; 4]) -> Option<(String, String, String, String)> {
    Some((v[0].into(), v[1].into(), v[2].into(), v[3].into()))
}

#[test]
fn dual_stack_pod_resolves_on_both_families() {
    let mut idx = Index::new();
    idx.apply_node(&node("n1", "zone-a", &["192.168.0.1"]), Instant::now());
    idx.apply_pod(
        &pod("u1", "shop", "web", "n1", &["10.1.0.5", "fd00:1::5"]),
        Instant::now(),
    );
    let want = t(&["shop", "web", "n1", "zone-a"]);
    assert_eq!(who(&idx, "10.1.0.5"), want);
    assert_eq!(who(&idx, "fd00:1::5"), want);
    assert_eq!(who(&idx, "10.1.0.6"), None);
}

#[test]
fn live_pod_beats_finished_pod_with_the_same_ip_in_either_order() {
    for live_first in [true, false] {
        let mut idx = Index::new();
        let mut done = pod("u-old", "batch", "job-1", "n1", &["10.1.0.7"]);
        done.phase = Phase::Finished;
        done.created = 500; // newer than the live pod: rank wins over age.
        let live = pod("u-new", "shop", "web", "n2", &["10.1.0.7"]);
        if live_first {
            idx.apply_pod(&live, Instant::now());
            idx.apply_pod(&done, Instant::now());
        } else {
            idx.apply_pod(&done, Instant::now());
            idx.apply_pod(&live, Instant::now());
        }
        assert_eq!(
            who(&idx, "10.1.0.7").unwrap().1,
            "web",
            "live_first={live_first}"
        );
        // With the live pod gone for good, the finished one is all there is.
        idx.delete_pod("u-new", Instant::now());
        idx.expire(Instant::now() + Duration::from_secs(1), Duration::ZERO);
        assert_eq!(who(&idx, "10.1.0.7").unwrap().1, "job-1");
    }
}

#[test]
fn deleted_pod_resolves_until_the_grace_period_ends() {
    let mut idx = Index::new();
    let t0 = Instant::now();
    let grace = Duration::from_secs(120);
    idx.apply_pod(
        &pod("u1", "shop", "web", "n1", &["10.1.0.8"]),
        Instant::now(),
    );
    idx.delete_pod("u1", t0);
    assert_eq!(who(&idx, "10.1.0.8").unwrap().1, "web");
    assert_eq!(idx.pods(), 0);
    assert_eq!(idx.pods_cached(), 1);
    assert_eq!(idx.expire(t0 + Duration::from_secs(119), grace), 0);
    assert_eq!(who(&idx, "10.1.0.8").unwrap().1, "web");
    assert_eq!(idx.expire(t0 + grace, grace), 1);
    assert_eq!(who(&idx, "10.1.0.8"), None);
    assert_eq!(idx.pods_cached(), 0);
}

#[test]
fn new_pod_on_a_reused_ip_beats_the_tombstone() {
    let mut idx = Index::new();
    idx.apply_pod(
        &pod("u1", "shop", "old", "n1", &["10.1.0.9"]),
        Instant::now(),
    );
    idx.delete_pod("u1", Instant::now());
    idx.apply_pod(
        &pod("u2", "shop", "new", "n1", &["10.1.0.9"]),
        Instant::now(),
    );
    assert_eq!(who(&idx, "10.1.0.9").unwrap().1, "new");
    // A tombstone of a live pod beats an older finished pod.
    let mut done = pod("u3", "batch", "job", "n1", &["10.1.0.10"]);
    done.phase = Phase::Finished;
    idx.apply_pod(&done, Instant::now());
    idx.apply_pod(
        &pod("u4", "shop", "gone", "n1", &["10.1.0.10"]),
        Instant::now(),
    );
    idx.delete_pod("u4", Instant::now());
    assert_eq!(who(&idx, "10.1.0.10").unwrap().1, "gone");
}

#[test]
fn claims_made_by_one_list_go_to_the_newest_pod() {
    for b_first in [true, false] {
        let mut idx = Index::new();
        let t0 = Instant::now();
        let mut a = pod("u1", "shop", "older", "n1", &["10.1.0.11"]);
        a.phase = Phase::Finished;
        a.created = 10;
        let mut b = pod("u2", "shop", "newer", "n1", &["10.1.0.11"]);
        b.phase = Phase::Finished;
        b.created = 20;
        idx.begin_relist(Kind::Pods, t0);
        let (first, second) = if b_first { (&b, &a) } else { (&a, &b) };
        idx.apply_pod(first, t0);
        // Later in the same list: still the same snapshot.
        idx.apply_pod(second, t0 + Duration::from_secs(2));
        idx.end_relist(Kind::Pods, t0 + Duration::from_secs(2));
        assert_eq!(
            who(&idx, "10.1.0.11").unwrap().1,
            "newer",
            "b_first={b_first}"
        );
    }
}

#[test]
fn a_reused_ip_goes_to_the_later_claim_not_the_newer_pod() {
    let mut idx = Index::new();
    let t0 = Instant::now();
    // `old` was created after `new`, but `new` (Pending until now) got the IP later,
    // once `old` gave it up: old's DELETE lags behind new's MODIFIED.
    let mut old = pod("u1", "shop", "old", "n1", &["10.1.0.21"]);
    old.created = 200;
    let mut new = pod("u2", "shop", "new", "n1", &["10.1.0.21"]);
    new.created = 100;
    idx.apply_pod(&old, t0);
    idx.apply_pod(&new, t0 + Duration::from_secs(1));
    assert_eq!(who(&idx, "10.1.0.21").unwrap().1, "new");
    // An update of the old pod that keeps its IP does not renew its claim.
    idx.apply_pod(&old, t0 + Duration::from_secs(2));
    assert_eq!(who(&idx, "10.1.0.21").unwrap().1, "new");
    // One that gives the old pod a new IP does, for every IP it holds.
    let mut moved = pod("u1", "shop", "old", "n1", &["10.1.0.21", "fd00::21"]);
    moved.created = 200;
    idx.apply_pod(&moved, t0 + Duration::from_secs(3));
    assert_eq!(who(&idx, "10.1.0.21").unwrap().1, "old");
    // The lagging delete arrives: rank decides again.
    idx.delete_pod("u1", t0 + Duration::from_secs(4));
    assert_eq!(who(&idx, "10.1.0.21").unwrap().1, "new");
}

#[test]
fn a_pod_whose_ips_were_cleared_is_a_tombstone() {
    let mut idx = Index::new();
    let t0 = Instant::now();
    let grace = Duration::from_secs(120);
    idx.apply_pod(&pod("u1", "batch", "job", "n1", &["10.1.0.22"]), t0);
    idx.apply_pod(&pod("u1", "batch", "job", "n1", &[]), t0);
    assert_eq!(who(&idx, "10.1.0.22").unwrap().1, "job");
    assert_eq!(idx.pods(), 0);
    // Its DELETE does not restart the grace period.
    idx.delete_pod("u1", t0 + Duration::from_secs(60));
    assert_eq!(idx.expire(t0 + grace, grace), 1);
    assert_eq!(who(&idx, "10.1.0.22"), None);
    // A pod that never had an IP is not cached at all.
    idx.apply_pod(&pod("u2", "batch", "pending", "n1", &[]), t0);
    assert_eq!(idx.pods_cached(), 0);
}

#[test]
fn node_ips_and_host_network_pods_resolve_to_the_node() {
    let mut idx = Index::new();
    idx.apply_node(
        &node("n1", "zone-a", &["192.168.0.1", "fd00:ff::1"]),
        Instant::now(),
    );
    let want = t(&["node", "n1", "n1", "zone-a"]);
    assert_eq!(who(&idx, "192.168.0.1"), want);
    assert_eq!(who(&idx, "fd00:ff::1"), want);
    // A hostNetwork pod whose IP is not among the node's addresses still names its node.
    let mut hn = pod("u1", "kube-system", "proxy", "n1", &["192.168.0.99"]);
    hn.host_network = true;
    idx.apply_pod(&hn, Instant::now());
    assert_eq!(who(&idx, "192.168.0.99"), want);
    // And one on the node's own IP changes nothing.
    let mut hn2 = pod("u2", "kube-system", "cni", "n1", &["192.168.0.1"]);
    hn2.host_network = true;
    idx.apply_pod(&hn2, Instant::now());
    assert_eq!(who(&idx, "192.168.0.1"), want);
}

#[test]
fn zone_follows_the_node_whenever_it_arrives() {
    let mut idx = Index::new();
    idx.apply_pod(
        &pod("u1", "shop", "web", "n1", &["10.1.0.12"]),
        Instant::now(),
    );
    assert_eq!(who(&idx, "10.1.0.12").unwrap().3, "unknown");
    idx.apply_node(&node("n1", "zone-b", &["192.168.0.1"]), Instant::now());
    assert_eq!(who(&idx, "10.1.0.12").unwrap().3, "zone-b");
    idx.apply_node(&node("n1", "zone-c", &["192.168.0.1"]), Instant::now());
    assert_eq!(who(&idx, "10.1.0.12").unwrap().3, "zone-c");
    idx.delete_node("n1");
    assert_eq!(who(&idx, "10.1.0.12").unwrap().3, "unknown");
    assert_eq!(who(&idx, "192.168.0.1"), None);
}

#[test]
fn cluster_ips_resolve_to_the_service_and_linger_once_deleted() {
    let mut idx = Index::new();
    let t0 = Instant::now();
    let grace = Duration::from_secs(120);
    let svc = |uid, name, ips: &[&str]| ServiceRecord {
        uid,
        namespace: "shop",
        name,
        ips: ips.iter().map(|s| ip(s)).collect(),
    };
    idx.apply_service(&svc("s1", "db", &["10.96.0.10", "fd00:96::10"]), t0);
    let want = t(&["shop", "svc/db", "unknown", "unknown"]);
    assert_eq!(who(&idx, "10.96.0.10"), want);
    assert_eq!(who(&idx, "fd00:96::10"), want);
    idx.delete_service("s1", t0);
    assert_eq!(who(&idx, "10.96.0.10"), want, "tombstone");
    // A new Service given the ClusterIP beats the tombstone.
    idx.apply_service(&svc("s2", "cache", &["10.96.0.10"]), t0);
    assert_eq!(who(&idx, "10.96.0.10").unwrap().1, "svc/cache");
    assert_eq!(idx.expire(t0 + Duration::from_secs(119), grace), 0);
    assert_eq!(who(&idx, "fd00:96::10"), want);
    idx.expire(t0 + grace, grace);
    assert_eq!(who(&idx, "fd00:96::10"), None);
    // Cleared ClusterIPs (type changed to ExternalName) linger the same way.
    idx.apply_service(&svc("s2", "cache", &[]), t0 + grace);
    assert_eq!(who(&idx, "10.96.0.10").unwrap().1, "svc/cache");
    idx.expire(t0 + grace * 2, grace);
    assert_eq!(who(&idx, "10.96.0.10"), None);
    assert_eq!(idx.services.len(), 0);
}

#[test]
fn pod_updates_move_its_ips() {
    let mut idx = Index::new();
    let t0 = Instant::now();
    idx.apply_pod(&pod("u1", "shop", "web", "n1", &["10.1.0.13"]), t0);
    idx.apply_pod(&pod("u1", "shop", "web", "n1", &["10.1.0.14"]), t0);
    assert_eq!(who(&idx, "10.1.0.13"), None);
    assert_eq!(who(&idx, "10.1.0.14").unwrap().1, "web");
    assert_eq!(idx.pods_cached(), 1);
}

#[test]
fn relist_tombstones_pods_and_services_and_drops_nodes_it_no_longer_sees() {
    let mut idx = Index::new();
    let t0 = Instant::now();
    for k in Kind::ALL {
        idx.begin_relist(k, t0);
    }
    idx.apply_pod(
        &pod("u1", "shop", "kept", "n1", &["10.1.0.15"]),
        Instant::now(),
    );
    idx.apply_pod(
        &pod("u2", "shop", "gone", "n1", &["10.1.0.16"]),
        Instant::now(),
    );
    idx.apply_node(&node("n1", "zone-a", &["192.168.0.1"]), Instant::now());
    idx.apply_node(&node("n2", "zone-a", &["192.168.0.2"]), Instant::now());
    let svc = |uid, ip_: &str| ServiceRecord {
        uid,
        namespace: "shop",
        name: "x",
        ips: vec![ip(ip_)],
    };
    idx.apply_service(&svc("s1", "10.96.0.1"), Instant::now());
    idx.apply_service(&svc("s2", "10.96.0.2"), Instant::now());
    for k in Kind::ALL {
        idx.end_relist(k, t0);
    }
    // Watch lost; the relist after 410 Gone lists only part of it.
    for k in Kind::ALL {
        idx.begin_relist(k, t0);
    }
    idx.apply_pod(
        &pod("u1", "shop", "kept", "n1", &["10.1.0.15"]),
        Instant::now(),
    );
    idx.apply_node(&node("n1", "zone-a", &["192.168.0.1"]), Instant::now());
    idx.apply_service(&svc("s1", "10.96.0.1"), Instant::now());
    for k in Kind::ALL {
        idx.end_relist(k, t0);
    }
    assert_eq!(idx.pods(), 1);
    assert_eq!(who(&idx, "10.1.0.16").unwrap().1, "gone", "tombstone");
    assert_eq!(who(&idx, "10.96.0.2").unwrap().1, "svc/x", "tombstone");
    assert_eq!(who(&idx, "192.168.0.2"), None);
    assert_eq!(idx.expire(t0, Duration::ZERO), 1);
    assert_eq!(who(&idx, "10.1.0.16"), None);
    assert_eq!(who(&idx, "192.168.0.2"), None);
    assert_eq!(who(&idx, "10.96.0.2"), None);
    assert_eq!(who(&idx, "10.96.0.1").unwrap().1, "svc/x");
}

#[test]
fn uids_become_numbers() {
    assert_eq!(
        uid_key("0b5e8c39-5bd1-4f45-9a5e-6b1c7e0b7d10"),
        [0x0b5e8c395bd14f45, 0x9a5e6b1c7e0b7d10]
    );
    assert_ne!(uid_key("not-a-uuid"), uid_key("not-a-uuid2"));
}

#[test]
fn node_placeholders_go_once_no_pod_names_them() {
    let mut idx = Index::new();
    idx.apply_pod(
        &pod("u1", "shop", "web", "n9", &["10.1.0.20"]),
        Instant::now(),
    );
    assert_eq!(who(&idx, "10.1.0.20").unwrap().2, "n9");
    idx.delete_pod("u1", Instant::now());
    idx.expire(Instant::now() + Duration::from_secs(1), Duration::ZERO);
    assert_eq!(idx.nodes.len(), 0);
    assert_eq!(idx.node_slots.len(), 0);
}

#[test]
fn a_lookup_reads_one_cache_line_of_pod() {
    assert!(std::mem::size_of::<Option<PodEntry>>() <= 64);
}
