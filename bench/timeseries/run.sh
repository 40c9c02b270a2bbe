#!/usr/bin/env bash
# Reproduces bench/timeseries/RESULTS.md: Cortez backtest, 8,760-point
# timing, NAB anomaly windows. Needs ../shared/data beside the repository
# (or NETLENS_SHARED_DATA).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo run --release -q -p netlens-timeseries --example ts_bench
