//! The Kubernetes client on a thread and runtime of its own, so that nothing it does
//! (a slow or hung credential plugin, DNS, TLS, decoding a 10,000-pod list) can stall
//! collection, the timers or the UI. The rest of tcptop reaches it only through
//! [`Shared`]: the index, the health and the status channel.
use std::{
    sync::{mpsc, Arc},
    time::{Duration, SystemTime},
};

use base64::Engine;
use kube::{client::ClientBuilder, config::AuthInfo, Client};
use tokio::sync::oneshot;

use super::{
    credentials::{Credential, Plugin},
    layer::{Bearer, Observe},
    status::Setup,
    watch::{self, Shared},
};

/// How long stopping waits for the thread (its tasks end at once; a plugin is killed).
const STOP_WAIT: Duration = Duration::from_secs(1);
/// First delay before a failed plugin runs again; it doubles up to [`RETRY_MAX`].
const RETRY_MIN: Duration = Duration::from_secs(1);
/// Longest delay between two runs of a failing plugin.
const RETRY_MAX: Duration = Duration::from_secs(30);
/// A credential is renewed this long before it expires (as kube-rs does), or halfway
/// through its life when that is later.
const RENEW_BEFORE: Duration = Duration::from_secs(60);

/// The client's thread. Dropping it stops the thread, its watchers and any plugin.
#[derive(Debug)]
pub struct Background {
    stop: Option<oneshot::Sender<()>>,
    done: mpsc::Receiver<()>,
}

impl Background {
    /// Starts the thread: credentials from `plugin` if there is one, then the client,
    /// then the watchers and the janitor, all reporting through `shared`.
    pub fn start(
        config: kube::Config,
        plugin: Option<Plugin>,
        shared: Arc<Shared>,
        grace: Duration,
    ) -> std::io::Result<Self> {
        let (stop, stopped) = oneshot::channel();
        let (done_tx, done) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("tcptop-kube".into())
            .spawn(move || {
                // Dropped last, when everything else has gone: tells `drop` we are done.
                let _done = done_tx;
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        shared.set_setup(Setup::Failed(format!(
                            "cannot start the Kubernetes client's runtime: {e}; labels are \
                             IP-level"
                        )));
                        return;
                    }
                };
                rt.block_on(async {
                    tokio::select! {
                        () = run(config, plugin, shared, grace) => {}
                        _ = stopped => {}
                    }
                });
                rt.shutdown_timeout(STOP_WAIT);
            })?;
        Ok(Self {
            stop: Some(stop),
            done,
        })
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        drop(self.stop.take());
        // Bounded: a task stuck in a blocking call must not hold tcptop's exit.
        let _ = self.done.recv_timeout(STOP_WAIT * 2);
    }
}

/// Runs the client until stopped: gets a credential, builds the client, watches, and
/// renews the credential before it expires (a token in place, a certificate with a
/// new client).
async fn run(config: kube::Config, plugin: Option<Plugin>, shared: Arc<Shared>, grace: Duration) {
    let _janitor = tokio::spawn(watch::janitor(shared.clone(), grace));
    let bearer = Bearer::default();
    let mut next = None;
    loop {
        let mut cfg = config.clone();
        let mut expires = None;
        if let Some(p) = &plugin {
            let cred = match next.take() {
                Some(c) => c,
                None => acquire(p, &shared, None).await,
            };
            expires = cred.expires();
            install(cred, &mut cfg.auth_info, &bearer);
        }
        let server = cfg.cluster_url.to_string();
        let observe = Observe {
            shared: shared.clone(),
            bearer: bearer.clone(),
        };
        let client: Client = match ClientBuilder::try_from(cfg) {
            Ok(b) => b.with_layer(&observe).build(),
            Err(e) => {
                shared.set_setup(Setup::Failed(format!(
                    "cannot build a client for {server}: {e}; labels are IP-level"
                )));
                return std::future::pending().await;
            }
        };
        shared.set_setup(Setup::Ready);
        let _watchers = watch::spawn(&client, &shared);
        let (Some(p), Some(_)) = (&plugin, expires) else {
            return std::future::pending().await;
        };
        let mut acquired = SystemTime::now();
        while let Some(at) = expires {
            tokio::time::sleep(renew_in(acquired, at)).await;
            let cred = acquire(p, &shared, Some(at)).await;
            acquired = SystemTime::now();
            expires = cred.expires();
            match cred {
                Credential::Token { header, .. } => {
                    bearer.set(header);
                    // Renewed late (the old one expired meanwhile): say it is over.
                    shared.set_setup(Setup::Ready);
                }
                cert @ Credential::Certificate { .. } => {
                    next = Some(cert);
                    break;
                }
            }
        }
        if next.is_none() {
            // A renewed token that does not expire: nothing more to do.
            return std::future::pending().await;
        }
    }
}

/// How long after `acquired` a credential expiring at `expires` is renewed: 60 s
/// before it expires, or halfway through its life when that is later, and never
/// sooner than a second.
fn renew_in(acquired: SystemTime, expires: SystemTime) -> Duration {
    let life = expires.duration_since(acquired).unwrap_or_default();
    let wait = life.saturating_sub(RENEW_BEFORE).max(life / 2);
    let elapsed = SystemTime::now()
        .duration_since(acquired)
        .unwrap_or_default();
    wait.saturating_sub(elapsed).max(Duration::from_secs(1))
}

/// Runs the plugin until it gives a credential, backing off between failures. While
/// the credential in use is still valid (until `valid_until`) the status says nothing;
/// without one it shows the plugin running, then why it failed (kept while it runs
/// again).
async fn acquire(p: &Plugin, shared: &Shared, valid_until: Option<SystemTime>) -> Credential {
    let expired = || valid_until.is_none_or(|t| SystemTime::now() >= t);
    let mut delay = RETRY_MIN;
    let mut failed = false;
    loop {
        if expired() && !failed {
            shared.plugin_started(p.command());
        }
        let e = match p.run().await {
            Ok(c) => return c,
            Err(e) => e,
        };
        if expired() {
            failed = true;
            let retrying = if e.is_permanent() { "" } else { ", retrying" };
            shared.set_setup(Setup::Failed(format!("{e}; labels are IP-level{retrying}")));
        }
        if e.is_permanent() {
            return std::future::pending().await;
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(RETRY_MAX);
    }
}

/// Puts `cred` where the client takes it from: a token in `bearer`, a certificate in
/// the user's client certificate data (base64, as a kubeconfig holds it).
fn install(cred: Credential, user: &mut AuthInfo, bearer: &Bearer) {
    match cred {
        Credential::Token { header, .. } => bearer.set(header),
        Credential::Certificate { cert, key, .. } => {
            let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
            user.client_certificate_data = Some(b64(&cert));
            // The key field is a secret type: set it the way a kubeconfig would.
            let with_key = serde_json::json!({ "client-key-data": b64(&key) });
            if let Ok(k) = serde_json::from_value::<AuthInfo>(with_key) {
                user.client_key_data = k.client_key_data;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_comes_a_minute_early_or_halfway() {
        let now = SystemTime::now();
        let at = |s| now + Duration::from_secs(s);
        let near = |d: Duration, s: u64| d.as_secs_f64() > s as f64 - 1.5 && d.as_secs() <= s;
        // EKS tokens last 15 minutes.
        assert!(near(renew_in(now, at(900)), 840));
        assert!(near(renew_in(now, at(100)), 50));
        assert_eq!(renew_in(now, now), Duration::from_secs(1));
        assert_eq!(
            renew_in(now, now - Duration::from_secs(5)),
            Duration::from_secs(1)
        );
    }
}
