//! `netlens anomaly`: unsupervised detectors (isolation forest on flows,
//! Kitsune-style online per-packet detector).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use netlens_anomaly::alert::AlertWriter;
use netlens_anomaly::eval::meter_config;
use netlens_anomaly::iforest::{IforestConfig, IforestModel, IforestTrainer};
use netlens_anomaly::kitsune::{Kitsune, KitsuneConfig, KitsuneObserver};
use netlens_pipeline::RunConfig;

use crate::common;

/// Unsupervised anomaly detection trained on traffic assumed clean.
#[derive(Parser, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub cmd: Cmd,
}

/// The anomaly subcommands.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Fit a flow-level model on clean captures.
    Train(TrainArgs),
    /// Score captures with a flow-level model and write alerts (JSON Lines).
    Score(ScoreArgs),
    /// Online per-packet detector: train on the first N packets, then alert.
    Kitsune(KitsuneArgs),
}

/// `netlens anomaly train`.
#[derive(Parser, Debug)]
#[command(
    after_help = "Example:\n  netlens anomaly train --method iforest clean/ --validation clean-later/ --quantile 0.99 -o iforest.nlm"
)]
pub struct TrainArgs {
    /// Captures (files or directories) of traffic assumed clean.
    #[arg(required = true)]
    pub inputs: Vec<String>,
    /// Method (only `iforest`).
    #[arg(long, default_value = "iforest")]
    pub method: String,
    /// Model file to write.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Trees.
    #[arg(long, default_value_t = 200)]
    pub trees: usize,
    /// Rows per tree.
    #[arg(long, default_value_t = 256)]
    pub sample_size: usize,
    /// Quantile of training scores (or of validation scores, with
    /// `--validation`) used as the default alert threshold.
    #[arg(long, default_value_t = 0.995)]
    pub quantile: f64,
    /// Clean captures kept out of fitting whose flow scores calibrate the
    /// threshold (recommended: training scores are optimistic). Repeatable.
    #[arg(long)]
    pub validation: Vec<String>,
    /// Random seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Leave out the per-host context features (flows per source/destination/pair, port spread).
    #[arg(long)]
    pub no_context: bool,
    /// No summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `netlens anomaly score`.
#[derive(Parser, Debug)]
#[command(
    after_help = "Examples:\n  netlens anomaly score --model iforest.nlm new.pcap -o alerts.jsonl\n  netlens anomaly score --model iforest.nlm -i eth0 --duration 1h -o alerts.jsonl"
)]
pub struct ScoreArgs {
    /// Captures to score.
    #[arg(required_unless_present = "interface")]
    pub inputs: Vec<String>,
    /// Live capture (`-i IFACE`; alerts stream until --duration or Ctrl-C).
    #[command(flatten)]
    pub live: common::LiveArgs,
    /// Model file from `netlens anomaly train`.
    #[arg(long)]
    pub model: PathBuf,
    /// Alerts output (`-` = stdout).
    #[arg(short, long, default_value = "-")]
    pub output: String,
    /// Alert threshold on the score (default: the one stored in the model).
    #[arg(long)]
    pub threshold: Option<f64>,
    /// No summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `netlens anomaly kitsune`.
#[derive(Parser, Debug)]
#[command(
    after_help = "Examples:\n  netlens anomaly kitsune day.pcap --train-packets 100000 --calibrate-packets 20000 --quantile 0.99 -o alerts.jsonl\n  netlens anomaly kitsune -i eth0 --train-packets 50000 --calibrate-packets 10000 -o alerts.jsonl   (trains on the first packets seen; Ctrl-C stops)"
)]
pub struct KitsuneArgs {
    /// Captures; the first `--train-packets` IP packets must be clean.
    #[arg(required_unless_present = "interface")]
    pub inputs: Vec<String>,
    /// Live capture (`-i IFACE`): trains on the first `--train-packets` IP
    /// packets seen, then alerts (flushed every second of traffic) until
    /// --duration or Ctrl-C.
    #[command(flatten)]
    pub live: common::LiveArgs,
    /// IP packets used for training (a tenth, at most 5000, learns the feature map).
    #[arg(long, default_value_t = 100_000)]
    pub train_packets: u64,
    /// Alerts output (`-` = stdout).
    #[arg(short, long, default_value = "-")]
    pub output: String,
    /// Alert threshold on the score (default: a quantile of the training scores).
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Quantile of training (or calibration) scores used as the threshold.
    #[arg(long, default_value_t = 0.999)]
    pub quantile: f64,
    /// IP packets after training, assumed clean, scored to calibrate the
    /// threshold (no alerts during them); 0 = use late training scores.
    #[arg(long, default_value_t = 0)]
    pub calibrate_packets: u64,
    /// Most keys tracked per statistics table (least recently used are evicted).
    #[arg(long, default_value_t = 100_000)]
    pub max_keys: usize,
    /// No summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn run(a: Args) -> Result<()> {
    match a.cmd {
        Cmd::Train(a) => train(a),
        Cmd::Score(a) => score(a),
        Cmd::Kitsune(a) => kitsune(a),
    }
}

fn run_cfg() -> RunConfig {
    RunConfig {
        meter: meter_config(),
        ..RunConfig::default()
    }
}

fn train(a: TrainArgs) -> Result<()> {
    if a.method != "iforest" {
        bail!("unknown method '{}' (expected iforest)", a.method);
    }
    if !(0.0..=1.0).contains(&a.quantile) {
        bail!("--quantile must be between 0 and 1");
    }
    let mut reader = common::open_inputs(&a.inputs, true)?;
    let mut t = IforestTrainer::new(IforestConfig {
        n_trees: a.trees.max(1),
        sample_size: a.sample_size.max(2),
        quantile: a.quantile,
        seed: a.seed,
        context: !a.no_context,
        ..IforestConfig::default()
    })?;
    let rep = netlens_pipeline::run::<std::convert::Infallible>(
        &mut reader,
        &run_cfg(),
        &mut [],
        &mut |b| {
            t.add(b);
            Ok(())
        },
        &mut |_| {},
    );
    let rep = match rep {
        Ok(r) => r,
        Err(e) => match e {},
    };
    common::print_warnings(&mut reader);
    let mut m = t.fit()?;
    if !a.validation.is_empty() {
        let ff = m.flow_features()?;
        let mut ctx = m.new_context();
        let mut scores = Vec::new();
        let mut vreader = common::open_inputs(&a.validation, true)?;
        let r = netlens_pipeline::run::<std::convert::Infallible>(
            &mut vreader,
            &run_cfg(),
            &mut [],
            &mut |b| {
                scores.extend(m.score(&ff, ctx.as_mut(), b).1);
                Ok(())
            },
            &mut |_| {},
        );
        if let Err(e) = r {
            match e {}
        }
        common::print_warnings(&mut vreader);
        if scores.is_empty() {
            bail!("the validation captures hold no flows");
        }
        let n = scores.len();
        m.threshold = netlens_anomaly::kitsune::quantile(&mut scores, a.quantile);
        if !a.quiet {
            eprintln!(
                "netlens: threshold calibrated on {n} validation flows: {:.4} (q{})",
                m.threshold, a.quantile
            );
        }
    }
    m.save(&a.output)?;
    if !a.quiet {
        eprintln!(
            "netlens: trained iforest on {} flows ({} packets, {} features); threshold {:.4} (q{}) → {}",
            m.train_flows.1,
            rep.packets,
            m.feature_names().len(),
            m.threshold,
            m.quantile,
            a.output.display()
        );
    }
    Ok(())
}

fn score(a: ScoreArgs) -> Result<()> {
    let m = IforestModel::load(&a.model)
        .with_context(|| format!("cannot load model {}", a.model.display()))?;
    let ff = m.flow_features()?;
    if a.threshold.is_some_and(|t| !t.is_finite()) {
        bail!("--threshold must be a number");
    }
    let th = a.threshold.unwrap_or(m.threshold);
    let mut reader = common::PacketInput::open(&a.inputs, true, &a.live)?;
    let stop = reader.stop_flag(&a.live)?;
    let mut out = AlertWriter::new(common::open_output(&a.output)?);
    let mut ctx = m.new_context();
    let mut flows = 0u64;
    let rep = netlens_pipeline::run_source::<_, anyhow::Error>(
        &mut reader,
        &run_cfg(),
        &mut [],
        &mut |b| {
            let (rows, s) = m.score(&ff, ctx.as_mut(), b);
            flows += b.len() as u64;
            for ((f, r), s) in b.iter().zip(&rows).zip(s) {
                if s > th {
                    out.write(&m.alert(&ff, f, r, s).to_record())?;
                }
            }
            Ok(out.flush()?)
        },
        &mut |_| {},
        stop,
    )
    .context("writing alerts")?;
    out.flush()?;
    reader.finish(flows, a.quiet);
    if !a.quiet {
        eprintln!(
            "netlens: scored {flows} flows ({} packets); {} alerts over threshold {th:.4}",
            rep.packets,
            out.written()
        );
    }
    Ok(())
}

fn kitsune(a: KitsuneArgs) -> Result<()> {
    if a.train_packets < 2 {
        bail!("--train-packets must be at least 2");
    }
    let mut cfg = KitsuneConfig::with_train_packets(a.train_packets);
    if a.threshold.is_some_and(|t| !t.is_finite()) {
        bail!("--threshold must be a number");
    }
    if !(0.0..=1.0).contains(&a.quantile) {
        bail!("--quantile must be between 0 and 1");
    }
    cfg.threshold = a.threshold;
    cfg.threshold_quantile = a.quantile;
    cfg.calibrate_packets = a.calibrate_packets;
    cfg.max_keys = a.max_keys.max(2);
    let mut reader = common::PacketInput::open(&a.inputs, true, &a.live)?;
    let stop = reader.stop_flag(&a.live)?;
    let out = AlertWriter::new(common::open_output(&a.output)?);
    let mut obs = KitsuneObserver::new(Kitsune::new(cfg), out);
    let start = std::time::Instant::now();
    let rep = netlens_pipeline::run_source::<_, anyhow::Error>(
        &mut reader,
        &run_cfg(),
        &mut [&mut obs],
        &mut |_| Ok(()),
        &mut |_| {},
        stop,
    );
    // Alerts decided before a capture error are still written.
    let written = obs.finish().context("writing alerts")?;
    let rep = rep?;
    reader.finish(rep.flows, a.quiet);
    if !obs.det.trained() {
        eprintln!(
            "netlens: warning: only {} IP packets; training needs {} — no packet was scored",
            obs.det.packets, a.train_packets
        );
    } else if obs.det.threshold().is_none() {
        eprintln!(
            "netlens: warning: only {} IP packets; training and calibration need {} — no alert was possible",
            obs.det.packets,
            a.train_packets.saturating_add(a.calibrate_packets)
        );
    }
    if !a.quiet {
        eprintln!(
            "netlens: kitsune: {} packets ({} IP, {} skipped) in {:.2}s; threshold {}; {} anomalous packets, {} alerts; {} keys evicted",
            rep.packets,
            obs.det.packets,
            obs.det.skipped,
            start.elapsed().as_secs_f64(),
            obs.det
                .threshold()
                .map_or("-".to_string(), |t| format!("{t:.5}")),
            obs.anomalous_packets,
            written,
            obs.det.evicted()
        );
    }
    Ok(())
}
