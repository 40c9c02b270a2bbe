#!/usr/bin/env bash
# Reproduces bench/timeseries/RESULTS.md: Cortez backtest, 8,760-point
# timing (wall and CPU), NAB anomaly windows (detector variants). Needs
# ../shared/data beside the repository (or NETLENS_SHARED_DATA). The series
# extraction overhead is measured by bench/timeseries/overhead.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo run --release -q -p netlens-timeseries --example ts_bench
