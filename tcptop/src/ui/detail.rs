//! The detail pane: for a pair, its srtt histogram (exp2 buckets as bars, with p50,
//! p90 and p99 from the HdrHistogram) and its counters; for a connection, its record.
use ratatui::{
    layout::Rect,
    text::{Line, Span},
    widgets::{Block, Paragraph},
    Frame,
};

use super::{
    columns::squeeze,
    model::{pair_label, Conn, Mode, Selected},
    screen::Screen,
    socket::{owners, when},
};
use crate::{
    aggregation::Metrics,
    collector::Counters,
    view::{
        format::{count, micros, pct},
        sockets::GAUGES,
        MetricId,
    },
};

/// Width of a bucket's label, e.g. `≤131.1ms`.
const LABEL: usize = 8;
/// Width of a bucket's count.
const COUNT: usize = 7;
/// Bars are at most this long.
const MAX_BAR: usize = 64;
/// The pane shows two columns of buckets from this inner width.
const TWO_COLUMNS: u16 = 70;

/// Draws the pane for the selected row.
pub fn render(frame: &mut Frame, area: Rect, s: &Screen) {
    let span = match s.app.mode {
        Mode::Rates => format!("last {:.1}s", s.ledger.last_interval().as_secs_f64()),
        Mode::Totals => "since start".to_string(),
    };
    let selected = s.app.level().selected.as_ref();
    let (title, lines) = match selected {
        Some(Selected::Pair(key)) => {
            let table = s.ledger.table(s.app.mode.period());
            let lines = match table.metrics(key) {
                Some(m) => pair_lines(m, s, area),
                None => vec![Line::from("no data for this row")],
            };
            (format!(" srtt · {} · {span} ", pair_label(key)), lines)
        }
        Some(sel @ (Selected::Conn(_) | Selected::Open(_))) => (
            " connection · Enter: all fields ".to_string(),
            s.listing
                .conn(sel)
                .map_or_else(Vec::new, |c| conn_lines(c, s)),
        ),
        None => (
            " detail ".to_string(),
            vec![Line::from("select a row").style(s.theme.dim())],
        ),
    };
    let title = squeeze(&title, usize::from(area.width.saturating_sub(2)));
    let block = Block::bordered().title(title).border_style(s.theme.dim());
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// Percentiles, counters, then the histogram's bars.
fn pair_lines<'a>(m: &Metrics, s: &Screen, area: Rect) -> Vec<Line<'a>> {
    let t = s.theme;
    let h = &m.srtt;
    let q = |q: f64| micros(h.quantile(q));
    let mut lines = vec![
        Line::from(vec![
            Span::styled("p50 ", t.dim()),
            Span::styled(q(0.5), t.header()),
            Span::styled("  p90 ", t.dim()),
            Span::styled(q(0.9), t.header()),
            Span::styled("  p99 ", t.dim()),
            Span::styled(q(0.99), t.header()),
            Span::styled("  max ", t.dim()),
            Span::raw(micros(h.max())),
            Span::styled(
                format!(
                    "  {} sample{}",
                    h.len(),
                    if h.len() == 1 { "" } else { "s" }
                ),
                t.dim(),
            ),
        ]),
        Line::from(counters(&m.counters, s.ledger.known().rto)).style(t.dim()),
        Line::from(limit(&m.counters)).style(t.dim()),
        Line::from(failures(&m.counters)).style(t.dim()),
    ];
    let inner_w = area.width.saturating_sub(2);
    let rows = usize::from(area.height.saturating_sub(2)).saturating_sub(lines.len());
    let most = if inner_w >= TWO_COLUMNS { 2 } else { 1 };
    let buckets = fit_buckets(&h.exp2_buckets(), rows * most);
    let cols = if buckets.len() <= rows { 1 } else { most };
    if buckets.is_empty() {
        lines.push(
            Line::from("no srtt samples: failed connects and overflow totals carry none")
                .style(t.dim()),
        );
        return lines;
    }
    let col_w = usize::from(inner_w) / cols;
    let bar_w = col_w.saturating_sub(LABEL + COUNT + 3).min(MAX_BAR);
    let max = buckets.iter().map(|b| b.1).max().unwrap_or(1).max(1);
    let cell = |(upper, n): (u64, u64)| {
        vec![
            Span::raw(format!("{:>LABEL$} ", format!("≤{}", micros(Some(upper))))),
            Span::styled(format!("{:<bar_w$}", bar(n, max, bar_w)), t.bar()),
            Span::raw(format!(" {:>COUNT$} ", count(n))),
        ]
    };
    let per_col = buckets.len().div_ceil(cols);
    for r in 0..per_col {
        let mut spans = Vec::new();
        for c in 0..cols {
            if let Some(b) = buckets.get(c * per_col + r) {
                spans.extend(cell(*b));
            }
        }
        lines.push(Line::from(spans));
    }
    lines
}

/// A row's counters in one line; `rto` says whether the kernel has RTO counters.
fn counters(c: &Counters, rto: bool) -> String {
    let rto = if rto {
        format!("  {}", rto_text(c))
    } else {
        String::new()
    };
    format!(
        "conns {}  retrans {} ({} of {} segments)  lost {}{rto}",
        count(c.connections),
        count(c.retransmits),
        pct(c.retrans_pct()),
        count(c.data_segs_out),
        count(c.lost)
    )
}

/// What limited sending, with the busy time and the shares behind it.
fn limit(c: &Counters) -> String {
    let share = |us: u64| {
        let p = (c.busy_us > 0).then(|| us as f64 * 100.0 / c.busy_us as f64);
        format!("{} ({})", micros(Some(us)), pct(p))
    };
    format!(
        "limit {}  busy {}  rwnd-limited {}  sndbuf-limited {}",
        c.limit().map_or("-", |l| l.name()),
        micros(Some(c.busy_us)),
        share(c.rwnd_limited_us),
        share(c.sndbuf_limited_us)
    )
}

/// Failed connects by cause, and resets each way.
fn failures(c: &Counters) -> String {
    format!(
        "failed {} (refused {}, timed out {})  resets sent {}  received {}",
        count(c.failed_connects),
        count(c.refused),
        count(c.timed_out),
        count(c.resets_sent),
        count(c.resets_received)
    )
}

/// RTO timeouts, with the recovery episodes (stalls) and time in them when any.
fn rto_text(c: &Counters) -> String {
    match c.rto_recoveries {
        0 => format!("rto {}", c.rto_timeouts),
        n => format!(
            "rto {} ({n} stall{}, {})",
            c.rto_timeouts,
            if n == 1 { "" } else { "s" },
            micros(Some(c.rto_time_ms.saturating_mul(1000)))
        ),
    }
}

/// The exp2 buckets from the first holding samples to the last, merged in pairs until
/// at most `slots` remain. Each keeps its upper bound; counts add up.
pub fn fit_buckets(buckets: &[(u64, u64)], slots: usize) -> Vec<(u64, u64)> {
    let first = buckets.iter().position(|b| b.1 > 0);
    let last = buckets.iter().rposition(|b| b.1 > 0);
    let (Some(first), Some(last)) = (first, last) else {
        return Vec::new();
    };
    let mut out = buckets[first..=last].to_vec();
    let slots = slots.max(1);
    while out.len() > slots {
        // Merge from the top, so the largest bucket keeps the maximum's bound.
        let mut merged = Vec::with_capacity(out.len().div_ceil(2));
        let odd = out.len() % 2;
        if odd == 1 {
            merged.push(out[0]);
        }
        for pair in out[odd..].chunks(2) {
            merged.push((pair[1].0, pair[0].1 + pair[1].1));
        }
        out = merged;
    }
    out
}

/// A bar of `width` cells for `n` of `max`, in eighths of a cell; at least a sliver
/// for any non-zero count.
pub fn bar(n: u64, max: u64, width: usize) -> String {
    const EIGHTHS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    let eighths = (n as u128 * width as u128 * 8 / max.max(1) as u128) as usize;
    let eighths = if n > 0 { eighths.max(1) } else { 0 };
    let mut s = "█".repeat(eighths / 8);
    if eighths % 8 > 0 {
        s.push(EIGHTHS[eighths % 8]);
    }
    s
}

/// A connection in five lines: ends and state, owners, counters, congestion state.
fn conn_lines<'a>(c: Conn, s: &Screen) -> Vec<Line<'a>> {
    let t = s.theme;
    let k = c.socket(s.ledger.known(), s.ledger.open().now_ns());
    let named = |title: &str, value: String| format!("{} {value}", title.to_lowercase());
    let metrics = [
        "bytes_sent",
        "bytes_received",
        "retransmits",
        "lost",
        "rto",
        "limit",
    ]
    .iter()
    .filter_map(|n| MetricId::named(n))
    .map(|m| named(m.metric().title, m.format(&k.stats)));
    let gauges = GAUGES.iter().map(|g| named(g.title, g.format(&k)));
    let [local, peer] = owners(&c, s);
    vec![
        Line::from(vec![
            Span::styled(format!("{} → {}", k.local, k.peer), t.header()),
            Span::raw(format!(
                "  {} {}, {}",
                k.state,
                k.direction.unwrap_or("-"),
                when(&c, s)
            )),
        ]),
        local,
        peer,
        Line::from(metrics.collect::<Vec<_>>().join("  ")),
        Line::from(gauges.collect::<Vec<_>>().join("  ")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_trim_and_merge_keeping_counts() {
        let b: Vec<(u64, u64)> = (0..12)
            .map(|i| (1u64 << i, [0, 0, 0, 1, 2, 0, 3, 4, 0, 0, 5, 0][i]))
            .collect();
        let all = fit_buckets(&b, 100);
        assert_eq!(all.first(), Some(&(8, 1)));
        assert_eq!(all.last(), Some(&(1024, 5)));
        assert_eq!(all.len(), 8);
        let few = fit_buckets(&b, 3);
        assert!(few.len() <= 3, "{few:?}");
        assert_eq!(few.iter().map(|b| b.1).sum::<u64>(), 15);
        assert_eq!(few.last().unwrap().0, 1024);
        assert!(fit_buckets(&[(1, 0), (2, 0)], 5).is_empty());
    }

    #[test]
    fn bars_scale_in_eighths() {
        assert_eq!(bar(10, 10, 4), "████");
        assert_eq!(bar(5, 10, 4), "██");
        assert_eq!(bar(1, 1000, 4), "▏");
        assert_eq!(bar(0, 10, 4), "");
        assert_eq!(bar(3, 16, 4), "▊");
    }
}
