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
    assert!(matches!(load(None, None, &e).await, Ok(Loaded::Missing(m)) if m.contains("IP-level")));
    assert!(matches!(
        load(None, Some("prod"), &e).await,
        Err(ConfigError::ContextWithoutKubeconfig(c)) if c == "prod"
    ));
}

#[test]
fn files_that_are_no_kubeconfig_say_what_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "").unwrap();
    let good = dir.path().join("config");
    std::fs::write(&good, TWO_CONTEXTS).unwrap();
    assert!(check_file(&good).is_ok());
    for (path, want) in [
        (dir.path().join("nope"), "nope does not exist"),
        (
            dir.path().to_path_buf(),
            "is a directory, not a regular file",
        ),
        (
            PathBuf::from("/dev/null"),
            "/dev/null is a character device, not a regular file",
        ),
        (empty, "empty is empty"),
    ] {
        let line = check_file(&path).unwrap_err().to_string();
        assert!(line.ends_with(want), "{line}");
    }
}

#[tokio::test]
async fn kubeconfig_entries_that_are_missing_are_skipped_like_kubectl_does() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("config");
    std::fs::write(&good, TWO_CONTEXTS).unwrap();
    let missing = dir.path().join("missing");
    let list = std::env::join_paths([&missing, &good]).unwrap();
    let e = Environment {
        kubeconfig: Some(list),
        ..Default::default()
    };
    match load(None, None, &e).await.unwrap() {
        Loaded::Found(c) => assert_eq!(c.cluster_url.to_string(), "http://127.0.0.1:1/"),
        Loaded::Missing(m) => panic!("{m}"),
    }
    let e = Environment {
        kubeconfig: Some(std::env::join_paths([&missing, &missing]).unwrap()),
        ..Default::default()
    };
    let line = load(None, None, &e).await.unwrap_err().to_string();
    assert!(
        line.contains("names no file that exists") && line.contains("--no-kube"),
        "{line}"
    );
    assert!(!line.contains('\n'), "{line}");
    let e = Environment {
        kubeconfig: Some(std::env::join_paths([dir.path(), &good]).unwrap()),
        ..Default::default()
    };
    let line = load(None, None, &e).await.unwrap_err().to_string();
    assert!(
        line.contains("is a directory, not a regular file"),
        "{line}"
    );
}

#[tokio::test]
async fn a_malformed_kubeconfig_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad");
    std::fs::write(
        &bad,
        "apiVersion: v1\nclusters:\n- name: a\n  cluster: {server: x\n  foo: [\n",
    )
    .unwrap();
    let line = load(Some(&bad), None, &Environment::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(!line.contains('\n'), "{line}");
    assert!(
        line.contains("failed to parse kubeconfig YAML: line "),
        "{line}"
    );
    assert!(line.ends_with(": fix it, or pass --no-kube"), "{line}");
}
