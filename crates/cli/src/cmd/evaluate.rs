//! `netlens evaluate`: score a saved model on labelled tables, or
//! cross-validate a model family without saving anything.

use std::path::PathBuf;

use anyhow::{Result, bail};
use netlens_ml::model::{self, Metrics, TrainedModel};

use super::train::{Algo, SpecOpts, SummaryFormat, TableOpts, render, spinner, summary_format};

/// Arguments of `netlens evaluate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Labelled input tables.
    #[arg(required = true)]
    pub tables: Vec<PathBuf>,
    /// Saved model file to evaluate.
    #[arg(long, required_unless_present = "cv")]
    pub model: Option<PathBuf>,
    /// k-fold cross-validation instead of a saved model.
    #[arg(long, conflicts_with = "model")]
    pub cv: Option<usize>,
    /// Model family for cross-validation.
    #[arg(long, value_enum, default_value = "rf")]
    pub algorithm: Algo,
    #[command(flatten)]
    pub table: TableOpts,
    #[command(flatten)]
    pub spec: SpecOpts,
    /// Also compute permutation importance.
    #[arg(long)]
    pub permutation: bool,
    /// Summary format (default: text on a terminal, JSON otherwise).
    #[arg(long, value_enum)]
    pub format: Option<SummaryFormat>,
}

/// Runs `netlens evaluate`.
pub fn run(args: Args) -> Result<()> {
    let table = args.table.load(&args.tables)?;
    let fmt = summary_format(args.format);
    if let Some(path) = &args.model {
        let m = TrainedModel::load(path)?;
        let pb = spinner("evaluating");
        let e = m.evaluate(&table, args.permutation)?;
        pb.finish_and_clear();
        match fmt {
            SummaryFormat::Json => println!("{}", serde_json::to_string_pretty(&e)?),
            SummaryFormat::Text => print!("{}", render(&e)),
        }
        return Ok(());
    }
    let Some(k) = args.cv else {
        bail!("give --model FILE or --cv K")
    };
    if k < 2 {
        bail!("--cv needs at least 2 folds");
    }
    let mut spec = args.spec.spec(args.algorithm);
    args.spec.leave_out_identifiers(&table, &mut spec);
    let pb = spinner(&format!("{k}-fold cross-validation"));
    let folds = model::cross_validate(
        &table,
        &spec,
        k,
        args.spec.seed,
        &crate::common::feature_groups,
    )?;
    pb.finish_and_clear();
    let headline: Vec<f64> = folds
        .iter()
        .map(|e| match &e.metrics {
            Metrics::Classification(c) => c.accuracy,
            Metrics::Regression(r) => r.r2,
            Metrics::Clustering { inertia, .. } => *inertia,
        })
        .collect();
    let mean = headline.iter().sum::<f64>() / headline.len().max(1) as f64;
    let sd = (headline.iter().map(|v| (v - mean).powi(2)).sum::<f64>()
        / headline.len().max(1) as f64)
        .sqrt();
    match fmt {
        SummaryFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"folds": folds, "mean": mean, "std": sd})
            )?
        ),
        SummaryFormat::Text => {
            for (i, e) in folds.iter().enumerate() {
                println!("— fold {} —\n{}", i + 1, render(e));
            }
            println!("mean over {k} folds (accuracy or R²): {mean:.4} ± {sd:.4}");
        }
    }
    Ok(())
}
