"""Lowering a plan to dask.array, by kind.

Elementwise ops and fused kernels become one ``map_blocks`` task per chunk running the op
rows' numpy implementations (masked variants included), so results are numpy's, chunk by
chunk. Reductions, shape ops, indexing and linear algebra use dask.array's own (tree
reductions, rechunking). Generated sources (random, full, arange, linspace, eye) make
each chunk alone, as a region of the whole array: the values are exactly the numpy
backend's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import dask.array as da
import numpy as np

from lazyarray.backend import memory_error
from lazyarray.errors import ComputeError, UnsupportedOperation
from lazyarray.graph import Literal, Node
from lazyarray.ops import OPS, Kind, Trait
from lazyarray.ops.indexing import decode_index, encode_index
from lazyarray.ops.kernel import run_blocked
from lazyarray.ops.reductions import statistic_accumulator
from lazyarray.planner import Plan
from lazyarray.planner.pushdown import range_slice
from lazyarray_dask import tasks, update
from lazyarray_dask.masked import MaskedStatistics

Lowering = Callable[[Node, list[Any]], Any]

# ops this backend cannot run (checked before anything runs)
UNSUPPORTED = {
    "median": "dask.array has no median of masked arrays",
}


def chunks_for(shape: tuple[int, ...], dtype: np.dtype[Any], chunk_bytes: int) -> Any:
    if 0 in shape:  # dask's auto-chunking divides by the block size
        return tuple((size,) for size in shape)
    return da.core.normalize_chunks("auto", shape, limit=chunk_bytes, dtype=dtype)


def _meta(node: Node) -> Any:
    empty = np.empty((0,) * node.type.ndim, dtype=node.type.dtype)
    return np.ma.MaskedArray(empty) if node.type.masked else empty


def _is_dask(value: Any) -> bool:
    return isinstance(value, da.Array)


class Lowerer:
    """Turns plan steps into dask arrays (or plain values for scalars)."""

    def __init__(self, arguments: Mapping[str, Any], chunk_bytes: int, block_bytes: int) -> None:
        self.arguments = arguments
        self.chunk_bytes = chunk_bytes
        self.block_bytes = block_bytes
        self.statistics = MaskedStatistics()

    def lower(self, plan: Plan) -> list[Any]:
        values: dict[Node, Any] = {}
        for node, frees in zip(plan.steps, plan.frees, strict=True):
            values[node] = self.node(node, [values[child] for child in node.inputs])
            for dead in frees:
                del values[dead]
        return [values[node] for node in plan.outputs]

    def node(self, node: Node, inputs: list[Any]) -> Any:
        special = _BY_OP.get(node.op)
        if special is not None:
            return special(self, node, inputs)
        row = OPS[node.op]
        if Trait.GENERATED in row.traits:
            return self.generated(node, inputs)
        return _BY_KIND[row.kind](self, node, inputs)

    # --- sources -------------------------------------------------------------------------

    def array(self, value: Any) -> Any:
        if isinstance(value, np.ma.MaskedArray):
            chunks = chunks_for(value.shape, value.dtype, self.chunk_bytes)
            return da.ma.masked_array(
                tasks.from_array(np.ma.getdata(value), chunks=chunks),
                mask=tasks.from_array(np.ma.getmaskarray(value), chunks=chunks),
                fill_value=value.fill_value,
            )
        return tasks.from_array(
            value, chunks=chunks_for(value.shape, value.dtype, self.chunk_bytes)
        )

    def constant(self, node: Node, inputs: list[Any]) -> Any:
        value = node.attr("value")
        if isinstance(value, Literal):
            array = value.value
            return self.array(array) if array.ndim else array
        return value

    def parameter(self, node: Node, inputs: list[Any]) -> Any:
        value = self.arguments[node.attr("name")]
        return self.array(value) if np.ndim(value) else value

    def generated(self, node: Node, inputs: list[Any]) -> Any:
        """A generated source (random, full, arange, linspace, eye): each chunk is
        generated alone, as the region of the whole array it covers, so the values are
        exactly the numpy backend's."""
        attrs = node.kwargs
        region = attrs.pop("region", None)
        row = OPS[node.op]
        whole = row.infer((), attrs).shape
        items = _region_items(region, whole)  # type: ignore[arg-type]
        chunks = chunks_for(node.type.shape, node.type.dtype, self.chunk_bytes)  # type: ignore[arg-type]

        def draw(block_info: Any = None) -> Any:
            location = block_info[None]["array-location"]
            index = _chunk_index(items, location)
            return row.impl(**attrs, region=encode_index(index))

        return tasks.map_blocks(
            node.op, draw, chunks=chunks, dtype=node.type.dtype, meta=_meta(node)
        )

    def creation(self, node: Node, inputs: list[Any]) -> Any:
        attrs = node.kwargs  # full_like: the other creation ops are generated sources
        fill, dtype = attrs["fill_value"], attrs["dtype"]
        return tasks.map_blocks(
            "full", lambda block: np.full(block.shape, fill, dtype), inputs[0], dtype=dtype
        )

    # --- blockwise -----------------------------------------------------------------------

    def blockwise(self, node: Node, inputs: list[Any]) -> Any:
        """One task per chunk running the row's numpy implementation."""
        masked = node.type.masked or any(child.type.masked for child in node.inputs)
        implementation = OPS[node.op].implementation(masked)
        attrs = node.kwargs
        if not any(_is_dask(v) for v in inputs):
            return implementation(*inputs, **attrs)
        aligned, chunks = _aligned(inputs)
        return tasks.map_blocks(
            node.op,
            _call(implementation, attrs, node),
            *aligned,
            chunks=chunks,
            dtype=node.type.dtype,
            meta=_meta(node),
        )

    def fused(self, node: Node, inputs: list[Any]) -> Any:
        """One task per chunk running the kernel in cache-sized blocks; a trailing
        reduction reduces within each chunk, and dask adds up the chunks' partials."""
        attrs = node.kwargs
        shape, reduction = tuple(attrs["shape"]), attrs["reduction"]
        inputs = [tasks.from_array(v) if np.ndim(v) and not _is_dask(v) else v for v in inputs]
        template = [None if _is_dask(v) else v for v in inputs]  # dask inputs come as blocks
        arrays = [known_chunks(v) for v in inputs if _is_dask(v)]
        chunks: tuple[Any, ...] = ()
        if arrays:
            arrays, chunks = _aligned(arrays)
        if not arrays or not _spans(chunks, shape):  # generated sources span what no input does
            dtype = np.dtype((attrs["dtypes"] or (attrs["result"][0],))[-1])
            chunks = chunks_for(shape, dtype, self.chunk_bytes)
            arrays = [_rechunked_to(a, chunks) for a in arrays]
        edges = [np.cumsum((0, *sizes)).tolist() for sizes in chunks]
        block_bytes, op_name, site = self.block_bytes, node.op, node.site_text

        def chunk(*blocks: Any, block_id: tuple[int, ...] = ()) -> Any:
            given = iter(blocks)
            values = [next(given) if v is None else v for v in template]
            region = tuple((edges[d][i], edges[d][i + 1]) for d, i in enumerate(block_id))
            try:
                return run_blocked(attrs, values, region, block_bytes=block_bytes)
            except MemoryError as exc:
                raise memory_error(op_name, site, exc) from exc
            except Exception as exc:
                raise ComputeError.wrapping(exc, op_name, site) from exc

        dtype = np.dtype(attrs["result"][0])
        if reduction is None:
            return tasks.map_blocks(
                "fused", chunk, *arrays, chunks=chunks, dtype=dtype, meta=_meta(node)
            )
        op, reduce_attrs = reduction[0], dict(reduction[1])
        axes = (
            tuple(range(len(shape))) if reduce_attrs.get("axis") is None else reduce_attrs["axis"]
        )
        keepdims = bool(reduce_attrs.get("keepdims"))
        partial_chunks = tuple((1,) * len(c) if d in axes else c for d, c in enumerate(chunks))
        partials = tasks.map_blocks(
            "fused",
            chunk,
            *arrays,
            chunks=partial_chunks,
            dtype=dtype,
            meta=np.empty((0,) * len(shape), dtype),
        )
        if all(len(chunks[d]) == 1 for d in axes):  # each chunk's partial is final
            return partials if keepdims else partials.squeeze(axis=axes)
        return _reduce(op, partials, {**reduce_attrs, "axis": axes}, masked=False)

    # --- the rest: dask.array's own ------------------------------------------------------

    def reduction(self, node: Node, inputs: list[Any]) -> Any:
        (x,) = inputs
        if not _is_dask(x):
            return self.blockwise(node, inputs)
        if node.inputs[0].type.masked and node.op in ("mean", "var", "std"):
            return self.masked_statistic(node, x)
        return _reduce(node.op, x, node.kwargs, masked=node.inputs[0].type.masked)

    def masked_statistic(self, node: Node, x: Any) -> Any:
        axis = node.attr("axis")
        return self.statistics.lower(
            node.op,
            x,
            node.inputs[0],
            tuple(range(x.ndim)) if axis is None else tuple(axis),
            bool(node.attr("keepdims", False)),
            node.attr("ddof") or 0,
            node.type.dtype,
        )

    def scan(self, node: Node, inputs: list[Any]) -> Any:
        (x,) = inputs
        axis = node.attr("axis")
        if axis is None:
            x, axis = x.ravel(), 0
        return getattr(da, node.op)(x, axis=axis, dtype=node.attr("dtype"))

    def shape_op(self, node: Node, inputs: list[Any]) -> Any:
        attrs = node.kwargs
        if node.op in ("concatenate", "stack"):
            arrays = [v if _is_dask(v) else tasks.from_array(np.asarray(v)) for v in inputs]
            axis = attrs.get("axis", 0)
            if node.op == "concatenate" and axis is None:
                return da.concatenate([a.ravel() for a in arrays], axis=0)
            return getattr(da, node.op)(arrays, axis=axis)
        (x,) = inputs
        if not _is_dask(x):
            return self.blockwise(node, inputs)
        if node.op == "reshape":
            return known_chunks(x).reshape(attrs["shape"])
        if node.op == "ravel":
            return known_chunks(x).ravel()
        if node.op == "broadcast_to":
            if node.type.masked:  # data and mask alike, as numpy.ma's views do
                data = da.broadcast_to(da.ma.getdata(x), attrs["shape"])
                mask = da.broadcast_to(da.ma.getmaskarray(x), attrs["shape"])
                return da.ma.masked_array(data, mask=mask)
            return da.broadcast_to(x, attrs["shape"])
        return OPS[node.op].impl(x, **attrs)  # transpose, squeeze ...: dask via NEP 18

    def indexing(self, node: Node, inputs: list[Any]) -> Any:
        x = inputs[0]
        if not _is_dask(x):
            return self.blockwise(node, inputs)
        if node.op == "getitem":
            return known_chunks(x)[decode_index(node.attr("index"))]
        if node.op in update.LOWERINGS:
            return update.LOWERINGS[node.op](node, inputs)
        axis = node.attr("axis")
        selector = inputs[1]
        if node.op == "boolean_index":
            if not _is_dask(selector):
                selector = tasks.from_array(np.asarray(selector))
            covered = x.chunks[axis : axis + selector.ndim]
            selector = selector.rechunk(covered)
            return x[(slice(None),) * axis + (selector,)]
        indices = selector.compute() if _is_dask(selector) else np.asarray(selector)
        taken = da.take(known_chunks(x), indices.ravel(), axis=axis)
        return taken.reshape(x.shape[:axis] + indices.shape + x.shape[axis + 1 :])

    def linalg(self, node: Node, inputs: list[Any]) -> Any:
        attrs = node.kwargs
        if any(not _is_dask(v) for v in inputs):
            if all(np.ndim(v) == 0 for v in inputs if not _is_dask(v)):
                return self.blockwise(node, inputs)  # dot with a scalar multiplies
            inputs = [v if _is_dask(v) else tasks.from_array(np.asarray(v)) for v in inputs]
        if node.type.masked:  # numpy.ma.dot: masked values count as 0; a result is
            a, b = inputs  # masked where no unmasked pair contributed
            data = da.dot(da.ma.filled(a, 0), da.ma.filled(b, 0))
            counts = [(~da.ma.getmaskarray(v)).astype(np.int64) for v in (a, b)]
            valid = da.dot(*counts) > 0
            return da.ma.masked_array(data, mask=~valid)
        if node.op == "einsum":
            return da.einsum(attrs["subscripts"], *inputs)
        if node.op == "tensordot":
            return da.tensordot(*inputs, axes=attrs.get("axes", 2))
        return getattr(da, node.op)(*inputs)

    def masked(self, node: Node, inputs: list[Any]) -> Any:
        if not any(_is_dask(v) for v in inputs):
            return self.blockwise(node, inputs)
        attrs = node.kwargs
        if node.op == "masked_array":
            data, mask = inputs
            if not _is_dask(mask):
                mask = da.broadcast_to(tasks.from_array(np.asarray(mask)), data.shape)
            combined = da.ma.getmaskarray(data) | da.broadcast_to(mask, data.shape)
            return da.ma.masked_array(
                da.ma.getdata(data), mask=combined, fill_value=attrs.get("fill_value")
            )
        if OPS[node.op].arity is None:  # variadic ones (masked_result): chunk by chunk
            return self.blockwise(node, inputs)
        (x,) = inputs
        if node.op == "filled":
            return da.ma.filled(x, attrs.get("fill_value"))
        if node.op == "getdata":
            return da.ma.getdata(x)
        if node.op == "getmaskarray":
            return da.ma.getmaskarray(x)
        if node.op == "fill_value":
            return _fill_value(x, node.type.dtype)
        if node.op == "compressed":
            flat = x.ravel()
            return da.ma.getdata(flat)[~da.ma.getmaskarray(flat)]
        raise UnsupportedOperation(f"backend 'dask' cannot run op {node.op!r}")


def _aligned(values: list[Any]) -> tuple[list[Any], tuple[Any, ...]]:
    """Dask inputs of one blockwise task cut alike, and the output's chunks: each
    dimension takes the chunks of the first input that spans it (size-1 broadcast
    dimensions stay whole)."""
    arrays = [v for v in values if _is_dask(v)]
    ndim = max(a.ndim for a in arrays)
    target: list[Any] = [None] * ndim
    for array in arrays:
        offset = ndim - array.ndim
        for dim, size in enumerate(array.shape):
            if size != 1 and target[offset + dim] is None:
                target[offset + dim] = array.chunks[dim]
    aligned = []
    for value in values:
        if _is_dask(value):
            offset = ndim - value.ndim
            chunks = tuple(
                target[offset + dim]
                if size != 1 and target[offset + dim] is not None
                else value.chunks[dim]
                for dim, size in enumerate(value.shape)
            )
            value = value.rechunk(chunks) if chunks != value.chunks else value
        aligned.append(value)
    return aligned, tuple(t if t is not None else (1,) for t in target)


def _spans(chunks: tuple[Any, ...], shape: tuple[int, ...]) -> bool:
    """Whether ``chunks`` cut exactly ``shape`` (unknown sizes pass)."""
    if len(chunks) != len(shape):
        return False
    return all(
        any(math.isnan(c) for c in sizes) or sum(sizes) == size
        for sizes, size in zip(chunks, shape, strict=True)
    )


def _rechunked_to(array: Any, chunks: tuple[Any, ...]) -> Any:
    own = chunks[len(chunks) - array.ndim :]
    fitting = tuple(c if sum(c) == n else (n,) for c, n in zip(own, array.shape, strict=True))
    return array.rechunk(fitting)


def _fill_value(x: Any, dtype: np.dtype[Any]) -> Any:
    """numpy.ma's fill value of ``x``, read off its first chunk."""
    from dask.delayed import delayed

    first = x.to_delayed().ravel()[0]
    value = delayed(lambda block: np.asarray(np.ma.MaskedArray(block).fill_value, dtype))(first)
    return da.from_delayed(value, shape=(), dtype=dtype)


def _call(
    implementation: Callable[..., Any], attrs: Mapping[str, Any], node: Node
) -> Callable[..., Any]:
    op, site = node.op, node.site_text

    def run(*blocks: Any) -> Any:
        try:
            return implementation(*blocks, **attrs)
        except MemoryError as exc:
            raise memory_error(op, site, exc) from exc
        except Exception as exc:
            raise ComputeError.wrapping(exc, op, site) from exc

    return run


def known_chunks(x: Any) -> Any:
    """``x`` with its chunk sizes known (computing them if a boolean index hid them)."""
    if any(math.isnan(size) for sizes in x.chunks for size in sizes):
        return x.compute_chunk_sizes()
    return x


_DASK_REDUCTIONS = {
    "min": "min",
    "max": "max",
    "sum": "sum",
    "prod": "prod",
    "mean": "mean",
    "std": "std",
    "var": "var",
    "any": "any",
    "all": "all",
    "argmin": "argmin",
    "argmax": "argmax",
}


_STATISTICS = frozenset({"mean", "var", "std"})


def _reduce(op: str, x: Any, attrs: Mapping[str, Any], masked: bool) -> Any:
    kwargs = dict(attrs)
    axis = kwargs.pop("axis", None)
    keepdims = kwargs.pop("keepdims", False)
    if op in ("argmin", "argmax"):
        if axis is None and x.ndim > 1:  # dask breaks ties across 2-d chunks in chunk order
            flat = getattr(da, op)(x.ravel(), axis=0)
            return flat.reshape((1,) * x.ndim) if keepdims else flat
        return getattr(da, op)(x, axis=axis, keepdims=keepdims)
    if op == "median":
        if axis is None or len(axis) == x.ndim:
            flat = da.median(x.ravel(), axis=0)
            return flat.reshape((1,) * x.ndim) if keepdims else flat
        return da.median(x, axis=axis, keepdims=keepdims)
    if op == "count":
        return da.ma.count(x, axis=axis, keepdims=keepdims) if masked else _count(x, axis, keepdims)
    reduce = getattr(da, _DASK_REDUCTIONS[op])
    if op in _STATISTICS and kwargs.get("dtype") is None:
        if x.dtype == np.float16 and op != "mean":
            return _float16_spread(op, x, axis, keepdims, kwargs.get("ddof") or 0)
        kwargs["dtype"] = statistic_accumulator(x.dtype)  # as numpy: float64 for integers
        if x.dtype == np.float16:  # numpy's float16 mean adds up in float32
            return reduce(x, axis=axis, keepdims=keepdims, **kwargs).astype(np.float16)
    return reduce(x, axis=axis, keepdims=keepdims, **kwargs)


def _float16_spread(op: str, x: Any, axis: Any, keepdims: bool, ddof: int) -> Any:
    """numpy's float16 ``var`` and ``std``, which add up in float16 (overflowing to inf
    where numpy does; dask's moment-combining would give nan): the mean, then the sum
    of squared deviations from it (``numpy/_core/_methods.py`` ``_var``)."""
    axes = tuple(range(x.ndim)) if axis is None else axis
    count = math.prod(x.shape[a] for a in axes)
    mean = (da.sum(x, axis=axes, keepdims=True) / count).astype(np.float16)
    deviation = x - mean
    squares = da.sum(deviation * deviation, axis=axes, keepdims=keepdims)
    variance = (squares / max(count - ddof, 0)).astype(np.float16)
    return da.sqrt(variance) if op == "std" else variance


def _count(x: Any, axis: Any, keepdims: bool) -> Any:
    return da.ones_like(x, dtype=np.intp).sum(axis=axis, keepdims=keepdims)


def _region_items(region: Any, shape: tuple[int, ...]) -> list[int | range]:
    if region is None:
        return [range(size) for size in shape]
    items: list[int | range] = []
    for item, size in zip(decode_index(region), shape, strict=True):
        items.append(range(*item.indices(size)) if isinstance(item, slice) else item)
    return items


def _chunk_index(items: list[int | range], location: Any) -> tuple[Any, ...]:
    """The index, on the full random array, of the chunk at ``location`` of its region."""
    index: list[Any] = []
    kept = iter(location)
    for item in items:
        if isinstance(item, int):
            index.append(item)
            continue
        start, stop = next(kept)
        index.append(range_slice(item[start:stop]))
    return tuple(index)


_BY_OP: dict[str, Callable[[Lowerer, Node, list[Any]], Any]] = {
    "dask_array": lambda self, node, inputs: node.attr("value").value,
    "constant": Lowerer.constant,
    "parameter": Lowerer.parameter,
    "fused": Lowerer.fused,
}
_BY_KIND: dict[Kind, Callable[[Lowerer, Node, list[Any]], Any]] = {
    Kind.ELEMENTWISE: Lowerer.blockwise,
    Kind.CREATION: Lowerer.creation,
    Kind.REDUCTION: Lowerer.reduction,
    Kind.SCAN: Lowerer.scan,
    Kind.SHAPE: Lowerer.shape_op,
    Kind.INDEXING: Lowerer.indexing,
    Kind.LINALG: Lowerer.linalg,
    Kind.MASKED: Lowerer.masked,
}


__all__ = ["UNSUPPORTED", "Lowerer", "chunks_for"]
