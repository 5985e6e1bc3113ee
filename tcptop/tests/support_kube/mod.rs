//! An in-process Kubernetes API server for tests and benchmarks: it speaks the list and
//! watch protocol of the real one for pods, nodes and services (JSON lists with a
//! resourceVersion, paging with limit/continue, chunked watch streams of ADDED,
//! MODIFIED, DELETED, BOOKMARK and ERROR events, 410 Gone for a compacted history,
//! 403 and 401 Status objects) and counts every request. It can also go down and come
//! back on the same port, as an API server does in an outage.
#![allow(dead_code)] // Each test binary uses a different part.

pub mod attach;
mod http;
pub mod net;
pub mod objects;
pub mod pty;

use tcptop::attribution::kube::{Environment, KubeCache, KubeOptions};

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use serde_json::{json, Value};
use tokio::sync::{broadcast, oneshot, watch};

/// The kinds served, by their plural.
pub const KINDS: [&str; 4] = ["pods", "nodes", "services", "replicasets"];

/// One request the server answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// `pods`, `nodes`, `services`, `replicasets`, or the path of anything else.
    pub resource: String,
    /// `list` or `watch` (or `other`).
    pub verb: &'static str,
    /// The query string's parameters.
    pub query: BTreeMap<String, String>,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// Asked for metadata only (`Accept: ...;as=PartialObjectMetadataList`).
    pub meta_only: bool,
}

#[derive(Default)]
pub(crate) struct KindStore {
    pub(crate) objects: BTreeMap<String, Value>,
    pub(crate) log: Vec<(u64, Value)>,
}

/// The server's data; changes made through it are seen by lists and watches.
pub struct Store {
    pub(crate) rv: u64,
    pub(crate) kinds: HashMap<&'static str, KindStore>,
    /// Watches starting below this resourceVersion get 410 Gone.
    pub(crate) compacted_below: u64,
    pub(crate) forbidden: HashSet<(String, String)>,
    /// When set, requests whose `Authorization` does not start with it get 401.
    pub(crate) bearer: Option<String>,
    pub(crate) requests: Vec<Request>,
    pub(crate) events: broadcast::Sender<(&'static str, u64, Value)>,
    silent: bool,
}

fn plural_of(kind: &str) -> &'static str {
    KINDS
        .into_iter()
        .find(|k| *k == kind)
        .unwrap_or_else(|| panic!("unknown kind {kind}"))
}

fn key(obj: &Value) -> String {
    let m = &obj["metadata"];
    format!(
        "{}/{}",
        m["namespace"].as_str().unwrap_or(""),
        m["name"].as_str().expect("metadata.name")
    )
}

impl Store {
    fn record(&mut self, kind: &'static str, typ: &str, mut obj: Value) {
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        let k = key(&obj);
        let store = self.kinds.entry(kind).or_default();
        if typ == "DELETED" {
            store.objects.remove(&k);
        } else {
            store.objects.insert(k, obj.clone());
        }
        let ev = json!({"type": typ, "object": obj});
        store.log.push((self.rv, ev.clone()));
        if !self.silent {
            let _ = self.events.send((kind, self.rv, ev));
        }
    }

    /// Creates or replaces an object (ADDED or MODIFIED).
    pub fn apply(&mut self, kind: &str, obj: Value) {
        let kind = plural_of(kind);
        let exists = self
            .kinds
            .get(kind)
            .is_some_and(|s| s.objects.contains_key(&key(&obj)));
        self.record(kind, if exists { "MODIFIED" } else { "ADDED" }, obj);
    }

    /// Deletes an object by namespace (empty for nodes) and name (DELETED).
    pub fn delete(&mut self, kind: &str, namespace: &str, name: &str) {
        let kind = plural_of(kind);
        let obj = self
            .kinds
            .get(kind)
            .and_then(|s| s.objects.get(&format!("{namespace}/{name}")));
        if let Some(obj) = obj.cloned() {
            self.record(kind, "DELETED", obj);
        }
    }

    /// Objects of `kind` stored now.
    pub fn count(&self, kind: &str) -> usize {
        self.kinds
            .get(plural_of(kind))
            .map_or(0, |s| s.objects.len())
    }
}

/// A running fake API server.
pub struct FakeApi {
    store: Arc<Mutex<Store>>,
    addr: SocketAddr,
    kill: watch::Sender<u64>,
    server: tokio::task::JoinHandle<()>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.server.abort();
        self.kill.send_modify(|e| *e += 1);
    }
}

/// Serves `store` on `listener` until the returned sender fires (or is dropped).
fn serve(
    listener: tokio::net::TcpListener,
    store: Arc<Mutex<Store>>,
    kill: watch::Receiver<u64>,
) -> (tokio::task::JoinHandle<()>, oneshot::Sender<()>) {
    let (shutdown, down) = oneshot::channel::<()>();
    let app = http::router(store, kill);
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = down.await;
            })
            .await;
    });
    (server, shutdown)
}

impl FakeApi {
    /// Starts a server on a free port of 127.0.0.1.
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    /// Starts a server on `port` of 127.0.0.1 (0: any free one).
    pub async fn start_on(port: u16) -> Self {
        Self::start_at(SocketAddr::from(([127, 0, 0, 1], port))).await
    }

    /// Starts a server listening on `addr`, in the calling thread's network namespace.
    pub async fn start_at(addr: SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .expect("bind the fake API server");
        let addr = listener.local_addr().unwrap();
        let (events, _) = broadcast::channel(65536);
        let store = Arc::new(Mutex::new(Store {
            rv: 1000,
            kinds: HashMap::new(),
            compacted_below: 0,
            forbidden: HashSet::new(),
            bearer: None,
            requests: Vec::new(),
            events,
            silent: false,
        }));
        let (kill, kill_rx) = watch::channel(0);
        let (server, shutdown) = serve(listener, store.clone(), kill_rx);
        Self {
            store,
            addr,
            kill,
            server,
            shutdown: Some(shutdown),
        }
    }

    /// Goes down: stops accepting, ends every watch and waits (up to 10 s) until every
    /// connection is closed, so that clients get "connection refused" until
    /// [`FakeApi::resume`]. The data stays.
    pub async fn stop(&mut self) {
        drop(self.shutdown.take());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            // Again and again: a client may start a watch on a connection that has
            // not closed yet, which would hold the graceful shutdown for 290 s.
            self.kill.send_modify(|e| *e += 1);
            let wait = tokio::time::timeout(Duration::from_millis(50), &mut self.server);
            if wait.await.is_ok() {
                return;
            }
            if tokio::time::Instant::now() > deadline {
                self.server.abort();
                return;
            }
        }
    }

    /// Comes back on the same port with the same data.
    pub async fn resume(&mut self) {
        let listener = tokio::net::TcpListener::bind(self.addr)
            .await
            .expect("bind the fake API server again");
        let (server, shutdown) = serve(listener, self.store.clone(), self.kill.subscribe());
        self.server = server;
        self.shutdown = Some(shutdown);
    }

    /// A free port to start a server on later (nothing listens there now).
    pub fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    /// The server's URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Changes the data (each change is one watch event).
    pub fn with<R>(&self, f: impl FnOnce(&mut Store) -> R) -> R {
        f(&mut self.store.lock().unwrap())
    }

    /// A watch cache on this server, with a kubeconfig written into `dir`, once it has
    /// synced; fails after `limit`.
    pub async fn synced_cache(&self, dir: &Path, limit: Duration) -> KubeCache {
        let opts = KubeOptions {
            kubeconfig: Some(self.kubeconfig(dir)),
            ..Default::default()
        };
        let cache = KubeCache::start(&opts, &Environment::default())
            .await
            .unwrap();
        assert!(cache.wait_synced(limit).await, "{}", cache.status());
        cache
    }

    /// Adds one node, `node-a` in `zone-a` at 192.168.0.1, and one running pod on it,
    /// `shop/web-1` at 10.1.0.5.
    pub fn add_one_pod(&self) {
        self.with(|s| {
            s.apply("nodes", objects::node("node-a", "zone-a", &["192.168.0.1"]));
            let pod = objects::pod(
                "shop",
                "web-1",
                &objects::uid(1, 1),
                "node-a",
                &["10.1.0.5"],
                "Running",
            );
            s.apply("pods", pod);
        });
    }

    /// Makes `f`'s changes unseen by open watches, then compacts the history and ends
    /// every watch: clients resuming from their resourceVersion get 410 Gone and must
    /// relist to see the changes.
    pub fn gone_with(&self, f: impl FnOnce(&mut Store)) {
        let mut s = self.store.lock().unwrap();
        s.silent = true;
        f(&mut s);
        s.silent = false;
        s.compacted_below = s.rv;
        drop(s);
        self.kill.send_modify(|e| *e += 1);
    }

    /// Sends a BOOKMARK with the current resourceVersion on every open watch.
    pub fn bookmark(&self) {
        let s = self.store.lock().unwrap();
        for kind in KINDS {
            let obj = json!({"type": "BOOKMARK", "object": {
                "kind": objects::kind_name(kind), "apiVersion": objects::api_version(kind),
                "metadata": {"resourceVersion": s.rv.to_string()}}});
            let _ = s.events.send((kind, s.rv, obj));
        }
    }

    /// Answers `verb` (`list` or `watch`) on `resource` with 403 Forbidden.
    pub fn forbid(&self, resource: &str, verb: &str) {
        self.with(|s| s.forbidden.insert((resource.into(), verb.into())));
    }

    /// Answers 401 to requests whose `Authorization` header does not start with
    /// `prefix` (e.g. `Bearer plugin-`).
    pub fn require_bearer(&self, prefix: &str) {
        self.with(|s| s.bearer = Some(prefix.into()));
    }

    /// Lifts every [`FakeApi::forbid`].
    pub fn allow_all(&self) {
        self.with(|s| s.forbidden.clear());
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Request> {
        self.with(|s| s.requests.clone())
    }

    /// Loads a realistic fleet: `pods` pods, the fleet's nodes and `services` Services.
    pub fn load_fleet(&self, pods: u32, services: u32) {
        self.with(|s| {
            for n in 0..objects::FLEET_NODES {
                s.apply("nodes", objects::fleet_node(n));
            }
            for i in 0..pods {
                s.apply("pods", objects::fleet_pod(i));
            }
            for i in 0..services {
                s.apply("services", objects::fleet_service(i));
            }
        });
    }

    /// Writes a kubeconfig pointing at this server into `dir`.
    pub fn kubeconfig(&self, dir: &Path) -> PathBuf {
        objects::write_kubeconfig(dir, &[("fake", &self.url())], "fake")
    }
}
