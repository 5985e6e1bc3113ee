//! Exec credential plugins (EKS, GKE and AKS kubeconfigs use them) against the
//! in-process API server: a slow plugin must not hold the caller's runtime, a hung
//! one is killed at its timeout, a failing one says why, and tokens are renewed in
//! place. Every status is one line.
mod support_kube;

use std::{
    path::Path,
    sync::{
        atomic::{AtomicU64, Ordering::Relaxed},
        Arc,
    },
    time::{Duration, Instant},
};

use support_kube::{
    objects::{self, PluginReaper},
    FakeApi,
};
use tcptop::attribution::{
    kube::{Environment, KubeCache, KubeOptions, KubeStatus},
    Resolver,
};

async fn start(kubeconfig: &Path, plugin_timeout: Duration) -> KubeCache {
    let opts = KubeOptions {
        kubeconfig: Some(kubeconfig.to_path_buf()),
        plugin_timeout,
        ..Default::default()
    };
    KubeCache::start(&opts, &Environment::default())
        .await
        .unwrap()
}

/// Polls `f` until it holds, failing after 30 s (a hang, not a slow run).
async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn unknown_ip(cache: &KubeCache) -> String {
    let a = cache.resolver().resolve("203.0.113.7".parse().unwrap());
    a.namespace.to_string()
}

// One runtime thread, as in tcptop itself: nothing the client does may hold it.
#[tokio::test(flavor = "current_thread")]
async fn a_slow_plugin_runs_once_off_the_callers_runtime_and_its_token_is_used() {
    let api = FakeApi::start().await;
    api.add_one_pod();
    api.require_bearer("Bearer plugin-token");
    let dir = tempfile::tempdir().unwrap();
    let _reaper = PluginReaper(dir.path().to_path_buf());
    let plugin = objects::plugin(dir.path(), "slow-plugin", "3");
    let kc = objects::write_exec_kubeconfig(dir.path(), &api.url(), &plugin);
    // How late a 10 ms ticker on this runtime gets, at worst.
    let late = Arc::new(AtomicU64::new(0));
    let ticker = tokio::spawn({
        let late = late.clone();
        async move {
            loop {
                let t = Instant::now();
                tokio::time::sleep(Duration::from_millis(10)).await;
                let ms = t.elapsed().as_millis() as u64;
                late.fetch_max(ms.saturating_sub(10), Relaxed);
            }
        }
    });
    let t = Instant::now();
    let cache = start(&kc, Duration::from_secs(30)).await;
    // kube-rs ran the plugin three times, in a row, inside this call: 9 s here.
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "start took {:?}",
        t.elapsed()
    );
    eventually("the status names the plugin", || {
        cache.status().to_string().contains("credential plugin")
    })
    .await;
    let line = cache.status().to_string();
    assert!(
        line.contains("slow-plugin") && !line.contains('\n'),
        "{line}"
    );
    assert_eq!(unknown_ip(&cache), "unknown");
    assert!(
        cache.wait_synced(Duration::from_secs(30)).await,
        "{}",
        cache.status()
    );
    ticker.abort();
    let worst = late.load(Relaxed);
    assert!(worst < 500, "the caller's runtime stalled {worst} ms");
    assert_eq!(cache.status(), KubeStatus::Synced { pods: 1 });
    assert_eq!(
        objects::plugin_runs(dir.path()).len(),
        1,
        "one run per credential"
    );
    let reqs = api.requests();
    assert!(
        reqs.iter()
            .all(|r| r.authorization.as_deref() == Some("Bearer plugin-token")),
        "{reqs:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_plugin_is_killed_at_its_timeout_and_says_so() {
    let api = FakeApi::start().await;
    api.add_one_pod();
    let dir = tempfile::tempdir().unwrap();
    let _reaper = PluginReaper(dir.path().to_path_buf());
    let plugin = objects::plugin(dir.path(), "hung-plugin", "infinity");
    let kc = objects::write_exec_kubeconfig(dir.path(), &api.url(), &plugin);
    let cache = start(&kc, Duration::from_secs(1)).await;
    let want = format!(
        "kubernetes: the credential plugin {} did not answer within 1s and was killed; \
         labels are IP-level, retrying",
        plugin.display()
    );
    eventually("the timeout is reported", || {
        cache.status().to_string() == want
    })
    .await;
    assert!(cache.status().is_unavailable());
    let first = objects::plugin_runs(dir.path())[0];
    eventually("the first run is gone", || !objects::group_alive(first)).await;
    assert_eq!(unknown_ip(&cache), "unknown");
    // Stopping tcptop kills the run in progress too.
    eventually("a second run", || {
        objects::plugin_runs(dir.path()).len() >= 2
    })
    .await;
    drop(cache);
    for pgid in objects::plugin_runs(dir.path()) {
        eventually("every run is gone", || !objects::group_alive(pgid)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_plugin_says_why_in_one_line_then_recovers() {
    let api = FakeApi::start().await;
    api.add_one_pod();
    let dir = tempfile::tempdir().unwrap();
    let ok = dir.path().join("logged-in");
    let plugin = objects::script(
        dir.path(),
        "sso-plugin",
        &format!(
            "if [ ! -e {} ]; then\n  echo 'error: SSO session expired' >&2\n  \
             echo 'run aws sso login' >&2\n  exit 255\nfi\n\
             echo '{{\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"t\"}}}}'",
            ok.display()
        ),
    );
    let kc = objects::write_exec_kubeconfig(dir.path(), &api.url(), &plugin);
    let cache = start(&kc, Duration::from_secs(30)).await;
    let status = cache.wait_settled(Duration::from_secs(20)).await;
    assert_eq!(
        status.to_string(),
        format!(
            "kubernetes: the credential plugin {} failed (exit status: 255): error: SSO \
             session expired; labels are IP-level, retrying",
            plugin.display()
        )
    );
    std::fs::write(&ok, "").unwrap();
    assert!(
        cache.wait_synced(Duration::from_secs(30)).await,
        "{}",
        cache.status()
    );
    assert_eq!(unknown_ip(&cache), "external");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_renewed_before_they_expire_without_a_relist() {
    let api = FakeApi::start().await;
    api.add_one_pod();
    api.require_bearer("Bearer plugin-token-");
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    // Token n of a run lives 4 s (renewed halfway through), as EKS's live 15 min.
    let plugin = objects::script(
        dir.path(),
        "renewing-plugin",
        &format!(
            "echo $$ >> {runs}\nn=$(wc -l < {runs})\n\
             exp=$(date -u -d '+4 seconds' +%Y-%m-%dT%H:%M:%SZ)\n\
             echo \"{{\\\"kind\\\":\\\"ExecCredential\\\",\\\"status\\\":{{\\\"token\\\":\
             \\\"plugin-token-$n\\\",\\\"expirationTimestamp\\\":\\\"$exp\\\"}}}}\"",
            runs = runs.display()
        ),
    );
    let kc = objects::write_exec_kubeconfig(dir.path(), &api.url(), &plugin);
    let cache = start(&kc, Duration::from_secs(30)).await;
    assert!(
        cache.wait_synced(Duration::from_secs(30)).await,
        "{}",
        cache.status()
    );
    eventually("two renewals", || {
        objects::plugin_runs(dir.path()).len() >= 3
    })
    .await;
    let pod_lists = |reqs: &[support_kube::Request]| {
        reqs.iter()
            .filter(|r| r.resource == "pods" && r.verb == "list")
            .count()
    };
    assert_eq!(pod_lists(&api.requests()), 1, "a renewal relisted");
    assert_eq!(cache.status(), KubeStatus::Synced { pods: 1 });
    // Watches that start again (the server ended them; nothing changed) carry a
    // renewed token, and still nothing is listed again.
    api.gone_with(|_| {});
    eventually("a watch with a renewed token", || {
        let reqs = api.requests();
        reqs.iter()
            .rfind(|r| r.resource == "pods" && r.verb == "watch")
            .is_some_and(|r| r.authorization.as_deref() != Some("Bearer plugin-token-1"))
    })
    .await;
    assert_eq!(pod_lists(&api.requests()), 1, "{:?}", api.requests());
    assert!(
        cache.wait_synced(Duration::from_secs(30)).await,
        "{}",
        cache.status()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_that_fails_past_expiry_shows_and_clears_when_it_works_again() {
    let api = FakeApi::start().await;
    api.add_one_pod();
    let dir = tempfile::tempdir().unwrap();
    let (runs, ok) = (dir.path().join("runs"), dir.path().join("fixed"));
    // The first token lives 2 s; renewals fail until `fixed` exists.
    let plugin = objects::script(
        dir.path(),
        "expiring-plugin",
        &format!(
            "echo $$ >> {runs}\nn=$(wc -l < {runs})\n\
             if [ \"$n\" -gt 1 ] && [ ! -e {ok} ]; then echo 'token service down' >&2; exit 1; fi\n\
             exp=$(date -u -d '+2 seconds' +%Y-%m-%dT%H:%M:%SZ)\n\
             echo \"{{\\\"kind\\\":\\\"ExecCredential\\\",\\\"status\\\":{{\\\"token\\\":\
             \\\"t\\\",\\\"expirationTimestamp\\\":\\\"$exp\\\"}}}}\"",
            runs = runs.display(),
            ok = ok.display()
        ),
    );
    let kc = objects::write_exec_kubeconfig(dir.path(), &api.url(), &plugin);
    let cache = start(&kc, Duration::from_secs(30)).await;
    assert!(
        cache.wait_synced(Duration::from_secs(30)).await,
        "{}",
        cache.status()
    );
    eventually("the failure shows once the token expired", || {
        cache
            .status()
            .to_string()
            .contains("failed (exit status: 1): token service down")
    })
    .await;
    assert_eq!(unknown_ip(&cache), "unknown");
    std::fs::write(&ok, "").unwrap();
    assert!(
        cache.wait_synced(Duration::from_secs(30)).await,
        "{}",
        cache.status()
    );
}
