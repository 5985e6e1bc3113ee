//! Lookup time per IP through the real resolver (read lock, hash lookup, clone of the
//! attribution, and its drop), after syncing 10,000 pods, 100 nodes and 1,000 Services
//! from the in-process API server. Mix: 80 % pod IPs, 10 % node IPs, 5 % ClusterIPs,
//! 5 % external, drawn two ways: uniformly over all 10,000 pods (every lookup a cache
//! miss: the worst case) and Zipf-skewed (s = 1), as real traffic is, where a few
//! services and a node's own pods take most closes. Times are the thread's CPU time, so
//! that other processes on the machine do not count; wall time is printed too.
//! Run: `cargo bench -p tcptop --bench kube_lookup`.
#[path = "../tests/support_kube/mod.rs"]
mod support_kube;

use std::{
    hint::black_box,
    net::IpAddr,
    time::{Duration, Instant},
};

use support_kube::{objects, FakeApi};
use tcptop::attribution::{IpOnly, Resolver};

const PODS: u32 = 10_000;
const SERVICES: u32 = 1_000;
const LOOKUPS: usize = 2_000_000;

/// 65,536 IPs in a fixed pseudo-random order; `pick(r, n)` draws an index below `n`.
fn ips(pick: impl Fn(u32, u32) -> u32) -> Vec<IpAddr> {
    let mut x: u32 = 0x9e37_79b9;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    (0..65_536)
        .map(|_| {
            let r = next();
            let s = match r % 20 {
                0..=15 => objects::fleet_pod_ip(pick(next(), PODS)),
                16 | 17 => objects::fleet_node_ip(pick(next(), objects::FLEET_NODES)),
                18 => objects::fleet_service_ip(pick(next(), SERVICES)),
                _ => format!("203.0.113.{}", next() % 256),
            };
            s.parse().unwrap()
        })
        .collect()
}

/// Draws an index below `n` from a random `r`.
type Pick = fn(u32, u32) -> u32;

fn uniform(r: u32, n: u32) -> u32 {
    r % n
}

/// Zipf (s = 1) by inverse transform: rank k has weight 1/k.
fn zipf(r: u32, n: u32) -> u32 {
    let u = f64::from(r) / f64::from(u32::MAX);
    let h = (f64::from(n)).ln() + 0.5772;
    ((u * h).exp() as u32).saturating_sub(1).min(n - 1)
}

/// CPU time of this thread.
fn cpu_now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec to write.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let api = FakeApi::start().await;
    api.load_fleet(PODS, SERVICES);
    let dir = tempfile::tempdir().unwrap();
    let cache = api.synced_cache(dir.path(), Duration::from_secs(120)).await;
    let kube = cache.resolver();
    let ip_only = IpOnly::default();
    let runs: [(&str, &dyn Resolver, Pick); 3] = [
        (
            "baseline IpOnly (no lookup, same 4 Arc clones)",
            &ip_only,
            uniform,
        ),
        ("uniform", &kube, uniform),
        ("zipf", &kube, zipf),
    ];
    for (label, resolver, pick) in runs {
        let ips = ips(pick);
        let externals = ips
            .iter()
            .filter(|ip| &*resolver.resolve(**ip).namespace == "external")
            .count();
        assert!(
            label.starts_with("baseline") || externals * 100 / ips.len() <= 6,
            "{externals} of {} unresolved",
            ips.len()
        );
        let (mut cpu, mut wall) = (Vec::new(), Vec::new());
        for _ in 0..7 {
            let (c, t) = (cpu_now(), Instant::now());
            for i in 0..LOOKUPS {
                black_box(resolver.resolve(black_box(ips[i & 0xffff])));
            }
            cpu.push((cpu_now() - c).as_nanos() as f64 / LOOKUPS as f64);
            wall.push(t.elapsed().as_nanos() as f64 / LOOKUPS as f64);
        }
        cpu.sort_by(f64::total_cmp);
        wall.sort_by(f64::total_cmp);
        println!(
            "kube_lookup: {label}: median {:.1} ns CPU per IP (min {:.1}, max {:.1}; wall median \
             {:.1}) over 7 runs of {LOOKUPS} lookups; {PODS} pods, {} nodes, {SERVICES} \
             services cached",
            cpu[3],
            cpu[0],
            cpu[6],
            wall[3],
            objects::FLEET_NODES
        );
    }
}
