//! The seam to the cluster: the plugin asks everything through the user's own
//! `kubectl`, so contexts, auth plugins and proxies work as they do for kubectl.
use std::{io, process::Command};

/// What one kubectl run printed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reply {
    /// True when kubectl exited 0.
    pub success: bool,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl Reply {
    /// The first meaningful line of stderr, without kubectl's `error: ` prefix and
    /// skipping client-go's log lines (`E0101 12:00:00.000000 ... memcache.go:265] ...`).
    pub fn error_line(&self) -> String {
        self.stderr
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !is_klog(l))
            .unwrap_or("kubectl failed without a message")
            .trim_start_matches("error: ")
            .to_string()
    }

    /// True when the API server answered NotFound.
    pub fn not_found(&self) -> bool {
        !self.success && self.stderr.contains("NotFound")
    }

    /// True when the API server answered Forbidden.
    pub fn forbidden(&self) -> bool {
        !self.success && self.stderr.contains("Forbidden")
    }
}

/// True for a klog line: a severity letter, then MMDD and a space.
fn is_klog(line: &str) -> bool {
    let b = line.as_bytes();
    b.len() > 6
        && matches!(b[0], b'I' | b'W' | b'E' | b'F')
        && b[1..5].iter().all(u8::is_ascii_digit)
        && b[5] == b' '
}

/// Runs kubectl. Errors only when kubectl cannot be started at all.
pub trait Kubectl {
    /// Runs `kubectl` with `args` and collects what it printed.
    fn run(&self, args: &[String]) -> io::Result<Reply>;
}

/// The `kubectl` on PATH, with the user's global flags (`--context`, `--kubeconfig`).
#[derive(Clone, Debug, Default)]
pub struct SystemKubectl {
    /// Flags put before every command.
    pub global: Vec<String>,
}

impl SystemKubectl {
    /// A `kubectl` command with the global flags and `args`.
    pub fn command(&self, args: &[String]) -> Command {
        let mut cmd = Command::new("kubectl");
        cmd.args(&self.global).args(args);
        cmd
    }
}

impl Kubectl for SystemKubectl {
    fn run(&self, args: &[String]) -> io::Result<Reply> {
        let out = self.command(args).output()?;
        Ok(Reply {
            success: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(stderr: &str) -> Reply {
        Reply {
            success: false,
            stdout: String::new(),
            stderr: stderr.into(),
        }
    }

    #[test]
    fn classifies_server_errors() {
        let nf = failed("Error from server (NotFound): nodes \"x\" not found\n");
        assert!(nf.not_found() && !nf.forbidden());
        assert_eq!(
            nf.error_line(),
            "Error from server (NotFound): nodes \"x\" not found"
        );
        let fb = failed(
            "Error from server (Forbidden): pods is forbidden: User \"bob\" cannot list resource \"pods\"\n",
        );
        assert!(fb.forbidden() && !fb.not_found());
    }

    #[test]
    fn first_line_without_prefix() {
        let r = failed("\nerror: You must be logged in to the server (Unauthorized)\nmore\n");
        assert_eq!(
            r.error_line(),
            "You must be logged in to the server (Unauthorized)"
        );
        assert_eq!(failed("").error_line(), "kubectl failed without a message");
        let klog = failed(
            "E0101 10:00:00.000000    4242 memcache.go:265] couldn't get current server API group list\n\
             The connection to the server localhost:8080 was refused\n",
        );
        assert_eq!(
            klog.error_line(),
            "The connection to the server localhost:8080 was refused"
        );
    }
}
