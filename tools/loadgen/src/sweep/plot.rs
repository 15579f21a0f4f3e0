//! The sweep's figure: goodput and admitted P99 against offered load, one line per variant.

use std::path::Path;

use plotters::prelude::*;

use super::{ms, Row, Variant};

const VARIANTS: [(Variant, RGBColor); 3] = [
    (Variant::Adaptive, RGBColor(0x1f, 0x77, 0xb4)),
    (Variant::NoAdmission, RGBColor(0xff, 0x7f, 0x0e)),
    (Variant::Unbounded, RGBColor(0xd6, 0x27, 0x28)),
];

/// Writes the figure as SVG: goodput (top) and P99 latency of admitted requests, log scale
/// (bottom), against offered load.
///
/// # Errors
/// When the file cannot be written.
pub fn plot(rows: &[Row], capacity: f64, note: &str, path: &Path) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| format!("plot {}: {e}", path.display());
    let root = SVGBackend::new(path, (960, 900)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let root = root
        .titled(
            &format!("sedaflow under overload (capacity {capacity:.0} orders/s; {note})"),
            ("sans-serif", 18),
        )
        .map_err(|e| err(&e))?;
    let (top, bottom) = root.split_vertically(450);
    let max_offered = rows.iter().map(|r| r.offered).fold(1.0, f64::max) * 1.05;
    let max_goodput = rows.iter().map(|r| r.goodput).fold(1.0, f64::max) * 1.2;

    let mut chart = ChartBuilder::on(&top)
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..max_offered, 0.0..max_goodput)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("offered load (orders/s)")
        .y_desc("goodput (orders/s)")
        .draw()
        .map_err(|e| err(&e))?;
    for (variant, color) in VARIANTS {
        let points: Vec<(f64, f64)> = of(rows, variant).map(|r| (r.offered, r.goodput)).collect();
        draw(&mut chart, points, color, variant.name()).map_err(|e| err(&e))?;
    }
    legend(&mut chart).map_err(|e| err(&e))?;

    let lat = |r: &Row| ms(r.admitted_p99).max(0.01);
    let shown = || rows.iter().filter(|r| !r.admitted_p99.is_zero()).map(lat);
    let max_latency = shown().fold(1.0, f64::max) * 2.0;
    let min_latency = shown().fold(f64::INFINITY, f64::min).min(1.0) / 2.0;
    let mut chart = ChartBuilder::on(&bottom)
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..max_offered, (min_latency..max_latency).log_scale())
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("offered load (orders/s)")
        .y_desc("P99 latency of admitted orders (ms)")
        .draw()
        .map_err(|e| err(&e))?;
    for (variant, color) in VARIANTS {
        // A step where nothing was answered in time has no latency to show.
        let points: Vec<(f64, f64)> = of(rows, variant)
            .filter(|r| r.goodput > 0.0 && !r.admitted_p99.is_zero())
            .map(|r| (r.offered, lat(r)))
            .collect();
        draw(&mut chart, points, color, variant.name()).map_err(|e| err(&e))?;
    }
    legend(&mut chart).map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))
}

fn of(rows: &[Row], variant: Variant) -> impl Iterator<Item = &Row> {
    rows.iter().filter(move |r| r.variant == variant)
}

type Chart<'a, 'b, Y> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>;

fn draw<Y>(
    chart: &mut Chart<'_, '_, Y>,
    points: Vec<(f64, f64)>,
    color: RGBColor,
    name: &'static str,
) -> Result<(), DrawingAreaErrorKind<std::io::Error>>
where
    Y: Ranged<ValueType = f64>,
{
    if points.is_empty() {
        return Ok(());
    }
    chart
        .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
        .label(name)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
    chart.draw_series(
        points
            .into_iter()
            .map(|p| Circle::new(p, 3, color.filled())),
    )?;
    Ok(())
}

fn legend<'a, 'b: 'a, Y>(
    chart: &mut Chart<'a, 'b, Y>,
) -> Result<(), DrawingAreaErrorKind<std::io::Error>>
where
    Y: Ranged<ValueType = f64>,
{
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
}
