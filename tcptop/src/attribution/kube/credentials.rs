//! Exec credential plugins (`users[].user.exec`: `aws eks get-token`,
//! `gke-gcloud-auth-plugin`, `kubelogin`), run by tcptop itself rather than by kube-rs,
//! which runs them synchronously (three times while it builds a client) and without a
//! bound. Here a plugin runs once per credential, without a terminal, in its own
//! process group, and is killed with that group when it outlasts its timeout or
//! tcptop stops.
use std::{
    io,
    process::{ExitStatus, Stdio},
    time::{Duration, SystemTime},
};

use http::HeaderValue;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::config::{AuthInfo, ExecConfig, ExecInteractiveMode};
use serde::Deserialize;
use tokio::{
    io::{AsyncRead, AsyncReadExt},
    process::{Child, Command},
};

/// The most of a plugin's stdout that is read (an ExecCredential is a few KB).
const MAX_STDOUT: u64 = 1 << 20;
/// The most of its stderr that is read, for the first line of a failure.
const MAX_STDERR: u64 = 64 << 10;

/// A credential a plugin returned.
#[derive(Debug)]
pub enum Credential {
    /// A bearer token, as the `Authorization` header value.
    Token {
        /// `Bearer <token>`, marked sensitive.
        header: HeaderValue,
        /// When it expires, if it does.
        expires: Option<SystemTime>,
    },
    /// A client certificate and its key, both PEM.
    Certificate {
        /// The certificate chain.
        cert: String,
        /// The private key.
        key: String,
        /// When it expires, if it does.
        expires: Option<SystemTime>,
    },
}

impl Credential {
    /// When the credential expires, if it does.
    pub fn expires(&self) -> Option<SystemTime> {
        match self {
            Credential::Token { expires, .. } | Credential::Certificate { expires, .. } => *expires,
        }
    }
}

/// What went wrong with a plugin.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// `exec` names no command.
    #[error("has no command: set users[].user.exec.command in the kubeconfig")]
    NoCommand,
    /// `interactiveMode: Always`.
    #[error(
        "needs a terminal (interactiveMode: Always), which tcptop cannot give it: use a \
         credential that works without one"
    )]
    Interactive,
    /// It could not be started.
    #[error("cannot be started: {source}{hint}")]
    Start {
        /// Why.
        source: io::Error,
        /// `; <installHint's first line>` when the kubeconfig has one, else empty.
        hint: String,
    },
    /// It outlasted the timeout.
    #[error("did not answer within {} and was killed", humantime::format_duration(*.0))]
    Timeout(Duration),
    /// Its stdout or stderr could not be read.
    #[error("could not be read from: {0}")]
    Read(io::Error),
    /// It exited with a failure.
    #[error("failed ({status}){said}")]
    Failed {
        /// How it exited.
        status: ExitStatus,
        /// `: <first line of its stderr>`, or empty when it said nothing.
        said: String,
    },
    /// Its stdout is not an ExecCredential.
    #[error("printed no ExecCredential JSON: {0}")]
    Output(String),
    /// The ExecCredential has neither a token nor a certificate.
    #[error("returned neither a token nor a client certificate")]
    Empty,
    /// The token cannot be an HTTP header value.
    #[error("returned a token that cannot be sent in an HTTP header")]
    BadToken,
}

/// A plugin failure: the command and what went wrong, as one line.
#[derive(Debug, thiserror::Error)]
#[error("the credential plugin {command} {problem}")]
pub struct PluginError {
    /// `users[].user.exec.command`.
    pub command: String,
    /// What went wrong.
    pub problem: Problem,
}

impl PluginError {
    /// True when running the plugin again cannot help.
    pub fn is_permanent(&self) -> bool {
        matches!(self.problem, Problem::NoCommand | Problem::Interactive)
    }
}

/// The ExecCredential a plugin prints (client.authentication.k8s.io v1 or v1beta1).
#[derive(Deserialize)]
struct ExecCredential {
    status: Option<ExecStatus>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExecStatus {
    token: Option<String>,
    expiration_timestamp: Option<Time>,
    client_certificate_data: Option<String>,
    client_key_data: Option<String>,
}

/// An exec credential plugin, as the kubeconfig describes it.
#[derive(Debug)]
pub struct Plugin {
    exec: ExecConfig,
    command: String,
    timeout: Duration,
}

impl Plugin {
    /// Takes the exec plugin out of `user` when it is the credential kube-rs would
    /// use (the user has no auth-provider, basic auth, token or token file), so that
    /// kube-rs never runs it; `timeout` bounds each run.
    pub fn take(user: &mut AuthInfo, timeout: Duration) -> Option<Self> {
        let other = user.auth_provider.is_some()
            || (user.username.is_some() && user.password.is_some())
            || user.token.is_some()
            || user.token_file.is_some();
        if other {
            return None;
        }
        let exec = user.exec.take()?;
        let command = exec
            .command
            .clone()
            .unwrap_or_else(|| "users[].user.exec".into());
        Some(Self {
            exec,
            command,
            timeout,
        })
    }

    /// The command, for status lines.
    pub fn command(&self) -> &str {
        &self.command
    }

    fn error(&self, problem: Problem) -> PluginError {
        PluginError {
            command: self.command.clone(),
            problem,
        }
    }

    /// `KUBERNETES_EXEC_INFO`: what the plugin is told, as client-go tells it.
    fn exec_info(&self) -> String {
        let mut spec = serde_json::json!({"interactive": false});
        if self.exec.provide_cluster_info {
            if let Some(c) = &self.exec.cluster {
                spec["cluster"] = serde_json::to_value(c).unwrap_or_default();
            }
        }
        serde_json::json!({
            "apiVersion": self.exec.api_version,
            "kind": "ExecCredential",
            "spec": spec,
        })
        .to_string()
    }

    /// Runs the plugin once, non-interactively, and returns its credential.
    pub async fn run(&self) -> Result<Credential, PluginError> {
        let e = &self.exec;
        let Some(program) = &e.command else {
            return Err(self.error(Problem::NoCommand));
        };
        if e.interactive_mode == Some(ExecInteractiveMode::Always) {
            return Err(self.error(Problem::Interactive));
        }
        let mut cmd = Command::new(program);
        cmd.args(e.args.iter().flatten());
        for var in e.env.iter().flatten() {
            if let (Some(name), Some(value)) = (var.get("name"), var.get("value")) {
                cmd.env(name, value);
            }
        }
        cmd.env("KUBERNETES_EXEC_INFO", self.exec_info());
        for name in e.drop_env.iter().flatten() {
            cmd.env_remove(name);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .process_group(0);
        let mut child = cmd.spawn().map_err(|source| {
            let hint = e
                .install_hint
                .as_deref()
                .and_then(|h| h.lines().map(str::trim).find(|l| !l.is_empty()))
                .map_or_else(String::new, |h| format!("; {h}"));
            self.error(Problem::Start { source, hint })
        })?;
        let mut group = Group(child.id().and_then(|id| i32::try_from(id).ok()));
        let (status, stdout, stderr) = tokio::time::timeout(self.timeout, output(&mut child))
            .await
            .map_err(|_| self.error(Problem::Timeout(self.timeout)))?
            .map_err(|e| self.error(Problem::Read(e)))?;
        // It exited and closed its pipes: whatever else is in its group is its own.
        group.0 = None;
        if !status.success() {
            let said = String::from_utf8_lossy(&stderr)
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map_or_else(String::new, |l| format!(": {l}"));
            return Err(self.error(Problem::Failed { status, said }));
        }
        self.credential(&stdout)
    }

    fn credential(&self, stdout: &[u8]) -> Result<Credential, PluginError> {
        let cred: ExecCredential = serde_json::from_slice(stdout)
            .map_err(|e| self.error(Problem::Output(e.to_string())))?;
        let s = cred.status.ok_or_else(|| self.error(Problem::Empty))?;
        let expires = s.expiration_timestamp.map(|t| {
            let ms = t.0.as_millisecond();
            let since = Duration::from_millis(ms.unsigned_abs());
            if ms >= 0 {
                SystemTime::UNIX_EPOCH + since
            } else {
                SystemTime::UNIX_EPOCH
            }
        });
        if let (Some(cert), Some(key)) = (s.client_certificate_data, s.client_key_data) {
            return Ok(Credential::Certificate { cert, key, expires });
        }
        let token = s.token.ok_or_else(|| self.error(Problem::Empty))?;
        let mut header = HeaderValue::try_from(format!("Bearer {token}"))
            .map_err(|_| self.error(Problem::BadToken))?;
        header.set_sensitive(true);
        Ok(Credential::Token { header, expires })
    }
}

/// The plugin's process group, killed on drop unless the plugin finished.
struct Group(Option<i32>);

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(pgid) = self.0 {
            // SAFETY: killpg has no memory effects; the group is the plugin's own
            // (process_group(0)), and its leader has not been reaped yet.
            unsafe { libc::killpg(pgid, libc::SIGKILL) };
        }
    }
}

/// Reads up to `limit` bytes of `pipe`.
async fn read(pipe: Option<impl AsyncRead + Unpin>, limit: u64) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    if let Some(p) = pipe {
        p.take(limit).read_to_end(&mut buf).await?;
    }
    Ok(buf)
}

/// Waits for the child to exit and for both its pipes to close.
async fn output(child: &mut Child) -> io::Result<(ExitStatus, Vec<u8>, Vec<u8>)> {
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    let (out, err, status) = tokio::join!(
        read(stdout, MAX_STDOUT),
        read(stderr, MAX_STDERR),
        child.wait()
    );
    Ok((status?, out?, err?))
}

#[cfg(test)]
mod tests;
