"""The built-in artifact handlers: json, numpy (npy, npz), pickle, arrow and parquet
(pyarrow), zarr. pyarrow and zarr are imported only when their handler runs."""

from __future__ import annotations

import dataclasses
import io
import json
import pickle
import platform
import zipfile
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from lazyarray.artifacts.handlers import Artifact
from lazyarray.errors import ArtifactError


def _python_version() -> str:
    return ".".join(platform.python_version_tuple()[:2])


def _dry_run(alias: str, write: Callable[[], Any]) -> None:
    """Runs a writer on an empty value: the keywords it refuses are refused now."""
    try:
        write()
    except (TypeError, ValueError) as exc:
        raise ArtifactError(f"handler {alias!r} cannot take these writer keywords: {exc}") from None


@dataclasses.dataclass
class JSONArtifact(Artifact):
    """JSON's types (dict with str keys, list, str, int, float, bool, None)."""

    alias = "json"
    suffix = "json"
    binary = False

    @classmethod
    def accepts(cls, value: Any) -> bool:
        return value is None or isinstance(value, dict | list | str | int | float | bool)

    @classmethod
    def check(cls, value: Any) -> None:
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ArtifactError(
                f"handler 'json' cannot write this value: {exc} (JSON has no NaN or "
                "infinity; numpy arrays: handler='numpy'; other objects: handler='pickle')"
            ) from None

    @classmethod
    def check_writer(cls, value: Any, writer_kwargs: dict[str, Any]) -> None:
        _dry_run(cls.alias, lambda: cls.write([], io.StringIO(), **writer_kwargs))

    @classmethod
    def read(cls, buf: Any, **kwargs: Any) -> Any:
        try:
            return json.load(buf, **kwargs)
        except json.JSONDecodeError as exc:
            raise ArtifactError(f"not a JSON document: {exc}") from None

    @classmethod
    def write(cls, obj: Any, buf: Any, **kwargs: Any) -> None:
        json.dump(obj, buf, **{"allow_nan": False, **kwargs})


_NPY_MAGIC = b"\x93NUMPY"


@dataclasses.dataclass
class NumpyArtifact(Artifact):
    """A numpy array as ``npy``; a masked array as ``npz`` of ``data``, ``mask`` and
    ``fill_value``; a dict of arrays as ``npz``. Object arrays are refused: reading them
    would unpickle (handler='pickle' says so)."""

    alias = "numpy"
    suffix = "npy"
    binary = True
    numpy_version: str = dataclasses.field(default_factory=lambda: np.__version__)

    @classmethod
    def suffix_for(cls, value: Any) -> str:
        return "npz" if isinstance(value, np.ma.MaskedArray | Mapping) else "npy"

    @classmethod
    def accepts(cls, value: Any) -> bool:
        return isinstance(value, np.ndarray | np.generic)

    @classmethod
    def check(cls, value: Any) -> None:
        arrays = value.values() if isinstance(value, Mapping) else [value]
        for array in arrays:
            if not isinstance(array, np.ndarray | np.generic):
                raise ArtifactError(
                    f"handler 'numpy' writes numpy arrays (or a dict of them), not "
                    f"{type(array).__name__}"
                )
            if array.dtype.hasobject:
                raise ArtifactError(
                    f"handler 'numpy' does not write object arrays (dtype {array.dtype}): "
                    "reading them would unpickle; use handler='pickle'"
                )
        if isinstance(value, Mapping) and not all(isinstance(k, str) for k in value):
            raise ArtifactError("handler 'numpy' writes a dict of arrays with str keys")

    @classmethod
    def check_writer(cls, value: Any, writer_kwargs: dict[str, Any]) -> None:
        # np.savez would store any other keyword as one more array
        takes = {"compressed"} if cls.suffix_for(value) == "npz" else set()
        if isinstance(value, np.ma.MaskedArray):
            takes = set()
        unknown = sorted(writer_kwargs.keys() - takes)
        if unknown:
            raise ArtifactError(
                f"handler 'numpy' does not take the writer keywords {', '.join(unknown)} "
                f"(it takes {', '.join(sorted(takes)) or 'none'} for this value)"
            )

    @classmethod
    def read(cls, buf: Any, **kwargs: Any) -> Any:
        head = buf.read(len(_NPY_MAGIC))
        buf.seek(0)
        try:
            if head == _NPY_MAGIC:
                return np.load(buf, allow_pickle=False, **kwargs)
            with np.load(buf, allow_pickle=False, **kwargs) as archive:
                arrays = {key: archive[key] for key in archive.files}
        except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
            raise ArtifactError(f"not an npy or npz file: {exc}") from None
        if arrays.keys() == {"__masked_data__", "__masked_mask__", "__masked_fill__"}:
            return np.ma.MaskedArray(
                arrays["__masked_data__"],
                mask=arrays["__masked_mask__"],
                fill_value=arrays["__masked_fill__"][()],
            )
        return arrays

    @classmethod
    def write(cls, obj: Any, buf: Any, **kwargs: Any) -> None:
        if isinstance(obj, np.ma.MaskedArray):
            np.savez(
                buf,
                __masked_data__=np.ma.getdata(obj),
                __masked_mask__=np.ma.getmaskarray(obj),
                __masked_fill__=np.asarray(obj.fill_value, dtype=obj.dtype),
                **kwargs,
            )
        elif isinstance(obj, Mapping):
            (np.savez_compressed if kwargs.pop("compressed", False) else np.savez)(
                buf, **obj, **kwargs
            )
        else:
            np.save(buf, obj, allow_pickle=False, **kwargs)


@dataclasses.dataclass
class PickleArtifact(Artifact):
    """Any picklable Python object (cloudpickle, so lambdas too). Unsafe: unpickling
    runs code, so a repository or server not opened trusted refuses to read it."""

    alias = "pickle"
    suffix = "pkl"
    binary = True
    unsafe = True
    python_version: str = dataclasses.field(default_factory=_python_version)

    @classmethod
    def check(cls, value: Any) -> None:
        return None  # whether it pickles is known when it is written

    @classmethod
    def check_writer(cls, value: Any, writer_kwargs: dict[str, Any]) -> None:
        import cloudpickle

        _dry_run(cls.alias, lambda: cloudpickle.dump(None, io.BytesIO(), **writer_kwargs))

    @classmethod
    def read(cls, buf: Any, **kwargs: Any) -> Any:
        try:
            return pickle.load(buf, **kwargs)
        except (pickle.UnpicklingError, EOFError) as exc:
            raise ArtifactError(f"not a pickle: {exc}") from None

    @classmethod
    def write(cls, obj: Any, buf: Any, **kwargs: Any) -> None:
        import cloudpickle

        try:
            cloudpickle.dump(obj, buf, **kwargs)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            raise ArtifactError(f"handler 'pickle' cannot pickle this value: {exc}") from exc


def _arrow_table(value: Any) -> Any:
    """``value`` as a ``pyarrow.Table``: a table, a record batch, or a dict of 1-d arrays
    (masked entries become nulls)."""
    import pyarrow as pa

    if isinstance(value, pa.Table):
        return value
    if isinstance(value, pa.RecordBatch):
        return pa.Table.from_batches([value])
    if isinstance(value, Mapping):
        columns = {}
        for key, column in value.items():
            if isinstance(column, np.ma.MaskedArray):
                column = pa.array(np.ma.getdata(column), mask=np.ma.getmaskarray(column))
            elif isinstance(column, np.ndarray) and column.ndim != 1:
                raise ArtifactError(f"column {key!r} has {column.ndim} dimensions; Arrow's have 1")
            columns[str(key)] = column
        try:
            return pa.table(columns)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as exc:
            raise ArtifactError(f"cannot make an Arrow table of this dict: {exc}") from None
    raise ArtifactError(
        f"an Arrow table, record batch or dict of 1-d arrays, not {type(value).__name__}"
    )


def _is_arrow(value: Any) -> bool:
    return type(value).__module__.startswith("pyarrow") and type(value).__name__ in (
        "Table",
        "RecordBatch",
    )


@dataclasses.dataclass
class _TableArtifact(Artifact):
    """A table (a ``pyarrow.Table``, a record batch, or a dict of 1-d arrays), its
    writer's keywords tried on an empty table of its schema."""

    binary = True

    @classmethod
    def check(cls, value: Any) -> None:
        _arrow_table(value)

    @classmethod
    def check_writer(cls, value: Any, writer_kwargs: dict[str, Any]) -> None:
        empty = _arrow_table(value).schema.empty_table()
        _dry_run(cls.alias, lambda: cls.write(empty, io.BytesIO(), **writer_kwargs))


@dataclasses.dataclass
class ArrowArtifact(_TableArtifact):
    """A table in Arrow's IPC file format; read back as a ``pyarrow.Table``."""

    alias = "arrow"
    suffix = "arrow"

    @classmethod
    def accepts(cls, value: Any) -> bool:
        return _is_arrow(value)

    @classmethod
    def read(cls, buf: Any, **kwargs: Any) -> Any:
        import pyarrow as pa

        try:
            return pa.ipc.open_file(buf, **kwargs).read_all()
        except pa.ArrowInvalid as exc:
            raise ArtifactError(f"not an Arrow IPC file: {exc}") from None

    @classmethod
    def write(cls, obj: Any, buf: Any, **kwargs: Any) -> None:
        import pyarrow as pa

        table = _arrow_table(obj)
        with pa.ipc.new_file(buf, table.schema, **kwargs) as writer:
            writer.write_table(table)


@dataclasses.dataclass
class ParquetArtifact(_TableArtifact):
    """A table as Parquet; read back as a ``pyarrow.Table``."""

    alias = "parquet"
    suffix = "parquet"

    @classmethod
    def read(cls, buf: Any, **kwargs: Any) -> Any:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            return pq.read_table(buf, **kwargs)
        except (pa.ArrowInvalid, OSError) as exc:
            raise ArtifactError(f"not a Parquet file: {exc}") from None

    @classmethod
    def write(cls, obj: Any, buf: Any, **kwargs: Any) -> None:
        import pyarrow.parquet as pq

        pq.write_table(_arrow_table(obj), buf, **kwargs)


@dataclasses.dataclass
class ZarrArtifact(Artifact):
    """An array as a zarr (v3) array: many files, so ``read``/``write`` take a zarr store
    rather than a buffer. Read back as a read-only ``zarr.Array`` (nothing is read until
    indexed), which is how a result larger than memory is saved and used."""

    alias = "zarr"
    suffix = "zarr"
    binary = True
    multi_file = True

    @classmethod
    def accepts(cls, value: Any) -> bool:
        return type(value).__module__.startswith("zarr") and type(value).__name__ == "Array"

    @classmethod
    def check(cls, value: Any) -> None:
        if isinstance(value, np.ma.MaskedArray):
            raise ArtifactError("handler 'zarr' does not write masks; use handler='numpy'")
        if cls.accepts(value):
            return
        if not isinstance(value, np.ndarray | np.generic) or value.dtype.hasobject:
            raise ArtifactError(
                f"handler 'zarr' writes numpy or zarr arrays, not {type(value).__name__}"
                + (" of objects" if isinstance(value, np.ndarray) else "")
            )

    @classmethod
    def read(cls, buf: Any, **kwargs: Any) -> Any:
        import zarr

        try:
            return zarr.open_array(buf, mode="r", **kwargs)
        except (FileNotFoundError, ValueError, KeyError) as exc:
            raise ArtifactError(f"not a zarr array: {exc}") from None

    @classmethod
    def check_writer(cls, value: Any, writer_kwargs: dict[str, Any]) -> None:
        import zarr.storage

        kwargs = dict(writer_kwargs)
        chunks = kwargs.pop("chunks", "auto")
        dtype = np.dtype(value.dtype) if hasattr(value, "dtype") else np.asarray(value).dtype
        shape = np.shape(value)
        store = zarr.storage.MemoryStore()
        _dry_run(cls.alias, lambda: cls.create(store, shape, dtype, chunks, **kwargs))

    @classmethod
    def create(
        cls, buf: Any, shape: tuple[int, ...], dtype: Any, chunks: Any, **kwargs: Any
    ) -> Any:
        """An empty array in the store ``buf``, to be written block by block. Every
        chunk is stored, even one holding only the fill value, so that a version's
        manifest lists them all and a missing one is noticed (``stored_files``)."""
        import zarr

        config: Any = {**dict(kwargs.pop("config", None) or {}), "write_empty_chunks": True}
        return zarr.create_array(
            buf, shape=shape, dtype=dtype, chunks=chunks, config=config, **kwargs
        )

    @classmethod
    def stored_files(cls, buf: Any) -> list[str]:
        """The keys a complete array in the store ``buf`` has: its metadata, and one
        object per chunk (per shard, when sharded)."""
        import itertools

        import zarr

        array = zarr.open_array(buf, mode="r")
        grid = array.shards or array.chunks
        counts = [-(-int(n) // max(int(c), 1)) for n, c in zip(array.shape, grid, strict=True)]
        metadata = "zarr.json" if array.metadata.zarr_format == 3 else ".zarray"
        return [metadata] + [
            array.metadata.encode_chunk_key(index)
            for index in itertools.product(*(range(n) for n in counts))
        ]

    @classmethod
    def write(cls, obj: Any, buf: Any, **kwargs: Any) -> None:
        array = np.asarray(obj[...]) if cls.accepts(obj) else np.asarray(obj)
        chunks = kwargs.pop("chunks", "auto")
        target = cls.create(buf, array.shape, array.dtype, chunks, **kwargs)
        target[...] = array


__all__ = [
    "ArrowArtifact",
    "JSONArtifact",
    "NumpyArtifact",
    "ParquetArtifact",
    "PickleArtifact",
    "ZarrArtifact",
]
