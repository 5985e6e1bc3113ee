//! Round trips and rejected files.
use std::{io::Cursor, path::Path, time::Duration};

use super::*;
use crate::{
    attribution::{AttributedClose, AttributedFolded, Attribution, Item},
    collector::{CloseEvent, Counters, DropCounters, FoldedTotals, Origin},
};

fn items() -> Vec<Item> {
    let owner = Attribution {
        namespace: "shop".into(),
        pod: "web-1".into(),
        node: "n1".into(),
        az: "az-a".into(),
        service: crate::attribution::NO_SERVICE.into(),
        workload: crate::attribution::NO_WORKLOAD.into(),
        port: None,
        process: None,
    };
    vec![
        Item::Close(AttributedClose {
            event: CloseEvent {
                local: "10.0.0.1:4000".parse().unwrap(),
                peer: "[fd00::2]:443".parse().unwrap(),
                counters: Counters {
                    connections: 1,
                    bytes_sent: 1 << 40,
                    bytes_received: 7,
                    retransmits: 3,
                    lost: 1,
                    rto_timeouts: 1,
                    rto_recoveries: 1,
                    rto_time_ms: 200,
                    ..Counters::default()
                },
                srtt_us: 250,
                origin: Origin::Accept,
                lifetime_us: Some(1_000_000),
                id: None,
                gauges: Default::default(),
                cgroup: None,
                process: None,
            },
            local: owner.clone(),
            peer: Attribution::unknown(),
        }),
        Item::Folded(AttributedFolded {
            totals: FoldedTotals {
                local: "10.0.0.1".parse().unwrap(),
                peer: "0.0.0.0".parse().unwrap(),
                counters: Counters {
                    connections: 3,
                    failed_connects: 1,
                    bytes_sent: 10,
                    bytes_received: 20,
                    ..Counters::default()
                },
            },
            local: owner,
            peer: Attribution::unknown(),
            srtt: Default::default(),
        }),
        Item::Drops(DropCounters {
            folded: 4,
            lost: 0,
            missed: 0,
            unnoted: 1,
        }),
    ]
}

fn header() -> Header {
    Header::new(
        "node-a".into(),
        "6.18.4".into(),
        crate::collector::Known {
            rto: true,
            live: true,
        },
    )
}

fn recording_with(h: &Header) -> Vec<u8> {
    let mut r = Recorder::new(Vec::new(), Path::new("mem"), h).unwrap();
    for (i, item) in items().iter().enumerate() {
        r.write(Duration::from_millis(10 * i as u64), item).unwrap();
    }
    r.flush().unwrap();
    r.into_inner()
}

fn recording() -> Vec<u8> {
    recording_with(&header())
}

fn open(bytes: &[u8]) -> Result<Replay<Cursor<Vec<u8>>>, RecordError> {
    Replay::new(Cursor::new(bytes.to_vec()), Path::new("rec.jsonl"))
}

fn read_all(bytes: &[u8]) -> Result<Vec<Line>, RecordError> {
    let mut r = open(bytes)?;
    let mut out = Vec::new();
    while let Some(l) = r.next_line()? {
        out.push(l);
    }
    Ok(out)
}

#[test]
fn round_trip_keeps_every_item() {
    // One header: two calls would take two start times.
    let h = header();
    let bytes = recording_with(&h);
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(
        text.starts_with(r#"{"format":"tcptop-record","version":1,"#),
        "{text}"
    );
    assert!(text.contains(r#"{"t_ms":0,"close":{"event":"#), "{text}");
    let r = open(&bytes).unwrap();
    assert_eq!(r.header(), &h);
    let lines = read_all(&bytes).unwrap();
    let got: Vec<Item> = lines.iter().map(|l| l.item.clone()).collect();
    assert_eq!(got, items());
    assert_eq!(
        lines.iter().map(|l| l.t_ms).collect::<Vec<_>>(),
        [0, 10, 20]
    );
}

#[test]
fn blank_lines_are_skipped() {
    let mut bytes = recording();
    bytes.extend_from_slice(b"\n\n");
    assert_eq!(read_all(&bytes).unwrap().len(), 3);
}

fn error(bytes: &[u8]) -> String {
    let e = read_all(bytes).unwrap_err().to_string();
    assert!(!e.contains('\n'), "{e}");
    e
}

#[test]
fn bad_files_get_one_clear_line() {
    let good = String::from_utf8(recording()).unwrap();
    let header_line = good.lines().next().unwrap();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (vec![], "rec.jsonl is empty"),
        (b"hello world\n".to_vec(), "not a tcptop recording"),
        (b"\x00\xff\xfe binary".to_vec(), "not a tcptop recording"),
        (br#"{"format":"pcap"}"#.to_vec(), "not a tcptop recording"),
        (
            br#"{"format":"tcptop-record","version":2,"tcptop":"9.0.0"}"#.to_vec(),
            "version 2 tcptop recording, this tcptop reads version 1",
        ),
        (
            br#"{"format":"tcptop-record","version":99999999999999999999}"#.to_vec(),
            "version 99999999999999999999 tcptop recording",
        ),
        (
            br#"{"format":"tcptop-record","version":-1}"#.to_vec(),
            "version -1 tcptop recording",
        ),
        (
            br#"{"format":"tcptop-record","version":"1"}"#.to_vec(),
            r#"version "1" tcptop recording"#,
        ),
        (
            br#"{"format":"tcptop-record"}"#.to_vec(),
            "version none tcptop recording",
        ),
        (
            br#"{"format":"tcptop-record","version":1}"#.to_vec(),
            "line 1: not a valid tcptop record (header: missing field",
        ),
        (
            format!("{header_line}\n{{\"t_ms\":1,\"close\":{{}}}}\n").into_bytes(),
            "line 2: not a valid tcptop record",
        ),
        (
            format!("{header_line}\n{{\"t_ms\":1,\"bogus\":{{}}}}\n").into_bytes(),
            "line 2: not a valid tcptop record",
        ),
        (
            format!(
                "{header_line}\n{}\n{}\n",
                good.lines().nth(2).unwrap(),
                good.lines().nth(1).unwrap()
            )
            .into_bytes(),
            "line 3: not a valid tcptop record (t_ms 0 is before the previous line's 10)",
        ),
        (
            format!(
                "{header_line}\n{}\n",
                good.lines()
                    .nth(2)
                    .unwrap()
                    .replace(r#""records":4"#, r#""records":0"#)
            )
            .into_bytes(),
            "line 2: not a valid tcptop record (failed_connects 1 exceeds records 0)",
        ),
    ];
    for (bytes, want) in cases {
        let e = error(&bytes);
        assert!(e.contains(want), "{e:?} lacks {want:?}");
        assert!(
            !e.contains("at line 1"),
            "serde's own line number misleads: {e}"
        );
    }
}

#[test]
fn files_that_cannot_be_opened() {
    let e = Replay::open(Path::new("/nonexistent/rec.jsonl"))
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.starts_with("cannot open replay file /nonexistent/rec.jsonl"),
        "{e}"
    );
    let e = Replay::open(Path::new("/")).err().unwrap().to_string();
    assert!(e.contains("not a tcptop recording"), "{e}");
    let e = Recorder::create(Path::new("/nonexistent/rec.jsonl"), &header())
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.starts_with("cannot create recording /nonexistent/rec.jsonl"),
        "{e}"
    );
}

#[test]
fn a_full_disk_is_an_error() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let e = Recorder::new(full, Path::new("/dev/full"), &header())
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.starts_with("cannot write recording /dev/full: No space left"),
        "{e}"
    );
}

/// A disk with room for `room` more bytes: a write past it is cut short, then fails.
struct Tight {
    bytes: Vec<u8>,
    room: usize,
}

impl std::io::Write for Tight {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.room == 0 {
            return Err(std::io::Error::from_raw_os_error(libc::ENOSPC));
        }
        let n = buf.len().min(self.room);
        self.bytes.extend_from_slice(&buf[..n]);
        self.room -= n;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl write::Sink for Tight {
    fn cut(&mut self, len: u64) -> std::io::Result<()> {
        self.bytes.truncate(len as usize);
        Ok(())
    }
}

#[test]
fn a_disk_that_fills_up_leaves_whole_lines() {
    let tight = Tight {
        bytes: Vec::new(),
        room: 1500,
    };
    let mut r = Recorder::new(tight, Path::new("tight"), &header()).unwrap();
    let mut failed = false;
    for (i, item) in items().iter().cycle().take(200).enumerate() {
        let wrote = r.write(Duration::from_millis(i as u64), item);
        if wrote.and_then(|()| r.flush()).is_err() {
            failed = true;
            break;
        }
    }
    assert!(failed, "the disk filled up");
    let bytes = r.into_inner().bytes;
    assert!(bytes.ends_with(b"\n"), "a torn last line");
    let lines = read_all(&bytes).expect("what was kept replays");
    assert!(!lines.is_empty());
}

#[test]
fn a_torn_last_line_is_reported_and_the_rest_replays() {
    let good = recording();
    let torn = &good[..good.len() - 20];
    let mut r = open(torn).unwrap();
    let mut n = 0;
    while r.next_line().unwrap().is_some() {
        n += 1;
    }
    assert_eq!((n, r.torn()), (2, Some(4)));
    let mut whole = open(&good).unwrap();
    while whole.next_line().unwrap().is_some() {}
    assert_eq!(whole.torn(), None);
}
