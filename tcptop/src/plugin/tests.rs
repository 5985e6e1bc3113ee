//! The plugin's steps against a scripted kubectl.
use std::{cell::RefCell, io};

use serde_json::json;

use super::{kubectl::Reply, *};

/// Answers kubectl commands by their first words; records every command.
#[derive(Default)]
struct FakeKubectl {
    answers: Vec<(&'static str, Reply)>,
    missing: bool,
    calls: RefCell<Vec<String>>,
}

impl FakeKubectl {
    fn on(mut self, prefix: &'static str, success: bool, stdout: &str, stderr: &str) -> Self {
        self.answers.push((
            prefix,
            Reply {
                success,
                stdout: stdout.into(),
                stderr: stderr.into(),
            },
        ));
        self
    }

    fn calls(&self) -> Vec<String> {
        self.calls.borrow().clone()
    }
}

impl Kubectl for FakeKubectl {
    fn run(&self, args: &[String]) -> io::Result<Reply> {
        if self.missing {
            return Err(io::Error::from(io::ErrorKind::NotFound));
        }
        let line = args.join(" ");
        self.calls.borrow_mut().push(line.clone());
        Ok(self
            .answers
            .iter()
            .find(|(p, _)| line.starts_with(p))
            .map(|(_, r)| r.clone())
            .unwrap_or_else(|| panic!("unexpected kubectl {line}")))
    }
}

fn args(argv: &[&str]) -> PluginArgs {
    parse(std::iter::once("kubectl-tcptop").chain(argv.iter().copied())).unwrap()
}

fn pods(items: serde_json::Value) -> String {
    json!({"kind": "List", "items": items}).to_string()
}

/// kubectl that lists one Ready tcptop pod, tcptop-abc on node-1.
fn one_ready_pod() -> FakeKubectl {
    FakeKubectl::default().on(
        "get pods",
        true,
        &pods(json!([ready_pod("tcptop-abc", "node-1")])),
        "",
    )
}

fn ready_pod(name: &str, node: &str) -> serde_json::Value {
    json!({
        "metadata": {"name": name, "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"nodeName": node},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
    })
}

const NOT_FOUND_DS: &str = "Error from server (NotFound): daemonsets.apps \"tcptop\" not found\n";
const NOT_FOUND_NODE: &str = "Error from server (NotFound): nodes \"node-9\" not found\n";

#[test]
fn flags_before_and_after_the_node() {
    let a = args(&[
        "--context",
        "prod",
        "-n",
        "observability",
        "node-1",
        "--once",
        "--group-by",
        "pod",
        "--help",
    ]);
    assert_eq!(a.node, "node-1");
    assert_eq!(a.namespace, "observability");
    assert_eq!(a.tcptop_args, ["--once", "--group-by", "pod", "--help"]);
    assert_eq!(a.global_flags(), ["--context", "prod"]);
    assert!(!a.interactive());
    let a = args(&["node-1", "--", "--sort", "retransmits"]);
    assert_eq!(a.tcptop_args, ["--sort", "retransmits"]);
    assert!(a.interactive());
    assert_eq!(a.namespace, NAMESPACE);
    assert!(parse(["kubectl-tcptop"]).is_err(), "NODE is required");
}

#[test]
fn everything_after_the_node_is_tcptops() {
    let a = args(&["node-1", "--help"]);
    assert_eq!(a.tcptop_args, ["--help"]);
    assert!(!a.interactive());
    let a = args(&["node-1", "-n", "x", "--version"]);
    assert_eq!((a.namespace.as_str(), a.tcptop_args.len()), (NAMESPACE, 3));
}

#[test]
fn a_flag_where_the_node_belongs_is_a_usage_error() {
    let argv = ["kubectl-tcptop", "--once", "node-1"];
    let err = parse(argv).unwrap_err().render().to_string();
    assert!(
        err.contains("--once") && err.contains("before NODE"),
        "{err}"
    );
}

#[test]
fn execs_the_ui_with_a_tty() {
    let k = one_ready_pod().on("auth can-i", true, "yes\n", "");
    let plan = plan(&k, &args(&["node-1", "--group-by", "pod"]), true).unwrap();
    assert_eq!(
        plan.join(" "),
        "exec -i -t -n tcptop tcptop-abc -c tcptop -- tcptop --group-by pod"
    );
    assert_eq!(
        k.calls(),
        [
            "get pods -n tcptop -l app.kubernetes.io/name=tcptop --field-selector spec.nodeName=node-1 -o json",
            "auth can-i create pods/exec -n tcptop",
        ]
    );
}

#[test]
fn once_passes_through_without_a_tty() {
    let k = one_ready_pod().on("auth can-i", true, "yes\n", "");
    let plan = plan(&k, &args(&["node-1", "--once", "--output", "json"]), false).unwrap();
    assert_eq!(
        plan.join(" "),
        "exec -n tcptop tcptop-abc -c tcptop -- tcptop --once --output json"
    );
}

#[test]
fn the_ui_without_a_terminal_fails_before_asking_the_cluster() {
    let k = FakeKubectl::default();
    assert_eq!(
        plan(&k, &args(&["node-1"]), false).unwrap_err(),
        PluginError::NoTerminal
    );
    assert!(k.calls().is_empty());
}

#[test]
fn missing_daemonset() {
    let k = FakeKubectl::default()
        .on("get pods", true, &pods(json!([])), "")
        .on("get daemonset", false, "", NOT_FOUND_DS);
    let err = plan(&k, &args(&["node-1", "--once"]), false).unwrap_err();
    assert_eq!(err, PluginError::NoDaemonSet("tcptop".into()));
    assert!(err.to_string().contains("kubectl apply -k deploy/"));
}

#[test]
fn missing_node() {
    let k = FakeKubectl::default()
        .on("get pods", true, &pods(json!([])), "")
        .on("get daemonset", true, "daemonset.apps/tcptop\n", "")
        .on("get node node-9", false, "", NOT_FOUND_NODE);
    let err = plan(&k, &args(&["node-9", "--once"]), false).unwrap_err();
    assert_eq!(err, PluginError::NoNode("node-9".into()));
    assert!(err.to_string().contains("kubectl get nodes"));
}

#[test]
fn node_without_a_pod() {
    let k = FakeKubectl::default()
        .on(
            "get pods",
            true,
            &pods(json!([ready_pod("tcptop-x", "node-2")])),
            "",
        )
        .on("get daemonset", true, "daemonset.apps/tcptop\n", "")
        .on("get node", true, "node/node-1\n", "");
    let err = plan(&k, &args(&["node-1", "--once"]), false).unwrap_err();
    assert!(matches!(err, PluginError::NoPodOnNode { .. }), "{err}");
}

#[test]
fn pod_not_ready() {
    let pending = json!({
        "metadata": {"name": "tcptop-p", "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"nodeName": "node-1"},
        "status": {"phase": "Pending", "containerStatuses": [{"state": {"waiting": {"reason": "ImagePullBackOff"}}}]},
    });
    let k = FakeKubectl::default().on("get pods", true, &pods(json!([pending])), "");
    let err = plan(&k, &args(&["node-1", "--once"]), false).unwrap_err();
    assert_eq!(
        err.to_string(),
        "tcptop pod tcptop-p on node node-1 is Pending (ImagePullBackOff): wait for it, or see `kubectl -n tcptop describe pod tcptop-p`"
    );
}

#[test]
fn no_rbac_to_exec() {
    let k = one_ready_pod().on("auth can-i", false, "no\n", "");
    let err = plan(&k, &args(&["-n", "obs", "node-1", "--once"]), false).unwrap_err();
    assert_eq!(err, PluginError::NoExecRbac("obs".into()));
    assert!(err
        .to_string()
        .contains("kubectl auth can-i create pods/exec -n obs"));
}

#[test]
fn an_unanswerable_rbac_question_does_not_block() {
    let k = one_ready_pod().on(
        "auth can-i",
        false,
        "",
        "error: the server doesn't have a resource type\n",
    );
    assert!(plan(&k, &args(&["node-1", "--once"]), false).is_ok());
}

#[test]
fn no_rbac_to_list_pods() {
    let k = FakeKubectl::default().on(
        "get pods",
        false,
        "",
        "Error from server (Forbidden): pods is forbidden: User \"bob\" cannot list resource \"pods\"\n",
    );
    let err = plan(&k, &args(&["node-1", "--once"]), false).unwrap_err();
    assert_eq!(err, PluginError::NoListRbac("tcptop".into()));
}

#[test]
fn unreachable_cluster_and_missing_kubectl() {
    let k = FakeKubectl::default().on(
        "get pods",
        false,
        "",
        "E0101 memcache.go:265] couldn't get current server API group list\nThe connection to the server localhost:8080 was refused - did you specify the right host or port?\n",
    );
    let err = plan(&k, &args(&["node-1", "--once"]), false).unwrap_err();
    assert!(matches!(err, PluginError::Kubectl(_)), "{err}");
    assert!(!err.to_string().contains('\n'));
    let k = FakeKubectl {
        missing: true,
        ..Default::default()
    };
    assert_eq!(
        plan(&k, &args(&["node-1", "--once"]), false).unwrap_err(),
        PluginError::KubectlMissing
    );
}

#[test]
fn every_error_is_one_line() {
    let errors = [
        PluginError::KubectlMissing,
        PluginError::NoTerminal,
        PluginError::NoDaemonSet("tcptop".into()),
        PluginError::NoNode("n".into()),
        PluginError::NoPodOnNode {
            node: "n".into(),
            namespace: "tcptop".into(),
        },
        PluginError::NoListRbac("tcptop".into()),
        PluginError::NoExecRbac("tcptop".into()),
    ];
    for e in errors {
        assert!(!e.to_string().contains('\n'), "{e}");
    }
}
