"""``Plan``: the steps to run, in order, with when each value can be freed."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence
from functools import cached_property

from lazyarray.graph import Literal, Node, toposort


@dataclasses.dataclass(frozen=True)
class Plan:
    """A value describing one computation: ``steps`` in dependency order, the
    ``outputs`` to return, and ``frees[i]``: the values no step after step ``i`` reads,
    which a backend can drop once step ``i`` ran."""

    outputs: tuple[Node, ...]
    steps: tuple[Node, ...]
    frees: tuple[tuple[Node, ...], ...]
    parameters: Mapping[str, Node]

    @cached_property
    def digest(self) -> str:
        """Identifies the computation across processes (the result cache's key)."""
        hasher = hashlib.blake2b(digest_size=16)
        for node in self.outputs:
            hasher.update(node.digest.encode())
        return hasher.hexdigest()

    @property
    def bytes_read(self) -> int:
        """Bytes of literal data the plan reads."""
        total = 0
        for node in self.steps:
            value = node.attr("value")
            if isinstance(value, Literal):
                total += int(getattr(value.value, "nbytes", 0))
        return total

    @property
    def bytes_written(self) -> int | None:
        """Bytes of the outputs, when their sizes are known."""
        total = 0
        for node in self.outputs:
            size = node.type.size
            if size is None:
                return None
            total += size * node.type.dtype.itemsize
        return total

    def __len__(self) -> int:
        return len(self.steps)


def make_plan(outputs: Sequence[Node]) -> Plan:
    steps = tuple(toposort(outputs))
    last_use: dict[Node, int] = {}
    for i, node in enumerate(steps):
        for child in node.inputs:
            last_use[child] = i
    for node in outputs:
        last_use[node] = len(steps)  # outputs live to the end
    frees: list[list[Node]] = [[] for _ in steps]
    for node, index in last_use.items():
        if index < len(steps):
            frees[index].append(node)
    parameters = {node.attr("name"): node for node in steps if node.op == "parameter"}
    return Plan(tuple(outputs), steps, tuple(map(tuple, frees)), parameters)
