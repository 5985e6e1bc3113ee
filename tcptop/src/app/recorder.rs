//! The daemon's flight recorder and the socket UIs attach to. [`Flight`] holds the
//! history and hands every batch on to the attached clients; [`serve`] answers each
//! client's [`Request`] with a recording stream: the history since the time asked for,
//! summed per pair, then, for a UI, the live items as they come.
//!
//! The history is copied and the client subscribed under one lock, the same the
//! daemon's loop adds under, so a client misses nothing and sees nothing twice. A
//! client that falls behind the live tail by more than [`LIVE_BACKLOG`] batches is
//! cut off (its UI says the daemon went away), and counted.
use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, Result};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{UnixListener, UnixStream},
    sync::broadcast,
};

use super::{attach::Request, source::SourceInfo};
use crate::{
    aggregation::history::History,
    attribution::Item,
    record::{Header, Recorder},
};

/// Batches of live items a client may lag behind before it is cut off.
pub const LIVE_BACKLOG: usize = 4096;

/// The history and the live tail, shared by the daemon's loop and its clients.
pub struct Flight {
    /// Per-pair seconds.
    pub history: History,
    live: broadcast::Sender<Arc<[Item]>>,
    info: SourceInfo,
    /// Clients cut off because they fell behind.
    pub lagged: u64,
    /// Clients attached now.
    pub clients: usize,
}

impl Flight {
    /// An empty recorder of `history`, for a source described by `info`.
    pub fn new(history: History, info: SourceInfo) -> Self {
        Self {
            history,
            live: broadcast::channel(LIVE_BACKLOG).0,
            info,
            lagged: 0,
            clients: 0,
        }
    }

    /// Takes a batch: into the second in progress, and on to the attached clients.
    pub fn add(&mut self, batch: &[Item]) {
        for item in batch {
            self.history.add(item);
        }
        if self.live.receiver_count() > 0 && !batch.is_empty() {
            let _ = self.live.send(batch.into());
        }
    }
}

/// Unix time now, in milliseconds.
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Listens at `path`: a stale socket left by a daemon that died is replaced, and the
/// socket is readable and writable by its owner only.
pub fn listen(path: &Path) -> Result<UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create {} for the socket", dir.display()))?;
    }
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => anyhow::bail!(
            "another tcptop daemon listens at {}: stop it, or pass another --socket",
            path.display()
        ),
        Err(_) => {
            let _ = std::fs::remove_file(path);
        }
    }
    let listener = UnixListener::bind(path)
        .with_context(|| format!("cannot listen at {}: pass another --socket", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("cannot restrict {}", path.display()))?;
    Ok(listener)
}

/// Answers clients at `listener` until the runtime stops.
pub async fn serve(listener: UnixListener, path: PathBuf, flight: Arc<Mutex<Flight>>) {
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                say!("cannot accept a client at {}: {e}", path.display());
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let flight = flight.clone();
        tokio::spawn(async move {
            lock(&flight).clients += 1;
            if let Err(Lagged) = client(stream, &flight).await {
                lock(&flight).lagged += 1;
            }
            lock(&flight).clients -= 1;
        });
    }
}

fn lock(f: &Mutex<Flight>) -> std::sync::MutexGuard<'_, Flight> {
    f.lock().unwrap_or_else(|e| e.into_inner())
}

/// A client fell behind the live tail.
struct Lagged;

/// One client; a client that goes away, or asks nonsense, just ends.
async fn client(stream: UnixStream, flight: &Mutex<Flight>) -> Result<(), Lagged> {
    let (rd, mut wr) = stream.into_split();
    let mut line = String::new();
    let mut rd = BufReader::new(rd);
    let read = rd.read_line(&mut line);
    let Ok(Ok(_)) = tokio::time::timeout(Duration::from_secs(5), read).await else {
        return Ok(());
    };
    let Ok(req) = serde_json::from_str::<Request>(&line) else {
        return Ok(());
    };
    let now_ms = unix_ms();
    let since = (now_ms / 1000).saturating_sub(req.since_secs);
    let until = (now_ms / 1000).saturating_sub(req.until_secs);
    let (snapshot, current, live, info) = {
        let f = lock(flight);
        (
            f.history.snapshot(since, until),
            // The second in progress belongs to a window that reaches now.
            if req.until_secs == 0 {
                f.history.current()
            } else {
                Vec::new()
            },
            req.follow.then(|| f.live.subscribe()),
            f.info.clone(),
        )
    };
    // The stream's clock starts where its oldest second does.
    let start_ms = snapshot.oldest().map_or(now_ms, |t| (t - 1) * 1000);
    let mut header = Header::new(info.node, info.kernel, info.known);
    header.started_unix_ms = start_ms;
    // Open sockets are a fact of now, not of a window of the past: a snapshot of the
    // history leaves them out (their traffic is in the seconds).
    header.live &= req.follow;
    let at = |unix_ms: u64| Duration::from_millis(unix_ms.saturating_sub(start_ms));
    let Ok(mut rec) = Recorder::new(Vec::new(), Path::new("the daemon's socket"), &header) else {
        return Ok(());
    };
    // One row per pair, at the window's end: what a window shows, in as many lines
    // as it has pairs rather than pair-seconds.
    let end = snapshot.newest().map_or(now_ms, |t| t * 1000);
    for row in snapshot.merged() {
        let _ = rec.write(at(end), &Item::Folded(row));
    }
    for row in current {
        let _ = rec.write(at(now_ms), &Item::Folded(row));
    }
    if wr.write_all(&rec.take()).await.is_err() {
        return Ok(());
    }
    let Some(mut live) = live else {
        let _ = wr.shutdown().await;
        return Ok(());
    };
    loop {
        match live.recv().await {
            Ok(batch) => {
                let t = at(unix_ms());
                for item in batch.iter() {
                    let _ = rec.write(t, item);
                }
                if wr.write_all(&rec.take()).await.is_err() {
                    return Ok(());
                }
            }
            Err(broadcast::error::RecvError::Lagged(_)) => return Err(Lagged),
            Err(broadcast::error::RecvError::Closed) => return Ok(()),
        }
    }
}
