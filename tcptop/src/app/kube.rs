//! Starts the Kubernetes attribution for a mode: the watch cache (unless `--no-kube`),
//! a bounded wait for it to sync, and its status line for stderr.
use std::time::Duration;

use anyhow::Result;

use crate::{
    attribution::{
        kube::{Environment, KubeCache, KubeOptions, KubeResolver, KubeStatus, ZoneLabels},
        IpOnly, Resolver,
    },
    cli::Args,
};

/// How long `--once` waits for the cache before it starts collecting.
pub const SYNC_WAIT: Duration = Duration::from_secs(5);

/// The attribution a mode collects with; keeps the watchers running while it lives.
pub enum Labels {
    /// `--no-kube`.
    IpOnly(IpOnly),
    /// The watch cache, its resolver, and its status when collection started.
    Kube(KubeCache, KubeResolver, KubeStatus),
}

impl Labels {
    /// The resolver to attribute close records with.
    pub fn resolver(&self) -> &dyn Resolver {
        match self {
            Labels::IpOnly(r) => r,
            Labels::Kube(_, r, _) => r,
        }
    }

    /// The status line as collection started (why labels are, or are not, IP-level);
    /// `None` with `--no-kube`.
    pub fn status_line(&self) -> Option<String> {
        match self {
            Labels::IpOnly(_) => None,
            Labels::Kube(_, _, s) => Some(format!("tcptop: {s}")),
        }
    }

    /// The cache's status now, for the UI header.
    pub fn status(&self) -> KubeStatus {
        match self {
            Labels::IpOnly(_) => KubeStatus::Disabled,
            Labels::Kube(cache, _, _) => cache.status(),
        }
    }

    /// Prints [`Labels::status_line`] to stderr. Called once collection has worked, so
    /// that a fatal error stays the only line.
    pub fn report(&self) {
        if let Some(l) = self.status_line() {
            eprintln!("{l}");
        }
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

/// Starts the cache (its client runs on a thread of its own, so this returns at once)
/// and waits up to `wait` for it to sync or fail, keeping its status for
/// [`Labels::report`] (collection goes on with IP-level labels when it is not usable,
/// a credential plugin still running included). Fails only on a kubeconfig or context
/// the user named and that cannot be used.
pub async fn start(args: &Args, wait: Duration) -> Result<Labels> {
    if args.no_kube {
        return Ok(Labels::IpOnly(IpOnly::default()));
    }
    let cache = KubeCache::start(&options(args), &Environment::current()).await?;
    let within = humantime::format_duration(wait);
    let status = match cache.wait_settled(wait).await {
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
    let resolver = cache.resolver();
    Ok(Labels::Kube(cache, resolver, status))
}
