"""``Function``: an expression whose parameters are its arguments.

Calling it substitutes the arguments for the parameter nodes, a rewrite of the graph
that computes nothing: ``f(x=arr, threshold=0.5)`` is a lazy array like any other,
usable in further expressions and computable on every backend. Concrete arguments
(numpy arrays, lists, Python scalars) are checked and cast to the declared dtype as
``compute(**arguments)`` casts them, and become literals; lazy arguments must fit the
declared dtype (``same_kind``), rank, known sizes and mask. Identical arguments give
the identical graph (nodes are hash-consed), so a call's result is cached like any
compute's.

>>> import lazyarray as la
>>> x = la.parameter("x", la.Array, dtype="float64")
>>> t = la.parameter("threshold", la.Scalar, dtype="float64")
>>> count_above = la.Function((x > t).sum(), parameters=["x", "threshold"])
>>> count_above
<lazyarray.Function (x: Array[float64, (?,)], threshold: Scalar[float64]) -> Scalar[int64]>
>>> count_above([0.2, 0.7, 0.9], threshold=0.5).compute()
np.int64(2)
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from lazyarray.errors import ArgumentError, LazyArrayError
from lazyarray.execution import COMPUTE_KEYWORDS
from lazyarray.graph import Node, creation_site, toposort
from lazyarray.ops import OPS, apply
from lazyarray.ops.registry import at_user_line
from lazyarray.planner import bind_arguments
from lazyarray.planner.bind import check_names
from lazyarray.proxy.base import constant, wrap
from lazyarray.proxy.params import check_inputs, parameters_under
from lazyarray.types import ArrayType, shape_text


def describe(type_: ArrayType) -> str:
    """``Array[float64, (?, 3)]``: a declared type, as signatures show it (``?``: any
    size)."""
    kind = "Scalar" if type_.ndim == 0 else "MaskedArray" if type_.masked else "Array"
    if type_.ndim == 0:
        return f"{kind}[{type_.dtype}]"
    return f"{kind}[{type_.dtype}, {shape_text(type_.shape)}]"


class Function:
    """A lazy expression with its parameters as arguments.

    ``parameters`` lists every parameter's name in positional order; without it the
    arguments are keyword-only. ``name`` and ``doc`` describe it (``use`` sets them to
    the workflow's id and version, and the version's docstring)."""

    def __init__(
        self,
        body: Any,
        parameters: Sequence[str] | None = None,
        *,
        name: str = "",
        doc: str = "",
    ) -> None:
        node = getattr(body, "_node", body)
        if not isinstance(node, Node):
            raise ArgumentError(f"a Function is made of a lazy array, not {type(body).__name__}")
        declared = dict(parameters_under(node)) if node.has_parameters else {}
        if parameters is None:
            order = sorted(declared)
            positional = False
        else:
            if isinstance(parameters, str) or not isinstance(parameters, Iterable):
                raise ArgumentError("parameters= is a list of the parameters' names")
            order = list(parameters)
            positional = True
            _check_order(order, declared)
        self._body = node
        self._declared = {name: declared[name] for name in order}
        self._positional = positional
        self.name = name
        self.__doc__ = doc or None  # what help() shows

    # --- what it takes and returns ---------------------------------------------------------

    @property
    def body(self) -> Any:
        """The expression, with its parameters."""
        return wrap(self._body)

    @property
    def node(self) -> Node:
        return self._body

    @property
    def names(self) -> tuple[str, ...]:
        """The arguments' names, in positional order (by name when keyword-only)."""
        return tuple(self._declared)

    @property
    def positional(self) -> bool:
        """Whether arguments may be given by position (``parameters=`` was given)."""
        return self._positional

    @property
    def params(self) -> tuple[Any, ...]:
        """The parameters, as proxies, in the order of ``names``."""
        return tuple(wrap(node) for node in self._declared.values())

    @property
    def __signature__(self) -> inspect.Signature:
        kind = (
            inspect.Parameter.POSITIONAL_OR_KEYWORD
            if self._positional
            else inspect.Parameter.KEYWORD_ONLY
        )
        return inspect.Signature(
            [
                inspect.Parameter(name, kind, annotation=describe(node.type))
                for name, node in self._declared.items()
            ],
            return_annotation=describe(self._body.type),
        )

    def __repr__(self) -> str:
        star = "" if self._positional or not self._declared else "*, "
        arguments = ", ".join(
            f"{name}: {describe(node.type)}" for name, node in self._declared.items()
        )
        label = f" {self.name}" if self.name else ""
        return f"<lazyarray.Function{label} ({star}{arguments}) -> {describe(self._body.type)}>"

    # --- calling ---------------------------------------------------------------------------

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """The expression with these arguments in place of its parameters (lazy)."""
        site = creation_site()
        given = self._bind(args, kwargs)
        lazy = {name: value for name, value in given.items() if _is_lazy(value)}
        concrete = {name: value for name, value in given.items() if name not in lazy}
        replacements: dict[Node, Node] = {}
        for name, value in bind_arguments(
            {name: self._declared[name] for name in concrete}, concrete
        ).items():
            replacements[self._declared[name]] = constant(_owned(value, concrete[name]), site)
        if lazy:
            check_inputs(tuple(_node_of(value) for value in lazy.values()))
            for name, value in lazy.items():
                parameter = self._declared[name]
                replacements[parameter] = _fit(name, _node_of(value), parameter.type)
        try:
            return wrap(_substitute(self._body, replacements, site))
        except LazyArrayError as exc:
            raise at_user_line(exc) from exc.__cause__

    def compute(self, *args: Any, **kwargs: Any) -> Any:
        """``self(*args, **arguments).compute(**compute_keywords)``: the keywords of
        ``compute`` (``backend``, ``format``, ...) are told apart from arguments, which
        never take their names."""
        options = {name: kwargs.pop(name) for name in list(kwargs) if name in COMPUTE_KEYWORDS}
        return self(*args, **kwargs).compute(**options)

    def _bind(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """The arguments by name, as Python binds a call; errors name the arguments."""
        names = self.names
        where = f" of {self.name}" if self.name else ""
        if args and not self._positional:
            raise ArgumentError(
                f"the arguments{where} are given by keyword ({', '.join(names)}), "
                f"not by position ({len(args)} given)"
            )
        if len(args) > len(names):
            raise ArgumentError(
                f"too many positional arguments{where}: it takes {len(names)} "
                f"({', '.join(names)}), {len(args)} were given"
            )
        given = dict(zip(names, args, strict=False))
        twice = sorted(given.keys() & kwargs.keys())
        if twice:
            raise ArgumentError(f"argument(s) {', '.join(twice)}{where} given twice")
        given.update(kwargs)
        check_names(
            [name for name in names if name not in given],
            sorted(given.keys() - self._declared.keys()),
            missing_what="argument(s)",
            known=f"the arguments{where}: {', '.join(names) or 'none'}",
        )
        return given


def _check_order(order: list[str], declared: Mapping[str, Node]) -> None:
    bad = [name for name in order if not isinstance(name, str)]
    if bad:
        raise ArgumentError(f"parameters= lists names (str), not {bad[0]!r}")
    twice = sorted({name for name in order if order.count(name) > 1})
    missing = sorted(declared.keys() - set(order))
    unknown = sorted(set(order) - declared.keys())
    if twice or missing or unknown:
        parts = []
        if twice:
            parts.append(f"listed twice: {', '.join(twice)}")
        if missing:
            parts.append(f"not listed: {', '.join(missing)}")
        if unknown:
            parts.append(f"not parameters of the expression: {', '.join(unknown)}")
        raise ArgumentError(
            f"parameters= lists every parameter once, in positional order; "
            f"{'; '.join(parts)} (its parameters: {', '.join(sorted(declared)) or 'none'})"
        )


def _owned(bound: Any, given: Any) -> Any:
    """An argument's array, read-only when binding made it (from a list, a scalar, or by
    a cast): nobody else can write it, so its values are settled (sizes known, results
    cached) as those of ``la.asarray([...])`` are; the caller's own array stays by
    reference."""
    if isinstance(bound, np.ndarray) and not (
        isinstance(given, np.ndarray) and np.may_share_memory(bound, given)
    ):
        bound.flags.writeable = False
    return bound


def _is_lazy(value: Any) -> bool:
    return hasattr(value, "__lazyarray_node__") or isinstance(value, Function)


def _node_of(value: Any) -> Node:
    if isinstance(value, Function):
        raise ArgumentError("a Function is not an argument; pass the result of calling it")
    node: Node = value.__lazyarray_node__
    return node


def _fit(name: str, node: Node, declared: ArrayType) -> Node:
    """A lazy argument as the parameter declares it: cast ``same_kind`` to its dtype,
    masked if it is; refused when its rank, a known size or its mask do not fit."""
    found = node.type
    if found.ndim != declared.ndim or any(
        want is not None and got is not None and want != got
        for want, got in zip(declared.shape, found.shape, strict=True)
    ):
        raise ArgumentError(
            f"argument {name!r} has shape {shape_text(found.shape)}; the parameter expects "
            f"{shape_text(declared.shape)}"
        )
    if found.masked and not declared.masked:
        raise ArgumentError(
            f"argument {name!r} is a masked array but the parameter is declared unmasked"
        )
    if found.dtype != declared.dtype:
        if not np.can_cast(found.dtype, declared.dtype, casting="same_kind"):
            raise ArgumentError(
                f"argument {name!r} has dtype {found.dtype}, which cannot be cast to the "
                f"parameter's dtype {declared.dtype} (same_kind casting)"
            )
        node = apply("astype", (node,), dtype=declared.dtype, casting="same_kind")
    if declared.masked and not found.masked:
        node = apply("masked_array", (node, constant(np.False_)), fill_value=None)
    return node


def _substitute(body: Node, replacements: Mapping[Node, Node], site: Any) -> Node:
    """``body`` with ``replacements`` for its parameter nodes; nodes without parameters
    below them are kept as they are (never visited). Rebuilt nodes are typed again by
    their rows, so known sizes flow from the arguments."""
    done: dict[Node, Node] = dict(replacements)
    for node in toposort([body], within=lambda child: child.has_parameters):
        if node in done:
            continue
        inputs = tuple([done.get(child, child) for child in node.inputs])
        if all(new is old for new, old in zip(inputs, node.inputs, strict=True)):
            done[node] = node
            continue
        done[node] = _rebuild(node, inputs, site)
    return done[body]


def _rebuild(node: Node, inputs: tuple[Node, ...], site: Any) -> Node:
    row = OPS[node.op]
    attrs = node.kwargs
    return Node.make(
        node.op, inputs, node.attrs, lambda: row.infer(inputs, attrs), node.site or site
    )
