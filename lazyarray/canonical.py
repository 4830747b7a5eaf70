"""What node attributes hold besides plain values, and how every attribute is spelled
canonically: literals (array data wrapped by reference, digested once, on demand),
record values (a fused kernel), and the canonical JSON whose digests name nodes in every
process (``lazyarray.graph`` builds nodes from these; nothing here knows of nodes)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import json.encoder
import math
import struct
import weakref
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from lazyarray.types import ArrayType

Attrs = tuple[tuple[str, Any], ...]


class _Ref(weakref.ref):  # type: ignore[type-arg]
    """A weak reference that knows its interning key. ``weakref.KeyedRef`` does too, but
    its ``__new__`` and ``__init__`` are Python code: four times the cost, per node."""

    __slots__ = ("key",)
    key: tuple[Any, ...]


class Literal:
    """Holds a literal value inside node attributes without copying or hashing it.

    Equality and hash are identity. Arrays reading the same memory the same way (one
    ndarray, or views of it with its layout) share one wrapper, so they are one node;
    the content digest is computed once, on demand.
    """

    __slots__ = ("__weakref__", "_digest", "value")

    _by_digest: ClassVar[weakref.WeakValueDictionary[str, Literal]] = weakref.WeakValueDictionary()

    def __init__(self, value: Any) -> None:
        self.value = value
        self._digest: str | None = None

    @classmethod
    def of(cls, value: Any) -> Literal:
        """The one wrapper of this memory (or, for other objects, of this object) while
        any node holds it; the wrapper holds the value, so its memory stays its own."""
        key = memory_key(value)
        ref = _LITERALS.get(key)
        literal = ref() if ref is not None else None
        if literal is None:
            literal = _new_literal(cls)  # ``cls(value)``, without ``__init__``'s frame
            _SET_VALUE(literal, value)
            _SET_LITERAL_DIGEST(literal, None)
            ref = _Ref(literal, _forget_literal)
            ref.key = key
            _LITERALS[key] = ref
        return literal

    @property
    def digest(self) -> str:
        if self._digest is None:
            self._digest = content_digest(self.value)
            Literal._by_digest[self._digest] = self
        return self._digest

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled with the digest of its contents, so that loading in a process that
        holds the same data finds that literal (and so the same interned nodes)."""
        self.refresh()
        return (adopt_literal, (self.value, self.digest))

    def refresh(self) -> None:
        """Forgets the digest of data that can change (``mutable``), so that the next
        ``digest`` is of the contents as they are now: what a pickle or a graph document
        of it must name."""
        if self._digest is not None and self.mutable:
            if Literal._by_digest.get(self._digest) is self:
                del Literal._by_digest[self._digest]
            self._digest = None

    @property
    def mutable(self) -> bool:
        """Whether the data can change after it was wrapped: a writeable array, or a view
        of one (wrapping is by reference, as numpy views are). Results computed from a
        mutable literal are never cached, nor planned constants folded from it."""
        return may_change(self.value)

    def __repr__(self) -> str:
        value = self.value
        return f"Literal(<{type(value).__name__} {getattr(value, 'shape', '')}>)"


_new_literal = object.__new__
_SET_VALUE = Literal.__dict__["value"].__set__
_SET_LITERAL_DIGEST = Literal.__dict__["_digest"].__set__


def adopt_literal(value: Any, digest: str) -> Literal:
    """The literal of ``value``, whose contents have ``digest`` (unpickled, or read from
    a graph document): one with these contents alive in the process when there is one
    (so are the nodes holding it), else a new one that knows its digest without hashing."""
    found = Literal._by_digest.get(digest)
    # a live writeable array may have changed since: match its data as it is now
    if found is not None and (not found.mutable or content_digest(found.value) == digest):
        return found
    literal = Literal.of(value)
    if literal._digest is None:
        literal._digest = digest
        Literal._by_digest[digest] = literal
    return literal


def memory_key(value: Any) -> Any:
    """What an array reads: its memory's address, shape, strides and dtype (with the mask
    and fill value of a masked array); other objects are keyed by identity. An array
    owning its memory, and a view of it reading that memory the same way, are keyed by
    the owner's identity instead of its address (cheaper to read, and as unique while
    the owner lives, which its literal ensures)."""
    if type(value) is np.ndarray:
        base = value.base
        if base is None:
            return ("owner", id(value), value.shape, value.strides, value.dtype)
        if (
            type(base) is np.ndarray
            and base.base is None
            and value.shape == base.shape
            and value.strides == base.strides
            and value.dtype == base.dtype
            and _address(value) == _address(base)
        ):
            return ("owner", id(base), base.shape, base.strides, base.dtype)
        interface = value.__array_interface__
        return (interface["data"][0], value.shape, interface["strides"], value.dtype.str)
    if isinstance(value, np.ma.MaskedArray):
        mask = np.ma.getmask(value)
        mask_key = memory_key(mask) if isinstance(mask, np.ndarray) else None
        return ("masked", memory_key(value.data), mask_key, repr(fill_value_of(value)))
    return ("object", id(value))


def _address(array: np.ndarray[Any, Any]) -> int:
    return int(array.__array_interface__["data"][0])


def may_change(value: Any) -> bool:
    """Whether the contents of ``value`` can change: an ndarray that is writeable, or a
    read-only view whose base is writeable or is memory we do not know (a memory map, a
    buffer); read-only arrays owning their data, views of bytes, scalars and dask arrays
    cannot."""
    if isinstance(value, np.ma.MaskedArray):
        mask = np.ma.getmask(value)  # nomask is a numpy bool, not an array
        return may_change(value.data) or (isinstance(mask, np.ndarray) and may_change(mask))
    current = value
    while isinstance(current, np.ndarray):
        if current.flags.writeable:
            return True
        current = current.base
    if current is None or current is value or isinstance(current, bytes):
        return False
    known = _IMMUTABLE_MEMORY.get(id(current))
    return known is None or known() is not current


# memory known never to change though numpy cannot tell (read-only maps of blobs, whose
# files are named by the digest of their bytes: ``lazyarray.stores``), by identity: the
# objects numpy holds as the base of arrays reading them
_IMMUTABLE_MEMORY: dict[int, weakref.ref[Any]] = {}


def immutable_memory(array: np.ndarray[Any, Any]) -> None:
    """Declares that the memory ``array`` reads (its last base) never changes."""
    base: Any = array
    while isinstance(base, np.ndarray):
        base = base.base
    if base is None or isinstance(base, bytes):
        return
    key = id(base)
    _IMMUTABLE_MEMORY[key] = weakref.ref(base, lambda ref: _forget_memory(key, ref))


def _forget_memory(key: int, ref: weakref.ref[Any]) -> None:
    if _IMMUTABLE_MEMORY.get(key) is ref:
        del _IMMUTABLE_MEMORY[key]


def content_digest(value: Any) -> str:
    """A digest of an array's dtype, shape, mask and bytes (read once); for a dask array,
    of its name, which dask derives from its graph (computing nothing)."""
    if hasattr(value, "__dask_graph__"):
        hasher = hashlib.blake2b(digest_size=16)
        hasher.update(f"dask:{value.name}".encode())
        return hasher.hexdigest()
    masked = None
    if isinstance(value, np.ma.MaskedArray):
        masked = (content_digest(np.ma.getmaskarray(value)), fill_value_of(value))
        value = np.ma.getdata(value)
    array = np.asarray(value)
    hasher = content_hasher(array.dtype, array.shape, masked)
    hasher.update(np.ascontiguousarray(array).view(np.uint8).data)
    return str(hasher.hexdigest())


def fill_value_of(value: np.ma.MaskedArray[Any, Any]) -> Any:
    """A masked array's fill value as numpy reports it, a numpy scalar (whose dtype may
    be another than the data's: numpy's default for int8 data is int64's 999999),
    read without setting it as numpy's getter does."""
    own = value._fill_value  # type: ignore[attr-defined]
    if own is None:
        own = _DEFAULT_FILLS.get(value.dtype)
        if own is None:
            own = _DEFAULT_FILLS[value.dtype] = np.ma.MaskedArray(
                np.empty(0, value.dtype)
            ).fill_value
    return np.asarray(own)[()]


_DEFAULT_FILLS: dict[np.dtype[Any], Any] = {}


def content_hasher(dtype: np.dtype[Any], shape: tuple[int, ...], masked: Any = None) -> Any:
    """The hasher of ``content_digest`` before the array's bytes (in C order) are fed
    to it, so that a reader can digest bytes as it streams them; ``masked`` is the
    digest of the mask and the fill value of a masked array."""
    hasher = hashlib.blake2b(digest_size=16)
    if masked is not None:
        mask_digest, fill_value = masked
        hasher.update(b"masked")
        hasher.update(mask_digest.encode())
        hasher.update(canonical_json(encode_value(fill_value)).encode())
    hasher.update(f"{dtype.str}{tuple(shape)}".encode())
    return hasher


class Value:
    """Base of the frozen dataclasses that node attributes may hold besides Python and
    numpy scalars, dtypes, tuples and literals (a fused kernel). Such a value is equal,
    hashed and pickled by its fields; it is digested by its class name and fields, and the
    bits of its floats are part of the interning key, as for a tuple."""

    __slots__ = ()

    def values(self) -> tuple[Any, ...]:
        return tuple([getattr(self, field.name) for field in dataclasses.fields(self)])  # type: ignore[arg-type]


# memory key -> weak reference to the one literal reading that memory that way
_LITERALS: dict[Any, _Ref] = {}


def _forget_literal(ref: _Ref) -> None:
    key = ref.key  # as ``_forget``
    found = _LITERALS.pop(key, None)
    if found is not ref and found is not None:
        _LITERALS[key] = found


# --- the canonical encoding ----------------------------------------------------------
# A node's record is ``[op, [input digests], {attribute: value}, type]`` with values
# encoded below; its digest is the BLAKE2b-128 of the record's canonical JSON. A graph
# document holds the same records with inputs by position (``lazyarray.serialize``), so
# the digest of a document's graph is the digest of its output node, in any process.
#
# JSON's own null, booleans, integers, strings and arrays (for tuples) hold what they
# can; every other value is an object with one key naming its kind. Floats are JSON
# numbers (Python's shortest exact spelling) unless JSON cannot spell them exactly:
# NaN (any payload and sign), infinities and -0.0 are spelled by their IEEE bits.

_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
)


def _not_json(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON")


# json's C encoder made once (``JSONEncoder.encode`` makes one per call, most of the cost
# of a node's digest); without the circular check: records are trees
_MAKE_ENCODER: Any = getattr(json.encoder, "c_make_encoder", None)
_C_ENCODER = (
    _MAKE_ENCODER(
        None, _not_json, json.encoder.encode_basestring_ascii, None, ":", ",", True, False, False
    )
    if _MAKE_ENCODER is not None
    else None
)


def canonical_json(value: Any) -> str:
    """``value`` as JSON with sorted keys, no spaces, ASCII only and no NaN."""
    if _C_ENCODER is None:
        return _CANONICAL.encode(value)
    return "".join(_C_ENCODER(value, 0))


def record_digest(op: str, inputs: list[str], attrs: dict[str, Any], type_: list[Any]) -> str:
    """The digest of a node's record: ``inputs`` are its inputs' digests, ``attrs`` and
    ``type_`` are encoded (``encode_attrs``, ``encode_type``)."""
    text = canonical_json([op, inputs, attrs, type_])
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def outputs_digest(digests: Sequence[str]) -> str:
    """The identity of a tuple of outputs: the digest of the list of their digests (one
    output alone is identified by its own digest)."""
    return hashlib.blake2b(canonical_json(list(digests)).encode(), digest_size=16).hexdigest()


def encode_attrs(attrs: Attrs) -> dict[str, Any]:
    return {name: encode_value(value) for name, value in attrs}


def encode_type(type_: ArrayType) -> list[Any]:
    """``[dtype, shape, masked, weak]``: the dtype's ``str`` (``"<f8"``), ``null`` for an
    unknown size, the Python scalar type of a weak literal by name, else ``null``."""
    found = _TYPE_CODES.get(type_)
    if found is None:
        weak = type_.weak
        found = (type_.dtype.str, list(type_.shape), type_.masked, weak and weak.__name__)
        if len(_TYPE_CODES) >= 4096:
            _TYPE_CODES.clear()
        _TYPE_CODES[type_] = found
    return [found[0], list(found[1]), found[2], found[3]]


# types as encoded: a graph has few distinct types
_TYPE_CODES: dict[ArrayType, tuple[Any, ...]] = {}


_PLAIN_TYPES = frozenset({int, str, bool, type(None)})


def float_bits(value: float) -> str:
    return struct.pack(">d", value).hex()


def encode_float(value: float) -> Any:
    if value - value == 0.0 and (value or math.copysign(1.0, value) > 0):
        return value  # finite, and not -0.0
    return {"float": float_bits(value)}


def encode_value(value: Any) -> Any:
    """The canonical JSON value of an attribute value (``decode_value`` reverses it)."""
    kind = type(value)
    if kind in _PLAIN_TYPES:
        return value
    if kind is float:
        return encode_float(value)
    if kind is tuple:
        return [encode_value(item) for item in value]
    if kind is Literal:
        return {"literal": value.digest}
    if isinstance(value, np.dtype):
        return {"dtype": _dtype_code(value)}
    if isinstance(value, np.generic):
        return {"scalar": [value.dtype.str, value.tobytes().hex()]}
    if kind is complex:
        return {"complex": [encode_float(value.real), encode_float(value.imag)]}
    if value is Ellipsis:
        return {"ellipsis": True}
    if kind is ArrayType:
        return {"type": encode_type(value)}
    name = RECORDS_BY_CLASS.get(kind)
    if name is not None:
        fields = _FIELDS[kind]
        items = value.values() if isinstance(value, Value) else value
        encoded = [encode_value(item) for item in items]
        return {"record": [name, dict(zip(fields, encoded, strict=True))]}
    if kind is Pickled:
        return {"python": value.payload}
    if callable(value):  # a custom function: by value (read back only when trusted)
        return {"python": Pickled.of(value).payload}
    raise TypeError(f"an attribute value of type {kind.__name__} has no canonical encoding")


def _dtype_code(dtype: np.dtype[Any]) -> str:
    found = _DTYPE_CODES.get(dtype)
    if found is None:
        found = _DTYPE_CODES[dtype] = dtype.str
    return found


_DTYPE_CODES: dict[np.dtype[Any], str] = {}


class Pickled:
    """A custom function as a document holds it: cloudpickle's bytes in base64, never
    unpickled but by a reader told to trust the document."""

    __slots__ = ("payload",)

    def __init__(self, payload: str) -> None:
        self.payload = payload

    @classmethod
    def of(cls, function: Any) -> Pickled:
        import cloudpickle

        return cls(base64.b64encode(cloudpickle.dumps(function)).decode("ascii"))

    def load(self) -> Any:
        import cloudpickle

        return cloudpickle.loads(base64.b64decode(self.payload, validate=True))


# the classes a document may name in a ``record`` value: frozen dataclasses deriving
# ``Value``, and named tuples (a kernel and its instructions), registered by their module
RECORDS: dict[str, type] = {}
RECORDS_BY_CLASS: dict[type, str] = {}
_FIELDS: dict[type, tuple[str, ...]] = {}  # each record class's fields, in order


def register_record(cls: type) -> type:
    """Lets ``cls`` be an attribute value written by its fields (a class decorator)."""
    name = cls.__name__
    if RECORDS.get(name, cls) is not cls:
        raise ValueError(f"record {name!r} is declared twice")
    RECORDS[name] = cls
    RECORDS_BY_CLASS[cls] = name
    _FIELDS[cls] = (
        tuple([field.name for field in dataclasses.fields(cls)])  # type: ignore[arg-type]
        if issubclass(cls, Value)
        else cls._fields  # type: ignore[attr-defined]
    )
    return cls
