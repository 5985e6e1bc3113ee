//! The interactive UI's loop: reads records continuously (kernel or replay), redraws
//! every `--interval` and on every key or resize, and restores the terminal on quit,
//! error, panic and SIGTERM/SIGHUP/SIGINT.
//!
//! The first frame is drawn before the eBPF program is loaded (loading runs on a
//! blocking thread), so the screen appears at once.
use std::{
    fs::File,
    io::BufWriter,
    path::Path,
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use crossterm::event::Event;
use ratatui::layout::Rect;
use tokio::{
    signal::unix::{signal, SignalKind},
    sync::mpsc,
    task::JoinHandle,
    time::MissedTickBehavior,
};

use super::{
    host,
    kube::Labels,
    source::{KernelSource, ReplaySource, Source},
};
use crate::{
    attribution::{kube::KubeStatus, IpOnly},
    build_info,
    cli::Args,
    collector::kernel::{KernelCollector, LoadError, LoadOptions},
    record::{Item, Recorder},
    ui::{
        state::App,
        terminal::{Term, TerminalGuard},
        theme::Level,
        HeaderInfo, Kube, Session, Theme,
    },
    view::live::{recent::DEFAULT_CAPACITY, Ledger},
};

/// Records held while paused before the pause ends by itself (a few hundred MB).
const MAX_PAUSED: usize = 1_000_000;

/// Runs the UI until the person quits.
pub fn run(args: &Args) -> Result<()> {
    // Everything that can fail with a clear line fails before the screen changes.
    let replay = match &args.replay {
        Some(path) => Some(ReplaySource::open(path, true)?),
        None => None,
    };
    let record = match &args.record {
        Some(path) => Some(
            File::create(path)
                .with_context(|| format!("cannot create recording {}", path.display()))?,
        ),
        None => None,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(ui_loop(args, replay, record))
}

/// What the header says about Kubernetes, from the watch cache's status now.
fn kube_status(labels: &Labels) -> Kube {
    match labels.status() {
        KubeStatus::Disabled => Kube::disabled(),
        s @ KubeStatus::Synced { .. } => Kube {
            text: s.to_string(),
            level: Level::Ok,
        },
        s @ KubeStatus::Connecting { .. } => Kube {
            text: s.to_string(),
            level: Level::Warn,
        },
        s @ KubeStatus::Unavailable { .. } => Kube {
            text: s.to_string(),
            level: Level::Bad,
        },
    }
}

async fn ui_loop(args: &Args, replay: Option<ReplaySource>, record: Option<File>) -> Result<()> {
    // The watch cache fills in the background: the UI does not wait for it.
    let replaying = replay.is_some();
    let labels = match &replay {
        Some(_) => Labels::IpOnly(IpOnly::default()),
        None => super::kube::start(args, Duration::ZERO).await?,
    };
    let resolver = labels.resolver();
    let started = Instant::now();
    let app = App::new(&args.group_by, args.sort);
    let mut notes = Vec::new();
    let (node, kernel, kube, rto) = match &replay {
        Some(r) => {
            notes.push((replay_note(args, false), Level::Off));
            let i = r.info();
            let kube = Kube {
                text: "as recorded".into(),
                level: Level::Off,
            };
            (i.node.clone(), i.kernel.clone(), kube, i.rto)
        }
        None => {
            notes.push(("attaching to the kernel…".into(), Level::Warn));
            (
                host::node_name(),
                host::kernel_release(),
                kube_status(&labels),
                false,
            )
        }
    };
    if let Some(path) = &args.record {
        notes.push((format!("REC {}", path.display()), Level::Bad));
    }
    let mut ui = Session {
        ledger: Ledger::new(rto, app.group_by(), DEFAULT_CAPACITY),
        app,
        info: HeaderInfo {
            version: format!("{} ({})", build_info::VERSION, build_info::GIT_REVISION),
            node,
            kernel,
            kube,
            notes,
        },
        theme: Theme::from_env(),
    };
    let mut source = replay.map(Source::Replay);
    // --record goes with the kernel only (cli rejects it with --replay): its header
    // needs the kernel's facts, so the file waits for the collector.
    let mut record = record.zip(args.record.clone());
    let mut recorder: Option<Recorder> = None;

    let mut guard = TerminalGuard::enter().context("cannot set up the terminal")?;
    draw(&mut ui, guard.terminal(), started)?;

    let mut loading: Option<JoinHandle<Result<KernelCollector, LoadError>>> = match source {
        Some(_) => None,
        None => {
            let (btf, opts) = (
                args.btf.clone(),
                LoadOptions {
                    ring_bytes: args.ring_bytes,
                    ..LoadOptions::default()
                },
            );
            Some(tokio::task::spawn_blocking(move || {
                KernelCollector::load(&btf, &opts)
            }))
        }
    };
    let (key_tx, mut key_rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        while let Ok(ev) = crossterm::event::read() {
            if key_tx.send(ev).is_err() {
                break;
            }
        }
    });
    let mut sigterm = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut sighup = signal(SignalKind::hangup()).context("cannot handle SIGHUP")?;
    let mut sigint = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut tick =
        tokio::time::interval_at(tokio::time::Instant::now() + args.interval, args.interval);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut batch: Vec<Item> = Vec::new();
    let mut paused: Vec<(Duration, Item)> = Vec::new();
    let mut source_done = false;

    let result: Result<()> = loop {
        let reading = source.is_some() && !source_done;
        let mut redraw = false;
        tokio::select! {
            loaded = async { loading.as_mut().expect("guarded").await }, if loading.is_some() => {
                loading = None;
                let collector = match loaded {
                    Ok(Ok(c)) => c,
                    Ok(Err(e)) => break Err(e.into()),
                    Err(e) => break Err(anyhow::anyhow!("loading the eBPF program failed: {e}")),
                };
                let support = build_info::KernelSupport::Ready(collector.features());
                ui.info.kernel = format!("{} ({})", ui.info.kernel, support.short());
                let kernel = match KernelSource::new(collector, resolver) {
                    Ok(k) => Source::Kernel(k),
                    Err(e) => break Err(e),
                };
                ui.ledger.set_rto(kernel.info().rto);
                ui.info.notes.retain(|(n, _)| !n.starts_with("attaching"));
                if let Some((file, path)) = record.take() {
                    match new_recorder(file, &path, &kernel) {
                        Ok(r) => recorder = Some(r),
                        Err(e) => break Err(e),
                    }
                }
                source = Some(kernel);
                redraw = true;
            }
            more = async { source.as_mut().expect("guarded").next(&mut batch).await }, if reading => {
                let more = match more {
                    Ok(m) => m,
                    Err(e) => break Err(e),
                };
                let t = started.elapsed();
                if let Err(e) = take(&mut batch, t, &mut ui, &mut paused, recorder.as_mut()) {
                    break Err(e);
                }
                if !more {
                    source_done = true;
                    ui.info.notes[0].0 = replay_note(args, true);
                    redraw = true;
                }
            }
            ev = key_rx.recv() => match ev {
                Some(Event::Key(key)) => {
                    match guard.terminal().size() {
                        Ok(size) => ui.key(key, Rect::new(0, 0, size.width, size.height)),
                        Err(e) => break Err(anyhow::anyhow!("cannot read the terminal size: {e}")),
                    }
                    if !ui.app.paused {
                        for (t, item) in paused.drain(..) {
                            ui.ledger.add(item, t);
                        }
                    }
                    redraw = true;
                }
                Some(Event::Resize(..)) => redraw = true,
                Some(_) => {}
                None => break Ok(()),
            },
            _ = tick.tick() => {
                if !replaying {
                    ui.info.kube = kube_status(&labels);
                }
                if !ui.app.paused {
                    ui.ledger.roll(started.elapsed());
                    redraw = true;
                }
                if let Some(Err(e)) = recorder.as_mut().map(Recorder::flush) {
                    break Err(e.into());
                }
            }
            _ = sigterm.recv() => break Ok(()),
            _ = sighup.recv() => break Ok(()),
            _ = sigint.recv() => break Ok(()),
        }
        if ui.app.quit {
            break Ok(());
        }
        if redraw {
            if let Err(e) = draw(&mut ui, guard.terminal(), started) {
                break Err(e);
            }
        }
    };
    drop(guard);
    if let Some(r) = recorder.as_mut() {
        if let Some(s) = source.as_mut() {
            s.finish(&mut batch);
            let t = r.elapsed();
            for item in batch.drain(..) {
                r.write(t, &item)?;
            }
        }
        r.flush()?;
    }
    result
}

/// Draws a frame, `started` being when the UI started.
fn draw(ui: &mut Session, term: &mut Term, started: Instant) -> Result<()> {
    ui.draw(term, started.elapsed())
        .context("cannot draw on the terminal")
}

/// Hands a batch to the recorder and the ledger (or, while paused, to the queue).
fn take(
    batch: &mut Vec<Item>,
    t: Duration,
    ui: &mut Session,
    paused: &mut Vec<(Duration, Item)>,
    mut recorder: Option<&mut Recorder>,
) -> Result<()> {
    for item in batch.drain(..) {
        if let Some(r) = recorder.as_deref_mut() {
            r.write(r.elapsed(), &item)?;
        }
        if ui.app.paused && paused.len() < MAX_PAUSED {
            paused.push((t, item));
        } else {
            if ui.app.paused {
                // Too much waiting: resume rather than hold more.
                ui.app.paused = false;
                for (t, item) in paused.drain(..) {
                    ui.ledger.add(item, t);
                }
            }
            ui.ledger.add(item, t);
        }
    }
    Ok(())
}

fn replay_note(args: &Args, ended: bool) -> String {
    let name = args
        .replay
        .as_deref()
        .and_then(Path::file_name)
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    if ended {
        format!("REPLAY {name} (ended)")
    } else {
        format!("REPLAY {name}")
    }
}

/// A recorder on `file`, its header describing `source`.
fn new_recorder(file: File, path: &Path, source: &Source) -> Result<Recorder> {
    Ok(Recorder::new(
        BufWriter::with_capacity(64 * 1024, file),
        path,
        &source.info().header(),
    )?)
}
