//! Writes an interval table (or a plain series) as CSV, JSON or Parquet.
//!
//! Parquet layout: `timestamp` (UTC timestamp in milliseconds: Parquet has
//! no seconds unit, and a seconds column would reach pandas and pyarrow as
//! a bare integer), one column per numeric series column (`app:<name>`
//! columns included) and `top_talkers` (`host=bytes` joined by spaces) for
//! interval tables. An interval table's counts are `Int64` and its rates
//! (`bits_per_s`, `mean_packet_size`) `Float64`, as its CSV writes them; a
//! plain series (values may be averages) is all `Float64`.

use std::io::Write;
use std::sync::Arc;

use arrow_array::{
    ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use netlens_timeseries::{IntervalTable, Series};

use crate::error::{Error, Result};

/// Output format of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesFormat {
    /// CSV with an RFC 3339 `timestamp` column.
    Csv,
    /// JSON document.
    Json,
    /// Parquet file.
    Parquet,
}

impl SeriesFormat {
    /// Parses `csv`, `json` or `parquet`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Some(SeriesFormat::Csv),
            "json" => Some(SeriesFormat::Json),
            "parquet" | "pq" => Some(SeriesFormat::Parquet),
            _ => None,
        }
    }

    /// From a file name's extension (None when unknown).
    pub fn from_path(p: &str) -> Option<Self> {
        let ext = std::path::Path::new(p).extension()?.to_str()?;
        Self::parse(ext)
    }
}

fn parquet_err<E: std::fmt::Display>(e: E) -> Error {
    Error::Parquet(e.to_string())
}

/// Columns of an interval table that are rates, not counts.
const TABLE_RATE_COLUMNS: [&str; 2] = ["bits_per_s", "mean_packet_size"];

/// `integers`: whether a column holds whole counts (written as `Int64`).
fn write_parquet<W: Write + Send>(
    out: W,
    s: &Series,
    talkers: Option<Vec<String>>,
    integers: &dyn Fn(&str) -> bool,
) -> Result<()> {
    let mut fields = vec![Field::new(
        "timestamp",
        DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
        false,
    )];
    let ms: Vec<i64> = s.times().iter().map(|t| t.saturating_mul(1000)).collect();
    let mut cols: Vec<ArrayRef> = vec![Arc::new(
        TimestampMillisecondArray::from(ms).with_timezone("UTC"),
    )];
    for c in &s.columns {
        if integers(&c.name) {
            fields.push(Field::new(c.name.clone(), DataType::Int64, false));
            // Counts held as f64 are whole and far below 2^53: exact.
            let v: Vec<i64> = c.values.iter().map(|x| *x as i64).collect();
            cols.push(Arc::new(Int64Array::from(v)));
        } else {
            fields.push(Field::new(c.name.clone(), DataType::Float64, false));
            cols.push(Arc::new(Float64Array::from(c.values.clone())));
        }
    }
    if let Some(t) = talkers {
        fields.push(Field::new("top_talkers", DataType::Utf8, false));
        cols.push(Arc::new(StringArray::from(t)));
    }
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), cols).map_err(parquet_err)?;
    let mut w = parquet::arrow::ArrowWriter::try_new(out, schema, None).map_err(parquet_err)?;
    w.write(&batch).map_err(parquet_err)?;
    w.close().map_err(parquet_err)?;
    Ok(())
}

/// Writes an interval table.
pub fn write_table<W: Write + Send>(t: &IntervalTable, format: SeriesFormat, out: W) -> Result<()> {
    match format {
        SeriesFormat::Csv => t.write_csv(out)?,
        SeriesFormat::Json => t.write_json(out)?,
        SeriesFormat::Parquet => {
            let s = t.to_series()?;
            let talkers = t
                .rows
                .iter()
                .map(|r| {
                    r.top_talkers
                        .iter()
                        .map(|x| format!("{}={}", x.host, x.bytes))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect();
            let counts = |name: &str| !TABLE_RATE_COLUMNS.contains(&name);
            write_parquet(out, &s, Some(talkers), &counts)?;
        }
    }
    Ok(())
}

/// Writes a plain series.
pub fn write_series<W: Write + Send>(s: &Series, format: SeriesFormat, out: W) -> Result<()> {
    match format {
        SeriesFormat::Csv => s.write_csv(out)?,
        SeriesFormat::Json => s.write_json(out)?,
        SeriesFormat::Parquet => write_parquet(out, s, None, &|_| false)?,
    }
    Ok(())
}

/// How one column of a series combines when `k` points become one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rebin {
    /// Counts per interval (packets, bytes, new flows, `app:*`): summed.
    Sum,
    /// Distinct counts (hosts, active flows): the largest of the group, a
    /// lower bound of the coarse interval's true count.
    Max,
    /// `mean_packet_size`: bytes over packets of the coarse interval.
    BytesPerPacket,
    /// `hosts_exact`: 0 once points merge, since maxima of distinct counts
    /// are lower bounds.
    NotExact,
    /// Rates and gauges (`bits_per_s`, and any column netlens did not
    /// write, e.g. SNMP link rates): averaged.
    Mean,
}

/// The rule for a column of a series netlens wrote (`netlens series`), by
/// name; a column it does not know is taken as a gauge and averaged.
fn rebin_rule(name: &str, netlens_table: bool) -> Rebin {
    if !netlens_table {
        return Rebin::Mean;
    }
    match name {
        "bits_per_s" => Rebin::Mean,
        "mean_packet_size" => Rebin::BytesPerPacket,
        "active_flows" | "src_hosts" | "dst_hosts" => Rebin::Max,
        "hosts_exact" => Rebin::NotExact,
        n if n.starts_with("app:") => Rebin::Sum,
        n if netlens_timeseries::accumulate::NUMERIC_COLUMNS.contains(&n) => Rebin::Sum,
        _ => Rebin::Mean,
    }
}

/// Re-bins a series to `k` times its interval (a trailing partial group
/// covers the points it has). A series `netlens series` wrote (it has the
/// `packets`, `bytes` and `bits_per_s` columns) keeps its meaning: counts
/// are summed, rates averaged, mean packet size recomputed from the sums,
/// distinct counts (hosts, active flows) take the group's largest value, a
/// lower bound, and `hosts_exact` becomes 0. Columns of any other series
/// (link rates, gauges) are averaged.
pub fn rebin(s: &Series, k: usize) -> Result<Series> {
    if k <= 1 {
        return Ok(s.clone());
    }
    let has = |n: &str| s.columns.iter().any(|c| c.name == n);
    let netlens_table = has("packets") && has("bytes") && has("bits_per_s");
    let summed = |name: &str| -> Vec<f64> {
        s.columns
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.values.chunks(k).map(|ch| ch.iter().sum()).collect())
            .unwrap_or_default()
    };
    let (packets, bytes) = (summed("packets"), summed("bytes"));
    let cols = s
        .columns
        .iter()
        .map(|c| {
            let groups = c.values.chunks(k);
            let values = match rebin_rule(&c.name, netlens_table) {
                Rebin::Sum => groups.map(|ch| ch.iter().sum()).collect(),
                Rebin::Max => groups
                    .map(|ch| ch.iter().copied().fold(f64::NEG_INFINITY, f64::max))
                    .collect(),
                Rebin::NotExact => groups.map(|_| 0.0).collect(),
                Rebin::BytesPerPacket => packets
                    .iter()
                    .zip(&bytes)
                    .map(|(&p, &b)| if p > 0.0 { b / p } else { 0.0 })
                    .collect(),
                Rebin::Mean => groups
                    .map(|ch| ch.iter().sum::<f64>() / ch.len().max(1) as f64)
                    .collect(),
            };
            netlens_timeseries::series::Column {
                name: c.name.clone(),
                values,
            }
        })
        .collect();
    let interval = s
        .interval
        .checked_mul(k as i64)
        .ok_or_else(|| Error::Invalid("interval too large".into()))?;
    Ok(Series::new(s.start, interval, cols)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parquet_round_trip_shape() {
        let mut acc = netlens_timeseries::IntervalAccumulator::new(60).expect("acc");
        let ip = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
        acc.on_packet(0, 100, ip, ip, 6, 0);
        acc.on_packet(130_000_000_000, 50, ip, ip, 17, 0);
        let t = acc.finish().expect("t");
        let tmp = tempfile::tempfile().expect("tmp");
        write_table(&t, SeriesFormat::Parquet, &tmp).expect("pq");
        let r = parquet::file::reader::SerializedFileReader::new(tmp).expect("read");
        use parquet::file::reader::FileReader;
        assert_eq!(r.metadata().file_metadata().num_rows(), 3);
        // Readers without the embedded Arrow schema (pandas via pyarrow's
        // Parquet types) must see a timestamp and integer counts.
        let pschema = r.metadata().file_metadata().schema_descr_ptr();
        let ts = pschema.column(0);
        assert_eq!(ts.name(), "timestamp");
        let logical = format!("{:?}", ts.logical_type_ref());
        assert!(
            logical.contains("Timestamp") && logical.contains("MILLIS") && logical.contains("true"),
            "{logical}"
        );
        let kind = |name: &str| {
            (0..pschema.num_columns())
                .map(|i| pschema.column(i))
                .find(|c| c.name() == name)
                .map(|c| c.physical_type())
        };
        assert_eq!(kind("packets"), Some(parquet::basic::Type::INT64));
        assert_eq!(kind("app:other"), None);
        assert_eq!(kind("bits_per_s"), Some(parquet::basic::Type::DOUBLE));
        let tmp2 = tempfile::tempfile().expect("tmp");
        write_series(&t.to_series().expect("s"), SeriesFormat::Parquet, &tmp2).expect("pq");
        let r2 = parquet::file::reader::SerializedFileReader::new(tmp2).expect("read");
        let d2 = r2.metadata().file_metadata().schema_descr_ptr();
        assert_eq!(d2.column(1).physical_type(), parquet::basic::Type::DOUBLE);
        let s = t.to_series().expect("s");
        let d = rebin(&s, 2).expect("down");
        assert_eq!(d.len(), 2);
        assert_eq!(d.interval, 120);
        assert_eq!(
            SeriesFormat::from_path("x.parquet"),
            Some(SeriesFormat::Parquet)
        );
    }

    /// Re-binning a netlens series keeps each column's meaning: counts are
    /// summed (a 2-minute row holds both minutes' packets), bit/s averaged,
    /// the mean packet size recomputed from the sums, distinct counts the
    /// larger value with `hosts_exact` cleared. Other series are averaged.
    #[test]
    fn rebin_sums_counts_and_averages_rates() {
        let col = |name: &str, v: &[f64]| netlens_timeseries::series::Column {
            name: name.into(),
            values: v.to_vec(),
        };
        let s = Series::new(
            0,
            60,
            vec![
                col("packets", &[10.0, 30.0, 5.0]),
                col("bytes", &[1000.0, 1000.0, 500.0]),
                col("bits_per_s", &[8000.0 / 60.0, 8000.0 / 60.0, 4000.0 / 60.0]),
                col("mean_packet_size", &[100.0, 1000.0 / 30.0, 100.0]),
                col("src_hosts", &[3.0, 7.0, 1.0]),
                col("hosts_exact", &[1.0, 1.0, 1.0]),
                col("app:dns", &[1.0, 2.0, 3.0]),
            ],
        )
        .expect("series");
        let r = rebin(&s, 2).expect("rebin");
        let get = |n: &str| {
            r.columns
                .iter()
                .find(|c| c.name == n)
                .expect(n)
                .values
                .clone()
        };
        assert_eq!(r.interval, 120);
        assert_eq!(get("packets"), vec![40.0, 5.0]);
        assert_eq!(get("bytes"), vec![2000.0, 500.0]);
        assert!((get("bits_per_s")[0] - 2000.0 * 8.0 / 120.0).abs() < 1e-9);
        assert_eq!(get("mean_packet_size"), vec![50.0, 100.0]);
        assert_eq!(get("src_hosts"), vec![7.0, 1.0]);
        assert_eq!(get("hosts_exact"), vec![0.0, 0.0]);
        assert_eq!(get("app:dns"), vec![3.0, 3.0]);
        // A series netlens did not write (link rates): averaged.
        let link = Series::new(0, 60, vec![col("in_bps", &[10.0, 30.0])]).expect("s");
        assert_eq!(rebin(&link, 2).expect("r").columns[0].values, vec![20.0]);
    }
}
