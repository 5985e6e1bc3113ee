//! Loads the embedded eBPF program, attaches it to `inet_sock_set_state` and the two
//! reset tracepoints, and drains its ring buffer and overflow maps. This module,
//! `misses` and `cost` (the programs' run statistics) are the only ones that talk to
//! the kernel's BPF interface.
mod overflow;

use std::{
    error::Error as StdError,
    io,
    os::fd::{AsRawFd, RawFd},
    path::Path,
};

use aya::{
    maps::{MapData, PerCpuArray, RingBuf},
    programs::BtfTracePoint,
    Btf, Ebpf, EbpfLoader, Endianness,
};
use tcptop_common::{stat, Config};
use thiserror::Error;

use super::{
    btf,
    cgroups::Names,
    decode::Decoder,
    hz::{self, HzError},
    live::SockSample,
    memlock, misses,
    offsets::{self, Features, OffsetError, RESET_TRACEPOINTS, TRACEPOINT},
    sampler::{self, Sampler},
    DropCounters, FoldedTotals, Record,
};

/// The eBPF object built by build.rs.
static PROGRAM: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/tcptop-ebpf"));

/// The program for kernels without `bpf_skc_to_tcp_sock`.
const COMPAT_PROGRAM: &str = "inet_sock_set_state_compat";

/// Default ring buffer size: room for about 2,700 records.
pub const DEFAULT_RING_BYTES: u32 = 256 * 1024;

/// How often userspace drains the ring buffer and the overflow maps without being
/// woken: the program wakes the reader only when a quarter of the ring is full.
pub const DRAIN_INTERVAL: std::time::Duration = std::time::Duration::from_millis(100);

/// Why the collector could not start.
#[derive(Debug, Error)]
pub enum LoadError {
    /// Not root and no CAP_BPF/CAP_PERFMON.
    #[error("permission denied loading the eBPF program: run tcptop as root, or with CAP_BPF and CAP_PERFMON (for example `kubectl debug node/NAME -it --profile=sysadmin`, or a privileged pod)")]
    NotPermitted,
    /// No BTF, no tracepoint, or BTF without the fields tcptop needs.
    #[error(transparent)]
    Btf(#[from] OffsetError),
    /// The kernel's tick rate is not known.
    #[error(transparent)]
    Hz(#[from] HzError),
    /// Anything else the kernel refused.
    #[error("cannot load the eBPF program: {0}")]
    Kernel(String),
}

/// Load-time choices.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Ring buffer size in bytes: a power of two and a multiple of the page size.
    pub ring_bytes: u32,
    /// Load the `bpf_probe_read_kernel` program even where the fast one would load
    /// (tests use it to check the program that 5.8 kernels get).
    pub compat: bool,
    /// Try live sampling of open sockets (off: closed connections only).
    pub live: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            ring_bytes: DEFAULT_RING_BYTES,
            compat: false,
            live: true,
        }
    }
}

/// The loaded, attached program and its maps.
pub struct KernelCollector {
    events: RingBuf<MapData>,
    overflow: overflow::Overflow,
    stats: PerCpuArray<MapData, u64>,
    features: Features,
    decoder: Decoder,
    program: &'static str,
    sampler: Option<Sampler>,
    names: Names,
    live_off: Option<String>,
    // Dropping the program detaches it; it must outlive the maps above.
    ebpf: Ebpf,
}

impl KernelCollector {
    /// Resolves offsets from `btf_path`, loads the program and attaches it. Records flow
    /// from the moment this returns. Live sampling is tried first where BTF has what
    /// it needs; where the kernel refuses it, the program is loaded again without it,
    /// and [`KernelCollector::live_sampling`] says why.
    pub fn load(btf_path: &Path, opts: &LoadOptions) -> Result<Self, LoadError> {
        // aya's loader parses the kernel's BTF (15 ms here) for CO-RE relocations,
        // which tcptop's object has none of, and cannot be told not to: it does so on a
        // thread of its own, and drops what it parsed there, while the offsets are
        // resolved here. It gets the cut the programs' attach points are looked up in
        // instead, against which a relocation would fail loudly.
        let loader = std::thread::spawn(|| {
            let mut loader = EbpfLoader::new();
            loader.btf(None);
            loader
        });
        let data = offsets::read(btf_path)?;
        memlock::raise();
        let own = offsets::parse(btf_path, &data)?;
        let (mut config, features) = offsets::check_and_resolve(&own)?;
        let decoder = Decoder {
            jiffy_us: hz::jiffy_us(&crate::host::kernel_release())?,
        };
        config.wakeup_bytes = opts.ring_bytes / 4;
        let btf = attach_btf(&own)?;
        let mut loader: EbpfLoader<'_> = loader
            .join()
            .map_err(|_| LoadError::Kernel("aya's loader panicked".into()))?;
        loader.btf(Some(&btf));
        let live_config = Config { live: 1, ..config };
        let why_not = if !opts.live {
            "live sampling is off (--no-live)".to_string()
        } else if !features.live {
            "this kernel's BTF lacks the socket iterators (they need Linux 5.11+)".to_string()
        } else {
            match Self::attach(&mut loader, &btf, &live_config, features, decoder, opts) {
                Ok(c) => return Ok(c),
                Err(LoadError::NotPermitted) => return Err(LoadError::NotPermitted),
                Err(e) => format!(
                    "the kernel refused the live sampler (it needs Linux 5.11+): {}",
                    one_line(&e.to_string())
                ),
            }
        };
        let mut c = Self::attach(&mut loader, &btf, &config, features, decoder, opts)?;
        c.live_off = Some(why_not);
        Ok(c)
    }

    /// Loads the object with `config`, the live sampler when `config.live` is set, and
    /// attaches the tracepoint.
    fn attach<'a>(
        loader: &mut EbpfLoader<'a>,
        btf: &Btf,
        config: &'a Config,
        features: Features,
        decoder: Decoder,
        opts: &LoadOptions,
    ) -> Result<Self, LoadError> {
        let mut ebpf = loader
            .override_global("CONFIG", config, true)
            .map_max_entries("EVENTS", opts.ring_bytes)
            .load(PROGRAM)
            .map_err(|e| classify(&e))?;
        let sampler = match config.live {
            0 => None,
            _ => Some(Sampler::load(&mut ebpf, btf).map_err(LoadError::Kernel)?),
        };
        // The fast program needs bpf_skc_to_tcp_sock (5.9+); 5.8 gets the compat one.
        let mut last = None;
        let mut loaded = TRACEPOINT;
        let order = if opts.compat {
            [COMPAT_PROGRAM, COMPAT_PROGRAM]
        } else {
            [TRACEPOINT, COMPAT_PROGRAM]
        };
        for name in order {
            match load_and_attach(&mut ebpf, name, TRACEPOINT, btf) {
                Ok(()) => {
                    loaded = name;
                    last = None;
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        if let Some(err) = last {
            return Err(err);
        }
        for name in RESET_TRACEPOINTS {
            load_and_attach(&mut ebpf, name, name, btf)?;
        }
        let take = |ebpf: &mut Ebpf, name: &str| {
            ebpf.take_map(name)
                .ok_or_else(|| LoadError::Kernel(format!("map {name} missing")))
        };
        let events = RingBuf::try_from(take(&mut ebpf, "EVENTS")?).map_err(|e| classify(&e))?;
        let overflow =
            overflow::Overflow::new(&mut ebpf).map_err(|e| LoadError::Kernel(e.to_string()))?;
        let stats = PerCpuArray::try_from(take(&mut ebpf, "STATS")?).map_err(|e| classify(&e))?;
        let names = Names::new(&mut ebpf);
        Ok(Self {
            events,
            overflow,
            stats,
            features,
            decoder,
            program: loaded,
            sampler,
            names,
            live_off: None,
            ebpf,
        })
    }

    /// The name of the program that was loaded.
    pub fn program(&self) -> &'static str {
        self.program
    }

    /// What the running kernel offers.
    pub fn features(&self) -> Features {
        self.features
    }

    /// Hands every record waiting in the ring buffer to `sink`; returns how many.
    pub fn drain_events(&mut self, mut sink: impl FnMut(Record)) -> usize {
        let mut n = 0;
        while let Some(item) = self.events.next() {
            if let Some(mut record) = self.decoder.record(&item) {
                if let Record::Close(e) = &mut record {
                    let (cgroup, comm) = Decoder::maker(&item);
                    e.cgroup = self.names.name(cgroup);
                    e.process = self.names.process(&comm);
                }
                sink(record);
                n += 1;
            }
        }
        n
    }

    /// Hands the totals folded into the overflow maps since the previous call to `sink`,
    /// one per address pair, and removes them from the kernel. While records overflow,
    /// each call waits for one RCU grace period (milliseconds) before it reads.
    pub fn drain_overflow(&mut self, mut sink: impl FnMut(FoldedTotals)) {
        let folded = self.stat(stat::FOLDED);
        let decoder = self.decoder;
        self.overflow.drain(folded, |key, totals| {
            if let Some(f) = decoder.folded(key.local_addr, key.peer_addr, totals) {
                sink(f);
            }
        });
    }

    /// A pass of the live sampler: hands every open socket it follows to `sink`, and
    /// returns the kernel's clock (nanoseconds since boot) at the pass. Without the
    /// sampler, nothing.
    pub fn sample_open(&mut self, sink: impl FnMut(SockSample)) -> Result<u64, String> {
        match self.sampler.as_mut() {
            Some(s) => s.pass(&self.decoder, &mut self.names, sink),
            None => Ok(0),
        }
    }

    /// Whether open sockets are sampled, or why not.
    pub fn live_sampling(&self) -> Result<(), String> {
        match &self.live_off {
            None => Ok(()),
            Some(why) => Err(why.clone()),
        }
    }

    /// Closes the kernel skipped the program for, where the kernel reports it (5.12+).
    pub fn recursion_misses(&self) -> Option<u64> {
        self.ebpf
            .program(self.program)
            .and_then(|p| p.fd().ok())
            .and_then(misses::recursion_misses)
    }

    /// Records whose detail, or whole self, was lost so far.
    pub fn drops(&self) -> DropCounters {
        DropCounters {
            folded: self.stat(stat::FOLDED),
            lost: self.stat(stat::LOST),
            missed: self.recursion_misses().unwrap_or(0),
            unnoted: self.stat(stat::UNNOTED),
        }
    }

    /// tcptop's own cost counters now: the runs and run time of every program it
    /// loaded, and its CPU time.
    pub fn cost(&self) -> super::cost::CostSample {
        super::cost::sample(&self.ebpf)
    }

    /// The `STATS` counter `index`, summed over CPUs.
    fn stat(&self, index: u32) -> u64 {
        self.stats
            .get(&index, 0)
            .map(|v| v.iter().sum::<u64>())
            .unwrap_or(0)
    }
}

impl AsRawFd for KernelCollector {
    /// The ring buffer's descriptor: readable when records wait.
    fn as_raw_fd(&self) -> RawFd {
        self.events.as_raw_fd()
    }
}

/// The cut of the kernel's BTF (`own`) with the programs' attach points: the
/// tracepoints' `btf_trace_*` typedefs and the live sampler's iterator function.
fn attach_btf(own: &btf::Btf) -> Result<Btf, LoadError> {
    let typedefs: Vec<String> = std::iter::once(TRACEPOINT)
        .chain(RESET_TRACEPOINTS)
        .map(|t| format!("btf_trace_{t}"))
        .collect();
    let typedefs: Vec<&str> = typedefs.iter().map(String::as_str).collect();
    let iter = format!("bpf_iter_{}", sampler::TARGET);
    Btf::parse(&own.cut(&typedefs, &[&iter]), Endianness::default())
        .map_err(|e| LoadError::Kernel(format!("cannot parse kernel BTF: {e}")))
}

/// Loads the BTF tracepoint program `name` for `tracepoint` and attaches it.
fn load_and_attach(
    ebpf: &mut Ebpf,
    name: &str,
    tracepoint: &str,
    btf: &Btf,
) -> Result<(), LoadError> {
    let program: &mut BtfTracePoint = ebpf
        .program_mut(name)
        .ok_or_else(|| LoadError::Kernel(format!("program {name} missing from the object")))?
        .try_into()
        .map_err(|e| classify(&e))?;
    program.load(tracepoint, btf).map_err(|e| classify(&e))?;
    program.attach().map_err(|e| classify(&e))?;
    Ok(())
}

/// A kernel error in one line: a verifier log is cut to the line that says what it
/// refused.
fn one_line(msg: &str) -> String {
    let Some((head, log)) = msg.split_once("Verifier output:") else {
        return msg.lines().next().unwrap_or(msg).to_string();
    };
    let lines: Vec<&str> = log
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let refused = lines
        .iter()
        .position(|l| l.starts_with("verification time") || l.starts_with("processed "))
        .and_then(|i| i.checked_sub(1))
        .and_then(|i| lines.get(i))
        .or_else(|| lines.last())
        .copied()
        .unwrap_or("");
    format!("{}: verifier: {refused}", head.trim().trim_end_matches('.'))
}

/// Turns an aya error into a [`LoadError`], spotting permission problems anywhere in the
/// error chain.
fn classify(err: &(dyn StdError + 'static)) -> LoadError {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            // EACCES also means "rejected by the verifier": only EPERM is privilege.
            if io.raw_os_error() == Some(libc::EPERM) {
                return LoadError::NotPermitted;
            }
        }
        cur = e.source();
    }
    let mut msg = err.to_string();
    let mut src = err.source();
    while let Some(e) = src {
        msg.push_str(": ");
        msg.push_str(&e.to_string());
        src = e.source();
    }
    LoadError::Kernel(msg)
}
