"""Lowering a plan to dask.array, through two tables: one lowering per kind (``BY_KIND``)
and a few per-op overrides (``BY_OP``). ``lowering_of`` picks a node's; ``refusal`` says,
before anything runs, why a node has none (the backend's ``check`` asks it of every step).

Elementwise ops and fused kernels become one ``map_blocks`` task per chunk running the op
rows' numpy implementations (masked variants included), so results are numpy's, chunk by
chunk. Reductions, shape ops, indexing and linear algebra use dask.array's own (tree
reductions, rechunking). Generated sources (random, full, arange, linspace, eye) make
each chunk alone, as a region of the whole array: the values are exactly the numpy
backend's. Stored sources keep the storage's native chunks: each task reads its own. A
step whose inputs are all plain values (scalars) runs its row's implementation at once.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import dask.array as da
import numpy as np

from lazyarray.backend import memory_error
from lazyarray.errors import ComputeError, LazyArrayError, UnsupportedOperation
from lazyarray.graph import Literal, Node
from lazyarray.ops import OPS, Kind, OpDef, Trait
from lazyarray.ops.indexing import decode_index, encode_index
from lazyarray.ops.kernel import Kernel
from lazyarray.ops.sources import item_index, items_of, located
from lazyarray.planner import Plan
from lazyarray.planner.pushdown import range_slice
from lazyarray.runtime.kernel import run_blocked
from lazyarray.stores import readers
from lazyarray_dask import (
    lower_fft,
    lower_indexing,
    lower_linalg,
    lower_manipulation,
    lower_sorting,
    lower_statistics,
    reduce,
    structural,
    tasks,
    update,
)
from lazyarray_dask.chunks import (
    aligned,
    chunks_for,
    inflated,
    is_dask,
    known_chunks,
    meta,
    native_cuts,
    rechunked_to,
    spans,
    spread,
)
from lazyarray_dask.masked import MaskedStatistics

Handler = Callable[["Lowerer", Node, list[Any]], Any]


class Lowering(NamedTuple):
    """How a node becomes a dask array; ``refuses(node)`` says why it cannot for that
    node (None: it can), asked of every step before anything runs."""

    run: Handler
    refuses: Callable[[Node], str | None] | None = None


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
        row = OPS[node.op]
        if inputs and row.kind is not Kind.KERNEL and not any(is_dask(v) for v in inputs):
            return self.blockwise(node, inputs)  # plain values: the row's implementation
        lowering = lowering_of(row)
        if lowering is None:  # the backend's check refuses such a plan before it runs
            raise UnsupportedOperation(f"backend 'dask' cannot run op {node.op!r}")
        try:
            value = lowering.run(self, node, inputs)
        except LazyArrayError:
            raise
        except MemoryError as exc:
            raise memory_error(node.op, node.site_text, exc) from exc
        except Exception as exc:  # dask checked what it could while building its graph
            raise ComputeError.wrapping(exc, node.op, node.site_text) from exc
        if Trait.UNKNOWN_SIZE in row.traits and is_dask(value) and None not in node.type.shape:
            # a size known when written comes of a small settled input (ops/settled.py):
            # dask counts its chunks now, so that the ops reading it may rely on them
            value = known_chunks(value)
        return value

    # --- sources -------------------------------------------------------------------------

    def array(self, value: Any) -> Any:
        if isinstance(value, np.ma.MaskedArray):
            chunks = chunks_for(value.shape, value.dtype, self.chunk_bytes)
            return da.ma.masked_array(
                tasks.from_array(np.ma.getdata(value), chunks=chunks),
                mask=tasks.from_array(np.ma.getmaskarray(value), chunks=chunks),
                # as set, or unset (numpy's getter would set the user's array's default,
                # which numpy.ma's astype then casts where it takes the new dtype's)
                fill_value=getattr(value, "_fill_value", None),
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

    def dask_array(self, node: Node, inputs: list[Any]) -> Any:
        return node.attr("value").value

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
            node.op, draw, chunks=chunks, dtype=node.type.dtype, meta=meta(node)
        )

    def stored(self, node: Node, inputs: list[Any]) -> Any:
        """A source read from storage: one task per dask chunk, each chunk a whole
        number of the storage's native chunks (``native_cuts``) cut by the region, so
        that each task reads only its own chunks. The change token is checked here, as
        the compute starts."""
        attrs = node.kwargs
        name, location, token = located(attrs)
        readers.check_token(name, location, token)
        items = items_of(attrs)
        cuts = native_cuts(items, attrs["chunks"], node.type.dtype.itemsize, self.chunk_bytes)
        chunks = tuple(
            tuple(len(group) for group in groups)
            for item, groups in zip(items, cuts, strict=True)
            if isinstance(item, range)
        )
        op, site = node.op, node.site_text

        def read(block_id: tuple[int, ...] = ()) -> Any:
            blocks = iter(block_id)
            index = tuple(
                item if isinstance(item, int) else item_index(groups[next(blocks)])
                for item, groups in zip(items, cuts, strict=True)
            )
            try:
                return readers.read_region(name, location, None, index)
            except LazyArrayError:
                raise
            except MemoryError as exc:
                raise memory_error(op, site, exc) from exc
            except Exception as exc:
                raise ComputeError.wrapping(exc, op, site) from exc

        return tasks.map_blocks(op, read, chunks=chunks, dtype=node.type.dtype, meta=meta(node))

    # --- blockwise -----------------------------------------------------------------------

    def blockwise(self, node: Node, inputs: list[Any]) -> Any:
        """One task per chunk running the row's numpy implementation."""
        masked = node.type.masked or any(child.type.masked for child in node.inputs)
        implementation = OPS[node.op].implementation(masked)
        attrs = node.kwargs
        if not any(is_dask(v) for v in inputs):
            return implementation(*inputs, **attrs)
        arrays, chunks = aligned(inputs)
        return tasks.map_blocks(
            node.op,
            _call(implementation, attrs, node),
            *arrays,
            chunks=chunks,
            dtype=node.type.dtype,
            meta=meta(node),
        )

    def fused(self, node: Node, inputs: list[Any]) -> Any:
        """One task per chunk running the kernel in cache-sized blocks; a trailing
        reduction reduces within each chunk, and dask adds up the chunks' partials."""
        kernel: Kernel = node.attr("kernel")
        shape, reduction = kernel.shape, kernel.reduction
        inputs = [tasks.from_array(v) if np.ndim(v) and not is_dask(v) else v for v in inputs]
        template = [None if is_dask(v) else v for v in inputs]  # dask inputs come as blocks
        arrays = [known_chunks(v) for v in inputs if is_dask(v)]
        chunks: tuple[Any, ...] = ()
        if arrays:
            arrays, chunks = aligned(arrays)
        dtype = (kernel.dtypes or (kernel.result.dtype,))[-1]
        if (
            not arrays
            or not spans(chunks, shape)  # generated sources span what no input does
            or inflated(arrays, chunks, np.dtype(dtype).itemsize, self.chunk_bytes)
        ):
            chunks = chunks_for(shape, dtype, self.chunk_bytes)
            arrays = [rechunked_to(a, chunks) for a in arrays]
            if arrays:  # the first input, spread over the sources' chunks, sets the blocks
                arrays[0] = spread(arrays[0], chunks)
        edges = [np.cumsum((0, *sizes)).tolist() for sizes in chunks]
        block_bytes, op_name, site = self.block_bytes, node.op, node.site_text

        def chunk(*blocks: Any, block_id: tuple[int, ...] = ()) -> Any:
            given = iter(blocks)
            values = [next(given) if v is None else v for v in template]
            region = tuple((edges[d][i], edges[d][i + 1]) for d, i in enumerate(block_id))
            try:
                return run_blocked(kernel, values, region, block_bytes=block_bytes)
            except MemoryError as exc:
                raise memory_error(op_name, site, exc) from exc
            except Exception as exc:
                raise ComputeError.wrapping(exc, op_name, site) from exc

        dtype = kernel.result.dtype
        if reduction is None:
            return tasks.map_blocks(
                op_name, chunk, *arrays, chunks=chunks, dtype=dtype, meta=meta(node)
            )
        reduce_attrs = dict(reduction.attrs)
        axes = (
            tuple(range(len(shape))) if reduce_attrs.get("axis") is None else reduce_attrs["axis"]
        )
        keepdims = bool(reduce_attrs.get("keepdims"))
        partial_chunks = tuple((1,) * len(c) if d in axes else c for d, c in enumerate(chunks))
        partials = tasks.map_blocks(
            op_name,
            chunk,
            *arrays,
            chunks=partial_chunks,
            dtype=dtype,
            meta=np.empty((0,) * len(shape), dtype),
        )
        if all(len(chunks[d]) == 1 for d in axes):  # each chunk's partial is final
            return partials if keepdims else partials.squeeze(axis=axes)
        return reduce.reduce(reduction.op, partials, {**reduce_attrs, "axis": axes}, masked=False)

    # --- reductions and scans: dask.array's own ------------------------------------------

    def reduction(self, node: Node, inputs: list[Any]) -> Any:
        (x,) = inputs
        if math.isnan(x.size) and _refuses_empty(node):
            # dask's max of an empty chunk (a boolean selection's) is no partial it can
            # combine, and its argmax needs the sizes: count them, drop the empty chunks
            x = _without_empty_chunks(known_chunks(x))
        if x.size == 0:  # numpy's own result (an empty one, or its identity): dask's has
            return _empty_reduction(node, x)  # its own shape, and no result for axis=1
        if node.inputs[0].type.masked and Trait.STATISTIC in OPS[node.op].traits:
            return self.masked_statistic(node, x)
        return reduce.reduce(node.op, x, node.kwargs, masked=node.inputs[0].type.masked)

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
        scanned = reduce.dask_function(node.op)(x, axis=axis, dtype=node.attr("dtype"))
        if not node.attr("include_initial"):
            return scanned
        # the standard's include_initial: the identity the row's own implementation puts first
        first = OPS[node.op].impl(np.ones(1, scanned.dtype), include_initial=True)[0]
        shape = scanned.shape[:axis] + (1,) + scanned.shape[axis + 1 :]
        return da.concatenate([da.full(shape, first, dtype=scanned.dtype), scanned], axis=axis)


def _refuses_empty(node: Node) -> bool:
    """Whether numpy's reduction fails on empty reduced axes (``max`` has no identity)."""
    t = node.inputs[0].type
    axis = node.attr("axis")
    axes = range(t.ndim) if axis is None else (axis,) if isinstance(axis, int) else axis
    empty = np.empty(tuple(0 if d in axes else 1 for d in range(t.ndim)), t.dtype)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            OPS[node.op].implementation(t.masked)(empty, **node.kwargs)
    except Exception:
        return True
    return False


def _without_empty_chunks(x: Any) -> Any:
    """``x`` (its chunk sizes known) with no chunk of size 0 where it has elements."""
    chunks = tuple(tuple(c for c in sizes if c) or (0,) for sizes in x.chunks)
    return x if chunks == x.chunks else x.rechunk(chunks)


def _empty_reduction(node: Node, x: Any) -> Any:
    """The row's numpy implementation on the input's shape with no elements: what numpy
    gives (sum's zeros, a mean's NaN), or numpy's error."""
    masked = node.inputs[0].type.masked
    empty = np.empty(x.shape, x.dtype)
    run = _call(OPS[node.op].implementation(masked), node.kwargs, node)
    return run(np.ma.MaskedArray(empty) if masked else empty)


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


# --- the tables ----------------------------------------------------------------------


def _without(what: str, lowers: Callable[[str], bool]) -> Callable[[Node], str | None]:
    def refuses(node: Node) -> str | None:
        return None if lowers(node.op) else f"dask.array has no {what} {node.op!r}"

    return refuses


def _masked_median(node: Node) -> str | None:
    if node.inputs[0].type.masked:
        return "dask.array has no median of masked arrays; compute it with backend='numpy'"
    return None


def _shape_preserving(node: Node) -> str | None:
    if Trait.PRESERVES_SHAPE in OPS[node.op].traits:
        return None
    return "it has no lowering for this numpy.ma op"


def _in_dask(op: str) -> bool:
    return reduce.dask_function(op) is not None


# one lowering per kind
BY_KIND: dict[Kind, Lowering] = {
    Kind.ELEMENTWISE: Lowering(Lowerer.blockwise),
    Kind.KERNEL: Lowering(Lowerer.fused),
    Kind.REDUCTION: Lowering(Lowerer.reduction, _without("reduction", reduce.lowers)),
    Kind.SCAN: Lowering(Lowerer.scan, _without("scan", _in_dask)),
    Kind.SHAPE: Lowering(structural.view),  # through NEP 18
    Kind.LINALG: Lowering(structural.linalg, _without("function", _in_dask)),
    Kind.MASKED: Lowering(Lowerer.blockwise, _shape_preserving),  # masked_result ...
}
_GENERATED = Lowering(Lowerer.generated)  # the sources with Trait.GENERATED
_STORED = Lowering(Lowerer.stored)  # the sources with Trait.STORED

# the ops lowered their own way, by name
BY_OP: dict[str, Lowering] = {
    "constant": Lowering(Lowerer.constant),
    "parameter": Lowering(Lowerer.parameter),
    "dask_array": Lowering(Lowerer.dask_array),
    "full_like": Lowering(Lowerer.blockwise),  # np.full of each chunk's shape
    "median": Lowering(Lowerer.reduction, _masked_median),
    "concatenate": Lowering(structural.concatenate),
    "stack": Lowering(structural.stack),
    "reshape": Lowering(structural.reshape),
    "ravel": Lowering(structural.ravel),
    "broadcast_to": Lowering(structural.broadcast_to),
    "getitem": Lowering(structural.getitem),
    "boolean_index": Lowering(structural.boolean_index),
    "take": Lowering(structural.take),
    "einsum": Lowering(structural.einsum),
    "tensordot": Lowering(structural.tensordot),
    "masked_array": Lowering(structural.masked_array),
    "filled": Lowering(structural.filled),
    "getdata": Lowering(structural.getdata),
    "getmaskarray": Lowering(structural.getmaskarray),
    "fill_value": Lowering(structural.fill_value),
    "compressed": Lowering(structural.compressed),
}


def _family(lowerings: Mapping[str, Callable[[Node, list[Any]], Any]]) -> dict[str, Lowering]:
    """An op family's lowerings (op -> function of the node and its lowered inputs)."""

    def handler(run: Callable[[Node, list[Any]], Any]) -> Handler:
        return lambda lowerer, node, inputs: run(node, inputs)

    return {op: Lowering(handler(run)) for op, run in lowerings.items()}


BY_OP.update(_family(lower_manipulation.LOWERINGS))
BY_OP.update(_family(lower_sorting.LOWERINGS))
BY_OP.update(_family(lower_linalg.LOWERINGS))
BY_OP.update(_family(lower_fft.LOWERINGS))
BY_OP.update(_family(update.LOWERINGS))
BY_OP.update(_family(lower_statistics.LOWERINGS))
BY_OP.update(_family(lower_indexing.LOWERINGS))


def lowering_of(row: OpDef) -> Lowering | None:
    """The op's own lowering, else its trait's (stored, generated sources), else its
    kind's."""
    own = BY_OP.get(row.name)
    if own is not None:
        return own
    if Trait.STORED in row.traits:
        return _STORED
    if Trait.GENERATED in row.traits:
        return _GENERATED
    return BY_KIND.get(row.kind)


def refusal(node: Node) -> str | None:
    """Why this backend cannot lower ``node``, or None."""
    row = OPS.get(node.op)
    if row is None:
        return "no op of that name is declared here"
    lowering = lowering_of(row)
    if lowering is None:
        return f"it has no lowering for {node.op!r} (an op of kind {row.kind.value})"
    return None if lowering.refuses is None else lowering.refuses(node)


__all__ = ["BY_KIND", "BY_OP", "Lowerer", "Lowering", "chunks_for", "lowering_of", "refusal"]
