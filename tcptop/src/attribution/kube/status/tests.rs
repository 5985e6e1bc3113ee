use std::time::Duration;

use kube::core::Status;

use super::*;

fn api(code: u16, reason: &str) -> kube::Error {
    let s = Status::failure("pods is forbidden: User \"x\" cannot list", reason);
    kube::Error::Api(s.with_code(code).boxed())
}

fn listed() -> KindHealth {
    KindHealth {
        listed: true,
        failure: None,
    }
}

fn failed(listed: bool, f: Failure) -> KindHealth {
    KindHealth {
        listed,
        failure: Some(f),
    }
}

fn health(kinds: [KindHealth; 4]) -> Health {
    Health {
        kinds,
        setup: Setup::Ready,
    }
}

#[test]
fn classifies_forbidden_by_verb() {
    let list = watcher::Error::InitialListFailed(api(403, "Forbidden"));
    assert_eq!(classify(&list), Failure::Forbidden { verb: "list" });
    let watch = watcher::Error::WatchStartFailed(api(403, "Forbidden"));
    assert_eq!(classify(&watch), Failure::Forbidden { verb: "watch" });
    let unauth = watcher::Error::InitialListFailed(api(401, "Unauthorized"));
    assert_eq!(classify(&unauth), Failure::Unauthorized);
    let other = watcher::Error::InitialListFailed(api(500, "InternalError"));
    assert!(matches!(classify(&other), Failure::Other { detail } if detail.contains("500")));
}

#[test]
fn forbidden_kinds_are_named_together_in_one_line() {
    let h = health([
        listed(),
        failed(false, Failure::Forbidden { verb: "list" }),
        failed(false, Failure::Forbidden { verb: "watch" }),
        listed(),
    ]);
    let line = summarize("https://10.0.0.1:6443", &h, 3, Instant::now()).to_string();
    assert!(
        line.contains("forbidden to list nodes, watch services"),
        "{line}"
    );
    assert!(line.contains("deploy/rbac.yaml"), "{line}");
    assert!(!line.contains('\n'));
}

#[test]
fn unreachable_names_the_address() {
    let cause = "Connection refused (os error 111)".to_string();
    let h = health([
        failed(false, Failure::Unreachable { cause }),
        KindHealth::default(),
        KindHealth::default(),
        KindHealth::default(),
    ]);
    assert_eq!(
        summarize("https://10.0.0.1:6443/", &h, 0, Instant::now()).to_string(),
        "kubernetes: cannot reach the API server at https://10.0.0.1:6443/: Connection \
         refused (os error 111); labels are IP-level until it answers, retrying"
    );
    assert!(!h.current());
}

#[test]
fn synced_and_current_only_when_every_kind_is_listed_and_healthy() {
    let now = Instant::now();
    let h = health([listed(), listed(), listed(), KindHealth::default()]);
    assert_eq!(
        summarize("s", &h, 5, now),
        KubeStatus::Connecting {
            server: "s".into(),
            plugin: None
        }
    );
    assert!(!h.current());
    let mut h = health([listed(), listed(), listed(), listed()]);
    assert_eq!(
        summarize("s", &h, 5, now).to_string(),
        "kubernetes: synced, 5 pods"
    );
    assert!(h.current());
    // A watch failing after the sync: not current, and the status says why.
    h.kinds[1].failure = Some(Failure::Unauthorized);
    assert!(!h.current());
    assert!(summarize("s", &h, 5, now).to_string().contains("401"));
}

#[test]
fn a_running_plugin_is_timed_and_a_failed_setup_speaks_first() {
    let since = Instant::now();
    let mut h = health([listed(), listed(), listed(), listed()]);
    h.setup = Setup::Plugin {
        command: "aws".into(),
        since,
    };
    assert!(!h.current());
    let s = summarize("https://eks", &h, 5, since + Duration::from_millis(7400));
    assert_eq!(
        s,
        KubeStatus::Connecting {
            server: "https://eks".into(),
            plugin: Some(PluginWait {
                command: "aws".into(),
                secs: 7
            })
        }
    );
    let line = s.to_string();
    assert!(line.contains("credential plugin aws (7s so far)"), "{line}");
    assert!(!line.contains('\n'));
    h.setup = Setup::Failed("the credential plugin aws failed".into());
    h.kinds[0].failure = Some(Failure::Unauthorized);
    assert_eq!(
        summarize("https://eks", &h, 5, since).to_string(),
        "kubernetes: the credential plugin aws failed"
    );
}
