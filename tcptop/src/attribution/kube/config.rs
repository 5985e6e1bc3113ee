//! Finding the cluster, in kubectl's order: `--kubeconfig`, `KUBECONFIG` (missing
//! entries skipped, as kubectl does), `~/.kube/config`, then the in-cluster service
//! account. `--context` picks a context in whichever kubeconfig is used. Every problem
//! is one line.
use std::{
    ffi::OsString,
    fs, io,
    os::unix::fs::FileTypeExt,
    path::{Path, PathBuf},
};

use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};

/// Where the configuration comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// `--kubeconfig PATH`.
    Flag(PathBuf),
    /// The `KUBECONFIG` variable (a list of files, merged).
    Env(OsString),
    /// `~/.kube/config`.
    Home(PathBuf),
    /// The pod's service account (`KUBERNETES_SERVICE_HOST` is set).
    InCluster,
    /// Nothing found.
    Nothing,
}

/// The parts of the environment that decide the [`Source`].
#[derive(Clone, Debug, Default)]
pub struct Environment {
    /// `KUBECONFIG`, when set and not empty.
    pub kubeconfig: Option<OsString>,
    /// `~/.kube/config`, when it exists.
    pub home_config: Option<PathBuf>,
    /// True inside a pod (`KUBERNETES_SERVICE_HOST` is set).
    pub in_cluster: bool,
}

impl Environment {
    /// Reads the process environment and the home directory.
    pub fn current() -> Self {
        Self {
            kubeconfig: std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()),
            home_config: std::env::home_dir()
                .map(|h| h.join(".kube").join("config"))
                .filter(|p| p.is_file()),
            in_cluster: std::env::var_os("KUBERNETES_SERVICE_HOST").is_some_and(|v| !v.is_empty()),
        }
    }
}

/// Picks the source kubectl would use.
pub fn choose(flag: Option<&Path>, env: &Environment) -> Source {
    if let Some(p) = flag {
        Source::Flag(p.to_path_buf())
    } else if let Some(v) = &env.kubeconfig {
        Source::Env(v.clone())
    } else if let Some(p) = &env.home_config {
        Source::Home(p.clone())
    } else if env.in_cluster {
        Source::InCluster
    } else {
        Source::Nothing
    }
}

/// Why a path named as a kubeconfig is not one.
#[derive(Debug, thiserror::Error)]
pub enum FileProblem {
    /// Nothing is there.
    #[error("{} does not exist", .0.display())]
    Missing(PathBuf),
    /// Something that is not a regular file is there.
    #[error("{} is {}, not a regular file", .0.display(), .1)]
    NotAFile(PathBuf, &'static str),
    /// An empty file.
    #[error("{} is empty", .0.display())]
    Empty(PathBuf),
    /// A file that cannot be read.
    #[error("{} cannot be read: {}", .0.display(), .1)]
    Unreadable(PathBuf, io::Error),
}

/// Checks that `path` is a readable, non-empty regular file (symlinks followed).
pub fn check_file(path: &Path) -> Result<(), FileProblem> {
    let p = || path.to_path_buf();
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(FileProblem::Missing(p())),
        Err(e) => return Err(FileProblem::Unreadable(p(), e)),
    };
    let t = meta.file_type();
    if !t.is_file() {
        let what = if t.is_dir() {
            "a directory"
        } else if t.is_char_device() {
            "a character device"
        } else if t.is_block_device() {
            "a block device"
        } else if t.is_fifo() {
            "a named pipe"
        } else if t.is_socket() {
            "a socket"
        } else {
            "special"
        };
        return Err(FileProblem::NotAFile(p(), what));
    }
    if meta.len() == 0 {
        return Err(FileProblem::Empty(p()));
    }
    fs::File::open(path)
        .map(drop)
        .map_err(|e| FileProblem::Unreadable(p(), e))
}

/// A configuration that cannot be used: tcptop stops with this line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A kubeconfig exists but is broken, or lacks the `--context`.
    #[error("cannot use the kubeconfig {from}: {}: fix it, or pass --no-kube", one_line(.source))]
    Kubeconfig {
        /// Which file(s).
        from: String,
        /// What is wrong.
        source: KubeconfigError,
    },
    /// An entry of `KUBECONFIG` is there but is no kubeconfig file.
    #[error("KUBECONFIG entry {0}: fix KUBECONFIG, or pass --no-kube")]
    EnvEntry(FileProblem),
    /// None of the entries of `KUBECONFIG` exists.
    #[error(
        "KUBECONFIG={} names no file that exists: fix or unset KUBECONFIG, or pass --no-kube",
        .0.to_string_lossy()
    )]
    EnvNothing(OsString),
    /// `--context` without any kubeconfig to look it up in.
    #[error("--context {0} needs a kubeconfig, and none was found (--kubeconfig, KUBECONFIG, ~/.kube/config)")]
    ContextWithoutKubeconfig(String),
}

/// `e` as one line: the first line of its message (a YAML error goes on with a
/// snippet of the file), and a read error naming its path plainly.
fn one_line(e: &KubeconfigError) -> String {
    if let KubeconfigError::ReadConfig(io, path) = e {
        return format!("cannot read {}: {io}", path.display());
    }
    let text = e.to_string();
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    first.replace(": error: ", ": ")
}

/// Reads and merges the existing entries of `KUBECONFIG` (kubectl skips missing ones);
/// each error names its file.
fn read_env(value: &OsString) -> Result<Kubeconfig, ConfigError> {
    let mut merged: Option<Kubeconfig> = None;
    for path in std::env::split_paths(value).filter(|p| !p.as_os_str().is_empty()) {
        match check_file(&path) {
            Ok(()) => {}
            Err(FileProblem::Missing(_)) => continue,
            // An empty file adds nothing (kubectl reads it as an empty config).
            Err(FileProblem::Empty(_)) => {
                merged.get_or_insert_with(Kubeconfig::default);
                continue;
            }
            Err(p) => return Err(ConfigError::EnvEntry(p)),
        }
        let fail = |source| ConfigError::Kubeconfig {
            from: path.display().to_string(),
            source,
        };
        let file = Kubeconfig::read_from(&path).map_err(fail)?;
        merged = Some(match merged {
            Some(m) => m.merge(file).map_err(fail)?,
            None => file,
        });
    }
    merged.ok_or_else(|| ConfigError::EnvNothing(value.clone()))
}

/// What loading found.
#[derive(Debug)]
pub enum Loaded {
    /// A usable configuration, and where it came from.
    Found(Box<kube::Config>),
    /// No configuration: run with IP-level labels, and say why in one line.
    Missing(String),
}

/// Loads the configuration from the chosen [`Source`].
pub async fn load(
    flag: Option<&Path>,
    context: Option<&str>,
    env: &Environment,
) -> Result<Loaded, ConfigError> {
    let opts = KubeConfigOptions {
        context: context.map(str::to_string),
        ..Default::default()
    };
    let (from, file) = match choose(flag, env) {
        Source::Flag(p) | Source::Home(p) => (p.display().to_string(), Kubeconfig::read_from(&p)),
        Source::Env(v) => (
            format!("KUBECONFIG={}", v.to_string_lossy()),
            Ok(read_env(&v)?),
        ),
        Source::InCluster if context.is_none() => {
            return Ok(match kube::Config::incluster() {
                Ok(c) => Loaded::Found(Box::new(c)),
                Err(e) => Loaded::Missing(format!(
                    "in a pod, but its service account is unusable ({e}): labels are IP-level"
                )),
            });
        }
        Source::InCluster | Source::Nothing => {
            if let Some(c) = context {
                return Err(ConfigError::ContextWithoutKubeconfig(c.to_string()));
            }
            return Ok(Loaded::Missing(
                "no kubeconfig (--kubeconfig, KUBECONFIG, ~/.kube/config) and not in a pod: \
                 labels are IP-level (pass --no-kube to say so)"
                    .into(),
            ));
        }
    };
    let fail = |source| ConfigError::Kubeconfig {
        from: from.clone(),
        source,
    };
    let file = file.map_err(fail)?;
    let config = kube::Config::from_custom_kubeconfig(file, &opts)
        .await
        .map_err(fail)?;
    Ok(Loaded::Found(Box::new(config)))
}

#[cfg(test)]
mod tests;
