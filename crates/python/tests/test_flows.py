"""Flows from Python against the CLI: same rows, same values, right dtypes, clean errors."""

import csv
import datetime as dt
import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import netlens
from conftest import SAMPLE


def captures(data):
    """A mix of real captures: Ethernet/VLAN/IPv6/fragments/tunnels, pcap and pcapng, and a directory."""
    return [
        SAMPLE,
        data / "pcap" / "ndpi" / "1kxun.pcap",
        data / "pcap" / "ndpi" / "4in4tunnel.pcap",
        data / "pcap" / "chrissanders",
        data / "pcap" / "zeek" / "cisco-fabric-path.pcap",
    ]


def cell_text(v, typ):
    """A Python value in the CLI's CSV spelling (floats are compared numerically)."""
    if v is None:
        return ""
    if pa.types.is_timestamp(typ):
        return v.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if pa.types.is_list(typ):
        return "[" + ",".join(str(x) for x in v) + "]"
    return str(v)


def assert_same_as_cli_csv(table: pa.Table, path):
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    assert header == table.column_names
    assert len(body) == table.num_rows
    cols = [table.column(i).to_pylist() for i in range(table.num_columns)]
    types = [f.type for f in table.schema]
    for r, line in enumerate(body):
        for c, cell in enumerate(line):
            v, typ = cols[c][r], types[c]
            if pa.types.is_floating(typ) and v is not None:
                x = float(cell)
                assert (math.isnan(x) and math.isnan(v)) or x == v, (header[c], r, cell, v)
            elif pa.types.is_list(typ) and pa.types.is_floating(typ.value_type) and v is not None:
                xs = [float(t) for t in cell.strip("[]").split(",") if t]
                assert xs == v, (header[c], r, cell, v)
            else:
                assert cell == cell_text(v, typ), (header[c], r, cell, v)


@pytest.mark.parametrize("i", range(5))
def test_same_flows_as_cli(cli, data, tmp_path, i):
    src = captures(data)[i]
    out = tmp_path / "cli.csv"
    cli("flows", src, "--features", "all", "--format", "csv", "-q", "-o", out)
    table = netlens.flows(str(src), features="all").to_arrow()
    assert table.num_rows > 0
    assert_same_as_cli_csv(table, out)


def test_thread_count_does_not_change_the_table(data):
    # The default (None) is 2 metering threads on a machine with two cores
    # or more; any count gives the same table as one thread.
    src = str(data / "pcap" / "ndpi" / "1kxun.pcap")
    one = netlens.flows(src, features="all", threads=1).to_arrow()
    assert one.num_rows > 0
    for threads in (None, 2, 3):
        assert netlens.flows(src, features="all", threads=threads).to_arrow().equals(one), threads
    assert netlens._threads(None) in (1, 2)
    assert netlens._threads(3) == 3


def test_options_reach_the_meter(cli, tmp_path):
    args = dict(features="nfstream", idle_timeout=5, active_timeout=30, splt=4, accounting="ip", tcp_termination=False)
    out = tmp_path / "cli.csv"
    cli("flows", SAMPLE, "--features", "nfstream", "--idle-timeout", "5", "--active-timeout", "30", "--splt", "4",
        "--accounting", "ip", "--no-tcp-termination", "-q", "-o", out)
    f = netlens.flows(SAMPLE, **args)
    t = f.to_arrow()
    assert "splt_ps" in t.column_names
    assert_same_as_cli_csv(t, out)
    # Different options really give a different table.
    default = netlens.flows(SAMPLE, features="nfstream").to_arrow()
    assert sum(t.column("bidirectional_bytes").to_pylist()) < sum(default.column("bidirectional_bytes").to_pylist())


def test_tcp_linger_matches_cli(cli, data, tmp_path):
    # ndpi/ethereum.pcap: peers reset connections with bursts of repeated
    # RSTs; with the 5 s linger they join their connection's flow.
    src = data / "pcap" / "ndpi" / "ethereum.pcap"
    lingering = netlens.flows(str(src), features="basic").to_arrow()
    out = tmp_path / "cli.csv"
    cli("flows", src, "--features", "basic", "--tcp-linger", "0", "-q", "-o", out)
    at_once = netlens.flows(str(src), features="basic", tcp_linger=0).to_arrow()
    assert_same_as_cli_csv(at_once, out)
    assert lingering.num_rows < at_once.num_rows
    assert sum(lingering.column("bidirectional_packets").to_pylist()) == sum(
        at_once.column("bidirectional_packets").to_pylist()
    )
    with pytest.raises(ValueError, match="tcp_linger"):
        netlens.flows(str(src), tcp_linger=-1)


def test_write_matches_cli_files(cli, tmp_path):
    cli("flows", SAMPLE, "--features", "all", "-q", "-o", tmp_path / "cli.csv")
    rep = netlens.flows(SAMPLE, features="all").write(tmp_path / "py.csv")
    assert rep["flows"] > 0 and rep["packets"] > rep["flows"]
    assert (tmp_path / "py.csv").read_bytes() == (tmp_path / "cli.csv").read_bytes()
    netlens.flows(SAMPLE, features="all").write(tmp_path / "py.parquet")
    from_parquet = pq.read_table(tmp_path / "py.parquet")
    assert from_parquet.equals(netlens.flows(SAMPLE, features="all").to_arrow())
    netlens.flows(SAMPLE, features="basic").write(tmp_path / "py.out", format="jsonl")
    cli("flows", SAMPLE, "-q", "--format", "jsonl", "-o", tmp_path / "cli.jsonl")
    assert (tmp_path / "py.out").read_bytes() == (tmp_path / "cli.jsonl").read_bytes()


def test_arrow_schema_and_pandas_dtypes():
    f = netlens.flows(SAMPLE, features="all")
    t = f.to_arrow()
    assert t.schema.field("first_seen").type == pa.timestamp("us", tz="UTC")
    assert t.schema.field("last_seen").type == pa.timestamp("us", tz="UTC")
    assert t.column_names == netlens.feature_columns("all")
    df = f.to_pandas()
    assert len(df) == t.num_rows
    assert str(df["first_seen"].dtype) == "datetime64[us, UTC]"
    assert str(df["last_seen"].dtype) == "datetime64[us, UTC]"
    for field in t.schema:
        kind = df[field.name].dtype.kind
        if pa.types.is_integer(field.type):
            assert kind in "iu", (field.name, df[field.name].dtype)
        elif pa.types.is_floating(field.type):
            assert kind == "f", (field.name, df[field.name].dtype)
    assert df["bidirectional_packets"].dtype == np.int64  # as NFStream's tables
    assert df["bidirectional_packets"].sum() == f.report["ip_packets"]
    assert (df["last_seen"] >= df["first_seen"]).all()


def test_batches_total_equals_one_shot():
    f = netlens.flows(SAMPLE, features="all")
    whole = f.to_arrow()
    sizes = []
    batches = []
    for b in netlens.flows(SAMPLE, features="all").batches(rows=100):
        assert isinstance(b, pa.RecordBatch)
        sizes.append(b.num_rows)
        batches.append(b)
    assert max(sizes) <= 100 and len(sizes) >= whole.num_rows // 100
    assert pa.Table.from_batches(batches).equals(whole)


def test_batches_are_produced_while_reading(data):
    """The first batch arrives before the capture is read to the end, and stopping early is clean."""
    from netlens import _netlens

    src = str(data / "pcap" / "ndpi")
    stream = _netlens.open_flows(([src], "basic", 120.0, 1800.0, 0, "link", True, True, 4 << 20, 1, True, (False, 5.0, 5.0)), 50)
    first = next(stream)
    assert first.num_rows == 50
    assert stream.report_json() is None  # the reader has not finished
    stream.close_stream()
    assert list(stream) == []
    # A generator abandoned half-way stops its reader too.
    gen = netlens.flows(src, features="basic").batches(rows=10)
    assert next(gen).num_rows == 10
    gen.close()


def test_list_of_sources_and_directory(data):
    a = data / "pcap" / "ndpi" / "443-curl.pcap"
    b = data / "pcap" / "ndpi" / "443-git.pcap"
    both = netlens.flows([a, b]).to_arrow()
    assert both.num_rows == netlens.flows(a).to_arrow().num_rows + netlens.flows(b).to_arrow().num_rows


def test_to_numpy_and_polars():
    f = netlens.flows(SAMPLE, features="basic")
    x = f.to_numpy(["bidirectional_packets", "bidirectional_bytes"])
    assert x.shape == (f.to_arrow().num_rows, 2) and x.dtype == np.float64
    assert x[:, 0].sum() == f.report["ip_packets"]
    one = f.to_numpy("bidirectional_bytes")
    assert one.shape == (x.shape[0],) and (one == x[:, 1]).all()
    with pytest.raises(KeyError):
        f.to_numpy(["nope"])
    with pytest.raises(TypeError):
        f.to_numpy(["src_ip"])
    pl = pytest.importorskip("polars")
    df = f.to_polars()
    assert df.height == x.shape[0]
    assert df.schema["first_seen"] == pl.Datetime("us", "UTC")


def test_errors_arrive_as_exceptions(tmp_path):
    with pytest.raises(FileNotFoundError, match="no-such.pcap"):
        netlens.flows(tmp_path / "no-such.pcap").to_arrow()
    bogus = tmp_path / "notes.txt"
    bogus.write_text("this is not a capture\n" * 10)
    with pytest.raises(netlens.CaptureError, match="not a capture"):
        netlens.flows(bogus).to_arrow()
    with pytest.raises(netlens.NetlensError):
        netlens.flows(bogus).to_arrow()
    with pytest.raises(ValueError, match="unknown feature"):
        netlens.flows(SAMPLE, features="bogus_column")
    with pytest.raises(ValueError, match="accounting"):
        netlens.flows(SAMPLE, accounting="bits").to_arrow()
    with pytest.raises(ValueError, match="idle_timeout"):
        netlens.flows(SAMPLE, idle_timeout=-1).to_arrow()
    with pytest.raises(ValueError):
        netlens.flows([])
    truncated = tmp_path / "cut.pcap"
    truncated.write_bytes(SAMPLE.read_bytes()[:5000])
    f = netlens.flows(truncated)
    with pytest.warns(netlens.CaptureWarning):
        assert f.to_arrow().num_rows > 0  # damage is a warning, not an error
    assert any("cut.pcap" in w for w in f.report["warnings"])


def _can_capture_on_lo():
    import os
    import socket

    names = [n for _, n in socket.if_nameindex()]
    return "lo" in names and hasattr(os, "geteuid") and os.geteuid() == 0


def test_live_capture_on_loopback():
    """Flows of UDP datagrams sent to a local port while netlens captures on
    the loopback interface (root, as in CI): they arrive in the table, with
    the right packet and byte counts, and the capture stops by itself."""
    import socket
    import threading
    import time

    if not _can_capture_on_lo():
        pytest.skip("needs root and a loopback interface named lo")
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    port = rx.getsockname()[1]

    def send():
        time.sleep(1.0)
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for _ in range(5):
            tx.sendto(b"netlens-live", ("127.0.0.1", port))
        tx.close()

    t = threading.Thread(target=send)
    t.start()
    start = time.monotonic()
    f = netlens.flows("lo", features="basic", duration=3, bpf=f"udp port {port}")
    df = f.to_pandas()
    t.join()
    rx.close()
    assert 2.5 < time.monotonic() - start < 30
    mine = df[(df["dst_port"] == port) & (df["protocol"] == 17)]
    assert len(mine) == 1, df
    row = mine.iloc[0]
    assert row["src2dst_packets"] == 5 and row["dst2src_packets"] == 0
    assert row["src2dst_bytes"] == 5 * (14 + 20 + 8 + len(b"netlens-live"))
    assert f.report is not None and f.report["packets"] == 5
    assert str(f.schema) == str(f.to_arrow().schema)


def test_live_capture_options_and_errors(tmp_path):
    import socket

    names = [n for _, n in socket.if_nameindex()]
    if not names:
        pytest.skip("no network interface visible")
    with pytest.raises(ValueError, match="live interface only"):
        netlens.flows(SAMPLE, duration=1)
    with pytest.raises(ValueError, match="not both"):
        netlens.flows([SAMPLE, names[0]])
    if _can_capture_on_lo():
        f = netlens.flows("lo", features="basic", duration=0.2)
        with pytest.raises(ValueError, match="Parquet only"):
            f.write(tmp_path / "x.csv")
        f.write(tmp_path / "x.parquet")
        assert pq.read_table(tmp_path / "x.parquet").schema.names == f.columns


def test_series_same_as_cli(cli, tmp_path):
    f = netlens.flows(SAMPLE, features="basic")
    f.to_arrow()
    s = netlens.series(SAMPLE, interval=60)
    cli("series", SAMPLE, "--interval", "1m", "-q", "-o", tmp_path / "s.parquet")
    assert s.equals(pq.read_table(tmp_path / "s.parquet"))
    assert sum(s.column("packets").to_pylist()) == f.report["packets"]
    assert sum(s.column("bytes").to_pylist()) == f.report["wire_bytes"]
    starts = s.column("timestamp").cast(pa.int64()).to_pylist()
    assert len(starts) > 3 and all(b - a == starts[1] - starts[0] > 0 for a, b in zip(starts, starts[1:]))
    assert netlens.series(SAMPLE, interval="10s").num_rows > s.num_rows
    with pytest.raises(ValueError):
        netlens.series(SAMPLE, interval="0s")
    with pytest.raises(FileNotFoundError):
        netlens.series(tmp_path / "missing.pcap")


def test_gz_text_tables_read_by_pandas_as_named(cli, tmp_path):
    import gzip

    import pandas as pd

    cli("flows", SAMPLE, "-q", "-o", tmp_path / "f.csv")
    cli("flows", SAMPLE, "-q", "-o", tmp_path / "f.csv.gz")
    cli("flows", SAMPLE, "-q", "-o", tmp_path / "f.jsonl.gz")
    # pandas infers gzip from the name, as polars and DuckDB do.
    plain = pd.read_csv(tmp_path / "f.csv")
    assert len(plain) > 1000
    assert pd.read_csv(tmp_path / "f.csv.gz").equals(plain)
    lines = pd.read_json(tmp_path / "f.jsonl.gz", lines=True)
    assert list(lines.columns) == list(plain.columns) and len(lines) == len(plain)
    # The Python package writes the same compressed table.
    netlens.flows(SAMPLE, features="basic").write(tmp_path / "py.csv.gz")
    assert gzip.decompress((tmp_path / "py.csv.gz").read_bytes()) == (tmp_path / "f.csv").read_bytes()
    with pytest.raises(ValueError, match="without .gz"):
        netlens.flows(SAMPLE).write(tmp_path / "py.parquet.gz")


@pytest.mark.parametrize("codec,name", [("zstd", "ZSTD"), ("lz4", "LZ4"), ("gzip", "GZIP"), ("none", "UNCOMPRESSED")])
def test_parquet_codecs_read_by_pyarrow_and_polars(cli, tmp_path, codec, name):
    cli("flows", SAMPLE, "-q", "--features", "nfstream", "-o", tmp_path / "snappy.parquet")
    out = tmp_path / f"{codec}.parquet"
    cli("flows", SAMPLE, "-q", "--features", "nfstream", "--compression", codec, "-o", out)
    f = pq.ParquetFile(out)
    assert f.metadata.row_group(0).column(0).compression == name
    assert f.read().equals(pq.read_table(tmp_path / "snappy.parquet"))
    pl = pytest.importorskip("polars")
    assert pl.read_parquet(out).height == f.metadata.num_rows


def test_write_compression_matches_cli(cli, tmp_path):
    cli("flows", SAMPLE, "-q", "--features", "basic", "--compression", "zstd:5", "-o", tmp_path / "cli.parquet")
    netlens.flows(SAMPLE, features="basic").write(tmp_path / "py.parquet", compression="zstd:5")
    assert (tmp_path / "py.parquet").read_bytes() == (tmp_path / "cli.parquet").read_bytes()
    assert pq.ParquetFile(tmp_path / "py.parquet").metadata.row_group(0).column(0).compression == "ZSTD"
    with pytest.raises(ValueError, match="unknown compression"):
        netlens.flows(SAMPLE).write(tmp_path / "x.parquet", compression="brotli")
    with pytest.raises(ValueError, match="Parquet codec"):
        netlens.flows(SAMPLE).write(tmp_path / "x.csv", compression="zstd")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(splt=-1), r"splt must be an integer in 0\.\.65535, got -1"),
        (dict(splt=70000), r"splt must be an integer in 0\.\.65535"),
        (dict(max_flows=-1), r"max_flows must be an integer in 0\.\."),
        (dict(threads=-1), r"threads must be an integer in 0\.\.4096"),
        (dict(idle_timeout=-1), r"idle_timeout must be a non-negative"),
        (dict(active_timeout=float("nan")), r"active_timeout must be a non-negative"),
        (dict(accounting="bits"), r"accounting must be one of link, ip, transport, payload"),
    ],
)
def test_flow_options_are_checked_at_the_call_site_with_their_names(kwargs, message):
    with pytest.raises(ValueError, match=message):
        netlens.flows(SAMPLE, **kwargs)


def test_features_may_be_a_list():
    assert netlens.flows(SAMPLE, features=["basic", "splt"]).columns == netlens.flows(SAMPLE, features="basic,splt").columns


def test_cic_names_and_activity_timeout_match_cli(cli, tmp_path):
    """`cic_names` and `cic_activity_timeout` are `netlens flows --cic-names
    --cic-activity-timeout`: same CIC-IDS2017 headers, same values."""
    for timeout in (None, 0.5):
        out = tmp_path / f"cli-{timeout}.csv"
        extra = [] if timeout is None else ["--cic-activity-timeout", str(timeout)]
        cli("flows", SAMPLE, "--features", "cic", "--cic-names", *extra, "-q", "-o", out)
        kw = {} if timeout is None else dict(cic_activity_timeout=timeout)
        f = netlens.flows(SAMPLE, features="cic", cic_names=True, **kw)
        t = f.to_arrow()
        assert "Flow Duration" in t.column_names and "Total Fwd Packet" in t.column_names
        assert "cic_flow_duration" not in t.column_names
        assert f.columns == t.column_names == netlens.feature_columns("cic", cic_names=True)
        assert f.schema.names == t.column_names
        assert_same_as_cli_csv(t, out)
        f.write(tmp_path / "py.csv")
        assert (tmp_path / "py.csv").read_bytes() == out.read_bytes()
    # The activity timeout reaches the meter: a short one splits flows into more Active/Idle periods.
    short = netlens.flows(SAMPLE, features="cic", cic_activity_timeout=0.5).to_arrow()
    default = netlens.flows(SAMPLE, features="cic").to_arrow()
    assert short.column_names == netlens.feature_columns("cic")
    assert short.column("cic_idle_mean_us").to_pylist() != default.column("cic_idle_mean_us").to_pylist()
    with pytest.raises(ValueError, match="cic_activity_timeout must be a non-negative"):
        netlens.flows(SAMPLE, cic_activity_timeout=-1)
    for doc in (netlens.flows.__doc__, netlens.Flows.__init__.__doc__ or netlens.flows.__doc__):
        assert "``cic``" in doc and "cic_names" in doc and "cic_activity_timeout" in doc


def test_cli_help_names_cic_headers_that_are_written(cli):
    """The `--cic-names` help quotes header names the CLI really writes."""
    import re

    help_text = " ".join(cli("flows", "--help").stdout.split())  # unwrap clap's lines
    line = re.search(r"CIC-IDS2017 CSV headers \(([^)]*)\)", help_text).group(1)
    examples = re.findall(r'"([^"]+)"', line)
    assert examples, line
    header = cli("flows", SAMPLE, "--features", "cic", "--cic-names", "-q", "-o", "-").stdout.splitlines()[0].split(",")
    for name in examples:
        assert name in header, (name, line)


def _pcap(linktype: int, frames) -> bytes:
    """A little-endian microsecond pcap with one record per frame."""
    import struct

    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype)
    for i, fr in enumerate(frames):
        out += struct.pack("<IIII", 1_600_000_000 + i, 0, len(fr), len(fr)) + fr
    return out


def test_reader_warnings_are_python_warnings(tmp_path):
    """What the CLI prints as warnings (truncated capture, skipped file,
    unsupported link type) is raised as netlens.CaptureWarning when a read
    finishes, and stays in the report."""
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(SAMPLE.read_bytes()[:100_000])
    assert issubclass(netlens.CaptureWarning, RuntimeWarning)
    f = netlens.flows(cut, features="basic")
    with pytest.warns(netlens.CaptureWarning, match=r"cut\.pcap: truncated") as rec:
        t = f.to_arrow()
    assert t.num_rows > 0
    assert [str(w.message) for w in rec if w.category is netlens.CaptureWarning] == f.report["warnings"]
    assert rec[0].filename == __file__  # points at the caller, not at netlens
    with pytest.warns(netlens.CaptureWarning, match="truncated"):
        assert sum(b.num_rows for b in netlens.flows(cut, features="basic").batches(rows=50)) == t.num_rows
    with pytest.warns(netlens.CaptureWarning, match="truncated"):
        rep = netlens.flows(cut, features="basic").write(tmp_path / "cut.csv")
    assert any("truncated" in w for w in rep["warnings"])
    with pytest.warns(netlens.CaptureWarning, match="truncated"):
        netlens.series(cut, interval=60)

    # A directory with a file that is not a capture: skipped, with a warning.
    d = tmp_path / "dir"
    d.mkdir()
    (d / "a.pcap").write_bytes(SAMPLE.read_bytes())
    (d / "notes.bin").write_bytes(b"not a capture at all\n" * 4)
    with pytest.warns(netlens.CaptureWarning, match="notes.bin"):
        netlens.flows(d, features="basic").to_arrow()

    # Packets of a link type netlens does not decode (147, USER0).
    odd = tmp_path / "user0.pcap"
    odd.write_bytes(_pcap(147, [b"\x00" * 60] * 3))
    g = netlens.flows(odd, features="basic")
    with pytest.warns(netlens.CaptureWarning, match=r"3 packets of unsupported link type 147"):
        assert g.to_arrow().num_rows == 0
    assert g.report["unsupported_linktypes"] == {"147": 3}

    # A clean capture raises none.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        netlens.flows(SAMPLE, features="basic").to_arrow()


def test_live_write_keeps_the_compression_level(tmp_path):
    """A live capture is written by pyarrow: `zstd:LEVEL`/`gzip:LEVEL` keep
    their level (it used to be dropped) and bad specs get the CLI's errors."""
    assert netlens._parquet_codec(None) == ("snappy", None)
    assert netlens._parquet_codec("zstd:9") == ("zstd", 9)
    assert netlens._parquet_codec("GZIP: 3") == ("gzip", 3)
    assert netlens._parquet_codec("lz4") == ("lz4", None)
    with pytest.raises(ValueError, match="not a number from 1 to 22"):
        netlens._parquet_codec("zstd:99")
    with pytest.raises(ValueError, match="snappy takes no level"):
        netlens._parquet_codec("snappy:3")
    t = netlens.flows(SAMPLE, features="all").to_arrow()
    sizes = {}
    for level in (1, 19):
        p = tmp_path / f"z{level}.parquet"
        netlens._write_parquet(t, str(p), *netlens._parquet_codec(f"zstd:{level}"))
        assert pq.read_table(p).equals(t)
        assert pq.ParquetFile(p).metadata.row_group(0).column(0).compression == "ZSTD"
        sizes[level] = p.stat().st_size
    assert sizes[19] < sizes[1]
    if _can_capture_on_lo():
        f = netlens.flows("lo", features="basic", duration=0.2)
        with pytest.raises(ValueError, match="not a number from 1 to 22"):
            f.write(tmp_path / "x.parquet", compression="zstd:99")
        f.write(tmp_path / "x.parquet", compression="zstd:9")
        assert pq.ParquetFile(tmp_path / "x.parquet").metadata.num_columns == len(f.columns)
