//! The UI's and `--once --since`'s side of the daemon's socket: connect, ask for the
//! history since a time (and the live tail, for the UI), and read the answer as a
//! recording stream ([`ReplaySource::daemon`]).
use std::{
    io::{BufReader, Write},
    os::unix::net::UnixStream,
    path::{Path, PathBuf},
    time::Duration,
};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::source::ReplaySource;
use crate::{attribution::Item, record::Replay};

/// Where the daemon listens, unless `--socket` says otherwise: in the pod's own
/// filesystem (an emptyDir), so only who may `kubectl exec` reaches it.
pub const DEFAULT_SOCKET: &str = "/run/tcptop/tcptop.sock";

/// What a client asks the daemon for, as one JSON line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// History from this many seconds ago (all of it when longer).
    pub since_secs: u64,
    /// Then the live items, until the connection ends.
    pub follow: bool,
    /// History up to this many seconds ago only (0: until now).
    #[serde(default)]
    pub until_secs: u64,
}

/// Why the daemon could not be reached.
#[derive(Debug, Error)]
pub enum AttachError {
    /// Nothing listens at the path.
    #[error("no tcptop daemon at {path} (it runs as `tcptop --daemon` in the DaemonSet's pod: run tcptop there, or pass --socket)")]
    Absent {
        /// The socket's path.
        path: String,
        /// Why connecting failed.
        source: std::io::Error,
    },
    /// The socket is there but connecting or asking failed otherwise.
    #[error("cannot reach the tcptop daemon at {path}")]
    Failed {
        /// The socket's path.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// The daemon's answer is not a stream tcptop reads.
    #[error("the tcptop daemon at {path} answered with something else (is it another version?)")]
    Answer {
        /// The socket's path.
        path: String,
        /// What was wrong with it.
        source: crate::record::RecordError,
    },
}

/// Windows of the daemon's history, for the UI's `[` and `]`.
#[derive(Clone, Debug)]
pub struct Windows {
    /// The daemon's socket.
    pub socket: PathBuf,
    /// How wide a window is.
    pub width: Duration,
}

/// A window of history being read.
pub type Loading = tokio::task::JoinHandle<Result<Vec<Item>, AttachError>>;

impl Windows {
    /// Reads window `w` (that many widths back from now) on a thread of its own.
    pub fn load(&self, w: u32) -> Loading {
        let (socket, width) = (self.socket.clone(), self.width.as_secs());
        tokio::task::spawn_blocking(move || {
            let req = Request {
                since_secs: width * (u64::from(w) + 1),
                follow: false,
                until_secs: width * u64::from(w),
            };
            read_all(&socket, req)
        })
    }
}

/// Every item of the daemon's answer to `req`, which must not follow.
fn read_all(path: &Path, req: Request) -> Result<Vec<Item>, AttachError> {
    let (_, mut replay) = connect(path, req)?;
    let mut items = Vec::new();
    while let Some(line) = replay.next_line().map_err(|source| AttachError::Answer {
        path: path.display().to_string(),
        source,
    })? {
        items.push(line.item);
    }
    Ok(items)
}

/// How long connecting and the daemon's first line may take.
const PATIENCE: Duration = Duration::from_secs(5);

/// Asks the daemon at `path` for `req`, and returns the stream of its answer, whose
/// end is `ended` (a warning for the UI, `None` where the end is expected).
pub fn open(path: &Path, req: Request, ended: Option<String>) -> Result<ReplaySource, AttachError> {
    let (stream, replay) = connect(path, req)?;
    // The header came: from now on the stream may be quiet for as long as it likes.
    stream
        .set_read_timeout(None)
        .and_then(|()| {
            ReplaySource::daemon(replay, path, ended)
                .map_err(|e| std::io::Error::other(format!("{e:#}")))
        })
        .map_err(|source| AttachError::Failed {
            path: path.display().to_string(),
            source,
        })
}

/// Connects, asks, and reads the answer's header.
fn connect(
    path: &Path,
    req: Request,
) -> Result<(UnixStream, Replay<BufReader<UnixStream>>), AttachError> {
    let name = path.display().to_string();
    let stream = UnixStream::connect(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
            AttachError::Absent {
                path: name.clone(),
                source,
            }
        }
        _ => AttachError::Failed {
            path: name.clone(),
            source,
        },
    })?;
    let failed = |source| AttachError::Failed {
        path: name.clone(),
        source,
    };
    stream.set_read_timeout(Some(PATIENCE)).map_err(failed)?;
    let mut line = serde_json::to_vec(&req).expect("a request serialises");
    line.push(b'\n');
    (&stream).write_all(&line).map_err(failed)?;
    let replay = Replay::new(BufReader::new(stream.try_clone().map_err(failed)?), path).map_err(
        |source| AttachError::Answer {
            path: name.clone(),
            source,
        },
    )?;
    Ok((stream, replay))
}

/// What the UI's header says when it loads its own program instead.
pub fn fallback_note(e: &AttachError) -> String {
    match e {
        AttachError::Absent { .. } => "no daemon: own program".into(),
        other => format!("no daemon ({other}): own program"),
    }
}
