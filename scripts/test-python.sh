#!/usr/bin/env bash
# Build the netlens Python package (maturin develop, debug profile) into a
# virtualenv and run its pytest suite, which also runs examples/*.py.
#
#   scripts/test-python.sh [pytest args...]
#
# Environment: CARGO_TARGET_DIR (default: <repo>/target), NETLENS_PY_VENV
# (default: $CARGO_TARGET_DIR/python-venv), PYTHON (default: python3),
# NETLENS_SHARED_DATA (default: <repo>/../shared/data).
# Exits non-zero when the build or any test fails.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
VENV=${NETLENS_PY_VENV:-$CARGO_TARGET_DIR/python-venv}
PY=${PYTHON:-python3}

if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
"${PIP[@]}" install "maturin>=1.9,<2" "pytest>=7" pandas "pyarrow>=14" numpy scikit-learn
# polars is optional: its tests are skipped when it is missing.
"${PIP[@]}" install polars || echo "test-python: polars not installed; to_polars tests will be skipped"
# DuckDB and Spark read netlens output in test_consumers.py (skipped without them;
# Spark also needs a Java runtime, which scripts/test.sh installs).
"${PIP[@]}" install duckdb pyspark || echo "test-python: duckdb/pyspark not installed; test_consumers.py will be skipped"

# The CLI the tests compare against (debug build, shares artifacts with the package).
cargo build -q -p netlens --bin netlens

# Build and install the extension module into the virtualenv (debug profile).
(cd crates/python && VIRTUAL_ENV="$VENV" PATH="$VENV/bin:$PATH" maturin develop -q)

export NETLENS_BIN=${NETLENS_BIN:-$CARGO_TARGET_DIR/debug/netlens}
exec "$VENV/bin/python" -m pytest crates/python/tests -q -p no:cacheprovider "$@"
