//! Finding the cluster, in kubectl's order: `--kubeconfig`, `KUBECONFIG`,
//! `~/.kube/config`, then the in-cluster service account. `--context` picks a context
//! in whichever kubeconfig is used.
use std::{
    ffi::OsString,
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

/// A configuration that cannot be used: tcptop stops with this line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A kubeconfig exists but is broken, or lacks the `--context`.
    #[error("cannot use the kubeconfig {from}: {source}: fix it, or pass --no-kube")]
    Kubeconfig {
        /// Which file(s).
        from: String,
        /// What is wrong.
        source: KubeconfigError,
    },
    /// `--context` without any kubeconfig to look it up in.
    #[error("--context {0} needs a kubeconfig, and none was found (--kubeconfig, KUBECONFIG, ~/.kube/config)")]
    ContextWithoutKubeconfig(String),
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
            std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .try_fold(Kubeconfig::default(), |m, p| {
                    Kubeconfig::read_from(&p).and_then(|c| m.merge(c))
                }),
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
mod tests {
    use super::*;

    fn env(kubeconfig: bool, home: bool, in_cluster: bool) -> Environment {
        Environment {
            kubeconfig: kubeconfig.then(|| OsString::from("/env/config")),
            home_config: home.then(|| PathBuf::from("/home/me/.kube/config")),
            in_cluster,
        }
    }

    #[test]
    fn kubectl_order() {
        let flag = Path::new("/flag/config");
        assert_eq!(
            choose(Some(flag), &env(true, true, true)),
            Source::Flag(flag.into())
        );
        assert_eq!(
            choose(None, &env(true, true, true)),
            Source::Env("/env/config".into())
        );
        assert_eq!(
            choose(None, &env(false, true, true)),
            Source::Home("/home/me/.kube/config".into())
        );
        assert_eq!(choose(None, &env(false, false, true)), Source::InCluster);
        assert_eq!(choose(None, &env(false, false, false)), Source::Nothing);
    }

    const TWO_CONTEXTS: &str = "apiVersion: v1
kind: Config
current-context: a
clusters:
- name: a
  cluster: {server: 'http://127.0.0.1:1'}
- name: b
  cluster: {server: 'http://127.0.0.1:2'}
contexts:
- name: a
  context: {cluster: a, user: u}
- name: b
  context: {cluster: b, user: u}
users:
- name: u
  user: {token: t}
";

    #[tokio::test]
    async fn context_picks_the_cluster_and_a_missing_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, TWO_CONTEXTS).unwrap();
        let e = Environment::default();
        for (ctx, want) in [
            (None, "http://127.0.0.1:1/"),
            (Some("b"), "http://127.0.0.1:2/"),
        ] {
            match load(Some(&path), ctx, &e).await.unwrap() {
                Loaded::Found(c) => assert_eq!(c.cluster_url.to_string(), want),
                Loaded::Missing(m) => panic!("{m}"),
            }
        }
        let err = load(Some(&path), Some("nope"), &e).await.unwrap_err();
        let line = err.to_string();
        assert!(
            line.contains("nope") && line.contains("--no-kube"),
            "{line}"
        );
        assert!(!line.contains('\n'));
    }

    #[tokio::test]
    async fn nothing_found_is_not_an_error_unless_a_context_was_named() {
        let e = Environment::default();
        assert!(
            matches!(load(None, None, &e).await, Ok(Loaded::Missing(m)) if m.contains("IP-level"))
        );
        assert!(matches!(
            load(None, Some("prod"), &e).await,
            Err(ConfigError::ContextWithoutKubeconfig(c)) if c == "prod"
        ));
    }
}
