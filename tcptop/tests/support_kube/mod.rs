//! An in-process Kubernetes API server for tests and benchmarks: it speaks the list and
//! watch protocol of the real one for pods, nodes and services (JSON lists with a
//! resourceVersion, paging with limit/continue, chunked watch streams of ADDED,
//! MODIFIED, DELETED, BOOKMARK and ERROR events, 410 Gone for a compacted history,
//! 403 Status objects) and counts every request.
#![allow(dead_code)] // Each test binary uses a different part.

pub mod net;
pub mod objects;

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    convert::Infallible,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    body::{Body, Bytes},
    extract::{Path as UrlPath, Query, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use futures::{channel::mpsc, SinkExt};
use serde_json::{json, Value};
use tokio::sync::{broadcast, watch};

/// The kinds served, by their plural.
pub const KINDS: [&str; 3] = ["pods", "nodes", "services"];

/// One request the server answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// `pods`, `nodes`, `services`, or the path of anything else.
    pub resource: String,
    /// `list` or `watch` (or `other`).
    pub verb: &'static str,
    /// The query string's parameters.
    pub query: BTreeMap<String, String>,
}

#[derive(Default)]
struct KindStore {
    objects: BTreeMap<String, Value>,
    log: Vec<(u64, Value)>,
}

/// The server's data; changes made through it are seen by lists and watches.
pub struct Store {
    rv: u64,
    kinds: HashMap<&'static str, KindStore>,
    /// Watches starting below this resourceVersion get 410 Gone.
    compacted_below: u64,
    forbidden: HashSet<(String, String)>,
    requests: Vec<Request>,
    events: broadcast::Sender<(&'static str, u64, Value)>,
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
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.server.abort();
        self.kill.send_modify(|e| *e += 1);
    }
}

#[derive(Clone)]
struct App {
    store: Arc<Mutex<Store>>,
    kill: watch::Receiver<u64>,
}

impl FakeApi {
    /// Starts a server on a free port of 127.0.0.1.
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    /// Starts a server on `port` of 127.0.0.1 (0: any free one).
    pub async fn start_on(port: u16) -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind the fake API server");
        let addr = listener.local_addr().unwrap();
        let (events, _) = broadcast::channel(65536);
        let store = Arc::new(Mutex::new(Store {
            rv: 1000,
            kinds: HashMap::new(),
            compacted_below: 0,
            forbidden: HashSet::new(),
            requests: Vec::new(),
            events,
            silent: false,
        }));
        let (kill, kill_rx) = watch::channel(0);
        let app = Router::new()
            .route("/api/v1/{resource}", get(handle))
            .fallback(other)
            .with_state(App {
                store: store.clone(),
                kill: kill_rx,
            });
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            store,
            addr,
            kill,
            server,
        }
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
                "kind": objects::kind_name(kind), "apiVersion": "v1",
                "metadata": {"resourceVersion": s.rv.to_string()}}});
            let _ = s.events.send((kind, s.rv, obj));
        }
    }

    /// Answers `verb` (`list` or `watch`) on `resource` with 403 Forbidden.
    pub fn forbid(&self, resource: &str, verb: &str) {
        self.with(|s| s.forbidden.insert((resource.into(), verb.into())));
    }

    /// Lifts every [`FakeApi::forbid`].
    pub fn allow_all(&self) {
        self.with(|s| s.forbidden.clear());
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Request> {
        self.with(|s| s.requests.clone())
    }

    /// Writes a kubeconfig pointing at this server into `dir`.
    pub fn kubeconfig(&self, dir: &Path) -> PathBuf {
        objects::write_kubeconfig(dir, &[("fake", &self.url())], "fake")
    }
}

fn status(code: StatusCode, reason: &str, message: String) -> Response {
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": reason, "code": code.as_u16()});
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn other(State(app): State<App>, uri: axum::http::Uri) -> Response {
    app.store.lock().unwrap().requests.push(Request {
        resource: uri.path().to_string(),
        verb: "other",
        query: BTreeMap::new(),
    });
    status(
        StatusCode::NOT_FOUND,
        "NotFound",
        format!("{} not found", uri.path()),
    )
}

async fn handle(
    State(app): State<App>,
    UrlPath(resource): UrlPath<String>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    let watching = matches!(q.get("watch").map(String::as_str), Some("true" | "1"));
    let verb = if watching { "watch" } else { "list" };
    let mut s = app.store.lock().unwrap();
    s.requests.push(Request {
        resource: resource.clone(),
        verb,
        query: q.clone(),
    });
    let Some(kind) = KINDS.into_iter().find(|k| *k == resource) else {
        return status(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("{resource} not found"),
        );
    };
    if s.forbidden.contains(&(resource.clone(), verb.to_string())) {
        let msg = format!(
            "{resource} is forbidden: User \"system:serviceaccount:tcptop:tcptop\" cannot \
             {verb} resource \"{resource}\" in API group \"\" at the cluster scope"
        );
        return status(StatusCode::FORBIDDEN, "Forbidden", msg);
    }
    if watching {
        watch_response(&mut s, kind, &q, app.kill.clone())
    } else {
        list_response(&s, kind, &q)
    }
}

fn list_response(s: &Store, kind: &'static str, q: &BTreeMap<String, String>) -> Response {
    if q.contains_key("continue") && q.contains_key("resourceVersion") {
        return status(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "specifying resource version is not allowed when using continue".into(),
        );
    }
    // The continue token carries the list's resourceVersion and the last key sent.
    let (list_rv, after) = match q.get("continue") {
        Some(tok) => {
            let (rv, k) = tok.split_once(':').unwrap_or(("0", ""));
            (rv.parse().unwrap_or(s.rv), Some(k.to_string()))
        }
        None => (s.rv, None),
    };
    let limit: usize = q
        .get("limit")
        .and_then(|l| l.parse().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX);
    let empty = KindStore::default();
    let store = s.kinds.get(kind).unwrap_or(&empty);
    let range = match &after {
        Some(k) => store.objects.range::<String, _>((
            std::ops::Bound::Excluded(k.clone()),
            std::ops::Bound::Unbounded,
        )),
        None => store.objects.range::<String, _>(..),
    };
    let mut items = Vec::new();
    let mut last = None;
    let mut more = false;
    for (k, v) in range {
        if items.len() == limit {
            more = true;
            break;
        }
        items.push(v);
        last = Some(k);
    }
    let mut meta = json!({"resourceVersion": list_rv.to_string()});
    if more {
        meta["continue"] = json!(format!("{list_rv}:{}", last.unwrap()));
    }
    let body = json!({"kind": format!("{}List", objects::kind_name(kind)), "apiVersion": "v1",
        "metadata": meta, "items": items});
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn line(v: &Value) -> Result<Bytes, Infallible> {
    let mut b = serde_json::to_vec(v).unwrap();
    b.push(b'\n');
    Ok(Bytes::from(b))
}

fn watch_response(
    s: &mut Store,
    kind: &'static str,
    q: &BTreeMap<String, String>,
    mut kill: watch::Receiver<u64>,
) -> Response {
    let from: u64 = q
        .get("resourceVersion")
        .and_then(|r| r.parse().ok())
        .unwrap_or(0);
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|t| t.parse().ok())
        .map_or(Duration::from_secs(1800), Duration::from_secs);
    let (mut tx, rx) = mpsc::channel::<Result<Bytes, Infallible>>(1024);
    let mut backlog = Vec::new();
    if from != 0 && from < s.compacted_below {
        backlog.push(
            json!({"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1",
            "metadata": {}, "status": "Failure", "reason": "Expired", "code": 410,
            "message": format!("too old resource version: {from} ({})", s.compacted_below)}}),
        );
        let body = Body::from_stream(futures::stream::iter(
            backlog.iter().map(line).collect::<Vec<_>>(),
        ));
        return ([(header::CONTENT_TYPE, "application/json")], body).into_response();
    }
    if let Some(store) = s.kinds.get(kind) {
        backlog.extend(
            store
                .log
                .iter()
                .filter(|(rv, _)| *rv > from)
                .map(|(_, e)| e.clone()),
        );
    }
    let mut events = s.events.subscribe();
    let seen = s.rv;
    kill.mark_unchanged();
    tokio::spawn(async move {
        for ev in &backlog {
            if tx.send(line(ev)).await.is_err() {
                return;
            }
        }
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                ev = events.recv() => match ev {
                    // Events after `seen` only: the backlog had the rest.
                    Ok((k, rv, ev)) if k == kind && (rv > seen || ev["type"] == "BOOKMARK") => {
                        if tx.send(line(&ev)).await.is_err() { return; }
                    }
                    Ok(_) => {}
                    Err(_) => return,
                },
                _ = kill.changed() => return,
                _ = &mut deadline => return,
            }
        }
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(rx),
    )
        .into_response()
}
