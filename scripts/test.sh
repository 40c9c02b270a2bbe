#!/usr/bin/env bash
# Run the whole netlens test suite, installing what the tests need first.
# Usage: scripts/test.sh            (from anywhere inside the repository)
# Needs: the Rust toolchain, and ../shared/data beside the repository
# (override with NETLENS_SHARED_DATA=/path/to/shared/data).
set -euo pipefail
cd "$(dirname "$0")/.."

export NETLENS_SHARED_DATA="${NETLENS_SHARED_DATA:-$(cd .. && pwd)/shared/data}"
if [ ! -d "$NETLENS_SHARED_DATA" ]; then
  echo "test.sh: shared test data not found at $NETLENS_SHARED_DATA" >&2
  exit 1
fi

# Debian packages the tests use (skipped when already present).
need=()
command -v python3 >/dev/null || need+=(python3)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
command -v cc >/dev/null || need+=(gcc)
# The libpcap runtime for the live-capture tests (netlens loads it when an
# interface is opened; the build itself needs no C library).
ldconfig -p 2>/dev/null | grep -q 'libpcap\.so' || need+=(libpcap0.8)
command -v chromium >/dev/null || need+=(chromium)  # browser test of netlens serve
command -v java >/dev/null || need+=(default-jre-headless)  # Spark reading netlens output (test_consumers.py)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq "${need[@]}"; else sudo apt-get update -qq && sudo apt-get install -y -qq "${need[@]}"; fi
fi

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
echo "== cargo fmt --check"
cargo fmt --all --check
echo "== build"
cargo build --workspace --all-targets --locked
echo "== Rust tests"
set +e
cargo test --workspace --locked --no-fail-fast 2>&1 | tee target/test-output.txt
status=${PIPESTATUS[0]}
passed=$(awk '/^test result:/ {for (i=1;i<=NF;i++) if ($(i+1) ~ /^passed/) p+=$i} END {print p+0}' target/test-output.txt)
failed=$(awk '/^test result:/ {for (i=1;i<=NF;i++) if ($(i+1) ~ /^failed/) f+=$i} END {print f+0}' target/test-output.txt)

echo "== Python package tests (virtualenv, maturin, pytest)"
scripts/test-python.sh 2>&1 | tee target/python-test-output.txt
pystatus=${PIPESTATUS[0]}
set -e
pyline=$(grep -E '[0-9]+ (passed|failed)' target/python-test-output.txt | tail -n 1 || true)
pypassed=$(echo "$pyline" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || echo 0)
pyfailed=$(echo "$pyline" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+' || echo 0)
passed=$((passed + ${pypassed:-0}))
failed=$((failed + ${pyfailed:-0}))
if [ "$pystatus" != 0 ] && [ "$status" = 0 ]; then
  status=$pystatus
  [ "$failed" = 0 ] && failed=1
fi
echo "== summary"
grep -hE 'agreement:' target/test-output.txt || true
echo "${passed:-0} passed, ${failed:-0} failed"
exit "$status"
