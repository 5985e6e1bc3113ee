//! The real tcptop started for a test: its stderr read line by line, returned once it
//! says its program is attached; its JSON output and whole stderr once it is done.
use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use serde_json::Value;

/// A tcptop that has attached, and its stderr lines from then on.
pub struct Attached {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// The lines printed up to and including the one that says it attached.
    pub before: Vec<String>,
}

/// Starts `cmd` (a tcptop, perhaps behind a wrapper) and waits up to 30 s for it to
/// attach; kills it and fails the test when it does not.
pub fn start(mut cmd: Command) -> Attached {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tcptop");
    let (tx, lines) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut before = Vec::new();
    loop {
        match lines.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => {
                let done = line.contains("attached");
                before.push(line);
                if done {
                    return Attached {
                        child,
                        lines,
                        before,
                    };
                }
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("tcptop never attached: {before:?}");
            }
        }
    }
}

impl Attached {
    /// Waits for it to end successfully; returns its JSON output and every stderr line.
    pub fn finish(self) -> (Value, Vec<String>) {
        let out = self.child.wait_with_output().unwrap();
        // The reader ends at the pipe's end, after the process.
        let mut stderr = self.before;
        stderr.extend(self.lines.iter());
        assert!(out.status.success(), "tcptop failed: {stderr:?}");
        let doc = serde_json::from_slice(&out.stdout).expect("JSON output");
        (doc, stderr)
    }
}
