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
        if to_stdout {
            let mut out = std::io::BufWriter::new(std::io::stdout());
            netlens_ml::parquet_in::write_parquet(table, &mut out, args_output)?;
            out.flush()?;
        } else {
            let file = std::fs::File::create(args_output)
                .with_context(|| format!("creating {}", args_output.display()))?;
            netlens_ml::parquet_in::write_parquet(
                table,
                std::io::BufWriter::new(file),
                args_output,
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
            let mut out = out;
            for r in 0..table.n_rows {
                let mut obj = serde_json::Map::new();
                for c in &table.columns {
                    let v = match &c.data {
                        ColumnData::Num(v) => v
                            .get(r)
                            .and_then(|x| serde_json::Number::from_f64(*x))
                            .map_or(serde_json::Value::Null, serde_json::Value::Number),
                        ColumnData::Str(v) => {
                            serde_json::Value::String(v.get(r).cloned().unwrap_or_default())
                        }
                    };
                    obj.insert(c.name.clone(), v);
                }
                serde_json::to_writer(&mut out, &obj)?;
                out.write_all(b"\n")?;
            }
            out.flush()?;
        }
    }
    Ok(())
}
