"""Benchmark: netlens.flows(...).to_pandas() against NFStream on the same capture.

    python bench/python/bench_vs_nfstream.py [capture ...] [--repeat N]

For each capture it times, end to end (capture file in, pandas DataFrame
out): netlens with NFStream-equivalent settings (features="nfstream":
bidirectional + directional statistics, tcp_termination=False like
NFStream) and ``NFStreamer(source, statistical_analysis=True).to_pandas()``
when nfstream is installed (its default n_meters=0 runs cores − 1 meter
processes besides its reader; ``--threads N`` gives netlens N metering
threads, default netlens's own default). It also times the Arrow → pandas conversion
alone (flows/s). Best of N runs; results print as a Markdown table.
Build the package with ``maturin develop --release`` for meaningful numbers,
and rebuild after running ``scripts/test.sh``: ``maturin develop`` installs
editable, so the extension module lives in ``crates/python/python/netlens/``
and the test script's debug build (about 10 times slower) replaces it for
every virtualenv that imports netlens from the checkout.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import netlens

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("NETLENS_SHARED_DATA", REPO.parent / "shared" / "data"))


def best(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("captures", nargs="*", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-nfstream", action="store_true")
    ap.add_argument(
        "--threads",
        type=int,
        default=None,
        help="netlens metering threads (default: netlens's own default, 2 with two or more cores; NFStream's default n_meters=0 means cores - 1 meter processes plus its reader)",
    )
    a = ap.parse_args()
    caps = a.captures or [DATA / "pcap" / "ndpi" / "1kxun.pcap", REPO / "data" / "sample" / "sample.pcap"]
    try:
        if a.no_nfstream:
            raise ImportError("disabled")
        from nfstream import NFStreamer
    except ImportError as e:
        NFStreamer = None
        print(f"nfstream unavailable ({e}); timing netlens only", file=sys.stderr)

    print(f"netlens threads={netlens._threads(a.threads)}; NFStream defaults (n_meters=0: cores - 1 meters, {os.cpu_count()} CPUs)", file=sys.stderr)
    print("| capture | MB | flows netlens | netlens s | flows NFStream | NFStream s | speed-up | to_pandas flows/s |")
    print("|---|---|---|---|---|---|---|---|")
    for cap in caps:
        mb = cap.stat().st_size / 1e6 if cap.is_file() else sum(p.stat().st_size for p in cap.rglob("*") if p.is_file()) / 1e6
        nl_s, df = best(lambda: netlens.flows(cap, features="nfstream", tcp_termination=False, threads=a.threads).to_pandas(), a.repeat)
        table = netlens.flows(cap, features="nfstream", tcp_termination=False).to_arrow()
        conv_s, _ = best(lambda: table.to_pandas(), max(a.repeat, 5))
        rate = table.num_rows / conv_s if conv_s > 0 else float("inf")
        if NFStreamer is not None:
            nf_s, nf = best(lambda: NFStreamer(source=str(cap), statistical_analysis=True).to_pandas(), a.repeat)
            nf_cols = f"{len(nf)} | {nf_s:.3f} | {nf_s / nl_s:.1f}×"
        else:
            nf_cols = "– | – | –"
        print(f"| {cap.name} | {mb:.1f} | {len(df)} | {nl_s:.3f} | {nf_cols} | {rate:,.0f} |")


if __name__ == "__main__":
    main()
