//! Time from start to a synced cache against the in-process API server holding 10,000
//! realistic pods (with managedFields, as a real server lists them), 100 nodes and
//! 1,000 Services: kubeconfig read, paged lists of 500, decoding, indexing.
//! Run: `cargo bench -p tcptop --bench kube_sync`.
#[path = "../tests/support_kube/mod.rs"]
mod support_kube;

use std::time::{Duration, Instant};

use support_kube::FakeApi;
use tcptop::attribution::kube::{Environment, KubeCache, KubeOptions, KubeStatus};

const PODS: u32 = 10_000;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let api = FakeApi::start().await;
    api.load_fleet(PODS, 1_000);
    let dir = tempfile::tempdir().unwrap();
    let opts = KubeOptions {
        kubeconfig: Some(api.kubeconfig(dir.path())),
        ..Default::default()
    };
    let mut runs = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let cache = KubeCache::start(&opts, &Environment::default())
            .await
            .unwrap();
        assert!(
            cache.wait_synced(Duration::from_secs(120)).await,
            "{}",
            cache.status()
        );
        runs.push(t.elapsed());
        assert_eq!(
            cache.status(),
            KubeStatus::Synced {
                pods: PODS as usize
            }
        );
    }
    runs.sort();
    let lists = api
        .requests()
        .iter()
        .filter(|r| r.resource == "pods" && r.verb == "list")
        .count();
    println!(
        "kube_sync: median {:.0} ms from start to synced (min {:.0}, max {:.0}) over 5 runs; \
         {PODS} pods in {} pages of 500, 100 nodes, 1000 services",
        runs[2].as_secs_f64() * 1e3,
        runs[0].as_secs_f64() * 1e3,
        runs[4].as_secs_f64() * 1e3,
        lists / 5
    );
}
