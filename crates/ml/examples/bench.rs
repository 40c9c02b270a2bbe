//! Benchmark driver used by `bench/ml/run.sh`: trains and scores models on
//! a train/test pair and prints one JSON line per model.
//!
//! `bench nslkdd TRAIN TEST FIELD_NAMES [models]` or
//! `bench synth TRAIN TEST [models]` or `bench cic DIR [models]`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use netlens_ml::model::{self, Hyper, Metrics, ModelKind, SplitSpec, TrainSpec};
use netlens_ml::select::{FeatureSelection, LabelMapping};
use netlens_ml::split::SplitMethod;
use netlens_ml::table::{CsvOptions, Table};

fn kind(s: &str) -> ModelKind {
    match s {
        "rf" => ModelKind::RandomForest,
        "tree" => ModelKind::Tree,
        "gbt" => ModelKind::Gbt,
        "logreg" => ModelKind::Logistic,
        "iforest" => ModelKind::IsolationForest,
        other => panic!("unknown model {other}"),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    let mode = a.get(1).map(String::as_str).unwrap_or("");
    let none = |_: &str| None;
    if mode == "cic" {
        let dir = PathBuf::from(&a[2]);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension().is_some_and(|e| e == "csv")
                    && !p.to_string_lossy().contains("header_reference")
            })
            .collect();
        files.sort();
        let t = Table::from_paths(&files, &CsvOptions::default())?;
        for m in a.get(3).map_or("rf,gbt,tree", |s| s.as_str()).split(',') {
            let spec = TrainSpec {
                kind: kind(m),
                label: Some("Label".into()),
                mapping: LabelMapping::AsIs,
                features: FeatureSelection {
                    include: vec![],
                    exclude: vec![
                        "id".into(),
                        "Flow ID".into(),
                        "Timestamp".into(),
                        "Attempted Category".into(),
                    ],
                },
                time_column: None,
                preprocess: None,
                hyper: Hyper::default(),
                threshold: None,
            };
            let t0 = Instant::now();
            let (_, e) = model::train_test(
                &t,
                &spec,
                &SplitSpec {
                    test_fraction: 0.2,
                    method: SplitMethod::Stratified,
                    seed: 0,
                },
                &none,
                false,
            )?;
            let Metrics::Classification(c) = e.metrics else {
                unreachable!()
            };
            println!(
                "{{\"dataset\":\"cicids2017\",\"model\":\"{m}\",\"rows\":{},\"seconds\":{:.3},\"accuracy\":{:.5},\"macro_f1\":{:.5},\"weighted_f1\":{:.5}}}",
                t.n_rows,
                t0.elapsed().as_secs_f64(),
                c.accuracy,
                c.macro_f1,
                c.weighted_f1
            );
        }
        return Ok(());
    }
    let (train_t, test_t, mapping, models) = match mode {
        "nslkdd" => {
            let fields = std::fs::read_to_string(&a[4])?;
            let mut names: Vec<String> = fields
                .lines()
                .filter_map(|l| l.split(',').next())
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
            names.push("attack".into());
            names.push("difficulty".into());
            let o = CsvOptions {
                has_header: false,
                column_names: Some(names),
                ..Default::default()
            };
            (
                Table::from_csv_path(Path::new(&a[2]), &o)?,
                Table::from_csv_path(Path::new(&a[3]), &o)?,
                LabelMapping::Benign(vec!["normal".into()]),
                a.get(5).cloned().unwrap_or("rf,gbt,tree,logreg".into()),
            )
        }
        "synth" => (
            Table::from_csv_path(Path::new(&a[2]), &CsvOptions::default())?,
            Table::from_csv_path(Path::new(&a[3]), &CsvOptions::default())?,
            LabelMapping::Positive(vec!["1".into()]),
            a.get(4).cloned().unwrap_or("rf,gbt,tree,logreg".into()),
        ),
        _ => return Err("usage: bench nslkdd|synth|cic ...".into()),
    };
    let label = if mode == "nslkdd" { "attack" } else { "label" };
    for m in models.split(',') {
        let spec = TrainSpec {
            kind: kind(m),
            label: Some(label.into()),
            mapping: mapping.clone(),
            features: FeatureSelection {
                include: vec![],
                exclude: if mode == "nslkdd" {
                    vec!["difficulty".into()]
                } else {
                    vec![]
                },
            },
            time_column: None,
            preprocess: None,
            hyper: Hyper::default(),
            threshold: None,
        };
        let t0 = Instant::now();
        let model = model::train(&train_t, &spec, &none)?;
        let fit = t0.elapsed().as_secs_f64();
        let x = model.features(&test_t)?;
        let t0 = Instant::now();
        let _ = model.output(&x)?;
        let pred = t0.elapsed().as_secs_f64();
        let e = model.evaluate(&test_t, false)?;
        let Metrics::Classification(c) = e.metrics else {
            unreachable!()
        };
        let pos = c
            .per_class
            .get(1)
            .map_or((0.0, 0.0), |p| (p.precision, p.recall));
        println!(
            "{{\"dataset\":\"{mode}\",\"model\":\"{m}\",\"fit_s\":{fit:.3},\"predict_s\":{pred:.4},\"rows_per_s\":{:.0},\"accuracy\":{:.5},\"precision\":{:.5},\"recall\":{:.5},\"roc_auc\":{:.5}}}",
            test_t.n_rows as f64 / pred,
            c.accuracy,
            pos.0,
            pos.1,
            c.roc_auc.unwrap_or(f64::NAN)
        );
    }
    Ok(())
}
