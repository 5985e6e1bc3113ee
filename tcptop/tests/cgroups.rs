//! End to end, as root: two processes in one network namespace, each in a cgroup named
//! as kubelet and containerd name a pod's container
//! (`kubepods-besteffort-pod<uid>.slice/cri-containerd-<id>.scope`), connect to a
//! server. The in-process API server lists both as hostNetwork pods on the node whose
//! IP the namespace has, so by IP both would be the node; by their sockets' cgroups
//! each is its own pod, with the connections and bytes (TCP_INFO, read by each
//! process) it made, and the name of the process that made them. One of B's sockets
//! opened before tcptop started, so only the live walk saw its process: its close
//! still counts under that name, in the same row.
mod support_kube;

use std::{
    fs,
    io::{Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use support_kube::{
    attach,
    net::{exchange, have_root, NetnsPair, TcpBytes},
    objects, FakeApi,
};

/// Set in a child run of this binary: connect to this address and report TCP_INFO.
const CHILD: &str = "TCPTOP_CGROUP_CHILD";
const CLIENT_BYTES: usize = 40_009;
const SERVER_BYTES: usize = 9_001;

/// The child's side: `n` connections to the address in `$TCPTOP_CGROUP_CHILD`
/// (`addr,n`, or `addr,n,hold` to wait 4 s between connecting and sending), each line
/// of stdout one connection's `sent received`. Without it, nothing.
#[test]
fn cgroup_child() {
    let Ok(spec) = std::env::var(CHILD) else {
        return;
    };
    let mut parts = spec.split(',');
    let addr: SocketAddr = parts.next().unwrap().parse().unwrap();
    let n: usize = parts.next().unwrap().parse().unwrap();
    let hold = parts.next() == Some("hold");
    for _ in 0..n {
        let s = TcpStream::connect(addr).unwrap();
        if hold {
            std::thread::sleep(Duration::from_secs(4));
        }
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

/// Starts this binary as a child in namespace `ns` and cgroup `cg`, its connections
/// made as `spec` says (see [`cgroup_child`]).
fn spawn_in(ns: &str, cg: &PodCgroup, spec: &str) -> Child {
    let exe = std::env::current_exe().unwrap();
    // Into the cgroup first: `ip netns exec` mounts a sysfs of its own, without it.
    let script = format!(
        "echo $$ > {} && exec ip netns exec {ns} {} --exact cgroup_child --nocapture \
         --test-threads 1",
        cg.procs().display(),
        exe.display()
    );
    Command::new("sh")
        .args(["-c", &script])
        .env(CHILD, spec)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for a child that makes `n` connections; returns their TCP_INFO counters,
/// summed.
fn counters(c: Child, n: usize) -> TcpBytes {
    let out = c.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut sum = TcpBytes::default();
    let mut seen = 0;
    for line in stdout.lines() {
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
    assert_eq!(seen, n, "{stdout}");
    sum
}

/// The name the kernel gives this binary's process: its file name, 15 bytes at most.
fn comm() -> String {
    let exe = std::env::current_exe().unwrap();
    let name = exe.file_name().unwrap().to_string_lossy().into_owned();
    name.chars().take(15).collect()
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
    let server: SocketAddr = format!("{}:8080", pair.b4).parse().unwrap();
    let listener = NetnsPair::inside(&pair.b, || TcpListener::bind(server).unwrap());
    let (accepted, accepts_rx) = mpsc::channel();
    let accepts = std::thread::spawn(move || {
        for i in 0..6 {
            let (mut s, _) = listener.accept().unwrap();
            accepted.send(()).unwrap();
            if i == 0 {
                // The held one: nothing moves before the client sends, so all of it
                // happens after tcptop's first pass found the socket open.
                std::io::copy(&mut s.try_clone().unwrap(), &mut std::io::sink()).unwrap();
                s.write_all(&[0x5a; SERVER_BYTES]).unwrap();
                s.shutdown(std::net::Shutdown::Write).unwrap();
                let _ = s.read(&mut [0; 1]);
            } else {
                exchange(s, SERVER_BYTES);
            }
        }
    });
    // Opened before tcptop starts: only the live walk sees who holds it.
    let held = spawn_in(&pair.a, &cg_b, &format!("{server},1,hold"));
    if accepts_rx.recv_timeout(Duration::from_secs(10)).is_err() {
        let out = held.wait_with_output().unwrap();
        panic!(
            "the held connection was not made: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = api.kubeconfig(dir.path());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tcptop"));
    cmd.args(["--once", "--duration", "8s", "--output", "json"])
        .args(["--group-by", "namespace,pod,process"])
        .arg("--kubeconfig")
        .arg(&kubeconfig);
    let run = attach::start(cmd);

    let (a, mut b) = tokio::task::block_in_place(|| {
        let a = spawn_in(&pair.a, &cg_a, &format!("{server},3"));
        let b = spawn_in(&pair.a, &cg_b, &format!("{server},2"));
        (counters(a, 3), counters(b, 2))
    });
    b += tokio::task::block_in_place(|| counters(held, 1));
    accepts.join().unwrap();

    let (doc, _) = tokio::task::block_in_place(|| run.finish());
    let rows = doc["rows"].as_array().unwrap();
    for (pod, n, want) in [("agent-a", 3, a), ("agent-b", 3, b)] {
        let theirs: Vec<_> = rows
            .iter()
            .filter(|r| r["local_pod"] == pod && r["peer_pod"] == "server")
            .collect();
        assert_eq!(theirs.len(), 1, "one process, one row: {theirs:#?}");
        let r = theirs[0];
        assert_eq!(r["local_namespace"], "ops", "{r}");
        assert_eq!(r["local_process"], *comm(), "{r}");
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
