//! The interactive UI's loop, generic over its terminal backend, its inputs and its
//! record source (as bandwhich's `start<B: Backend>` takes its OS inputs), so that tests
//! drive the whole loop with a test backend, scripted keys and a scripted feed.
//!
//! It redraws every `interval` and on every key or resize; records go to the session
//! (and the recording) as they arrive, paused or not.
use std::{path::PathBuf, time::Duration};

use anyhow::{Context, Result};
use crossterm::event::Event;
use futures::{Stream, StreamExt};
use ratatui::{backend::Backend, layout::Rect, Terminal};
use tokio::time::{Instant, MissedTickBehavior};

use super::{
    attach::{Loading, Windows},
    source::{Feed, Pulled, SourceInfo},
};
use crate::{
    attribution::Item,
    build_info::KernelSupport,
    collector::cost::Meter,
    record::{write::Sink, Recorder},
    ui::{state::WINDOW, theme::Level, Kube, Session},
};

/// What reaches the loop from the person and the system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A terminal event: a key, a resize.
    Term(Event),
    /// A signal (SIGTERM, SIGHUP, SIGINT) or a closed terminal: leave.
    Stop,
}

/// Header notes the loop keeps up to date.
pub const ATTACHING: &str = "attaching to the kernel…";

/// The fixed parts of one run of the loop.
pub struct LoopConfig<'a, W: Sink> {
    /// How often the numbers roll over and the screen redraws.
    pub interval: Duration,
    /// Where `--record` writes, once the source says what it is.
    pub record: Option<(W, PathBuf)>,
    /// The Kubernetes status now, for the header; `None` leaves it as it is.
    pub kube: &'a dyn Fn() -> Option<Kube>,
    /// Where `[` and `]` read windows of history from, when attached to the daemon.
    pub history: Option<Windows>,
}

/// Runs the UI on `term` until the person quits, a [`Input::Stop`] arrives or the
/// inputs end. The recording, if any, is flushed every interval and on every way out.
pub async fn run<B, E, F, W>(
    term: &mut Terminal<B>,
    ui: &mut Session,
    mut inputs: E,
    mut feed: F,
    config: LoopConfig<'_, W>,
) -> Result<()>
where
    B: Backend,
    B::Error: Send + Sync + 'static,
    E: Stream<Item = Input> + Unpin,
    F: Feed,
    W: Sink,
{
    let started = Instant::now();
    let mut pending = config.record;
    let mut recorder: Option<Recorder<W>> = None;
    let mut tick = tokio::time::interval_at(started + config.interval, config.interval);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut batch: Vec<Item> = Vec::new();
    let mut ended = false;
    // The window of history being read, and which one it is.
    let mut loading: Option<(u32, Loading)> = None;
    // tcptop's own cost, sampled where each interval ends.
    let mut meter = Meter::default();
    draw(ui, term, started)?;
    let result: Result<()> = loop {
        let redraw = tokio::select! {
            pulled = feed.pull(&mut batch), if !ended => {
                let pulled = match pulled {
                    Ok(p) => p,
                    Err(e) => break Err(e),
                };
                if let Err(e) = take(&mut batch, started.elapsed(), ui, recorder.as_mut()) {
                    break Err(e);
                }
                match pulled {
                    Pulled::Items => false,
                    Pulled::Attached(info) => {
                        attached(ui, &info);
                        if let Some(c) = feed.cost() {
                            meter.take(c);
                        }
                        if let Some((out, path)) = pending.take() {
                            match Recorder::new(out, &path, &info.header()) {
                                Ok(r) => recorder = Some(r),
                                Err(e) => break Err(e.into()),
                            }
                        }
                        // The open sockets' baseline.
                        if let Err(e) = feed.pass(&mut batch) {
                            break Err(e);
                        }
                        if let Err(e) = take(&mut batch, started.elapsed(), ui, recorder.as_mut()) {
                            break Err(e);
                        }
                        true
                    }
                    Pulled::Ended(warning) => {
                        ended = true;
                        ui.info.end_replay(warning.is_some());
                        true
                    }
                }
            }
            input = inputs.next() => match input {
                Some(Input::Term(Event::Key(key))) => {
                    let size = match term.size() {
                        Ok(s) => s,
                        Err(e) => break Err(anyhow::anyhow!("cannot read the terminal size: {e}")),
                    };
                    ui.key(key, Rect::new(0, 0, size.width, size.height));
                    true
                }
                Some(Input::Term(Event::Resize(..))) => true,
                Some(Input::Term(_)) => false,
                Some(Input::Stop) | None => break Ok(()),
            },
            done = async { (&mut loading.as_mut().expect("guarded").1).await }, if loading.is_some() => {
                let (w, _) = loading.take().expect("guarded");
                match done {
                    Ok(Ok(items)) => {
                        let window = ui.shown().of_window(items, WINDOW);
                        ui.show_window(w, window);
                    }
                    Ok(Err(e)) => ui.window_failed(&format!("{e:#}")),
                    Err(e) => ui.window_failed(&e.to_string()),
                }
                true
            }
            _ = tick.tick() => {
                if let Some(k) = (config.kube)() {
                    ui.info.kube = k;
                }
                // The open sockets' activity in the interval, then the interval ends.
                if let Err(e) = feed.pass(&mut batch) {
                    break Err(e);
                }
                if let Err(e) = take(&mut batch, started.elapsed(), ui, recorder.as_mut()) {
                    break Err(e);
                }
                if let Some(c) = feed.cost() {
                    ui.info.cost = meter.take(c);
                }
                ui.roll(started.elapsed());
                if let Some(Err(e)) = recorder.as_mut().map(Recorder::flush) {
                    break Err(e.into());
                }
                true
            }
        };
        if ui.app.quit {
            break Ok(());
        }
        if let (Some(h), None, Some(w)) = (&config.history, &loading, ui.wanted_window()) {
            loading = Some((w, h.load(w)));
        }
        if redraw {
            if let Err(e) = draw(ui, term, started) {
                break Err(e);
            }
        }
    };
    // What the source still holds reaches the recording, whichever way the loop ended.
    if let Some(r) = recorder.as_mut() {
        feed.finish(&mut batch);
        let t = r.elapsed();
        for item in batch.drain(..) {
            r.write(t, &item)?;
        }
        r.flush()?;
    }
    result
}

/// The source attached: the header names the kernel's features and RTO counters count.
fn attached(ui: &mut Session, info: &SourceInfo) {
    if let Some(f) = info.features {
        ui.info.kernel = format!("{} ({})", info.kernel, KernelSupport::Ready(f).short());
    }
    ui.ledger.set_known(info.known);
    ui.info.notes.retain(|(n, _)| n != ATTACHING);
    if let Some(why) = &info.live_off {
        ui.info
            .notes
            .push((format!("closed connections only: {why}"), Level::Warn));
    }
}

/// Draws a frame, `started` being when the loop started.
fn draw<B>(ui: &mut Session, term: &mut Terminal<B>, started: Instant) -> Result<()>
where
    B: Backend,
    B::Error: Send + Sync + 'static,
{
    ui.draw(term, started.elapsed())
        .context("cannot draw on the terminal")
}

/// Hands a batch to the recorder and the session, emptying it.
fn take<W: Sink>(
    batch: &mut Vec<Item>,
    t: Duration,
    ui: &mut Session,
    mut recorder: Option<&mut Recorder<W>>,
) -> Result<()> {
    for item in batch.drain(..) {
        if let Some(r) = recorder.as_deref_mut() {
            r.write(r.elapsed(), &item)?;
        }
        ui.add(item, t);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
