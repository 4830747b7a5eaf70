"""A fused kernel's program compiled once, then run block after block, bit-exact with
numpy eager: every instruction calls its op row's numpy implementation on the same
dtypes (weak Python scalars stay Python scalars, so NEP 50 promotes as numpy does).

A ufunc instruction writes with ``out=`` into a buffer of its result dtype taken from
the running thread's pool; a buffer goes back to the pool after its last reader, before
that reader's output is taken, so a ufunc may write over an input it reads for the last
time (elementwise, so exact). A block of a chain of any length thus holds a handful of
buffers. Steps run in program order, in one loop: nothing is recursive, and programs of
any length and any number of inputs run.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from lazyarray.errors import CastError
from lazyarray.ops import OPS
from lazyarray.ops.kernel import Kernel

Shape = tuple[int, ...]
Pool = dict[tuple[np.dtype[Any], Shape], list[np.ndarray[Any, Any]]]


@dataclasses.dataclass(frozen=True, slots=True)
class Step:
    call: Callable[..., Any] | None  # None: a generated source, supplied per block
    refs: tuple[int, ...]
    kwargs: Mapping[str, Any]
    dtype: np.dtype[Any]
    into: bool  # a ufunc writing with out= into a pooled buffer
    frees: tuple[int, ...]  # values read here for the last time


def value_type(value: Any) -> Any:
    """What numpy's promotion sees of an input: the Python type of a weak scalar."""
    kind = type(value)
    if kind in (int, float, complex):
        return kind
    if kind is bool:
        return np.dtype(np.bool_)
    return np.asarray(value).dtype


class BlockProgram:
    """The kernel's program compiled for inputs of ``input_types`` (see ``value_type``)."""

    def __init__(self, kernel: Kernel, input_types: Sequence[Any]) -> None:
        count = len(input_types)
        readers = kernel.last_readers()
        types: list[Any] = list(input_types)
        steps = []
        for position, (op, refs, attrs, dtype) in enumerate(kernel.program):
            types.append(dtype)  # types[count + position]
            call = OPS[op].impl if refs else None
            into = isinstance(call, np.ufunc) and call.nout == 1 and not attrs
            if isinstance(call, np.ufunc) and into:
                _check_promotion(op, call, [types[r] for r in refs], dtype)
            frees = tuple(r for r in readers.get(position, ()) if r >= count)
            steps.append(Step(call, refs, dict(attrs), dtype, into, frees))
        self.steps = tuple(steps)
        self.count = count

    def run(
        self,
        inputs: Sequence[Any],
        generated: Mapping[int, Any],
        pool: Pool,
        finish: Callable[[Any], Any],
        out: np.ndarray[Any, Any] | None = None,
    ) -> Any:
        """``finish`` of the program's value over one block's ``inputs``; the buffers
        used return to ``pool`` (one thread's) for the next block. A last ufunc writes
        straight into ``out`` when it has the value's shape and dtype."""
        count = self.count
        final = len(self.steps) - 1
        values: list[Any] = [*inputs, *([None] * len(self.steps))]
        shapes: list[Shape] = [getattr(v, "shape", ()) for v in inputs]
        shapes += [()] * len(self.steps)
        pooled: list[tuple[np.dtype[Any], Shape] | None] = [None] * len(values)
        for position, step in enumerate(self.steps):
            slot = count + position
            if step.call is None:
                value = values[slot] = generated[position]
                shapes[slot] = value.shape
                continue
            refs = step.refs
            args = [values[r] for r in refs]
            if step.into:  # a ufunc may write over an input it reads for the last time
                _release(step.frees, values, pooled, pool, None)
                shape = shapes[refs[0]]
                for ref in refs[1:]:
                    if shapes[ref] != shape:
                        shape = np.broadcast_shapes(shape, shapes[ref])
                shapes[slot] = shape
                last = position == final and out is not None
                if last and out.shape == shape and out.dtype == step.dtype:  # type: ignore[union-attr]
                    step.call(*args, out=out)
                    values[slot] = out
                    continue
                if shape:
                    key = (step.dtype, shape)
                    free = pool.get(key)
                    buffer = free.pop() if free else np.empty(shape, step.dtype)
                    step.call(*args, out=buffer)
                    values[slot], pooled[slot] = buffer, key
                    continue
            value = values[slot] = step.call(*args, **step.kwargs)
            shapes[slot] = np.shape(value)
            if not step.into:  # after the call: its value may be a view of an input
                _release(step.frees, values, pooled, pool, value)
        result = finish(values[-1])
        last_key = pooled[-1]
        if last_key is not None:
            pool.setdefault(last_key, []).append(values[-1])
        return result


def _release(
    frees: Sequence[int],
    values: list[Any],
    pooled: list[Any],
    pool: Pool,
    result: Any,
) -> None:
    """Returns the buffers of values read for the last time to ``pool``, except one that
    ``result`` still views (``real``, ``imag``, a reshape): that one stays the result's."""
    for ref in frees:
        key = pooled[ref]
        if key is not None and not (
            isinstance(result, np.ndarray) and np.may_share_memory(result, values[ref])
        ):
            pool.setdefault(key, []).append(values[ref])
        pooled[ref] = None
        values[ref] = None


def _check_promotion(op: str, ufunc: np.ufunc, operands: list[Any], promised: Any) -> None:
    """The dtype numpy computes an instruction in is the one its node promised."""
    try:
        resolved = ufunc.resolve_dtypes((*operands, None))[-1]
    except TypeError as exc:
        raise CastError(f"kernel instruction {op}: {exc}") from None
    if resolved != promised:
        raise CastError(
            f"kernel instruction {op} on {operands} computes {resolved}, "
            f"but its node promised {promised}"
        )


class Pools:
    """One buffer pool per thread running blocks of one kernel; dropped with the run."""

    def __init__(self) -> None:
        self._pools: dict[int, Pool] = {}

    def here(self) -> Pool:
        return self._pools.setdefault(threading.get_ident(), {})


_compiled: dict[tuple[int, tuple[Any, ...]], tuple[Kernel, BlockProgram]] = {}
_compiled_lock = threading.Lock()


def compiled(kernel: Kernel, input_types: Sequence[Any]) -> BlockProgram:
    """The block program of ``kernel``, compiled once per kernel and input types (the
    cache holds the kernel, so its id stays its own while cached)."""
    key = (id(kernel), tuple(input_types))
    found = _compiled.get(key)
    if found is not None and found[0] is kernel:
        return found[1]
    block_program = BlockProgram(kernel, input_types)
    with _compiled_lock:
        if len(_compiled) >= 64:
            _compiled.pop(next(iter(_compiled)))
        _compiled[key] = (kernel, block_program)
    return block_program
