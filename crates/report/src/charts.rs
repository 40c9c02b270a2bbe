//! Report charts (PNG and SVG) drawn with plotters.
//!
//! Text uses DejaVu Sans, the font the timeseries crate bundles (read from
//! its `assets/` directory at compile time, not copied; Bitstream
//! Vera/DejaVu licence in `crates/timeseries/assets/DejaVuSans-LICENSE.txt`),
//! so no system fonts are needed.
//!
//! Invariant: every chart is written as `<stem>.svg` and `<stem>.png` of
//! the same size; a chart with nothing finite to plot is an error, not a
//! blank image.

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Error, Result};

static FONT: &[u8] = include_bytes!("../../timeseries/assets/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

/// Chart size in pixels.
pub const SIZE: (u32, u32) = (1100, 420);

const BLUE: RGBColor = RGBColor(31, 94, 160);
const ORANGE: RGBColor = RGBColor(214, 96, 39);
const GRID: RGBColor = RGBColor(225, 228, 232);

fn register_font() {
    REGISTER.call_once(|| {
        // A failure leaves text undrawn; drawing then reports it.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// A decimal unit prefix for values up to `max`: (divisor, prefix).
pub fn si_scale(max: f64) -> (f64, &'static str) {
    let m = max.abs();
    if m >= 1e12 {
        (1e12, "T")
    } else if m >= 1e9 {
        (1e9, "G")
    } else if m >= 1e6 {
        (1e6, "M")
    } else if m >= 1e3 {
        (1e3, "k")
    } else {
        (1.0, "")
    }
}

/// A time line chart: `values` at `start + i·interval` (Unix s), scaled to
/// `unit` with an SI prefix; `marks` are (first, last, peak) index ranges
/// shaded and marked in orange.
pub struct LineChart<'a> {
    /// Title.
    pub title: &'a str,
    /// Unit of the values (e.g. `bit/s`).
    pub unit: &'a str,
    /// First time, Unix s.
    pub start: i64,
    /// Interval, s.
    pub interval: i64,
    /// Values.
    pub values: &'a [f64],
    /// Highlighted ranges (first, last, peak).
    pub marks: &'a [(usize, usize, usize)],
}

/// A bar chart of categories.
pub struct BarChart<'a> {
    /// Title.
    pub title: &'a str,
    /// X axis description.
    pub x_desc: &'a str,
    /// Y axis description (unit).
    pub y_desc: &'a str,
    /// Category labels.
    pub labels: &'a [String],
    /// Values.
    pub values: &'a [f64],
}

fn fmt_time(t: i64, span: i64) -> String {
    let fmt = if span > 3 * 86400 {
        "%m-%d"
    } else if span > 86400 {
        "%m-%d %H:%M"
    } else if span > 600 {
        "%H:%M"
    } else {
        "%H:%M:%S"
    };
    chrono::DateTime::<chrono::Utc>::from_timestamp(t, 0)
        .map(|d| d.format(fmt).to_string())
        .unwrap_or_default()
}

/// `values` that are finite (missing points are NaN), folded from `init`
/// with `f` (`f64::max` / `f64::min`): a chart's value range.
fn finite_fold(values: &[f64], init: f64, f: fn(f64, f64) -> f64) -> f64 {
    values
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(init, f)
}

fn draw_line<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    c: &LineChart<'_>,
) -> std::result::Result<(), String>
where
    DB::ErrorType: 'static,
{
    let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
    root.fill(&WHITE).map_err(e)?;
    let max = finite_fold(c.values, f64::NEG_INFINITY, f64::max);
    let min = finite_fold(c.values, f64::INFINITY, f64::min);
    if !max.is_finite() {
        return Err("nothing finite to plot".into());
    }
    let (div, prefix) = si_scale(max);
    let lo = (min / div).min(0.0);
    let hi = (max / div).max(lo + 1e-9) * 1.08;
    let x0 = c.start as f64;
    let x1 = (c.start + c.interval * c.values.len().max(2) as i64) as f64;
    let span = (x1 - x0) as i64;
    let mut ch = ChartBuilder::on(root)
        .caption(c.title, ("sans-serif", 22))
        .margin(14)
        // Room for half of the last time label, centred on the right edge.
        .margin_right(40)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(x0..x1, lo..hi)
        .map_err(e)?;
    ch.configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .x_labels(8)
        .y_labels(6)
        .x_label_formatter(&|x| fmt_time(*x as i64, span))
        .y_label_formatter(&|y| format!("{y:.1}"))
        .y_desc(format!("{prefix}{}", c.unit))
        .x_desc("time (UTC)")
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 15))
        .draw()
        .map_err(e)?;
    let x = |i: usize| (c.start + c.interval * i as i64) as f64 + c.interval as f64 / 2.0;
    for &(a, b, _) in c.marks {
        let xa = (c.start + c.interval * a as i64) as f64;
        let xb = (c.start + c.interval * (b as i64 + 1)) as f64;
        ch.draw_series(std::iter::once(Rectangle::new(
            [(xa, lo), (xb, hi)],
            ORANGE.mix(0.15).filled(),
        )))
        .map_err(e)?;
    }
    ch.draw_series(LineSeries::new(
        c.values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, v)| (x(i), v / div)),
        BLUE.stroke_width(2),
    ))
    .map_err(e)?
    .label(format!("{prefix}{}", c.unit))
    .legend(|(a, b)| PathElement::new(vec![(a, b), (a + 20, b)], BLUE.stroke_width(2)));
    if !c.marks.is_empty() {
        ch.draw_series(c.marks.iter().filter_map(|&(_, _, p)| {
            c.values
                .get(p)
                .map(|v| Circle::new((x(p), v / div), 6, ORANGE.stroke_width(3)))
        }))
        .map_err(e)?
        .label("anomaly (peak)")
        .legend(|(a, b)| Circle::new((a + 10, b), 5, ORANGE.stroke_width(3)));
        ch.configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(GRID)
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(e)?;
    }
    Ok(())
}

fn draw_bars<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    c: &BarChart<'_>,
) -> std::result::Result<(), String>
where
    DB::ErrorType: 'static,
{
    let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
    root.fill(&WHITE).map_err(e)?;
    let max = finite_fold(c.values, 0.0, f64::max);
    if c.values.is_empty() {
        return Err("no categories".into());
    }
    let (div, prefix) = si_scale(max);
    let hi = (max / div).max(1e-9) * 1.12;
    let n = c.values.len();
    // Bar i is centred on x = i. A continuous axis rather than a segmented
    // integer one: plotters' integer ranges include their end, which left
    // an empty slot after the last bar (0..n) or collapsed a single bar
    // (0..n - 1). With at most n labels the key points are the integers.
    let mut ch = ChartBuilder::on(root)
        .caption(c.title, ("sans-serif", 22))
        .margin(14)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(-0.5..n as f64 - 0.5, 0.0..hi)
        .map_err(e)?;
    let labels = c.labels;
    ch.configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .x_labels(n)
        .x_label_formatter(&|v| {
            let i = v.round();
            if (v - i).abs() < 1e-6 && i >= 0.0 {
                labels.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|y| format!("{y:.1}"))
        .x_desc(c.x_desc)
        .y_desc(format!("{prefix}{}", c.y_desc))
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 15))
        .draw()
        .map_err(e)?;
    ch.draw_series(c.values.iter().enumerate().map(|(i, v)| {
        let x = i as f64;
        Rectangle::new(
            [(x - 0.42, 0.0), (x + 0.42, v / div)],
            BLUE.mix(0.85).filled(),
        )
    }))
    .map_err(e)?;
    Ok(())
}

fn write_both(
    dir: &Path,
    stem: &str,
    svg: impl Fn(&DrawingArea<SVGBackend<'_>, Shift>) -> std::result::Result<(), String>,
    png: impl Fn(&DrawingArea<BitMapBackend<'_>, Shift>) -> std::result::Result<(), String>,
) -> Result<Vec<PathBuf>> {
    register_font();
    let err = |m: String| Error::Chart {
        name: stem.to_string(),
        message: m,
    };
    let ps = dir.join(format!("{stem}.svg"));
    let pp = dir.join(format!("{stem}.png"));
    {
        let root = SVGBackend::new(&ps, SIZE).into_drawing_area();
        svg(&root).map_err(err)?;
        root.present().map_err(|x| err(x.to_string()))?;
    }
    {
        let root = BitMapBackend::new(&pp, SIZE).into_drawing_area();
        png(&root).map_err(err)?;
        root.present().map_err(|x| err(x.to_string()))?;
    }
    Ok(vec![ps, pp])
}

/// Renders a line chart to `dir/<stem>.{svg,png}`.
pub fn line_chart(dir: &Path, stem: &str, c: &LineChart<'_>) -> Result<Vec<PathBuf>> {
    write_both(dir, stem, |r| draw_line(r, c), |r| draw_line(r, c))
}

/// Renders a bar chart to `dir/<stem>.{svg,png}`.
pub fn bar_chart(dir: &Path, stem: &str, c: &BarChart<'_>) -> Result<Vec<PathBuf>> {
    write_both(dir, stem, |r| draw_bars(r, c), |r| draw_bars(r, c))
}
