//! End to end, as root: two processes in one network namespace, each in a cgroup named
//! as kubelet and containerd name a pod's container
//! (`kubepods-besteffort-pod<uid>.slice/cri-containerd-<id>.scope`), connect to a
//! server. The in-process API server lists both as hostNetwork pods on the node whose
//! IP the namespace has, so by IP both would be the node; by their sockets' cgroups
//! each is its own pod, with the connections and bytes (TCP_INFO, read by each
//! process) it made.
mod support_kube;

use std::{
    fs,
    io::{BufRead, BufReader},
    net::{SocketAddr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use serde_json::Value;
use support_kube::{
    net::{exchange, have_root, NetnsPair, TcpBytes},
    objects, FakeApi,
};

/// Set in a child run of this binary: connect to this address and report TCP_INFO.
const CHILD: &str = "TCPTOP_CGROUP_CHILD";
const CLIENT_BYTES: usize = 40_009;
const SERVER_BYTES: usize = 9_001;

/// The child's side: `n` connections to the address in `$TCPTOP_CGROUP_CHILD`, each
/// line of stdout one connection's `sent received`. Without it, nothing.
#[test]
fn cgroup_child() {
    let Ok(addr) = std::env::var(CHILD) else {
        return;
    };
    let (addr, n) = addr.split_once(',').unwrap();
    for _ in 0..n.parse::<usize>().unwrap() {
        let s = TcpStream::connect(addr.parse::<SocketAddr>().unwrap()).unwrap();
        let b = exchange(s, CLIENT_BYTES);
        println!("tcpinfo {} {}", b.sent, b.received);
    }
}

/// The cgroup v2 mount point.
fn cgroup2_root() -> PathBuf {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let line = info
        .lines()
        .find(|l| l.contains(" - cgroup2 "))
        .expect("a cgroup2 mount");
    PathBuf::from(line.split(' ').nth(4).unwrap())
}

/// A pod's container cgroup, as kubelet (systemd driver) and containerd name it;
/// removed on drop.
struct PodCgroup {
    dirs: Vec<PathBuf>,
}

impl PodCgroup {
    fn new(root: &Path, uid: &str, container: &str) -> Self {
        let pid = std::process::id();
        let qos = root.join(format!("tcptop-test-{pid}-kubepods-besteffort.slice"));
        let pod = qos.join(format!(
            "kubepods-besteffort-pod{}.slice",
            uid.replace('-', "_")
        ));
        let leaf = pod.join(format!("cri-containerd-{container}.scope"));
        fs::create_dir_all(&leaf).unwrap();
        Self {
            dirs: vec![leaf, pod, qos],
        }
    }

    fn procs(&self) -> PathBuf {
        self.dirs[0].join("cgroup.procs")
    }
}

impl Drop for PodCgroup {
    fn drop(&mut self) {
        for d in &self.dirs {
            let _ = fs::remove_dir(d);
        }
    }
}

/// Runs `n` connections to `server` from namespace `ns` in cgroup `cg`; returns their
/// TCP_INFO counters, summed.
fn connect_from(ns: &str, cg: &PodCgroup, server: SocketAddr, n: usize) -> TcpBytes {
    let exe = std::env::current_exe().unwrap();
    // Into the cgroup first: `ip netns exec` mounts a sysfs of its own, without it.
    let script = format!(
        "echo $$ > {} && exec ip netns exec {ns} {} --exact cgroup_child --nocapture \
         --test-threads 1",
        cg.procs().display(),
        exe.display()
    );
    let out = Command::new("sh")
        .args(["-c", &script])
        .env(CHILD, format!("{server},{n}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut sum = TcpBytes::default();
    let mut seen = 0;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        // The harness prints `test cgroup_child ... ` before the first line.
        if let Some((_, rest)) = line.split_once("tcpinfo ") {
            let (s, r) = rest.split_once(' ').unwrap();
            sum += TcpBytes {
                sent: s.parse().unwrap(),
                received: r.parse().unwrap(),
            };
            seen += 1;
        }
    }
    assert_eq!(seen, n, "{}", String::from_utf8_lossy(&out.stdout));
    sum
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_belong_to_the_pods_of_their_cgroups() {
    if !have_root() || std::env::var(CHILD).is_ok() {
        return;
    }
    let pair = NetnsPair::new("cg", 74);
    let root = cgroup2_root();
    let (uid_a, uid_b) = (objects::uid(0xc9, 1), objects::uid(0xc9, 2));
    let cg_a = PodCgroup::new(&root, &uid_a, &"a1".repeat(32));
    let cg_b = PodCgroup::new(&root, &uid_b, &"b2".repeat(32));
    let api = FakeApi::start().await;
    api.with(|s| {
        s.apply("nodes", objects::node("node-a", "zone-a", &[&pair.a4]));
        s.apply("nodes", objects::node("node-b", "zone-b", &[]));
        for (name, uid) in [("agent-a", &uid_a), ("agent-b", &uid_b)] {
            let pod = objects::pod("ops", name, uid, "node-a", &[&pair.a4], "Running");
            s.apply("pods", objects::host_network(pod));
        }
        let server = objects::pod(
            "srv",
            "server",
            &objects::uid(0xc9, 3),
            "node-b",
            &[&pair.b4],
            "Running",
        );
        s.apply("pods", server);
    });
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = api.kubeconfig(dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_tcptop"))
        .args(["--once", "--duration", "8s", "--output", "json"])
        .args(["--group-by", "namespace,pod"])
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tcptop");
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let attached = loop {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(l) if l.contains("attached") => break true,
            Ok(_) => {}
            Err(_) => break false,
        }
    };
    if !attached {
        let _ = child.kill();
        let _ = child.wait();
        panic!("tcptop never attached");
    }

    let server: SocketAddr = format!("{}:8080", pair.b4).parse().unwrap();
    let listener = NetnsPair::inside(&pair.b, || TcpListener::bind(server).unwrap());
    let accepts = std::thread::spawn(move || {
        for _ in 0..5 {
            let (s, _) = listener.accept().unwrap();
            exchange(s, SERVER_BYTES);
        }
    });
    let a = tokio::task::block_in_place(|| connect_from(&pair.a, &cg_a, server, 3));
    let b = tokio::task::block_in_place(|| connect_from(&pair.a, &cg_b, server, 2));
    accepts.join().unwrap();

    let out = tokio::task::block_in_place(|| child.wait_with_output()).unwrap();
    let stderr: Vec<String> = rx.try_iter().collect();
    assert!(out.status.success(), "tcptop failed: {stderr:?}");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    let rows = doc["rows"].as_array().unwrap();
    for (pod, n, want) in [("agent-a", 3, a), ("agent-b", 2, b)] {
        let r = rows
            .iter()
            .find(|r| r["local_pod"] == pod && r["peer_pod"] == "server")
            .unwrap_or_else(|| panic!("no row of {pod}: {rows:#?}"));
        assert_eq!(r["local_namespace"], "ops", "{r}");
        assert_eq!(r["connections"], n, "{r}");
        assert_eq!(r["bytes_sent"], want.sent, "{r}");
        assert_eq!(r["bytes_received"], want.received, "{r}");
    }
    // Nothing of theirs is left on the node.
    assert!(
        !rows
            .iter()
            .any(|r| r["local_pod"] == "node-a" && r["peer_pod"] == "server"),
        "{rows:#?}"
    );
}
