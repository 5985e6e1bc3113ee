//! The columns of the UI's tables: titles, widths, which to drop first on a narrow
//! terminal, and how each cell reads in rates or totals. Pure formatting.
use crate::{
    output::table::{bytes, micros},
    view::{RowStats, SortColumn},
};

use super::state::Mode;

/// A metric column of the pair tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    /// Established connections closed.
    Conns,
    /// Connects that failed.
    Failed,
    /// Bytes sent.
    Tx,
    /// Bytes received.
    Rx,
    /// Segments retransmitted.
    Retrans,
    /// Estimated share of bytes sent that were retransmissions.
    RetrPct,
    /// Segments marked lost.
    Lost,
    /// RTO timeouts.
    Rto,
    /// srtt median.
    SrttP50,
    /// srtt 99th percentile.
    SrttP99,
}

impl Column {
    /// Every column, in display order; the digit keys 1-9 and 0 sort by them in turn.
    pub const ALL: [Column; 10] = [
        Column::Conns,
        Column::Failed,
        Column::Tx,
        Column::Rx,
        Column::Retrans,
        Column::RetrPct,
        Column::Lost,
        Column::Rto,
        Column::SrttP50,
        Column::SrttP99,
    ];

    /// Every column, most important first: a narrow terminal drops from the end.
    pub const PRIORITY: [Column; 10] = [
        Column::Tx,
        Column::Rx,
        Column::Conns,
        Column::RetrPct,
        Column::SrttP99,
        Column::Failed,
        Column::Retrans,
        Column::SrttP50,
        Column::Lost,
        Column::Rto,
    ];

    /// The name in the column header.
    pub fn title(self) -> &'static str {
        match self {
            Column::Conns => "CONNS",
            Column::Failed => "FAILED",
            Column::Tx => "TX",
            Column::Rx => "RX",
            Column::Retrans => "RETRANS",
            Column::RetrPct => "RETR%",
            Column::Lost => "LOST",
            Column::Rto => "RTO",
            Column::SrttP50 => "SRTT p50",
            Column::SrttP99 => "SRTT p99",
        }
    }

    /// The header: the title, with `/s` on rates.
    pub fn header(self, mode: Mode) -> String {
        match (mode, self.is_rate()) {
            (Mode::Rates, true) => format!("{}/s", self.title()),
            _ => self.title().to_string(),
        }
    }

    /// True for columns shown per second in rates mode.
    fn is_rate(self) -> bool {
        !matches!(self, Column::RetrPct | Column::SrttP50 | Column::SrttP99)
    }

    /// Cells are right-aligned in this many columns.
    pub fn width(self) -> u16 {
        match self {
            Column::Conns => 7,
            Column::Failed => 8,
            Column::Tx | Column::Rx => 11,
            Column::Retrans => 9,
            Column::RetrPct => 6,
            Column::Lost => 7,
            Column::Rto => 6,
            Column::SrttP50 | Column::SrttP99 => 8,
        }
    }

    /// The sort order this column stands for.
    pub fn sort(self) -> SortColumn {
        match self {
            Column::Conns => SortColumn::Connections,
            Column::Failed => SortColumn::FailedConnects,
            Column::Tx => SortColumn::BytesSent,
            Column::Rx => SortColumn::BytesReceived,
            Column::Retrans => SortColumn::Retransmits,
            Column::RetrPct => SortColumn::RetransPct,
            Column::Lost => SortColumn::Lost,
            Column::Rto => SortColumn::Rto,
            Column::SrttP50 => SortColumn::SrttP50,
            Column::SrttP99 => SortColumn::SrttP99,
        }
    }

    /// The column that sorts by `sort`, if one does.
    pub fn of_sort(sort: SortColumn) -> Option<Column> {
        Column::ALL.into_iter().find(|c| c.sort() == sort)
    }

    /// The digit key that sorts by this column.
    pub fn key(self) -> char {
        let i = Column::ALL.iter().position(|c| *c == self).unwrap_or(0);
        char::from(b"1234567890"[i])
    }

    /// The column sorted by digit `key`.
    pub fn of_key(key: char) -> Option<Column> {
        Column::ALL.into_iter().find(|c| c.key() == key)
    }

    /// The cell of `s`. In rates mode counts are divided by `secs`, the interval's
    /// length; `-` when no interval has completed yet.
    pub fn cell(self, s: &RowStats, mode: Mode, secs: f64) -> String {
        let n = match self {
            Column::Conns => s.connections,
            Column::Failed => s.failed_connects,
            Column::Tx => s.bytes_sent,
            Column::Rx => s.bytes_received,
            Column::Retrans => s.retransmits,
            Column::Lost => s.lost,
            Column::Rto => match s.rto {
                Some(n) => n,
                None => return "-".into(),
            },
            Column::RetrPct => return pct(s.retrans_pct()),
            Column::SrttP50 => return micros(s.srtt_p50_us),
            Column::SrttP99 => return micros(s.srtt_p99_us),
        };
        let bytes_col = matches!(self, Column::Tx | Column::Rx);
        match mode {
            Mode::Totals if bytes_col => bytes(n),
            Mode::Totals => count(n),
            Mode::Rates if secs <= 0.0 => "-".into(),
            Mode::Rates if bytes_col => bytes((n as f64 / secs).round() as u64),
            Mode::Rates => rate(n as f64 / secs),
        }
    }
}

/// How many of [`Column::PRIORITY`] are essential: they may squeeze the key columns
/// down to their minimum; the rest only come when the keys keep their full width.
const ESSENTIAL: usize = 5;

/// The metric columns that fit in `width` next to two key columns, in display order.
/// Essential columns need the keys to keep `key_min` each, the others `key_want`. The
/// sort column is kept whenever it fits at all.
pub fn fit(width: u16, key_min: u16, key_want: u16, sort: SortColumn) -> Vec<Column> {
    let budget = |key: u16| i32::from(width) - 2 * i32::from(key) - 1;
    let mut chosen: Vec<Column> = Vec::new();
    let mut used = 0;
    let sorted = Column::of_sort(sort);
    let order = sorted.into_iter().map(|c| (c, true)).chain(
        Column::PRIORITY
            .iter()
            .enumerate()
            .map(|(i, c)| (*c, i < ESSENTIAL)),
    );
    for (c, essential) in order {
        let need = i32::from(c.width()) + 1;
        let room = budget(if essential {
            key_min
        } else {
            key_want.max(key_min)
        });
        if !chosen.contains(&c) && used + need <= room {
            used += need;
            chosen.push(c);
        }
    }
    Column::ALL
        .into_iter()
        .filter(|c| chosen.contains(c))
        .collect()
}

/// A count, compact above a million: `999999`, `1.23M`.
pub fn count(n: u64) -> String {
    match n {
        0..=999_999 => n.to_string(),
        1_000_000..=999_999_999 => format!("{:.2}M", n as f64 / 1e6),
        _ => format!("{:.2}G", n as f64 / 1e9),
    }
}

/// A rate per second: one decimal below 10, compact above a million.
pub fn rate(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if x < 10.0 {
        format!("{x:.1}")
    } else {
        count(x.round() as u64)
    }
}

/// A percentage: `-` when undefined, two decimals below 10%.
pub fn pct(p: Option<f64>) -> String {
    match p {
        None => "-".into(),
        Some(0.0) => "0%".into(),
        Some(p) if p < 10.0 => format!("{p:.2}%"),
        Some(p) if p < 100.0 => format!("{p:.1}%"),
        Some(_) => ">100%".into(),
    }
}

/// `s` cut to `width` characters, with an ellipsis in the middle so that both the
/// start (a deployment's name) and the end (a pod's hash) stay readable.
pub fn squeeze(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n <= width {
        return s.to_string();
    }
    if width <= 1 {
        return "…".chars().take(width).collect();
    }
    let head = (width - 1).div_ceil(2);
    let tail = width - 1 - head;
    let start: String = s.chars().take(head).collect();
    let end: String = s.chars().skip(n - tail).collect();
    format!("{start}…{end}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats() -> RowStats {
        RowStats {
            connections: 10,
            failed_connects: 1,
            bytes_sent: 3 * 1448 * 100,
            bytes_received: 2048,
            retransmits: 3,
            lost: 1,
            srtt_p50_us: Some(850),
            srtt_p90_us: Some(1200),
            srtt_p99_us: Some(12_345),
            srtt_max_us: Some(20_000),
            rto: None,
            rto_recoveries: None,
            rto_time_ms: None,
        }
    }

    #[test]
    fn cells_in_totals_and_rates() {
        let s = stats();
        let cell = |c: Column, m, secs| c.cell(&s, m, secs);
        assert_eq!(cell(Column::Conns, Mode::Totals, 0.0), "10");
        assert_eq!(cell(Column::Conns, Mode::Rates, 4.0), "2.5");
        assert_eq!(cell(Column::Conns, Mode::Rates, 0.0), "-");
        assert_eq!(cell(Column::Rx, Mode::Totals, 0.0), "2 KiB");
        assert_eq!(cell(Column::Rx, Mode::Rates, 2.0), "1 KiB");
        // 3 segments of 1448 bytes out of 300 segments' worth: 1%.
        assert_eq!(cell(Column::RetrPct, Mode::Rates, 1.0), "1.00%");
        assert_eq!(cell(Column::Rto, Mode::Totals, 0.0), "-");
        assert_eq!(cell(Column::SrttP50, Mode::Rates, 1.0), "850us");
        assert_eq!(cell(Column::SrttP99, Mode::Totals, 1.0), "12.3ms");
        assert_eq!(Column::Tx.header(Mode::Rates), "TX/s");
        assert_eq!(Column::SrttP99.header(Mode::Rates), "SRTT p99");
    }

    #[test]
    fn numbers_stay_narrow() {
        assert_eq!(count(999_999), "999999");
        assert_eq!(count(1_234_567), "1.23M");
        assert_eq!(count(98_765_432_100), "98.77G");
        assert_eq!(
            (rate(0.0), rate(0.25), rate(12.6)),
            ("0".into(), "0.2".into(), "13".into())
        );
        assert_eq!(pct(Some(0.004)), "0.00%");
        assert_eq!(pct(Some(250.0)), ">100%");
        for c in Column::ALL {
            assert!(
                c.header(Mode::Rates).len() <= usize::from(c.width()),
                "{c:?}"
            );
            assert!(c.cell(&stats(), Mode::Totals, 1.0).len() <= usize::from(c.width()));
        }
        assert!(bytes(1024 * 1024 - 1).len() <= usize::from(Column::Tx.width()));
    }

    #[test]
    fn narrow_terminals_drop_columns_by_priority() {
        let all = fit(200, 20, 20, SortColumn::Bytes);
        assert_eq!(all, Column::ALL);
        let narrow = fit(80, 14, 14, SortColumn::Bytes);
        assert_eq!(
            narrow,
            [
                Column::Conns,
                Column::Tx,
                Column::Rx,
                Column::RetrPct,
                Column::SrttP99
            ]
        );
        let used: u16 = narrow.iter().map(|c| c.width() + 1).sum::<u16>() + 2 * 14 + 1;
        assert!(used <= 80, "{used}");
        // The sort column survives.
        assert!(fit(80, 14, 14, SortColumn::Lost).contains(&Column::Lost));
        assert!(fit(20, 14, 14, SortColumn::Bytes).is_empty());
        // Long keys keep their width rather than make room for minor columns...
        let wide_keys = fit(120, 16, 24, SortColumn::Bytes);
        assert!(!wide_keys.contains(&Column::Rto) && wide_keys.contains(&Column::SrttP99));
        // ...but not at the cost of an essential one.
        assert_eq!(fit(80, 14, 30, SortColumn::Bytes), narrow);
    }

    #[test]
    fn keys_and_squeezing() {
        assert_eq!(Column::Conns.key(), '1');
        assert_eq!(Column::SrttP99.key(), '0');
        assert_eq!(Column::of_key('6'), Some(Column::RetrPct));
        assert_eq!(squeeze("payments-api-7f9c6d-x2kq", 12), "paymen…-x2kq");
        assert_eq!(squeeze("short", 12), "short");
        assert_eq!(squeeze("abc", 1), "…");
    }
}
