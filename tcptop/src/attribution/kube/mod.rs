//! Kubernetes attribution: a watch cache of Pods, Nodes and Services, indexed by IP.
//!
//! [`config`] finds the cluster the way kubectl does; the client runs on a thread of
//! its own, where [`credentials`] runs exec plugins with a bound and [`watch`] runs
//! one list+watch per kind; [`index`] keeps the compact [`records`] by IP (pure, with
//! live-beats-finished, claim times and tombstones), [`resolver`] answers per IP from
//! it, and [`status`] says in one line what the cache is doing.
pub mod cgroup;
mod client;
pub mod config;
mod credentials;
pub mod index;
mod intern;
mod layer;
pub mod records;
pub mod resolver;
mod slab;
pub mod status;
pub mod watch;

use std::{path::PathBuf, sync::Arc, time::Duration};

use tokio::sync::watch as channel;

pub use config::{ConfigError, Environment};
use credentials::Plugin;
pub use records::ZoneLabels;
pub use resolver::KubeResolver;
pub use status::KubeStatus;
use status::Setup;
use watch::Shared;

/// How long a deleted pod or Service keeps resolving, by default.
pub const DEFAULT_TOMBSTONE_GRACE: Duration = Duration::from_secs(120);

/// How long a credential plugin may run before it is killed, by default: far more
/// than `aws eks get-token` or `gke-gcloud-auth-plugin` take (well under 5 s), less
/// than a person waits.
pub const DEFAULT_PLUGIN_TIMEOUT: Duration = Duration::from_secs(30);

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
    /// How long a credential plugin may run before it is killed.
    pub plugin_timeout: Duration,
}

impl Default for KubeOptions {
    fn default() -> Self {
        Self {
            kubeconfig: None,
            context: None,
            zones: ZoneLabels::default(),
            grace: DEFAULT_TOMBSTONE_GRACE,
            plugin_timeout: DEFAULT_PLUGIN_TIMEOUT,
        }
    }
}

/// A running watch cache. Dropping it stops the client's thread (a running plugin
/// is killed).
#[derive(Debug)]
pub struct KubeCache {
    shared: Arc<Shared>,
    status: channel::Receiver<KubeStatus>,
    _client: Option<client::Background>,
}

impl KubeCache {
    /// Finds the cluster and starts the client on a thread of its own; returns at
    /// once, without waiting for credentials or the API server. Without any
    /// configuration the cache stays empty and its status says why. Fails only on a
    /// configuration the user named and that cannot be used.
    pub async fn start(opts: &KubeOptions, env: &Environment) -> Result<Self, ConfigError> {
        let loaded = config::load(opts.kubeconfig.as_deref(), opts.context.as_deref(), env).await?;
        let mut config = match loaded {
            config::Loaded::Found(c) => *c,
            config::Loaded::Missing(reason) => return Ok(Self::unavailable(reason, opts)),
        };
        let shared = Arc::new(Shared::new(
            config.cluster_url.to_string(),
            opts.zones.clone(),
        ));
        // Said before the thread starts, so that the first status (and the UI's first
        // frame) already names the plugin being waited for.
        let plugin = Plugin::take(&mut config.auth_info, opts.plugin_timeout);
        if let Some(p) = &plugin {
            shared.plugin_started(p.command());
        }
        let client = match client::Background::start(config, plugin, shared.clone(), opts.grace) {
            Ok(c) => Some(c),
            Err(e) => {
                shared.set_setup(Setup::Failed(format!(
                    "cannot start a thread for the Kubernetes client: {e}; labels are IP-level"
                )));
                None
            }
        };
        Ok(Self {
            status: shared.subscribe(),
            shared,
            _client: client,
        })
    }

    fn unavailable(reason: String, opts: &KubeOptions) -> Self {
        let shared = Arc::new(Shared::new(String::new(), opts.zones.clone()));
        shared.set_setup(Setup::Failed(reason));
        Self {
            status: shared.subscribe(),
            shared,
            _client: None,
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
    /// returns the status then (still `Connecting` when it did neither in time).
    pub async fn wait_settled(&self, limit: Duration) -> KubeStatus {
        let mut rx = self.status.clone();
        let settled = |s: &KubeStatus| !matches!(s, KubeStatus::Connecting { .. });
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
