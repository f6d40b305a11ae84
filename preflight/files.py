"""Writing result files: one atomic writer (text, bytes, Parquet) and one JSON-ready converter."""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from preflight.outputs import file_mode


def atomic_write(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same directory and a rename.

    The file gets the mode the user's umask gives a new file (``mkstemp`` alone makes it 0600) and
    is flushed to disk before the rename, so a reader sees the old file or the whole new one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), file_mode())
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


@contextmanager
def _replacing(path: Path) -> Iterator[str]:
    """A temporary file beside ``path`` for a writer that opens files by name: on success it gets
    the new-file mode and replaces ``path``; on any error it is removed."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_parquet(table, path: Path) -> Path:
    """Write a pyarrow table to Parquet via a temporary file in the same directory and a rename."""
    import pyarrow.parquet as pq

    with _replacing(path) as tmp:
        pq.write_table(table, tmp)
    return path


def json_ready(value):
    """A value JSON can hold exactly: NaN and infinities as ``None`` (``null``), numpy scalars and
    arrays as Python numbers and lists, tuples as lists, mapping keys as strings; recursively."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [json_ready(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def atomic_parquet_batches(batches, path: Path, compression: str = "zstd", dictionary=None) -> Path:
    """Write an iterable of pyarrow tables (one schema) to one Parquet file, each a row group,
    via a temporary file and a rename, compressed. ``dictionary(schema)`` names the columns to
    dictionary-encode (default: all)."""
    import pyarrow.parquet as pq

    path = Path(path)
    with _replacing(path) as tmp:
        writer = None
        try:
            for batch in batches:
                if writer is None:
                    encode = True if dictionary is None else dictionary(batch.schema)
                    writer = pq.ParquetWriter(tmp, batch.schema, compression=compression, use_dictionary=encode)
                if batch.num_rows:  # (an empty batch only sets the schema)
                    writer.write_table(batch, row_group_size=batch.num_rows)
        finally:
            if writer is not None:
                writer.close()
    return path
