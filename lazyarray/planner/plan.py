"""``Plan``: the optimized steps to run, in order, with when each value can be freed and
estimates of what running them costs."""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

from lazyarray.graph import Literal, Node, find, may_change, toposort
from lazyarray.ops import OPS, Kind, Trait
from lazyarray.ops.kernel import Kernel
from lazyarray.ops.sources import touched
from lazyarray.planner.fold import FOLD_LIMIT, foldable
from lazyarray.planner.passes import check_names
from lazyarray.planner.passes import optimize as run_stages
from lazyarray.types import ArrayType

_BLOCK_COPIES = 4  # a kernel holds about this many block buffers per thread


@dataclasses.dataclass(frozen=True)
class Plan:
    """A value describing one computation: ``steps`` in dependency order, the
    ``outputs`` to return, and ``frees[i]``: the values no step after step ``i`` reads,
    which a backend can drop once step ``i`` ran."""

    outputs: tuple[Node, ...]
    steps: tuple[Node, ...]
    # ``upper_bytes`` and ``masked`` where the planner already found them (the steps it
    # scanned)
    known_upper_bytes: int | None = dataclasses.field(default=None, compare=False, repr=False)
    known_masked: bool | None = dataclasses.field(default=None, compare=False, repr=False)
    # the planner read data that can change (folded it, or matched a rule on it): what
    # the plan computes depends on that data, though its steps may no longer hold it
    read_changing_data: bool = dataclasses.field(default=False, compare=False, repr=False)

    @cached_property
    def frees(self) -> tuple[tuple[Node, ...], ...]:
        """Derived when first read: a backend holding every value of a small plan to
        its end never needs it."""
        return frees_of(self.steps, self.outputs)

    @cached_property
    def digest(self) -> str:
        """Identifies the computation across processes (the result cache's key)."""
        hasher = hashlib.blake2b(digest_size=16)
        for node in self.outputs:
            hasher.update(node.digest.encode())
        return hasher.hexdigest()

    @property
    def masked(self) -> bool:
        """Whether a step has masked values (backends check, and run, those apart)."""
        known = self.known_masked
        return self._masked if known is None else known

    @cached_property
    def _masked(self) -> bool:
        return any([node.type.masked for node in self.steps])

    @property
    def kernel_count(self) -> int:
        """Fused kernels plus unfused ops that do work (literals, arguments and views
        excluded)."""
        return sum(1 for node in self.steps if not _free(node))

    @property
    def fused_count(self) -> int:
        return len(self.kernels)

    @cached_property
    def kernels(self) -> dict[Node, Kernel]:
        """The fused steps, and their kernels."""
        return {node: node.attr("kernel") for node in self.steps if _is_kernel(node)}

    @property
    def bytes_read(self) -> int:
        """Bytes of literal data read, of random data generated, and of the chunks
        stored sources read (decoded: a reader fetches whole chunks)."""
        total = 0
        for node in self.steps:
            value = node.attr("value")
            traits = OPS[node.op].traits
            if isinstance(value, Literal):
                total += int(getattr(value.value, "nbytes", 0))
            elif Trait.RANDOM in traits:
                total += nbytes(node) or 0
            elif Trait.STORED in traits:
                total += touched(node.kwargs)[1]
        for kernel in self.kernels.values():  # sources generated inside kernels
            for source in kernel.sources().values():
                if Trait.RANDOM in OPS[source.op].traits:
                    kwargs = dict(source.attrs)
                    total += math.prod(kwargs["shape"]) * kwargs["dtype"].itemsize
        return total

    @property
    def bytes_written(self) -> int | None:
        """Bytes of the outputs, when their sizes are known."""
        sizes = [nbytes(node) for node in self.outputs]
        return None if None in sizes else sum(sizes)  # type: ignore[arg-type]

    def peak_bytes(self, block_bytes: int = 2**19, threads: int = 1) -> int:
        """Estimated peak of the memory a run allocates (literal inputs not counted):
        live values between steps, plus kernel block buffers. Unknown sizes count as
        the largest known value."""
        largest = max((nbytes(n) or 0 for n in self.steps), default=0)
        live: dict[Node, int] = {}
        held = peak = 0  # held: the sum of live's values, kept as it changes
        for node, frees in zip(self.steps, self.frees, strict=True):
            size = 0 if _free(node) else nbytes(node)
            held += (largest if size is None else size) - live.get(node, 0)
            live[node] = largest if size is None else size
            scratch = 0
            kernel = self.kernels.get(node)
            if kernel is not None:
                elements = nbytes(node, elements_of=kernel.shape) or block_bytes
                scratch = _BLOCK_COPIES * min(block_bytes, elements) * threads
            peak = max(peak, held + scratch)
            for dead in frees:
                held -= live.pop(dead, 0)
        return peak

    @property
    def upper_bytes(self) -> int:
        """Every step's value held at once, plus kernels' blocks: a bound on the peak."""
        known = self.known_upper_bytes
        return self._upper_bytes if known is None else known

    @cached_property
    def _upper_bytes(self) -> int:
        total = 0
        for node in self.steps:
            shape = node.type.shape
            total += 2**30 if None in shape else math.prod(shape) * node.type.dtype.itemsize  # type: ignore[arg-type]
        return total + (_BLOCK_COPIES * 2**24 if self.kernels else 0)

    def reads_mutable(self, arguments: Mapping[str, Any] | None = None) -> bool:
        """Whether a literal the plan reads can change under it (a writeable array), so
        that its results depend on the data at run time. The ``arguments`` bound into it
        do not count: they are keyed by content when the plan runs."""
        if self.read_changing_data:
            return True
        bound = {id(value) for value in arguments.values()} if arguments else set()
        for node in self.steps:
            if node.inputs:  # a literal is a source
                continue
            value = node.attr("value")  # ``_mutable_literal``, inline: a call less a source
            if (
                isinstance(value, Literal)
                and _LITERAL in OPS[node.op].traits
                and may_change(value.value)
                and id(value.value) not in bound
            ):
                return True
        return False

    def __len__(self) -> int:
        return len(self.steps)


def _mutable_literal(node: Node) -> bool:
    value = node.attr("value")
    return isinstance(value, Literal) and value.mutable and _LITERAL in OPS[node.op].traits


def _read_when_planning(node: Node) -> bool:
    """A mutable literal small enough for the planner to read (fold, rules on scalar
    constants): a plan built from it must not be reused once the data changed."""
    return _mutable_literal(node) and (node.type.size or 0) <= _PLAN_TIME_ELEMENTS


# results that cost no new memory: literals, arguments and numpy views
_FREE = frozenset({Trait.LITERAL, Trait.ARGUMENT, Trait.VIEW})
# read per node (on Python 3.11 reading an Enum's member goes through a Python hook)
_LITERAL, _ARGUMENT, _KERNEL = Trait.LITERAL, Trait.ARGUMENT, Kind.KERNEL
_STORED = Trait.STORED


def _free(node: Node) -> bool:
    return not _FREE.isdisjoint(OPS[node.op].traits)


def _is_kernel(node: Node) -> bool:
    return OPS[node.op].kind is _KERNEL


def nbytes(node: Node, elements_of: Sequence[int | None] | None = None) -> int | None:
    shape = node.type.shape if elements_of is None else tuple(elements_of)
    if None in shape:
        return None
    return math.prod(shape) * node.type.dtype.itemsize  # type: ignore[arg-type]


def steps_of(
    outputs: Sequence[Node], order: Sequence[Node] | None = None
) -> tuple[tuple[Node, ...], tuple[tuple[Node, ...], ...]]:
    """The steps (``order``: their toposort, when known) and what each frees."""
    steps = tuple(toposort(outputs) if order is None else order)
    return steps, frees_of(steps, outputs)


def frees_of(steps: tuple[Node, ...], outputs: Sequence[Node]) -> tuple[tuple[Node, ...], ...]:
    """What each step frees: the values whose last reader it is (outputs live on)."""
    last_use: dict[Node, int] = {}
    for i, node in enumerate(steps):
        for child in node.inputs:
            last_use[child] = i
    end = len(steps)
    for node in outputs:
        last_use[node] = end  # outputs live to the end
    freed: dict[int, list[Node]] = {}
    for node, index in last_use.items():
        if index < end:
            if index in freed:
                freed[index].append(node)
            else:
                freed[index] = [node]
    return tuple([tuple(freed[i]) if i in freed else () for i in range(end)])


def direct_plan(
    outputs: Sequence[Node], small_bytes: int, disabled: frozenset[str] = frozenset()
) -> Plan | None:
    """The unoptimized plan of a graph too small for planning to pay (every size known,
    less than ``small_bytes`` in all, nothing masked, no kernel), whose steps a backend
    can run as they are; None for any other graph. Its values are the unoptimized
    plan's (the tests' oracle): a small graph's plan only binds and folds, by the same rows.
    ``disabled`` is checked as planning checks it."""
    check_names(disabled)
    order: list[Node] = []
    seen: set[Node] = set()
    total = 0
    for root in outputs:
        if root not in seen:
            try:
                total = _visit(root, 0, seen, order, total, small_bytes)
            except RecursionError:  # the caller's frames leave too few: order without
                total = _TOO_DEEP
            if total < 0:
                return _deep_direct_plan(outputs, small_bytes) if total == _TOO_DEEP else None
    return Plan(tuple(outputs), tuple(order), total, False)


def _visit(
    node: Node, depth: int, seen: set[Node], order: list[Node], total: int, limit: int
) -> int:
    """Appends ``node`` and its unseen inputs to ``order`` as ``toposort`` orders them
    (recursion costs less per node than its explicit stack), checking each as it is
    appended; returns the bytes of ``order`` so far, -1 for a graph that cannot run
    unplanned, ``_TOO_DEEP`` below ``_DIRECT_DEPTH`` levels."""
    if depth > _DIRECT_DEPTH:
        return _TOO_DEEP
    for child in node.inputs:
        if child not in seen:
            total = _visit(child, depth + 1, seen, order, total, limit)
            if total < 0:
                return total
    size = _TYPE_BYTES.get(node.type)  # ``_direct_bytes`` without a call, when known
    if size is None:
        size = _direct_bytes(node.type)
    row = OPS[node.op]
    if size < 0 or row.kind is _KERNEL or _STORED in row.traits:  # reads: pushdown pays
        return -1
    total += size
    if total >= limit:
        return -1
    seen.add(node)
    order.append(node)
    return total


_TOO_DEEP = -2
_DIRECT_DEPTH = 100  # deeper graphs are ordered by ``toposort``, without recursion


def _deep_direct_plan(outputs: Sequence[Node], small_bytes: int) -> Plan | None:
    order = toposort(outputs)
    total = 0
    for node in order:
        size = _direct_bytes(node.type)
        row = OPS[node.op]
        if size < 0 or row.kind is _KERNEL or _STORED in row.traits:
            return None
        total += size
        if total >= small_bytes:
            return None
    return Plan(tuple(outputs), tuple(order), total, False)


def _direct_bytes(type_: ArrayType) -> int:
    """The bytes of a value of ``type_``; -1 where it cannot run unplanned (masked, or
    of unknown size). Remembered by type: a graph has few distinct types."""
    found = _TYPE_BYTES.get(type_)
    if found is None:
        if type_.masked or None in type_.shape:
            found = -1
        else:
            found = math.prod(type_.shape) * type_.dtype.itemsize  # type: ignore[arg-type]
        if len(_TYPE_BYTES) >= 4096:
            _TYPE_BYTES.clear()
        _TYPE_BYTES[type_] = found
    return found


_TYPE_BYTES: dict[ArrayType, int] = {}


def parameters_of(outputs: Sequence[Node]) -> dict[str, Node]:
    for node in outputs:
        if node.has_parameters:
            break
    else:
        return {}
    found = find(outputs, lambda n: _ARGUMENT in OPS[n.op].traits)
    return {node.attr("name"): node for node in found}


_CACHE: OrderedDict[tuple[Any, ...], Plan] = OrderedDict()
# a few: a cached plan holds its graph, and so the arrays it reads, alive; expressions
# on fresh arrays (a loop over files) would keep many of them, for no reuse, out of the
# processor's caches
_CACHE_SIZE = 8
_PLAN_TIME_ELEMENTS = 64  # literals up to this size may be read by stages (fold.FOLD_LIMIT)


# stages that pay off with data, not with small expressions, where they cost more time
# than they save (see config.small_bytes)
DATA_STAGES = frozenset({"simplify", "pushdown", "decompose", "unmask", "fuse"})


def make_plan(
    outputs: Sequence[Node],
    arguments: Mapping[str, Any] | None = None,
    disabled: frozenset[str] = frozenset(),
    optimize: bool = True,
    small_bytes: int = 0,
) -> Plan:
    """The plan for ``outputs``: optimized by the stages in ``planner.passes`` (minus
    ``disabled``), with ``arguments`` (already checked by ``bind_arguments``) bound.
    Graphs whose values add up to less than ``small_bytes`` skip the data stages.
    Plans of parameter-free graphs are kept (LRU) for the next compute, unless the
    planner may have read a literal that can change (``Literal.mutable``)."""
    key = (tuple(outputs), disabled, optimize, small_bytes)
    if not arguments:
        cached = _CACHE.get(key)
        if cached is not None:
            _CACHE.move_to_end(key)
            return cached
    optimized = tuple(outputs)
    read_changing = False
    if not optimize:
        plan = Plan(optimized, tuple(toposort(optimized)))
    else:
        order = toposort(outputs)
        # one pass over the graph: its bytes (a bound on the peak, and whether the data
        # stages pay), and the few nodes small enough to fold or be read while planning
        total, unknown, kernels, folds, masked = 0, 0, False, False, False
        stored = False  # storage is read: pushing indexes into the read always pays
        small = max(FOLD_LIMIT, _PLAN_TIME_ELEMENTS)
        for node in order:
            type_ = node.type
            masked = masked or type_.masked
            if None in type_.shape:
                size = None
                unknown += 1
            else:
                size = math.prod(type_.shape)  # type: ignore[arg-type]
                total += size * type_.dtype.itemsize
            row = OPS[node.op]
            if row.kind is _KERNEL:
                kernels = True
            elif not node.inputs and _STORED in row.traits:
                stored = True
            if size is None or size <= small:
                folds = folds or foldable(node)
                if not node.inputs and _read_when_planning(node):
                    read_changing = True
        if total < small_bytes and not stored:
            disabled = disabled | DATA_STAGES
        if not folds:
            disabled = disabled | {"fold"}  # a pass that would change nothing
        optimized = run_stages(optimized, arguments or {}, disabled)
        if optimized == tuple(outputs):  # unchanged: the steps are the order scanned
            upper = total + 2**30 * unknown + (_BLOCK_COPIES * 2**24 if kernels else 0)
            plan = Plan(optimized, tuple(order), upper, masked, read_changing)
        else:
            steps = tuple(toposort(optimized))
            plan = Plan(optimized, steps, read_changing_data=read_changing)
    if not arguments and not read_changing:
        _CACHE[key] = plan
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return plan
