"""Type stubs of the Rust extension module ``netlens._netlens``."""

from typing import Any, Iterator, List, Optional, Sequence, Tuple

import pyarrow as pa

__version__: str

class NetlensError(Exception):
    """Base class of netlens errors."""

class CaptureError(NetlensError):
    """A capture cannot be read (not a capture, damaged header, empty directory)."""

class ModelError(NetlensError):
    """A model cannot be trained, loaded or applied."""

class FlowStream(Iterator[pa.RecordBatch]):
    """Record batches of flows, metered on a worker thread while iterating."""

    def __iter__(self) -> "FlowStream": ...
    def __next__(self) -> pa.RecordBatch: ...
    @property
    def schema(self) -> pa.Schema:
        """The Arrow schema of the batches."""
    def report_json(self) -> Optional[str]:
        """The run report as JSON once the stream is exhausted, else None."""
    def close_stream(self) -> None:
        """Stop reading."""

#: The metering options of every flows entry point, as one tuple:
#: (inputs, features, idle_timeout, active_timeout, splt, accounting,
#: tcp_termination, syn_ack_flip, max_flows, threads, merge,
#: (cic_names, cic_activity_timeout, tcp_linger)).
MeterArgs = Tuple[List[str], str, float, float, int, str, bool, bool, int, int, bool, Tuple[bool, float, float]]

def open_flows(args: MeterArgs, batch_rows: int) -> FlowStream:
    """Open captures and start metering."""

def open_live_flows(
    args: MeterArgs,
    batch_rows: int,
    duration: Optional[float] = None,
    snaplen: int = 65535,
    bpf: Optional[str] = None,
    promiscuous: bool = True,
) -> FlowStream:
    """Capture from the live interface ``args[0][0]`` and start metering; ends after ``duration`` seconds, on close or Ctrl-C."""

def flows_schema(features: str = "all", cic_names: bool = False) -> pa.Schema:
    """The Arrow schema of the columns a feature spec selects."""

def write_flows(args: MeterArgs, output: str, format: Optional[str], compression: Optional[str] = None) -> str:
    """Meter captures and write the flows with the CLI's writers; returns the report as JSON."""

def feature_columns(features: str = "all", cic_names: bool = False) -> List[str]:
    """Column names a feature spec selects."""

def check_compression(compression: str) -> None:
    """Raise ValueError unless ``compression`` is a Parquet codec spec ``netlens flows --compression`` takes."""

def series(inputs: List[str], interval: str = "1m", top: int = 5) -> Tuple[bytes, List[str]]:
    """Per-interval traffic table as Parquet bytes, and reader warnings."""

class Model:
    """A trained netlens model."""

    @staticmethod
    def train(
        table: Any,
        model: str = "rf",
        *,
        label: Optional[str] = None,
        benign: Sequence[str] = ...,
        positive: Sequence[str] = ...,
        features: Sequence[str] = ...,
        exclude: Sequence[str] = ...,
        time_column: Optional[str] = None,
        scaling: Optional[str] = None,
        non_finite: str = "impute",
        encoding: str = "onehot",
        ip: str = "drop",
        n_trees: int = 100,
        max_depth: Optional[int] = None,
        max_features: Optional[int] = None,
        iterations: int = 100,
        learning_rate: float = 0.1,
        gbt_depth: int = 6,
        alpha: float = 1.0,
        k: int = 8,
        sample_size: int = 256,
        threshold: Optional[float] = None,
        seed: int = 0,
        keep_identifiers: bool = False,
    ) -> "Model":
        """Train on an Arrow table."""
    @staticmethod
    def load(path: str) -> "Model":
        """Load a model file."""
    @staticmethod
    def from_bytes(data: bytes) -> "Model":
        """Parse a model file's bytes."""
    def to_bytes(self) -> bytes:
        """The model file's bytes."""
    def save(self, path: str) -> None:
        """Write the model file."""
    def predict(self, table: Any) -> Tuple[List[str], List[float]]:
        """Predictions as text and scores."""
    def output(self, table: Any) -> Tuple[str, List[float], int]:
        """Raw output: (kind, flat values, columns)."""
    def evaluate_json(self, table: Any, permutation: bool = False) -> str:
        """Evaluation metrics as JSON."""
    @property
    def kind(self) -> str: ...
    @property
    def classes(self) -> List[str]: ...
    @property
    def label(self) -> Optional[str]: ...
    @property
    def threshold(self) -> Optional[float]: ...
    @property
    def input_columns(self) -> List[str]: ...
    @property
    def feature_names(self) -> List[str]: ...
    def info_json(self) -> str:
        """Training metadata as JSON."""
