"""The declared types of op attributes: what values an attribute may hold, checked when a
graph document is read (before any node is built) and written out as JSON Schema.

Each row states its attributes' types: a signature's ``Param`` through its normalizer
(``gives`` marks what a normalizer returns) or its own ``schema``, the other attributes
in the row's ``attributes``. A type checks the Python value a document decodes to
(``lazyarray.graph.encode_value`` spells each kind of value), so a check is exact: an
int is never a bool, a tuple never a list, an int outside its bounds is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import numpy as np

from lazyarray.graph import RECORDS_BY_CLASS, Literal, Pickled
from lazyarray.types import MAX_INTP, ArrayType

F = TypeVar("F", bound=Callable[..., Any])

# the JSON Schema of each tagged value (``lazyarray.graph.encode_value``), by tag
_HEX16 = {"type": "string", "pattern": "^[0-9a-f]{16}$"}
_DTYPE_TEXT = {"type": "string", "pattern": "^[<>|=][biufcmM][0-9]{1,2}(\\[[0-9]*[a-zA-Z]+\\])?$"}
TAGGED: dict[str, dict[str, Any]] = {
    "float": _HEX16,
    "complex": {
        "type": "array",
        "prefixItems": [{"$ref": "#/$defs/float"}, {"$ref": "#/$defs/float"}],
        "minItems": 2,
        "maxItems": 2,
    },
    "dtype": _DTYPE_TEXT,
    "scalar": {
        "type": "array",
        "prefixItems": [_DTYPE_TEXT, {"type": "string", "pattern": "^([0-9a-f]{2}){1,32}$"}],
        "minItems": 2,
        "maxItems": 2,
    },
    "literal": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
    "ellipsis": {"const": True},
    "type": {"$ref": "#/$defs/type"},
    "python": {"type": "string", "contentEncoding": "base64"},
}


def tagged_schema(tag: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {tag: TAGGED[tag]},
        "required": [tag],
        "additionalProperties": False,
    }


class AttrType:
    """One attribute's type: ``problem(value)`` says what is wrong with a value (None
    when it fits); ``schema()`` is its JSON Schema, ``reference()`` the same or, for a
    named type, a reference to its definition."""

    untrusted = False  # holds Python code, read only from a trusted document
    name: str | None = None  # a named type is defined once in the JSON Schema

    def reference(self) -> dict[str, Any]:
        return _ref(self.name) if self.name else self.schema()

    def problem(self, value: Any) -> str | None:
        raise NotImplementedError

    def schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def __or__(self, other: AttrType) -> AttrType:
        return Union(self, other)


class Exact(AttrType):
    """Values of exactly one Python type (``True`` is not an int here)."""

    def __init__(self, kind: type | tuple[type, ...], name: str, schema: dict[str, Any]) -> None:
        self._kind = kind
        self._name = name
        self._schema = schema

    def problem(self, value: Any) -> str | None:
        kind = self._kind
        fits = isinstance(value, kind) if isinstance(kind, tuple) else type(value) is kind
        return None if fits else f"expected {self._name}, got {_shown(value)}"

    def schema(self) -> dict[str, Any]:
        return self._schema


class Int(AttrType):
    """A Python int within ``[minimum, maximum]``."""

    def __init__(self, minimum: int = -MAX_INTP - 1, maximum: int = MAX_INTP) -> None:
        self.minimum = minimum
        self.maximum = maximum

    def problem(self, value: Any) -> str | None:
        if type(value) is not int:
            return f"expected an integer, got {_shown(value)}"
        if not self.minimum <= value <= self.maximum:
            return f"{_shown(value)} is outside [{self.minimum}, {self.maximum}]"
        return None

    def schema(self) -> dict[str, Any]:
        return {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}


class Str(AttrType):
    """A string of at most ``max_length`` characters, one of ``options`` if given."""

    def __init__(self, *options: str, max_length: int = 1024) -> None:
        self.options = options
        self.max_length = max_length

    def problem(self, value: Any) -> str | None:
        if type(value) is not str:
            return f"expected a string, got {_shown(value)}"
        if self.options and value not in self.options:
            return f"{value!r} is not one of {', '.join(map(repr, self.options))}"
        if len(value) > self.max_length:
            return f"a string of {len(value)} characters (at most {self.max_length})"
        return None

    def schema(self) -> dict[str, Any]:
        if self.options:
            return {"enum": list(self.options)}
        return {"type": "string", "maxLength": self.max_length}


class TupleOf(AttrType):
    """A tuple of any length up to ``max_length``, each item an ``item``."""

    def __init__(self, item: AttrType, max_length: int | None = None) -> None:
        self.item = item
        self.max_length = max_length

    def problem(self, value: Any) -> str | None:
        if type(value) is not tuple:
            return f"expected an array, got {_shown(value)}"
        if self.max_length is not None and len(value) > self.max_length:
            return f"an array of {len(value)} items (at most {self.max_length})"
        for position, item in enumerate(value):
            problem = self.item.problem(item)
            if problem is not None:
                return f"item {position}: {problem}"
        return None

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "array", "items": self.item.reference()}
        if self.max_length is not None:
            schema["maxItems"] = self.max_length
        return schema

    @property
    def untrusted(self) -> bool:  # type: ignore[override]
        return self.item.untrusted


class Tuple(AttrType):
    """A tuple of fixed length, item by item."""

    def __init__(self, *items: AttrType) -> None:
        self.items = items

    def problem(self, value: Any) -> str | None:
        if type(value) is not tuple or len(value) != len(self.items):
            return f"expected an array of {len(self.items)} items, got {_shown(value)}"
        for position, (kind, item) in enumerate(zip(self.items, value, strict=True)):
            problem = kind.problem(item)
            if problem is not None:
                return f"item {position}: {problem}"
        return None

    def schema(self) -> dict[str, Any]:
        count = len(self.items)
        return {
            "type": "array",
            "prefixItems": [item.reference() for item in self.items],
            "minItems": count,
            "maxItems": count,
        }

    @property
    def untrusted(self) -> bool:  # type: ignore[override]
        return any(item.untrusted for item in self.items)


class Union(AttrType):
    """Any of ``options``."""

    options: tuple[AttrType, ...]

    def __init__(self, *options: AttrType) -> None:
        flat: list[AttrType] = []
        for option in options:
            if isinstance(option, Union) and option.name is None:
                flat.extend(option.options)
            else:
                flat.append(option)
        self.options = tuple(flat)

    def problem(self, value: Any) -> str | None:
        problems = []
        for option in self.options:
            problem = option.problem(value)
            if problem is None:
                return None
            problems.append(problem)
        return " or ".join(dict.fromkeys(problems))

    def schema(self) -> dict[str, Any]:
        return {"anyOf": [option.reference() for option in self.options]}

    @property
    def untrusted(self) -> bool:  # type: ignore[override]
        return any(option.untrusted for option in self.options)


class Record(AttrType):
    """An instance of a registered record class (``graph.register_record``), field by
    field."""

    def __init__(self, cls: type, **fields: AttrType) -> None:
        self.cls = cls
        self.fields = fields

    def problem(self, value: Any) -> str | None:
        if type(value) is not self.cls:
            return f"expected a {self.cls.__name__} record, got {_shown(value)}"
        for name, kind in self.fields.items():
            problem = kind.problem(getattr(value, name))
            if problem is not None:
                return f"field {name}: {problem}"
        return None

    def schema(self) -> dict[str, Any]:
        fields = {
            "type": "object",
            "properties": {name: kind.reference() for name, kind in self.fields.items()},
            "required": list(self.fields),
            "additionalProperties": False,
        }
        record = {
            "type": "array",
            "prefixItems": [{"const": RECORDS_BY_CLASS[self.cls]}, fields],
            "minItems": 2,
            "maxItems": 2,
        }
        return {
            "type": "object",
            "properties": {"record": record},
            "required": ["record"],
            "additionalProperties": False,
        }


class Checked(AttrType):
    """``base`` plus a check no JSON type states (an instruction's attributes are its
    op's). ``check`` returns the problem or None."""

    def __init__(self, base: AttrType, check: Callable[[Any], str | None]) -> None:
        self.base = base
        self.check = check

    def problem(self, value: Any) -> str | None:
        return self.base.problem(value) or self.check(value)

    def schema(self) -> dict[str, Any]:
        return self.base.schema()


class _Never(AttrType):
    """An argument that never becomes an attribute (``out=``, or one the builder turns
    into other nodes): refused if a document holds it."""

    def problem(self, value: Any) -> str | None:
        return "this argument is never an attribute"

    def schema(self) -> dict[str, Any]:
        return {"not": {}}


class _Any(AttrType):
    """Any value the encoding spells (checked by an enclosing ``Checked``)."""

    def problem(self, value: Any) -> str | None:
        return None

    def schema(self) -> dict[str, Any]:
        return {}


class _Python(AttrType):
    """A Python callable, by value (cloudpickle): read only from trusted documents."""

    untrusted = True

    def problem(self, value: Any) -> str | None:
        if callable(value) or isinstance(value, Pickled):
            return None
        return f"expected a function, got {_shown(value)}"

    def schema(self) -> dict[str, Any]:
        return tagged_schema("python")


def _shown(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/$defs/{name}"}


NAMED: dict[str, AttrType] = {}


def named(name: str, kind: AttrType) -> AttrType:
    """``kind``, defined once in the JSON Schema under ``name``."""
    kind.name = name
    NAMED[name] = kind
    return kind


NEVER: AttrType = _Never()
ANY: AttrType = _Any()
PYTHON: AttrType = _Python()
NONE = Exact(type(None), "null", {"type": "null"})
BOOL = Exact(bool, "a boolean", {"type": "boolean"})
FLOAT = Exact(float, "a float", _ref("float"))
COMPLEX = Exact(complex, "a complex", tagged_schema("complex"))
ELLIPSIS = Exact(type(Ellipsis), "an ellipsis", tagged_schema("ellipsis"))
DTYPE = Exact((np.dtype,), "a dtype", tagged_schema("dtype"))
NUMPY_SCALAR = Exact((np.generic,), "a numpy scalar", tagged_schema("scalar"))
LITERAL = Exact(Literal, "a literal", tagged_schema("literal"))
ARRAY_TYPE = Exact(ArrayType, "a type", tagged_schema("type"))

INT = named("int", Int())
SIZE = named("size", Int(0, MAX_INTP))
AXIS = named("axis", Int(-64, 63))  # numpy arrays have at most 64 dimensions
AXES = named("axes", TupleOf(AXIS, 64))
SHAPE = named("shape", TupleOf(SIZE | NONE, 64))
STR = Str()
# a Python int numpy holds: int64's, or uint64's (``uint64_array + 2**63``)
WIDE_INT = named("wide_int", Int(-MAX_INTP - 1, 2 * MAX_INTP + 1))
NUMBER = named("number", Union(BOOL, WIDE_INT, FLOAT, COMPLEX, NUMPY_SCALAR))  # Python's or numpy's
PLAIN = named("plain", Union(NONE, NUMBER, STR))
# ``to_hashable``'s results: plain values, or tuples of them, three levels deep
HASHABLE = named(
    "hashable", Union(PLAIN, TupleOf(Union(PLAIN, TupleOf(Union(PLAIN, TupleOf(PLAIN))))))
)
OPTIONAL_INT = INT | NONE
OPTIONAL_AXIS = AXIS | NONE
OPTIONAL_AXES = AXES | NONE
OPTIONAL_DTYPE = DTYPE | NONE
# a basic index (``ops.indexing.encode_index``): ints, None, Ellipsis, slices
SLICE = Tuple(Str("slice"), OPTIONAL_INT, OPTIONAL_INT, OPTIONAL_INT)
INDEX = named("index", TupleOf(Union(INT, NONE, ELLIPSIS, SLICE), 64))


def optional(kind: AttrType) -> AttrType:
    return kind | NONE


def gives(kind: AttrType) -> Callable[[F], F]:
    """Marks a normalizer (``Param.convert``) with the type of what it returns."""

    def mark(convert: F) -> F:
        convert.attr_type = kind  # type: ignore[attr-defined]
        return convert

    return mark


def of_normalizer(convert: Callable[..., Any]) -> AttrType | None:
    return getattr(convert, "attr_type", None)


# the JSON Schema definitions the types above refer to
DEFINITIONS: Mapping[str, dict[str, Any]] = {
    "float": {"anyOf": [{"type": "number"}, tagged_schema("float")]},
    "type": {
        "type": "array",
        "prefixItems": [
            _DTYPE_TEXT,
            {"type": "array", "items": {"anyOf": [SIZE.schema(), {"type": "null"}]}},
            {"type": "boolean"},
            {"enum": [None, "bool", "int", "float", "complex"]},
        ],
        "minItems": 4,
        "maxItems": 4,
    },
}
