"""netlens: network traffic analysis with machine learning, from Python.

The heavy lifting (reading captures, dissecting packets, metering flows,
training and applying models) runs in Rust; tables cross into Python as
Apache Arrow data through the Arrow C data interface, without copies.

>>> import netlens
>>> f = netlens.flows("capture.pcap", features="all")
>>> df = f.to_pandas()                       # one row per bidirectional flow
>>> for batch in netlens.flows("huge.pcap").batches(rows=100_000):
...     ...                                  # pyarrow.RecordBatch, metered while reading

Columns, names and values are those of ``netlens flows --features ...``.
"""

from __future__ import annotations

import json
import os
import socket
import warnings
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Sequence, Union

import pyarrow as pa

from . import _netlens
from ._netlens import CaptureError, ModelError, NetlensError, __version__
from . import ml as _ml
from .ml import Model, load_model

if TYPE_CHECKING:
    from .ml import NetlensClassifier, NetlensRegressor

__all__ = [
    "CaptureError",
    "CaptureWarning",
    "Flows",
    "Model",
    "ModelError",
    "NetlensClassifier",
    "NetlensError",
    "NetlensRegressor",
    "__version__",
    "feature_columns",
    "flows",
    "load_model",
    "series",
]


def __getattr__(name: str) -> Any:
    """The scikit-learn estimators on first access, so ``import netlens`` does not import sklearn."""
    if name in ("NetlensClassifier", "NetlensRegressor"):
        return getattr(_ml, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__))


PathLike = Union[str, "os.PathLike[str]"]
Source = Union[PathLike, Sequence[PathLike]]

#: Default number of flows per record batch for ``to_arrow``/``to_pandas``.
_COLLECT_ROWS = 65_536

#: CICFlowMeter's default activity timeout in seconds (``netlens flows --cic-activity-timeout``).
_CIC_ACTIVITY_TIMEOUT = 5.0


class CaptureWarning(RuntimeWarning):
    """Part of the input was not read: a skipped file, a truncated or damaged
    capture, packets of a link type netlens does not decode, or a live
    capture's dropped packets. The flows of everything else are still
    returned; the same text is in ``Flows.report["warnings"]``."""


def _warn_all(messages: Sequence[str], stacklevel: int = 3) -> None:
    """Raise each reader warning as a ``CaptureWarning`` (what the CLI prints to stderr)."""
    for m in messages:
        warnings.warn(m, CaptureWarning, stacklevel=stacklevel + 1)


def _interfaces() -> List[str]:
    try:
        return [name for _, name in socket.if_nameindex()]
    except (OSError, AttributeError):
        return []


def _is_interface(p: str) -> bool:
    """``p`` names a network interface and no file or directory."""
    return p != "-" and not os.path.exists(p) and p in _interfaces()


def _inputs(source: Source) -> List[str]:
    """Normalise ``source`` to a list of path strings (or one interface name)."""
    if isinstance(source, (str, bytes, os.PathLike)):
        items = [source]
    else:
        items = list(source)
    if not items:
        raise ValueError("no capture given: pass a path, a list of paths or an interface name")
    out = [os.fsdecode(os.fspath(s)) for s in items]
    if len(out) > 1 and any(_is_interface(p) for p in out):
        raise ValueError("give either capture files or one interface name, not both")
    return out


def feature_columns(features: str = "all", cic_names: bool = False) -> List[str]:
    """Names of the columns a feature spec selects, in output order.

    With ``cic_names=True`` the ``cic`` columns carry their CIC-IDS2017 CSV
    headers (``Flow Duration``, ``Total Fwd Packet``, ...), as with
    ``netlens flows --cic-names``.
    """
    return _netlens.feature_columns(features, bool(cic_names))


class Flows:
    """Flows of one or more captures; nothing is read until a method asks.

    Every method reads the captures again except ``to_arrow``, which keeps
    its table (and ``to_pandas``/``to_polars``/``to_numpy`` reuse it).
    """

    def __init__(
        self,
        source: Source,
        features: str = "all",
        idle_timeout: float = 120,
        active_timeout: float = 1800,
        splt: int = 0,
        accounting: str = "link",
        tcp_termination: bool = True,
        syn_ack_flip: bool = True,
        max_flows: int = 4 << 20,
        threads: Optional[int] = None,
        merge: bool = True,
        duration: Optional[float] = None,
        bpf: Optional[str] = None,
        snaplen: int = 65535,
        promiscuous: bool = True,
        cic_names: bool = False,
        cic_activity_timeout: float = _CIC_ACTIVITY_TIMEOUT,
        tcp_linger: float = 5,
    ) -> None:
        self._inputs = _inputs(source)
        #: (interface, duration, snaplen, bpf, promiscuous) for a live capture, else None.
        self._live = (
            (self._inputs[0], None if duration is None else float(duration), int(snaplen), bpf, bool(promiscuous))
            if len(self._inputs) == 1 and _is_interface(self._inputs[0])
            else None
        )
        if self._live is None and (duration is not None or bpf is not None):
            raise ValueError("duration and bpf apply to a live interface only")
        if not isinstance(features, str):  # a list of names/groups, as the CLI's comma list
            features = ",".join(str(f) for f in features)
        self._args = (
            self._inputs,
            features,
            _seconds("idle_timeout", idle_timeout),
            _seconds("active_timeout", active_timeout),
            _int_in("splt", splt, 0, 65535),
            _choice("accounting", accounting, ("link", "ip", "transport", "payload")),
            bool(tcp_termination),
            bool(syn_ack_flip),
            _int_in("max_flows", max_flows, 0, 2**63 - 1),
            _int_in("threads", _threads(threads), 0, 4096),
            bool(merge),
            (
                bool(cic_names),
                _seconds("cic_activity_timeout", cic_activity_timeout),
                _seconds("tcp_linger", tcp_linger),
            ),
        )
        # Validate the options now so mistakes surface at the call site.
        _netlens.feature_columns(self._spec(), self._args[11][0])
        self._table: Optional[pa.Table] = None
        self._report: Optional[Dict[str, Any]] = None

    def _open(self, rows: int) -> Any:
        """Start metering: a stream of record batches of at most ``rows`` flows."""
        if self._live is not None:
            _, duration, snaplen, bpf, promiscuous = self._live
            return _netlens.open_live_flows(self._args, rows, duration, snaplen, bpf, promiscuous)
        return _netlens.open_flows(self._args, rows)

    def _spec(self) -> str:
        spec, splt = self._args[1], self._args[4]
        if splt > 0 and not any(p.strip() in ("splt", "all") for p in spec.split(",")):
            spec += ",splt"
        return spec

    @property
    def columns(self) -> List[str]:
        """Column names of the flow table."""
        return _netlens.feature_columns(self._spec(), self._args[11][0])

    @property
    def report(self) -> Optional[Dict[str, Any]]:
        """What the last complete read did (packets, flows, skip reasons, warnings)."""
        return self._report

    def _finished(self, report_json: Optional[str]) -> None:
        """Keep a complete run's report and raise its warnings as ``CaptureWarning``s."""
        if report_json is None:
            return
        self._report = json.loads(report_json)
        _warn_all(self._report.get("warnings") or [], stacklevel=3)

    def batches(self, rows: int = 100_000) -> Iterator[pa.RecordBatch]:
        """Yield ``pyarrow.RecordBatch``es of at most ``rows`` flows while reading.

        Memory stays bounded by the flow table and a few batches, so
        captures larger than memory can be processed. Stopping early stops
        the reader. Skipped files, truncated captures and undecoded link
        types are raised as ``CaptureWarning``s once the last batch is read.
        """
        if int(rows) < 1:
            raise ValueError("rows must be at least 1")
        stream = self._open(int(rows))
        try:
            for batch in stream:
                yield batch
        finally:
            stream.close_stream()
        self._finished(stream.report_json())

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        return self.batches()

    @property
    def schema(self) -> pa.Schema:
        """The Arrow schema of the flow table."""
        if self._live is not None:
            return _netlens.flows_schema(self._spec(), self._args[11][0])
        stream = _netlens.open_flows(self._args, 1)
        stream.close_stream()
        return stream.schema

    def to_arrow(self) -> pa.Table:
        """All flows as a ``pyarrow.Table`` (cached).

        Skipped files, truncated captures and undecoded link types are raised
        as ``CaptureWarning``s (and listed in ``report["warnings"]``).
        """
        if self._table is None:
            stream = self._open(_COLLECT_ROWS)
            schema = stream.schema
            batches = list(stream)
            self._finished(stream.report_json())
            self._table = pa.Table.from_batches(batches, schema=schema)
        return self._table

    def to_pandas(self, **kwargs: Any) -> "pandas.DataFrame":  # noqa: F821
        """All flows as a pandas DataFrame.

        Integer columns stay integers (a column with missing values uses
        pandas' nullable ``Int64``), ``first_seen``/``last_seen``
        are ``datetime64[us, UTC]``.
        """
        return _arrow_to_pandas(self.to_arrow(), **kwargs)

    def to_polars(self) -> "polars.DataFrame":  # noqa: F821
        """All flows as a polars DataFrame (needs ``pip install polars``)."""
        try:
            import polars as pl
        except ImportError as e:
            raise ImportError("to_polars needs polars: pip install polars") from e
        return pl.from_arrow(self.to_arrow())

    def to_numpy(self, columns: Optional[Sequence[str]] = None, dtype: Any = "float64") -> "numpy.ndarray":  # noqa: F821
        """Numeric columns as a 2-D array (rows × columns; missing values → NaN).

        ``columns`` defaults to every numeric column; a single name gives a 1-D array.
        """
        import numpy as np

        t = self.to_arrow()
        single = isinstance(columns, str)
        if columns is None:
            columns = [f.name for f in t.schema if pa.types.is_integer(f.type) or pa.types.is_floating(f.type)]
        names = [columns] if single else list(columns)
        for n in names:
            if n not in t.column_names:
                raise KeyError(f"no column {n!r}; columns: {', '.join(t.column_names)}")
        if not single and not names:
            return np.empty((t.num_rows, 0), dtype=dtype)
        cols = []
        for n in names:
            c = t.column(n)
            if not (pa.types.is_integer(c.type) or pa.types.is_floating(c.type) or pa.types.is_timestamp(c.type)):
                raise TypeError(f"column {n!r} has type {c.type}, not a number")
            if pa.types.is_timestamp(c.type):
                c = c.cast(pa.int64())
            cols.append(c.to_numpy(zero_copy_only=False).astype(dtype, copy=False) if c.null_count == 0
                        else c.cast(pa.float64()).to_numpy(zero_copy_only=False).astype(dtype, copy=False))
        if single:
            return cols[0]
        return np.column_stack(cols)

    def write(
        self, path: PathLike, format: Optional[str] = None, compression: Optional[str] = None
    ) -> Dict[str, Any]:
        """Write the flows as CSV, JSON Lines or Parquet exactly as ``netlens flows -o path`` does.

        ``format`` defaults to the extension (``.csv``, ``.jsonl``, ``.parquet``), else CSV;
        a name ending in ``.gz`` (``flows.csv.gz``) is written gzip-compressed.
        ``compression`` is the Parquet codec, as ``netlens flows --compression``:
        ``"snappy"`` (default), ``"zstd"`` or ``"zstd:LEVEL"``, ``"lz4"``, ``"gzip"``
        or ``"gzip:LEVEL"``, ``"none"``.
        Returns the run report; its warnings are also raised as ``CaptureWarning``s.
        """
        if self._live is not None:
            # Live flows exist once: they are collected (to_arrow) and
            # written as Parquet with the same schema and values.
            path = os.fsdecode(os.fspath(path))
            fmt = format or os.path.splitext(path)[1].lstrip(".").lower() or "csv"
            if fmt != "parquet":
                raise ValueError(
                    "a live capture is written as Parquet only (path ending in .parquet or "
                    "format='parquet'); for CSV or JSON Lines use `netlens flows --interface`"
                )
            codec, level = _parquet_codec(compression)  # before capturing: fail early
            _write_parquet(self.to_arrow(), path, codec, level)
            return self._report or {}
        self._finished(_netlens.write_flows(self._args, os.fsdecode(os.fspath(path)), format, compression))
        return self._report or {}

    def __repr__(self) -> str:
        return f"<netlens.Flows of {', '.join(self._inputs)} ({len(self.columns)} columns)>"


def _parquet_codec(compression: Optional[str]) -> "tuple[str, Optional[int]]":
    """A ``--compression`` spec (``zstd:9``) as pyarrow's codec name and level,
    checked with the CLI's rules (ValueError with the CLI's message)."""
    if compression is None:
        return "snappy", None
    _netlens.check_compression(compression)
    name, _, level = compression.partition(":")
    name = name.strip().lower()
    name = {"lz4_raw": "lz4", "uncompressed": "none"}.get(name, name)
    return name, (int(level) if level.strip() else None)


def _write_parquet(table: pa.Table, path: str, codec: str, level: Optional[int]) -> None:
    """Write ``table`` as Parquet with pyarrow (a live capture's flows)."""
    import pyarrow.parquet as pq

    pq.write_table(table, path, compression=codec, compression_level=level)


def _arrow_to_pandas(t: pa.Table, **kwargs: Any) -> "pandas.DataFrame":  # noqa: F821
    import pandas as pd

    nullable = {
        pa.uint64(): pd.UInt64Dtype(),
        pa.int64(): pd.Int64Dtype(),
    }
    has_null_ints = any(
        (pa.types.is_integer(f.type)) and t.column(f.name).null_count > 0 for f in t.schema
    )
    if has_null_ints and "types_mapper" not in kwargs:
        # Only integer columns with nulls get pandas' nullable dtypes; the
        # mapper is consulted per type, so map by type and fix the rest back.
        null_cols = {f.name for f in t.schema if pa.types.is_integer(f.type) and t.column(f.name).null_count > 0}
        df = t.to_pandas(**kwargs)
        for n in null_cols:
            df[n] = t.select([n]).to_pandas(types_mapper=nullable.get)[n]
        return df
    return t.to_pandas(**kwargs)


def _int_in(name: str, value: Any, lo: int, hi: int) -> int:
    """``value`` as an int in [lo, hi], or a ValueError naming the parameter."""
    try:
        v = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an integer, got {value!r}") from None
    if v != value or not lo <= v <= hi:
        raise ValueError(f"{name} must be an integer in {lo}..{hi}, got {value!r}")
    return v


def _seconds(name: str, value: Any) -> float:
    """A non-negative, finite number of seconds, or a ValueError naming the parameter."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number of seconds, got {value!r}") from None
    if not (v >= 0.0 and v != float("inf")):
        raise ValueError(f"{name} must be a non-negative, finite number of seconds, got {value!r}")
    return v


def _choice(name: str, value: Any, allowed: Sequence[str]) -> str:
    """One of ``allowed``, or a ValueError naming the parameter and the choices."""
    v = str(value)
    if v not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return v


def _threads(threads: Optional[int]) -> int:
    """Metering threads: ``threads``, or 2 when at least two cores are usable."""
    if threads is not None:
        return int(threads)
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return 2 if cores >= 2 else 1


def flows(
    source: Source,
    features: str = "all",
    idle_timeout: float = 120,
    active_timeout: float = 1800,
    splt: int = 0,
    accounting: str = "link",
    tcp_termination: bool = True,
    syn_ack_flip: bool = True,
    max_flows: int = 4 << 20,
    threads: Optional[int] = None,
    merge: bool = True,
    duration: Optional[float] = None,
    bpf: Optional[str] = None,
    snaplen: int = 65535,
    promiscuous: bool = True,
    cic_names: bool = False,
    cic_activity_timeout: float = _CIC_ACTIVITY_TIMEOUT,
    tcp_linger: float = 5,
) -> Flows:
    """Meter bidirectional flows in captures (pcap/pcapng, gzip too, or directories).

    Parameters mirror ``netlens flows``: ``features`` is a comma list (or a
    list) of presets (``all``; ``basic`` = basic+meta; ``nfstream`` =
    basic+NFStream statistics; ``cic`` = basic+corrected CICFlowMeter set),
    groups (``meta``, ``app``, ``splt``, ...) and column names (see
    ``feature_columns``); ``cic_names=True`` names the ``cic`` columns by
    their CIC-IDS2017 CSV headers (``Flow Duration``, ``Total Fwd Packet``,
    ...), as ``--cic-names`` does, for example to score flows with a model
    trained on the CIC-IDS2017 CSVs; ``cic_activity_timeout`` (seconds,
    default 5, ``--cic-activity-timeout``) is CICFlowMeter's activity
    timeout separating the Active/Idle periods of the ``cic`` columns;
    timeouts are in seconds; ``splt`` keeps the first N packets' direction,
    size and gap; ``accounting`` is ``link``, ``ip``, ``transport`` or
    ``payload``; ``tcp_termination=False`` mimics NFStream; after a FIN/RST
    end a connection that completed its handshake keeps taking its stray
    packets for ``tcp_linger`` seconds (default 5, ``--tcp-linger``; 0 =
    end at once); ``threads`` shards
    metering over that many threads (same output for any count; the flow
    table's ``max_flows`` is split between them). The default, ``None``, is
    2 on a machine with two or more cores, else 1: on the benchmark
    captures two threads make capture → pandas 1.6–1.7 × faster than one
    (the reading thread hands plain TCP/UDP packets undecoded to the
    workers, which dissect and meter them); ``merge=False`` reads several
    inputs one after another instead of merging them by timestamp (an input
    that starts before the previous one ended is metered on its own clock).

    ``source`` may also name a network interface (``"eth0"``, ``"lo"``; it
    must not also be a file name): netlens then captures live (libpcap;
    needs root or ``CAP_NET_RAW``) for ``duration`` seconds, or until the
    batches are no longer read or Ctrl-C, which stops the capture and
    flushes every open flow. Flows reach ``batches()`` as they end (idle
    flows expire on time without new traffic); ``to_pandas()`` returns once
    the capture has stopped. ``bpf`` is a capture filter (``"tcp port
    443"``), ``snaplen`` the bytes kept per packet, ``promiscuous`` the
    interface mode. A live capture is written with ``write`` as Parquet only.

    Raises ``FileNotFoundError`` for a missing path, ``netlens.CaptureError``
    for a file that is not a capture, ``ValueError`` for bad options or an
    interface that cannot be opened (the message says why, e.g. permissions).
    What the CLI prints as warnings (a skipped file in a directory, a
    truncated capture, packets of an unsupported link type) is raised as
    ``netlens.CaptureWarning`` when a read finishes and kept in ``report``.
    """
    return Flows(
        source,
        features=features,
        idle_timeout=idle_timeout,
        active_timeout=active_timeout,
        splt=splt,
        accounting=accounting,
        tcp_termination=tcp_termination,
        syn_ack_flip=syn_ack_flip,
        max_flows=max_flows,
        threads=threads,
        merge=merge,
        duration=duration,
        bpf=bpf,
        snaplen=snaplen,
        promiscuous=promiscuous,
        cic_names=cic_names,
        cic_activity_timeout=cic_activity_timeout,
        tcp_linger=tcp_linger,
    )


def series(source: Source, interval: Union[int, float, str] = "1m", top: int = 5) -> pa.Table:
    """Per-interval traffic table of captures, as ``netlens series -o x.parquet`` writes it.

    ``source``: captures (files, directories) or netlens flow CSV tables.
    ``interval``: seconds, or text such as ``"10s"``, ``"1m"``, ``"1h"``.
    One row per interval (empty intervals included) with packets, bytes,
    flows, TCP SYN counts, unique hosts, protocol bytes and the ``top``
    talkers; see ``netlens series --help``. Skipped files and truncated
    captures are raised as ``CaptureWarning``s.
    """
    import pyarrow.parquet as pq

    if isinstance(interval, (int, float)) and not isinstance(interval, bool):
        interval = f"{interval:g}s"
    data, messages = _netlens.series(_inputs(source), str(interval), _int_in("top", top, 1, 1000))
    _warn_all(messages, stacklevel=2)
    return pq.read_table(pa.BufferReader(data))
