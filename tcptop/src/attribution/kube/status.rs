//! What the Kubernetes cache is doing, as one line for the UI header and `--once`
//! stderr. Pure: watch errors are classified into [`Failure`]s, and the cache's
//! [`Health`] is summarised into a [`KubeStatus`].
use std::{fmt, time::Instant};

use kube::runtime::watcher;

use super::index::Kind;

/// How one watched kind is doing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KindHealth {
    /// Listed in full at least once.
    pub listed: bool,
    /// The last request failed, and the API server has accepted none since (the
    /// watcher retries with backoff).
    pub failure: Option<Failure>,
}

/// Getting the client ready: credentials from an exec plugin, then the client itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Setup {
    /// The client runs with a valid credential (or needs none).
    #[default]
    Ready,
    /// Waiting for the credential plugin `command`, started at `since`, with no valid
    /// credential in hand.
    Plugin {
        /// `users[].user.exec.command`.
        command: String,
        /// When it was started.
        since: Instant,
    },
    /// No usable client: one line saying why and what to do.
    Failed(String),
}

/// Everything the status line and the resolver's `external` answer depend on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Health {
    /// Per kind, in [`Kind::ALL`] order.
    pub kinds: [KindHealth; Kind::ALL.len()],
    /// The client's setup.
    pub setup: Setup,
}

impl Health {
    /// True when the cache is *current*: the client is ready, every kind has been
    /// listed in full, and no kind's latest request failed. Only then is an IP that
    /// nothing claims `external` rather than `unknown`.
    pub fn current(&self) -> bool {
        self.setup == Setup::Ready && self.kinds.iter().all(|k| k.listed && k.failure.is_none())
    }
}

/// Why a request to the API server failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// 403: RBAC denies `verb` (`list` or `watch`) on the kind.
    Forbidden {
        /// The verb that was denied.
        verb: &'static str,
    },
    /// 401: the credentials were rejected.
    Unauthorized,
    /// No HTTP answer at all: connection refused, DNS, TLS, timeout.
    Unreachable {
        /// The innermost cause, e.g. `Connection refused (os error 111)`.
        cause: String,
    },
    /// Any other answer.
    Other {
        /// What was attempted and what came back.
        detail: String,
    },
}

/// A credential plugin being waited for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginWait {
    /// `users[].user.exec.command`.
    pub command: String,
    /// Whole seconds waited so far.
    pub secs: u64,
}

/// What the Kubernetes attribution is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KubeStatus {
    /// `--no-kube`.
    Disabled,
    /// Waiting for the first complete lists from `server`.
    Connecting {
        /// The API server's URL.
        server: String,
        /// The credential plugin that has to answer first, if one is running.
        plugin: Option<PluginWait>,
    },
    /// Every kind is listed and watched.
    Synced {
        /// Pods cached (tombstones excluded).
        pods: usize,
    },
    /// Labels are IP-level (or stale) because of `reason`.
    Unavailable {
        /// One line saying why and what to do.
        reason: String,
    },
}

impl KubeStatus {
    /// True when the status deserves a warning line.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, KubeStatus::Unavailable { .. })
    }
}

impl fmt::Display for KubeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KubeStatus::Disabled => f.write_str("kubernetes: off (--no-kube)"),
            KubeStatus::Connecting {
                server,
                plugin: None,
            } => write!(f, "kubernetes: connecting to {server}"),
            KubeStatus::Connecting {
                server,
                plugin: Some(p),
            } => write!(
                f,
                "kubernetes: waiting for the credential plugin {} ({}s so far) to connect \
                 to {server}; labels are IP-level until it answers",
                p.command, p.secs
            ),
            KubeStatus::Synced { pods } => write!(f, "kubernetes: synced, {pods} pods"),
            KubeStatus::Unavailable { reason } => write!(f, "kubernetes: {reason}"),
        }
    }
}

/// The last error in `e`'s source chain, which names the real cause.
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// Classifies a watcher error for the status line.
pub fn classify(e: &watcher::Error) -> Failure {
    let (verb, client_err) = match e {
        watcher::Error::InitialListFailed(c) => ("list", c),
        watcher::Error::WatchStartFailed(c) | watcher::Error::WatchFailed(c) => ("watch", c),
        watcher::Error::WatchError(s) => {
            return match s.code {
                403 => Failure::Forbidden { verb: "watch" },
                401 => Failure::Unauthorized,
                code => Failure::Other {
                    detail: format!("watch ended with {code}: {}", s.message),
                },
            }
        }
        watcher::Error::NoResourceVersion => {
            return Failure::Other {
                detail: "list without a resourceVersion".into(),
            }
        }
    };
    match client_err {
        kube::Error::Api(s) if s.code == 403 => Failure::Forbidden { verb },
        kube::Error::Api(s) if s.code == 401 => Failure::Unauthorized,
        kube::Error::Api(s) => Failure::Other {
            detail: format!("{verb} answered {} {}: {}", s.code, s.reason, s.message),
        },
        kube::Error::HyperError(_) | kube::Error::Service(_) => Failure::Unreachable {
            cause: innermost(client_err),
        },
        other => Failure::Other {
            detail: format!("{verb} failed: {}", innermost(other)),
        },
    }
}

/// Summarises `health` into one status, `now` timing a running plugin. The setup
/// speaks first; then forbidden kinds, named together; then the first other failure
/// (pods, nodes, services).
pub fn summarize(server: &str, health: &Health, pods: usize, now: Instant) -> KubeStatus {
    match &health.setup {
        Setup::Ready => {}
        Setup::Plugin { command, since } => {
            return KubeStatus::Connecting {
                server: server.to_string(),
                plugin: Some(PluginWait {
                    command: command.clone(),
                    secs: now.saturating_duration_since(*since).as_secs(),
                }),
            }
        }
        Setup::Failed(reason) => {
            return KubeStatus::Unavailable {
                reason: reason.clone(),
            }
        }
    }
    let kinds = &health.kinds;
    let forbidden: Vec<String> = Kind::ALL
        .iter()
        .zip(kinds)
        .filter_map(|(k, s)| match s.failure {
            Some(Failure::Forbidden { verb }) => Some(format!("{verb} {}", k.plural())),
            _ => None,
        })
        .collect();
    if !forbidden.is_empty() {
        return KubeStatus::Unavailable {
            reason: format!(
                "forbidden to {} cluster-wide: grant get/list/watch on pods, nodes, services \
                 and apps replicasets (deploy/rbac.yaml); labels are IP-level until then, \
                 retrying",
                forbidden.join(", ")
            ),
        };
    }
    let failure = Kind::ALL.iter().zip(kinds).find_map(|(k, s)| {
        s.failure
            .as_ref()
            .and_then(|f| failure_reason(*k, server, f))
    });
    if let Some(reason) = failure {
        return KubeStatus::Unavailable { reason };
    }
    if kinds.iter().all(|s| s.listed) {
        KubeStatus::Synced { pods }
    } else {
        KubeStatus::Connecting {
            server: server.to_string(),
            plugin: None,
        }
    }
}

/// The status line of `f` on `kind`; `None` for [`Failure::Forbidden`], which
/// [`summarize`] names for every kind at once.
fn failure_reason(kind: Kind, server: &str, f: &Failure) -> Option<String> {
    Some(match f {
        Failure::Forbidden { .. } => return None,
        Failure::Unauthorized => format!(
            "the API server at {server} rejected the credentials (401): check the \
             kubeconfig user or service account token; labels are IP-level, retrying"
        ),
        Failure::Unreachable { cause } => format!(
            "cannot reach the API server at {server}: {cause}; labels are IP-level \
             until it answers, retrying"
        ),
        Failure::Other { detail } => format!(
            "{} from the API server at {server}: {detail}; retrying",
            kind.plural()
        ),
    })
}

#[cfg(test)]
mod tests;
