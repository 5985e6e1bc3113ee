//! deploy/rbac.yaml grants every request the watch cache makes, and nothing more than
//! reading pods, nodes and services, and replicasets in the apps group.
mod support_kube;

use std::time::Duration;

use k8s_openapi::api::rbac::v1::ClusterRole;
use support_kube::FakeApi;

fn cluster_role() -> ClusterRole {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/rbac.yaml"))
        .expect("deploy/rbac.yaml");
    let docs: Vec<serde_json::Value> = text
        .split("\n---\n")
        .map(|d| serde_saphyr::from_str(d).expect("valid YAML"))
        .collect();
    let role = docs
        .into_iter()
        .find(|d| d["kind"] == "ClusterRole")
        .expect("a ClusterRole");
    serde_json::from_value(role).expect("a valid ClusterRole")
}

/// The API group of a resource tcptop reads.
fn group(resource: &str) -> &'static str {
    if resource == "replicasets" {
        "apps"
    } else {
        ""
    }
}

fn granted(role: &ClusterRole, resource: &str, verb: &str) -> bool {
    role.rules.iter().flatten().any(|r| {
        r.api_groups.iter().flatten().any(|g| g == group(resource))
            && r.resources.iter().flatten().any(|x| x == resource)
            && r.verbs.iter().any(|v| v == verb)
    })
}

#[test]
fn role_is_named_tcptop_and_read_only() {
    let role = cluster_role();
    assert_eq!(role.metadata.name.as_deref(), Some("tcptop"));
    for r in role.rules.iter().flatten() {
        for v in &r.verbs {
            assert!(
                ["get", "list", "watch"].contains(&v.as_str()),
                "write verb {v}"
            );
        }
        for x in r.resources.iter().flatten() {
            assert!(
                ["pods", "nodes", "services", "replicasets"].contains(&x.as_str()),
                "extra resource {x}"
            );
        }
    }
    for res in ["pods", "nodes", "services", "replicasets"] {
        for verb in ["get", "list", "watch"] {
            assert!(granted(&role, res, verb), "{verb} {res}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_grants_every_request_the_cache_makes() {
    let role = cluster_role();
    let api = FakeApi::start().await;
    api.load_fleet(600, 10);
    let dir = tempfile::tempdir().unwrap();
    let _cache = api.synced_cache(dir.path(), Duration::from_secs(20)).await;
    let reqs = api.requests();
    assert!(!reqs.is_empty());
    // ReplicaSets are read as metadata only: their owner chain, never the objects.
    let rs: Vec<_> = reqs
        .iter()
        .filter(|r| r.resource == "replicasets")
        .collect();
    assert!(!rs.is_empty(), "{reqs:?}");
    assert!(rs.iter().all(|r| r.meta_only), "{rs:?}");
    for r in &reqs {
        assert!(
            granted(&role, &r.resource, r.verb),
            "not granted: {} {}",
            r.verb,
            r.resource
        );
    }
}
