//! `kubectl tcptop NODE [TCPTOP FLAGS]`: finds the tcptop DaemonSet pod on a node and
//! runs tcptop in it with `kubectl exec`. [`select`] chooses the pod, [`kubectl`] is the
//! seam to the cluster; this file holds the plugin's flags, its errors, and the steps
//! from one to the other.
pub mod kubectl;
pub mod select;

use std::ffi::OsString;

use clap::{error::ErrorKind, CommandFactory, Parser};
use thiserror::Error;

use self::{
    kubectl::{Kubectl, Reply},
    select::SelectError,
};

/// The namespace `deploy/` installs tcptop into.
pub const NAMESPACE: &str = "tcptop";
/// The DaemonSet's name in `deploy/daemonset.yaml`.
pub const DAEMONSET: &str = "tcptop";
/// The container that runs tcptop.
pub const CONTAINER: &str = "tcptop";
/// The label selector matching the DaemonSet's pods.
pub const SELECTOR: &str = "app.kubernetes.io/name=tcptop";

/// Runs tcptop on a node through its tcptop DaemonSet pod: the interactive UI, or with
/// --once a snapshot (pipeable).
#[derive(Debug, Parser)]
#[command(
    name = "kubectl tcptop",
    bin_name = "kubectl tcptop",
    version,
    override_usage = "kubectl tcptop [OPTIONS] NODE [TCPTOP FLAGS]...",
    after_help = "Plugin options go before NODE; everything after NODE goes to tcptop.\n\nExamples:\n  kubectl tcptop node-1\n  kubectl tcptop node-1 --once --group-by pod --duration 10s\n  kubectl tcptop --context prod node-1 --help"
)]
struct RawArgs {
    /// Namespace tcptop is deployed in.
    #[arg(short, long, value_name = "NAMESPACE", default_value = NAMESPACE)]
    namespace: String,

    /// The kubeconfig context to use.
    #[arg(long, value_name = "CONTEXT")]
    context: Option<String>,

    /// Path of the kubeconfig file to use.
    #[arg(long, value_name = "PATH")]
    kubeconfig: Option<String>,

    /// The node to look at (see `kubectl get nodes`), then flags for tcptop, e.g.
    /// --once --group-by pod.
    // One list, so that the first value ends option parsing: `NODE --help` is tcptop's.
    #[arg(
        value_name = "NODE [TCPTOP FLAGS]",
        required = true,
        num_args = 1..,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    rest: Vec<String>,
}

/// The plugin's parsed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginArgs {
    /// Namespace tcptop is deployed in.
    pub namespace: String,
    /// The kubeconfig context, if given.
    pub context: Option<String>,
    /// The kubeconfig file, if given.
    pub kubeconfig: Option<String>,
    /// The node.
    pub node: String,
    /// Flags for tcptop in the pod.
    pub tcptop_args: Vec<String>,
}

impl PluginArgs {
    /// kubectl's own flags to put before every command.
    pub fn global_flags(&self) -> Vec<String> {
        let mut flags = Vec::new();
        if let Some(c) = &self.context {
            flags.extend(["--context".to_string(), c.clone()]);
        }
        if let Some(k) = &self.kubeconfig {
            flags.extend(["--kubeconfig".to_string(), k.clone()]);
        }
        flags
    }

    /// True when tcptop will run its terminal UI: not --once, --help or --version.
    pub fn interactive(&self) -> bool {
        !self
            .tcptop_args
            .iter()
            .any(|a| matches!(a.as_str(), "--once" | "-h" | "--help" | "-V" | "--version"))
    }
}

/// Parses the plugin's command line.
pub fn parse<I, T>(argv: I) -> Result<PluginArgs, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let raw = RawArgs::try_parse_from(argv)?;
    let mut rest = raw.rest.into_iter();
    let node = rest.next().unwrap_or_default();
    if node.starts_with('-') || node.is_empty() {
        return Err(RawArgs::command().error(
            ErrorKind::InvalidValue,
            format!(
                "'{node}' is not a node name: plugin options go before NODE, tcptop flags after it"
            ),
        ));
    }
    // `kubectl tcptop NODE -- FLAGS` is the kubectl idiom; tcptop takes no `--`.
    let mut tcptop_args: Vec<String> = rest.collect();
    if tcptop_args.first().is_some_and(|a| a == "--") {
        tcptop_args.remove(0);
    }
    Ok(PluginArgs {
        namespace: raw.namespace,
        context: raw.context,
        kubeconfig: raw.kubeconfig,
        node,
        tcptop_args,
    })
}

/// Why the plugin cannot exec tcptop. Each renders as one line saying what to do.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PluginError {
    /// No kubectl on PATH.
    #[error("kubectl not found on PATH: install kubectl, the plugin runs it")]
    KubectlMissing,
    /// The UI needs a terminal.
    #[error("no terminal: the tcptop UI needs one; run this from a terminal, or pass --once for a snapshot")]
    NoTerminal,
    /// The DaemonSet is not there.
    #[error("tcptop is not deployed: no DaemonSet {DAEMONSET} in namespace {0}; install it with `kubectl apply -k deploy/`, or pass -n NAMESPACE")]
    NoDaemonSet(String),
    /// The node is not there.
    #[error("node {0} not found: see `kubectl get nodes` for their names")]
    NoNode(String),
    /// The DaemonSet has no pod on the node.
    #[error("no tcptop pod on node {node}: the DaemonSet has not placed one there; see `kubectl -n {namespace} get pods -o wide -l {SELECTOR}`")]
    NoPodOnNode {
        /// The node.
        node: String,
        /// tcptop's namespace.
        namespace: String,
    },
    /// The pod on the node is not Running and Ready.
    #[error("tcptop pod {pod} on node {node} is {state}: wait for it, or see `kubectl -n {namespace} describe pod {pod}`")]
    NotReady {
        /// The pod.
        pod: String,
        /// The node.
        node: String,
        /// Its state.
        state: String,
        /// tcptop's namespace.
        namespace: String,
    },
    /// RBAC forbids listing pods.
    #[error("you may not list pods in namespace {0}: ask for a Role with get and list on pods there (`kubectl auth can-i list pods -n {0}`)")]
    NoListRbac(String),
    /// RBAC forbids exec.
    #[error("you may not exec into pods in namespace {0} (`kubectl auth can-i create pods/exec -n {0}` says no): ask for a Role with create on pods/exec there")]
    NoExecRbac(String),
    /// kubectl failed for another reason (no cluster, expired credentials...).
    #[error("kubectl failed: {0}")]
    Kubectl(String),
    /// kubectl printed something that is not a pod list.
    #[error("{0}")]
    BadPodList(String),
}

/// Checks everything that can be checked before exec, and returns the kubectl
/// arguments (after the global flags) that run tcptop in the chosen pod. `terminal`
/// says whether stdin and stdout are both terminals.
pub fn plan(
    k: &dyn Kubectl,
    args: &PluginArgs,
    terminal: bool,
) -> Result<Vec<String>, PluginError> {
    let interactive = args.interactive();
    if interactive && !terminal {
        return Err(PluginError::NoTerminal);
    }
    let pod = find_pod(k, args)?;
    check_exec_rbac(k, &args.namespace)?;
    Ok(exec_args(args, &pod, interactive))
}

/// Runs kubectl with string arguments.
fn run(k: &dyn Kubectl, args: &[&str]) -> Result<Reply, PluginError> {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    k.run(&args).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => PluginError::KubectlMissing,
        _ => PluginError::Kubectl(format!("cannot run kubectl: {e}")),
    })
}

/// The Running and Ready tcptop pod on the node, or why there is none.
pub fn find_pod(k: &dyn Kubectl, args: &PluginArgs) -> Result<String, PluginError> {
    let ns = args.namespace.as_str();
    let field = format!("spec.nodeName={}", args.node);
    let reply = run(
        k,
        &[
            "get",
            "pods",
            "-n",
            ns,
            "-l",
            SELECTOR,
            "--field-selector",
            &field,
            "-o",
            "json",
        ],
    )?;
    if reply.forbidden() {
        return Err(PluginError::NoListRbac(ns.into()));
    }
    if !reply.success {
        return Err(PluginError::Kubectl(reply.error_line()));
    }
    match select::choose(&reply.stdout, &args.node) {
        Ok(pod) => Ok(pod),
        Err(SelectError::NotReady { pod, state }) => Err(PluginError::NotReady {
            pod,
            node: args.node.clone(),
            state,
            namespace: ns.into(),
        }),
        Err(e @ SelectError::Parse(_)) => Err(PluginError::BadPodList(e.to_string())),
        Err(SelectError::NoPods) => Err(explain_no_pods(k, args)),
    }
}

/// No pod on the node: the DaemonSet is missing, the node is, or neither.
fn explain_no_pods(k: &dyn Kubectl, args: &PluginArgs) -> PluginError {
    let ns = args.namespace.as_str();
    match run(k, &["get", "daemonset", DAEMONSET, "-n", ns, "-o", "name"]) {
        Ok(r) if r.not_found() => return PluginError::NoDaemonSet(ns.into()),
        Err(e) => return e,
        Ok(_) => {}
    }
    match run(k, &["get", "node", &args.node, "-o", "name"]) {
        Ok(r) if r.not_found() => PluginError::NoNode(args.node.clone()),
        Err(e) => e,
        Ok(_) => PluginError::NoPodOnNode {
            node: args.node.clone(),
            namespace: ns.into(),
        },
    }
}

/// Fails only on a definite "no": if the question itself fails, exec will say why.
fn check_exec_rbac(k: &dyn Kubectl, ns: &str) -> Result<(), PluginError> {
    let reply = run(k, &["auth", "can-i", "create", "pods/exec", "-n", ns])?;
    if !reply.success && reply.stdout.trim_start().starts_with("no") {
        return Err(PluginError::NoExecRbac(ns.into()));
    }
    Ok(())
}

/// `exec [-i -t] -n NS POD -c tcptop -- tcptop ARGS...`: a TTY only for the UI, so a
/// --once snapshot can be piped.
pub fn exec_args(args: &PluginArgs, pod: &str, interactive: bool) -> Vec<String> {
    let mut v = vec!["exec".to_string()];
    if interactive {
        v.extend(["-i".to_string(), "-t".to_string()]);
    }
    v.extend(
        ["-n", &args.namespace, pod, "-c", CONTAINER, "--", "tcptop"]
            .iter()
            .map(|s| s.to_string()),
    );
    v.extend(args.tcptop_args.iter().cloned());
    v
}

#[cfg(test)]
mod tests;
