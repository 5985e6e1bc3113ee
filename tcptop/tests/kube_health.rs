//! How the cache's health follows the API server: a failure shows at once and ends as
//! soon as the watches are back, and while it lasts unknown IPs are `unknown`, not
//! `external` (the cache may be missing whatever changed meanwhile).
mod support_kube;

use std::time::{Duration, Instant};

use support_kube::FakeApi;
use tcptop::attribution::{
    kube::{KubeCache, KubeStatus},
    Resolver,
};

/// Polls `f` until it holds, failing after `limit`.
async fn within(limit: Duration, what: &str, mut f: impl FnMut() -> bool) -> Duration {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < limit, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    t.elapsed()
}

fn pod_of(cache: &KubeCache, ip: &str) -> String {
    cache
        .resolver()
        .resolve(ip.parse().unwrap())
        .pod
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_shows_at_once_and_clears_as_soon_as_the_watches_are_back() {
    let mut api = FakeApi::start().await;
    api.add_one_pod();
    let dir = tempfile::tempdir().unwrap();
    let cache = api.synced_cache(dir.path(), Duration::from_secs(20)).await;
    assert_eq!(pod_of(&cache, "203.0.113.7"), "external");

    api.stop().await;
    let limit = Duration::from_secs(20);
    within(limit, "the outage shows", || {
        cache
            .status()
            .to_string()
            .contains("cannot reach the API server")
    })
    .await;
    assert!(!cache.status().to_string().contains('\n'));
    // What the cache holds still resolves; what it does not is no longer `external`.
    assert_eq!(pod_of(&cache, "10.1.0.5"), "web-1");
    assert_eq!(pod_of(&cache, "203.0.113.7"), "unknown");

    api.resume().await;
    // kube-runtime retries after 0.8-6.4 s here; the status used to stay for 60-65 s.
    let took = within(limit, "the status clears", || {
        cache.status() == KubeStatus::Synced { pods: 1 }
    })
    .await;
    println!("cleared {took:?} after the server came back");
    assert_eq!(pod_of(&cache, "203.0.113.7"), "external");
    let lists = api.requests().iter().filter(|r| r.verb == "list").count();
    assert_eq!(lists, 4, "resumed watches, no relist: {:?}", api.requests());
}
