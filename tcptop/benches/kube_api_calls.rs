//! API calls during a run with steady churn: the cache syncs 10,000 pods, then for 60 s
//! (TCPTOP_BENCH_SECS to change) pods are added, changed and deleted 30 times a second.
//! The in-process API server counts every request: after the initial paged lists there
//! must be no request at all: only the three watch streams stay open.
//! Run: `cargo bench -p tcptop --bench kube_api_calls`.
#[path = "../tests/support_kube/mod.rs"]
mod support_kube;

use std::{net::IpAddr, time::Duration};

use support_kube::{objects, FakeApi};
use tcptop::attribution::{
    kube::{Environment, KubeCache, KubeOptions, KubeStatus},
    Resolver,
};

const PODS: u32 = 10_000;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let secs: u64 = std::env::var("TCPTOP_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let api = FakeApi::start().await;
    api.load_fleet(PODS, 1_000);
    let dir = tempfile::tempdir().unwrap();
    let opts = KubeOptions {
        kubeconfig: Some(api.kubeconfig(dir.path())),
        grace: Duration::from_secs(5),
        ..Default::default()
    };
    let cache = KubeCache::start(&opts, &Environment::default())
        .await
        .unwrap();
    assert!(
        cache.wait_synced(Duration::from_secs(120)).await,
        "{}",
        cache.status()
    );
    // Each watch starts just after its kind's list is done, so wait for all of them.
    while api.requests().iter().filter(|r| r.verb == "watch").count() < support_kube::KINDS.len() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let at_sync = api.requests().len();
    let resolver = cache.resolver();

    // Churn: each tick adds a pod, deletes the oldest added one, and flips one phase.
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let (mut next, mut oldest, mut events) = (PODS, PODS, 0u64);
    let end = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < end {
        tick.tick().await;
        for _ in 0..10 {
            api.with(|s| {
                s.apply("pods", objects::fleet_pod(next));
                if next - oldest >= 500 {
                    let old = objects::fleet_pod(oldest);
                    let m = &old["metadata"];
                    s.delete(
                        "pods",
                        m["namespace"].as_str().unwrap(),
                        m["name"].as_str().unwrap(),
                    );
                    oldest += 1;
                }
                let mut p = objects::fleet_pod(next % PODS);
                p["status"]["phase"] =
                    serde_json::json!(if next % 2 == 0 { "Running" } else { "Pending" });
                s.apply("pods", p);
            });
            next += 1;
            events += 3;
        }
        // Resolving is local: it adds no requests.
        let ip: IpAddr = objects::fleet_pod_ip(next - 1).parse().unwrap();
        std::hint::black_box(resolver.resolve(ip));
    }
    let want = api.with(|s| s.count("pods"));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while cache.status() != (KubeStatus::Synced { pods: want }) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "cache behind: {} vs {want}",
            cache.status()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let reqs = api.requests();
    let count = |verb: &str| reqs.iter().filter(|r| r.verb == verb).count();
    let lists = count("list");
    let during = reqs.len() - at_sync;
    println!(
        "kube_api_calls: {} requests in all ({lists} list pages, {} watches, {} other); \
         {during} requests during {secs} s of churn ({events} watch events, {:.0}/s); cache kept up ({want} pods)",
        reqs.len(),
        count("watch"),
        count("other"),
        events as f64 / secs as f64,
    );
    assert_eq!(during, 0, "requests after sync: {:?}", &reqs[at_sync..]);
}
