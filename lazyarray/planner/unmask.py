"""Unmasking: masked elementwise ops become plain ops on their data and on their masks,
joined again by one ``masked_result`` node, so that fusion runs masked chains as kernels
(two: one for the data, one for the mask) instead of one numpy.ma call per op.

Each rewrite computes exactly what the op row's masked implementation computes:

- a ufunc on masked arrays (numpy.ma's ``MaskedArray.__array_wrap__``): the ufunc of the
  data; the inputs' masks or-ed; where numpy.ma knows a domain for the ufunc
  (``numpy.ma.core.ufunc_domain``: ``log`` of non-positives, division by zero ...), the
  data there set to numpy.ma's fill (``ufunc_fills``) and masked, and unary domains also
  fill the data under the input's mask, since they see the masked input; the fill value
  and hard mask of the first input that is a masked array.
- ``numpy.ma.where``: ``where`` of the condition filled with False, on data and masks.

Chains of masked ops thus leave plain elementwise chains that fuse; a node is left to
numpy.ma wherever the rewrite could not be exact: a dtype numpy.ma would reach
differently (``np.ma.masked`` is a float64 scalar; ``np.ma.where`` reads Python scalars
as arrays), a domain numpy.ma has and this table does not, a result of rank 0 (numpy.ma
returns ``np.ma.masked`` or a scalar there) or of unknown size.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.ma.core

from lazyarray.errors import LazyArrayError
from lazyarray.graph import Node, toposort
from lazyarray.ops import OPS, Kind
from lazyarray.ops.creation import constant_node
from lazyarray.ops.elementwise import weak_value, where_operand_dtype
from lazyarray.planner.fusion import FUSABLE_KINDS
from lazyarray.planner.rewrite import Outputs, make, rebuild

ma_core: Any = numpy.ma.core  # numpy.ma's domain and fill tables are private to it
Site = Any
# a fill value known when planning: (value, dtype), or () for numpy's default
Fill = tuple[Any, ...]


class Parts(NamedTuple):
    """A masked value as data, the terms its mask is the or of (none: nothing masked;
    kept apart until joined, so a mask read twice is or-ed once), and the candidates, in order,
    for the masked array its numpy.ma attributes come from: nodes (the first that is a
    masked array when run wins) and, last, a fill known when planning. ``shrink``:
    numpy.ma gives ``nomask`` when nothing is masked (binary ufuncs, ``where``).
    ``booled``: the attributes come through a comparison, which fills with
    ``bool(fill_value)`` (``elementwise.bool_fill``), and every op after it inherits."""

    data: Node
    masks: tuple[Node, ...]
    sources: tuple[Node | Fill, ...]
    shrink: bool = False
    booled: bool = False


Rewrite = Callable[[Node, Sequence[Parts], dict[Node, Parts]], Parts | None]


def _terms(*groups: Sequence[Node]) -> tuple[Node, ...]:
    return tuple(dict.fromkeys(term for group in groups for term in group))


def _or(masks: Sequence[Node], site: Site) -> Node:
    return functools.reduce(lambda a, b: make("logical_or", (a, b), site), _terms(masks))


_MIRRORED = {"less": "greater", "less_equal": "greater_equal", "greater": "less"}
_MIRRORED |= {b: a for a, b in _MIRRORED.items()}


class _Compare:
    """Builds comparisons, or with ``mirrored`` the same ones spelled the other way round
    (``x < v`` as ``v > x``: equal for every value, NaN included). The data's fill reads
    the mirrored domain: a node apart from the mask's, it fuses into the data's kernel,
    where one node read by both would be a kernel of its own."""

    def __init__(self, site: Site, mirrored: bool) -> None:
        self.site, self.mirrored = site, mirrored

    def __call__(self, op: str, x: Node, y: Node) -> Node:
        if self.mirrored:
            op, x, y = _MIRRORED.get(op, op), y, x  # logical_or commutes
        return make(op, (x, y), self.site)

    def unary(self, op: str, x: Node) -> Node:
        if self.mirrored:  # a spelling of its own, equal on these dtypes, or none
            op = _OWN_SPELLING.get((op, x.type.dtype.kind), "")
            if not op:
                raise _NoMirror
        return make(op, (x,), self.site)


class _NoMirror(Exception):
    """A domain without a mirrored spelling: the data's fill reads the mask's nodes."""


_OWN_SPELLING = {("absolute", "f"): "fabs"}


def _tolerance(domain: Any) -> Node:
    return constant_node(np.finfo(float).tiny if domain.tolerance is None else domain.tolerance)


# numpy.ma's domains (``numpy/ma/core.py``) as graph builders over the inputs' data: each
# is true where numpy.ma's domain object is
DOMAINS: dict[type, Callable[[Any, tuple[Node, ...], _Compare], Node]] = {
    ma_core._DomainGreaterEqual: lambda d, x, c: c(  # x < v
        "less", x[0], constant_node(d.critical_value)
    ),
    ma_core._DomainGreater: lambda d, x, c: c(  # x <= v
        "less_equal", x[0], constant_node(d.critical_value)
    ),
    ma_core._DomainCheckInterval: lambda d, x, c: c(  # x > b | x < a
        "logical_or", c("greater", x[0], constant_node(d.b)), c("less", x[0], constant_node(d.a))
    ),
    ma_core._DomainTan: lambda d, x, c: c(  # |cos(x)| < eps
        "less", c.unary("absolute", c.unary("cos", x[0])), constant_node(d.eps)
    ),
    ma_core._DomainSafeDivide: lambda d, x, c: c(  # |a| * tiny >= |b|
        "greater_equal",
        c("multiply", c.unary("absolute", x[0]), _tolerance(d)),
        c.unary("absolute", x[1]),
    ),
}


# a value inside each domain, per input: numpy.ma runs its ufuncs with divide and invalid
# ignored, and fills where the domain fails; the rewrite gives the ufunc these values
# there instead (the same result once filled), so that it neither warns nor raises
IN_DOMAIN: dict[type, Callable[[Any], tuple[Any, ...]]] = {
    ma_core._DomainGreaterEqual: lambda d: (d.critical_value + 1,),
    ma_core._DomainGreater: lambda d: (d.critical_value + 1,),
    ma_core._DomainCheckInterval: lambda d: ((d.a + d.b) / 2,),
    ma_core._DomainTan: lambda d: (0,),
    ma_core._DomainSafeDivide: lambda d: (0, 1),
}


def _in_domain(
    domain: Any, ufunc: Any, datas: tuple[Node, ...], filled: Node, site: Site
) -> tuple[Node, ...] | None:
    """``datas`` with the values where ``filled`` holds replaced by ones inside the
    domain, each input in the dtype the ufunc's loop reads it as (a Python scalar cast
    as numpy casts it), so the loop is the same; None where that cannot be said."""
    inside = IN_DOMAIN.get(type(domain))
    if inside is None:
        return None
    try:
        loop = ufunc.resolve_dtypes((*[d.type.promotion_key for d in datas], None))
    except TypeError:
        return None
    quiet = []
    for value, data, dtype in zip(inside(domain), datas, loop, strict=False):
        if data.type.weak is not None:
            scalar = weak_value(data)
            if scalar is None:
                return None
            data = constant_node(np.asarray(scalar, dtype=dtype)[()])
        quiet.append(make("where", (filled, constant_node(dtype.type(value)), data), site))
    return tuple(quiet)


@functools.cache
def _fill_fits(fill: Any, dtype: np.dtype[Any]) -> bool:
    """Whether numpy.ma's ``np.copyto(result, fill, where=domain)`` casts ``fill`` in."""
    try:
        np.copyto(np.zeros(1, dtype), fill, where=np.ones(1, bool))
    except (TypeError, ValueError):
        return False
    return True


def _may_be_masked_constant(node: Node, parts: dict[Node, Parts]) -> bool:
    """A rank-0 masked value numpy.ma may give as ``np.ma.masked``, a float64."""
    return node.type.masked and node.type.ndim == 0 and node not in parts


def _sources(
    inputs: Sequence[Node], split: Sequence[Parts]
) -> tuple[tuple[Node | Fill, ...], bool] | None:
    """The masked inputs' candidates in order, up to the first sure to be a masked array
    (a rank >= 1 masked value always is; a rank-0 one may be a numpy scalar), and whether
    they come through a comparison (``Parts.booled``); None where candidates of both
    kinds would meet (numpy.ma then decides, when run)."""
    found: list[Node | Fill] = []
    booled: set[bool] = set()
    for node, part in zip(inputs, split, strict=True):
        if not node.type.masked:
            continue
        booled.add(part.booled)
        for source in part.sources:
            if source not in found:
                found.append(source)
            if not isinstance(source, Node) or source.type.ndim >= 1:
                return (tuple(found), part.booled) if len(booled) == 1 else None
    return (tuple(found), booled == {True}) if len(booled) <= 1 else None


def _ufunc(node: Node, split: Sequence[Parts], parts: dict[Node, Parts]) -> Parts | None:
    ufunc: Any = OPS[node.op].impl
    site = node.site
    if any(_may_be_masked_constant(child, parts) for child in node.inputs):
        keys = [
            np.dtype(np.float64) if _may_be_masked_constant(c, parts) else c.type.promotion_key
            for c in node.inputs
        ]
        try:
            if ufunc.resolve_dtypes((*keys, None))[-1] != node.type.dtype:
                return None
        except TypeError:
            return None
    datas = tuple(part.data for part in split)
    data = make(node.op, datas, site, **node.kwargs)
    masks = _terms(*(part.masks for part in split))
    domain = ma_core.ufunc_domain.get(ufunc)
    if domain is not None:
        build, fills = DOMAINS.get(type(domain)), ma_core.ufunc_fills.get(ufunc)
        if build is None or fills is None:
            return None
        fill = fills[-1] if isinstance(fills, tuple) else fills
        if not _fill_fits(fill, data.type.dtype):
            return None
        bad = build(domain, datas, _Compare(site, mirrored=False))
        try:
            filled = build(domain, datas, _Compare(site, mirrored=True))
        except _NoMirror:
            filled = bad
        if ufunc.nin == 1:  # numpy.ma's unary domains see the masked input: filled too
            filled = _or((*masks, filled), site)
        masks = _terms(masks, (bad,))
        quiet = _in_domain(domain, ufunc, datas, filled, site)
        if quiet is not None:  # the ufunc never sees what numpy.ma would ignore
            data = make(node.op, quiet, site, **node.kwargs)
        data = make("where", (filled, constant_node(fill), data), site)
    sources = _sources(node.inputs, split)
    if data.type.dtype != node.type.dtype or not masks or sources is None:
        return None
    # a comparison's masked implementation gives a bool fill (``elementwise.masked_ufunc``)
    booled = sources[1] or getattr(OPS[node.op].masked_impl, "booled", False)
    return Parts(data, masks, sources[0], shrink=ufunc.nin > 1, booled=booled)


def _where(node: Node, split: Sequence[Parts], parts: dict[Node, Parts]) -> Parts | None:
    if any(_may_be_masked_constant(child, parts) for child in node.inputs[1:]):
        return None  # np.ma.where treats np.ma.masked apart
    condition, x, y = split
    # np.ma.where reads its operands as arrays: Python scalars promote strongly
    strong = [where_operand_dtype(c) for c in node.inputs[1:]]
    if np.result_type(*strong) != node.type.dtype:
        return None
    site = node.site
    chosen = condition.data
    if condition.masks:  # filled(condition, False)
        unmasked = make("logical_not", (_or(condition.masks, site),), site)
        chosen = make("logical_and", (chosen, unmasked), site)
    scalars = [weak_value(child) for child in node.inputs[1:]]
    operands = [  # a Python scalar as np.ma.where reads it: an array of its own dtype
        part.data if scalar is None else constant_node(np.asarray(scalar)[()])
        for scalar, part in zip(scalars, (x, y), strict=True)
    ]
    data = make("where", (chosen, *operands), site)
    nothing = constant_node(np.False_)
    picked = [_or(part.masks, site) if part.masks else nothing for part in (x, y)]
    masks = _terms((make("where", (chosen, *picked), site),), condition.masks)
    if data.type.dtype != node.type.dtype:
        return None
    return Parts(data, masks, ((),), shrink=True)  # a new masked array: numpy's defaults


# how a row's masked implementation is rewritten, keyed by that implementation (a ufunc
# that is its own masked implementation: ``_ufunc``)
REWRITES: dict[Any, Rewrite] = {np.ma.where: _where}


def _rewrite_of(node: Node) -> Rewrite | None:
    row = OPS[node.op]
    if row.kind is not Kind.ELEMENTWISE or not node.type.masked:
        return None
    shape = node.type.shape
    if not shape or None in shape or node.type.dtype.kind not in FUSABLE_KINDS:
        return None
    if any(None in child.type.shape for child in node.inputs):
        return None
    if isinstance(row.impl, np.ufunc) and (
        row.masked_impl is row.impl or getattr(row.masked_impl, "__wrapped__", None) is row.impl
    ):  # the ufunc itself, or quiet or with a bool fill value (``elementwise.masked_ufunc``)
        return _ufunc
    return REWRITES.get(row.masked_impl)


def _masked_array_parts(node: Node) -> Parts | None:
    """A ``masked_array`` of plain data is its inputs, its attributes known now
    (``fill_value`` or numpy's default)."""
    data, mask = node.inputs
    if data.type.masked:
        return None
    value = node.attr("fill_value")
    fill: Fill = ()
    if value is not None:
        checked = ma_core._check_fill_value(value, data.type.dtype)
        fill = (checked.item(), checked.dtype.str)
    return Parts(data, (mask,), (fill,))


# masked values whose parts are known when planning, by the op building them
KNOWN_PARTS: dict[str, Callable[[Node], Parts | None]] = {"masked_array": _masked_array_parts}


def _leaf(node: Node) -> Parts:
    """The parts of a masked value the stage does not rewrite: known now
    (``KNOWN_PARTS``), or taken apart when run."""
    known = KNOWN_PARTS.get(node.op)
    found = None if known is None else known(node)
    if found is not None:
        return found
    site = node.site
    return Parts(make("getdata", (node,), site), (make("getmaskarray", (node,), site),), (node,))


def unmask(outputs: Outputs) -> Outputs:
    order = toposort(outputs)
    if not any(node.type.masked for node in order):
        return outputs  # nothing masked: nothing to split
    parts: dict[Node, Parts] = {}
    done: dict[Node, Node] = {}

    def split(node: Node) -> Parts:
        if node in parts:
            return parts[node]
        if node.type.masked:
            return _leaf(node)
        return Parts(node, (), ())

    for node in order:
        current = rebuild(node, tuple([done[child] for child in node.inputs]))
        rewrite = _rewrite_of(current)
        found = None
        if rewrite is not None:
            children = [split(child) for child in current.inputs]
            try:
                found = rewrite(current, children, parts)
            except LazyArrayError:  # a type rule refused a piece: left to numpy.ma
                found = None
        if found is None:
            done[node] = current
            continue
        done[node] = _joined(current, found)
        parts[done[node]] = found
    return tuple(done[node] for node in outputs)


def _joined(node: Node, found: Parts) -> Node:
    """The masked array of ``found``: read only where something is not rewritten."""
    nodes = tuple(s for s in found.sources if isinstance(s, Node))
    fills = [s for s in found.sources if not isinstance(s, Node) and s]
    attrs: dict[str, Any] = {"shrink": found.shrink, "booled": found.booled}
    if fills:
        attrs["fill"] = fills[0]
    mask = _or(found.masks, node.site)
    return make("masked_result", (found.data, mask, *nodes), node.site, **attrs)


__all__ = ["DOMAINS", "REWRITES", "Parts", "unmask"]
