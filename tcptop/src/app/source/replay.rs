//! Records from a recording, or from the daemon's socket, which speaks the same
//! format: the history first, then the live tail. A thread of its own reads the input,
//! so a stalled pipe never blocks the loop.
use std::{
    io::{BufRead, BufReader, Read},
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{Context, Result};
use tokio::sync::mpsc;

use super::feed::{Pulled, SourceInfo, BATCH};
use crate::{
    attribution::Item,
    record::{Line, RecordError, Replay},
};

/// Lines read ahead of the consumer, in batches: a reader thread never blocks the loop,
/// even on a pipe that stalls.
const READ_AHEAD: usize = 4;

/// What the reader thread hands over.
enum Chunk {
    /// Lines, in order.
    Lines(Vec<Line>),
    /// The recording ended in this line, cut short.
    Torn(u64),
}

/// Records from a recording, either as fast as they can be read or at the pace they
/// were recorded. A thread of its own reads the file.
pub struct ReplaySource {
    lines: mpsc::Receiver<Result<Chunk, RecordError>>,
    path: PathBuf,
    torn: Option<u64>,
    batch: std::vec::IntoIter<Line>,
    paced_from: Option<tokio::time::Instant>,
    pending: Option<Line>,
    pub(super) last_t_ms: u64,
    pub(super) info: SourceInfo,
    ended: Option<String>,
}

impl ReplaySource {
    /// Opens the recording at `path` (its header is checked here). With `paced`, items
    /// come out at the times they were recorded, counted from now. Needs a tokio
    /// runtime.
    pub fn open(path: &Path, paced: bool) -> Result<Self> {
        Self::start(Replay::open(path)?, path, paced, None, |_| false)
    }

    /// Reads the daemon's stream from `replay` (its header read already), as it comes;
    /// `ended` is the warning its end gives, `None` where the end is expected.
    pub fn daemon<T: Read + Send + 'static>(
        replay: Replay<BufReader<T>>,
        path: &Path,
        ended: Option<String>,
    ) -> Result<Self> {
        Self::start(replay, path, false, ended, Replay::drained)
    }

    /// Starts the reader thread; it hands a batch over when it is full, or when
    /// `drained` says the next line would wait.
    fn start<R: BufRead + Send + 'static>(
        mut replay: Replay<R>,
        path: &Path,
        paced: bool,
        ended: Option<String>,
        drained: fn(&Replay<R>) -> bool,
    ) -> Result<Self> {
        let h = replay.header();
        let info = SourceInfo {
            node: h.node.clone(),
            kernel: h.kernel.clone(),
            known: h.known(),
            live_off: (!h.live).then(|| "the recording has closed connections only".into()),
            features: None,
        };
        let (tx, lines) = mpsc::channel(READ_AHEAD);
        std::thread::Builder::new()
            .name("tcptop-replay".into())
            .spawn(move || loop {
                let mut batch = Vec::with_capacity(BATCH);
                let end = loop {
                    match replay.next_line() {
                        Ok(Some(l)) => batch.push(l),
                        Ok(None) => break Ok(true),
                        Err(e) => break Err(e),
                    }
                    if batch.len() == BATCH || drained(&replay) {
                        break Ok(false);
                    }
                };
                let sent = match end {
                    Ok(false) => tx.blocking_send(Ok(Chunk::Lines(batch))).is_ok(),
                    Ok(true) => {
                        let _ = tx.blocking_send(Ok(Chunk::Lines(batch)));
                        if let Some(line) = replay.torn() {
                            let _ = tx.blocking_send(Ok(Chunk::Torn(line)));
                        }
                        false
                    }
                    Err(e) => {
                        let _ = tx.blocking_send(Ok(Chunk::Lines(batch)));
                        let _ = tx.blocking_send(Err(e));
                        false
                    }
                };
                if !sent {
                    break;
                }
            })
            .context("cannot start the replay reader")?;
        Ok(Self {
            lines,
            path: path.to_owned(),
            torn: None,
            batch: Vec::new().into_iter(),
            paced_from: paced.then(tokio::time::Instant::now),
            pending: None,
            last_t_ms: 0,
            info,
            ended,
        })
    }

    /// What the recording's header says.
    pub fn info(&self) -> &SourceInfo {
        &self.info
    }

    /// The next line, waiting for the reader; `None` at the end.
    async fn line(&mut self) -> Result<Option<Line>> {
        loop {
            if let Some(l) = self.pending.take().or_else(|| self.batch.next()) {
                return Ok(Some(l));
            }
            match self.lines.recv().await.transpose()? {
                Some(Chunk::Lines(batch)) => self.batch = batch.into_iter(),
                Some(Chunk::Torn(line)) => self.torn = Some(line),
                None => return Ok(None),
            }
        }
    }

    pub(super) async fn next(&mut self, out: &mut Vec<Item>) -> Result<Pulled> {
        loop {
            let Some(line) = self.line().await? else {
                let torn = self.torn.map(|line| {
                    format!(
                        "{} ends in line {line}, cut short while recording: replayed what came before it",
                        self.path.display()
                    )
                });
                return Ok(Pulled::Ended(self.ended.take().or(torn)));
            };
            if let Some(start) = self.paced_from {
                let due = start + Duration::from_millis(line.t_ms);
                if due > tokio::time::Instant::now() {
                    self.pending = Some(line);
                    if !out.is_empty() {
                        return Ok(Pulled::Items);
                    }
                    tokio::time::sleep_until(due).await;
                    continue;
                }
            }
            self.last_t_ms = self.last_t_ms.max(line.t_ms);
            out.push(line.item);
            if out.len() >= BATCH {
                return Ok(Pulled::Items);
            }
        }
    }
}
