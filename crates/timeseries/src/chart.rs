//! Forecast charts (history, forecast, interval band, capacity line) as SVG
//! and PNG with plotters. Text is drawn with the bundled DejaVu Sans
//! (assets/, Bitstream Vera/DejaVu licence) through ab_glyph, so no system
//! fonts are needed.
//!
//! Invariant: values are plotted in the unit given by the caller (`y_label`
//! names it); times on the x axis are UTC.

use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;

use crate::error::{Error, Result};

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

fn register_font() {
    REGISTER.call_once(|| {
        // A failure leaves text undrawn; plotting reports it as an error.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// The history shown on a chart.
#[derive(Debug, Clone, Copy)]
pub struct ChartHistory<'a> {
    /// First timestamp (Unix s).
    pub start: i64,
    /// Interval (s).
    pub interval: i64,
    /// Values.
    pub values: &'a [f64],
}

/// The forecast shown on a chart.
#[derive(Debug, Clone, Copy)]
pub struct ChartForecast<'a> {
    /// First forecast timestamp.
    pub start: i64,
    /// Interval (s).
    pub interval: i64,
    /// Point forecast.
    pub point: &'a [f64],
    /// Lower bound.
    pub lower: &'a [f64],
    /// Upper bound.
    pub upper: &'a [f64],
    /// Interval level for the legend (0.95).
    pub level: f64,
    /// Model name for the legend.
    pub model: &'a str,
}

/// Text of a chart.
#[derive(Debug, Clone, Default)]
pub struct ChartLabels {
    /// Title.
    pub title: String,
    /// Y axis label with unit.
    pub y_label: String,
}

/// A horizontal capacity/threshold line in plotted units with its label.
#[derive(Debug, Clone)]
pub struct CapacityLine {
    /// Value in plotted units.
    pub value: f64,
    /// Legend text.
    pub label: String,
}

/// Renders the chart to `path_svg` and/or `path_png` (1200×600).
pub fn render_forecast_chart(
    history: ChartHistory<'_>,
    forecast: ChartForecast<'_>,
    capacity: &[CapacityLine],
    labels: &ChartLabels,
    path_svg: Option<&Path>,
    path_png: Option<&Path>,
) -> Result<()> {
    register_font();
    if let Some(p) = path_svg {
        let root = SVGBackend::new(p, (1200, 600)).into_drawing_area();
        draw(&root, &history, &forecast, capacity, labels)?;
        root.present().map_err(|e| Error::Chart(e.to_string()))?;
    }
    if let Some(p) = path_png {
        let root = BitMapBackend::new(p, (1200, 600)).into_drawing_area();
        draw(&root, &history, &forecast, capacity, labels)?;
        root.present().map_err(|e| Error::Chart(e.to_string()))?;
    }
    Ok(())
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    h: &ChartHistory<'_>,
    f: &ChartForecast<'_>,
    capacity: &[CapacityLine],
    labels: &ChartLabels,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| Error::Chart(e.to_string());
    root.fill(&WHITE).map_err(err)?;
    let hx = |i: usize| (h.start + h.interval * i as i64) as f64;
    let fx = |i: usize| (f.start + f.interval * i as i64) as f64;
    let x0 = hx(0);
    let x1 = fx(f.point.len().saturating_sub(1))
        .max(hx(h.values.len().saturating_sub(1)))
        .max(x0 + 1.0);
    let finite = |v: &&f64| v.is_finite();
    let all = h
        .values
        .iter()
        .chain(f.upper)
        .chain(f.lower)
        .chain(f.point)
        .filter(finite);
    let (mut lo, mut hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |a, v| {
        (a.0.min(*v), a.1.max(*v))
    });
    for c in capacity {
        hi = hi.max(c.value);
    }
    if !lo.is_finite() || !hi.is_finite() {
        return Err(Error::Chart("nothing finite to plot".into()));
    }
    lo = lo.min(0.0);
    if hi <= lo {
        hi = lo + 1.0;
    }
    hi += (hi - lo) * 0.05;
    let span = x1 - x0;
    let fmt_x = move |x: &f64| {
        let t = *x as i64;
        let fmt = if span > 3.0 * 86400.0 {
            "%m-%d"
        } else {
            "%m-%d %H:%M"
        };
        chrono::DateTime::<chrono::Utc>::from_timestamp(t, 0)
            .map(|d| d.format(fmt).to_string())
            .unwrap_or_default()
    };
    let mut chart = ChartBuilder::on(root)
        .caption(&labels.title, ("sans-serif", 26))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(90)
        .build_cartesian_2d(x0..x1, lo..hi)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_labels(10)
        .y_labels(8)
        .x_label_formatter(&fmt_x)
        .y_label_formatter(&|v| crate::units::format_si(*v))
        .x_desc("time (UTC)")
        .y_desc(labels.y_label.as_str())
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 17))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(err)?;
    let band_color = RGBColor(255, 140, 0).mix(0.25);
    let band: Vec<(f64, f64)> = f
        .upper
        .iter()
        .enumerate()
        .map(|(i, v)| (fx(i), *v))
        .chain(f.lower.iter().enumerate().rev().map(|(i, v)| (fx(i), *v)))
        .filter(|p| p.1.is_finite())
        .collect();
    chart
        .draw_series(std::iter::once(Polygon::new(band, band_color.filled())))
        .map_err(err)?
        .label(format!("{} % interval", (f.level * 100.0).round()))
        .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 20, y + 6)], band_color.filled()));
    let blue = RGBColor(31, 119, 180);
    chart
        .draw_series(LineSeries::new(
            h.values.iter().enumerate().map(|(i, v)| (hx(i), *v)),
            blue.stroke_width(2),
        ))
        .map_err(err)?
        .label("history")
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], blue.stroke_width(2)));
    let orange = RGBColor(230, 100, 0);
    chart
        .draw_series(LineSeries::new(
            f.point.iter().enumerate().map(|(i, v)| (fx(i), *v)),
            orange.stroke_width(2),
        ))
        .map_err(err)?
        .label(format!("forecast ({})", f.model))
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], orange.stroke_width(2)));
    for (k, c) in capacity.iter().enumerate() {
        let col = if k == 0 {
            RGBColor(200, 0, 0)
        } else {
            RGBColor(120, 0, 120)
        };
        chart
            .draw_series(DashedLineSeries::new(
                [(x0, c.value), (x1, c.value)],
                10,
                6,
                col.stroke_width(2),
            ))
            .map_err(err)?
            .label(c.label.clone())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], col.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", 15))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()
        .map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_svg_and_png() {
        let dir = tempfile::tempdir().expect("tmp");
        let hist: Vec<f64> = (0..200)
            .map(|i| 5e9 + 2e9 * (i as f64 / 24.0 * std::f64::consts::TAU).sin())
            .collect();
        let pt: Vec<f64> = (0..24)
            .map(|i| 5e9 + 2e9 * ((200 + i) as f64 / 24.0 * std::f64::consts::TAU).sin())
            .collect();
        let lo: Vec<f64> = pt.iter().map(|v| v - 1e9).collect();
        let up: Vec<f64> = pt.iter().map(|v| v + 1e9).collect();
        let svg = dir.path().join("c.svg");
        let png = dir.path().join("c.png");
        render_forecast_chart(
            ChartHistory {
                start: 0,
                interval: 3600,
                values: &hist,
            },
            ChartForecast {
                start: 200 * 3600,
                interval: 3600,
                point: &pt,
                lower: &lo,
                upper: &up,
                level: 0.95,
                model: "linear",
            },
            &[CapacityLine {
                value: 8e9,
                label: "80 % of 10 Gbit/s".into(),
            }],
            &ChartLabels {
                title: "test".into(),
                y_label: "bit/s".into(),
            },
            Some(&svg),
            Some(&png),
        )
        .expect("render");
        let s = std::fs::read_to_string(&svg).expect("svg");
        assert!(s.contains("<svg") && s.contains("forecast (linear)"));
        assert!(std::fs::metadata(&png).expect("png").len() > 10_000);
    }
}
