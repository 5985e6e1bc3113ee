//! End to end, as root: the real `tcptop --once --kubeconfig K --group-by namespace,az
//! --output json` against the in-process API server, with real TCP traffic between two
//! network namespaces whose addresses the server lists as pods in two zones. The
//! namespace/zone pairs must be right and the byte totals equal the kernel's TCP_INFO.
//! The credential plugin answers only after 2 s and the traffic is over before that:
//! what a window saw before the cache synced is labelled once it has.
mod support_kube;

use std::{
    net::{SocketAddr, TcpListener, TcpStream},
    process::Command,
};

use serde_json::Value;
use support_kube::{
    attach,
    net::{exchange, have_root, NetnsPair, TcpBytes},
    objects, FakeApi,
};

const CLIENT_BYTES: usize = 300_007;
const SERVER_BYTES: usize = 1_000_003;

/// One connection from `a` to `b` at `server`; returns (client, server) counters.
fn connection(pair: &NetnsPair, server: SocketAddr) -> (TcpBytes, TcpBytes) {
    let listener = NetnsPair::inside(&pair.b, || TcpListener::bind(server).unwrap());
    let accept = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        exchange(s, SERVER_BYTES)
    });
    let client = NetnsPair::inside(&pair.a, || TcpStream::connect(server).unwrap());
    let c = exchange(client, CLIENT_BYTES);
    (c, accept.join().unwrap())
}

fn row<'a>(rows: &'a [Value], local: [&str; 2], peer: [&str; 2]) -> Option<&'a Value> {
    rows.iter().find(|r| {
        r["local_namespace"] == local[0]
            && r["local_az"] == local[1]
            && r["peer_namespace"] == peer[0]
            && r["peer_az"] == peer[1]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_attributes_namespaces_and_zones_with_exact_bytes() {
    if !have_root() {
        return;
    }
    let pair = NetnsPair::new("ke", 17);
    let pid = std::process::id();
    let (client_ns, server_ns) = (format!("e2e-client-{pid}"), format!("e2e-server-{pid}"));
    let api = FakeApi::start().await;
    api.with(|s| {
        s.apply(
            "nodes",
            objects::node("e2e-node-a", "zone-a", &["192.168.231.1"]),
        );
        s.apply(
            "nodes",
            objects::node("e2e-node-b", "zone-b", &["192.168.231.2"]),
        );
        s.apply(
            "pods",
            objects::pod(
                &client_ns,
                "client",
                &objects::uid(7, 1),
                "e2e-node-a",
                &[&pair.a4, &pair.a6],
                "Running",
            ),
        );
        s.apply(
            "pods",
            objects::pod(
                &server_ns,
                "server",
                &objects::uid(7, 2),
                "e2e-node-b",
                &[&pair.b4, &pair.b6],
                "Running",
            ),
        );
    });
    let dir = tempfile::tempdir().unwrap();
    let _reaper = objects::PluginReaper(dir.path().to_path_buf());
    let plugin = objects::plugin(dir.path(), "cred-plugin", "2");
    let kubeconfig = objects::write_exec_kubeconfig(dir.path(), &api.url(), &plugin);

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tcptop"));
    cmd.args(["--once", "--duration", "6s", "--group-by", "namespace,az"])
        .args(["--output", "json"])
        .arg("--kubeconfig")
        .arg(&kubeconfig);
    // Traffic once the program is attached, which it is before the cache syncs.
    let run = attach::start(cmd);

    let mut client = TcpBytes::default();
    let mut server = TcpBytes::default();
    let targets = [
        SocketAddr::new(pair.b4.parse().unwrap(), 8080),
        SocketAddr::new(pair.b6.parse().unwrap(), 8080),
    ];
    for t in targets {
        let (c, s) = tokio::task::block_in_place(|| connection(&pair, t));
        client += c;
        server += s;
    }
    assert!(
        api.requests().is_empty(),
        "the cache had started listing before the traffic ended: the test proves nothing"
    );

    let (doc, stderr) = tokio::task::block_in_place(|| run.finish());
    assert!(
        stderr
            .iter()
            .any(|l| l == "tcptop: kubernetes: synced, 2 pods"),
        "{stderr:?}"
    );
    let rows = doc["rows"].as_array().unwrap().clone();

    let c = row(&rows, [&client_ns, "zone-a"], [&server_ns, "zone-b"])
        .unwrap_or_else(|| panic!("no client row in {rows:#?}"));
    let s = row(&rows, [&server_ns, "zone-b"], [&client_ns, "zone-a"])
        .unwrap_or_else(|| panic!("no server row in {rows:#?}"));
    for (r, want) in [(c, client), (s, server)] {
        assert_eq!(r["connections"], 2, "{r}");
        assert_eq!(r["bytes_sent"], want.sent, "{r}");
        assert_eq!(r["bytes_received"], want.received, "{r}");
    }
    // The oracle itself: payload plus the peer's FIN.
    assert!(client.sent >= 2 * CLIENT_BYTES as u64);
    assert_eq!(client.received, 2 * (SERVER_BYTES as u64 + 1));
    // Nothing of ours leaked into other rows.
    let ours = rows
        .iter()
        .filter(|r| {
            [&r["local_namespace"], &r["peer_namespace"]]
                .iter()
                .any(|v| v.as_str().is_some_and(|s| s == client_ns || s == server_ns))
        })
        .count();
    assert_eq!(ours, 2, "{rows:#?}");
}

/// Runs `tcptop --once` briefly with `args` and a clean environment; returns its exit
/// success and stderr.
fn once_stderr(args: &[&str], home: &std::path::Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tcptop"))
        .args(["--once", "--duration", "200ms", "--output", "json"])
        .args(args)
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env("HOME", home)
        .output()
        .expect("run tcptop");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn kube_line(stderr: &str) -> &str {
    let mut lines = stderr
        .lines()
        .filter(|l| l.starts_with("tcptop: kubernetes:"));
    let line = lines
        .next()
        .unwrap_or_else(|| panic!("no kubernetes line in {stderr:?}"));
    assert!(lines.next().is_none(), "one line only: {stderr:?}");
    line
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_says_why_labels_are_ip_level_and_still_succeeds() {
    if !have_root() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    // No configuration anywhere.
    let (ok, err) = tokio::task::block_in_place(|| once_stderr(&[], home.path()));
    assert!(ok, "{err}");
    assert!(kube_line(&err).contains("no kubeconfig"), "{err}");
    // --no-kube: silence.
    let (ok, err) = tokio::task::block_in_place(|| once_stderr(&["--no-kube"], home.path()));
    assert!(ok && !err.contains("kubernetes"), "{err}");
    // Unreachable: names the address.
    let port = FakeApi::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let kc = objects::write_kubeconfig(home.path(), &[("down", &url)], "down");
    let kc = kc.to_str().unwrap();
    let (ok, err) = tokio::task::block_in_place(|| once_stderr(&["--kubeconfig", kc], home.path()));
    assert!(ok, "{err}");
    let line = kube_line(&err);
    assert!(
        line.contains(&format!("127.0.0.1:{port}")) && line.contains("refused"),
        "{line}"
    );
    // Forbidden: names the permission.
    let api = FakeApi::start_on(port).await;
    api.forbid("pods", "list");
    let (ok, err) = tokio::task::block_in_place(|| once_stderr(&["--kubeconfig", kc], home.path()));
    assert!(ok, "{err}");
    assert!(
        kube_line(&err).contains("forbidden to list pods cluster-wide"),
        "{err}"
    );
    // A --context that is not there is a usage problem: one line, non-zero exit.
    let (ok, err) = tokio::task::block_in_place(|| {
        once_stderr(&["--kubeconfig", kc, "--context", "nope"], home.path())
    });
    assert!(!ok, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("nope") && err.contains("--no-kube"), "{err}");
}
