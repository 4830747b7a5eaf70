"""Sources of data: literals, parameters, creation functions and seeded random arrays
(drawn by the counter-based engine in ``ops/rng.py``)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from lazyarray.errors import (
    ArgumentError,
    CastError,
    LazyArrayError,
    ShapeError,
    ZeroStepError,
)
from lazyarray.graph import Literal, Node, Site, existing, float_bits
from lazyarray.ops.attrtypes import (
    BOOL,
    DTYPE,
    INDEX,
    INT,
    LITERAL,
    NUMBER,
    SHAPE,
    SIZE,
    STR,
    Int,
    Str,
    TupleOf,
)
from lazyarray.ops.indexing import EncodedIndex, decode_index
from lazyarray.ops.registry import Kind, OpDef, Trait, apply, at_user_line, register
from lazyarray.ops.rng import DISTRIBUTIONS, random_region, random_values
from lazyarray.types import (
    MAX_INTP,
    WEAK_PYTHON_TYPES,
    ArrayType,
    Shape,
    as_dtype,
    as_size,
    check_supported_dtype,
    new_type,
    normalize_shape,
)


def constant_node(value: Any, site: Site | None = None) -> Node:
    """The constant node of an ndarray (wrapped, never copied or read) or a scalar;
    ``site``: the user's line, when the caller read it (else it is found here)."""
    if isinstance(value, np.ndarray):  # ``apply("constant", value=...)``, inline
        literal = Literal.of(value)
        try:
            return Node.make(
                "constant", (), (("value", literal),), lambda: _array_type(value), site
            )
        except LazyArrayError as exc:
            raise at_user_line(exc) from exc.__cause__
    if type(value) in _SCALAR_TYPES:
        return scalar_node(value, site)
    if isinstance(value, np.generic) and value.dtype.kind not in "biufcmM":
        raise CastError(f"unsupported literal {value!r} of dtype {value.dtype}")
    token = _generic_token(value)
    found = existing("constant", (), (("token", token), ("value", value)))
    return found if found is not None else apply("constant", (), value=value, token=token)


def scalar_node(value: bool | int | float | complex, site: Site | None = None) -> Node:
    """``constant_node`` of a Python scalar (the hot path: the scalars of expressions,
    ``2 * x``), found or made in one look-up of its token."""
    kind = type(value)
    # ``_token``'s table first: it holds only scalars told apart by (type, value)
    token = _TOKENS.get((kind, value)) or _token(kind, value)
    return Node.make(
        "constant", (), (("token", token), ("value", value)), _SCALAR_RULES[kind], site
    )


def _token(kind: type, value: Any) -> str:
    """``f"{type(value).__name__}:{value!r}"``, remembered for the scalars whose
    ``(type, value)`` tells them apart (not 0.0 from -0.0, nor nan from nan); a NaN is
    spelled by its bits (its sign and payload). The token alone identifies a scalar
    constant (``graph._key``)."""
    if (kind is float and (not value or value != value)) or kind is complex:
        if value != value:
            parts = (value.real, value.imag) if kind is complex else (value,)
            return f"{kind.__name__}:nan:{':'.join([float_bits(p) for p in parts])}"
        return f"{kind.__name__}:{value!r}"
    token = _TOKENS.get((kind, value))
    if token is None:
        token = f"{kind.__name__}:{value!r}"
        if len(_TOKENS) >= 4096:
            _TOKENS.clear()
        _TOKENS[(kind, value)] = token
    return token


_TOKENS: dict[tuple[type, Any], str] = {}


def _constant_problem(attrs: Mapping[str, Any]) -> str | None:
    """A scalar constant's token must be its value's (the token is its interning key)."""
    if "token" not in attrs:
        return None if isinstance(attrs.get("value"), Literal) else "a scalar needs its token"
    value = attrs.get("value")
    kind = type(value)
    expected = _token(kind, value) if kind in _SCALAR_TYPES else _generic_token(value)
    return None if attrs["token"] == expected else f"token {attrs['token']!r} is not its value's"


def _generic_token(value: Any) -> str:
    # the token tells 1 from 1.0 from True, and 0.0 from -0.0, which compare equal; a
    # numpy scalar's by its dtype (a datetime's unit) and bits (its repr changes with
    # numpy's version, and hides the sign of a NaN)
    if isinstance(value, np.generic):
        return f"{type(value).__name__}:{value.dtype.str}:{value.tobytes().hex()}"
    return f"{type(value).__name__}:{value!r}"


def _constant(*, value: Any, token: str = "") -> Any:
    return value.value if isinstance(value, Literal) else value


def _constant_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    value = attrs["value"]
    if isinstance(value, Literal):
        return _array_type(value.value)
    python_type = type(value)
    if python_type in _SCALAR_TYPES:
        return _SCALAR_TYPES[python_type]
    return ArrayType(check_supported_dtype(np.asarray(value).dtype), ())


def _array_type(array: np.ndarray[Any, Any]) -> ArrayType:
    dtype = array.dtype
    if type(array) is np.ndarray and dtype.kind in "biufcmM":  # ``check_supported_dtype``'s
        return new_type(dtype, array.shape)
    masked = isinstance(array, np.ma.MaskedArray)
    return new_type(check_supported_dtype(dtype), array.shape, masked)


# numpy promotes Python bools as np.bool_, the lowest kind; other Python scalars stay
# weak (NEP 50)
_SCALAR_TYPES: dict[type, ArrayType] = {
    python_type: ArrayType(dtype, (), weak=None if python_type is bool else python_type)
    for python_type, dtype in WEAK_PYTHON_TYPES.items()
}


def _returning(type_: ArrayType) -> Callable[[], ArrayType]:
    return lambda: type_


# each one's type rule for ``Node.make``, made once
_SCALAR_RULES = {python_type: _returning(found) for python_type, found in _SCALAR_TYPES.items()}


def _parameter(*, name: str, **_: Any) -> Any:
    raise ArgumentError(f"parameter {name!r} has no value; pass it to compute({name}=...)")


def _parameter_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    return ArrayType(attrs["dtype"], attrs["shape"], attrs.get("masked", False))


# --- generated sources --------------------------------------------------------------
# Each takes ``region`` (an encoded basic index of slices and integers, one per
# dimension) and returns exactly ``whole[region]``, bit for bit, computing only the
# selected elements: numpy's own formulas, evaluated at the selected positions.

Item = int | range  # an integer, or the positions a slice selects


def region_items(region: EncodedIndex, shape: Sequence[int | None]) -> list[Item]:
    """The region as one item per dimension: integers (from the start), and slices as
    ranges."""
    return [
        range(*item.indices(size or 0)) if isinstance(item, slice) else range(size or 0)[item]
        for item, size in zip(decode_index(region), shape, strict=True)
    ]


def _region_shape(shape: Shape, attrs: Mapping[str, Any]) -> Shape:
    """The shape of a generated source: its region's, when it has one."""
    region = attrs.get("region")
    if region is None:
        return shape
    return tuple(len(item) for item in region_items(region, shape) if isinstance(item, range))


def _positions(item: Item) -> np.ndarray[Any, Any]:
    if isinstance(item, int):
        return np.array([item], dtype=np.int64)
    return np.arange(item.start, item.stop, item.step, dtype=np.int64)


def _fits(dtype: np.dtype[Any], first: Any, delta: Any, positions: range) -> bool:
    """Whether ``first + i * delta`` stays in ``dtype`` for every position (no wrap)."""
    if not len(positions) or int(delta) == 0:
        return False
    info = np.iinfo(dtype)
    ends = [int(first) + p * int(delta) for p in (positions[0], positions[-1])]
    return all(info.min <= end <= info.max for end in ends)


def _indices(positions: range, dtype: np.dtype[Any]) -> np.ndarray[Any, Any]:
    """``positions`` as values of ``dtype``: exact where the dtype holds them (float32
    past 2**24 rounds them, as numpy's own ``i * delta`` does in float32)."""
    if dtype.kind == "f" and len(positions) and max(positions[0], positions[-1]) > 2**24:
        return np.arange(positions.start, positions.stop, positions.step).astype(dtype)
    return np.arange(positions.start, positions.stop, positions.step, dtype=dtype)


def _full(
    *, shape: tuple[int, ...], fill_value: Any, dtype: np.dtype[Any], region: Any = None
) -> Any:
    return np.full(_region_shape(shape, {"region": region}), fill_value, dtype=dtype)


def _full_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    dtype = check_supported_dtype(as_dtype(attrs["dtype"]))
    np.array(attrs["fill_value"]).astype(dtype)  # numpy's error for an unusable fill value
    return ArrayType(dtype, _region_shape(normalize_shape(attrs["shape"], dtype.itemsize), attrs))


def _full_like(x: Any, *, fill_value: Any, dtype: np.dtype[Any]) -> Any:
    return np.full(np.shape(x), fill_value, dtype=dtype)


def _full_like_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    (x,) = inputs
    return ArrayType(as_dtype(attrs["dtype"]), x.type.shape)


def arange_length(start: Any, stop: Any, step: Any) -> int:
    """numpy's length of ``arange(start, stop, step)``: ``ceil((stop - start) / step)``
    in Python arithmetic, with its errors."""
    delta = stop - start
    try:
        value = delta / step
    except ZeroDivisionError as error:  # Python's words, as numpy divides the same way
        raise ZeroStepError(str(error)) from None
    if value == 0 and delta != 0:  # underflow, or division by inf
        return 0 if math.copysign(1.0, value.real) < 0 else 1
    parts = (value.real, value.imag) if isinstance(value, complex) else (value,)
    lengths = []
    for part in parts:
        if math.isnan(part):
            raise ShapeError("arange: cannot compute length")
        if not math.isfinite(part) or not -MAX_INTP - 1 <= math.ceil(part) <= MAX_INTP:
            raise ShapeError("Maximum allowed size exceeded")
        lengths.append(math.ceil(part))
    return max(0, min(lengths))


def arange_values(start: Any, stop: Any, step: Any, dtype: np.dtype[Any], item: Item) -> Any:
    """``np.arange(start, ..., step, dtype=dtype)[item]``, by numpy's formula: the first
    two values are ``start`` and ``start + step`` (in Python arithmetic) cast to the
    dtype, element ``i`` of the rest ``first + i * (second - first)`` in the dtype's
    arithmetic (float16 in float32, integers wrapping)."""
    positions = range(item, item + 1) if isinstance(item, int) else item
    head = np.zeros(2, dtype)
    head[0] = start
    if len(positions) and max(positions[0], positions[-1]) >= 1:  # as numpy: only then
        head[1] = start + step
    kind = dtype.kind
    if kind in "iufc":
        compute = {"i": np.dtype(np.int64), "u": np.dtype(np.uint64)}.get(
            kind, np.dtype(np.float32) if dtype == np.float16 else dtype
        )
        first, second = head.astype(compute)
        with np.errstate(all="ignore"):
            delta = second - first
            if kind == "c":  # real and imaginary parts each as a float arange
                part = np.float32 if dtype == np.complex64 else np.float64
                index = _indices(positions, np.dtype(part))
                values = (first.real + index * delta.real) + 1j * (first.imag + index * delta.imag)
            elif kind in "iu" and _fits(compute, first, delta, positions):
                # exact integers: first + i*delta is itself an arange, made in one pass
                low, step_ = int(first) + positions.start * int(delta), positions.step * int(delta)
                values = np.arange(low, low + len(positions) * step_, step_, dtype=compute)
            else:  # the positions are exact in the compute dtype up to its integer range
                values = _indices(positions, compute)
                values *= delta
                values += first
        values = values.astype(dtype, copy=False)
        for position in (0, 1):  # numpy writes the first two values as computed above
            if position in positions:
                values[positions.index(position)] = head[position]
    elif kind == "b" and len(positions) and max(positions[0], positions[-1]) < 2:
        values = head[_positions(item)]
    else:  # datetimes, and numpy's own errors: numpy's whole array, then the region
        values = np.arange(start, stop, step, dtype=dtype)[_positions(item)]
    return values.reshape(()) if isinstance(item, int) else values


def _arange(*, start: Any, stop: Any, step: Any, dtype: np.dtype[Any], region: Any = None) -> Any:
    if region is None:
        return np.arange(start, stop, step, dtype=dtype)
    (item,) = region_items(region, (arange_length(start, stop, step),))
    return arange_values(start, stop, step, dtype, item)


def _arange_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    dtype = check_supported_dtype(attrs["dtype"])
    length = arange_length(attrs["start"], attrs["stop"], attrs["step"])
    if dtype.kind == "b" and length > 2:
        raise CastError(
            "arange() is only supported for booleans when the result has at most length 2."
        )
    return ArrayType(dtype, _region_shape(normalize_shape((length,), dtype.itemsize), attrs))


def linspace_values(
    start: Any, stop: Any, num: int, endpoint: bool, dtype: np.dtype[Any], item: Item
) -> Any:
    """``np.linspace(start, stop, num, endpoint, dtype=dtype)[item]``, by numpy's steps:
    ``arange(0, num) * step + start`` in the inexact type of ``start`` and ``stop``
    (``/ div * delta`` when the step underflows), the endpoint set exactly, floored for
    integer dtypes."""
    inexact = np.linspace(start, stop, 0).dtype  # numpy's evaluation type
    if not any(isinstance(v, (np.generic, np.ndarray)) for v in (start, stop)):
        start, stop = np.asarray(start), np.asarray(stop)  # as numpy converts them
    div = (num - 1) if endpoint else num
    delta = np.subtract(stop, start, dtype=type(inexact))
    positions = _positions(item)
    y = arange_values(0, num, 1, inexact, item).reshape(-1)
    if div > 0:
        step = delta / div
        if step == 0:  # denormal steps, as numpy does
            y /= div
            y *= delta
        else:
            y *= step
    else:
        y = y * delta
    y += start
    if endpoint and num > 1:
        y[positions == num - 1] = stop
    if np.issubdtype(dtype, np.integer):
        np.floor(y, out=y)
    values = y.astype(dtype, copy=False)
    return values.reshape(()) if isinstance(item, int) else values


def _linspace(
    *,
    start: Any,
    stop: Any,
    num: int,
    endpoint: bool,
    dtype: np.dtype[Any],
    region: Any = None,
) -> Any:
    if region is None:
        return np.linspace(start, stop, num, endpoint=endpoint, dtype=dtype)
    (item,) = region_items(region, (num,))
    return linspace_values(start, stop, num, endpoint, dtype, item)


def _linspace_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    dtype = check_supported_dtype(attrs["dtype"])
    num = as_size(attrs["num"])
    if num < 0:
        raise ShapeError(f"Number of samples, {num}, must be non-negative.")
    if num > MAX_INTP:
        raise ShapeError("Maximum allowed size exceeded")
    return ArrayType(dtype, _region_shape(normalize_shape((num,), dtype.itemsize), attrs))


def _eye(*, n: int, m: int, k: int, dtype: np.dtype[Any], region: Any = None) -> Any:
    if region is None:
        return np.eye(n, m, k, dtype=dtype)
    rows, columns = region_items(region, (n, m))
    out = np.zeros(tuple(len(i) for i in (rows, columns) if isinstance(i, range)), dtype=dtype)
    on_diagonal = _positions(rows)[:, None] + k == _positions(columns)[None, :]
    out[on_diagonal.reshape(out.shape)] = 1  # as np.eye writes its ones
    return out


def _eye_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    dtype = check_supported_dtype(attrs["dtype"])
    as_size(attrs["k"])
    shape = normalize_shape((attrs["n"], attrs["m"]), dtype.itemsize)
    return ArrayType(dtype, _region_shape(shape, attrs))


# --- seeded random arrays ------------------------------------------------------------


def _random(
    *,
    shape: tuple[int, ...],
    seed: int,
    stream: int,
    distribution: str,
    params: tuple[Any, ...],
    dtype: np.dtype[Any],
    region: tuple[Any, ...] | None = None,
) -> Any:
    if region is not None:
        index = decode_index(region)
        return random_region(seed, stream, distribution, params, shape, index, dtype)
    size = math.prod(shape)
    return random_values(seed, stream, distribution, params, 0, size, dtype).reshape(shape)


def _random_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    if attrs["distribution"] not in DISTRIBUTIONS:
        raise ArgumentError(f"unknown distribution {attrs['distribution']!r}")
    dtype = attrs["dtype"]
    return ArrayType(dtype, _region_shape(normalize_shape(attrs["shape"], dtype.itemsize), attrs))


def _dask_array(*, value: Literal) -> Any:
    """A dask array's values, for backends that do not run dask graphs themselves."""
    return value.value.compute()


def _dask_array_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    array = attrs["value"].value
    shape = tuple(None if math.isnan(d) else int(d) for d in array.shape)
    masked = isinstance(getattr(array, "_meta", None), np.ma.MaskedArray)
    return ArrayType(check_supported_dtype(np.dtype(array.dtype)), shape, masked)


GENERATED = frozenset({Trait.GENERATED})

ROWS = [
    OpDef(
        "constant",
        Kind.SOURCE,
        _constant,
        _constant_rule,
        _constant,
        traits=frozenset({Trait.LITERAL}),
        arity=0,
        attributes={"token": STR, "value": LITERAL | NUMBER},
        check=_constant_problem,
    ),
    OpDef("dask_array", Kind.SOURCE, _dask_array, _dask_array_rule, _dask_array, arity=0),
    OpDef(
        "parameter",
        Kind.SOURCE,
        _parameter,
        _parameter_rule,
        _parameter,
        traits=frozenset({Trait.ARGUMENT}),
        arity=0,
        attributes={"name": Str(max_length=256), "dtype": DTYPE, "shape": SHAPE, "masked": BOOL},
    ),
    OpDef(
        "full",
        Kind.CREATION,
        _full,
        _full_rule,
        _full,
        "full",
        traits=GENERATED,
        arity=0,
        attributes={"shape": SHAPE, "fill_value": NUMBER, "dtype": DTYPE, "region": INDEX},
    ),
    OpDef(
        "full_like",
        Kind.CREATION,
        _full_like,
        _full_like_rule,
        _full_like,
        arity=1,
        attributes={"fill_value": NUMBER, "dtype": DTYPE},
    ),
    OpDef(
        "arange",
        Kind.CREATION,
        _arange,
        _arange_rule,
        _arange,
        "arange",
        traits=GENERATED,
        arity=0,
        attributes={
            "start": NUMBER,
            "stop": NUMBER,
            "step": NUMBER,
            "dtype": DTYPE,
            "region": INDEX,
        },
    ),
    OpDef(
        "linspace",
        Kind.CREATION,
        _linspace,
        _linspace_rule,
        _linspace,
        "linspace",
        traits=GENERATED,
        arity=0,
        attributes={
            "start": NUMBER,
            "stop": NUMBER,
            "num": SIZE,
            "endpoint": BOOL,
            "dtype": DTYPE,
            "region": INDEX,
        },
    ),
    OpDef(
        "eye",
        Kind.CREATION,
        _eye,
        _eye_rule,
        _eye,
        "eye",
        traits=GENERATED,
        arity=0,
        attributes={"n": SIZE, "m": SIZE, "k": INT, "dtype": DTYPE, "region": INDEX},
    ),
    OpDef(
        "random",
        Kind.SOURCE,
        _random,
        _random_rule,
        _random,
        traits=GENERATED | {Trait.RANDOM},
        arity=0,
        attributes={
            "shape": SHAPE,
            "seed": Int(0, 2**128 - 1),
            "stream": SIZE,
            "distribution": Str(*DISTRIBUTIONS),
            "params": TupleOf(NUMBER, 8),
            "dtype": DTYPE,
            "region": INDEX,
        },
    ),
]

register(*ROWS)
