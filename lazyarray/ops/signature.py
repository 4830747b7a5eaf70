"""How an op takes its arguments: the inputs that become the node's edges, and the
attributes, each with its default and the normalizer that makes it canonical.

One generic binder serves every op from its row, so argument handling is written once,
and a node rebuilt from its own attributes is the same interned node: normalizers are
idempotent, and an attribute equal to its (normalized) default is left out.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from lazyarray.errors import LazyArrayError, OpArgumentError
from lazyarray.graph import Attrs, Node, attribute_float_bits
from lazyarray.ops.attrtypes import AttrType, of_normalizer

# (value, the op's input nodes) -> the canonical, hashable attribute value. A converter
# reads only the inputs' types (``node.type``): its result for a default is remembered
# per input types, since building a node converts every default
Convert = Callable[[Any, tuple[Node, ...]], Any]


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


def as_is(value: Any, inputs: tuple[Node, ...]) -> Any:
    return value


@dataclasses.dataclass(frozen=True, slots=True)
class Param:
    """One attribute as the user passes it. ``attr`` names the node attribute it sets
    when that differs from ``name`` (numpy's ``ddof`` and the standard's ``correction``
    both set ``ddof``). ``default`` must be the implementation's own default."""

    name: str
    convert: Convert = as_is
    default: Any = REQUIRED
    keyword: bool = False  # keyword-only
    attr: str | None = None
    stored: bool = False  # kept on the node even when it is the default (passes read it)
    # the type of the attribute it sets, where its normalizer does not state one (``gives``)
    schema: AttrType | None = None

    @property
    def target(self) -> str:
        return self.attr or self.name

    @property
    def attr_type(self) -> AttrType | None:
        """The declared type of the attribute this argument sets (graph documents)."""
        return self.schema if self.schema is not None else of_normalizer(self.convert)


class Bound(NamedTuple):
    """An op's normalized attributes: as type rules and expansions read them (shared
    between calls, so never modified) and as the node's interning key holds them."""

    attrs: Mapping[str, Any]
    key: Attrs
    floats: tuple[str, ...]  # ``graph.attribute_float_bits(key)``

    @classmethod
    def of(cls, attrs: Mapping[str, Any]) -> Bound:
        key = tuple(sorted(attrs.items()))
        return cls(attrs, key, attribute_float_bits(key))


class Inputs(enum.Enum):
    """How the array arguments are passed."""

    EACH = "each"  # one positional argument per input: f(x, y)
    SEQUENCE = "sequence"  # one argument holding them all: f([x, y])
    VARIADIC = "variadic"  # the rest of the positional arguments: f(x, y, z)


@dataclasses.dataclass(frozen=True, slots=True)
class Signature:
    """The arguments of one surface of an op (its module function; numpy's, for NEP 18
    and methods, where that differs)."""

    inputs: tuple[str, ...] = ("x",)
    params: tuple[Param, ...] = ()
    passing: Inputs = Inputs.EACH
    positional_only: bool = True  # the inputs, as the array API standard writes them
    # derived once from the fields above: binding runs for every node a builder makes
    _positional: tuple[Param, ...] = dataclasses.field(init=False, repr=False, compare=False)
    _names: frozenset[str] = dataclasses.field(init=False, repr=False, compare=False)
    _shared_targets: bool = dataclasses.field(init=False, repr=False, compare=False)
    _variadic: bool = dataclasses.field(init=False, repr=False, compare=False)
    _each: bool = dataclasses.field(init=False, repr=False, compare=False)
    _sequence: bool = dataclasses.field(init=False, repr=False, compare=False)
    # input types -> each param's normalized default (``REQUIRED`` where it fails)
    _defaults: dict[tuple[Any, ...], tuple[Any, ...]] = dataclasses.field(
        init=False, repr=False, compare=False
    )
    # (input types, plain values) -> the attributes they normalize to
    _remembered: dict[tuple[Any, ...], tuple[tuple[str, Any], ...]] = dataclasses.field(
        init=False, repr=False, compare=False
    )
    # a call's key (``call_key``) -> the attributes it binds and normalizes to
    _calls: dict[tuple[Any, ...], Bound] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        derived = {
            "_positional": tuple([p for p in self.params if not p.keyword]),
            "_names": frozenset([p.name for p in self.params]),
            "_shared_targets": len({p.target for p in self.params}) < len(self.params),
            "_variadic": self.passing is Inputs.VARIADIC,
            "_each": self.passing is Inputs.EACH,
            "_sequence": self.passing is Inputs.SEQUENCE,
            "_defaults": {},
            "_remembered": {},
            "_calls": {},
        }
        for field, value in derived.items():
            object.__setattr__(self, field, value)

    def inputs_first(self, args: Sequence[Any]) -> bool:
        """Whether ``args`` pass every input, first and by position: the attributes are
        then the rest of the arguments, whatever the inputs are."""
        return self._each and len(args) >= len(self.inputs)

    def call_key(
        self, inputs: tuple[Node, ...], args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> tuple[Any, ...] | None:
        """What a call's attributes depend on, for ``recall``: its input types and its
        other arguments (``args`` holds the ``inputs`` first, see ``inputs_first``).
        None where an argument is not plain (see ``_plain_key``)."""
        values = (*args[len(inputs) :], *kwargs.values())
        kinds = tuple(map(type, values))
        if not _plain(values, kinds):
            return None
        types = (inputs[0].type,) if len(inputs) == 1 else tuple([n.type for n in inputs])
        return (types, tuple(kwargs), values, kinds)

    def recall(self, key: tuple[Any, ...]) -> Bound | None:
        """The attributes remembered for a call of this ``call_key``: binding a call
        repeated on other arrays (a method in a loop) is one lookup."""
        return self._calls.get(key)

    def remember(self, key: tuple[Any, ...], bound: Bound) -> Bound:
        """Remembers ``bound`` for ``recall`` (a few hundred calls at most)."""
        if len(self._calls) >= 256:
            self._calls.clear()
        self._calls[key] = bound
        return bound

    def bind(
        self, name: str, args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> tuple[list[Any], dict[str, Any]]:
        """The input values and the raw attribute values, by Python's binding rules."""
        count = len(self.inputs)
        rest: Sequence[Any]
        if self._variadic:
            inputs, rest = list(args), ()
        elif not self._sequence and len(args) >= count:  # every input given by position
            inputs, rest = list(args[:count]), args[count:]
        else:
            rest, kwargs = list(args), dict(kwargs)
            if self._sequence:
                inputs = list(_pop_input(name, self.inputs[0], rest, kwargs, self.positional_only))
            else:
                inputs = [
                    _pop_input(name, n, rest, kwargs, self.positional_only) for n in self.inputs
                ]
        positional = self._positional
        if len(rest) > len(positional):
            taken = len(self.inputs) + len(positional)
            raise OpArgumentError(
                f"{name}() takes {taken} positional arguments but "
                f"{taken + len(rest) - len(positional)} were given"
            )
        values: dict[str, Any] = {}
        for param, value in zip(positional, rest, strict=False):
            values[param.name] = value
        if kwargs:
            known = self._names
            for key, value in kwargs.items():
                if key not in known or key in values:
                    problem = (
                        "got multiple values for argument"
                        if key in values
                        else ("got an unexpected keyword argument")
                    )
                    raise OpArgumentError(f"{name}() {problem} '{key}'")
                values[key] = value
        return inputs, values

    def attributes(
        self, name: str, values: Mapping[str, Any], inputs: tuple[Node, ...]
    ) -> dict[str, Any]:
        """The canonical attributes: normalized, defaults left out. Remembered per input
        types and plain values (``x.sum(axis=0)`` again and again)."""
        plain = _plain_key(values)
        if plain is None:
            return self._attributes(name, values, inputs)
        key = (tuple([node.type for node in inputs]), plain)
        found = self._remembered.get(key)
        if found is None:
            found = self._remembered[key] = tuple(self._attributes(name, values, inputs).items())
            if len(self._remembered) > 256:
                self._remembered.clear()
        return dict(found)

    def _attributes(
        self, name: str, values: Mapping[str, Any], inputs: tuple[Node, ...]
    ) -> dict[str, Any]:
        if not self._names.issuperset(values):
            unknown = set(values) - self._names
            raise OpArgumentError(f"{name}() got an unexpected keyword argument '{min(unknown)}'")
        if self._shared_targets:
            return self._shared_attributes(name, values, inputs)
        attrs: dict[str, Any] = {}
        defaults = self.defaults(inputs)
        for param, default in zip(self.params, defaults, strict=True):
            if param.name in values:
                value = values[param.name]
                if value is param.default and default is not REQUIRED:
                    if param.stored:  # the default itself: its normalized value
                        attrs[param.attr or param.name] = default
                    continue
                converted = param.convert(value, inputs)
                if param.stored or not _same(converted, default):
                    attrs[param.attr or param.name] = converted
            elif param.default is REQUIRED:
                raise OpArgumentError(f"{name}() missing required argument: '{param.name}'")
            else:
                if default is REQUIRED:  # the default does not hold for these inputs
                    param.convert(param.default, inputs)  # raises why
                if param.stored:
                    attrs[param.attr or param.name] = default
        return attrs

    def defaults(self, inputs: tuple[Node, ...]) -> tuple[Any, ...]:
        """Each param's default normalized for inputs of these types (``REQUIRED`` where
        it has none or it does not hold, as an axis the inputs lack)."""
        types = tuple([node.type for node in inputs])
        found = self._defaults.get(types)
        if found is None:
            found = tuple([_default(param, inputs) for param in self.params])
            if len(self._defaults) >= 256:
                self._defaults.clear()
            self._defaults[types] = found
        return found

    def _shared_attributes(
        self, name: str, values: Mapping[str, Any], inputs: tuple[Node, ...]
    ) -> dict[str, Any]:
        """``attributes`` where two parameters set one attribute (``ddof``, ``correction``):
        at most one of them may be given."""
        attrs: dict[str, Any] = {}
        given: dict[str, str] = {}
        for param in self.params:
            if param.name in values:
                if param.target in given:
                    raise OpArgumentError(
                        f"{name}() got both '{given[param.target]}' and '{param.name}'"
                    )
                given[param.target] = param.name
        for param in self.params:
            if param.target in attrs or (param.name not in values and given.get(param.target)):
                continue
            if param.name not in values and param.default is REQUIRED:
                raise OpArgumentError(f"{name}() missing required argument: '{param.name}'")
            if param.name in values:
                converted = param.convert(values[param.name], inputs)
                keep = param.stored or not _same(converted, _default(param, inputs))
            else:  # the default must hold for these inputs (an axis may be required)
                converted = param.convert(param.default, inputs)
                keep = param.stored
            if keep:
                attrs[param.target] = converted
        return attrs

    def python_signature(self) -> inspect.Signature:
        """What ``inspect.signature`` shows for the generated function."""
        kind = (
            inspect.Parameter.POSITIONAL_ONLY
            if self.positional_only
            else inspect.Parameter.POSITIONAL_OR_KEYWORD
        )
        if self.passing is Inputs.VARIADIC:
            parameters = [inspect.Parameter(self.inputs[0], inspect.Parameter.VAR_POSITIONAL)]
        else:
            parameters = [inspect.Parameter(n, kind) for n in self.inputs]
        for param in self.params:
            parameters.append(
                inspect.Parameter(
                    param.name,
                    inspect.Parameter.KEYWORD_ONLY
                    if param.keyword or self.passing is Inputs.VARIADIC
                    else inspect.Parameter.POSITIONAL_OR_KEYWORD,
                    default=inspect.Parameter.empty if param.default is REQUIRED else param.default,
                )
            )
        return inspect.Signature(parameters)


def _pop_input(
    name: str, input_name: str, args: list[Any], kwargs: dict[str, Any], positional_only: bool
) -> Any:
    if args:
        return args.pop(0)
    if not positional_only and input_name in kwargs:
        return kwargs.pop(input_name)
    raise OpArgumentError(f"{name}() missing required argument: '{input_name}'")


def _default(param: Param, inputs: tuple[Node, ...]) -> Any:
    """The normalized default, or ``REQUIRED`` where it does not hold for ``inputs``."""
    if param.default is REQUIRED:
        return REQUIRED
    try:
        return param.convert(param.default, inputs)
    except LazyArrayError:
        return REQUIRED


_PLAIN_KINDS = frozenset({type(None), bool, int, str, float, tuple})
_INT = frozenset({int})


def _plain_key(values: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """``values`` as a key telling apart what normalizes differently (1 from True, 0.0
    from -0.0), or None where the values are not plain: None, bools, ints, strings,
    nonzero floats, tuples of ints."""
    items = tuple(values.values())
    kinds = tuple(map(type, items))
    if not _plain(items, kinds):
        return None
    return (tuple(values.items()), kinds)


def _plain(values: tuple[Any, ...], kinds: tuple[type, ...]) -> bool:
    """Whether ``values`` (of types ``kinds``) are plain: equal keys must mean equal
    values, so no zero float (0.0 == -0.0), no NaN, and tuples of ints only
    ((1,) == (True,))."""
    if not _PLAIN_KINDS.issuperset(kinds):
        return False
    if float not in kinds and tuple not in kinds:
        return True
    for value in values:
        kind = type(value)
        if kind is float and not (value and value == value):
            return False
        if kind is tuple and not _INT.issuperset(map(type, value)):
            return False
    return True


def _same(a: Any, b: Any) -> bool:
    """Attribute equality as interning sees it: by type and value (``True != 1`` here)."""
    return type(a) is type(b) and a == b
