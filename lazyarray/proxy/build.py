"""Builders from numpy-style arguments to nodes. Methods, module functions and the numpy
protocols all call these, so each argument convention is written once."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from lazyarray.errors import (
    CastError,
    LazyArrayError,
    OpArgumentError,
    OpValueError,
    ShapeError,
    UnsupportedOperation,
    ValueOverflowError,
)
from lazyarray.graph import Node, Site, creation_site
from lazyarray.ops import OPS
from lazyarray.ops import apply as apply_op
from lazyarray.ops.arguments import check_device, flag, integer, no_out
from lazyarray.ops.creation import scalar_node
from lazyarray.ops.registry import apply_at, apply_bound, at_user_line
from lazyarray.ops.signature import Bound, Signature
from lazyarray.proxy.base import BaseArray, as_node, wrap
from lazyarray.proxy.params import check_inputs, remember
from lazyarray.types import (
    WEAK_PYTHON_TYPES,
    as_dtype,
    broadcast_shapes,
    check_python_int_fits,
    check_supported_dtype,
    normalize_shape,
    result_type,
)


def apply(op: str, inputs: tuple[Node, ...], /, **attrs: Any) -> Node:
    """``ops.apply``, refusing two different parameters of one name in ``inputs``."""
    if len(inputs) > 1:
        return remember(apply_op(op, inputs, **attrs), check_inputs(inputs))
    return apply_op(op, inputs, **attrs)


def _apply_at(site: Site | None, op: str, inputs: tuple[Node, ...], attrs: dict[str, Any]) -> Node:
    """``apply`` at the user's line ``site``, read by the caller."""
    if len(inputs) > 1:
        return remember(apply_at(site, op, inputs, attrs), check_inputs(inputs))
    return apply_at(site, op, inputs, attrs)


def call(
    name: str,
    args: Sequence[Any],
    kwargs: dict[str, Any],
    numpy: bool = False,
    signature: Signature | None = None,
) -> Any:
    """The generic builder: ``name``'s row binds the arguments (numpy's for NEP 18 and
    methods), normalizes its attributes and leaves out defaults, then builds the node."""
    row = OPS[name]
    signature = signature or (row.numpy_arguments if numpy else row.signature)
    assert signature is not None, f"op {name!r} has no signature"
    site = creation_site()
    try:
        inputs, key = _call_key(signature, args, kwargs)
        bound = signature.recall(key) if key is not None else None
        if inputs is None or bound is None:
            values, raw = signature.bind(name, args, kwargs)
            inputs = tuple([as_node(value, site) for value in values])
            if row.masked_impl is None:
                _check_masked_support(name, inputs)
            bound = Bound.of(signature.attributes(name, raw, inputs))
            if key is not None:
                signature.remember(key, bound)
        expanded = row.expand(inputs, bound.attrs) if row.expand is not None else None
    except LazyArrayError as exc:
        raise at_user_line(exc) from exc.__cause__
    if expanded is not None:
        return wrap(expanded)
    if len(inputs) > 1:
        return wrap(remember(apply_bound(site, name, inputs, bound), check_inputs(inputs)))
    return wrap(apply_bound(site, name, inputs, bound))


def _call_key(
    signature: Signature, args: Sequence[Any], kwargs: Mapping[str, Any]
) -> tuple[tuple[Node, ...] | None, tuple[Any, ...] | None]:
    """For a call passing lazy arrays as its inputs, first and by position (a method, the
    common case): their nodes, and the key its attributes are remembered under (None
    where an argument is not plain). Otherwise (None, None): ``bind`` finds the inputs,
    and literals are converted after it, as ever."""
    if not signature.inputs_first(args):
        return None, None
    count = len(signature.inputs)
    if count == 1:  # most ops: no lists to build
        if not isinstance(args[0], BaseArray):
            return None, None
        inputs: tuple[Node, ...] = (as_node(args[0]),)
    else:
        if not all([isinstance(value, BaseArray) for value in args[:count]]):
            return None, None
        inputs = tuple([as_node(value) for value in args[:count]])
    return inputs, signature.call_key(inputs, args, kwargs)


def elementwise(name: str, *args: Any, **attrs: Any) -> Any:
    site = creation_site()
    return wrap(_apply_at(site, name, tuple([as_node(a, site) for a in args]), attrs))


def binary(name: str, left: Any, right: Any) -> Any:
    """``left <op> right`` for the elementwise op ``name``."""
    inputs = (as_node(left), as_node(right))
    if inputs[0].has_parameters and inputs[1].has_parameters:
        found = check_inputs(inputs)
        return wrap(remember(apply_op(name, inputs), found))
    return wrap(apply_op(name, inputs))


def operator_method(name: str, reflected: bool = False) -> Callable[[Any, Any], Any]:
    """``x.__add__`` (``x.__radd__`` when ``reflected``): the hot path of graph
    construction, so the node is made in this one frame (``ops.apply``'s steps, with the
    site read once, from the caller, before any other frame of ours is on the stack)."""
    infer = OPS[name].infer

    def method(self: Any, other: Any) -> Any:
        site = creation_site()
        operand: Any
        if type(other) in WEAK_PYTHON_TYPES:  # ``2 * x``: no questions about ``other``
            operand = scalar_node(other, site)
        else:
            operand = getattr(other, "_node", None)  # ``as_node``, its common case inline
            if type(operand) is not Node:
                operand = as_node(other, site)
        left, right = (operand, self._node) if reflected else (self._node, operand)
        inputs = (left, right)
        if left.has_parameters and right.has_parameters:  # checked before typing
            found = check_inputs(inputs)
            return wrap(remember(apply_op(name, inputs), found))
        try:
            node = Node.make(name, inputs, (), infer, site, attributes={})
        except LazyArrayError as exc:
            raise at_user_line(exc) from exc.__cause__
        return wrap(node)

    return method


def inplace(name: str, target: Any, other: Any) -> Any:
    """``x += y``: numpy's in-place rules (no upcast beyond ``same_kind``, no broadcast
    of ``x`` itself); rebinds ``x`` to a new proxy, since proxies are immutable."""
    node = as_node(target)
    result = apply(name, (node, as_node(other)))
    if not np.can_cast(result.type.dtype, node.type.dtype, casting="same_kind"):
        raise CastError(
            f"Cannot cast ufunc '{name}' output from {result.type.dtype!r} to "
            f"{node.type.dtype!r} with casting rule 'same_kind'"
        )
    if result.type.shape != node.type.shape and None not in result.type.shape:
        raise ShapeError(
            f"non-broadcastable output operand with shape {node.type.shape} doesn't match "
            f"the broadcast shape {result.type.shape}"
        )
    if result.type.dtype != node.type.dtype:
        result = apply("astype", (result,), dtype=node.type.dtype, casting="unsafe")
    return wrap(result)


def astype(
    x: Any,
    dtype: Any,
    order: str = "K",
    casting: str = "unsafe",
    subok: bool = True,
    copy: bool = True,
    device: Any = None,
) -> Any:
    """numpy's ``astype`` (and the standard's ``copy=``, ``device=``): a lazy array is
    never shared, so ``copy`` and ``order`` change nothing but are checked."""
    if order not in ("K", "A", "C", "F"):
        raise OpValueError(f"order must be one of 'C', 'F', 'A', or 'K' (got {order!r})")
    flag(copy, "copy")
    check_device(device)
    site = creation_site()
    node = as_node(x, site)
    target = check_supported_dtype(as_dtype(dtype))
    if target == node.type.dtype:
        return wrap(node)
    return wrap(apply_bound(site, "astype", (node,), _cast(target, casting)))


@functools.lru_cache(maxsize=256)
def _cast(dtype: np.dtype[Any], casting: str) -> Bound:
    """``astype``'s attributes, one value per (dtype, casting): a cast in a loop neither
    sorts nor allocates them again."""
    return Bound.of({"dtype": dtype, "casting": casting})


def reduce(name: str, x: Any, axis: Any = None, keepdims: bool = False, **extra: Any) -> Any:
    """Reduction ``name`` with numpy's arguments; ``where=`` and ``initial=`` become the
    expression they stand for, the rest the row's attributes."""
    site = creation_site()
    node = as_node(x, site)
    where_ = extra.pop("where", True) if extra else True
    if where_ is not True:
        from lazyarray.proxy.reduce_where import reduce_where

        return reduce_where(name, node, where_, axis, flag(keepdims, "keepdims"), extra)
    initial = extra.pop("initial", None) if extra else None
    signature = OPS[name].numpy_arguments
    assert signature is not None
    try:
        attrs = signature.attributes(name, {"axis": axis, "keepdims": keepdims, **extra}, (node,))
    except LazyArrayError as exc:
        raise at_user_line(exc) from exc.__cause__
    if initial is None:
        return wrap(apply_at(site, name, (node,), attrs))
    if name not in _WITH_INITIAL:
        raise OpArgumentError(f"{name}() got an unexpected keyword argument 'initial'")
    value = initial.item() if isinstance(initial, np.generic) else initial
    if not isinstance(value, BaseArray):
        value = _initial(name, node, attrs, value)
        if name in ("min", "max") and not node.type.masked:
            empty = _empty_reduction(node, attrs)
            if empty is not None:  # numpy's result: initial, where there is nothing to reduce
                return full(empty, value, node.type.dtype)
            padded = _padded(node, attrs, value)
            if padded is not None:
                return wrap(apply_at(site, name, (padded,), attrs))
    # numpy starts from ``initial``; every backend can combine it with the reduction
    result = apply_at(site, name, (node,), attrs)
    return wrap(apply(_WITH_INITIAL[name], (result, as_node(value))))


_WITH_INITIAL = {"sum": "add", "prod": "multiply", "min": "minimum", "max": "maximum"}


def _initial(name: str, node: Node, attrs: Mapping[str, Any], value: Any) -> Any:
    """``initial`` as numpy reduces from it: in the reduction's dtype (``max`` of int8
    from ``initial=1.5`` starts from 1), or numpy's error at the user's line."""
    dtype = node.type.dtype if attrs.get("dtype") is None else attrs["dtype"]
    check_python_int_fits(value, np.dtype(dtype))
    extra = {} if attrs.get("dtype") is None else {"dtype": attrs["dtype"]}
    try:
        return getattr(np, name)(np.empty(0, node.type.dtype), initial=value, **extra).item()
    except OverflowError as exc:
        raise at_user_line(ValueOverflowError(str(exc))) from None
    except (TypeError, ValueError) as exc:
        raise at_user_line(CastError(str(exc))) from None


def _padded(node: Node, attrs: Mapping[str, Any], value: Any) -> Node | None:
    """``x`` and a slice of ``initial`` along its one reduced axis of unknown size (a
    boolean selection, empty or not when it runs: ``max`` of it is numpy's either way);
    None where every size is known, or more than one is not."""
    shape, axis = node.type.shape, attrs.get("axis")
    unknown = [a for a, d in enumerate(shape) if d is None]
    if len(unknown) != 1 or (axis is not None and unknown[0] not in axis):
        return None
    (along,) = unknown
    pad = full(tuple(1 if a == along else d for a, d in enumerate(shape)), value, node.type.dtype)
    return as_node(call("concatenate", ([wrap(node), pad],), {"axis": along}))


def _empty_reduction(node: Node, attrs: Mapping[str, Any]) -> tuple[int, ...] | None:
    """The result's shape where a reduced axis is known to be empty (and the result's
    size is known), else None."""
    shape, axis = node.type.shape, attrs.get("axis")
    axes = range(len(shape)) if axis is None else axis
    if not any(shape[a] == 0 for a in axes):
        return None
    kept = attrs.get("keepdims", False)
    result = [1 if a in axes else d for a, d in enumerate(shape) if kept or a not in axes]
    return None if None in result else tuple(int(d) for d in result)  # type: ignore[arg-type]


def where(condition: Any, x: Any = None, y: Any = None) -> Any:
    """``where(condition, x, y)``; with the condition alone (numpy's ``nonzero``) it is
    ``lazyarray.composites.sorting.where``, which builds several results."""
    if x is None or y is None:
        raise at_user_line(OpValueError("either both or neither of x and y should be given"))
    return elementwise("where", condition, x, y)


def clip(
    x: Any,
    a_min: Any = None,
    a_max: Any = None,
    out: Any = None,
    *,
    min: Any = None,  # noqa: A002 - numpy 2's and the standard's names
    max: Any = None,  # noqa: A002
) -> Any:
    """``clip(x, min, max)``; either bound may be missing (both: ``x`` itself)."""
    no_out(out, ())
    if (a_min is not None and min is not None) or (a_max is not None and max is not None):
        raise OpValueError("Passed more than one argument for each bound: use min= or a_min=")
    a_min = a_min if a_min is not None else min
    a_max = a_max if a_max is not None else max
    if a_min is None and a_max is None:
        return wrap(as_node(x))
    bounds = [b for b in (a_min, a_max) if b is not None]
    which = ("min" if a_min is not None else "") + ("max" if a_max is not None else "")
    return elementwise("clip", x, *bounds, which=which)


def round_(x: Any, decimals: int = 0, out: Any = None) -> Any:
    no_out(out, ())
    return elementwise("round", x, decimals=integer(decimals))


# --- shape ------------------------------------------------------------------------------


def reshape(x: Any, *shape: Any, order: str = "C", copy: bool | None = None) -> Any:
    """``x.reshape((2, 3))`` or, as ndarray's method also takes it, ``x.reshape(2, 3)``."""
    keywords = {} if order == "C" and copy is None else {"order": order, "copy": copy}
    return call("reshape", (x, shape[0] if len(shape) == 1 else shape), keywords, numpy=True)


def transpose(x: Any, *axes: Any) -> Any:
    """``x.transpose((1, 0))`` or ``x.transpose(1, 0)``; no axes: reversed."""
    if not axes or axes == (None,):
        return call("transpose", (x,), {})
    if len(axes) == 1 and not isinstance(axes[0], (int, np.integer)):
        axes = tuple(axes[0])
    return call("transpose", (x, axes), {})


# --- linear algebra ------------------------------------------------------------------


def einsum(subscripts: str, *operands: Any) -> Any:
    nodes = tuple(as_node(a) for a in operands)
    _check_masked_support("einsum", nodes)
    return wrap(apply("einsum", nodes, subscripts=subscripts))


def _check_masked_support(name: str, nodes: Sequence[Node]) -> None:
    if any(n.type.masked for n in nodes) and OPS[name].masked_impl is None:
        raise UnsupportedOperation(
            f"{name} is not defined for masked arrays (numpy.ma has no masked {name}); "
            "use .filled() first"
        )


# --- creation --------------------------------------------------------------------------


def full(shape: Any, fill_value: Any, dtype: Any = None) -> Any:
    dtype = np.asarray(fill_value).dtype if dtype is None else as_dtype(dtype)
    check_python_int_fits(fill_value, dtype)
    value = fill_value.item() if isinstance(fill_value, np.generic) else fill_value
    return wrap(apply("full", (), shape=normalize_shape(shape), fill_value=value, dtype=dtype))


def full_like(x: Any, fill_value: Any, dtype: Any = None) -> Any:
    node = as_node(x)
    dtype = node.type.dtype if dtype is None else as_dtype(dtype)
    if None in node.type.shape:
        return wrap(apply("full_like", (node,), fill_value=fill_value, dtype=dtype))
    return full(node.type.shape, fill_value, dtype)


def arange(start: Any, stop: Any = None, step: Any = None, dtype: Any = None) -> Any:
    if stop is None:
        start, stop = 0, start
    step = 1 if step is None else step
    values = (start, stop, step)
    dtype = np.result_type(*(np.asarray(v) for v in values)) if dtype is None else as_dtype(dtype)
    return wrap(apply("arange", (), start=start, stop=stop, step=step, dtype=dtype))


def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, dtype: Any = None) -> Any:
    dtype = result_type(type(start), type(stop), float) if dtype is None else as_dtype(dtype)
    return wrap(
        apply(
            "linspace",
            (),
            start=start,
            stop=stop,
            num=integer(num),
            endpoint=bool(endpoint),
            dtype=dtype,
        )
    )


def eye(n: int, m: int | None = None, k: int = 0, dtype: Any = float) -> Any:
    return wrap(
        apply(
            "eye",
            (),
            n=integer(n),
            m=integer(n if m is None else m),
            k=integer(k),
            dtype=as_dtype(dtype),
        )
    )


# --- masked ----------------------------------------------------------------------------


def masked_array(data: Any, mask: Any = False, fill_value: Any = None) -> Any:
    data_node = as_node(data)
    mask_node = as_node(np.bool_(mask) if isinstance(mask, bool) else mask)
    if mask_node.type.dtype.kind != "b":
        mask_node = apply("astype", (mask_node,), dtype=np.dtype(bool), casting="unsafe")
    value = fill_value.item() if isinstance(fill_value, np.generic) else fill_value
    return wrap(apply("masked_array", (data_node, mask_node), fill_value=value))


def masked_where(condition: Any, a: Any) -> Any:
    node = as_node(a)
    mask = as_node(condition)
    if node.type.masked:
        mask = apply("logical_or", (mask, apply("getmaskarray", (node,))))
    shape = broadcast_shapes(node.type.shape, mask.type.shape)
    if shape != node.type.shape:
        raise ShapeError(f"condition of shape {mask.type.shape} does not fit {node.type.shape}")
    return masked_array(
        wrap(apply("getdata", (node,))) if node.type.masked else wrap(node), wrap(mask)
    )


def masked_invalid(a: Any) -> Any:
    node = as_node(a)
    return masked_where(wrap(apply("logical_not", (apply("isfinite", (node,)),))), wrap(node))


def unary(name: str, x: Any, **attrs: Any) -> Any:
    return wrap(apply(name, (as_node(x),), **attrs))


# --- one function per generated op, shared by methods and module functions ----------


def reducer(name: str) -> Callable[..., Any]:
    """Reduction ``name`` in numpy's arguments (module function, method, NEP 18)."""

    signature = OPS[name].numpy_arguments
    assert signature is not None

    def function(*args: Any, **kwargs: Any) -> Any:
        site = creation_site()
        try:
            inputs, key = _call_key(signature, args, kwargs)
            bound = signature.recall(key) if key is not None else None
            if inputs is None or bound is None:
                values, raw = signature.bind(name, args, kwargs)
                if raw.get("where", True) is True and raw.get("initial") is None:
                    inputs = (as_node(values[0], site),)
                    bound = Bound.of(signature.attributes(name, raw, inputs))
                    if key is not None:
                        signature.remember(key, bound)
        except LazyArrayError as exc:
            raise at_user_line(exc) from exc.__cause__
        if inputs is None or bound is None:  # where= or initial=: another expression
            return reduce(name, values[0], **raw)
        return wrap(apply_bound(site, name, inputs, bound))

    function.__name__ = name
    function.__doc__ = f"``{name}`` over ``axis`` (an int, a tuple, or None for all)."
    function.__signature__ = signature.python_signature()  # type: ignore[attr-defined]
    return function
