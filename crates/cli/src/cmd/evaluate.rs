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

/// `SpecOpts` and `--algorithm` as clap fills them when nothing is given.
#[derive(clap::Parser)]
struct Defaults {
    #[command(flatten)]
    spec: SpecOpts,
    #[arg(long, value_enum, default_value = "rf")]
    algorithm: Algo,
}

/// The training options given with a value other than their default; a
/// saved model keeps the options it was trained with, so these would be
/// ignored by `--model`.
fn training_options_given(args: &Args) -> Result<Vec<&'static str>> {
    use clap::Parser;
    let d = Defaults::try_parse_from(["evaluate"])?;
    let (a, b) = (&args.spec, &d.spec);
    let mut given = Vec::new();
    macro_rules! check {
        ($($field:ident => $flag:literal),* $(,)?) => {
            $(if format!("{:?}", a.$field) != format!("{:?}", b.$field) {
                given.push($flag);
            })*
        };
    }
    check!(
        benign => "--benign", positive => "--positive", features => "--features",
        exclude => "--exclude", keep_identifiers => "--keep-identifiers",
        time_column => "--time-column", scaling => "--scaling", non_finite => "--non-finite",
        encoding => "--encoding", ip => "--ip", trees => "--trees", max_depth => "--max-depth",
        iterations => "--iterations", learning_rate => "--learning-rate", alpha => "--alpha",
        k => "--k", seed => "--seed",
    );
    if format!("{:?}", args.algorithm) != format!("{:?}", d.algorithm) {
        given.push("--algorithm");
    }
    Ok(given)
}

/// Runs `netlens evaluate`.
pub fn run(args: Args) -> Result<()> {
    if args.model.is_some() {
        let given = training_options_given(&args)?;
        if !given.is_empty() {
            bail!(
                "{} appl{} to --cv only: a saved model keeps the label mapping, features, preprocessing and hyper-parameters it was trained with (--threshold and --label do apply to --model)",
                given.join(", "),
                if given.len() == 1 { "ies" } else { "y" }
            );
        }
    }
    let table = args.table.load(&args.tables)?;
    let fmt = summary_format(args.format);
    if let Some(path) = &args.model {
        let mut m = TrainedModel::load(path)?;
        if let Some(l) = &args.spec.label
            && m.label.as_deref() != Some(l.as_str())
        {
            bail!(
                "--label {l:?} differs from the label the model was trained on ({}); a saved model is evaluated against its own label column",
                m.label
                    .as_deref()
                    .map_or("none".to_string(), |x| format!("{x:?}"))
            );
        }
        if let Some(t) = args.spec.threshold {
            if m.threshold.is_none() {
                bail!(
                    "--threshold applies to binary classifiers and isolation forests; this {:?} model has {} classes",
                    m.kind,
                    m.classes.len()
                );
            }
            if !(0.0..=1.0).contains(&t) {
                bail!("--threshold must be in [0, 1]");
            }
            eprintln!(
                "netlens: evaluating at threshold {t} (the model's own is {})",
                m.threshold.unwrap_or(0.5)
            );
            m.threshold = Some(t);
        }
        let pb = spinner("evaluating");
        let e = m.evaluate(&table, args.permutation)?;
        pb.finish_and_clear();
        if e.unseen_label_rows > 0 {
            eprintln!(
                "netlens: {} row(s) have labels the model never saw ({}): counted as misclassified",
                e.unseen_label_rows,
                e.unseen_labels.join(", ")
            );
        }
        if e.unlabelled_rows > 0 {
            eprintln!(
                "netlens: {} row(s) without a label value were not evaluated",
                e.unlabelled_rows
            );
        }
        match fmt {
            SummaryFormat::Json => crate::common::outln!("{}", serde_json::to_string_pretty(&e)?)?,
            SummaryFormat::Text => crate::common::outln!("{}", render(&e).trim_end_matches('\n'))?,
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
        SummaryFormat::Json => crate::common::outln!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"folds": folds, "mean": mean, "std": sd})
            )?
        )?,
        SummaryFormat::Text => {
            for (i, e) in folds.iter().enumerate() {
                crate::common::outln!("— fold {} —\n{}", i + 1, render(e))?;
            }
            crate::common::outln!("mean over {k} folds (accuracy or R²): {mean:.4} ± {sd:.4}")?;
        }
    }
    Ok(())
}
