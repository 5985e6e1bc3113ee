//! The command line: flags, their parsing and validation. Usage errors become one line
//! and exit status 2.
use std::{
    net::{Ipv6Addr, SocketAddr},
    path::PathBuf,
    str::FromStr,
    time::Duration,
};

use clap::{error::ErrorKind, Parser};

use crate::{
    aggregation::{parse_dimensions, Dimension, DEFAULT_MAX_ROWS},
    collector::kernel::DEFAULT_RING_BYTES,
    output::Format,
    view::MetricId,
};

/// top for TCP on a Kubernetes node: traffic, retransmits, loss and RTT between
/// namespaces, pods and zones, from the kernel's own per-socket counters.
#[derive(Debug, Parser)]
#[command(name = "tcptop", version, about)]
pub struct Args {
    /// Collect for --duration, print one snapshot and exit (for scripts and runbooks).
    #[arg(long)]
    pub once: bool,

    /// How long --once collects, e.g. 500ms, 5s, 2m (at most 24h).
    #[arg(long, value_name = "DURATION", default_value = "5s", allow_hyphen_values = true, value_parser = parse_window)]
    pub duration: Duration,

    /// How often the interactive UI refreshes, e.g. 500ms, 1s, 5s (100ms to 1h).
    #[arg(long, value_name = "DURATION", default_value = "1s", allow_hyphen_values = true, value_parser = parse_interval)]
    pub interval: Duration,

    /// Write every attributed record to FILE as it arrives (JSON lines; see --replay).
    #[arg(long, value_name = "FILE", conflicts_with = "replay")]
    pub record: Option<PathBuf>,

    /// Play a recording made with --record, without root or a kernel: into the UI at
    /// the pace it was recorded, or all of it into --once.
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,

    /// Group rows by these dimensions of both ends: ip, pod, namespace, node, az, service.
    #[arg(
        long,
        value_name = "DIM[,DIM...]",
        default_value = "namespace,az",
        value_delimiter = ','
    )]
    pub group_by: Vec<Dimension>,

    /// Sort rows by this column, largest first: bytes (sent + received) or any output
    /// field such as retransmits or srtt_p99_us.
    #[arg(long, value_name = "COLUMN", default_value = "bytes")]
    pub sort: MetricId,

    /// Show at most N rows.
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,

    /// Keep at most N rows in memory; beyond, the pairs idle longest fold into one
    /// `other` row, exactly, and are counted (`rows_folded`).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_ROWS, value_parser = parse_max_rows)]
    pub max_rows: usize,

    /// Output format of --once: table, json or csv.
    #[arg(long, value_name = "FORMAT", default_value = "table")]
    pub output: Format,

    /// With --once --output json: list each row's sockets, open and closed in the
    /// window, with all their fields (`connections`), as `ss -ti` would.
    #[arg(long, requires = "once")]
    pub connections: bool,

    /// Do not contact Kubernetes; every dimension but ip reads `unknown`.
    #[arg(long)]
    pub no_kube: bool,

    /// Path of the kubeconfig file to use (else KUBECONFIG, ~/.kube/config, then the
    /// pod's service account).
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,

    /// The kubeconfig context to use (default: its current context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,

    /// Node label holding the zone. The default falls back to
    /// failure-domain.beta.kubernetes.io/zone.
    #[arg(long, value_name = "KEY", default_value = crate::attribution::kube::records::ZONE_LABEL)]
    pub zone_label: String,

    /// How long a deleted pod keeps owning its IPs, for sockets that close after it
    /// (at most 24h).
    #[arg(long, value_name = "DURATION", default_value = "2m", allow_hyphen_values = true, value_parser = parse_window)]
    pub tombstone_grace: Duration,

    /// Count closed connections only: do not sample open sockets (as on kernels before
    /// 5.11, where live sampling is not possible).
    #[arg(long)]
    pub no_live: bool,

    /// Ring buffer size in bytes (a power of two, at least 4096).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_RING_BYTES, value_parser = parse_ring_bytes, hide = true)]
    pub ring_bytes: u32,

    /// Run as the node daemon (the DaemonSet's main process): collect all the time and
    /// serve Prometheus metrics on --metrics-address until SIGTERM or SIGINT.
    #[arg(long, conflicts_with_all = ["once", "replay", "record"])]
    pub daemon: bool,

    /// Where --daemon serves /metrics: `:PORT` (every address), `IP:PORT` or `[IPv6]:PORT`.
    #[arg(long, value_name = "ADDR", default_value = ":9435", value_parser = parse_listen, requires = "daemon")]
    pub metrics_address: SocketAddr,

    /// Label the daemon's series by these dimensions of both ends (`local_<dim>`,
    /// `peer_<dim>`): the operator chooses the cardinality.
    #[arg(
        long,
        value_name = "DIM[,DIM...]",
        default_value = "namespace,az",
        value_delimiter = ',',
        requires = "daemon"
    )]
    pub metrics_group_by: Vec<Dimension>,

    /// Keep at most N label sets in the daemon's series (the `other` set included);
    /// beyond, new label sets count under `other`, exactly.
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = parse_max_rows, requires = "daemon")]
    pub metrics_max_series: usize,

    /// How much history --daemon keeps, per pair at 1 s resolution (at most 24h).
    #[arg(long, value_name = "DURATION", default_value = "30m", allow_hyphen_values = true, value_parser = parse_window, requires = "daemon")]
    pub history: Duration,

    /// The most memory the history may take, e.g. 64MiB or 1GiB; beyond, its oldest
    /// seconds go first, and are counted.
    #[arg(long, value_name = "BYTES", default_value = "64MiB", value_parser = parse_bytes, requires = "daemon")]
    pub history_memory: usize,

    /// The daemon's socket: --daemon listens there; the UI attaches to it when it
    /// answers, and --once --since reads from it.
    #[arg(long, value_name = "PATH", default_value = crate::app::attach::DEFAULT_SOCKET)]
    pub socket: PathBuf,

    /// With --once: print the daemon's history of this long ago until now (e.g. 10m)
    /// instead of collecting a new window.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, value_parser = parse_window, requires = "once", conflicts_with = "replay")]
    pub since: Option<Duration>,

    /// Also serve the series of an older exporter: `ebpf-exporter` (ebpf_exporter's
    /// tcp-life config: `ebpf_exporter_tcp_ipv4_*`).
    #[arg(long, value_name = "EXPORTER", requires = "daemon")]
    pub metrics_compat: Option<Compat>,

    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) or the
    /// man page (man) for packaging, and exit.
    #[arg(long, value_name = "WHAT", hide = true)]
    pub generate: Option<String>,

    /// Kernel BTF file to read offsets from.
    #[arg(long, value_name = "PATH", default_value = crate::collector::offsets::VMLINUX_BTF, hide = true)]
    pub btf: PathBuf,
}

/// An older exporter whose series `--metrics-compat` serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compat {
    /// ebpf_exporter with its tcp-life config.
    EbpfExporter,
}

impl FromStr for Compat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ebpf-exporter" => Ok(Compat::EbpfExporter),
            _ => Err(format!("unknown exporter '{s}': use ebpf-exporter")),
        }
    }
}

/// A size such as `4096`, `512KiB`, `64MiB` or `1GiB` (at least 64 KiB).
fn parse_bytes(s: &str) -> Result<usize, String> {
    let bad = || format!("'{s}' is not a size: use a form such as 64MiB, 512KiB or 1GiB");
    let t = s.trim();
    let (num, mult) = [
        ("GiB", 1usize << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
        ("B", 1),
    ]
    .iter()
    .find_map(|(suffix, m)| t.strip_suffix(suffix).map(|n| (n, *m)))
    .unwrap_or((t, 1));
    let n: usize = num.trim().parse().map_err(|_| bad())?;
    let bytes = n.checked_mul(mult).ok_or_else(bad)?;
    if bytes < 64 << 10 {
        return Err(format!("'{s}' is too small: give at least 64KiB"));
    }
    Ok(bytes)
}

/// `--metrics-address`: `:PORT` listens on every address, IPv4 and IPv6.
fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    let bad = || format!("'{s}' is not a listen address: use :9435, 127.0.0.1:9435 or [::1]:9435");
    match s.strip_prefix(':') {
        Some(port) => Ok(SocketAddr::new(
            Ipv6Addr::UNSPECIFIED.into(),
            port.parse().map_err(|_| bad())?,
        )),
        None => s.parse().map_err(|_| bad()),
    }
}

/// The shortest UI refresh interval accepted.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);
/// The longest UI refresh interval accepted.
pub const MAX_INTERVAL: Duration = Duration::from_secs(3600);
/// The longest `--duration` and `--tombstone-grace` accepted.
pub const MAX_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// Parses durations such as `500ms`, `5s` and `2m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    if s.trim().starts_with('-') {
        return Err(format!(
            "'{s}' is negative: give a positive duration such as 5s"
        ));
    }
    let d = humantime::parse_duration(s.trim())
        .map_err(|_| format!("'{s}' is not a duration: use a form such as 500ms, 5s or 2m"))?;
    if d.is_zero() {
        return Err(format!("'{s}' is zero: give a positive duration"));
    }
    Ok(d)
}

/// A duration of at most `max`.
fn parse_at_most(s: &str, max: Duration) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d > max {
        return Err(format!(
            "'{s}' is too long: use at most {}",
            humantime::format_duration(max)
        ));
    }
    Ok(d)
}

/// `--duration` and `--tombstone-grace`: up to [`MAX_WINDOW`].
fn parse_window(s: &str) -> Result<Duration, String> {
    parse_at_most(s, MAX_WINDOW)
}

/// `--interval`: up to [`MAX_INTERVAL`] (the lower bound is checked after parsing,
/// with a message naming the flag).
fn parse_interval(s: &str) -> Result<Duration, String> {
    parse_at_most(s, MAX_INTERVAL)
}

fn parse_max_rows(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 2 => Ok(n),
        _ => Err(format!("'{s}' is not a row count of at least 2")),
    }
}

fn parse_ring_bytes(s: &str) -> Result<u32, String> {
    let n: u32 = s
        .parse()
        .map_err(|_| format!("'{s}' is not a byte count"))?;
    if n < 4096 || !n.is_power_of_two() {
        return Err(format!("{n} is not a power of two of at least 4096"));
    }
    Ok(n)
}

/// What parsing the command line came to.
#[derive(Debug)]
pub enum Parsed {
    /// Run with these arguments.
    Run(Box<Args>),
    /// Print this (help or version) to stdout and exit 0.
    Print(String),
    /// Print this one-line usage error and exit 2.
    Usage(String),
}

/// Parses `argv` and checks what clap cannot.
pub fn parse<I, T>(argv: I) -> Parsed
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args = match Args::try_parse_from(argv) {
        Ok(a) if a.generate.is_some() => {
            return match generate(a.generate.as_deref().unwrap_or_default()) {
                Ok(text) => Parsed::Print(text),
                Err(msg) => Parsed::Usage(msg),
            };
        }
        Ok(a) => a,
        Err(e) => {
            return match e.kind() {
                ErrorKind::DisplayHelp => Parsed::Print(e.to_string()),
                ErrorKind::DisplayVersion => Parsed::Print(
                    crate::build_info::BuildInfo::detect(
                        crate::collector::offsets::VMLINUX_BTF.as_ref(),
                    )
                    .to_string(),
                ),
                _ => Parsed::Usage(one_line(&e)),
            }
        }
    };
    for (flag, dims) in [
        ("--group-by", &args.group_by),
        ("--metrics-group-by", &args.metrics_group_by),
    ] {
        let listed: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
        if let Err(e) = parse_dimensions(&listed.join(",")) {
            return Parsed::Usage(format!("invalid value for {flag}: {e}"));
        }
    }
    if args.interval < MIN_INTERVAL {
        return Parsed::Usage(format!(
            "--interval {} is too short: use at least 100ms",
            humantime::format_duration(args.interval)
        ));
    }
    if args.connections && args.output != Format::Json {
        return Parsed::Usage("--connections lists sockets in JSON only: add --output json".into());
    }
    if let Some(path) = &args.kubeconfig {
        if let Err(problem) = crate::attribution::kube::config::check_file(path) {
            return Parsed::Usage(format!(
                "kubeconfig file {problem}: check --kubeconfig, or pass --no-kube"
            ));
        }
    }
    Parsed::Run(Box::new(args))
}

/// A completion script for `what` (a shell), or the man page (`man`), from the clap
/// definitions.
fn generate(what: &str) -> Result<String, String> {
    use clap::CommandFactory;
    let mut cmd = Args::command();
    let mut out = Vec::new();
    if what == "man" {
        clap_mangen::Man::new(cmd)
            .render(&mut out)
            .map_err(|e| format!("cannot render the man page: {e}"))?;
    } else {
        let shell: clap_complete::Shell = what.parse().map_err(|_| {
            format!("--generate {what}: use bash, zsh, fish, elvish, powershell or man")
        })?;
        clap_complete::generate(shell, &mut cmd, "tcptop", &mut out);
    }
    String::from_utf8(out).map_err(|e| format!("not UTF-8: {e}"))
}

/// Shortens a clap error to one line that ends in what to do.
fn one_line(e: &clap::Error) -> String {
    let rendered = e.render().to_string();
    let mut lines = rendered.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut first = lines
        .next()
        .unwrap_or("invalid arguments")
        .trim_start_matches("error: ")
        .to_string();
    // "the following required arguments were not provided:" names them below.
    if first.ends_with(':') {
        if let Some(what) = lines.next() {
            first = format!("{first} {what}");
        }
    }
    format!("{first} (see tcptop --help)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Args {
        match parse(std::iter::once("tcptop").chain(args.iter().copied())) {
            Parsed::Run(a) => *a,
            other => panic!("{other:?}"),
        }
    }

    fn usage(args: &[&str]) -> String {
        match parse(std::iter::once("tcptop").chain(args.iter().copied())) {
            Parsed::Usage(m) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let a = run(&["--once"]);
        assert!(a.once);
        assert_eq!(a.duration, Duration::from_secs(5));
        assert_eq!(a.group_by, vec![Dimension::Namespace, Dimension::Az]);
        assert_eq!(a.sort, MetricId::BYTES);
        assert_eq!(a.output, Format::Table);
        assert_eq!(a.top, None);
        assert_eq!(a.context, None);
        assert_eq!(a.zone_label, "topology.kubernetes.io/zone");
        assert_eq!(a.tombstone_grace, Duration::from_secs(120));
        assert_eq!(a.interval, Duration::from_secs(1));
        assert_eq!((a.record, a.replay), (None, None));
    }

    #[test]
    fn kube_flags_parse() {
        let a = run(&[
            "--context",
            "prod",
            "--zone-label",
            "example.com/rack",
            "--tombstone-grace",
            "30s",
        ]);
        assert_eq!(a.context.as_deref(), Some("prod"));
        assert_eq!(a.zone_label, "example.com/rack");
        assert_eq!(a.tombstone_grace, Duration::from_secs(30));
    }

    #[test]
    fn ui_flags() {
        let a = run(&["--interval", "250ms", "--record", "/tmp/r.jsonl"]);
        assert_eq!(a.interval, Duration::from_millis(250));
        assert_eq!(
            a.record.as_deref(),
            Some(std::path::Path::new("/tmp/r.jsonl"))
        );
        let a = run(&["--once", "--replay", "r.jsonl"]);
        assert_eq!(a.replay.as_deref(), Some(std::path::Path::new("r.jsonl")));
    }

    #[test]
    fn daemon_flags() {
        let a = run(&["--daemon"]);
        assert_eq!(a.metrics_address, "[::]:9435".parse().unwrap());
        assert_eq!(
            a.metrics_group_by,
            vec![Dimension::Namespace, Dimension::Az]
        );
        assert_eq!((a.metrics_max_series, a.metrics_compat), (10_000, None));
        let a = run(&[
            "--daemon",
            "--metrics-address",
            "127.0.0.1:0",
            "--metrics-compat",
            "ebpf-exporter",
            "--metrics-group-by",
            "workload",
        ]);
        assert_eq!(a.metrics_address, "127.0.0.1:0".parse().unwrap());
        assert_eq!(a.metrics_compat, Some(Compat::EbpfExporter));
        assert_eq!(a.metrics_group_by, vec![Dimension::Workload]);
        let a = run(&["--daemon", "--history", "5m", "--history-memory", "1GiB"]);
        assert_eq!(
            (a.history, a.history_memory),
            (Duration::from_secs(300), 1 << 30)
        );
        assert_eq!(run(&["--daemon"]).history_memory, 64 << 20);
        let a = run(&["--once", "--since", "10m", "--socket", "/tmp/t.sock"]);
        assert_eq!(a.since, Some(Duration::from_secs(600)));
        assert_eq!(a.socket, std::path::Path::new("/tmp/t.sock"));
    }

    #[test]
    fn completions_and_the_man_page_come_from_the_flags() {
        let out = |what: &str| match parse(["tcptop", "--generate", what]) {
            Parsed::Print(t) => t,
            other => panic!("{other:?}"),
        };
        assert!(out("bash").contains("--metrics-address"));
        assert!(out("zsh").contains("--daemon"));
        assert!(out("fish").contains("metrics-compat"));
        let man = out("man");
        assert!(
            man.starts_with(".ie") || man.contains(".TH tcptop"),
            "{man}"
        );
        assert!(man.contains("daemon"));
        assert!(!man.contains("generate"), "hidden flags stay out");
        assert!(
            matches!(parse(["tcptop", "--generate", "tcsh"]), Parsed::Usage(m) if m.contains("use bash"))
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert!(parse_duration("5 parsecs")
            .unwrap_err()
            .contains("500ms, 5s or 2m"));
        assert!(parse_duration("0s").unwrap_err().contains("zero"));
    }

    #[test]
    fn flags_parse() {
        let a = run(&[
            "--once",
            "--duration",
            "1s",
            "--group-by",
            "ip",
            "--sort",
            "retransmits",
            "--top",
            "3",
            "--output",
            "json",
        ]);
        assert_eq!(a.group_by, vec![Dimension::Ip]);
        assert_eq!(a.sort.name(), "retransmits");
        assert_eq!((a.top, a.output), (Some(3), Format::Json));
    }

    #[test]
    fn bad_input_is_one_line() {
        for (args, needle) in [
            (&["--duration", "soon"][..], "500ms"),
            (&["--group-by", "zone"], "unknown dimension 'zone'"),
            (&["--sort", "speed"], "unknown sort column"),
            (&["--output", "xml"], "table, json or csv"),
            (&["--bogus"], "--bogus"),
            (&["--interval", "10ms"], "at least 100ms"),
            (&["--interval", "300000000000y"], "too long: use at most 1h"),
            (&["--duration", "-1s"], "'-1s' is negative"),
            (&["--duration", "25h"], "at most 1day"),
            (&["--tombstone-grace", "1000000000000d"], "too long"),
            (&["--max-rows", "1"], "at least 2"),
            (&["--record", "a", "--replay", "b"], "cannot be used with"),
            (&["--daemon", "--once"], "cannot be used with"),
            (&["--metrics-address", ":9435"], "--daemon"),
            (&["--daemon", "--metrics-address", "9435"], "127.0.0.1:9435"),
            (
                &["--daemon", "--metrics-compat", "node"],
                "use ebpf-exporter",
            ),
            (&["--daemon", "--metrics-max-series", "1"], "at least 2"),
            (&["--daemon", "--history-memory", "lots"], "64MiB"),
            (&["--daemon", "--history-memory", "1KiB"], "at least 64KiB"),
            (&["--since", "10m"], "--once"),
            (&["--once", "--since", "soon"], "500ms"),
            (
                &["--daemon", "--metrics-group-by", "ip,ip"],
                "--metrics-group-by",
            ),
            (
                &["--kubeconfig", "/nonexistent/kubeconfig"],
                "does not exist",
            ),
            (
                &["--kubeconfig", "/dev/null"],
                "a character device, not a regular file",
            ),
            (&["--kubeconfig", "/"], "is a directory, not a regular file"),
        ] {
            let m = usage(args);
            assert!(m.contains(needle), "{m}");
            assert!(!m.contains('\n'), "{m}");
        }
    }
}
