"""The namespace-level part of the array API standard (revision 2025.12) that is not an
op row: the version, devices, dtype functions, constants, ``asarray``/``from_dlpack``
and the creation functions in the standard's signatures (``device=``, standard default
dtypes). ``lazyarray`` exports these, so they win over the numpy-style ones in
``namespace.py``; numpy's own functions on proxies (NEP 18) keep numpy's behaviour.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from lazyarray import dtypes
from lazyarray.errors import CastError, OpArgumentError, OpValueError
from lazyarray.proxy import Array, DType, MaskedArray, as_node, wrap
from lazyarray.proxy import build as _build
from lazyarray.proxy.standard import API_VERSION, CPU, Device, check_device
from lazyarray.types import as_dtype, check_python_int_fits, check_supported_dtype
from lazyarray.types import result_type as _promote

__array_api_version__ = API_VERSION

e = math.e
pi = math.pi
inf = math.inf
nan = math.nan
newaxis = None

_DTYPES = {
    name: getattr(dtypes, name)
    for name in (
        *("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"),
        *("float32", "float64", "complex64", "complex128"),
    )
}
_DEFAULTS = {
    "real floating": dtypes.float64,
    "complex floating": dtypes.complex128,
    "integral": dtypes.int64,
    "indexing": dtypes.int64,
}
# numpy 2's NPY_MAXDIMS: every backend holds its values in numpy arrays
_MAX_DIMENSIONS = 64


# --- inspection ---------------------------------------------------------------------


class Info:
    """What ``la.__array_namespace_info__()`` returns: the library's capabilities, its
    one device and its dtypes.

    >>> import lazyarray as la
    >>> info = la.__array_namespace_info__()
    >>> info.default_dtypes()["real floating"], info.devices()
    (DType(float64), [Device('cpu')])
    """

    def capabilities(self) -> dict[str, Any]:
        return {
            "boolean indexing": True,
            "data-dependent shapes": True,
            "max dimensions": _MAX_DIMENSIONS,
        }

    def default_device(self) -> Device:
        return CPU

    def default_dtypes(self, *, device: Any = None) -> dict[str, DType]:
        check_device(device)
        return dict(_DEFAULTS)

    def devices(self) -> list[Device]:
        return [CPU]  # a list, as the standard says

    def dtypes(self, *, device: Any = None, kind: Any = None) -> dict[str, DType]:
        check_device(device)
        if kind is None:
            return dict(_DTYPES)
        kinds = kind if isinstance(kind, tuple) else (kind,)
        for each in kinds:
            if not isinstance(each, str):
                raise OpValueError(f"unsupported kind: {each!r}; kinds are strings")
        return {name: dtype for name, dtype in _DTYPES.items() if isdtype(dtype, kinds)}


def __array_namespace_info__() -> Info:
    return Info()


# --- dtype functions ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class FloatInfo:
    """``finfo``'s answer, in Python numbers (numpy's are numpy scalars)."""

    bits: int
    eps: float
    max: float
    min: float
    smallest_normal: float
    dtype: DType


@dataclasses.dataclass(frozen=True)
class IntegerInfo:
    """``iinfo``'s answer."""

    bits: int
    max: int
    min: int
    dtype: DType


def _dtype_of(value: Any) -> np.dtype[Any]:
    """The dtype of an array (lazy or numpy) or a dtype, as numpy's."""
    if hasattr(value, "__lazyarray_node__"):
        return as_node(value).type.dtype
    if isinstance(value, (np.ndarray, np.generic)):
        return value.dtype
    return as_dtype(value)


def finfo(type: Any, /) -> FloatInfo:  # noqa: A002 - the standard's name
    """Limits of a floating dtype (of its real part, for complex ones).

    >>> import lazyarray as la
    >>> la.finfo(la.float32).eps == 2.0**-23
    True
    """
    try:
        info = np.finfo(_dtype_of(type))
    except ValueError as exc:
        raise OpValueError(str(exc)) from None
    return FloatInfo(
        bits=int(info.bits),
        eps=float(info.eps),
        max=float(info.max),
        min=float(info.min),
        smallest_normal=float(info.smallest_normal),
        dtype=DType(info.dtype),
    )


def iinfo(type: Any, /) -> IntegerInfo:  # noqa: A002 - the standard's name
    """Limits of an integer dtype.

    >>> import lazyarray as la
    >>> la.iinfo(la.uint8).max
    255
    """
    try:
        info = np.iinfo(_dtype_of(type))
    except ValueError as exc:
        raise OpValueError(str(exc)) from None
    return IntegerInfo(
        bits=int(info.bits), max=int(info.max), min=int(info.min), dtype=DType(info.dtype)
    )


def isdtype(dtype: Any, kind: Any) -> bool:
    """Whether ``dtype`` is of ``kind``: a dtype, a kind name ('bool', 'signed integer',
    'unsigned integer', 'integral', 'real floating', 'complex floating', 'numeric') or a
    tuple of them. float16 counts as 'real floating', as in numpy.

    >>> import lazyarray as la
    >>> la.isdtype(la.int8, ("integral", la.float32)), la.isdtype(la.bool, "numeric")
    (True, False)
    """
    try:
        return np.isdtype(_as_numpy(dtype), _kind(kind))
    except ValueError as exc:
        raise OpValueError(str(exc)) from None
    except TypeError as exc:
        raise OpArgumentError(str(exc)) from None


def _as_numpy(dtype: Any) -> Any:
    return dtype.numpy_dtype if isinstance(dtype, DType) else dtype


def _kind(kind: Any) -> Any:
    if isinstance(kind, tuple):
        return tuple(_as_numpy(each) for each in kind)
    return _as_numpy(kind)


def can_cast(from_: Any, to: Any, /) -> bool:
    """Whether ``from_`` (a dtype or an array) casts to ``to`` without loss: numpy's
    'safe' casting, which within a kind is the standard's promotion graph.

    >>> import lazyarray as la
    >>> la.can_cast(la.int8, la.int16), la.can_cast(la.float64, la.float32)
    (True, False)
    """
    if isinstance(from_, (bool, int, float, complex)):
        raise OpArgumentError(f"can_cast() takes a dtype or an array, not {from_!r}")
    return np.can_cast(_dtype_of(from_), _dtype_of(to))


def result_type(*arrays_and_dtypes: Any) -> DType:
    """The dtype numpy's promotion gives ``arrays_and_dtypes``; Python scalars promote
    weakly (``result_type(la.int8, 1) == la.int8``), and one array or dtype is needed.

    >>> import lazyarray as la
    >>> la.result_type(la.float32, 1.0), la.result_type(la.Array([1, 2]), la.uint8)
    (DType(float32), DType(int64))
    """
    keys: list[np.dtype[Any] | type] = []
    for value in arrays_and_dtypes:
        if type(value) in (bool, int, float, complex):
            keys.append(type(value))
        elif hasattr(value, "__lazyarray_node__"):
            keys.append(as_node(value).type.promotion_key)
        else:
            keys.append(_dtype_of(value))
    if all(isinstance(key, type) for key in keys):
        raise OpValueError("at least one array or dtype is required")
    return DType(_promote(*keys))


# --- from data ------------------------------------------------------------------------

_SCALARS = (int, float, complex, np.generic)
_FRESH = (list, tuple, range, *_SCALARS)  # numpy builds a new array from these


def asarray(obj: Any, /, *, dtype: Any = None, device: Any = None, copy: bool | None = None) -> Any:
    """A lazy array of ``obj``: a proxy, a numpy array, a Python scalar or nested
    sequence, or a buffer. ``copy=None`` reuses what it can: proxies pass through and
    numpy arrays are wrapped by reference (a compute reads their contents when it runs);
    ``copy=True`` wraps a read-only snapshot instead, whose results the cache may serve;
    ``copy=False`` refuses, with ``ValueError``, whatever would need a copy (a dtype
    change, a list).

    >>> import numpy as np, lazyarray as la
    >>> a = np.zeros(3)
    >>> snapshot = la.asarray(a, copy=True)
    >>> a[0] = 5.0
    >>> snapshot.sum().compute(), la.asarray(a).sum().compute()
    (np.float64(0.0), np.float64(5.0))
    """
    check_device(device)
    _check_copy(copy)
    target = None if dtype is None else _dtype(dtype)
    if hasattr(obj, "__lazyarray_node__"):
        node = as_node(obj)
        if target is None or target == node.type.dtype:
            return wrap(node) if copy else obj
        if copy is False:
            raise _needs_copy()
        return _build.astype(obj, target)
    if isinstance(obj, np.ndarray):
        changes = target is not None and target != obj.dtype
        if changes and copy is False:
            raise _needs_copy()
        if copy:
            return _snapshot(obj, target)
        proxy = Array(obj)
        return _build.astype(proxy, target) if changes else proxy
    if isinstance(obj, (list, tuple)):
        leaves = _leaves(obj)
        if any([hasattr(leaf, "__lazyarray_node__") for leaf in leaves]):
            if copy is False:
                raise _needs_copy()
            return _stacked(obj, leaves, target)
    return Array(_from_data(obj, target, copy))


def _leaves(obj: list[Any] | tuple[Any, ...]) -> list[Any]:
    """What a nested sequence holds, in C order: anything not a list or tuple."""
    leaves: list[Any] = []
    pending: list[Any] = [obj]
    while pending:
        item = pending.pop()
        if isinstance(item, (list, tuple)):
            pending.extend(reversed(item))
        else:
            leaves.append(item)
    return leaves


def _stacked(obj: Any, leaves: list[Any], dtype: np.dtype[Any] | None) -> Any:
    """A nested sequence holding lazy arrays, as numpy would build it from their values
    (dtype, shape and errors: numpy is asked with zero stand-ins of each array), made as
    one lazy ``stack``: reading the elements of a computed array into a new one runs
    once, not once per element."""
    standins = iter([_standin(leaf) for leaf in leaves])
    layout = _rebuilt(obj, standins)
    try:
        shape_of = np.asarray(layout, dtype=dtype)
    except ValueError as exc:
        raise OpValueError(str(exc)) from None
    except TypeError as exc:
        raise CastError(str(exc)) from None
    check_supported_dtype(shape_of.dtype)
    target = shape_of.dtype
    nodes = [_build.astype(_leaf_array(leaf, target), target) for leaf in leaves]
    return _build.call("reshape", (_build.call("stack", (nodes,), {}), shape_of.shape), {})


def _standin(leaf: Any) -> Any:
    if not hasattr(leaf, "__lazyarray_node__"):
        return leaf
    node = as_node(leaf)
    if None in node.type.shape:
        raise OpValueError("asarray needs the shape of every lazy array it holds")
    return np.zeros(node.type.shape, node.type.dtype)


def _rebuilt(obj: Any, leaves: Any) -> Any:
    """``obj`` with its leaves replaced, in C order, by the next of ``leaves``."""
    if isinstance(obj, (list, tuple)):
        return [_rebuilt(item, leaves) for item in obj]
    return next(leaves)


def _leaf_array(leaf: Any, dtype: np.dtype[Any]) -> Any:
    if hasattr(leaf, "__lazyarray_node__"):
        return leaf
    array = np.asarray(leaf, dtype=dtype)
    array.flags.writeable = False
    return Array(array)


def _from_data(obj: Any, dtype: np.dtype[Any] | None, copy: bool | None) -> Any:
    """Python data or a buffer as an ndarray, by numpy's rules (and its copy=)."""
    if type(obj) is int and dtype is None:
        check_python_int_fits(obj, np.dtype(np.int64 if obj < 0 else np.uint64))
    try:
        array = np.asarray(obj, dtype=dtype, copy=copy)
    except ValueError as exc:
        raise OpValueError(str(exc)) from None
    except TypeError as exc:
        raise CastError(str(exc)) from None
    check_supported_dtype(array.dtype)
    if copy or isinstance(obj, _FRESH):  # nobody else can write it
        array.flags.writeable = False
    return array


def _snapshot(x: np.ndarray[Any, Any], dtype: np.dtype[Any] | None) -> Any:
    if isinstance(x, np.ma.MaskedArray):
        data = _read_only(np.ma.getdata(x), dtype)
        mask = _read_only(np.ma.getmaskarray(x), None)
        fill = x.fill_value if dtype is None else None
        return MaskedArray(np.ma.MaskedArray(data, mask=mask, fill_value=fill))
    return Array(_read_only(x, dtype))


def _read_only(x: Any, dtype: np.dtype[Any] | None) -> Any:
    copied = np.array(x, dtype=dtype, copy=True)
    copied.flags.writeable = False
    return copied


def _check_copy(copy: Any) -> None:
    if copy is not None and not isinstance(copy, (bool, np.bool_)):
        raise OpValueError(f"copy must be True, False or None, not {copy!r}")


def _needs_copy() -> OpValueError:
    return OpValueError("Unable to avoid copy while creating an array as requested.")


def from_dlpack(x: Any, /, *, device: Any = None, copy: bool | None = None) -> Any:
    """A lazy array of another library's array, through DLPack (numpy's
    ``from_dlpack``); a lazy array passes through as ``asarray`` would pass it.

    >>> import numpy as np, lazyarray as la
    >>> la.from_dlpack(np.arange(3)).sum().compute()
    np.int64(3)
    """
    check_device(device)
    _check_copy(copy)
    if hasattr(x, "__lazyarray_node__"):
        return asarray(x, copy=copy)
    array = np.from_dlpack(x) if copy is None else np.from_dlpack(x, copy=copy)
    if copy:
        array.flags.writeable = False  # a copy nobody else holds
    return Array(array)


# --- creation -----------------------------------------------------------------------


def _dtype(dtype: Any, default: DType | None = None) -> Any:
    """The numpy dtype of a ``dtype=`` argument, or of ``default`` for None."""
    chosen = default if dtype is None else dtype
    return None if chosen is None else check_supported_dtype(as_dtype(chosen))


def _fill(value: Any) -> Any:
    if isinstance(value, np.generic):  # numpy's scalars keep their dtype, as in numpy
        return value
    if isinstance(value, _SCALARS):  # bool is an int
        if type(value) is int:
            check_python_int_fits(value, np.dtype(np.int64 if value < 0 else np.uint64))
        return value
    raise OpArgumentError(
        f"fill_value must be a scalar (bool, int, float or complex), not {type(value).__name__}"
    )


def zeros(shape: Any, dtype: Any = None, *, device: Any = None) -> Any:
    """An array of zeros; float64 unless ``dtype`` says otherwise (positional too, as
    numpy takes it; ``device`` is keyword-only).

    >>> import lazyarray as la
    >>> la.zeros((2, 2)).dtype, la.zeros(3, int).dtype
    (DType(float64), DType(int64))
    """
    check_device(device)
    return _build.full(shape, 0, _dtype(dtype, dtypes.float64))


def ones(shape: Any, dtype: Any = None, *, device: Any = None) -> Any:
    """An array of ones; float64 unless ``dtype`` says otherwise."""
    check_device(device)
    return _build.full(shape, 1, _dtype(dtype, dtypes.float64))


def empty(shape: Any, dtype: Any = None, *, device: Any = None) -> Any:
    """An array whose values are unspecified (they are zeros: the graph holds no
    uninitialized memory)."""
    return zeros(shape, dtype=dtype, device=device)


def full(shape: Any, fill_value: Any, dtype: Any = None, *, device: Any = None) -> Any:
    """An array of ``fill_value``; the dtype follows a Python fill value's type (bool,
    int64, float64, complex128) unless ``dtype`` says otherwise."""
    check_device(device)
    return _build.full(shape, _fill(fill_value), _dtype(dtype))


def zeros_like(x: Any, /, dtype: Any = None, *, device: Any = None) -> Any:
    check_device(device)
    return _build.full_like(x, 0, _dtype(dtype))


def ones_like(x: Any, /, dtype: Any = None, *, device: Any = None) -> Any:
    check_device(device)
    return _build.full_like(x, 1, _dtype(dtype))


def empty_like(x: Any, /, dtype: Any = None, *, device: Any = None) -> Any:
    return zeros_like(x, dtype=dtype, device=device)


def full_like(x: Any, /, fill_value: Any, dtype: Any = None, *, device: Any = None) -> Any:
    check_device(device)
    return _build.full_like(x, _fill(fill_value), _dtype(dtype))


def eye(
    n_rows: int,
    n_cols: int | None = None,
    /,
    k: int = 0,
    dtype: Any = None,
    *,
    device: Any = None,
) -> Any:
    check_device(device)
    return _build.eye(n_rows, n_cols, k, _dtype(dtype, dtypes.float64))


def arange(
    start: Any,
    /,
    stop: Any = None,
    step: Any = 1,
    *,
    dtype: Any = None,
    device: Any = None,
) -> Any:
    """``[start, stop)`` by ``step``: int64 for integer bounds, float64 if any is a float."""
    check_device(device)
    return _build.arange(start, stop, step, _dtype(dtype))


def linspace(
    start: Any,
    stop: Any,
    /,
    num: int = 50,
    endpoint: bool = True,
    dtype: Any = None,
    *,
    device: Any = None,
) -> Any:
    """``num`` evenly spaced values: float64, or complex128 for a complex bound."""
    check_device(device)
    return _build.linspace(start, stop, num, endpoint, _dtype(dtype))


__all__ = [
    "Device",
    "__array_api_version__",
    "__array_namespace_info__",
    "arange",
    "asarray",
    "can_cast",
    "e",
    "empty",
    "empty_like",
    "eye",
    "finfo",
    "from_dlpack",
    "full",
    "full_like",
    "iinfo",
    "inf",
    "isdtype",
    "linspace",
    "nan",
    "newaxis",
    "ones",
    "ones_like",
    "pi",
    "result_type",
    "zeros",
    "zeros_like",
]
