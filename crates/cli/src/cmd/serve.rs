//! `netlens serve`: a live web dashboard of a capture replayed at its own
//! pace: throughput, protocol/application mix, top talkers, active flows,
//! alerts as they happen and the throughput forecast, as a page and as
//! JSON endpoints.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;
use netlens_web::feed::{FeedConfig, SharedState};
use netlens_web::{Dashboard, Limits, ServerConfig, SourceInfo};

use crate::common;

/// Serve a live dashboard (page + JSON under /api/) of a capture replayed at
/// its own pace, with the bundled attack detector and a throughput forecast.
#[derive(Parser, Debug)]
#[command(
    after_help = "Examples:\n  netlens serve capture.pcap            (http://127.0.0.1:8080/)\n  netlens serve capture.pcap --speed 10 --listen 127.0.0.1:9000\n  netlens serve capture.pcap --listen 0.0.0.0:8080 --token $(openssl rand -hex 16)\n\nEndpoints: /api/summary /api/throughput /api/mix /api/talkers /api/flows /api/alerts /api/forecast /api/status"
)]
pub struct Args {
    /// Capture files or directories to replay.
    #[arg(required_unless_present = "interface")]
    pub inputs: Vec<String>,
    /// Live capture instead of files (`--interface IFACE`, `--duration`, `--bpf`, ...).
    #[command(flatten)]
    pub live: common::LiveArgs,
    /// Address to listen on (port 0 = any free port). Non-loopback addresses need --token.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Token every request must carry (Authorization: Bearer TOKEN or ?token=TOKEN); 16-256 characters of A-Z a-z 0-9 . _ ~ -.
    #[arg(long)]
    pub token: Option<String>,
    /// Replay speed: 1 = the capture's own pace, 10 = ten times faster, 0 = as fast as possible.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Detector model (default: the bundled models/detector.nlm).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Skip attack detection.
    #[arg(long)]
    pub no_detect: bool,
    /// Seconds without packets after which a flow ends.
    #[arg(long, default_value = "120")]
    pub idle_timeout: String,
    /// No messages on stderr (the listening address is still printed on stdout).
    #[arg(short, long)]
    pub quiet: bool,
}

/// Run the command.
pub fn run(a: Args) -> Result<()> {
    if !(a.speed >= 0.0 && a.speed.is_finite()) {
        bail!("--speed must be a number ≥ 0 (0 = as fast as possible)");
    }
    let server = ServerConfig {
        listen: a.listen,
        token: a.token.clone(),
    };
    // Refuse a bad token or an unguarded public address before any work.
    server.check()?;
    let detector = if a.no_detect {
        None
    } else {
        let path = a
            .model
            .clone()
            .or_else(crate::cmd::detect::bundled_model)
            .context(
                "the bundled detector (models/detector.nlm) was not found; pass --model, set NETLENS_DETECTOR_MODEL or use --no-detect",
            )?;
        Some(
            netlens_detect::Detector::load(&path, None)
                .with_context(|| format!("loading detector {}", path.display()))?,
        )
    };
    let mut meter = match &detector {
        Some(d) => d.feature_set().meter_config(),
        None => netlens_flow::MeterConfig::default(),
    };
    meter.idle_timeout_ns = common::secs_to_ns(common::parse_seconds(&a.idle_timeout)?);
    let input = common::PacketInput::open(&a.inputs, true, &a.live)?;
    let live = input.is_live();
    let source_name = match &a.live.interface {
        Some(i) => i.clone(),
        None => a.inputs.join(", "),
    };
    let source = SourceInfo {
        name: source_name.clone(),
        mode: if live { "live" } else { "replay" }.into(),
        speed: a.speed,
        detector: detector
            .as_ref()
            .map(|d| d.detector_name())
            .unwrap_or_default(),
    };
    let limits = Limits {
        idle_timeout_ns: meter.idle_timeout_ns,
        ..Limits::default()
    };
    let state: SharedState = Arc::new(std::sync::Mutex::new(Dashboard::new(source, limits)));
    let cfg = FeedConfig {
        meter,
        // Small batches when paced, so ended flows and alerts show promptly.
        batch_packets: if a.speed > 0.0 { 64 } else { 4096 },
    };
    // Live: Ctrl-C / --duration end the capture cleanly (flows flushed).
    let stop: &'static AtomicBool = match input.stop_flag(&a.live)? {
        Some(s) => s,
        None => Box::leak(Box::new(AtomicBool::new(false))),
    };
    let ctrl_c_ends = live && a.live.duration.is_none();

    let quiet = a.quiet;
    let speed = a.speed;
    let feed_state = state.clone();
    std::thread::Builder::new()
        .name("netlens-replay".into())
        .spawn(move || {
            let r = match input {
                common::PacketInput::Files(reader) => {
                    let r = netlens_web::replay(
                        reader,
                        speed,
                        &cfg,
                        detector.as_ref(),
                        &feed_state,
                        stop,
                    );
                    // Input warnings (truncation) go to stderr too, not
                    // only to the page's status.
                    for w in netlens_web::feed::lock(&feed_state).status().warnings {
                        eprintln!("netlens: warning: {w}");
                    }
                    Ok(r)
                }
                mut other => {
                    let r = netlens_web::run_feed(
                        &mut other,
                        &cfg,
                        detector.as_ref(),
                        &feed_state,
                        stop,
                    );
                    other.finish(r.as_ref().map_or(0, |r| r.flows), quiet);
                    r
                }
            };
            match r {
                Ok(r) if !quiet => eprintln!(
                    "netlens: input finished: {} packets, {} flows; still serving (Ctrl-C to stop)",
                    r.packets, r.flows
                ),
                Ok(_) => {}
                Err(e) => eprintln!("netlens: error: {e:#}"),
            }
            if ctrl_c_ends {
                // Ctrl-C stopped the live capture: the user wants to leave.
                std::process::exit(0);
            }
        })
        .context("cannot start the replay thread")?;
    let fc_state = state.clone();
    std::thread::Builder::new()
        .name("netlens-forecast".into())
        .spawn(move || netlens_web::run_forecaster(&fc_state, Duration::from_secs(3), stop))
        .context("cannot start the forecast thread")?;

    let token_q = a
        .token
        .as_deref()
        .map(|t| format!("?token={t}"))
        .unwrap_or_default();
    netlens_web::serve_blocking(&server, state, |addr| {
        // The first stdout line is the address (scripts and tests read it).
        println!("listening on http://{addr}/");
        if !quiet {
            eprintln!(
                "netlens: dashboard at http://{addr}/{token_q} ({} {}); Ctrl-C to stop",
                source_name,
                if live {
                    "live".to_string()
                } else if speed > 0.0 {
                    format!("at {speed}× its own pace")
                } else {
                    "as fast as possible".to_string()
                }
            );
        }
        use std::io::Write;
        let _ = std::io::stdout().flush();
    })?;
    Ok(())
}
