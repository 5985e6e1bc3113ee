//! Realistic Pod, Node and Service objects as the API server serves them, and
//! kubeconfig files pointing at a fake server.
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

/// `Pod` for `pods` and so on.
pub fn kind_name(plural: &str) -> &'static str {
    match plural {
        "pods" => "Pod",
        "nodes" => "Node",
        "services" => "Service",
        "replicasets" => "ReplicaSet",
        other => panic!("unknown kind {other}"),
    }
}

/// `v1`, or `apps/v1` for ReplicaSets.
pub fn api_version(plural: &str) -> &'static str {
    match plural {
        "replicasets" => "apps/v1",
        _ => "v1",
    }
}

/// A ReplicaSet controlled by the Deployment `deployment`, as the API server lists it.
pub fn replicaset(ns: &str, name: &str, deployment: &str) -> Value {
    json!({
        "kind": "ReplicaSet", "apiVersion": "apps/v1",
        "metadata": {"name": name, "namespace": ns, "uid": uid(0x7e, name.len() as u32),
            "labels": {"app": deployment, "pod-template-hash": "7d9f8b6c5"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                "name": deployment, "uid": "22222222-3333-4444-8555-666666666666",
                "controller": true, "blockOwnerDeletion": true}]},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": deployment}},
            "template": {"metadata": {"labels": {"app": deployment}},
                "spec": {"containers": [{"name": "app", "image": "registry.example/app:1.2.3"}]}}},
        "status": {"replicas": 2, "readyReplicas": 2}
    })
}

/// A deterministic UUID for `n` in `space`.
pub fn uid(space: u32, n: u32) -> String {
    format!("{space:08x}-0000-4000-8000-{n:012x}")
}

/// A pod as a real API server lists it: metadata with labels, owner reference and
/// managed fields, a spec with one container, and a status with conditions.
pub fn pod(ns: &str, name: &str, uid: &str, node: &str, ips: &[&str], phase: &str) -> Value {
    let ip_list: Vec<Value> = ips.iter().map(|ip| json!({"ip": ip})).collect();
    json!({
        "kind": "Pod", "apiVersion": "v1",
        "metadata": {
            "name": name, "namespace": ns, "uid": uid,
            "creationTimestamp": "2026-11-20T10:00:00Z",
            "generateName": format!("{}-", name.rsplit_once('-').map_or(name, |(a, _)| a)),
            "labels": {"app": ns, "pod-template-hash": "7d9f8b6c5"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "name": format!("{ns}-7d9f8b6c5"), "uid": "11111111-2222-4333-8444-555555555555",
                "controller": true, "blockOwnerDeletion": true}],
            "managedFields": [{"manager": "kube-controller-manager", "operation": "Update",
                "apiVersion": "v1", "time": "2026-11-20T10:00:00Z", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:metadata": {"f:generateName": {}, "f:labels": {".": {},
                "f:app": {}, "f:pod-template-hash": {}}}}}]
        },
        "spec": {
            "nodeName": node,
            "serviceAccountName": "default",
            "containers": [{"name": "app", "image": "registry.example/app:1.2.3",
                "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                "imagePullPolicy": "IfNotPresent"}],
            "restartPolicy": "Always", "dnsPolicy": "ClusterFirst"
        },
        "status": {
            "phase": phase,
            "hostIP": "192.168.0.1", "hostIPs": [{"ip": "192.168.0.1"}],
            "podIP": ips.first().copied().unwrap_or(""), "podIPs": ip_list,
            "startTime": "2026-11-20T10:00:01Z",
            "qosClass": "Burstable",
            "conditions": [{"type": "Ready", "status": "True",
                "lastTransitionTime": "2026-11-20T10:00:05Z"}],
            "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0,
                "image": "registry.example/app:1.2.3", "imageID": "registry.example/app@sha256:0123",
                "containerID": "containerd://abcdef", "started": true,
                "state": {"running": {"startedAt": "2026-11-20T10:00:04Z"}}}]
        }
    })
}

/// Sets `spec.hostNetwork` on a pod.
pub fn host_network(mut pod: Value) -> Value {
    pod["spec"]["hostNetwork"] = json!(true);
    pod
}

/// A node in `zone` with InternalIP addresses `ips`.
pub fn node(name: &str, zone: &str, ips: &[&str]) -> Value {
    let mut addrs: Vec<Value> = ips
        .iter()
        .map(|ip| json!({"type": "InternalIP", "address": ip}))
        .collect();
    addrs.push(json!({"type": "Hostname", "address": name}));
    json!({
        "kind": "Node", "apiVersion": "v1",
        "metadata": {"name": name, "uid": uid(0xdead, name.len() as u32),
            "labels": {"kubernetes.io/hostname": name, "topology.kubernetes.io/zone": zone,
                       "topology.kubernetes.io/region": "region-1"}},
        "spec": {"podCIDR": "10.244.0.0/24"},
        "status": {"addresses": addrs}
    })
}

/// A ClusterIP Service.
pub fn service(ns: &str, name: &str, uid: &str, ips: &[&str]) -> Value {
    json!({
        "kind": "Service", "apiVersion": "v1",
        "metadata": {"name": name, "namespace": ns, "uid": uid},
        "spec": {"type": "ClusterIP", "clusterIP": ips[0], "clusterIPs": ips,
                 "ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080}]}
    })
}

/// Writes a kubeconfig with one context per `(name, server)`, `current` selected.
pub fn write_kubeconfig(dir: &Path, clusters: &[(&str, &str)], current: &str) -> PathBuf {
    write_kubeconfig_for(dir, clusters, current, "    token: test-token\n")
}

/// Writes a kubeconfig for `server` whose user gets its credential from the exec
/// plugin `command` (non-interactive, as in EKS, GKE and AKS kubeconfigs).
pub fn write_exec_kubeconfig(dir: &Path, server: &str, command: &Path) -> PathBuf {
    let user = format!(
        "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      \
         interactiveMode: Never\n",
        command.display()
    );
    write_kubeconfig_for(dir, &[("fake", server)], "fake", &user)
}

/// Writes a kubeconfig like [`write_kubeconfig`] with `user` (YAML, indented four
/// spaces) as the user's fields.
fn write_kubeconfig_for(
    dir: &Path,
    clusters: &[(&str, &str)],
    current: &str,
    user: &str,
) -> PathBuf {
    let mut y = format!("apiVersion: v1\nkind: Config\ncurrent-context: {current}\nclusters:\n");
    for (n, url) in clusters {
        y += &format!("- name: {n}\n  cluster:\n    server: {url}\n");
    }
    y += "contexts:\n";
    for (n, _) in clusters {
        y += &format!("- name: {n}\n  context:\n    cluster: {n}\n    user: tester\n");
    }
    y += "users:\n- name: tester\n  user:\n";
    y += user;
    let path = dir.join("kubeconfig");
    std::fs::write(&path, y).unwrap();
    path
}

/// Nodes of the benchmark fleet.
pub const FLEET_NODES: u32 = 100;

/// Pod `i` of a realistic fleet: 50 namespaces, deployment-style names, UUIDs, IPv4
/// `10.64.0.0/10` addresses, spread over [`FLEET_NODES`] nodes in three zones.
pub fn fleet_pod(i: u32) -> Value {
    let ns = format!("team-{:02}-prod", i % 50);
    let name = format!(
        "service-{:03}-7d9f8b6c5-{:05x}",
        i % 400,
        i * 7919 % 0xfffff
    );
    pod(
        &ns,
        &name,
        &uid(i, i),
        &fleet_node_name(i % FLEET_NODES),
        &[&fleet_pod_ip(i)],
        "Running",
    )
}

/// The IP of [`fleet_pod`] `i`.
pub fn fleet_pod_ip(i: u32) -> String {
    format!("10.{}.{}.{}", 64 + i / 65536, i / 256 % 256, i % 256)
}

/// The name of fleet node `n`.
pub fn fleet_node_name(n: u32) -> String {
    format!("ip-10-0-{}-{}.eu-west-1.compute.internal", n / 10, n)
}

/// The IP of fleet node `n`.
pub fn fleet_node_ip(n: u32) -> String {
    format!("10.0.{}.{}", n / 10, n)
}

/// Fleet node `n`.
pub fn fleet_node(n: u32) -> Value {
    let zone = format!("eu-west-1{}", ["a", "b", "c"][n as usize % 3]);
    node(&fleet_node_name(n), &zone, &[&fleet_node_ip(n)])
}

/// The ClusterIP of fleet Service `i`.
pub fn fleet_service_ip(i: u32) -> String {
    format!("10.96.{}.{}", i / 256, i % 256)
}

/// Fleet Service `i`.
pub fn fleet_service(i: u32) -> Value {
    service(
        &format!("team-{:02}-prod", i % 50),
        &format!("service-{i:03}"),
        &uid(0x5e, i),
        &[&fleet_service_ip(i)],
    )
}

/// Writes an executable `sh` script `name` with `body` into `dir`.
pub fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// A credential plugin script that appends its process group (its shell's pid) and
/// its `sleep`'s pid to `dir/runs`, sleeps `sleep` (a `sleep` duration, `infinity` to
/// hang), then prints an ExecCredential with the token `plugin-token`.
pub fn plugin(dir: &Path, name: &str, sleep: &str) -> PathBuf {
    let runs = dir.join("runs");
    script(
        dir,
        name,
        &format!(
            "sleep {sleep} &\necho \"$$ $!\" >> {}\nwait $!\n\
             echo '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\
             \"status\":{{\"token\":\"plugin-token\"}}}}'",
            runs.display()
        ),
    )
}

/// The process groups of the runs of a [`plugin`] in `dir` so far.
pub fn plugin_runs(dir: &Path) -> Vec<i32> {
    std::fs::read_to_string(dir.join("runs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

/// Kills, when dropped, every process a [`plugin`] in the directory started, so that
/// a failing test leaves none behind.
pub struct PluginReaper(pub PathBuf);

impl Drop for PluginReaper {
    fn drop(&mut self) {
        let text = std::fs::read_to_string(self.0.join("runs")).unwrap_or_default();
        for pid in text
            .split_whitespace()
            .filter_map(|p| p.parse::<i32>().ok())
        {
            // SAFETY: kill has no memory effects; these are our test's own processes.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

/// True while any process of group `pgid` runs (zombies aside).
pub fn group_alive(pgid: i32) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        // Fields after the command: state, ppid, pgrp.
        let rest: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        rest.len() > 2 && rest[0] != "Z" && rest[2] == pgid.to_string()
    })
}
