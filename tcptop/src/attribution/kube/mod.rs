//! Kubernetes attribution: a watch cache of Pods, Nodes and Services, indexed by IP.
//!
//! [`config`] finds the cluster the way kubectl does, [`watch`] runs one list+watch per
//! kind in the background, [`index`] keeps the compact [`records`] by IP (pure, with
//! live-beats-finished and tombstones), [`resolver`] answers per IP from it, and
//! [`status`] says in one line what the cache is doing.
pub mod config;
pub mod index;
mod intern;
pub mod records;
pub mod resolver;
mod slab;
pub mod status;
pub mod watch;

use std::{path::PathBuf, sync::Arc, time::Duration};

use tokio::{sync::watch as channel, task::JoinHandle};

pub use config::{ConfigError, Environment};
pub use records::ZoneLabels;
pub use resolver::KubeResolver;
pub use status::KubeStatus;
use watch::Shared;

/// How long a deleted pod keeps resolving, by default.
pub const DEFAULT_TOMBSTONE_GRACE: Duration = Duration::from_secs(120);

/// What the cache needs to know from the command line.
#[derive(Clone, Debug)]
pub struct KubeOptions {
    /// `--kubeconfig`.
    pub kubeconfig: Option<PathBuf>,
    /// `--context`.
    pub context: Option<String>,
    /// `--zone-label`.
    pub zones: ZoneLabels,
    /// `--tombstone-grace`.
    pub grace: Duration,
}

impl Default for KubeOptions {
    fn default() -> Self {
        Self {
            kubeconfig: None,
            context: None,
            zones: ZoneLabels::default(),
            grace: DEFAULT_TOMBSTONE_GRACE,
        }
    }
}

/// A running watch cache. Dropping it stops the background tasks.
#[derive(Debug)]
pub struct KubeCache {
    shared: Arc<Shared>,
    status: channel::Receiver<KubeStatus>,
    tasks: Vec<JoinHandle<()>>,
}

impl KubeCache {
    /// Finds the cluster and starts watching it on the current tokio runtime. Without
    /// any configuration the cache stays empty and its status says why. Fails only on a
    /// configuration the user named and that cannot be used.
    pub async fn start(opts: &KubeOptions, env: &Environment) -> Result<Self, ConfigError> {
        let loaded = config::load(opts.kubeconfig.as_deref(), opts.context.as_deref(), env).await?;
        let config = match loaded {
            config::Loaded::Found(c) => *c,
            config::Loaded::Missing(reason) => return Ok(Self::unavailable(reason, opts)),
        };
        let server = config.cluster_url.to_string();
        let client = match ::kube::Client::try_from(config) {
            Ok(c) => c,
            Err(e) => {
                let reason =
                    format!("cannot build a client for {server}: {e}; labels are IP-level");
                return Ok(Self::unavailable(reason, opts));
            }
        };
        let shared = Arc::new(Shared::new(server, opts.zones.clone()));
        let tasks = watch::spawn(client, &shared, opts.grace);
        Ok(Self {
            status: shared.subscribe(),
            shared,
            tasks,
        })
    }

    fn unavailable(reason: String, opts: &KubeOptions) -> Self {
        let shared = Arc::new(Shared::new(String::new(), opts.zones.clone()));
        let (tx, status) = channel::channel(KubeStatus::Unavailable { reason });
        drop(tx);
        Self {
            shared,
            status,
            tasks: Vec::new(),
        }
    }

    /// A resolver reading this cache.
    pub fn resolver(&self) -> KubeResolver {
        KubeResolver::new(self.shared.clone())
    }

    /// The current status.
    pub fn status(&self) -> KubeStatus {
        self.status.borrow().clone()
    }

    /// Status changes, for the UI header.
    pub fn subscribe(&self) -> channel::Receiver<KubeStatus> {
        self.status.clone()
    }

    /// Waits up to `limit` until the cache has synced or reported a failure, and
    /// returns the status then.
    pub async fn wait_settled(&self, limit: Duration) -> KubeStatus {
        let mut rx = self.status.clone();
        let settled = |s: &KubeStatus| !matches!(s, KubeStatus::Connecting { .. });
        // A closed channel (no watchers) keeps its last value, which is final.
        let _ = tokio::time::timeout(limit, rx.wait_for(settled)).await;
        self.status()
    }

    /// Waits up to `limit` until the cache has synced; true if it did.
    pub async fn wait_synced(&self, limit: Duration) -> bool {
        let mut rx = self.status.clone();
        let synced = |s: &KubeStatus| matches!(s, KubeStatus::Synced { .. });
        let done = tokio::time::timeout(limit, rx.wait_for(synced)).await;
        matches!(done, Ok(Ok(_)))
    }
}

impl Drop for KubeCache {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
