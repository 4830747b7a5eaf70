"""Elementwise ops: one row per ufunc, typed by asking the ufunc itself.

On masked arrays the ufunc itself runs: numpy.ma propagates masks and masks domain
errors (division by zero, log of negatives) through it, and unlike the ``np.ma.add``
family it keeps NEP 50's weak promotion of Python scalars.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from lazyarray.errors import CastError
from lazyarray.graph import Node
from lazyarray.ops.attrtypes import DTYPE, INT, Str
from lazyarray.ops.meta import probe_dtype, typed_once
from lazyarray.ops.registry import Infer, Kind, OpDef, Trait, register
from lazyarray.types import (
    ArrayType,
    as_dtype,
    broadcast_shapes,
    check_python_int_fits,
    new_type,
)

_COMMUTATIVE = frozenset({Trait.COMMUTATIVE, Trait.PRESERVES_SHAPE})
_ASSOCIATIVE = frozenset({Trait.COMMUTATIVE, Trait.ASSOCIATIVE, Trait.PRESERVES_SHAPE})
_PLAIN = frozenset({Trait.PRESERVES_SHAPE})
_MASKING = _PLAIN | {Trait.MASKS_INVALID}
_INVOLUTION = _MASKING | {Trait.INVOLUTION}
_IDEMPOTENT = _PLAIN | {Trait.IDEMPOTENT}
_COMPARISONS = {"equal", "not_equal", "less", "less_equal", "greater", "greater_equal"}

_CLIP_UFUNC: np.ufunc = np._core.umath.clip  # type: ignore[attr-defined]


def _result(inputs: tuple[Node, ...], dtype: np.dtype[Any]) -> ArrayType:
    if len(inputs) == 1:
        only = inputs[0].type
        return new_type(dtype, only.shape, only.masked)
    if len(inputs) == 2:
        left, right = inputs[0].type, inputs[1].type
        return new_type(
            dtype, broadcast_shapes(left.shape, right.shape), left.masked or right.masked
        )
    types = [n.type for n in inputs]
    shape = broadcast_shapes(*[t.shape for t in types])
    return new_type(dtype, shape, any([t.masked for t in types]))


def ufunc_rule(ufunc: np.ufunc, check_int_range: bool = True) -> Infer:
    """Type rule of a ufunc: ``ufunc.resolve_dtypes`` with weak Python scalars, cached
    by the inputs' types (one result type object for each)."""
    loops: dict[tuple[Any, ...], tuple[np.dtype[Any], ...]] = {}
    # input types -> (result type, the inputs that are Python ints which must fit the
    # loop's integer dtype, with that dtype)
    typed: dict[tuple[ArrayType, ...], tuple[ArrayType, tuple[tuple[int, np.dtype[Any]], ...]]] = {}

    def resolve(
        inputs: tuple[Node, ...],
    ) -> tuple[ArrayType, tuple[tuple[int, np.dtype[Any]], ...]]:
        keys = tuple([n.type.promotion_key for n in inputs])
        loop = loops.get(keys)
        if loop is None:
            try:
                loop = ufunc.resolve_dtypes(keys + (None,) * ufunc.nout)
            except TypeError as exc:
                raise CastError(str(exc)) from None
            loops[keys] = loop
        fits = tuple(
            [
                (i, dtype)
                for i, (key, dtype) in enumerate(zip(keys, loop, strict=False))
                if check_int_range and key is int and dtype.kind in "iu"
            ]
        )
        return _result(inputs, loop[-1]), fits

    def infer(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
        if len(inputs) == 2:
            types: tuple[ArrayType, ...] = (inputs[0].type, inputs[1].type)
        else:
            types = tuple([n.type for n in inputs])
        found = typed.get(types)
        if found is None:
            found = resolve(inputs)
            if len(typed) >= _TYPED_ENTRIES:
                typed.clear()
            typed[types] = found
        result, fits = found
        for i, dtype in fits:  # numpy refuses a Python int out of the loop dtype's range
            check_python_int_fits(inputs[i].attr("value"), dtype)
        return result

    return infer


_TYPED_ENTRIES = 1024  # per ufunc: distinct (dtype, shape) combinations are few


def probe_rule(impl: Callable[..., Any]) -> Infer:
    """Type rule for non-ufunc elementwise functions: numpy's answer on tiny arrays."""

    def infer(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
        return _result(inputs, probe_dtype(impl, [n.type for n in inputs], attrs))

    return infer


def _ufunc_row(
    name: str,
    ufunc: np.ufunc,
    array_api: str | None = None,
    dunders: tuple[str, ...] = (),
    traits: frozenset[Trait] = _PLAIN,
    aliases: tuple[str, ...] = (),
    masked: tuple[Callable[..., Any], Infer] | None = None,
) -> OpDef:
    """A ufunc's row; ``masked``: numpy.ma's own function for it and that function's
    type rule, where numpy.ma's operator is not the ufunc (``power``)."""
    infer = ufunc_rule(ufunc, check_int_range=name not in _COMPARISONS)
    # numpy.ma applies masks and domains through ufuncs, but for its own functions
    masked_impl: Callable[..., Any] = ufunc if masked is None else masked[0]
    loops = [loop for loop in ufunc.types if "O" not in loop]
    if masked is None:
        booled = bool(loops) and all(loop.endswith("?") for loop in loops)
        masked_impl = masked_ufunc(ufunc, booled)
    if masked is not None:
        infer = _masked_or(infer, masked[1])
    return OpDef(
        name=name,
        kind=Kind.ELEMENTWISE,
        impl=ufunc,
        infer=infer,
        masked_impl=masked_impl,
        array_api_name=array_api,
        aliases=aliases,
        dunders=dunders,
        numpy_functions=(ufunc,),
        traits=traits,
        arity=ufunc.nin,
    )


def bool_fill(fill: Any) -> Any:
    """A bool result's fill value, as numpy.ma's comparison operators make it: the
    operand's cast to bool, else bool's default; unset stays unset (what follows then
    takes its own dtype's default, as in numpy.ma)."""
    if fill is None:
        return None
    try:
        return np.ma.core._check_fill_value(fill, np.bool_)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        return np.ma.core._check_fill_value(None, np.bool_)  # type: ignore[attr-defined]


# numpy.ma's own functions of ufuncs, which run them with divide and invalid ignored
_MA_OPERATIONS = tuple(
    getattr(np.ma.core, name)
    for name in ("_MaskedUnaryOperation", "_MaskedBinaryOperation", "_DomainedBinaryOperation")
)


def masked_ufunc(ufunc: np.ufunc, booled: bool) -> Callable[..., Any]:
    """``ufunc`` on masked arrays as numpy.ma's function of it runs: with division by
    zero and invalid values ignored (numpy.ma masks them; overflow follows the caller's
    errstate), where numpy.ma has such a function; ``booled``: with a bool fill value, as
    numpy.ma's comparison operators give (``m > 0`` fills with ``bool(m.fill_value)``;
    the ufunc keeps a fill of another dtype, which ``filled`` then makes an object array
    of). ``quiet`` and ``booled`` say which (the unmask stage asks)."""
    quiet = isinstance(getattr(np.ma, ufunc.__name__, None), _MA_OPERATIONS)
    if not (quiet or booled):
        return ufunc

    @functools.wraps(ufunc)
    def call(*inputs: Any, **kwargs: Any) -> Any:
        if quiet:
            with np.errstate(divide="ignore", invalid="ignore"):
                result = ufunc(*inputs, **kwargs)
        else:
            result = ufunc(*inputs, **kwargs)
        if booled and isinstance(result, np.ma.MaskedArray):
            result._fill_value = bool_fill(result._fill_value)  # type: ignore[attr-defined]
        return result

    call.quiet, call.booled = quiet, booled  # type: ignore[attr-defined]
    return call


def _masked_or(plain: Infer, masked: Infer) -> Infer:
    def infer(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
        if any([node.type.masked for node in inputs]):
            return masked(inputs, attrs)
        return plain(inputs, attrs)

    return infer


def _masked_power_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    """``numpy.ma.power`` reads its operands' data as arrays, so a Python scalar is a
    default-typed array there: a float32 masked array to the power 2.0 is float64."""
    strong = tuple([np.dtype(n.type.weak) if n.type.weak else n.type.dtype for n in inputs])
    try:
        loop = np.power.resolve_dtypes((*strong, None))
    except TypeError as exc:
        raise CastError(str(exc)) from None
    return _result(inputs, loop[-1])


def _binary_dunders(stem: str) -> tuple[str, ...]:
    return (f"__{stem}__", f"__r{stem}__", f"__i{stem}__")


# name, ufunc, array-API name, Python operators
UNARY = [
    _ufunc_row("absolute", np.absolute, "abs", ("__abs__",), _MASKING | _IDEMPOTENT, ("abs",)),
    _ufunc_row("negative", np.negative, "negative", ("__neg__",), _INVOLUTION),
    _ufunc_row("positive", np.positive, "positive", ("__pos__",)),
    _ufunc_row("invert", np.invert, "bitwise_invert", ("__invert__",), _INVOLUTION),
    _ufunc_row("logical_not", np.logical_not, "logical_not", traits=_INVOLUTION),
    _ufunc_row("sqrt", np.sqrt, "sqrt"),
    _ufunc_row("cbrt", np.cbrt),
    _ufunc_row("square", np.square, "square"),
    _ufunc_row("reciprocal", np.reciprocal),
    _ufunc_row("exp", np.exp, "exp"),
    _ufunc_row("exp2", np.exp2),
    _ufunc_row("expm1", np.expm1, "expm1"),
    _ufunc_row("log", np.log, "log"),
    _ufunc_row("log1p", np.log1p, "log1p"),
    _ufunc_row("log2", np.log2, "log2"),
    _ufunc_row("log10", np.log10, "log10"),
    _ufunc_row("sin", np.sin, "sin"),
    _ufunc_row("cos", np.cos, "cos"),
    _ufunc_row("tan", np.tan, "tan"),
    _ufunc_row("arcsin", np.arcsin, "asin"),
    _ufunc_row("arccos", np.arccos, "acos"),
    _ufunc_row("arctan", np.arctan, "atan"),
    _ufunc_row("sinh", np.sinh, "sinh"),
    _ufunc_row("cosh", np.cosh, "cosh"),
    _ufunc_row("tanh", np.tanh, "tanh"),
    _ufunc_row("arcsinh", np.arcsinh, "asinh"),
    _ufunc_row("arccosh", np.arccosh, "acosh"),
    _ufunc_row("arctanh", np.arctanh, "atanh"),
    _ufunc_row("deg2rad", np.deg2rad, aliases=("radians",)),
    _ufunc_row("rad2deg", np.rad2deg, aliases=("degrees",)),
    _ufunc_row("floor", np.floor, "floor", traits=_IDEMPOTENT),
    _ufunc_row("ceil", np.ceil, "ceil", traits=_IDEMPOTENT),
    _ufunc_row("trunc", np.trunc, "trunc", traits=_IDEMPOTENT),
    _ufunc_row("rint", np.rint, traits=_IDEMPOTENT),
    _ufunc_row("sign", np.sign, "sign"),
    _ufunc_row("signbit", np.signbit, "signbit"),
    _ufunc_row("isfinite", np.isfinite, "isfinite"),
    _ufunc_row("isinf", np.isinf, "isinf"),
    _ufunc_row("isnan", np.isnan, "isnan"),
    _ufunc_row(
        "conjugate", np.conjugate, "conj", traits=_PLAIN | {Trait.INVOLUTION}, aliases=("conj",)
    ),
    _ufunc_row("fabs", np.fabs, traits=_IDEMPOTENT),
    _ufunc_row("spacing", np.spacing),
]

BINARY = [
    _ufunc_row("add", np.add, "add", _binary_dunders("add"), _ASSOCIATIVE | _MASKING),
    _ufunc_row("subtract", np.subtract, "subtract", _binary_dunders("sub"), _MASKING),
    _ufunc_row(
        "multiply", np.multiply, "multiply", _binary_dunders("mul"), _ASSOCIATIVE | _MASKING
    ),
    _ufunc_row(
        "divide", np.divide, "divide", _binary_dunders("truediv"), _MASKING, ("true_divide",)
    ),
    _ufunc_row(
        "floor_divide", np.floor_divide, "floor_divide", _binary_dunders("floordiv"), _MASKING
    ),
    _ufunc_row("remainder", np.remainder, "remainder", _binary_dunders("mod"), aliases=("mod",)),
    _ufunc_row(
        "power",
        np.power,
        "pow",
        _binary_dunders("pow"),
        _MASKING,
        # numpy.ma's operator masks what is not finite (``-1 ** 0.5``, an overflow)
        masked=(np.ma.power, _masked_power_rule),
    ),
    _ufunc_row("fmod", np.fmod),
    _ufunc_row("arctan2", np.arctan2, "atan2"),
    _ufunc_row("hypot", np.hypot, "hypot", traits=_COMMUTATIVE),
    _ufunc_row("copysign", np.copysign, "copysign"),
    _ufunc_row("nextafter", np.nextafter, "nextafter"),
    _ufunc_row("logaddexp", np.logaddexp, "logaddexp", traits=_COMMUTATIVE),
    _ufunc_row("logaddexp2", np.logaddexp2, traits=_COMMUTATIVE),
    _ufunc_row("maximum", np.maximum, "maximum", traits=_ASSOCIATIVE),
    _ufunc_row("minimum", np.minimum, "minimum", traits=_ASSOCIATIVE),
    _ufunc_row("fmax", np.fmax, traits=_ASSOCIATIVE),
    _ufunc_row("fmin", np.fmin, traits=_ASSOCIATIVE),
    _ufunc_row("gcd", np.gcd, traits=_ASSOCIATIVE),
    _ufunc_row("lcm", np.lcm, traits=_ASSOCIATIVE),
    _ufunc_row("bitwise_and", np.bitwise_and, "bitwise_and", _binary_dunders("and"), _ASSOCIATIVE),
    _ufunc_row("bitwise_or", np.bitwise_or, "bitwise_or", _binary_dunders("or"), _ASSOCIATIVE),
    _ufunc_row("bitwise_xor", np.bitwise_xor, "bitwise_xor", _binary_dunders("xor"), _ASSOCIATIVE),
    _ufunc_row("left_shift", np.left_shift, "bitwise_left_shift", _binary_dunders("lshift")),
    _ufunc_row("right_shift", np.right_shift, "bitwise_right_shift", _binary_dunders("rshift")),
    _ufunc_row("logical_and", np.logical_and, "logical_and", traits=_ASSOCIATIVE),
    _ufunc_row("logical_or", np.logical_or, "logical_or", traits=_ASSOCIATIVE),
    _ufunc_row("logical_xor", np.logical_xor, "logical_xor", traits=_ASSOCIATIVE),
    _ufunc_row("equal", np.equal, "equal", ("__eq__",), _COMMUTATIVE),
    _ufunc_row("not_equal", np.not_equal, "not_equal", ("__ne__",), _COMMUTATIVE),
    _ufunc_row("less", np.less, "less", ("__lt__",)),
    _ufunc_row("less_equal", np.less_equal, "less_equal", ("__le__",)),
    _ufunc_row("greater", np.greater, "greater", ("__gt__",)),
    _ufunc_row("greater_equal", np.greater_equal, "greater_equal", ("__ge__",)),
]


def _where(condition: Any, x: Any, y: Any) -> Any:
    return np.where(condition, x, y)


def weak_value(node: Node) -> Any:
    """The Python scalar a weak constant holds (``x + 1``'s ``1``), else None."""
    if node.type.weak is None or node.op != "constant":
        return None
    return node.attr("value")


def where_operand_dtype(node: Node) -> Any:
    """What ``np.ma.where`` promotes an operand as: it reads operands as arrays
    (``getdata``), so a Python scalar is the dtype numpy gives its array, strongly."""
    value = weak_value(node)
    return node.type.dtype if value is None else np.asarray(value).dtype


def _where_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    _, x, y = inputs
    from lazyarray.types import result_type

    if any([node.type.masked for node in inputs]):  # numpy.ma.where runs
        dtype = np.result_type(where_operand_dtype(x), where_operand_dtype(y))
        return _result(inputs, dtype)
    dtype = result_type(x.type.promotion_key, y.type.promotion_key)
    for node in (x, y):
        if node.type.weak is int:
            check_python_int_fits(node.attr("value"), dtype)
    return _result(inputs, dtype)


def _clip(x: Any, *bounds: Any, which: str) -> Any:
    given = iter(bounds)
    low = next(given) if "min" in which else None
    high = next(given) if "max" in which else None
    return np.clip(x, low, high)


def _masked_clip(x: Any, *bounds: Any, which: str) -> Any:
    given = iter(bounds)
    low = next(given) if "min" in which else None
    high = next(given) if "max" in which else None
    return np.ma.clip(x, low, high)


_clip_ufunc_rule = ufunc_rule(_CLIP_UFUNC, check_int_range=False)
_clip_probe_rule = probe_rule(_clip)


def _clip_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    """The clip ufunc's promotion (one bound: numpy's clip on stand-ins). A Python int
    bound must fit the result dtype, unless it lies beyond an integer ``x``'s range on
    its own side (``min <= iinfo.min``, ``max >= iinfo.max``): numpy's clip drops such a
    bound (NEP 50 without overflow), and so does ``_clip``, which calls it."""
    x, *bounds = inputs
    rule = _clip_ufunc_rule if len(inputs) == 3 else _clip_probe_rule
    result = rule(inputs, attrs)
    sides = [side for side in ("min", "max") if side in attrs["which"]]
    for side, bound in zip(sides, bounds, strict=True):
        if bound.type.weak is int and not _beyond(x.type.dtype, side, bound.attr("value")):
            check_python_int_fits(bound.attr("value"), result.dtype)
    return result


def _beyond(dtype: np.dtype[Any], side: str, value: int) -> bool:
    """Whether a Python int bound of ``side`` clips nothing of an integer ``dtype``."""
    if dtype.kind not in "iu":
        return False
    info = np.iinfo(dtype)
    return value <= info.min if side == "min" else value >= info.max


def _round(x: Any, decimals: int = 0) -> Any:
    return np.round(x, decimals)


def _astype(x: Any, dtype: np.dtype[Any], casting: str = "unsafe") -> Any:
    return np.asanyarray(x).astype(dtype, casting=casting)  # Python scalars too


def _astype_type(x: Node, attrs: Mapping[str, Any]) -> ArrayType:
    dtype = as_dtype(attrs["dtype"])
    casting = attrs.get("casting", "unsafe")
    if not np.can_cast(x.type.dtype, dtype, casting=casting):
        raise CastError(
            f"Cannot cast array data from {x.type.dtype!r} to {dtype!r} "
            f"according to the rule {casting!r}"
        )
    return x.type.with_(dtype=dtype, weak=None)


_astype_rule = typed_once(_astype_type)

OTHER = [
    OpDef(
        "where",
        Kind.ELEMENTWISE,
        _where,
        _where_rule,
        np.ma.where,
        "where",
        numpy_functions=(np.where,),
        arity=3,
        traits=_MASKING,
    ),
    OpDef(
        "clip",
        Kind.ELEMENTWISE,
        _clip,
        _clip_rule,
        _masked_clip,
        "clip",
        numpy_functions=(np.clip,),
        traits=_PLAIN,
        attributes={"which": Str("min", "max", "minmax")},
    ),
    OpDef(
        "round",
        Kind.ELEMENTWISE,
        _round,
        probe_rule(_round),
        np.ma.round,
        "round",
        aliases=("around",),
        numpy_functions=(np.round, np.around),
        arity=1,
        traits=_PLAIN,
        attributes={"decimals": INT},
    ),
    OpDef(
        "real",
        Kind.ELEMENTWISE,
        np.real,
        probe_rule(np.real),
        np.real,
        "real",
        numpy_functions=(np.real,),
        arity=1,
        traits=_PLAIN,
    ),
    OpDef(
        "imag",
        Kind.ELEMENTWISE,
        np.imag,
        probe_rule(np.imag),
        np.imag,
        "imag",
        numpy_functions=(np.imag,),
        arity=1,
        traits=_PLAIN,
    ),
    OpDef(
        "astype",
        Kind.ELEMENTWISE,
        _astype,
        _astype_rule,
        _astype,
        "astype",
        arity=1,
        traits=_PLAIN,
        attributes={"dtype": DTYPE, "casting": Str("no", "equiv", "safe", "same_kind", "unsafe")},
    ),
]

register(*UNARY, *BINARY, *OTHER)
