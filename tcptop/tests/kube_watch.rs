//! The Kubernetes watch cache against an in-process API server, through the real
//! kube-rs client and a kubeconfig file.
mod support_kube;

use std::{
    net::IpAddr,
    path::Path,
    time::{Duration, Instant},
};

use support_kube::{objects, FakeApi};
use tcptop::attribution::{
    kube::{Environment, KubeCache, KubeOptions, KubeStatus},
    Resolver,
};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

async fn start(kubeconfig: &Path, grace: Duration) -> KubeCache {
    let opts = KubeOptions {
        kubeconfig: Some(kubeconfig.to_path_buf()),
        grace,
        ..Default::default()
    };
    KubeCache::start(&opts, &Environment::default())
        .await
        .unwrap()
}

/// `(namespace, pod, node, az)` of `addr` as the cache resolves it now.
fn who(cache: &KubeCache, addr: &str) -> [String; 4] {
    let a = cache.resolver().resolve(ip(addr));
    [a.namespace, a.pod, a.node, a.az].map(|s| s.to_string())
}

/// Polls `f` until it holds, failing after 20 s (a hang, not a slow run).
async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never happened: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls `addr`, whose owner was deleted just after `since`, until it resolves to
/// `external`: until then it must resolve to `owner`, and that must last at least
/// `grace` (less one tick: tombstones count tenths of a second). Nothing here depends
/// on how fast the machine is: the deletion reaches the cache after `since`.
async fn lingers(cache: &KubeCache, addr: &str, owner: &str, since: Instant, grace: Duration) {
    loop {
        let w = who(cache, addr);
        if w[0] == "external" {
            let lasted = since.elapsed();
            assert!(
                lasted + Duration::from_millis(100) >= grace,
                "{addr} went after {lasted:?}, before the {grace:?} grace"
            );
            return;
        }
        assert_eq!(w[1], owner, "{addr} while its tombstone lasts");
        assert!(
            since.elapsed() < grace + Duration::from_secs(20),
            "{addr}'s tombstone never expired"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Two nodes in two zones, and pods, Services and hostNetwork pods on them.
fn populate(api: &FakeApi) {
    api.with(|s| {
        s.apply(
            "nodes",
            objects::node("node-a", "zone-a", &["192.168.0.1", "fd00:ff::1"]),
        );
        s.apply("nodes", objects::node("node-b", "zone-b", &["192.168.0.2"]));
        s.apply(
            "pods",
            objects::pod(
                "shop",
                "web-1",
                &objects::uid(1, 1),
                "node-a",
                &["10.1.0.5", "fd00:1::5"],
                "Running",
            ),
        );
        // Same IP: a finished job and the running pod that got the IP after it.
        s.apply(
            "pods",
            objects::pod(
                "batch",
                "job-1",
                &objects::uid(1, 2),
                "node-b",
                &["10.1.0.6"],
                "Succeeded",
            ),
        );
        s.apply(
            "pods",
            objects::pod(
                "db",
                "pg-0",
                &objects::uid(1, 3),
                "node-b",
                &["10.1.0.6"],
                "Running",
            ),
        );
        s.apply(
            "pods",
            objects::host_network(objects::pod(
                "kube-system",
                "proxy-a",
                &objects::uid(1, 4),
                "node-a",
                &["192.168.0.1"],
                "Running",
            )),
        );
        s.apply(
            "services",
            objects::service(
                "shop",
                "db",
                &objects::uid(2, 1),
                &["10.96.0.10", "fd00:96::10"],
            ),
        );
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolves_every_kind_of_ip() {
    let api = FakeApi::start().await;
    populate(&api);
    let dir = tempfile::tempdir().unwrap();
    let cache = start(&api.kubeconfig(dir.path()), Duration::from_secs(120)).await;
    assert!(
        cache.wait_synced(Duration::from_secs(20)).await,
        "{}",
        cache.status()
    );
    assert_eq!(cache.status(), KubeStatus::Synced { pods: 4 });
    let pod_a = ["shop", "web-1", "node-a", "zone-a"];
    assert_eq!(who(&cache, "10.1.0.5"), pod_a, "IPv4 of a dual-stack pod");
    assert_eq!(who(&cache, "fd00:1::5"), pod_a, "IPv6 of a dual-stack pod");
    assert_eq!(
        who(&cache, "10.1.0.6"),
        ["db", "pg-0", "node-b", "zone-b"],
        "live beats finished"
    );
    let node_a = ["node", "node-a", "node-a", "zone-a"];
    assert_eq!(
        who(&cache, "192.168.0.1"),
        node_a,
        "node IP and hostNetwork pod"
    );
    assert_eq!(who(&cache, "fd00:ff::1"), node_a);
    assert_eq!(
        who(&cache, "192.168.0.2"),
        ["node", "node-b", "node-b", "zone-b"]
    );
    let svc = ["shop", "svc/db", "unknown", "unknown"];
    assert_eq!(who(&cache, "10.96.0.10"), svc);
    assert_eq!(who(&cache, "fd00:96::10"), svc);
    assert_eq!(who(&cache, "203.0.113.7"), ["external"; 4]);
    assert_eq!(who(&cache, "127.0.0.1"), ["loopback"; 4]);
    assert_eq!(who(&cache, "::1"), ["loopback"; 4]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_events_update_the_cache_and_deleted_pods_linger() {
    let api = FakeApi::start().await;
    populate(&api);
    let dir = tempfile::tempdir().unwrap();
    let grace = Duration::from_secs(3);
    let cache = start(&api.kubeconfig(dir.path()), grace).await;
    assert!(
        cache.wait_synced(Duration::from_secs(20)).await,
        "{}",
        cache.status()
    );
    api.bookmark();
    // ADDED
    api.with(|s| {
        s.apply(
            "pods",
            objects::pod(
                "shop",
                "web-2",
                &objects::uid(1, 9),
                "node-b",
                &["10.1.0.9"],
                "Running",
            ),
        )
    });
    eventually("ADDED pod resolves", || {
        who(&cache, "10.1.0.9")[1] == "web-2"
    })
    .await;
    // MODIFIED: the node moves zone, its pods follow.
    api.with(|s| s.apply("nodes", objects::node("node-b", "zone-c", &["192.168.0.2"])));
    eventually("zone change", || who(&cache, "10.1.0.9")[3] == "zone-c").await;
    // DELETED just before its socket closes: still resolves for the grace period.
    let since = Instant::now();
    api.with(|s| s.delete("pods", "shop", "web-2"));
    eventually("pod count drops", || {
        cache.status() == KubeStatus::Synced { pods: 4 }
    })
    .await;
    lingers(&cache, "10.1.0.9", "web-2", since, grace).await;
    // A deleted Service's ClusterIPs linger the same way.
    let since = Instant::now();
    api.with(|s| s.delete("services", "shop", "db"));
    lingers(&cache, "10.96.0.10", "svc/db", since, grace).await;
    assert_eq!(who(&cache, "fd00:96::10")[0], "external");
    let watches = api.requests().iter().filter(|r| r.verb == "watch").count();
    assert_eq!(watches, 4, "one watch per kind: {:?}", api.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gone_forces_a_relist_that_catches_up() {
    let api = FakeApi::start().await;
    populate(&api);
    let dir = tempfile::tempdir().unwrap();
    let cache = start(&api.kubeconfig(dir.path()), Duration::from_secs(120)).await;
    assert!(
        cache.wait_synced(Duration::from_secs(20)).await,
        "{}",
        cache.status()
    );
    // While no watch sees it: web-1 is deleted, web-3 is added. Then 410 Gone.
    api.gone_with(|s| {
        s.delete("pods", "shop", "web-1");
        s.apply(
            "pods",
            objects::pod(
                "shop",
                "web-3",
                &objects::uid(1, 10),
                "node-a",
                &["10.1.0.10"],
                "Running",
            ),
        );
    });
    eventually("relist adds web-3", || {
        who(&cache, "10.1.0.10")[1] == "web-3"
    })
    .await;
    assert_eq!(
        who(&cache, "10.1.0.5")[1],
        "web-1",
        "missed delete becomes a tombstone"
    );
    eventually("pods counted", || {
        cache.status() == KubeStatus::Synced { pods: 4 }
    })
    .await;
    let reqs = api.requests();
    let pod_lists = reqs
        .iter()
        .filter(|r| r.resource == "pods" && r.verb == "list")
        .count();
    assert_eq!(pod_lists, 2, "{reqs:?}");
    let gone_watch = reqs
        .iter()
        .any(|r| r.verb == "watch" && r.query.get("resourceVersion").is_some_and(|v| v != "0"));
    assert!(gone_watch, "{reqs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_are_paged_and_served_from_the_watch_cache() {
    let api = FakeApi::start().await;
    api.with(|s| {
        for i in 0..1200u32 {
            let ip = format!("10.2.{}.{}", i / 250, i % 250 + 1);
            s.apply(
                "pods",
                objects::pod(
                    "bulk",
                    &format!("p-{i}"),
                    &objects::uid(3, i),
                    "n",
                    &[&ip],
                    "Running",
                ),
            );
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let cache = start(&api.kubeconfig(dir.path()), Duration::from_secs(120)).await;
    assert!(
        cache.wait_synced(Duration::from_secs(20)).await,
        "{}",
        cache.status()
    );
    assert_eq!(cache.status(), KubeStatus::Synced { pods: 1200 });
    assert_eq!(who(&cache, "10.2.4.200")[1], "p-1199");
    let lists: Vec<_> = api
        .requests()
        .into_iter()
        .filter(|r| r.resource == "pods" && r.verb == "list")
        .collect();
    assert_eq!(lists.len(), 3, "500 + 500 + 200: {lists:?}");
    // A paged list without resourceVersion is a consistent read, which the API server
    // answers from its watch cache since 1.31 (pages from cache snapshots since 1.34).
    assert_eq!(lists[0].query.get("resourceVersion"), None);
    assert!(lists
        .iter()
        .all(|l| l.query.get("limit").map(String::as_str) == Some("500")));
    assert!(lists[1].query.contains_key("continue"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_names_the_permission_then_recovers() {
    let api = FakeApi::start().await;
    populate(&api);
    api.forbid("nodes", "list");
    api.forbid("services", "list");
    let dir = tempfile::tempdir().unwrap();
    let cache = start(&api.kubeconfig(dir.path()), Duration::from_secs(120)).await;
    let status = cache.wait_settled(Duration::from_secs(20)).await;
    let line = status.to_string();
    assert!(status.is_unavailable(), "{line}");
    assert!(!line.contains('\n'), "{line}");
    eventually("both kinds named", || {
        let l = cache.status().to_string();
        l.contains("list nodes") && l.contains("list services")
    })
    .await;
    let line = cache.status().to_string();
    assert!(line.contains("deploy/rbac.yaml"), "{line}");
    // Pods still resolve; unknown IPs stay unknown while the cache is incomplete.
    eventually("pods listed", || who(&cache, "10.1.0.5")[1] == "web-1").await;
    assert_eq!(who(&cache, "203.0.113.7"), ["unknown"; 4]);
    api.allow_all();
    assert!(
        cache.wait_synced(Duration::from_secs(30)).await,
        "{}",
        cache.status()
    );
    assert_eq!(who(&cache, "203.0.113.7"), ["external"; 4]);
    assert_eq!(who(&cache, "10.1.0.5")[3], "zone-a");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_names_the_address_then_fills_in() {
    let port = FakeApi::free_port();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let kc = objects::write_kubeconfig(dir.path(), &[("down", &url)], "down");
    let cache = start(&kc, Duration::from_secs(120)).await;
    let status = cache.wait_settled(Duration::from_secs(20)).await;
    let line = status.to_string();
    assert!(status.is_unavailable(), "{line}");
    assert!(line.contains(&format!("127.0.0.1:{port}")), "{line}");
    assert!(line.contains("refused"), "{line}");
    assert!(!line.contains('\n'), "{line}");
    assert_eq!(who(&cache, "10.1.0.5"), ["unknown"; 4]);
    let api = FakeApi::start_on(port).await;
    populate(&api);
    assert!(
        cache.wait_synced(Duration::from_secs(60)).await,
        "{}",
        cache.status()
    );
    assert_eq!(who(&cache, "10.1.0.5")[1], "web-1");
    assert_eq!(who(&cache, "203.0.113.7"), ["external"; 4]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_selects_the_cluster() {
    let api = FakeApi::start().await;
    populate(&api);
    let dir = tempfile::tempdir().unwrap();
    let kc = objects::write_kubeconfig(
        dir.path(),
        &[("elsewhere", "http://127.0.0.1:1"), ("here", &api.url())],
        "elsewhere",
    );
    let opts = KubeOptions {
        kubeconfig: Some(kc),
        context: Some("here".into()),
        ..Default::default()
    };
    let cache = KubeCache::start(&opts, &Environment::default())
        .await
        .unwrap();
    assert!(
        cache.wait_synced(Duration::from_secs(20)).await,
        "{}",
        cache.status()
    );
    assert_eq!(who(&cache, "10.1.0.5")[1], "web-1");
}
