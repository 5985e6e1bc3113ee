//! Starts the Kubernetes attribution for a mode: the watch cache (unless `--no-kube`),
//! its status, and the line that reports it on stderr.
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Result;

use crate::{
    attribution::{
        conntrack::{NatCache, NatError},
        kube::{Environment, KubeCache, KubeOptions, KubeResolver, KubeStatus, ZoneLabels},
        IpOnly, Resolver,
    },
    cli::Args,
    output::prometheus::health::KubeHealth,
};

/// The attribution a mode collects with; keeps the watchers running while it lives.
pub enum Labels {
    /// `--no-kube`, or a replay.
    IpOnly(IpOnly),
    /// The watch cache, its resolver, when it was started, and the conntrack table its
    /// resolver reads Service backends from (or why it cannot).
    Kube(
        KubeCache,
        Box<KubeResolver>,
        Instant,
        Result<Arc<NatCache>, NatError>,
    ),
}

impl Labels {
    /// The resolver to attribute records with.
    pub fn resolver(&self) -> &dyn Resolver {
        match self {
            Labels::IpOnly(r) => r,
            Labels::Kube(_, r, ..) => &**r,
        }
    }

    /// True when labels come from a cache that may still be syncing.
    pub fn from_cluster(&self) -> bool {
        matches!(self, Labels::Kube(..))
    }

    /// The cache's status now, for the UI header.
    pub fn status(&self) -> KubeStatus {
        match self {
            Labels::IpOnly(_) => KubeStatus::Disabled,
            Labels::Kube(cache, ..) => cache.status(),
        }
    }

    /// Waits up to `limit` for the cache to sync or fail; returns its status then (a
    /// credential plugin still running included). At once with `--no-kube`.
    pub async fn settle(&self, limit: Duration) -> KubeStatus {
        match self {
            Labels::IpOnly(_) => KubeStatus::Disabled,
            Labels::Kube(cache, ..) => cache.wait_settled(limit).await,
        }
    }

    /// The status line for stderr (why labels are, or are not, IP-level), with a cache
    /// still connecting said to have not answered since it started; `None` with
    /// `--no-kube`.
    pub fn status_line(&self) -> Option<String> {
        let Labels::Kube(cache, _, started, _) = self else {
            return None;
        };
        let within = format!("{:.1}s", started.elapsed().as_secs_f64());
        let status = match cache.status() {
            KubeStatus::Connecting {
                server,
                plugin: None,
            } => KubeStatus::Unavailable {
                reason: format!(
                    "no answer from the API server at {server} within {within}; labels are \
                     IP-level until it answers"
                ),
            },
            KubeStatus::Connecting {
                plugin: Some(p), ..
            } => KubeStatus::Unavailable {
                reason: format!(
                    "the credential plugin {} has not answered within {within}; labels are \
                     IP-level until it does",
                    p.command
                ),
            },
            s => s,
        };
        Some(format!("tcptop: {status}"))
    }

    /// Why Service peers stay `svc/<name>`, when conntrack cannot be read.
    pub fn nat_problem(&self) -> Option<NatError> {
        match self {
            Labels::IpOnly(_) => None,
            Labels::Kube(.., Err(e)) => Some(e.clone()),
            Labels::Kube(.., Ok(nat)) => nat.problem(),
        }
    }
}

impl Labels {
    /// The cache and conntrack as the daemon's health shows them; `None` with
    /// `--no-kube`.
    pub fn health(&self) -> (Option<KubeHealth>, u64) {
        let Labels::Kube(cache, .., nat) = self else {
            return (None, 0);
        };
        let status = cache.status();
        let kube = KubeHealth {
            synced: matches!(status, KubeStatus::Synced { .. }),
            failing: status.is_unavailable(),
            pods: match status {
                KubeStatus::Synced { pods } => pods as u64,
                _ => 0,
            },
        };
        (Some(kube), nat.as_ref().map_or(0, |n| n.evicted()))
    }
}

/// The cache options given on the command line.
pub fn options(args: &Args) -> KubeOptions {
    KubeOptions {
        kubeconfig: args.kubeconfig.clone(),
        context: args.context.clone(),
        zones: ZoneLabels::from_flag(&args.zone_label),
        grace: args.tombstone_grace,
        ..KubeOptions::default()
    }
}

/// Starts the cache; its client runs on a thread of its own, so this returns at once,
/// and collection never waits for it. Fails only on a kubeconfig or context the user
/// named and that cannot be used.
pub async fn start(args: &Args) -> Result<Labels> {
    if args.no_kube {
        return Ok(Labels::IpOnly(IpOnly::default()));
    }
    let started = Instant::now();
    let cache = KubeCache::start(&options(args), &Environment::current()).await?;
    let nat = NatCache::conntrack().map(Arc::new);
    let resolver = match &nat {
        Ok(n) => cache.resolver().with_nat(n.clone()),
        Err(_) => cache.resolver(),
    };
    Ok(Labels::Kube(cache, Box::new(resolver), started, nat))
}
