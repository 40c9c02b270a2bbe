//! `netlens predict`: score a table with a saved model and write it back
//! with `prediction` and `score` columns.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use netlens_ml::model::TrainedModel;
use netlens_ml::table::{Column, ColumnData};

use super::train::TableOpts;

/// Output table formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutFormat {
    /// Comma-separated values.
    Csv,
    /// One JSON object per line.
    Jsonl,
    /// Apache Parquet (numbers as Float64, text as UTF-8).
    Parquet,
}

/// Arguments of `netlens predict`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Output columns (added, or replacing columns of the same name, so a scored table can be scored again):\n  prediction  the predicted class (or regression value, cluster id, `normal`/`anomaly`)\n  score       binary classifier: P(positive class, `attack`); `prediction` is the positive\n                class when score >= the model's threshold (set at training, default 0.5)\n              multi-class classifier: the probability of the predicted class, which is the\n                most probable class (argmax; no threshold applies: the threshold a detector\n                model stores for `netlens detect`, on 1 - P(benign), is not used here)\n              isolation forest: the anomaly score in (0, 1], compared with the threshold\n              regression: the predicted value; k-means: the distance to the centroid"
)]
pub struct Args {
    /// Input table (CSV or Parquet).
    pub table: PathBuf,
    /// Saved model file.
    #[arg(long)]
    pub model: PathBuf,
    #[command(flatten)]
    pub table_opts: TableOpts,
    /// Output path (`-` = stdout).
    #[arg(short, long, default_value = "-")]
    pub output: PathBuf,
    /// Output format (default from the extension, else CSV).
    #[arg(long, value_enum)]
    pub format: Option<OutFormat>,
}

fn format_for(path: &Path, f: Option<OutFormat>) -> Result<OutFormat> {
    if let Some(f) = f {
        return Ok(f);
    }
    let name = path.to_string_lossy();
    match netlens_export::format_path(path)
        .extension()
        .and_then(|e| e.to_str())
    {
        Some("jsonl") | Some("ndjson") => Ok(OutFormat::Jsonl),
        Some("parquet") | Some("pq") => {
            crate::common::check_parquet_name(&name)?;
            Ok(OutFormat::Parquet)
        }
        _ => Ok(OutFormat::Csv),
    }
}

/// Runs `netlens predict`.
pub fn run(args: Args) -> Result<()> {
    let model = TrainedModel::load(&args.model)?;
    let mut table = args.table_opts.load(std::slice::from_ref(&args.table))?;
    let start = std::time::Instant::now();
    let scored = model.predict(&table)?;
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "netlens: scored {} rows in {:.3} s ({:.0} rows/s)",
        table.n_rows,
        secs,
        table.n_rows as f64 / secs.max(1e-9)
    );
    let mut replaced = Vec::new();
    for (name, data) in [
        ("prediction", ColumnData::Str(scored.prediction)),
        ("score", ColumnData::Num(scored.score)),
    ] {
        match table.columns.iter_mut().find(|c| c.name == name) {
            Some(c) => {
                c.data = data;
                replaced.push(name);
            }
            None => table.columns.push(Column {
                name: name.into(),
                data,
            }),
        }
    }
    if !replaced.is_empty() {
        eprintln!(
            "netlens: the input already has {} column(s): replaced with this model's",
            replaced.join(" and ")
        );
    }
    write_table(&table, &args.output, args.format)
}

/// The Parquet type of a netlens flow column (by its netlens or CIC name),
/// so a flow table passed through `predict`/`label` keeps `flows`' types:
/// the table in between holds every number as f64 and times as text.
fn registry_type(name: &str) -> Option<netlens_ml::parquet_in::OutType> {
    use netlens_flow::ColumnType as C;
    use netlens_ml::parquet_in::OutType as O;
    let c = netlens_flow::COLUMNS
        .iter()
        .find(|c| c.name == name || c.cic_name() == Some(name))?;
    Some(match c.ty {
        C::U64 | C::I64 => O::Int,
        C::F64 => O::Float,
        C::TimestampUs => O::TimestampUs,
        C::Str | C::ListI64 | C::ListF64 => O::Text,
    })
}

/// Writes `table` to `output` (`-` = stdout; `.gz` names gzip-compressed
/// for CSV/JSONL) in `format`, by default from the extension, else CSV.
pub fn write_table(
    table: &netlens_ml::table::Table,
    output: &Path,
    format: Option<OutFormat>,
) -> Result<()> {
    let fmt = format_for(output, format)?;
    let args_output = output;
    if fmt == OutFormat::Parquet {
        let to_stdout = args_output == Path::new("-");
        if to_stdout && std::io::IsTerminal::is_terminal(&std::io::stdout()) {
            bail!("Parquet is binary: give an output file with -o (or redirect stdout)");
        }
        let hint = &registry_type;
        if to_stdout {
            let mut out = std::io::BufWriter::new(std::io::stdout());
            netlens_ml::parquet_in::write_parquet(table, &mut out, args_output, hint)?;
            out.flush()?;
        } else {
            let file = std::fs::File::create(args_output)
                .with_context(|| format!("creating {}", args_output.display()))?;
            netlens_ml::parquet_in::write_parquet(
                table,
                std::io::BufWriter::new(file),
                args_output,
                hint,
            )?;
        }
        return Ok(());
    }
    // `-` is stdout; a `.gz` name is written gzip-compressed.
    let out = crate::common::open_output(&args_output.to_string_lossy())?;
    match fmt {
        OutFormat::Csv => table.write_csv(out)?,
        OutFormat::Parquet => bail!("Parquet output is written above"),
        OutFormat::Jsonl => {
            // Keys in the table's column order, whole numbers of integer
            // flow columns as integers, as `flows` writes JSON Lines.
            use netlens_ml::parquet_in::{OutType, output_type};
            let types: Vec<OutType> = table
                .columns
                .iter()
                .map(|c| output_type(&c.data, registry_type(&c.name)))
                .collect();
            let mut out = out;
            for r in 0..table.n_rows {
                out.write_all(b"{")?;
                for (k, (c, t)) in table.columns.iter().zip(&types).enumerate() {
                    if k > 0 {
                        out.write_all(b",")?;
                    }
                    serde_json::to_writer(&mut out, &c.name)?;
                    out.write_all(b":")?;
                    let v = match &c.data {
                        ColumnData::Num(v) => {
                            let x = v.get(r).copied().filter(|x| x.is_finite());
                            match (x, t) {
                                (None, _) => serde_json::Value::Null,
                                (Some(x), OutType::Int) => serde_json::Value::from(x as i64),
                                (Some(x), OutType::Text) => serde_json::Value::from(x.to_string()),
                                (Some(x), _) => serde_json::Value::from(x),
                            }
                        }
                        ColumnData::Str(v) => {
                            serde_json::Value::String(v.get(r).cloned().unwrap_or_default())
                        }
                    };
                    serde_json::to_writer(&mut out, &v)?;
                }
                out.write_all(b"}\n")?;
            }
            out.flush()?;
        }
    }
    Ok(())
}
