//! Renders a ratatui buffer as an SVG terminal screenshot: one `<text>` per run of
//! cells that share a style, each stretched to its exact cell width so that columns
//! line up whatever monospace font the viewer has.
use std::fmt::Write;

use ratatui::{
    buffer::Buffer,
    style::{Color, Modifier},
};

/// Cell width and height in pixels, and the font size.
const CW: f64 = 8.4;
const CH: f64 = 18.0;
const FONT: f64 = 14.0;
/// Padding around the screen.
const PAD: f64 = 14.0;

const BG: &str = "#1d2021";
const FG: &str = "#d5c4a1";

/// The 16 basic colours, as a dark terminal theme shows them.
fn rgb(c: Color, fg: bool) -> Option<String> {
    let hex = match c {
        Color::Reset => return Some(if fg { FG } else { BG }.into()),
        Color::Black => "#282828",
        Color::Red => "#fb4934",
        Color::Green => "#b8bb26",
        Color::Yellow => "#fabd2f",
        Color::Blue => "#83a598",
        Color::Magenta => "#d3869b",
        Color::Cyan => "#8ec07c",
        Color::Gray => "#a89984",
        Color::DarkGray => "#7c6f64",
        Color::LightRed => "#fb4934",
        Color::LightGreen => "#b8bb26",
        Color::LightYellow => "#fabd2f",
        Color::LightBlue => "#83a598",
        Color::LightMagenta => "#d3869b",
        Color::LightCyan => "#8ec07c",
        Color::White => "#ebdbb2",
        Color::Rgb(r, g, b) => return Some(format!("#{r:02x}{g:02x}{b:02x}")),
        Color::Indexed(_) => return None,
    };
    Some(hex.into())
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The SVG of `buf`, titled `title`.
pub fn render(buf: &Buffer, title: &str) -> String {
    let (w, h) = (buf.area.width, buf.area.height);
    let (pw, ph) = (f64::from(w) * CW + 2.0 * PAD, f64::from(h) * CH + 2.0 * PAD);
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{pw:.0}" height="{ph:.0}" viewBox="0 0 {pw:.0} {ph:.0}" role="img" aria-label="{}">"#,
        escape(title)
    );
    let _ = writeln!(
        out,
        r#"<rect width="100%" height="100%" rx="8" fill="{BG}"/>"#
    );
    let _ = writeln!(
        out,
        r#"<g font-family="ui-monospace, 'SFMono-Regular', Menlo, Consolas, 'DejaVu Sans Mono', 'Liberation Mono', monospace" font-size="{FONT}" xml:space="preserve">"#
    );
    for y in 0..h {
        let mut x = 0;
        while x < w {
            let cell = &buf[(x, y)];
            let key = (cell.fg, cell.bg, cell.modifier);
            let start = x;
            let mut text = String::new();
            while x < w && (buf[(x, y)].fg, buf[(x, y)].bg, buf[(x, y)].modifier) == key {
                text.push_str(buf[(x, y)].symbol());
                x += 1;
            }
            run(&mut out, start, y, x - start, &text, key);
        }
    }
    out.push_str("</g>\n</svg>\n");
    out
}

/// One run of `n` cells at (`x`, `y`) holding `text` in style `key`.
fn run(out: &mut String, x: u16, y: u16, n: u16, text: &str, key: (Color, Color, Modifier)) {
    let (mut fg, mut bg, m) = key;
    if m.contains(Modifier::REVERSED) {
        std::mem::swap(&mut fg, &mut bg);
        if fg == Color::Reset {
            fg = Color::Black;
        }
        if bg == Color::Reset {
            bg = Color::White;
        }
    }
    let (px, py) = (PAD + f64::from(x) * CW, PAD + f64::from(y) * CH);
    let width = f64::from(n) * CW;
    if bg != Color::Reset {
        let fill = rgb(bg, false).unwrap_or_else(|| BG.into());
        let _ = writeln!(
            out,
            r#"<rect x="{px:.1}" y="{py:.1}" width="{width:.1}" height="{CH:.1}" fill="{fill}"/>"#
        );
    }
    if text.trim().is_empty() && !m.contains(Modifier::UNDERLINED) {
        return;
    }
    let fill = rgb(fg, true).unwrap_or_else(|| FG.into());
    let mut attrs = format!(r#"fill="{fill}""#);
    if m.contains(Modifier::BOLD) {
        attrs.push_str(r#" font-weight="bold""#);
    }
    if m.contains(Modifier::DIM) {
        attrs.push_str(r#" opacity="0.6""#);
    }
    if m.contains(Modifier::UNDERLINED) {
        attrs.push_str(r#" text-decoration="underline""#);
    }
    let _ = writeln!(
        out,
        r#"<text x="{px:.1}" y="{:.1}" textLength="{width:.1}" lengthAdjust="spacingAndGlyphs" {attrs}>{}</text>"#,
        py + CH * 0.75,
        escape(text)
    );
}
