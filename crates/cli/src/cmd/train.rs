//! `netlens train`: fit a model on flow/feature tables and save it.
//! Also holds the table/feature/model options shared with `evaluate`.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args as ClapArgs, ValueEnum};
use netlens_ml::model::{
    self, Evaluation, Hyper, Metrics, ModelKind, SplitSpec, TrainSpec, TrainedModel,
};
use netlens_ml::preprocess::{Encoding, IpMode, NonFinite, PreprocessConfig, Scaling};
use netlens_ml::select::{FeatureSelection, LabelMapping};
use netlens_ml::split::SplitMethod;
use netlens_ml::table::{CsvOptions, Table};

/// Model families on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Algo {
    /// Random forest.
    Rf,
    /// Gradient-boosted trees.
    Gbt,
    /// Logistic regression.
    Logreg,
    /// One decision tree.
    Tree,
    /// Ordinary least squares.
    Linear,
    /// Ridge regression.
    Ridge,
    /// Isolation forest.
    Iforest,
    /// k-means.
    Kmeans,
}

impl From<Algo> for ModelKind {
    fn from(a: Algo) -> ModelKind {
        match a {
            Algo::Rf => ModelKind::RandomForest,
            Algo::Gbt => ModelKind::Gbt,
            Algo::Logreg => ModelKind::Logistic,
            Algo::Tree => ModelKind::Tree,
            Algo::Linear => ModelKind::Linear,
            Algo::Ridge => ModelKind::Ridge,
            Algo::Iforest => ModelKind::IsolationForest,
            Algo::Kmeans => ModelKind::KMeans,
        }
    }
}

/// How to read input tables.
#[derive(Debug, Clone, ClapArgs)]
pub struct TableOpts {
    /// CSV files have no header row (e.g. NSL-KDD).
    #[arg(long)]
    pub no_header: bool,
    /// Column names, comma-separated (for header-less files); with
    /// `--columns-file` they name the columns after the file's names.
    #[arg(long, value_delimiter = ',')]
    pub columns: Vec<String>,
    /// File with one column name per line (text before the first comma), e.g. NSL-KDD's Field_Names.csv.
    #[arg(long)]
    pub columns_file: Option<PathBuf>,
}

impl TableOpts {
    /// Loads and stacks the tables.
    pub fn load(&self, paths: &[PathBuf]) -> Result<Table> {
        // The file's names come first, then `--columns` (NSL-KDD's
        // Field_Names.csv names 41 of its 43 columns; the last two follow).
        let mut names = Vec::new();
        if let Some(f) = &self.columns_file {
            let text =
                std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
            names.extend(
                text.lines()
                    .map(|l| l.split(',').next().unwrap_or("").trim().to_string())
                    .filter(|s| !s.is_empty()),
            );
        }
        names.extend(self.columns.iter().cloned());
        let opts = CsvOptions {
            has_header: !self.no_header,
            column_names: if names.is_empty() { None } else { Some(names) },
            ..Default::default()
        };
        let t = Table::from_paths(paths, &opts)?;
        if t.skipped_rows > 0 {
            eprintln!("netlens: skipped {} malformed row(s)", t.skipped_rows);
        }
        Ok(t)
    }
}

/// Label, features, preprocessing and hyper-parameters.
#[derive(Debug, Clone, ClapArgs)]
pub struct SpecOpts {
    /// Label column.
    #[arg(long)]
    pub label: Option<String>,
    /// Label value(s) meaning benign; every other value becomes `attack` (binary task).
    #[arg(long, value_delimiter = ',', conflicts_with = "positive")]
    pub benign: Vec<String>,
    /// Label value(s) that become the positive class `attack`; every other value becomes `benign`.
    #[arg(long, value_delimiter = ',')]
    pub positive: Vec<String>,
    /// Feature columns: names, globs (`*_piat_ms`) or group names, comma-separated (default: all).
    #[arg(long, value_delimiter = ',')]
    pub features: Vec<String>,
    /// Columns to leave out (names or globs), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// Keep row ids, absolute timestamps and MAC addresses as features (left
    /// out by default when --features is not given: they identify rows or
    /// hosts of one capture and do not carry over to other traffic).
    #[arg(long)]
    pub keep_identifiers: bool,
    /// Column with timestamps (required by `--split time`; never a feature).
    #[arg(long)]
    pub time_column: Option<String>,
    /// Numeric scaling (default: standard for logreg/kmeans, none otherwise).
    #[arg(long, value_enum)]
    pub scaling: Option<ScalingArg>,
    /// NaN/Infinity policy.
    #[arg(long, value_enum, default_value = "impute")]
    pub non_finite: NonFiniteArg,
    /// Categorical encoding.
    #[arg(long, value_enum, default_value = "onehot")]
    pub encoding: EncodingArg,
    /// IP-address columns.
    #[arg(long, value_enum, default_value = "drop")]
    pub ip: IpArg,
    /// Trees (rf, iforest).
    #[arg(long, default_value_t = 100)]
    pub trees: usize,
    /// Maximum tree depth (tree, rf).
    #[arg(long)]
    pub max_depth: Option<usize>,
    /// Boosting rounds (gbt).
    #[arg(long, default_value_t = 100)]
    pub iterations: usize,
    /// Boosting learning rate (gbt).
    #[arg(long, default_value_t = 0.1)]
    pub learning_rate: f32,
    /// L2 penalty (ridge; logreg, ≈ 1/C).
    #[arg(long, default_value_t = 1.0)]
    pub alpha: f64,
    /// Clusters (kmeans).
    #[arg(long, default_value_t = 8)]
    pub k: usize,
    /// Decision threshold on the positive-class / anomaly score (binary
    /// tasks; with `evaluate --model`, evaluate at this threshold instead of
    /// the model's).
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Random seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// `--scaling` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ScalingArg {
    /// No scaling.
    None,
    /// Standardise.
    Standard,
    /// Min-max to [0, 1].
    Minmax,
}
/// `--non-finite` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum NonFiniteArg {
    /// Impute (median / max / min).
    Impute,
    /// Drop training rows.
    Drop,
}
/// `--encoding` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum EncodingArg {
    /// One-hot.
    Onehot,
    /// Ordinal.
    Ordinal,
}
/// `--ip` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum IpArg {
    /// Drop IP columns.
    Drop,
    /// Four octet features.
    Octets,
    /// /24 subnet as a category.
    Subnet,
}

impl SpecOpts {
    /// Adds the columns training leaves out by default (identifier and
    /// absolute-time columns unless `--keep-identifiers`, and list columns
    /// such as `splt_*`; the rule is `netlens_ml::select::default_exclusions`,
    /// shared with the Python API) to the spec's exclusions and says so on
    /// stderr; nothing when features were chosen explicitly. Also notes
    /// rows without a label value, which training leaves out.
    pub fn leave_out_identifiers(&self, table: &Table, spec: &mut TrainSpec) {
        if let Some(l) = &self.label
            && spec.kind.supervised()
            && !spec.kind.regression()
            && let Ok(n) = netlens_ml::select::missing_labels(table, l)
            && n > 0
        {
            eprintln!("netlens: left out {n} row(s) with no value in the label column {l:?}");
        }
        if !self.features.is_empty() {
            return;
        }
        let reserved: Vec<&str> = [self.label.as_deref(), self.time_column.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        let out = netlens_ml::select::default_exclusions(table, &reserved, self.keep_identifiers);
        if !out.identifiers.is_empty() {
            eprintln!(
                "netlens: left out identifier and time columns (--keep-identifiers keeps them): {}",
                out.identifiers.join(", ")
            );
        }
        if !out.lists.is_empty() {
            eprintln!(
                "netlens: left out list columns (not usable as features; name them in --features to use them as text): {}",
                out.lists.join(", ")
            );
        }
        spec.features.exclude.extend(out.all().cloned());
    }

    /// The library's training spec.
    pub fn spec(&self, algo: Algo) -> TrainSpec {
        let kind: ModelKind = algo.into();
        let mapping = if !self.benign.is_empty() {
            LabelMapping::Benign(self.benign.clone())
        } else if !self.positive.is_empty() {
            LabelMapping::Positive(self.positive.clone())
        } else {
            LabelMapping::AsIs
        };
        let pre = PreprocessConfig {
            scaling: match self.scaling {
                None => kind.default_scaling(),
                Some(ScalingArg::None) => Scaling::None,
                Some(ScalingArg::Standard) => Scaling::Standard,
                Some(ScalingArg::Minmax) => Scaling::MinMax,
            },
            non_finite: match self.non_finite {
                NonFiniteArg::Impute => NonFinite::Impute,
                NonFiniteArg::Drop => NonFinite::DropRows,
            },
            encoding: match self.encoding {
                EncodingArg::Onehot => Encoding::OneHot,
                EncodingArg::Ordinal => Encoding::Ordinal,
            },
            ip: match self.ip {
                IpArg::Drop => IpMode::Drop,
                IpArg::Octets => IpMode::Octets,
                IpArg::Subnet => IpMode::Subnet,
            },
            ..Default::default()
        };
        TrainSpec {
            kind,
            label: self.label.clone(),
            mapping,
            features: FeatureSelection {
                include: self.features.clone(),
                exclude: self.exclude.clone(),
            },
            time_column: self.time_column.clone(),
            preprocess: Some(pre),
            hyper: Hyper {
                n_trees: self.trees,
                max_depth: self.max_depth,
                iterations: self.iterations,
                learning_rate: self.learning_rate,
                alpha: self.alpha,
                k: self.k,
                seed: self.seed,
                ..Hyper::default()
            },
            threshold: self.threshold,
        }
    }
}

/// `--split` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SplitArg {
    /// Random rows.
    Random,
    /// Random within each class.
    Stratified,
    /// Earlier rows train, later rows test.
    Time,
}

/// Summary output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SummaryFormat {
    /// Readable tables.
    Text,
    /// JSON.
    Json,
}

/// Arguments of `netlens train`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input tables (CSV or Parquet), stacked.
    #[arg(required = true)]
    pub tables: Vec<PathBuf>,
    /// Model family.
    #[arg(long, value_enum, default_value = "rf")]
    pub model: Algo,
    #[command(flatten)]
    pub table: TableOpts,
    #[command(flatten)]
    pub spec: SpecOpts,
    /// Fraction held out for evaluation (0 = train on everything, no evaluation).
    #[arg(long, default_value_t = 0.2)]
    pub test_split: f64,
    /// How to hold out rows (default: stratified for classifiers, random otherwise).
    #[arg(long, value_enum)]
    pub split: Option<SplitArg>,
    /// Also compute permutation importance on the held-out rows.
    #[arg(long)]
    pub permutation: bool,
    /// Where to write the model file.
    #[arg(short, long, default_value = "model.nlm")]
    pub output: PathBuf,
    /// Summary format (default: text on a terminal, JSON otherwise).
    #[arg(long, value_enum)]
    pub format: Option<SummaryFormat>,
}

/// A spinner on stderr when it is a terminal.
pub fn spinner(msg: &str) -> indicatif::ProgressBar {
    if std::io::stderr().is_terminal() {
        let pb = indicatif::ProgressBar::new_spinner();
        pb.set_message(msg.to_string());
        pb.enable_steady_tick(std::time::Duration::from_millis(120));
        pb
    } else {
        indicatif::ProgressBar::hidden()
    }
}

/// Default summary format.
pub fn summary_format(f: Option<SummaryFormat>) -> SummaryFormat {
    f.unwrap_or(if std::io::stdout().is_terminal() {
        SummaryFormat::Text
    } else {
        SummaryFormat::Json
    })
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map_or("-".into(), |x| format!("{x:.4}"))
}

/// Readable rendering of an evaluation.
pub fn render(e: &Evaluation) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "model: {:?}   rows evaluated: {}\n",
        e.model, e.rows
    ));
    if e.unseen_label_rows > 0 {
        s.push_str(&format!(
            "{} row(s) have labels the model never saw ({}): counted as misclassified\n",
            e.unseen_label_rows,
            e.unseen_labels.join(", ")
        ));
    }
    if e.unlabelled_rows > 0 {
        s.push_str(&format!(
            "{} row(s) without a label value were not evaluated\n",
            e.unlabelled_rows
        ));
    }
    match &e.metrics {
        Metrics::Regression(r) => {
            s.push_str(&format!(
                "MAE {:.6}  RMSE {:.6}  R² {:.6}\nresiduals: mean {:.4e} std {:.4e} min {:.4e} max {:.4e}\n",
                r.mae, r.rmse, r.r2, r.residual_mean, r.residual_std, r.residual_min, r.residual_max
            ));
        }
        Metrics::Classification(c) => {
            s.push_str(&format!(
                "accuracy {:.4}  macro-F1 {:.4}  weighted-F1 {:.4}  ROC-AUC {}  PR-AUC {}",
                c.accuracy,
                c.macro_f1,
                c.weighted_f1,
                fmt_opt(c.roc_auc),
                fmt_opt(c.pr_auc)
            ));
            if let (Some(t), Some(f)) = (c.threshold, c.fpr) {
                s.push_str(&format!("  FPR@{t} {f:.4}"));
            }
            s.push('\n');
            let w = c
                .per_class
                .iter()
                .map(|m| m.class.len())
                .max()
                .unwrap_or(5)
                .max(9);
            s.push_str(&format!(
                "{:<w$}  precision  recall     f1  support\n",
                "class"
            ));
            for m in &c.per_class {
                s.push_str(&format!(
                    "{:<w$}  {:>9.4}  {:>6.4}  {:>6.4}  {:>7}\n",
                    m.class, m.precision, m.recall, m.f1, m.support
                ));
            }
            s.push_str(&format!(
                "{:<w$}  {:>9.4}  {:>6.4}  {:>6.4}\n{:<w$}  {:>9.4}  {:>6.4}  {:>6.4}\n",
                "macro",
                c.macro_precision,
                c.macro_recall,
                c.macro_f1,
                "weighted",
                c.weighted_precision,
                c.weighted_recall,
                c.weighted_f1
            ));
            s.push_str("confusion (rows = true, columns = predicted):\n");
            for (name, row) in c.per_class.iter().zip(&c.confusion) {
                let cells: Vec<String> = row.iter().map(|v| format!("{v:>6}")).collect();
                s.push_str(&format!("{:<w$}  {}\n", name.class, cells.join(" ")));
            }
        }
        Metrics::Clustering { inertia, n } => {
            s.push_str(&format!("inertia {inertia:.4} over {n} rows\n"))
        }
    }
    let mut imp: Vec<_> = e
        .importance
        .iter()
        .filter(|f| f.impurity.is_some() || f.permutation.is_some())
        .collect();
    if !imp.is_empty() {
        imp.sort_by(|a, b| {
            let k = |f: &netlens_ml::model::FeatureImportance| {
                f.permutation.or(f.impurity).unwrap_or(0.0)
            };
            k(b).total_cmp(&k(a))
        });
        s.push_str("top features (impurity, permutation):\n");
        for f in imp.iter().take(15) {
            s.push_str(&format!(
                "  {:<40} {:>8} {:>8}\n",
                f.feature,
                fmt_opt(f.impurity),
                fmt_opt(f.permutation)
            ));
        }
    }
    s
}

fn report_json(model: &TrainedModel, eval: Option<&Evaluation>) -> serde_json::Value {
    serde_json::json!({
        "model": model.kind,
        "train_rows": model.meta.train_rows,
        "train_seconds": model.meta.train_seconds,
        "features": model.pipeline.feature_names,
        "classes": model.classes,
        "preprocessing": model.meta.report,
        "coefficients": model.coefficients(),
        "evaluation": eval,
    })
}

/// Runs `netlens train`.
pub fn run(args: Args) -> Result<()> {
    if !(0.0..1.0).contains(&args.test_split) {
        bail!("--test-split must be in [0, 1)");
    }
    if args.output == std::path::Path::new("-") {
        bail!(
            "-o - (standard output) is not supported: a model is a binary file and the summary goes to stdout; give a file name, e.g. -o model.nlm"
        );
    }
    let mut spec = args.spec.spec(args.model);
    if spec.kind.supervised() && spec.label.is_none() {
        bail!(
            "--label COLUMN is required: {:?} learns from labelled rows (the unsupervised models are --model iforest and kmeans)",
            spec.kind
        );
    }
    let table = args.table.load(&args.tables)?;
    args.spec.leave_out_identifiers(&table, &mut spec);
    let groups = crate::common::feature_groups;
    let pb = spinner(&format!(
        "training {:?} on {} rows",
        spec.kind, table.n_rows
    ));
    let (model, eval) = if args.test_split > 0.0 && spec.label.is_some() {
        let method = match args.split {
            Some(SplitArg::Random) => SplitMethod::Random,
            Some(SplitArg::Stratified) => SplitMethod::Stratified,
            Some(SplitArg::Time) => SplitMethod::Time,
            None if spec.kind.regression() => SplitMethod::Random,
            None => SplitMethod::Stratified,
        };
        let split = SplitSpec {
            test_fraction: args.test_split,
            method,
            seed: args.spec.seed,
        };
        let (m, e) = model::train_test(&table, &spec, &split, &groups, args.permutation)?;
        (m, Some(e))
    } else {
        (model::train(&table, &spec, &groups)?, None)
    };
    pb.finish_and_clear();
    model
        .save(&args.output)
        .with_context(|| format!("saving {}", args.output.display()))?;
    match summary_format(args.format) {
        SummaryFormat::Json => crate::common::outln!(
            "{}",
            serde_json::to_string_pretty(&report_json(&model, eval.as_ref()))?
        )?,
        SummaryFormat::Text => {
            crate::common::outln!(
                "trained {:?} on {} rows × {} features in {:.2} s → {}",
                model.kind,
                model.meta.train_rows,
                model.pipeline.feature_names.len(),
                model.meta.train_seconds,
                args.output.display()
            )?;
            let r = &model.meta.report;
            if !r.dropped_columns.is_empty()
                || !r.constant_features.is_empty()
                || !r.duplicate_features.is_empty()
                || !r.non_finite.is_empty()
            {
                crate::common::outln!(
                    "preprocessing: {} column(s) dropped, {} constant, {} duplicate, {} with non-finite values, {} row(s) dropped",
                    r.dropped_columns.len(),
                    r.constant_features.len(),
                    r.duplicate_features.len(),
                    r.non_finite.len(),
                    r.dropped_rows
                )?;
            }
            if let Some(c) = model.coefficients() {
                crate::common::outln!("coefficients:")?;
                for (n, v) in c {
                    crate::common::outln!("  {n:<40} {v:>16.8e}")?;
                }
            }
            if let Some(e) = &eval {
                crate::common::outln!("held-out evaluation:\n{}", render(e))?;
            }
        }
    }
    Ok(())
}
