//! deploy/: a kustomize base whose rendering (`kubectl kustomize`) and files validate
//! against the Kubernetes schemas offline (kubernetes-validate from PyPI, installed by
//! `cargo xtask setup`), and keep the promises the docs make: read-only RBAC, a
//! least-privilege DaemonSet on every node serving metrics to the monitoring namespace
//! only, names the kubectl plugin relies on (tcptop/src/plugin/mod.rs).
use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use yaml_rust2::{Yaml, YamlLoader};

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

/// deploy/*.yaml but the kustomization, in file name order.
fn manifest_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(deploy_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .filter(|p| !p.ends_with("kustomization.yaml"))
        .collect();
    files.sort();
    files
}

/// Every document, with the file it came from.
fn documents() -> Vec<(String, Yaml)> {
    let mut docs = Vec::new();
    for f in manifest_files() {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        for d in YamlLoader::load_from_str(&fs::read_to_string(&f).unwrap()).unwrap() {
            docs.push((name.clone(), d));
        }
    }
    docs
}

fn find<'a>(docs: &'a [(String, Yaml)], kind: &str, name: &str) -> &'a Yaml {
    docs.iter()
        .map(|(_, d)| d)
        .find(|d| d["kind"].as_str() == Some(kind) && d["metadata"]["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no {kind} {name} in deploy/"))
}

fn strings(y: &Yaml) -> Vec<&str> {
    y.as_vec()
        .unwrap_or_else(|| panic!("not a list: {y:?}"))
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect()
}

fn sorted(mut v: Vec<&str>) -> Vec<&str> {
    v.sort_unstable();
    v
}

/// True when the validator is installed; otherwise the test skips, unless CI
/// (`cargo xtask test`) requires it.
fn have_validator() -> bool {
    let ok = Command::new("python3")
        .args(["-m", "kubernetes_validate", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("TCPTOP_REQUIRE_ROOT_TESTS").is_none(),
            "kubernetes-validate is missing: run `cargo xtask setup`"
        );
        eprintln!("skipped: kubernetes-validate is missing (cargo xtask setup installs it)");
    }
    ok
}

fn validate(k8s: &str, files: &[PathBuf]) -> (bool, String) {
    let out = Command::new("python3")
        .args([
            "-m",
            "kubernetes_validate",
            "--strict",
            "--no-warn",
            "-k",
            k8s,
        ])
        .args(files)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn manifests_match_the_kubernetes_schemas() {
    if !have_validator() {
        return;
    }
    let files = manifest_files();
    // The oldest and newest releases the validator bundles that we support.
    for k8s in ["1.29.0", "1.35.0"] {
        let (ok, text) = validate(k8s, &files);
        assert!(
            ok,
            "deploy/ does not validate against Kubernetes {k8s}:\n{text}"
        );
        assert_eq!(text.matches("passed").count(), documents().len(), "{text}");
    }
}

/// `kubectl kustomize DIR`, written to a file.
fn kustomize(dir: &Path, out: &Path) -> String {
    let o = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .expect("kubectl (cargo xtask setup checks it)");
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "kubectl kustomize {}: {}",
        dir.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    fs::write(out, &text).unwrap();
    text
}

/// `to` as a path relative to directory `from` (kustomize takes no absolute ones).
fn relative(from: &Path, to: &Path) -> String {
    let (from, to) = (from.canonicalize().unwrap(), to.canonicalize().unwrap());
    let up = "../".repeat(from.components().count() - 1);
    format!("{up}{}", to.strip_prefix("/").unwrap().display())
}

#[test]
fn the_kustomize_base_renders_every_manifest_and_validates() {
    let tmp = std::env::temp_dir().join(format!("tcptop-kustomize-{}", std::process::id()));
    fs::create_dir_all(&tmp).unwrap();
    let rendered = tmp.join("base.yaml");
    let text = kustomize(&deploy_dir(), &rendered);
    let docs = YamlLoader::load_from_str(&text).unwrap();
    assert_eq!(
        docs.len(),
        documents().len(),
        "every file of deploy/ is in the base"
    );
    // An overlay sets the image as `kustomize edit set image` writes it.
    let overlay = tmp.join("overlay");
    fs::create_dir_all(&overlay).unwrap();
    fs::write(
        overlay.join("kustomization.yaml"),
        format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - {}\nimages:\n  - name: tcptop\n    newName: registry.example.com/tcptop\n    newTag: \"{VERSION}\"\n",
            relative(&overlay, &deploy_dir())
        ),
    )
    .unwrap();
    let text = kustomize(&overlay, &tmp.join("overlay.yaml"));
    assert!(
        text.contains(&format!("image: registry.example.com/tcptop:{VERSION}")),
        "{text}"
    );
    if have_validator() {
        for k8s in ["1.29.0", "1.35.0"] {
            let (ok, out) = validate(k8s, std::slice::from_ref(&rendered));
            assert!(
                ok,
                "the rendered base does not validate against {k8s}:\n{out}"
            );
            assert_eq!(out.matches("passed").count(), docs.len(), "{out}");
        }
    }
    fs::remove_dir_all(&tmp).unwrap();
}

#[test]
fn metrics_are_declared_annotated_and_admitted_from_monitoring_only() {
    let docs = documents();
    let ds = find(&docs, "DaemonSet", "tcptop");
    let tpl = &ds["spec"]["template"];
    let ann = &tpl["metadata"]["annotations"];
    assert_eq!(ann["prometheus.io/scrape"].as_str(), Some("true"));
    assert_eq!(ann["prometheus.io/port"].as_str(), Some("9435"));
    assert_eq!(ann["prometheus.io/path"].as_str(), Some("/metrics"));
    let port = &tpl["spec"]["containers"][0]["ports"][0];
    assert_eq!(port["name"].as_str(), Some("metrics"));
    assert_eq!(port["containerPort"].as_i64(), Some(9435));
    let np = find(&docs, "NetworkPolicy", "tcptop-metrics");
    assert_eq!(
        np["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"].as_str(),
        Some("tcptop")
    );
    assert_eq!(strings(&np["spec"]["policyTypes"]), ["Ingress"]);
    let rules = np["spec"]["ingress"].as_vec().unwrap();
    assert_eq!(rules.len(), 1, "one way in");
    let from = rules[0]["from"].as_vec().unwrap();
    assert_eq!(from.len(), 1);
    assert_eq!(
        from[0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"].as_str(),
        Some("monitoring")
    );
    assert!(from[0]["podSelector"].is_badvalue() && from[0]["ipBlock"].is_badvalue());
    assert_eq!(rules[0]["ports"][0]["port"].as_str(), Some("metrics"));
}

#[test]
fn the_validator_rejects_a_misspelt_field() {
    if !have_validator() {
        return;
    }
    let good = fs::read_to_string(deploy_dir().join("tcptop.yaml")).unwrap();
    let bad = good.replace("readOnlyRootFilesystem", "readOnlyRootFileSystem");
    assert_ne!(good, bad);
    let path = std::env::temp_dir().join(format!("tcptop-bad-{}.yaml", std::process::id()));
    fs::write(&path, bad).unwrap();
    let (ok, text) = validate("1.35.0", std::slice::from_ref(&path));
    fs::remove_file(&path).unwrap();
    assert!(!ok, "a misspelt field passed:\n{text}");
    assert!(text.contains("readOnlyRootFileSystem"), "{text}");
}

#[test]
fn apply_order_creates_the_namespace_first_and_the_daemonset_last() {
    let docs = documents();
    assert_eq!(docs.first().unwrap().1["kind"].as_str(), Some("Namespace"));
    assert_eq!(docs.last().unwrap().1["kind"].as_str(), Some("DaemonSet"));
    for (file, d) in &docs {
        let kind = d["kind"].as_str().unwrap();
        if !matches!(kind, "Namespace" | "ClusterRole" | "ClusterRoleBinding") {
            assert_eq!(
                d["metadata"]["namespace"].as_str(),
                Some("tcptop"),
                "{file}"
            );
        }
    }
}

#[test]
fn rbac_is_read_only_on_pods_nodes_services_and_replicasets() {
    let docs = documents();
    let role = find(&docs, "ClusterRole", "tcptop");
    let rules = role["rules"].as_vec().unwrap();
    assert_eq!(rules.len(), 2);
    let want = [
        ("", vec!["nodes", "pods", "services"]),
        ("apps", vec!["replicasets"]),
    ];
    for (rule, (group, resources)) in rules.iter().zip(want) {
        assert_eq!(strings(&rule["apiGroups"]), [group]);
        assert_eq!(sorted(strings(&rule["resources"])), resources);
        assert_eq!(sorted(strings(&rule["verbs"])), ["get", "list", "watch"]);
    }
    let binding = find(&docs, "ClusterRoleBinding", "tcptop");
    assert_eq!(binding["roleRef"]["kind"].as_str(), Some("ClusterRole"));
    assert_eq!(binding["roleRef"]["name"].as_str(), Some("tcptop"));
    let subject = &binding["subjects"][0];
    assert_eq!(subject["kind"].as_str(), Some("ServiceAccount"));
    assert_eq!(subject["name"].as_str(), Some("tcptop"));
    assert_eq!(subject["namespace"].as_str(), Some("tcptop"));
    find(&docs, "ServiceAccount", "tcptop");
}

#[test]
fn daemonset_is_least_privilege_and_everywhere() {
    let docs = documents();
    let ds = find(&docs, "DaemonSet", "tcptop");
    let pod = &ds["spec"]["template"]["spec"];
    // The plugin finds pods by this label (plugin::SELECTOR) and container name.
    let label = "app.kubernetes.io/name";
    assert_eq!(
        ds["spec"]["selector"]["matchLabels"][label].as_str(),
        Some("tcptop")
    );
    assert_eq!(
        ds["spec"]["template"]["metadata"]["labels"][label].as_str(),
        Some("tcptop")
    );
    assert_eq!(pod["serviceAccountName"].as_str(), Some("tcptop"));
    for host in ["hostNetwork", "hostPID", "hostIPC"] {
        assert_ne!(pod[host].as_bool(), Some(true), "{host}");
    }
    // One volume, the daemon's socket directory: an emptyDir, so no hostPath.
    let volumes = pod["volumes"].as_vec().unwrap();
    assert_eq!(volumes.len(), 1);
    assert!(!volumes[0]["emptyDir"].is_badvalue(), "{:?}", volumes[0]);
    // Every taint tolerated: one toleration with operator Exists and no key.
    let tolerations = pod["tolerations"].as_vec().unwrap();
    assert!(tolerations
        .iter()
        .any(|t| t["operator"].as_str() == Some("Exists")
            && t["key"].is_badvalue()
            && t["effect"].is_badvalue()));
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"].as_str(),
        Some("RuntimeDefault")
    );

    let containers = pod["containers"].as_vec().unwrap();
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    assert_eq!(c["name"].as_str(), Some("tcptop"));
    assert_eq!(
        strings(&c["command"]),
        ["/usr/local/bin/tcptop", "--daemon"],
        "the image's binary path, as the node daemon"
    );
    let image = c["image"].as_str().unwrap();
    assert!(
        image.ends_with(&format!(":{VERSION}")),
        "{image} is not version {VERSION}"
    );
    assert_eq!(
        ds["metadata"]["labels"]["app.kubernetes.io/version"].as_str(),
        Some(VERSION)
    );

    let sc = &c["securityContext"];
    assert_eq!(sc["privileged"].as_bool(), Some(false));
    assert_eq!(sc["allowPrivilegeEscalation"].as_bool(), Some(false));
    assert_eq!(sc["readOnlyRootFilesystem"].as_bool(), Some(true));
    assert_eq!(strings(&sc["capabilities"]["drop"]), ["ALL"]);
    assert_eq!(
        sorted(strings(&sc["capabilities"]["add"])),
        ["BPF", "PERFMON"]
    );

    for kind in ["requests", "limits"] {
        for res in ["cpu", "memory"] {
            assert!(!c["resources"][kind][res].is_badvalue(), "{kind}.{res}");
        }
    }
    assert_eq!(
        c["volumeMounts"][0]["mountPath"].as_str(),
        Some("/run/tcptop"),
        "where the daemon's socket is (app::attach::DEFAULT_SOCKET)"
    );
    let env = c["env"].as_vec().unwrap();
    let node = env
        .iter()
        .find(|e| e["name"].as_str() == Some("NODE_NAME"))
        .expect("NODE_NAME");
    assert_eq!(
        node["valueFrom"]["fieldRef"]["fieldPath"].as_str(),
        Some("spec.nodeName")
    );
}

#[test]
fn the_service_backends_opt_in_adds_the_host_network_and_net_admin_only() {
    let path = deploy_dir().join("service-backends/patch.yaml");
    let text = fs::read_to_string(&path).unwrap();
    let patch = &YamlLoader::load_from_str(&text).unwrap()[0];
    let pod = &patch["spec"]["template"]["spec"];
    assert_eq!(pod["hostNetwork"].as_bool(), Some(true));
    assert_eq!(pod["dnsPolicy"].as_str(), Some("ClusterFirstWithHostNet"));
    let pod_keys: Vec<_> = pod.as_hash().unwrap().keys().collect();
    assert_eq!(pod_keys.len(), 3, "nothing else changes: {pod_keys:?}");
    let c = &pod["containers"][0];
    assert_eq!(
        c["name"].as_str(),
        Some("tcptop"),
        "merges by container name"
    );
    assert_eq!(
        sorted(strings(&c["securityContext"]["capabilities"]["add"])),
        ["BPF", "NET_ADMIN", "PERFMON"]
    );
    assert!(c["securityContext"]["privileged"].is_badvalue());
}
