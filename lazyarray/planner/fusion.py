"""Elementwise fusion: maximal groups of elementwise ops become one ``fused`` kernel, with
a trailing reduction where there is one, so that intermediates of the group are never
materialized (``sum(a*b)`` never builds ``a*b``). Random and filled sources read only by
the group are generated inside it, block by block.

A node joins its consumer's group when the consumer is its only user; a node read by
several becomes a kernel output of its own, computed once.
"""

from __future__ import annotations

from lazyarray.graph import Node, toposort
from lazyarray.ops import OPS, Kind
from lazyarray.ops.kernel import Instruction
from lazyarray.planner.rewrite import Outputs, rebuild

FUSABLE_KINDS = "biufc"
GENERATED_SOURCES = {"random", "full"}
# reductions a kernel can finish with, blockwise: their partial results combine with
# the same op (sum of sums, max of maxes)
TRAILING_REDUCTIONS = {"sum", "prod", "min", "max", "any", "all"}


def _fusable(node: Node) -> bool:
    return (
        OPS[node.op].kind is Kind.ELEMENTWISE
        and not node.type.masked
        and None not in node.type.shape
        and node.type.dtype.kind in FUSABLE_KINDS
        and all(not child.type.masked and None not in child.type.shape for child in node.inputs)
    )


def _generated(node: Node) -> bool:
    return node.op in GENERATED_SOURCES and node.attr("region") is None


def _trailing(node: Node) -> bool:
    """A reduction whose blockwise partial results combine by the same op."""
    return node.op in TRAILING_REDUCTIONS and node.attr("dtype") is None


def fuse(outputs: Outputs) -> Outputs:
    order = toposort(outputs)
    users: dict[Node, int] = {}
    consumer: dict[Node, Node] = {}
    for node in order:
        for child in dict.fromkeys(node.inputs):  # x*x reads x once
            users[child] = users.get(child, 0) + 1
            consumer[child] = node
    for node in outputs:
        users[node] = users.get(node, 0) + 1  # an output is read by the caller
    fusable = {node: _fusable(node) for node in order}

    def absorbed(node: Node) -> bool:
        """Whether ``node`` belongs to its only user's kernel."""
        user = consumer.get(node)
        if users.get(node, 0) != 1 or user is None:
            return False
        return fusable[user] or (_trailing(user) and user.inputs[0] is node)

    replaced: dict[Node, Node] = {}
    for node in order:
        if fusable[node] and absorbed(node):
            continue  # built inside its consumer's kernel
        reduced = node.inputs[0] if node.inputs else None
        if (
            _trailing(node)
            and reduced is not None
            and (fusable[reduced] or _generated(reduced))
            and users[reduced] == 1
        ):
            replaced[node] = _kernel(reduced, node, users, fusable, replaced)
        elif fusable[node]:
            replaced[node] = _kernel(node, None, users, fusable, replaced)
        elif _generated(node) and absorbed(node):
            continue  # generated inside the kernel, block by block
        else:
            replaced[node] = rebuild(node, tuple(replaced[child] for child in node.inputs))
    return tuple(replaced[node] for node in outputs)


def _kernel(
    root: Node,
    reduction: Node | None,
    users: dict[Node, int],
    fusable: dict[Node, bool],
    replaced: dict[Node, Node],
) -> Node:
    """Collects root's group (inputs first) and builds the fused node. The group is
    walked once with a stack of nodes, and each instruction is built once: programs of
    100,000 instructions cost no more per instruction than programs of ten."""
    members: dict[Node, int] = {}  # member -> its instruction's position
    order: list[Node] = []
    expanded: set[Node] = set()
    stack = [root]
    while stack:
        current = stack.pop()
        if current in members:
            continue
        if current in expanded:
            members[current] = len(order)
            order.append(current)
            continue
        expanded.add(current)
        stack.append(current)
        children = current.inputs
        for i in range(len(children) - 1, -1, -1):
            child = children[i]
            if child not in members and _joins(child, users, fusable):
                stack.append(child)
    input_index: dict[Node, int] = {}
    for current in order:
        for child in current.inputs:
            if child not in members and child not in input_index:
                input_index[child] = len(input_index)
    count = len(input_index)
    if len(order) == 1 and reduction is None:  # one op alone gains nothing from a kernel
        return rebuild(root, tuple([replaced[child] for child in root.inputs]))
    final: tuple[Instruction, ...] = tuple(
        [
            (
                current.op,
                tuple(
                    [
                        count + members[child] if child in members else input_index[child]
                        for child in current.inputs
                    ]
                ),
                current.attrs,
            )
            for current in order
        ]
    )
    result = (reduction or root).type
    trailing = None if reduction is None else (reduction.op, reduction.attrs)
    attrs = (
        ("dtypes", tuple([current.type.dtype.str for current in order])),
        ("program", final),
        ("reduction", trailing),
        ("result", (result.dtype, result.shape, result.masked)),
        ("shape", root.type.shape),
    )
    kernel_inputs = tuple([replaced[child] for child in input_index])
    return Node.make(
        "fused",
        kernel_inputs,
        attrs,
        lambda: OPS["fused"].infer(kernel_inputs, dict(attrs)),
        (reduction or root).site,
    )


def _joins(child: Node, users: dict[Node, int], fusable: dict[Node, bool]) -> bool:
    if users.get(child, 0) != 1:
        return False
    return fusable[child] or _generated(child)
