use std::{os::unix::fs::PermissionsExt, path::Path};

use super::*;

/// An executable `sh` script at `dir/name`.
fn script(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.to_str().unwrap().to_string()
}

fn plugin(command: &str, timeout: Duration) -> Plugin {
    let mut user = AuthInfo {
        exec: Some(ExecConfig {
            api_version: Some("client.authentication.k8s.io/v1".into()),
            command: Some(command.into()),
            args: Some(vec!["--flag".into(), "two words".into()]),
            env: Some(vec![[("name", "PLUGIN_VAR"), ("value", "from-kubeconfig")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()]),
            install_hint: Some("\n  apt install the-plugin\n  or build it\n".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let p = Plugin::take(&mut user, timeout).expect("exec is the credential");
    assert!(user.exec.is_none(), "kube-rs must not see it");
    p
}

fn alive(pid: i32) -> bool {
    // Gone, or a zombie nobody reaped yet, is not alive.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

#[tokio::test]
async fn token_expiry_args_env_and_exec_info_reach_the_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let seen = dir.path().join("seen");
    let cmd = script(
        dir.path(),
        "ok",
        &format!(
            "printf '%s|%s|%s|%s' \"$1\" \"$2\" \"$PLUGIN_VAR\" \"$KUBERNETES_EXEC_INFO\" > {}\n\
             echo '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\
             \"status\":{{\"token\":\"tok-1\",\"expirationTimestamp\":\"2030-01-02T03:04:05Z\"}}}}'",
            seen.display()
        ),
    );
    let cred = plugin(&cmd, Duration::from_secs(10)).run().await.unwrap();
    let Credential::Token { header, expires } = cred else {
        panic!("{cred:?}")
    };
    assert_eq!(header.to_str().unwrap(), "Bearer tok-1");
    assert!(header.is_sensitive());
    let want = SystemTime::UNIX_EPOCH + Duration::from_secs(1_893_553_445);
    assert_eq!(expires, Some(want));
    let seen = std::fs::read_to_string(seen).unwrap();
    let parts: Vec<&str> = seen.split('|').collect();
    assert_eq!(parts[..3], ["--flag", "two words", "from-kubeconfig"]);
    let info: serde_json::Value = serde_json::from_str(parts[3]).unwrap();
    assert_eq!(info["kind"], "ExecCredential");
    assert_eq!(info["spec"]["interactive"], false);
}

#[tokio::test]
async fn a_certificate_is_returned_as_is() {
    let dir = tempfile::tempdir().unwrap();
    let cmd = script(
        dir.path(),
        "cert",
        r#"echo '{"status":{"clientCertificateData":"CERT","clientKeyData":"KEY"}}'"#,
    );
    match plugin(&cmd, Duration::from_secs(10)).run().await.unwrap() {
        Credential::Certificate { cert, key, expires } => {
            assert_eq!(
                (cert.as_str(), key.as_str(), expires),
                ("CERT", "KEY", None)
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn failures_are_one_line_naming_the_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let fails = script(
        dir.path(),
        "fails",
        "echo 'error: SSO session expired' >&2; echo 'run aws sso login' >&2; exit 3",
    );
    let silent = script(dir.path(), "silent", "exit 1");
    let junk = script(dir.path(), "junk", "echo 'not json'");
    let empty = script(dir.path(), "empty", r#"echo '{"status":{}}'"#);
    let missing = dir.path().join("missing").to_str().unwrap().to_string();
    for (cmd, want) in [
        (
            &fails,
            "failed (exit status: 3): error: SSO session expired",
        ),
        (&silent, "failed (exit status: 1)"),
        (&junk, "printed no ExecCredential JSON"),
        (&empty, "returned neither a token nor a client certificate"),
        (
            &missing,
            "cannot be started: No such file or directory (os error 2); apt install the-plugin",
        ),
    ] {
        let e = plugin(cmd, Duration::from_secs(10))
            .run()
            .await
            .unwrap_err();
        let line = e.to_string();
        assert!(
            line.starts_with(&format!("the credential plugin {cmd} ")),
            "{line}"
        );
        assert!(line.contains(want), "{line}");
        assert!(!line.contains('\n'), "{line}");
        assert!(!e.is_permanent());
    }
    let mut p = plugin(&silent, Duration::from_secs(10));
    p.exec.interactive_mode = Some(ExecInteractiveMode::Always);
    let e = p.run().await.unwrap_err();
    assert!(
        e.is_permanent() && e.to_string().contains("needs a terminal"),
        "{e}"
    );
}

#[tokio::test]
async fn a_plugin_that_hangs_is_killed_with_its_children() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    // The shell waits on a child, which is what a hung helper looks like.
    let cmd = script(
        dir.path(),
        "hangs",
        &format!("sleep 300 & echo \"$$ $!\" > {}; wait", pids.display()),
    );
    let t = std::time::Instant::now();
    let e = plugin(&cmd, Duration::from_millis(500))
        .run()
        .await
        .unwrap_err();
    assert!(matches!(e.problem, Problem::Timeout(_)), "{e}");
    assert_eq!(
        e.to_string(),
        format!("the credential plugin {cmd} did not answer within 500ms and was killed")
    );
    // Far below the 300 s it would take on its own.
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    let text = std::fs::read_to_string(pids).unwrap();
    let pids: Vec<i32> = text
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while pids.iter().any(|p| alive(*p)) {
        assert!(
            std::time::Instant::now() < deadline,
            "still running: {pids:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[test]
fn only_the_credential_kube_rs_would_use_is_taken() {
    let exec = || {
        Some(ExecConfig {
            command: Some("aws".into()),
            ..Default::default()
        })
    };
    let mut with_token: AuthInfo =
        serde_json::from_value(serde_json::json!({"token": "t"})).unwrap();
    with_token.exec = exec();
    assert!(Plugin::take(&mut with_token, Duration::from_secs(1)).is_none());
    assert!(with_token.exec.is_some());
    let mut plain = AuthInfo {
        exec: exec(),
        ..Default::default()
    };
    let p = Plugin::take(&mut plain, Duration::from_secs(1)).unwrap();
    assert_eq!(p.command(), "aws");
}
