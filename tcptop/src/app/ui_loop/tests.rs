//! The whole UI loop on a test backend, with scripted keys and a scripted feed, on
//! tokio's paused clock: pausing, recording and the end of a replay, without a terminal.
use std::{
    cell::{Cell, RefCell},
    collections::VecDeque,
    io,
    path::PathBuf,
    rc::Rc,
    time::Duration,
};

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use futures::stream::{self, Stream, StreamExt};
use ratatui::{backend::TestBackend, Terminal};

use super::*;
use crate::{
    aggregation::Dimension,
    app::source::{Feed, Pulled, SourceInfo},
    collector::cost::{BpfStats, CostSample},
    record::Replay,
    testdata::{close, owner},
    ui::{state::App, theme::Level, HeaderInfo, Kube, Session, Theme},
    view::{
        live::{Ledger, Period},
        MetricId,
    },
};

/// What the scripted feed does at a time after the start.
enum Step {
    Items(Vec<Item>),
    Attach(SourceInfo),
    End,
}

/// A feed that plays `steps` at their times, then waits forever.
struct Script {
    start: tokio::time::Instant,
    steps: VecDeque<(Duration, Step)>,
    finished: bool,
    /// With a cost: each sample one second after the previous, from this start, and
    /// the samples so far.
    cost: Option<(std::time::Instant, Cell<u64>)>,
}

impl Script {
    fn new(steps: Vec<(u64, Step)>) -> Self {
        Self {
            start: tokio::time::Instant::now(),
            steps: steps
                .into_iter()
                .map(|(ms, s)| (Duration::from_millis(ms), s))
                .collect(),
            finished: false,
            cost: None,
        }
    }
}

impl Feed for Script {
    async fn pull(&mut self, out: &mut Vec<Item>) -> Result<Pulled> {
        let Some((at, _)) = self.steps.front() else {
            return std::future::pending().await;
        };
        // Cancel-safe: the step leaves the queue only once it is due.
        tokio::time::sleep_until(self.start + *at).await;
        let (_, step) = self.steps.pop_front().expect("a step is due");
        Ok(match step {
            Step::Items(items) => {
                out.extend(items);
                Pulled::Items
            }
            Step::Attach(info) => Pulled::Attached(info),
            Step::End => Pulled::Ended(None),
        })
    }

    fn finish(&mut self, _out: &mut Vec<Item>) {
        self.finished = true;
    }

    /// Each second 100 runs, 1 us of BPF time and 1 ms of CPU.
    fn cost(&self) -> Option<CostSample> {
        let (start, n) = self.cost.as_ref()?;
        n.set(n.get() + 1);
        Some(CostSample {
            at: *start + Duration::from_secs(n.get()),
            stats_enabled: true,
            bpf: BpfStats {
                run_count: 100 * n.get(),
                run_time_ns: 1_000 * n.get(),
            },
            cpu: Some(Duration::from_millis(n.get())),
        })
    }
}

/// A close of `tx` bytes between web and db.
fn item(tx: u64) -> Item {
    let (web, db) = (
        owner("web", "web-1", "n1", "az-a"),
        owner("db", "db-0", "n2", "az-b"),
    );
    Item::Close(close(
        "10.0.0.1:1",
        "10.0.1.1:5432",
        (&web, &db),
        tx,
        0,
        0,
        100,
    ))
}

/// Keys at times after the start.
fn keys(script: Vec<(u64, char)>) -> impl Stream<Item = Input> + Unpin {
    let start = tokio::time::Instant::now();
    Box::pin(stream::iter(script).then(move |(ms, c)| async move {
        tokio::time::sleep_until(start + Duration::from_millis(ms)).await;
        Input::Term(Event::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        )))
    }))
}

fn session() -> Session {
    let app = App::new(&[Dimension::Namespace, Dimension::Az], MetricId::BYTES);
    let ledger = Ledger::new(Default::default(), app.group_by(), 100, usize::MAX);
    let info = HeaderInfo {
        version: "test".into(),
        node: "n1".into(),
        kernel: "6.18".into(),
        kube: Kube::disabled(),
        notes: vec![HeaderInfo::replay_note("demo.jsonl")],
        cost: None,
    };
    Session::new(app, ledger, info, Theme::new(false))
}

/// A writer the test can read after the loop has it.
#[derive(Clone, Default)]
struct Shared(Rc<RefCell<Vec<u8>>>);

impl io::Write for Shared {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl crate::record::write::Sink for Shared {
    fn cut(&mut self, len: u64) -> io::Result<()> {
        self.0.borrow_mut().truncate(len as usize);
        Ok(())
    }
}

fn no_kube() -> Option<Kube> {
    None
}

/// Runs the loop with a 1 s interval until the keys run out (a closed input ends it).
async fn run_loop<F: Feed>(
    ui: &mut Session,
    term: &mut Terminal<TestBackend>,
    feed: F,
    keys: impl Stream<Item = Input> + Unpin,
    record: Option<(Shared, PathBuf)>,
) {
    let config = LoopConfig {
        interval: Duration::from_secs(1),
        record,
        kube: &no_kube,
        history: None,
    };
    run(term, ui, keys, feed, config)
        .await
        .expect("the loop runs");
}

fn screen(term: &Terminal<TestBackend>) -> String {
    term.backend().to_string()
}

/// Bytes sent by everything `ledger` has taken in.
fn sent(ledger: &Ledger) -> u64 {
    ledger
        .summary(Period::Total, Duration::ZERO)
        .counters
        .bytes_sent
}

#[tokio::test(start_paused = true)]
async fn pause_freezes_the_screen_while_collection_goes_on() {
    let mut ui = session();
    let mut term = Terminal::new(TestBackend::new(120, 30)).unwrap();
    let feed = Script::new(vec![
        (100, Step::Items(vec![item(1000)])),
        (2_500, Step::Items(vec![item(7777)])),
        (4_500, Step::Items(vec![item(5)])),
    ]);
    // Totals; pause at 2 s; a key that does nothing at 5 s, then the keys run out.
    let keys1 = keys(vec![(50, 't'), (2_000, ' '), (5_000, 'x')]);
    run_loop(&mut ui, &mut term, feed, keys1, None).await;
    assert!(ui.app.paused, "a pause never ends by itself");
    assert_eq!(sent(&ui.ledger), 1000 + 7777 + 5, "collection went on");
    let frozen = screen(&term);
    assert!(frozen.contains("PAUSED"), "{frozen}");
    assert!(frozen.contains("1000 B"), "{frozen}");
    assert!(!frozen.contains("KiB"), "the frozen screen moved: {frozen}");

    // Resume: the screen shows everything collected.
    let keys2 = keys(vec![(10, ' ')]);
    run_loop(&mut ui, &mut term, Script::new(vec![]), keys2, None).await;
    assert!(!ui.app.paused);
    let live = screen(&term);
    assert!(live.contains("8.58 KiB"), "{live}");
    assert!(!live.contains("PAUSED"), "{live}");
}

#[tokio::test(start_paused = true)]
async fn records_go_to_the_recording_once_the_source_attached() {
    let mut ui = session();
    let mut term = Terminal::new(TestBackend::new(100, 24)).unwrap();
    let info = SourceInfo {
        node: "n1".into(),
        kernel: "6.18".into(),
        known: crate::collector::Known {
            rto: true,
            live: false,
        },
        live_off: None,
        features: None,
    };
    let feed = Script::new(vec![
        (100, Step::Attach(info)),
        (200, Step::Items(vec![item(10), item(20)])),
        (1_500, Step::Items(vec![item(30)])),
    ]);
    let out = Shared::default();
    let record = Some((out.clone(), PathBuf::from("mem.jsonl")));
    run_loop(&mut ui, &mut term, feed, keys(vec![(2_000, 'q')]), record).await;
    assert!(ui.ledger.known().rto, "the attached source's facts count");
    let bytes = out.0.borrow().clone();
    let mut replay = Replay::new(io::Cursor::new(bytes), "mem.jsonl".as_ref()).unwrap();
    assert!(replay.header().rto);
    let mut sent = Vec::new();
    while let Some(line) = replay.next_line().unwrap() {
        if let Item::Close(c) = line.item {
            sent.push(c.event.counters.bytes_sent);
        }
    }
    assert_eq!(sent, [10, 20, 30]);
}

#[tokio::test(start_paused = true)]
async fn the_end_of_a_replay_is_shown_and_the_ui_stays() {
    let mut ui = session();
    let mut term = Terminal::new(TestBackend::new(100, 24)).unwrap();
    let feed = Script::new(vec![(100, Step::Items(vec![item(10)])), (200, Step::End)]);
    run_loop(&mut ui, &mut term, feed, keys(vec![(5_000, 't')]), None).await;
    let text = screen(&term);
    assert!(text.contains("REPLAY demo.jsonl (ended)"), "{text}");
    assert!(!ui.app.quit, "the UI stays after the replay ends");
    assert!(text.contains("10 B"), "{text}");
    assert_eq!(sent(&ui.ledger), 10);
    assert_eq!(ui.info.notes[0].1, Level::Off);
}

#[tokio::test(start_paused = true)]
async fn the_header_shows_the_cost_of_each_interval_once_attached() {
    let mut ui = session();
    let mut term = Terminal::new(TestBackend::new(160, 24)).unwrap();
    let info = SourceInfo {
        node: "n1".into(),
        kernel: "6.18".into(),
        known: Default::default(),
        live_off: None,
        features: None,
    };
    let mut feed = Script::new(vec![(100, Step::Attach(info))]);
    feed.cost = Some((std::time::Instant::now(), Cell::new(0)));
    run_loop(&mut ui, &mut term, feed, keys(vec![(1_500, 'x')]), None).await;
    let text = screen(&term);
    assert!(
        text.contains("bpf 100 runs 1us (10ns/run) · cpu 0.10%"),
        "{text}"
    );
}
