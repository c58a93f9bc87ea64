//! The printed report: one table row per figure — gridwork, baseline, ratio,
//! target and PASS/MISS (or `info` for rows without a target) — plus the value
//! formatters. Timings are reported, never asserted.

/// One line of the report table.
pub struct Row {
    metric: String,
    ours: String,
    base: String,
    ratio: Option<f64>,
    target: String,
    pass: Option<bool>,
}

impl Row {
    /// A figure compared with its baseline by ratio; `target` is the largest
    /// acceptable ratio, `None` for an informational row.
    pub fn ratio(metric: &str, ours: String, base: String, ratio: f64, target: Option<f64>) -> Row {
        Row {
            metric: metric.into(),
            ours,
            base,
            ratio: Some(ratio),
            target: target.map(|t| format!("≤ {t}×")).unwrap_or_default(),
            pass: target.map(|t| ratio <= t),
        }
    }

    /// A figure with an absolute limit (`value ≤ limit`, shown as
    /// `limit_text`), still printed next to its baseline and ratio.
    pub fn limit(
        metric: &str,
        ours: String,
        base: String,
        ratio: f64,
        value: f64,
        limit: f64,
        limit_text: &str,
    ) -> Row {
        Row {
            metric: metric.into(),
            ours,
            base,
            ratio: Some(ratio),
            target: format!("≤ {limit_text}"),
            pass: Some(value <= limit),
        }
    }

    /// A figure with no baseline and no target.
    pub fn info(metric: &str, ours: String) -> Row {
        Row {
            metric: metric.into(),
            ours,
            base: String::new(),
            ratio: None,
            target: String::new(),
            pass: None,
        }
    }

    fn cells(&self) -> [String; 6] {
        [
            self.metric.clone(),
            self.ours.clone(),
            self.base.clone(),
            self.ratio.map(|r| format!("{r:.2}×")).unwrap_or_default(),
            self.target.clone(),
            match self.pass {
                Some(true) => "PASS".into(),
                Some(false) => "MISS".into(),
                None => "info".into(),
            },
        ]
    }
}

/// Print `rows` as an aligned, pipe-separated table.
pub fn print_table(rows: &[Row]) {
    let header = [
        "metric", "gridwork", "baseline", "ratio", "target", "result",
    ]
    .map(String::from);
    let cells: Vec<[String; 6]> = std::iter::once(header)
        .chain(rows.iter().map(Row::cells))
        .collect();
    let width = |i: usize| {
        cells
            .iter()
            .map(|c| c[i].chars().count())
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..6).map(width).collect();
    let line = |c: &[String; 6]| {
        let parts: Vec<String> = c
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (s, w))| {
                let pad = " ".repeat(w - s.chars().count());
                // Text columns left-aligned, figures right-aligned.
                if i == 0 || i == 5 {
                    format!("{s}{pad}")
                } else {
                    format!("{pad}{s}")
                }
            })
            .collect();
        println!("{}", parts.join(" | ").trim_end());
    };
    line(&cells[0]);
    println!(
        "{}",
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("-|-")
    );
    for c in &cells[1..] {
        line(c);
    }
}

/// Milliseconds, three significant decimals for small values.
pub fn ms(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.3} ms")
    } else {
        format!("{v:.1} ms")
    }
}

/// Bytes in KiB or MiB.
pub fn bytes(v: u64) -> String {
    let v = v as f64;
    if v >= 1024.0 * 1024.0 {
        format!("{:.2} MiB", v / 1048576.0)
    } else {
        format!("{:.1} KiB", v / 1024.0)
    }
}

/// KiB as MiB.
pub fn kib_as_mib(v: u64) -> String {
    format!("{:.1} MiB", v as f64 / 1024.0)
}
