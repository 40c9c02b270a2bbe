"""Shared fixtures: data locations and the netlens CLI the tests compare against."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "data" / "sample" / "sample.pcap"
SAMPLE_LABELS = REPO / "data" / "sample" / "sample.labels.csv"


def shared_data() -> Path:
    """The shared test data: NETLENS_SHARED_DATA, else ../shared/data beside the repo."""
    env = os.environ.get("NETLENS_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def netlens_bin() -> Path:
    """The CLI binary: NETLENS_BIN, else target/debug/netlens."""
    env = os.environ.get("NETLENS_BIN")
    if env:
        return Path(env)
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return target / "debug" / "netlens"


@pytest.fixture(scope="session")
def cli():
    """Run the netlens CLI; returns a function taking argument lists."""
    exe = netlens_bin()
    if not exe.exists():
        found = shutil.which("netlens")
        if not found:
            pytest.fail(f"netlens CLI not found at {exe}; build it with cargo build -p netlens or set NETLENS_BIN")
        exe = Path(found)

    def run(*args, check=True):
        p = subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True)
        if check and p.returncode != 0:
            raise AssertionError(f"netlens {' '.join(map(str, args))} failed ({p.returncode}): {p.stderr}")
        return p

    return run


@pytest.fixture(scope="session")
def data():
    d = shared_data()
    if not d.is_dir():
        pytest.fail(f"shared test data not found at {d} (set NETLENS_SHARED_DATA)")
    return d
