//! Starts the Kubernetes attribution for a mode: the watch cache (unless `--no-kube`),
//! a bounded wait for it to sync, and its status line on stderr.
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
    /// The watch cache and its resolver.
    Kube(KubeCache, KubeResolver),
}

impl Labels {
    /// The resolver to attribute close records with.
    pub fn resolver(&self) -> &dyn Resolver {
        match self {
            Labels::IpOnly(r) => r,
            Labels::Kube(_, r) => r,
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
    }
}

/// Starts the cache and waits up to `wait` for it to sync or fail, then prints its
/// status to stderr: one line, also when it is not usable (collection goes on with
/// IP-level labels). Fails only on a kubeconfig or context the user named and that
/// cannot be used.
pub async fn start(args: &Args, wait: Duration) -> Result<Labels> {
    if args.no_kube {
        return Ok(Labels::IpOnly(IpOnly::default()));
    }
    let cache = KubeCache::start(&options(args), &Environment::current()).await?;
    let status = match cache.wait_settled(wait).await {
        KubeStatus::Connecting { server } => KubeStatus::Unavailable {
            reason: format!(
                "no answer from the API server at {server} within {}; labels are IP-level \
                 until it answers",
                humantime::format_duration(wait)
            ),
        },
        s => s,
    };
    eprintln!("tcptop: {status}");
    let resolver = cache.resolver();
    Ok(Labels::Kube(cache, resolver))
}
