"""Elementwise fusion: maximal groups of elementwise ops become one ``fused`` kernel, with
a trailing reduction where there is one, so that intermediates of the group are never
materialized (``sum(a*b)`` never builds ``a*b``). Generated sources (random, full,
arange, linspace, eye) read only by the group are generated inside it, block by block.

A node joins a kernel when all its readers are in that kernel (a value read several
times inside one kernel is computed once per block); a node read by several kernels, or
by an op that is not fused, becomes a value of its own, computed once.
"""

from __future__ import annotations

from lazyarray.graph import Node, toposort
from lazyarray.ops import OPS, Kind, Trait
from lazyarray.ops.kernel import Instruction, Kernel, Reduction
from lazyarray.planner.rewrite import Outputs, rebuild
from lazyarray.types import ArrayType

FUSABLE_KINDS = "biufc"


def _fusable(node: Node) -> bool:
    return (
        OPS[node.op].kind is Kind.ELEMENTWISE
        and not node.type.masked
        and None not in node.type.shape
        and node.type.dtype.kind in FUSABLE_KINDS
        and all(not child.type.masked and None not in child.type.shape for child in node.inputs)
    )


def _generated(node: Node) -> bool:
    """A source the kernel can generate per block: whole, since the kernel runner gives
    it each block's region of its own shape."""
    return Trait.GENERATED in OPS[node.op].traits and node.attr("region") is None


def _trailing(node: Node) -> bool:
    """A reduction whose blockwise partial results combine by the same op."""
    return Trait.BLOCKWISE in OPS[node.op].traits and node.attr("dtype") is None


def fuse(outputs: Outputs) -> Outputs:
    order = toposort(outputs)
    readers: dict[Node, list[Node]] = {}
    for node in order:
        for child in dict.fromkeys(node.inputs):  # x*x reads x once
            readers.setdefault(child, []).append(node)
    fusable = {node: _fusable(node) for node in order}
    kernel_of = _kernels(order, readers, fusable, frozenset(outputs))
    heads = frozenset(kernel_of.values())

    replaced: dict[Node, Node] = {}
    for node in order:
        if node in kernel_of:
            continue  # computed (or generated) inside its kernel, block by block
        if node in heads and not fusable[node]:  # a trailing reduction finishing a kernel
            replaced[node] = _kernel(node.inputs[0], node, kernel_of, replaced)
        elif fusable[node]:
            replaced[node] = _kernel(node, None, kernel_of, replaced)
        else:
            replaced[node] = rebuild(node, tuple(replaced[child] for child in node.inputs))
    return tuple(replaced[node] for node in outputs)


def _kernels(
    order: list[Node],
    readers: dict[Node, list[Node]],
    fusable: dict[Node, bool],
    outputs: frozenset[Node],
) -> dict[Node, Node]:
    """Each node computed inside a kernel, mapped to the kernel's head: the node the
    kernel replaces (an elementwise root, or the trailing reduction finishing it).

    Decided from the outputs down: a fusable or generated node joins a kernel when every
    one of its readers is in that same kernel, so a value read several times inside one
    kernel is computed once per block and never materialized; a value read by different
    kernels, or by an op that is not fused, is materialized once."""
    kernel_of: dict[Node, Node] = {}
    for node in reversed(order):
        if node in outputs or not (fusable[node] or _generated(node)):
            continue
        heads = {_head_for(node, reader, kernel_of, fusable) for reader in readers[node]}
        if len(heads) == 1 and None not in heads:
            kernel_of[node] = heads.pop()  # type: ignore[assignment]
    return kernel_of


def _head_for(
    node: Node, reader: Node, kernel_of: dict[Node, Node], fusable: dict[Node, bool]
) -> Node | None:
    """The kernel ``node`` would join through ``reader``, if any."""
    if fusable[reader]:
        return kernel_of.get(reader, reader)
    if _trailing(reader) and reader.inputs[0] is node:
        return reader
    return None


def _kernel(
    root: Node,
    reduction: Node | None,
    kernel_of: dict[Node, Node],
    replaced: dict[Node, Node],
) -> Node:
    """Collects root's group (inputs first) and builds the fused node. The group is
    walked once, and each instruction is built once: programs of 100,000 instructions
    cost no more per instruction than programs of ten."""
    head = reduction or root
    order = toposort([root], lambda child: kernel_of.get(child) is head)
    members = {member: position for position, member in enumerate(order)}
    input_index: dict[Node, int] = {}
    for current in order:
        for child in current.inputs:
            if child not in members and child not in input_index:
                input_index[child] = len(input_index)
    count = len(input_index)
    if len(order) == 1 and reduction is None:  # one op alone gains nothing from a kernel
        return rebuild(root, tuple([replaced[child] for child in root.inputs]))
    program = tuple(
        [
            Instruction(
                current.op,
                tuple(
                    [
                        count + members[child] if child in members else input_index[child]
                        for child in current.inputs
                    ]
                ),
                current.attrs,
                current.type.dtype,
            )
            for current in order
        ]
    )
    result = ArrayType(head.type.dtype, head.type.shape, head.type.masked)
    kernel = Kernel(
        program,
        count,
        root.type.shape,  # type: ignore[arg-type]  # fusable: every size known
        result,
        None if reduction is None else Reduction(reduction.op, reduction.attrs),
    )
    kernel_inputs = tuple([replaced[child] for child in input_index])
    return Node.make("fused", kernel_inputs, (("kernel", kernel),), lambda: result, head.site)
