//! The background tasks: one kube-runtime watcher (paged list from the API server's
//! watch cache, then a watch; 410 Gone relists; errors back off) per kind, feeding the
//! shared [`Index`], plus a janitor that expires tombstones and refreshes the status.
use std::{
    fmt::Debug,
    sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard},
    time::{Duration, Instant},
};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod, Service};
use kube::{
    runtime::{watcher, WatchStreamExt},
    Api, Client, Resource, ResourceExt,
};
use serde::de::DeserializeOwned;
use tokio::{sync::watch, task::JoinHandle};

use super::{
    index::{Index, Kind},
    records::{node_record, pod_record, service_record, ZoneLabels},
    status::{classify, summarize, KindState, KubeStatus},
};

/// Objects per list page (client-go's default).
pub const PAGE_SIZE: u32 = 500;

/// The longest retry delay of kube-runtime's default backoff (30 s, up to doubled by
/// jitter), plus a margin: a failure with no successor for this long is over.
const QUIET_AFTER_FAILURE: Duration = Duration::from_secs(65);

/// How often tombstones are expired and the pod count refreshed.
const JANITOR_PERIOD: Duration = Duration::from_secs(1);

/// State shared by the watch tasks and the resolver.
#[derive(Debug)]
pub struct Shared {
    index: RwLock<Index>,
    kinds: Mutex<[KindState; 3]>,
    status: watch::Sender<KubeStatus>,
    server: String,
    zones: ZoneLabels,
}

impl Shared {
    /// Fresh state for the API server at `server`.
    pub fn new(server: String, zones: ZoneLabels) -> Self {
        let status = KubeStatus::Connecting {
            server: server.clone(),
        };
        Self {
            index: RwLock::new(Index::new()),
            kinds: Mutex::new([
                KindState::Connecting,
                KindState::Connecting,
                KindState::Connecting,
            ]),
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

    /// Status changes, for waiting and for the UI header.
    pub fn subscribe(&self) -> watch::Receiver<KubeStatus> {
        self.status.subscribe()
    }

    fn set_kind(&self, kind: Kind, state: KindState) {
        let mut kinds = self.kinds.lock().unwrap_or_else(PoisonError::into_inner);
        kinds[kind as usize] = state;
        if kinds.iter().all(|k| *k == KindState::Synced) {
            self.write().set_current(true);
        }
        self.publish(&kinds);
    }

    fn publish(&self, kinds: &[KindState; 3]) {
        let status = summarize(&self.server, kinds, self.read().pods());
        self.status.send_if_modified(|s| {
            let changed = *s != status;
            *s = status;
            changed
        });
    }

    fn refresh(&self) {
        let kinds = self.kinds.lock().unwrap_or_else(PoisonError::into_inner);
        self.publish(&kinds);
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

/// Watches one kind cluster-wide until the task is aborted.
async fn run<K>(api: Api<K>, shared: Arc<Shared>)
where
    K: Watched,
    K::Scope: Send,
{
    // Pages of PAGE_SIZE without a resourceVersion: consistent lists, which the API
    // server answers from its watch cache since 1.31 (ConsistentListFromCache), pages
    // included since 1.34 (cache snapshots). kube-rs drops resourceVersion=0 from paged
    // lists because the watch cache would ignore the limit.
    let config = watcher::Config::default().page_size(PAGE_SIZE);
    let mut events = watcher(api, config).default_backoff().boxed();
    let mut listed_once = false;
    // After a failure, a successful re-watch of an unchanged kind emits nothing: the
    // failure is taken as over once no new one follows for longer than the backoff.
    let mut clear_at: Option<tokio::time::Instant> = None;
    loop {
        let quiet = async {
            match clear_at {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        let ev = tokio::select! {
            ev = events.next() => ev,
            () = quiet => {
                clear_at = None;
                shared.set_kind(K::KIND, KindState::Synced);
                continue;
            }
        };
        let ev = match ev {
            Some(Ok(ev)) => ev,
            Some(Err(e)) => {
                shared.set_kind(K::KIND, KindState::Failed(classify(&e)));
                clear_at = listed_once.then(|| tokio::time::Instant::now() + QUIET_AFTER_FAILURE);
                continue;
            }
            None => return,
        };
        clear_at = None;
        let done = matches!(ev, watcher::Event::InitDone);
        {
            let mut idx = shared.write();
            let now = Instant::now();
            match ev {
                watcher::Event::Init => idx.begin_relist(K::KIND, now),
                watcher::Event::InitApply(o) | watcher::Event::Apply(o) => {
                    o.apply(&mut idx, &shared.zones, now)
                }
                watcher::Event::Delete(o) => o.delete(&mut idx, now),
                watcher::Event::InitDone => idx.end_relist(K::KIND, now),
            }
        }
        listed_once |= done;
        let state = if listed_once {
            KindState::Synced
        } else {
            KindState::Connecting
        };
        let changed = {
            let kinds = shared.kinds.lock().unwrap_or_else(PoisonError::into_inner);
            kinds[K::KIND as usize] != state
        };
        if changed || done {
            shared.set_kind(K::KIND, state);
        }
    }
}

/// Expires tombstones older than `grace` and keeps the status's pod count fresh.
async fn janitor(shared: Arc<Shared>, grace: Duration) {
    let mut tick = tokio::time::interval(JANITOR_PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        shared.write().expire(Instant::now(), grace);
        shared.refresh();
    }
}

/// Starts the three watchers and the janitor on the current tokio runtime.
pub fn spawn(client: Client, shared: &Arc<Shared>, grace: Duration) -> Vec<JoinHandle<()>> {
    vec![
        tokio::spawn(run(Api::<Pod>::all(client.clone()), shared.clone())),
        tokio::spawn(run(Api::<Node>::all(client.clone()), shared.clone())),
        tokio::spawn(run(Api::<Service>::all(client), shared.clone())),
        tokio::spawn(janitor(shared.clone(), grace)),
    ]
}
