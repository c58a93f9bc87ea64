//! Charts as inline SVG, drawn on the server: no script, no chart library,
//! nothing fetched — the dashboard must work on an office intranet. Two
//! shapes cover the pages: horizontal bars (coverage per grid, cases by
//! status) and a weekly trend (bars plus a line). Every label is escaped by
//! maud; SVG elements are always closed explicitly (`{}`), as HTML parsing of
//! inline SVG requires.

use maud::{html, Markup};

/// One bar: its label, its value and the text shown at its end.
pub struct Bar {
    /// Label on the left.
    pub label: String,
    /// Value; bars are scaled to `max`.
    pub value: f64,
    /// Text after the bar (e.g. `66.7%` or `12`).
    pub shown: String,
}

/// Horizontal bars scaled to `max` (at least the largest value), with an
/// accessible title.
pub fn bars(title: &str, bars: &[Bar], max: f64) -> Markup {
    let max = bars.iter().map(|b| b.value).fold(max, f64::max).max(1e-9);
    let row = 26.0;
    let label_w = 150.0;
    let bar_w = 360.0;
    let height = row * bars.len().max(1) as f64 + 8.0;
    html! {
        svg.chart role="img" viewBox={ "0 0 " (label_w + bar_w + 80.0) " " (height) } width="100%" {
            title { (title) }
            @for (i, bar) in bars.iter().enumerate() {
                @let y = 4.0 + row * i as f64;
                @let w = (bar.value / max * bar_w).max(0.0);
                text x=(label_w - 8.0) y=(y + 16.0) text-anchor="end" { (bar.label) }
                rect x=(label_w) y=(y + 3.0) width=(format!("{w:.1}")) height="16" rx="2" class="bar" {}
                text x=(label_w + w + 6.0) y=(y + 16.0) { (bar.shown) }
            }
        }
    }
}

/// One week of the trend.
pub struct WeekBar {
    /// The week's label (its Monday, `MM-DD`).
    pub label: String,
    /// The bar (e.g. visits).
    pub bar: u32,
    /// The line (e.g. cases opened).
    pub line: u32,
}

/// A weekly trend: one bar per week plus a line, with both series named in
/// a legend.
pub fn trend(title: &str, bar_name: &str, line_name: &str, weeks: &[WeekBar]) -> Markup {
    let width = 640.0;
    let height = 220.0;
    let left = 36.0;
    let bottom = 190.0;
    let top = 24.0;
    let max = weeks
        .iter()
        .map(|w| w.bar.max(w.line))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let slot = (width - left - 8.0) / weeks.len().max(1) as f64;
    let y_of = |v: u32| bottom - (v as f64 / max) * (bottom - top);
    let points: Vec<String> = weeks
        .iter()
        .enumerate()
        .map(|(i, w)| {
            format!(
                "{:.1},{:.1}",
                left + slot * i as f64 + slot / 2.0,
                y_of(w.line)
            )
        })
        .collect();
    html! {
        svg.chart role="img" viewBox={ "0 0 " (width) " " (height) } width="100%" {
            title { (title) }
            line x1=(left) y1=(bottom) x2=(width - 8.0) y2=(bottom) class="axis" {}
            text x=(left - 6.0) y=(top + 4.0) text-anchor="end" class="tick" { (max as u32) }
            text x=(left - 6.0) y=(bottom) text-anchor="end" class="tick" { "0" }
            @for (i, week) in weeks.iter().enumerate() {
                @let x = left + slot * i as f64;
                @let y = y_of(week.bar);
                rect x=(format!("{:.1}", x + slot * 0.15)) y=(format!("{y:.1}")) width=(format!("{:.1}", slot * 0.7)) height=(format!("{:.1}", bottom - y)) class="bar" {
                    title { (week.label) ": " (week.bar) }
                }
                text x=(format!("{:.1}", x + slot / 2.0)) y=(bottom + 16.0) text-anchor="middle" class="tick" { (week.label) }
            }
            polyline points=(points.join(" ")) class="line" {}
            rect x=(left + 4.0) y="4" width="10" height="10" class="bar" {}
            text x=(left + 18.0) y="13" class="tick" { (bar_name) }
            line x1=(left + 120.0) y1="9" x2=(left + 134.0) y2="9" class="line" {}
            text x=(left + 138.0) y="13" class="tick" { (line_name) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_and_escape() {
        let svg = bars(
            "覆盖率",
            &[
                Bar {
                    label: "<G1>".into(),
                    value: 0.5,
                    shown: "50.0%".into(),
                },
                Bar {
                    label: "G2".into(),
                    value: 1.0,
                    shown: "100.0%".into(),
                },
            ],
            1.0,
        )
        .into_string();
        assert!(svg.contains("&lt;G1&gt;"));
        assert!(svg.contains(r#"width="180.0""#), "{svg}");
        assert!(svg.contains(r#"width="360.0""#));
        assert_eq!(svg.matches("<rect").count(), svg.matches("</rect>").count());
    }

    #[test]
    fn trend_has_one_bar_per_week_and_a_line() {
        let weeks: Vec<WeekBar> = (0..12)
            .map(|i| WeekBar {
                label: format!("W{i}"),
                bar: i,
                line: 12 - i,
            })
            .collect();
        let svg = trend("t", "visits", "cases", &weeks).into_string();
        assert_eq!(svg.matches("class=\"bar\"").count(), 13); // 12 weeks + legend
        assert_eq!(svg.matches("<polyline").count(), 1);
        assert!(svg.contains("W11"));
    }
}
