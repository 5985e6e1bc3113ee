//! The metric columns of the UI's pair tables, derived from the metric table: which fit
//! a narrow terminal, and how each cell reads in rates or totals. Pure formatting.
use super::model::Mode;
use crate::view::{metric::UiColumn, MetricId, RowStats};

/// A metric column of the pair tables: a metric of [`crate::view::metric::METRICS`]
/// that has a UI column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    id: MetricId,
    ui: UiColumn,
}

impl Column {
    /// Every column, in display order; the digit keys 1-9 and 0 sort by them in turn.
    pub fn all() -> Vec<Column> {
        MetricId::shown(|m| m.ui.is_some())
            .into_iter()
            .filter_map(Column::of_sort)
            .collect()
    }

    /// Every column, most important first: a narrow terminal drops from the end.
    pub fn by_priority() -> Vec<Column> {
        let mut all = Column::all();
        all.sort_by_key(|c| c.ui.priority);
        all
    }

    /// The column of the metric named `name`, if the UI shows it.
    pub fn named(name: &str) -> Option<Column> {
        MetricId::named(name).and_then(Column::of_sort)
    }

    /// The name in the column header.
    pub fn title(self) -> &'static str {
        self.id.metric().title
    }

    /// The header: the title, with `/s` on rates.
    pub fn header(self, mode: Mode) -> String {
        match (mode, self.id.metric().unit.per_second()) {
            (Mode::Rates, true) => format!("{}/s", self.title()),
            _ => self.title().to_string(),
        }
    }

    /// Cells are right-aligned in this many columns.
    pub fn width(self) -> u16 {
        self.ui.width
    }

    /// The metric this column shows and sorts by.
    pub fn sort(self) -> MetricId {
        self.id
    }

    /// The column that sorts by `sort`, if one does.
    pub fn of_sort(sort: MetricId) -> Option<Column> {
        sort.metric().ui.map(|ui| Column { id: sort, ui })
    }

    /// The digit key that sorts by this column: the first ten columns have one.
    pub fn key(self) -> Option<char> {
        let i = Column::all().iter().position(|c| *c == self)?;
        b"1234567890".get(i).map(|k| char::from(*k))
    }

    /// The column sorted by digit `key`.
    pub fn of_key(key: char) -> Option<Column> {
        Column::all().into_iter().find(|c| c.key() == Some(key))
    }

    /// True when a source that knows `known` has values for this column.
    pub fn known(self, known: crate::collector::Known) -> bool {
        known.live || !self.id.metric().live
    }

    /// The cell of `s`. In rates mode sums are divided by `secs`, the interval's
    /// length; `-` when no interval has completed yet.
    pub fn cell(self, s: &RowStats, mode: Mode, secs: f64) -> String {
        let unit = self.id.metric().unit;
        match (mode, self.id.value(s)) {
            (Mode::Rates, Some(_)) if unit.per_second() && secs <= 0.0 => "-".into(),
            (Mode::Rates, Some(v)) if unit.per_second() => unit.format_rate(v.as_f64() / secs),
            (_, v) => unit.format(v),
        }
    }
}

/// How many of [`Column::by_priority`] are essential: they may squeeze the key columns
/// down to their minimum; the rest only come when the keys keep their full width.
const ESSENTIAL: usize = 5;

/// The metric columns that fit in `width` next to two key columns, in display order.
/// Essential columns need the keys to keep `key_min` each, the others `key_want`. The
/// sort column is kept whenever it fits at all. Columns `known` has no values for are
/// left out.
pub fn fit(
    width: u16,
    key_min: u16,
    key_want: u16,
    sort: MetricId,
    known: crate::collector::Known,
) -> Vec<Column> {
    let budget = |key: u16| i32::from(width) - 2 * i32::from(key) - 1;
    let mut chosen: Vec<Column> = Vec::new();
    let mut used = 0;
    let sorted = Column::of_sort(sort);
    let order = sorted.into_iter().map(|c| (c, true)).chain(
        Column::by_priority()
            .into_iter()
            .enumerate()
            .map(|(i, c)| (c, i < ESSENTIAL)),
    );
    for (c, essential) in order {
        let need = i32::from(c.width()) + 1;
        let room = budget(if essential {
            key_min
        } else {
            key_want.max(key_min)
        });
        if c.known(known) && !chosen.contains(&c) && used + need <= room {
            used += need;
            chosen.push(c);
        }
    }
    Column::all()
        .into_iter()
        .filter(|c| chosen.contains(c))
        .collect()
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
    use crate::{collector::Counters, view::format::bytes};

    /// The column of metric `name`.
    pub fn col(name: &str) -> Column {
        Column::named(name).expect("a UI column")
    }

    fn stats() -> RowStats {
        RowStats {
            counters: Counters {
                connections: 10,
                failed_connects: 1,
                bytes_sent: 3 * 1448 * 100,
                data_segs_out: 300,
                bytes_received: 2048,
                retransmits: 3,
                lost: 1,
                ..Counters::default()
            },
            srtt_p50_us: Some(850),
            srtt_p90_us: Some(1200),
            srtt_p99_us: Some(12_345),
            srtt_max_us: Some(20_000),
            open: 0,
            known: Default::default(),
        }
    }

    #[test]
    fn cells_in_totals_and_rates() {
        let s = stats();
        let cell = |c: &str, m, secs| col(c).cell(&s, m, secs);
        assert_eq!(cell("connections", Mode::Totals, 0.0), "10");
        assert_eq!(cell("connections", Mode::Rates, 4.0), "2.5");
        assert_eq!(cell("connections", Mode::Rates, 0.0), "-");
        assert_eq!(cell("bytes_received", Mode::Totals, 0.0), "2 KiB");
        assert_eq!(cell("bytes_received", Mode::Rates, 2.0), "1 KiB");
        // 3 segments resent out of 300 data segments sent: 1%.
        assert_eq!(cell("retrans_pct", Mode::Rates, 1.0), "1.00%");
        assert_eq!(cell("rto", Mode::Totals, 0.0), "-");
        assert_eq!(cell("srtt_p50_us", Mode::Rates, 1.0), "850us");
        assert_eq!(cell("srtt_p99_us", Mode::Totals, 1.0), "12.3ms");
        assert_eq!(col("bytes_sent").header(Mode::Rates), "TX/s");
        assert_eq!(col("srtt_p99_us").header(Mode::Rates), "SRTT p99");
    }

    #[test]
    fn cells_fit_their_columns() {
        for c in Column::all() {
            assert!(
                c.header(Mode::Rates).len() <= usize::from(c.width()),
                "{c:?}"
            );
            assert!(c.cell(&stats(), Mode::Totals, 1.0).len() <= usize::from(c.width()));
        }
        assert!(bytes(1024 * 1024 - 1).len() <= usize::from(col("bytes_sent").width()));
    }

    /// A source without live sampling.
    const K: crate::collector::Known = crate::collector::Known {
        rto: true,
        live: false,
    };

    #[test]
    fn narrow_terminals_drop_columns_by_priority() {
        let bytes_sort = MetricId::BYTES;
        let all = fit(200, 20, 20, bytes_sort, K);
        let known: Vec<Column> = Column::all().into_iter().filter(|c| c.known(K)).collect();
        assert_eq!(all, known);
        let live = crate::collector::Known {
            rto: true,
            live: true,
        };
        assert!(fit(200, 20, 20, bytes_sort, live).contains(&col("open")));
        let narrow = fit(80, 14, 14, bytes_sort, K);
        let names: Vec<&str> = narrow.iter().map(|c| c.sort().name()).collect();
        assert_eq!(
            names,
            [
                "connections",
                "bytes_sent",
                "bytes_received",
                "retrans_pct",
                "srtt_p99_us"
            ]
        );
        let used: u16 = narrow.iter().map(|c| c.width() + 1).sum::<u16>() + 2 * 14 + 1;
        assert!(used <= 80, "{used}");
        // The sort column survives.
        let lost = col("lost");
        assert!(fit(80, 14, 14, lost.sort(), K).contains(&lost));
        assert!(fit(20, 14, 14, bytes_sort, K).is_empty());
        // Long keys keep their width rather than make room for minor columns...
        let wide_keys = fit(120, 16, 24, bytes_sort, K);
        assert!(!wide_keys.contains(&col("rto")) && wide_keys.contains(&col("srtt_p99_us")));
        // ...but not at the cost of an essential one.
        assert_eq!(fit(80, 14, 30, bytes_sort, K), narrow);
    }

    #[test]
    fn keys_and_squeezing() {
        assert_eq!(col("connections").key(), Some('1'));
        assert_eq!(col("srtt_p99_us").key(), Some('0'));
        assert_eq!(col("open").key(), None, "only ten columns have a digit");
        assert_eq!(Column::of_key('6'), Some(col("retrans_pct")));
        assert_eq!(squeeze("payments-api-7f9c6d-x2kq", 12), "paymen…-x2kq");
        assert_eq!(squeeze("short", 12), "short");
        assert_eq!(squeeze("abc", 1), "…");
    }
}
