//! The interactive UI on the real terminal: opens what can fail with a clear line
//! before the screen changes, then runs [`ui_loop`](super::ui_loop) with the terminal,
//! its key events and signals, and the kernel (loaded in the background, so the first
//! frame comes at once) or a paced replay. The terminal is restored on quit, error,
//! panic and SIGTERM/SIGHUP/SIGINT.
use std::{fs::File, path::Path};

use anyhow::{Context, Result};
use futures::channel::mpsc::{self, UnboundedSender};
use tokio::signal::unix::{signal, SignalKind};

use super::{
    attach::{self, AttachError, Request, Windows},
    kube::Labels,
    source::{Loading, ReplaySource, Source},
    ui_loop::{self, Input, LoopConfig, ATTACHING},
};
use crate::{
    attribution::{kube::KubeStatus, IpOnly},
    build_info,
    cli::Args,
    collector::{
        kernel::{KernelCollector, LoadOptions},
        Known,
    },
    host,
    ui::{
        state::{App, WINDOW},
        terminal::TerminalGuard,
        theme::Level,
        HeaderInfo, Kube, Session, Theme,
    },
    view::live::{recent::DEFAULT_CAPACITY, Ledger},
};

/// Runs the UI until the person quits.
pub fn run(args: &Args) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(start(args))
}

/// What the header says about Kubernetes, from the watch cache's status now.
fn kube_status(labels: &Labels) -> Kube {
    let status = labels.status();
    let level = match status {
        KubeStatus::Disabled => return Kube::disabled(),
        KubeStatus::Synced { .. } => Level::Ok,
        KubeStatus::Connecting { .. } => Level::Warn,
        KubeStatus::Unavailable { .. } => Level::Bad,
    };
    match labels.nat_problem() {
        Some(why) => Kube {
            text: format!("{status} · {why}"),
            level: if level == Level::Bad {
                Level::Bad
            } else {
                Level::Warn
            },
        },
        None => Kube {
            text: status.to_string(),
            level,
        },
    }
}

async fn start(args: &Args) -> Result<()> {
    // Everything that can fail with a clear line fails before the screen changes.
    let replay = match &args.replay {
        Some(path) => Some(ReplaySource::open(path, true)?),
        None => None,
    };
    let record = match &args.record {
        Some(path) => Some((
            File::create(path)
                .with_context(|| format!("cannot create recording {}", path.display()))?,
            path.clone(),
        )),
        None => None,
    };
    // Without a replay, the daemon's stream when it answers: its history first.
    let (daemon, no_daemon) = match &replay {
        Some(_) => (None, None),
        None => match attach_daemon(args) {
            Ok(d) => (Some(d), None),
            Err(e) => (None, Some(e)),
        },
    };
    // A replay or the daemon never needs the cluster; live, the watch cache fills in
    // the background.
    let labels = match (&replay, &daemon) {
        (None, None) => super::kube::start(args).await?,
        _ => Labels::IpOnly(IpOnly::default()),
    };
    let attached = daemon.is_some();
    let mut app = App::new(&args.group_by, args.sort);
    app.history = attached;
    let version = format!("{} ({})", build_info::VERSION, build_info::GIT_REVISION);
    let (info, known, feed) = match (replay, daemon) {
        (None, Some(d)) => {
            let i = d.info().clone();
            let info = HeaderInfo {
                version,
                node: i.node.clone(),
                kernel: i.kernel.clone(),
                kube: Kube {
                    text: "as the daemon attributed".into(),
                    level: Level::Off,
                },
                notes: vec![HeaderInfo::daemon_note(&i.node)],
                cost: None,
            };
            (info, i.known, Loading::Ready(Source::Replay(d)))
        }
        (Some(r), _) => {
            let name = args
                .replay
                .as_deref()
                .and_then(Path::file_name)
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            let i = r.info().clone();
            let info = HeaderInfo {
                version,
                node: i.node,
                kernel: i.kernel,
                kube: Kube {
                    text: "as recorded".into(),
                    level: Level::Off,
                },
                notes: vec![HeaderInfo::replay_note(&name)],
                cost: None,
            };
            (info, i.known, Loading::Ready(Source::Replay(r)))
        }
        (None, None) => {
            let (btf, opts) = (
                args.btf.clone(),
                LoadOptions {
                    ring_bytes: args.ring_bytes,
                    live: !args.no_live,
                    ..LoadOptions::default()
                },
            );
            let info = HeaderInfo {
                version,
                node: host::node_name(),
                kernel: host::kernel_release(),
                kube: kube_status(&labels),
                notes: vec![(ATTACHING.into(), Level::Warn)],
                cost: None,
            };
            let mut info = info;
            if let Some(e) = &no_daemon {
                info.notes.push((attach::fallback_note(e), Level::Off));
            }
            let load = move || KernelCollector::load(&btf, &opts);
            (
                info,
                Known::default(),
                Loading::start(load, labels.resolver()),
            )
        }
    };
    let mut info = info;
    if let Some(path) = &args.record {
        info.notes
            .push((format!("REC {}", path.display()), Level::Bad));
    }
    let ledger = Ledger::new(known, app.group_by(), DEFAULT_CAPACITY, args.max_rows);
    let mut ui = Session::new(app, ledger, info, Theme::from_env());
    let (tx, inputs) = mpsc::unbounded();
    forward_signals(tx.clone())?;
    let mut guard = TerminalGuard::enter().context("cannot set up the terminal")?;
    forward_terminal(tx);
    // A replay and the daemon's stream come attributed: the cache's status is not theirs.
    let replaying = args.replay.is_some() || no_daemon.is_none();
    let kube = || (!replaying).then(|| kube_status(&labels));
    let config = LoopConfig {
        interval: args.interval,
        record,
        kube: &kube,
        history: attached.then(|| Windows {
            socket: args.socket.clone(),
            width: WINDOW,
        }),
    };
    let result = ui_loop::run(guard.terminal(), &mut ui, inputs, feed, config).await;
    drop(guard);
    result
}

/// The daemon's stream: all its history, then the live tail.
fn attach_daemon(args: &Args) -> Result<ReplaySource, AttachError> {
    let req = Request {
        since_secs: crate::cli::MAX_WINDOW.as_secs(),
        follow: true,
        until_secs: 0,
    };
    let ended = format!(
        "the daemon at {} closed the connection (stopped or restarted): what is shown is frozen; quit with q and start tcptop again",
        args.socket.display()
    );
    attach::open(&args.socket, req, Some(ended))
}

/// Terminal events, read on a thread of their own (crossterm's read blocks).
fn forward_terminal(tx: UnboundedSender<Input>) {
    std::thread::spawn(move || loop {
        let input = match crossterm::event::read() {
            Ok(ev) => Input::Term(ev),
            // The terminal is gone: leave.
            Err(_) => Input::Stop,
        };
        let stop = input == Input::Stop;
        if tx.unbounded_send(input).is_err() || stop {
            break;
        }
    });
}

/// SIGTERM, SIGHUP and SIGINT end the UI like `q` does.
fn forward_signals(tx: UnboundedSender<Input>) -> Result<()> {
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut hup = signal(SignalKind::hangup()).context("cannot handle SIGHUP")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = hup.recv() => {}
            _ = int.recv() => {}
        }
        let _ = tx.unbounded_send(Input::Stop);
    });
    Ok(())
}
