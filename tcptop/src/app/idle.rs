//! `--idle`: the DaemonSet's main process. It logs one line saying what this node's
//! kernel offers and how to use the pod, then waits for SIGTERM or SIGINT and exits 0.
//! As PID 1 of a container it must handle SIGTERM itself: the kernel ignores signals
//! that PID 1 has no handler for, and the pod would take its whole grace period to stop.
use anyhow::{Context, Result};
use tokio::signal::unix::{signal, SignalKind};

use crate::{
    build_info::{BuildInfo, KernelSupport},
    cli::Args,
};

/// Logs the node's support line, then blocks until SIGTERM or SIGINT. The handlers
/// are in place before the line is written, so a signal sent after it is never lost.
pub fn run(args: &Args) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .context("cannot start the async runtime")?;
    let (mut term, mut int) = rt.block_on(async {
        let term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
        let int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
        anyhow::Ok((term, int))
    })?;
    let info = BuildInfo::detect(&args.btf);
    match &info.support {
        KernelSupport::Ready(_) => eprintln!(
            "tcptop: {}; idle: run `kubectl exec -it -n tcptop ds/tcptop -- tcptop` (or `kubectl tcptop NODE`)",
            info.header()
        ),
        other => eprintln!(
            "tcptop: tcptop {} ({}) cannot trace on this node (kernel {}): {}; idle until stopped",
            info.version,
            info.revision,
            info.kernel,
            other.long()
        ),
    }
    rt.block_on(async {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    });
    Ok(())
}
