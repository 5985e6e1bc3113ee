//! End to end, as root, through kube-proxy's own iptables-nft rules. A "node" network
//! namespace routes between a client pod namespace and two backend pod namespaces, and
//! carries the NAT chains kube-proxy writes for one Service with two endpoints
//! (`KUBE-SERVICES` -> `KUBE-SVC-*` with the `statistic` match -> `KUBE-SEP-*` DNAT).
//! The in-process API server lists the pods (two zones) and the Service.
//!
//! Three `tcptop --once` runs watch the same connections at once:
//! - in the node namespace: every client row names the backend pod and zone that the
//!   servers' own accept logs say served it, with TCP_INFO's bytes, the Service, and
//!   the Deployment that owns the backends' ReplicaSet;
//! - there too, a connection to the node's IP on a port a hostNetwork pod declares is
//!   that pod's, and on another port the node's;
//! - in the node namespace without CAP_NET_ADMIN: the peer stays `svc/api`, and one
//!   line says why;
//! - in the client's namespace, which has no NAT: the same, with its own reason.
mod support_kube;

use std::{
    collections::HashMap,
    fs::File,
    io::Write,
    net::{SocketAddr, TcpListener, TcpStream},
    os::fd::AsRawFd,
    path::Path,
    process::{Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use serde_json::Value;
use support_kube::{
    attach::{self, Attached},
    net::{exchange, have_root, TcpBytes},
    objects, FakeApi,
};

const CLUSTER_IP: &str = "10.96.77.10";
const CONNECTIONS: usize = 24;
const CLIENT_BYTES: usize = 70_001;
const SERVER_BYTES: usize = 200_003;

/// kube-proxy's iptables-mode NAT rules for `shop/api` (port 80 -> 8080) with the
/// endpoints 10.77.2.2 and 10.77.3.2, as `iptables-save` prints them.
const KUBE_PROXY_RULES: &str = r#"*nat
:KUBE-SERVICES - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-SVC-ZL3ZGCE7GBMZ3ZDW - [0:0]
:KUBE-SEP-2UEQ4HHBQ6SXK3J2 - [0:0]
:KUBE-SEP-WJMG6ZQ7XW2IPYKD - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-SERVICES -d 10.96.77.10/32 -p tcp -m comment --comment "shop/api:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-ZL3ZGCE7GBMZ3ZDW
-A KUBE-SVC-ZL3ZGCE7GBMZ3ZDW ! -s 10.77.0.0/16 -d 10.96.77.10/32 -p tcp -m comment --comment "shop/api:http cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ
-A KUBE-SVC-ZL3ZGCE7GBMZ3ZDW -m comment --comment "shop/api:http -> 10.77.2.2:8080" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-2UEQ4HHBQ6SXK3J2
-A KUBE-SVC-ZL3ZGCE7GBMZ3ZDW -m comment --comment "shop/api:http -> 10.77.3.2:8080" -j KUBE-SEP-WJMG6ZQ7XW2IPYKD
-A KUBE-SEP-2UEQ4HHBQ6SXK3J2 -s 10.77.2.2/32 -m comment --comment "shop/api:http" -j KUBE-MARK-MASQ
-A KUBE-SEP-2UEQ4HHBQ6SXK3J2 -p tcp -m comment --comment "shop/api:http" -m tcp -j DNAT --to-destination 10.77.2.2:8080
-A KUBE-SEP-WJMG6ZQ7XW2IPYKD -s 10.77.3.2/32 -m comment --comment "shop/api:http" -j KUBE-MARK-MASQ
-A KUBE-SEP-WJMG6ZQ7XW2IPYKD -p tcp -m comment --comment "shop/api:http" -m tcp -j DNAT --to-destination 10.77.3.2:8080
COMMIT
"#;

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("run a network command");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn ip(args: &[&str]) {
    run(Command::new("ip").args(args));
}

/// The node namespace, the client's and the two backends', removed on drop.
struct Cluster {
    node: String,
    client: String,
    backends: [String; 2],
}

impl Cluster {
    fn new() -> Self {
        let pid = std::process::id();
        let name = |what: &str| format!("tcptop-svc-{what}-{pid}");
        let c = Self {
            node: name("node"),
            client: name("client"),
            backends: [name("api1"), name("api2")],
        };
        ip(&["netns", "add", &c.node]);
        ip(&["-n", &c.node, "link", "set", "lo", "up"]);
        let pods = [&c.client, &c.backends[0], &c.backends[1]];
        for (i, pod) in pods.into_iter().enumerate() {
            ip(&["netns", "add", pod]);
            let (inner, outer) = (format!("sv{i}p{pid}"), format!("sv{i}n{pid}"));
            ip(&[
                "link", "add", &inner, "netns", pod, "type", "veth", "peer", "name", &outer,
                "netns", &c.node,
            ]);
            let subnet = i + 1;
            ip(&["-n", pod, "link", "set", "lo", "up"]);
            ip(&[
                "-n",
                pod,
                "addr",
                "add",
                &format!("10.77.{subnet}.2/24"),
                "dev",
                &inner,
            ]);
            ip(&["-n", pod, "link", "set", &inner, "up"]);
            ip(&[
                "-n",
                pod,
                "route",
                "add",
                "default",
                "via",
                &format!("10.77.{subnet}.1"),
            ]);
            ip(&[
                "-n",
                &c.node,
                "addr",
                "add",
                &format!("10.77.{subnet}.1/24"),
                "dev",
                &outer,
            ]);
            ip(&["-n", &c.node, "link", "set", &outer, "up"]);
        }
        run(Command::new("ip")
            .args(["netns", "exec", &c.node, "sh", "-c"])
            .arg("echo 1 > /proc/sys/net/ipv4/ip_forward"));
        let mut restore = Command::new("ip")
            .args(["netns", "exec", &c.node, "iptables-nft-restore"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run iptables-nft-restore (iptables)");
        restore
            .stdin
            .take()
            .unwrap()
            .write_all(KUBE_PROXY_RULES.as_bytes())
            .unwrap();
        let out = restore.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "iptables-nft-restore: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        c
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for ns in [
            &self.node,
            &self.client,
            &self.backends[0],
            &self.backends[1],
        ] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// Runs `f` on a thread inside namespace `ns`.
fn inside<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            enter(ns);
            f()
        })
        .join()
        .expect("thread in netns")
    })
}

fn enter(ns: &str) {
    let file = File::open(format!("/var/run/netns/{ns}")).expect("open netns");
    // SAFETY: a valid namespace descriptor; only this thread moves.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns {ns}: {}", std::io::Error::last_os_error());
}

/// The API server, listening on every address of the node namespace, with the pods
/// and the Service; dropping the sender stops it.
fn api_in(node: &str, client_ns: &str) -> (u16, mpsc::Sender<()>) {
    let (url_tx, url_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let (node, client_ns) = (node.to_string(), client_ns.to_string());
    std::thread::spawn(move || {
        enter(&node);
        let rt = tokio::runtime::Runtime::new().unwrap();
        let api = rt.block_on(FakeApi::start_at("0.0.0.0:0".parse().unwrap()));
        api.with(|s| {
            s.apply("nodes", objects::node("node-a", "zone-a", &["10.77.1.1"]));
            s.apply("nodes", objects::node("node-b", "zone-b", &["10.77.9.1"]));
            let pods = [
                (&*client_ns, "client", "node-a", "10.77.1.2"),
                ("shop", "api-1", "node-a", "10.77.2.2"),
                ("shop", "api-2", "node-b", "10.77.3.2"),
            ];
            for (i, (ns, name, on, addr)) in pods.into_iter().enumerate() {
                let uid = objects::uid(0x5c, i as u32);
                s.apply("pods", objects::pod(ns, name, &uid, on, &[addr], "Running"));
            }
            // A hostNetwork agent on node-a that declares port 9100.
            let mut agent = objects::pod(
                "ops",
                "agent",
                &objects::uid(0x5c, 8),
                "node-a",
                &["10.77.1.1"],
                "Running",
            );
            agent["spec"]["containers"][0]["ports"] = serde_json::json!([{"containerPort": 9100}]);
            s.apply("pods", objects::host_network(agent));
            let svc = objects::service("shop", "api", &objects::uid(0x5c, 9), &[CLUSTER_IP]);
            s.apply("services", svc);
            // The backends' ReplicaSet (objects::pod names it `<namespace>-7d9f8b6c5`)
            // belongs to the Deployment `api`; the client's ReplicaSet is not listed.
            let rs = objects::replicaset("shop", "shop-7d9f8b6c5", "api");
            s.apply("replicasets", rs);
        });
        let port: u16 = api.url().rsplit(':').next().unwrap().parse().unwrap();
        url_tx.send(port).unwrap();
        rt.block_on(async {
            tokio::task::spawn_blocking(move || stop_rx.recv())
                .await
                .ok();
        });
        drop(api);
    });
    let port = url_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("API server up");
    (port, stop_tx)
}

/// `tcptop --once` in namespace `ns` (through `wrap`, a command prefix), talking to
/// the API server at `server`; returns it once it has attached.
fn tcptop(ns: &str, wrap: &[&str], kubeconfig: &Path) -> Attached {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns])
        .args(wrap)
        .arg(env!("CARGO_BIN_EXE_tcptop"))
        .args(["--once", "--duration", "12s", "--output", "json"])
        .args(["--group-by", "namespace,pod,az,service,workload,port"])
        .arg("--kubeconfig")
        .arg(kubeconfig);
    attach::start(cmd)
}

/// Waits for `run`; returns its rows and its stderr.
fn finish(run: Attached) -> (Vec<Value>, Vec<String>) {
    let (doc, stderr) = run.finish();
    (doc["rows"].as_array().unwrap().clone(), stderr)
}

/// The rows of the client pod toward the Service (the client namespace's own tcptop
/// also talks to the API server from the client's address).
fn client_rows(rows: &[Value]) -> Vec<&Value> {
    rows.iter()
        .filter(|r| r["local_pod"] == "client" && r["peer_service"] != "-")
        .collect()
}

#[test]
fn service_peers_are_the_backend_pods_that_served_them() {
    if !have_root() {
        return;
    }
    let cluster = Cluster::new();
    let client_ns = format!("svc-client-{}", std::process::id());
    let (port, _stop) = api_in(&cluster.node, &client_ns);
    let dir = tempfile::tempdir().unwrap();
    let cfg = |host: &str, file: &str| {
        let d = dir.path().join(file);
        std::fs::create_dir_all(&d).unwrap();
        objects::write_kubeconfig(&d, &[("fake", &format!("http://{host}:{port}"))], "fake")
    };
    let (on_node, no_admin, off_node) = (
        cfg("127.0.0.1", "node"),
        cfg("127.0.0.1", "no-admin"),
        cfg("10.77.1.1", "client"),
    );
    let runs = [
        tcptop(&cluster.node, &[], &on_node),
        tcptop(
            &cluster.node,
            &[
                "setpriv",
                "--inh-caps=-net_admin",
                "--bounding-set=-net_admin",
                "--",
            ],
            &no_admin,
        ),
        tcptop(&cluster.client, &[], &off_node),
    ];

    // The servers log each accepted client port; the client keeps TCP_INFO per port.
    let (log_tx, log_rx) = mpsc::channel();
    let servers: Vec<_> = cluster
        .backends
        .iter()
        .enumerate()
        .map(|(i, ns)| {
            let addr: SocketAddr = format!("10.77.{}.2:8080", i + 2).parse().unwrap();
            let listener = inside(ns, || TcpListener::bind(addr).unwrap());
            listener.set_nonblocking(true).unwrap();
            let log = log_tx.clone();
            std::thread::spawn(move || {
                let mut accepted = 0;
                let idle = std::time::Instant::now() + Duration::from_secs(20);
                while accepted < CONNECTIONS && std::time::Instant::now() < idle {
                    match listener.accept() {
                        Ok((s, from)) => {
                            s.set_nonblocking(false).unwrap();
                            log.send((from.port(), i)).unwrap();
                            exchange(s, SERVER_BYTES);
                            accepted += 1;
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(2)),
                    }
                }
            })
        })
        .collect();
    drop(log_tx);
    let svc: SocketAddr = format!("{CLUSTER_IP}:80").parse().unwrap();
    let clients: HashMap<u16, TcpBytes> = inside(&cluster.client, || {
        (0..CONNECTIONS)
            .map(|_| {
                let s = TcpStream::connect(svc).expect("connect through the Service");
                let port = s.local_addr().unwrap().port();
                (port, exchange(s, CLIENT_BYTES))
            })
            .collect()
    });
    drop(servers);
    // The node's own address: on the agent's declared port, and on another.
    let node_ports: Vec<TcpBytes> = [9100, 9101]
        .into_iter()
        .map(|port| {
            let addr = SocketAddr::from(([10, 77, 1, 1], port));
            let listener = inside(&cluster.node, || TcpListener::bind(addr).unwrap());
            let server = std::thread::spawn(move || exchange(listener.accept().unwrap().0, 999));
            let c = inside(&cluster.client, || {
                exchange(TcpStream::connect(addr).unwrap(), 777)
            });
            server.join().unwrap();
            c
        })
        .collect();
    let mut per_backend = [(0u64, TcpBytes::default()); 2];
    let mut logged = 0;
    while let Ok((port, backend)) = log_rx.recv_timeout(Duration::from_secs(5)) {
        per_backend[backend].0 += 1;
        per_backend[backend].1 += clients[&port];
        logged += 1;
        if logged == CONNECTIONS {
            break;
        }
    }
    assert_eq!(logged, CONNECTIONS, "accept logs");
    assert!(
        per_backend.iter().all(|(n, _)| *n > 0),
        "the statistic match sent every connection to one backend: {per_backend:?}"
    );

    let [on, without, off] = runs.map(finish);

    // In the node namespace: each backend's own row, exact.
    let rows = client_rows(&on.0);
    assert_eq!(rows.len(), 2, "{rows:#?}");
    for (i, (pod, az)) in [("api-1", "zone-a"), ("api-2", "zone-b")]
        .iter()
        .enumerate()
    {
        let r = rows
            .iter()
            .find(|r| r["peer_pod"] == *pod)
            .unwrap_or_else(|| panic!("no row toward {pod}: {rows:#?}"));
        let (n, bytes) = per_backend[i];
        assert_eq!(r["peer_namespace"], "shop", "{r}");
        assert_eq!(r["peer_az"], *az, "{r}");
        assert_eq!(r["peer_service"], "shop/api", "{r}");
        assert_eq!(r["local_service"], "-", "{r}");
        assert_eq!(r["peer_workload"], "Deployment/api", "{r}");
        assert_eq!(r["peer_port"], "8080", "the backend's port: {r}");
        assert_eq!(r["local_port"], "-", "{r}");
        let own = format!("ReplicaSet/{client_ns}-7d9f8b6c5");
        assert_eq!(r["local_workload"], *own, "{r}");
        assert_eq!(r["connections"], n, "{r}");
        assert_eq!(r["bytes_sent"], bytes.sent, "{r}");
        assert_eq!(r["bytes_received"], bytes.received, "{r}");
    }
    assert!(!on.1.iter().any(|l| l.contains("conntrack")), "{:?}", on.1);
    // On the node's IP: the hostNetwork pod that declares the port, else the node.
    let declared = [("9100", "ops", "agent"), ("9101", "node", "node-a")];
    for ((port, namespace, pod), bytes) in declared.into_iter().zip(&node_ports) {
        let r =
            on.0.iter()
                .find(|r| r["local_pod"] == "client" && r["peer_port"] == port)
                .unwrap_or_else(|| panic!("no row toward port {port}: {:#?}", on.0));
        assert_eq!(r["peer_namespace"], namespace, "{r}");
        assert_eq!(r["peer_pod"], pod, "{r}");
        assert_eq!(r["connections"], 1, "{r}");
        assert_eq!(r["bytes_sent"], bytes.sent, "{r}");
        assert_eq!(r["bytes_received"], bytes.received, "{r}");
    }

    // Without conntrack: the Service, and the reason.
    for ((rows, stderr), why) in [
        (&without, "no CAP_NET_ADMIN"),
        (&off, "node's network namespace"),
    ] {
        let rows = client_rows(rows);
        assert_eq!(rows.len(), 1, "{rows:#?}");
        assert_eq!(rows[0]["peer_pod"], "svc/api", "{}", rows[0]);
        assert_eq!(rows[0]["peer_service"], "shop/api", "{}", rows[0]);
        assert_eq!(
            rows[0]["peer_port"], "80",
            "the Service's port: {}",
            rows[0]
        );
        assert_eq!(rows[0]["connections"], CONNECTIONS, "{}", rows[0]);
        let lines: Vec<_> = stderr.iter().filter(|l| l.contains("conntrack")).collect();
        assert_eq!(lines.len(), 1, "{stderr:?}");
        assert!(lines[0].contains(why), "{lines:?}");
    }
}
