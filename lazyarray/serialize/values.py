"""Decoding the canonical JSON values of attributes (``lazyarray.graph.encode_value``)
back to Python values, refusing anything the encoding never writes. Values nest as
deep as the document's nesting limit allows, no deeper; Python code (a ``python``
value) is unpickled only for a trusted reader."""

from __future__ import annotations

import dataclasses
import re
import struct
from collections.abc import Callable
from typing import Any

import numpy as np

from lazyarray.errors import BadAttribute, UntrustedContent
from lazyarray.graph import RECORDS, Pickled, Value
from lazyarray.types import MAX_INTP, ArrayType

_HEX16 = re.compile(r"[0-9a-f]{16}")
_HEX = re.compile(r"(?:[0-9a-f]{2}){1,32}")
_DIGEST = re.compile(r"[0-9a-f]{32}")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_DTYPE = re.compile(r"[<>|=][biufcmM][0-9]{1,2}(?:\[[0-9]*[a-zA-Z]+\])?")
_WEAK: dict[Any, type | None] = {
    None: None,
    "bool": bool,
    "int": int,
    "float": float,
    "complex": complex,
}


class LiteralRef:
    """A literal named in an attribute, before the literal is read."""

    __slots__ = ("digest",)

    def __init__(self, digest: str) -> None:
        self.digest = digest


class Decoder:
    """Decodes the values of one document: ``literal`` checks each literal reference
    (and returns what stands for it); ``trusted`` lets Python code through."""

    def __init__(self, literal: Callable[[str, str], Any], trusted: bool, nesting: int) -> None:
        self.literal = literal
        self.trusted = trusted
        self.nesting = nesting
        # set when a decoded value holds what is read later: a literal, a function
        self.deferred = False

    def value(self, value: Any, path: str, depth: int = 0) -> Any:
        kind = type(value)
        if kind is int or kind is str or kind is bool or value is None or kind is float:
            return value
        if depth >= self.nesting:
            raise BadAttribute("a value nested too deep", path)
        if kind is list:
            return tuple(
                [self.value(item, f"{path}/{i}", depth + 1) for i, item in enumerate(value)]
            )
        if kind is dict and len(value) == 1:
            ((tag, payload),) = value.items()
            decode = _TAGS.get(tag)
            if decode is not None:
                return decode(self, payload, f"{path}/{tag}", depth + 1)
        raise BadAttribute(f"not a value of the format: {_shown(value)}", path)

    def _literal(self, payload: Any, path: str, depth: int) -> Any:
        if type(payload) is not str or not _DIGEST.fullmatch(payload):
            raise BadAttribute("a literal is named by its 32-digit digest", path)
        self.deferred = True
        return self.literal(payload, path)

    def _record(self, payload: Any, path: str, depth: int) -> Any:
        if type(payload) is not list or len(payload) != 2 or type(payload[1]) is not dict:
            raise BadAttribute("a record is [name, {field: value}]", path)
        name, fields = payload
        cls = RECORDS.get(name) if type(name) is str else None
        if cls is None:
            raise BadAttribute(f"unknown record {_shown(name)}", f"{path}/0")
        names = (
            [field.name for field in dataclasses.fields(cls)]  # type: ignore[arg-type]
            if issubclass(cls, Value)
            else list(cls._fields)  # type: ignore[attr-defined]
        )
        if sorted(fields) != sorted(names):
            raise BadAttribute(f"a {name} record has the fields {', '.join(names)}", f"{path}/1")
        values = {
            field: self.value(item, f"{path}/1/{field}", depth + 1)
            for field, item in fields.items()
        }
        try:
            return cls(**values)
        except (TypeError, ValueError) as exc:
            raise BadAttribute(f"not a {name} record: {exc}", path) from None

    def _python(self, payload: Any, path: str, depth: int) -> Any:
        """A custom function, kept pickled: ``Pickled.load`` runs only once the reader
        was told to trust the document."""
        if not self.trusted:
            raise UntrustedContent(
                "a Python function in a document is read only with trusted=True", path
            )
        if type(payload) is not str or not _BASE64.fullmatch(payload):
            raise BadAttribute("a function is its pickle in base64", path)
        self.deferred = True
        return Pickled(payload)


def _float(decoder: Decoder, payload: Any, path: str, depth: int) -> float:
    if type(payload) is not str or not _HEX16.fullmatch(payload):
        raise BadAttribute("a float's bits are 16 hexadecimal digits", path)
    return float(struct.unpack(">d", bytes.fromhex(payload))[0])


def float_of(value: Any, path: str) -> float:
    """A float spelled as the encoding spells it: a JSON number or its bits."""
    if type(value) is float:
        return value
    if type(value) is dict and len(value) == 1 and "float" in value:
        return _float(None, value["float"], f"{path}/float", 0)  # type: ignore[arg-type]
    raise BadAttribute(f"expected a float, got {_shown(value)}", path)


def _complex(decoder: Decoder, payload: Any, path: str, depth: int) -> complex:
    if type(payload) is not list or len(payload) != 2:
        raise BadAttribute("a complex is [real, imaginary]", path)
    return complex(float_of(payload[0], f"{path}/0"), float_of(payload[1], f"{path}/1"))


def dtype_of(text: Any, path: str) -> np.dtype[Any]:
    """A dtype from its ``str`` (``"<f8"``): numeric, boolean or datetime only, spelled
    as numpy spells it."""
    if type(text) is str:
        found = _DTYPES.get(text)
        if found is not None:
            return found
    if type(text) is str and _DTYPE.fullmatch(text):
        try:
            dtype = np.dtype(text)
        except TypeError:
            pass
        else:
            if dtype.str == text and dtype.kind in "biufcmM":
                if len(_DTYPES) < 1024:
                    _DTYPES[text] = dtype
                return dtype
    raise BadAttribute(f"not a supported dtype: {_shown(text)}", path)


def _dtype(decoder: Decoder, payload: Any, path: str, depth: int) -> np.dtype[Any]:
    return dtype_of(payload, path)


def _scalar(decoder: Decoder, payload: Any, path: str, depth: int) -> Any:
    if type(payload) is not list or len(payload) != 2:
        raise BadAttribute("a numpy scalar is [dtype, bytes in hexadecimal]", path)
    dtype = dtype_of(payload[0], f"{path}/0")
    data = payload[1]
    if type(data) is not str or not _HEX.fullmatch(data) or len(data) != 2 * dtype.itemsize:
        raise BadAttribute(f"a {dtype} scalar is {dtype.itemsize} bytes in hexadecimal", path)
    return np.frombuffer(bytes.fromhex(data), dtype)[0]


def _ellipsis(decoder: Decoder, payload: Any, path: str, depth: int) -> Any:
    if payload is not True:
        raise BadAttribute('an ellipsis is {"ellipsis": true}', path)
    return Ellipsis


def _type(decoder: Decoder, payload: Any, path: str, depth: int) -> ArrayType:
    return type_of(payload, path)


_DTYPES: dict[str, np.dtype[Any]] = {}
_TYPES: dict[tuple[Any, ...], ArrayType] = {}


def type_of(value: Any, path: str) -> ArrayType:
    """A node's type from ``[dtype, shape, masked, weak]`` (remembered: a document's
    nodes share few types; a hit is taken only for values of exactly the types a
    type is written with, as ``True == 1`` would match a size)."""
    key = None
    if type(value) is list and len(value) == 4 and type(value[1]) is list:
        shape = value[1]
        if type(value[2]) is bool and all([type(n) is int or n is None for n in shape]):
            try:
                key = (value[0], tuple(shape), value[2], value[3])
                found = _TYPES.get(key)
            except TypeError:  # an unhashable part: refused below
                key = found = None
            if found is not None:
                return found
    found = _type_of(value, path)
    if key is not None and len(_TYPES) < 4096:
        _TYPES[key] = found
    return found


def _type_of(value: Any, path: str) -> ArrayType:
    if type(value) is not list or len(value) != 4:
        raise BadAttribute("a type is [dtype, shape, masked, weak]", path)
    dtype_text, shape, masked, weak = value
    dtype = dtype_of(dtype_text, f"{path}/0")
    if type(shape) is not list or len(shape) > 64:
        raise BadAttribute("a shape is an array of at most 64 sizes", f"{path}/1")
    for position, size in enumerate(shape):
        if size is not None and (type(size) is not int or not 0 <= size <= MAX_INTP):
            raise BadAttribute(f"not a size: {_shown(size)}", f"{path}/1/{position}")
    if type(masked) is not bool:
        raise BadAttribute("masked is true or false", f"{path}/2")
    if (type(weak) is str or weak is None) and weak in _WEAK:
        return ArrayType(dtype, tuple(shape), masked, _WEAK[weak])
    raise BadAttribute(f"not a weak scalar type: {_shown(weak)}", f"{path}/3")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_TAGS: dict[str, Callable[[Decoder, Any, str, int], Any]] = {
    "float": _float,
    "complex": _complex,
    "dtype": _dtype,
    "scalar": _scalar,
    "literal": Decoder._literal,
    "ellipsis": _ellipsis,
    "type": _type,
    "record": Decoder._record,
    "python": Decoder._python,
}
