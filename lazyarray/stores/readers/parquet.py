"""A numeric column of a Parquet file, as a 1-d array: its row groups are its chunks
(the largest one's length stands for them), and a region reads only the row groups it
touches, and only that column of them."""

from __future__ import annotations

from typing import Any

import numpy as np

from lazyarray.errors import SourceError, SourceNotFound
from lazyarray.stores.readers import Index, Location, Metadata, file_token, filesystem


class ParquetReader:
    def metadata(self, location: Location) -> Metadata:
        import pyarrow as pa

        with _Opened(location) as parquet:
            schema = parquet.schema_arrow
            if not location.path or location.path not in schema.names:
                raise SourceNotFound(
                    f"no column {location.path!r} in {location.url}; columns: "
                    f"{', '.join(schema.names)}"
                )
            kind = schema.field(location.path).type
            if not (
                pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)
            ):
                raise SourceError(
                    f"column {location.path!r} of {location.url} is of type {kind}, not a "
                    "number or boolean an array can hold"
                )
            metadata = parquet.metadata
            column = schema.get_field_index(location.path)
            sizes = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
            for group in range(metadata.num_row_groups):
                statistics = metadata.row_group(group).column(column).statistics
                if statistics is not None and statistics.has_null_count and statistics.null_count:
                    raise SourceError(
                        f"column {location.path!r} of {location.url} has nulls, which an "
                        "array cannot hold: fill them first"
                    )
            dtype = np.dtype(kind.to_pandas_dtype())
        return Metadata((sum(sizes),), dtype, (max(sizes, default=1) or 1,), self.token(location))

    def token(self, location: Location) -> str:
        return file_token(location)

    def read(self, location: Location, index: Index) -> np.ndarray[Any, Any]:
        (item,) = index
        with _Opened(location) as parquet:
            metadata = parquet.metadata
            sizes = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
            edges = np.cumsum([0, *sizes])
            total = int(edges[-1])
            rows = range(item, item + 1) if isinstance(item, int) else range(*item.indices(total))
            if not len(rows):
                return np.empty(0, self.metadata(location).dtype)
            groups = [g for g in range(len(sizes)) if len(_in(rows, *edges[g : g + 2]))]
            table = parquet.read_row_groups(groups, columns=[location.path])
            column = table.column(0)
            if column.null_count:
                raise SourceError(
                    f"column {location.path!r} of {location.url} has nulls, which an array "
                    "cannot hold: fill them first"
                )
            values = column.to_numpy()
        # the positions of ``rows`` within the groups read (laid end to end)
        positions = np.arange(rows.start, rows.stop, rows.step)
        group = np.searchsorted(edges, positions, side="right") - 1
        offsets = np.zeros(len(sizes), np.int64)
        offsets[groups] = np.cumsum([0] + [sizes[g] for g in groups])[:-1]
        picked: np.ndarray[Any, Any] = values[offsets[group] + positions - edges[group]]
        return picked[0] if isinstance(item, int) else picked


def _in(rows: range, start: Any, stop: Any) -> range:
    """The positions of ``rows`` (ascending) within [start, stop)."""
    start, stop, step = int(start), int(stop), rows.step
    first = max(0, -(-(start - rows.start) // step))
    last = max(0, -(-(stop - rows.start) // step))
    return rows[first:last]


class _Opened:
    """The Parquet file, open while in the ``with``."""

    def __init__(self, location: Location) -> None:
        self.location = location

    def __enter__(self) -> Any:
        import pyarrow.parquet as pq

        fs, path = filesystem(self.location)
        try:
            self.handle = fs.open(path, "rb")
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise SourceNotFound(f"no Parquet file at {self.location.url}") from exc
        try:
            return pq.ParquetFile(self.handle)
        except Exception as exc:
            self.handle.close()
            raise SourceError(f"{self.location.url} is not a Parquet file: {exc}") from exc

    def __exit__(self, *exc: object) -> None:
        self.handle.close()


READER = ParquetReader()
