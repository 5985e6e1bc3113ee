//! The signals that end a mode: each is named when it arrives, so the mode can say
//! which one stopped it.
use anyhow::{Context, Result};
use tokio::signal::unix::{signal, Signal, SignalKind};

/// SIGINT, SIGTERM and, where asked for, SIGHUP.
pub struct Stops(Vec<(Signal, &'static str)>);

impl Stops {
    /// Handles SIGINT and SIGTERM, and SIGHUP too with `hangup`. Needs a tokio runtime.
    pub fn new(hangup: bool) -> Result<Self> {
        let on = |kind: SignalKind, name: &'static str| {
            signal(kind)
                .map(|s| (s, name))
                .with_context(|| format!("cannot handle {name}"))
        };
        let mut all = vec![
            on(SignalKind::interrupt(), "SIGINT")?,
            on(SignalKind::terminate(), "SIGTERM")?,
        ];
        if hangup {
            all.push(on(SignalKind::hangup(), "SIGHUP")?);
        }
        Ok(Self(all))
    }

    /// The name of the first of them to arrive.
    pub async fn recv(&mut self) -> &'static str {
        let waits = self.0.iter_mut().map(|(s, name)| {
            Box::pin(async move {
                s.recv().await;
                *name
            })
        });
        futures::future::select_all(waits).await.0
    }
}
