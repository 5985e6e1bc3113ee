//! The watch side: one kube-runtime watcher (paged list from the API server's watch
//! cache, then a watch; 410 Gone relists; errors back off) per kind, feeding the
//! shared [`Index`], plus a janitor that expires tombstones and refreshes the status.
//! [`Shared`] is all that the watchers, the client's middleware and the resolver share.
use std::{
    fmt::Debug,
    sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard},
    time::{Duration, Instant},
};

use futures::{Stream, StreamExt};
use k8s_openapi::api::{
    apps::v1::ReplicaSet,
    core::v1::{Node, Pod, Service},
};
use kube::{
    core::PartialObjectMeta,
    runtime::{watcher, WatchStreamExt},
    Api, Client, Resource, ResourceExt,
};
use serde::de::DeserializeOwned;
use tokio::{sync::watch, task::JoinSet};

use super::{
    index::{Index, Kind},
    records::{node_record, pod_record, replicaset_record, service_record, ZoneLabels},
    status::{classify, summarize, Failure, Health, KubeStatus, Setup},
};

/// Objects per list page (client-go's default).
pub const PAGE_SIZE: u32 = 500;

/// How often tombstones are expired and the status (pod count, plugin time) refreshed.
const JANITOR_PERIOD: Duration = Duration::from_secs(1);

/// State shared by the watch tasks, the client and the resolver.
#[derive(Debug)]
pub struct Shared {
    index: RwLock<Index>,
    health: Mutex<Health>,
    status: watch::Sender<KubeStatus>,
    server: String,
    zones: ZoneLabels,
}

impl Shared {
    /// Fresh state for the API server at `server`.
    pub fn new(server: String, zones: ZoneLabels) -> Self {
        let status = KubeStatus::Connecting {
            server: server.clone(),
            plugin: None,
        };
        Self {
            index: RwLock::new(Index::new()),
            health: Mutex::new(Health::default()),
            status: watch::Sender::new(status),
            server,
            zones,
        }
    }

    /// The index, for reading (a poisoned lock is still read: the data is only ever
    /// updated whole, entry by entry).
    pub fn read(&self) -> RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn health(&self) -> MutexGuard<'_, Health> {
        self.health.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Status changes, for waiting and for the UI header.
    pub fn subscribe(&self) -> watch::Receiver<KubeStatus> {
        self.status.subscribe()
    }

    /// Changes the health with `f`, which says whether it changed anything; if it did,
    /// the status and the index's currency follow. Never called with the index locked.
    fn update(&self, f: impl FnOnce(&mut Health) -> bool) {
        let mut h = self.health();
        if f(&mut h) {
            self.publish(&h);
        }
    }

    /// A request about `kind` was accepted, or an event of it arrived: its failure,
    /// if any, is over.
    pub fn accepted(&self, kind: Kind) {
        self.update(|h| h.kinds[kind as usize].failure.take().is_some());
    }

    fn failed(&self, kind: Kind, f: Failure) {
        self.update(|h| {
            let slot = &mut h.kinds[kind as usize].failure;
            let changed = slot.as_ref() != Some(&f);
            *slot = Some(f);
            changed
        });
    }

    fn listed(&self, kind: Kind) {
        self.update(|h| {
            let k = &mut h.kinds[kind as usize];
            let changed = !k.listed || k.failure.is_some();
            k.listed = true;
            k.failure = None;
            changed
        });
    }

    /// Where the client's setup is (credentials, then the client).
    pub fn set_setup(&self, setup: Setup) {
        self.update(|h| {
            let changed = h.setup != setup;
            h.setup = setup;
            changed
        });
    }

    /// The credential plugin `command` is running and no credential is in hand; a
    /// plugin already running keeps its start time.
    pub fn plugin_started(&self, command: &str) {
        self.update(|h| {
            if matches!(&h.setup, Setup::Plugin { command: c, .. } if c == command) {
                return false;
            }
            h.setup = Setup::Plugin {
                command: command.to_string(),
                since: Instant::now(),
            };
            true
        });
    }

    fn publish(&self, h: &Health) {
        self.write().set_current(h.current());
        let status = summarize(&self.server, h, self.read().pods(), Instant::now());
        self.status.send_if_modified(|s| {
            let changed = *s != status;
            *s = status;
            changed
        });
    }

    fn refresh(&self) {
        self.publish(&self.health());
    }
}

/// A kind tcptop watches: how its objects go into the index.
trait Watched:
    Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static
{
    const KIND: Kind;
    /// Adds or updates the object, seen at `now`.
    fn apply(&self, idx: &mut Index, zones: &ZoneLabels, now: Instant);
    /// Deletes the object at `now`.
    fn delete(&self, idx: &mut Index, now: Instant);
}

impl Watched for Pod {
    const KIND: Kind = Kind::Pods;
    fn apply(&self, idx: &mut Index, _: &ZoneLabels, now: Instant) {
        if let Some(r) = pod_record(self) {
            idx.apply_pod(&r, now);
        }
    }
    fn delete(&self, idx: &mut Index, now: Instant) {
        if let Some(uid) = self.uid() {
            idx.delete_pod(&uid, now);
        }
    }
}

impl Watched for Node {
    const KIND: Kind = Kind::Nodes;
    fn apply(&self, idx: &mut Index, zones: &ZoneLabels, now: Instant) {
        if let Some(r) = node_record(self, zones) {
            idx.apply_node(&r, now);
        }
    }
    fn delete(&self, idx: &mut Index, _: Instant) {
        idx.delete_node(&self.name_any());
    }
}

impl Watched for Service {
    const KIND: Kind = Kind::Services;
    fn apply(&self, idx: &mut Index, _: &ZoneLabels, now: Instant) {
        if let Some(r) = service_record(self) {
            idx.apply_service(&r, now);
        }
    }
    fn delete(&self, idx: &mut Index, now: Instant) {
        if let Some(uid) = self.uid() {
            idx.delete_service(&uid, now);
        }
    }
}

/// A ReplicaSet's metadata: its owner chain is all that is kept.
impl Watched for PartialObjectMeta<ReplicaSet> {
    const KIND: Kind = Kind::ReplicaSets;
    fn apply(&self, idx: &mut Index, _: &ZoneLabels, _: Instant) {
        if let Some(r) = replicaset_record(&self.metadata) {
            idx.apply_replicaset(&r);
        }
    }
    fn delete(&self, idx: &mut Index, _: Instant) {
        if let Some(r) = replicaset_record(&self.metadata) {
            idx.delete_replicaset(r.namespace, r.name);
        }
    }
}

/// Pages of PAGE_SIZE without a resourceVersion: consistent lists, which the API
/// server answers from its watch cache since 1.31 (ConsistentListFromCache), pages
/// included since 1.34 (cache snapshots). kube-rs drops resourceVersion=0 from paged
/// lists because the watch cache would ignore the limit.
fn config() -> watcher::Config {
    watcher::Config::default().page_size(PAGE_SIZE)
}

/// Feeds one kind's watch events into the index until the task is aborted.
async fn run<K: Watched>(
    events: impl Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static,
    shared: Arc<Shared>,
) {
    let mut events = events.default_backoff().boxed();
    while let Some(ev) = events.next().await {
        let ev = match ev {
            Ok(ev) => ev,
            Err(e) => {
                shared.failed(K::KIND, classify(&e));
                continue;
            }
        };
        let done = matches!(ev, watcher::Event::InitDone);
        {
            let mut idx = shared.write();
            let now = Instant::now();
            match ev {
                watcher::Event::Init => idx.begin_relist(K::KIND, now),
                watcher::Event::InitApply(o) | watcher::Event::Apply(o) => {
                    o.apply(&mut idx, &shared.zones, now);
                }
                watcher::Event::Delete(o) => o.delete(&mut idx, now),
                watcher::Event::InitDone => idx.end_relist(K::KIND, now),
            }
        }
        if done {
            shared.listed(K::KIND);
        } else {
            shared.accepted(K::KIND);
        }
    }
}

/// Expires tombstones older than `grace` and keeps the status fresh, until aborted.
pub async fn janitor(shared: Arc<Shared>, grace: Duration) {
    let mut tick = tokio::time::interval(JANITOR_PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        shared.write().expire(Instant::now(), grace);
        shared.refresh();
    }
}

/// Starts the watchers with `client` on the current tokio runtime: pods, nodes and
/// Services whole, ReplicaSets as metadata only; dropping the set stops them.
pub fn spawn(client: &Client, shared: &Arc<Shared>) -> JoinSet<()> {
    let c = || client.clone();
    let mut set = JoinSet::new();
    set.spawn(run(watcher(Api::<Pod>::all(c()), config()), shared.clone()));
    set.spawn(run(
        watcher(Api::<Node>::all(c()), config()),
        shared.clone(),
    ));
    set.spawn(run(
        watcher(Api::<Service>::all(c()), config()),
        shared.clone(),
    ));
    let rs = watcher(Api::<PartialObjectMeta<ReplicaSet>>::all(c()), config());
    set.spawn(run(rs, shared.clone()));
    set
}
