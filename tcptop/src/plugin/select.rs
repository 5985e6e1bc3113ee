//! Chooses the tcptop pod to exec into from `kubectl get pods -o json` output: the
//! newest Running and Ready pod on the node, or a description of why there is none.
//! Pure: JSON in, a pod name or a [`SelectError`] out.
use serde::Deserialize;
use thiserror::Error;

/// Why no pod can be chosen.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SelectError {
    /// No tcptop pod on the node at all.
    #[error("no tcptop pod on the node")]
    NoPods,
    /// Pods exist, none usable; the newest one and what it is doing.
    #[error("pod {pod} is {state}")]
    NotReady {
        /// The newest pod on the node.
        pod: String,
        /// Its state, e.g. `Pending (ContainerCreating)` or `Terminating`.
        state: String,
    },
    /// The output was not a pod list.
    #[error("kubectl's pod list is not valid JSON: {0}")]
    Parse(String),
}

#[derive(Deserialize)]
struct PodList {
    #[serde(default)]
    items: Vec<Pod>,
}

#[derive(Deserialize)]
struct Pod {
    metadata: Metadata,
    #[serde(default)]
    spec: Spec,
    #[serde(default)]
    status: Status,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    name: String,
    #[serde(default)]
    creation_timestamp: String,
    deletion_timestamp: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    node_name: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    phase: Option<String>,
    #[serde(default)]
    conditions: Vec<Condition>,
    #[serde(default)]
    container_statuses: Vec<ContainerStatus>,
}

#[derive(Deserialize)]
struct Condition {
    #[serde(rename = "type")]
    kind: String,
    status: String,
}

#[derive(Deserialize)]
struct ContainerStatus {
    #[serde(default)]
    state: ContainerState,
}

#[derive(Default, Deserialize)]
struct ContainerState {
    waiting: Option<Reason>,
    terminated: Option<Reason>,
}

#[derive(Deserialize)]
struct Reason {
    reason: Option<String>,
}

impl Pod {
    fn terminating(&self) -> bool {
        self.metadata.deletion_timestamp.is_some()
    }

    fn usable(&self) -> bool {
        !self.terminating()
            && self.status.phase.as_deref() == Some("Running")
            && self
                .status
                .conditions
                .iter()
                .any(|c| c.kind == "Ready" && c.status == "True")
    }

    /// What the pod is doing, for an error: `Pending (ContainerCreating)`.
    fn state(&self) -> String {
        if self.terminating() {
            return "Terminating".into();
        }
        let phase = self.status.phase.as_deref().unwrap_or("Unknown");
        let reason = self.status.container_statuses.iter().find_map(|c| {
            let s = &c.state;
            s.waiting
                .as_ref()
                .or(s.terminated.as_ref())
                .and_then(|r| r.reason.clone())
        });
        match (phase, reason) {
            (phase, Some(reason)) => format!("{phase} ({reason})"),
            ("Running", None) => "Running but not Ready".into(),
            (phase, None) => phase.to_string(),
        }
    }
}

/// The pod to exec into on `node`, from a `kubectl get pods -o json` pod list. Among
/// Running and Ready pods not being deleted, the newest wins (during a rollout that is
/// the new version); names break ties so the choice is stable.
pub fn choose(pod_list_json: &str, node: &str) -> Result<String, SelectError> {
    let list: PodList =
        serde_json::from_str(pod_list_json).map_err(|e| SelectError::Parse(e.to_string()))?;
    let mut on_node: Vec<Pod> = list
        .items
        .into_iter()
        .filter(|p| p.spec.node_name.as_deref() == Some(node))
        .collect();
    // Newest first, then by name.
    on_node.sort_by(|a, b| {
        (&b.metadata.creation_timestamp, &a.metadata.name)
            .cmp(&(&a.metadata.creation_timestamp, &b.metadata.name))
    });
    if let Some(pod) = on_node.iter().find(|p| p.usable()) {
        return Ok(pod.metadata.name.clone());
    }
    // Nothing usable: describe the newest pod that is not going away, else the newest.
    let newest = on_node
        .iter()
        .find(|p| !p.terminating())
        .or(on_node.first())
        .ok_or(SelectError::NoPods)?;
    Err(SelectError::NotReady {
        pod: newest.metadata.name.clone(),
        state: newest.state(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    /// A pod as the API server lists it, trimmed to what matters plus some noise.
    fn pod(name: &str, node: &str, created: &str, phase: &str, ready: bool) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": "tcptop",
                "creationTimestamp": created,
                "labels": {"app.kubernetes.io/name": "tcptop"},
            },
            "spec": {"nodeName": node, "containers": [{"name": "tcptop"}]},
            "status": {
                "phase": phase,
                "conditions": [
                    {"type": "PodScheduled", "status": "True"},
                    {"type": "Ready", "status": if ready { "True" } else { "False" }},
                ],
                "containerStatuses": [{"name": "tcptop", "ready": ready, "state": {"running": {}}}],
            },
        })
    }

    fn list(items: Vec<Value>) -> String {
        json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string()
    }

    const T1: &str = "2026-01-01T10:00:00Z";
    const T2: &str = "2026-01-01T11:00:00Z";

    #[test]
    fn picks_the_ready_pod_on_the_node() {
        let l = list(vec![
            pod("tcptop-other", "node-b", T2, "Running", true),
            pod("tcptop-a", "node-a", T1, "Running", true),
        ]);
        assert_eq!(choose(&l, "node-a").unwrap(), "tcptop-a");
        assert_eq!(choose(&l, "node-b").unwrap(), "tcptop-other");
    }

    #[test]
    fn prefers_ready_over_newer_unready_and_newest_among_ready() {
        let l = list(vec![
            pod("tcptop-old", "n", T1, "Running", true),
            pod("tcptop-new", "n", T2, "Pending", false),
        ]);
        assert_eq!(choose(&l, "n").unwrap(), "tcptop-old");
        let l = list(vec![
            pod("tcptop-old", "n", T1, "Running", true),
            pod("tcptop-new", "n", T2, "Running", true),
        ]);
        assert_eq!(choose(&l, "n").unwrap(), "tcptop-new");
    }

    #[test]
    fn ties_break_by_name() {
        let l = list(vec![
            pod("tcptop-b", "n", T1, "Running", true),
            pod("tcptop-a", "n", T1, "Running", true),
        ]);
        assert_eq!(choose(&l, "n").unwrap(), "tcptop-a");
    }

    #[test]
    fn skips_terminating_pods() {
        let mut leaving = pod("tcptop-leaving", "n", T2, "Running", true);
        leaving["metadata"]["deletionTimestamp"] = json!(T2);
        let l = list(vec![
            leaving.clone(),
            pod("tcptop-stay", "n", T1, "Running", true),
        ]);
        assert_eq!(choose(&l, "n").unwrap(), "tcptop-stay");
        let l = list(vec![leaving]);
        assert_eq!(
            choose(&l, "n").unwrap_err(),
            SelectError::NotReady {
                pod: "tcptop-leaving".into(),
                state: "Terminating".into()
            }
        );
    }

    #[test]
    fn describes_a_pod_that_is_not_ready() {
        let mut creating = pod("tcptop-x", "n", T1, "Pending", false);
        creating["status"]["containerStatuses"][0]["state"] =
            json!({"waiting": {"reason": "ContainerCreating"}});
        assert_eq!(
            choose(&list(vec![creating]), "n").unwrap_err().to_string(),
            "pod tcptop-x is Pending (ContainerCreating)"
        );
        let unready = pod("tcptop-y", "n", T1, "Running", false);
        assert_eq!(
            choose(&list(vec![unready]), "n").unwrap_err().to_string(),
            "pod tcptop-y is Running but not Ready"
        );
        let mut bare = pod("tcptop-z", "n", T1, "Pending", false);
        bare["status"] = json!({"phase": "Pending"});
        assert_eq!(
            choose(&list(vec![bare]), "n").unwrap_err().to_string(),
            "pod tcptop-z is Pending"
        );
    }

    #[test]
    fn no_pods_on_the_node() {
        let l = list(vec![pod("tcptop-a", "node-a", T1, "Running", true)]);
        assert_eq!(choose(&l, "node-z").unwrap_err(), SelectError::NoPods);
        assert_eq!(choose(&list(vec![]), "n").unwrap_err(), SelectError::NoPods);
        // kubectl prints an empty List without `items` in some versions.
        assert_eq!(
            choose(r#"{"kind":"List"}"#, "n").unwrap_err(),
            SelectError::NoPods
        );
    }

    #[test]
    fn garbage_is_a_parse_error() {
        assert!(matches!(
            choose("No resources found", "n"),
            Err(SelectError::Parse(_))
        ));
    }
}
