//! What the Kubernetes cache is doing, as one line for the UI header and `--once`
//! stderr. Pure: watch errors are classified into [`Failure`]s, and the per-kind states
//! are summarised into a [`KubeStatus`].
use std::fmt;

use kube::runtime::watcher;

use super::index::Kind;

/// The state of one watched kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KindState {
    /// No complete list yet, and no error.
    Connecting,
    /// Listed in full; watching.
    Synced,
    /// The last request failed (the watcher retries with backoff).
    Failed(Failure),
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

/// What the Kubernetes attribution is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KubeStatus {
    /// `--no-kube`.
    Disabled,
    /// Waiting for the first complete lists from `server`.
    Connecting {
        /// The API server's URL.
        server: String,
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
            KubeStatus::Connecting { server } => write!(f, "kubernetes: connecting to {server}"),
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

/// Summarises the kinds' states into one status. Forbidden kinds are named together;
/// otherwise the first failure (pods, nodes, services) speaks.
pub fn summarize(server: &str, kinds: &[KindState; 3], pods: usize) -> KubeStatus {
    let forbidden: Vec<String> = Kind::ALL
        .iter()
        .zip(kinds)
        .filter_map(|(k, s)| match s {
            KindState::Failed(Failure::Forbidden { verb }) => {
                Some(format!("{verb} {}", k.plural()))
            }
            _ => None,
        })
        .collect();
    if !forbidden.is_empty() {
        return KubeStatus::Unavailable {
            reason: format!(
                "forbidden to {} cluster-wide: grant get/list/watch on pods, nodes, services \
                 (deploy/rbac.yaml); labels are IP-level until then, retrying",
                forbidden.join(", ")
            ),
        };
    }
    let failure = Kind::ALL.iter().zip(kinds).find_map(|(k, s)| match s {
        KindState::Failed(f) => Some((k, f)),
        _ => None,
    });
    if let Some((kind, f)) = failure {
        let reason = match f {
            Failure::Forbidden { .. } => unreachable!("handled above"),
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
        };
        return KubeStatus::Unavailable { reason };
    }
    if kinds.iter().all(|s| *s == KindState::Synced) {
        KubeStatus::Synced { pods }
    } else {
        KubeStatus::Connecting {
            server: server.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::Status;

    fn api(code: u16, reason: &str) -> kube::Error {
        let s = Status::failure("pods is forbidden: User \"x\" cannot list", reason);
        kube::Error::Api(s.with_code(code).boxed())
    }

    #[test]
    fn classifies_forbidden_by_verb() {
        let list = watcher::Error::InitialListFailed(api(403, "Forbidden"));
        assert_eq!(classify(&list), Failure::Forbidden { verb: "list" });
        let watch = watcher::Error::WatchStartFailed(api(403, "Forbidden"));
        assert_eq!(classify(&watch), Failure::Forbidden { verb: "watch" });
        let unauth = watcher::Error::InitialListFailed(api(401, "Unauthorized"));
        assert_eq!(classify(&unauth), Failure::Unauthorized);
        let other = watcher::Error::InitialListFailed(api(500, "InternalError"));
        assert!(matches!(classify(&other), Failure::Other { detail } if detail.contains("500")));
    }

    #[test]
    fn forbidden_kinds_are_named_together_in_one_line() {
        let s = summarize(
            "https://10.0.0.1:6443",
            &[
                KindState::Synced,
                KindState::Failed(Failure::Forbidden { verb: "list" }),
                KindState::Failed(Failure::Forbidden { verb: "watch" }),
            ],
            3,
        );
        let line = s.to_string();
        assert!(
            line.contains("forbidden to list nodes, watch services"),
            "{line}"
        );
        assert!(line.contains("deploy/rbac.yaml"), "{line}");
        assert!(!line.contains('\n'));
    }

    #[test]
    fn unreachable_names_the_address() {
        let s = summarize(
            "https://10.0.0.1:6443/",
            &[
                KindState::Failed(Failure::Unreachable {
                    cause: "Connection refused (os error 111)".into(),
                }),
                KindState::Connecting,
                KindState::Connecting,
            ],
            0,
        );
        assert_eq!(
            s.to_string(),
            "kubernetes: cannot reach the API server at https://10.0.0.1:6443/: Connection \
             refused (os error 111); labels are IP-level until it answers, retrying"
        );
    }

    #[test]
    fn synced_only_when_every_kind_is() {
        let k = [KindState::Synced, KindState::Synced, KindState::Connecting];
        assert_eq!(
            summarize("s", &k, 5),
            KubeStatus::Connecting { server: "s".into() }
        );
        let k = [KindState::Synced, KindState::Synced, KindState::Synced];
        assert_eq!(
            summarize("s", &k, 5).to_string(),
            "kubernetes: synced, 5 pods"
        );
    }
}
