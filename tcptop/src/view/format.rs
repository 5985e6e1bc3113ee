//! Number formatting for people, shared by the UI and the table output: sizes, times,
//! counts, rates and percentages, each narrow enough for a table cell.
use humansize::{format_size, BINARY};

/// A byte count, e.g. `1.5 MiB`.
pub fn bytes(n: u64) -> String {
    format_size(n, BINARY)
}

/// Microseconds: `850us`, `12.3ms`, `1.20s`; `-` when missing.
pub fn micros(us: Option<u64>) -> String {
    match us {
        None => "-".into(),
        Some(v) if v < 1_000 => format!("{v}us"),
        Some(v) if v < 1_000_000 => format!("{:.1}ms", v as f64 / 1e3),
        Some(v) => format!("{:.2}s", v as f64 / 1e6),
    }
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

/// `s` safe to print on a terminal: control characters (a crafted label's escape
/// sequences) are shown escaped, as `\u{1b}`, instead of acting.
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return s.into();
    }
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

/// A running time: `42s`, `5m12s`, `1h02m`, `3d04h`.
pub fn uptime(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(micros(Some(12_345)), "12.3ms");
        assert_eq!(micros(None), "-");
    }

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        assert_eq!(printable("web-1"), "web-1");
        assert_eq!(printable("a\u{1b}[2Jb\n"), "a\\u{1b}[2Jb\\u{a}");
    }

    #[test]
    fn uptimes_read_short() {
        let f = |s| uptime(std::time::Duration::from_secs(s));
        assert_eq!(
            [f(0), f(59), f(312), f(3720), f(273_600)],
            ["0s", "59s", "5m12s", "1h02m", "3d04h"]
        );
    }
}
