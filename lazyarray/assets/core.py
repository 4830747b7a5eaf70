"""Assets: resources a run uses, each with a scope that says how long it lives.

An ``Asset`` is configured by an ``AssetSpec`` (id, type name, scope, params, depends)
and lives between ``init`` (which sets ``obj``) and ``deinit``. A plain class or function
becomes an asset type with ``Asset.wrap``. Standard library only: backends use this.
"""

from __future__ import annotations

import copy
import dataclasses
import enum
import inspect
import keyword
import re
from collections.abc import Callable, Generator, Iterable, Mapping
from types import MappingProxyType
from typing import Any, ClassVar

from lazyarray.errors import AssetSpecError


class AssetScope(enum.StrEnum):
    """How long an asset lives, from the widest scope to the narrowest."""

    runner = "runner"  # as long as the backend or server that runs computations
    process = "process"  # one compute call; opened before it runs, closed after
    node = "node"  # one step: one node of the plan as the backend runs it

    @property
    def depth(self) -> int:
        """0 for ``runner``, 1 for ``process``, 2 for ``node``: a deeper scope ends first."""
        return _DEPTHS[self]


_DEPTHS = {AssetScope.runner: 0, AssetScope.process: 1, AssetScope.node: 2}
# a type is a name looked up in a table, never a path to import: no dots, no colons
_TYPE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
RESERVED_IDS = frozenset({"assets", "self"})


def check_id(value: Any) -> str:
    """``value`` if it can be an asset's id (a Python identifier: dependencies are passed
    by id as keyword arguments), else ``AssetSpecError``."""
    if not isinstance(value, str) or not value.isidentifier() or keyword.iskeyword(value):
        raise AssetSpecError(f"an asset id must be a Python identifier, not {value!r}")
    if value in RESERVED_IDS:
        raise AssetSpecError(f"{value!r} is reserved and cannot be an asset id")
    return value


def check_type_name(value: Any) -> str:
    """``value`` if it can name an asset type, else ``AssetSpecError``."""
    if not isinstance(value, str) or not _TYPE_NAME.match(value):
        hint = (
            "; asset types are found by name (built in, or registered in the entry-point "
            "group 'lazyarray.assets'), never imported from a path"
            if isinstance(value, str) and any(c in value for c in ".:/")
            else ""
        )
        raise AssetSpecError(f"an asset type is a name such as 'scratch_dir', not {value!r}{hint}")
    return value


def check_scope(value: Any) -> AssetScope:
    try:
        return AssetScope(value)
    except ValueError:
        raise AssetSpecError(
            f"an asset scope is one of {', '.join(s.value for s in AssetScope)}, not {value!r}"
        ) from None


@dataclasses.dataclass(frozen=True)
class AssetSpec:
    """One asset's configuration: what ``AssetSpecification`` (pydantic, YAML) reads into.

    >>> AssetSpec("tmp", "scratch_dir", "process").scope
    <AssetScope.process: 'process'>
    """

    id: str
    type: str
    scope: AssetScope = AssetScope.process
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    depends: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_id(self.id)
        check_type_name(self.type)
        object.__setattr__(self, "scope", check_scope(self.scope))
        params = {} if self.params is None else self.params
        if not isinstance(params, Mapping) or not all(isinstance(k, str) for k in params):
            raise AssetSpecError(
                f"asset {self.id!r}: params must map names to values, not {params!r}"
            )
        object.__setattr__(self, "params", MappingProxyType(dict(params)))
        depends = () if self.depends is None else self.depends
        if isinstance(depends, str) or not isinstance(depends, Iterable):
            raise AssetSpecError(
                f"asset {self.id!r}: depends must be a list of asset ids, not {depends!r}"
            )
        object.__setattr__(self, "depends", tuple(check_id(d) for d in depends))

    def __hash__(self) -> int:
        return hash((self.id, self.type, self.scope, self.depends, _frozen(self.params)))

    def __reduce__(self) -> tuple[Any, ...]:  # params' read-only view does not pickle
        return (AssetSpec, (self.id, self.type, self.scope.value, dict(self.params), self.depends))


def _frozen(value: Any) -> Any:
    """A hashable stand-in for params (nested dicts and lists)."""
    if isinstance(value, Mapping):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    try:
        hash(value)
    except TypeError:
        return id(value)
    return value


class Asset:
    """A resource with a scope. Subclasses override ``init`` (set ``self.obj``) and
    ``deinit`` (release it); both default to nothing. ``dependencies`` holds the objects
    of the assets named in ``depends``, by id, when ``init`` runs.

    >>> class Counter(Asset):
    ...     def init(self) -> None:
    ...         self.obj = self.params.get("start", 0)
    >>> counter = Counter("counter", scope="runner", params={"start": 3})
    >>> counter.init(); counter.obj
    3
    """

    # the name this type is known by where it is registered (the table, entry points)
    type_name: ClassVar[str] = ""
    # what this asset provides to a backend running under it, if anything: "client"
    # (the dask client a computation runs on), "kernel_pool" (the numpy backend's threads)
    provides: ClassVar[str | None] = None
    # the params this type takes; None: any (the type does not say)
    param_names: ClassVar[frozenset[str] | None] = None

    def __init__(
        self,
        id: str,  # noqa: A002 - the seed's name for it
        *,
        scope: AssetScope | str = AssetScope.process,
        params: Mapping[str, Any] | None = None,
        depends: Iterable[str] = (),
        type: str | None = None,  # noqa: A002 - the spec's field
    ) -> None:
        name = type or self.type_name or _type_name(self.__class__)
        self.spec = AssetSpec(id, name, check_scope(scope), params or {}, tuple(depends))
        self.obj: Any = None
        self.dependencies: dict[str, Any] = {}
        known = self.accepted_params()
        unknown = [key for key in self.spec.params if known is not None and key not in known]
        if unknown:
            takes = ", ".join(sorted(known or ())) or "none"
            raise AssetSpecError(
                f"asset {id!r} (type {name!r}): unknown param(s) {', '.join(unknown)}; "
                f"it takes {takes}"
            )

    @classmethod
    def accepted_params(cls) -> frozenset[str] | None:
        """The names of the params this type takes, or None when it takes any."""
        return cls.param_names

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def scope(self) -> AssetScope:
        return self.spec.scope

    @property
    def params(self) -> Mapping[str, Any]:
        return self.spec.params

    @property
    def depends(self) -> tuple[str, ...]:
        return self.spec.depends

    def init(self) -> None:
        """Makes the resource (sets ``obj``). Default: nothing."""

    def deinit(self) -> None:
        """Releases the resource. Default: nothing."""

    def update(self, obj: Any) -> None:
        """Replaces the object a node sees (an asset a step changes for the next)."""
        self.obj = obj

    def fresh(self) -> Asset:
        """A copy of this configured asset, not yet initialized: each opening of a scope
        gets its own, so two computations never share a process or node asset."""
        clone = copy.copy(self)
        clone.obj = None
        clone.dependencies = {}
        return clone

    @classmethod
    def from_specification(cls, spec: AssetSpec | Mapping[str, Any] | Any) -> Asset:
        """The asset ``spec`` describes, of the type its ``type`` names (looked up among
        the built-in, registered and entry-point types) or of ``cls`` when called on a
        subclass."""
        from lazyarray.assets.registry import asset_type

        spec = as_spec(spec)
        kind = asset_type(spec.type) if cls is Asset else cls
        return kind(
            spec.id, scope=spec.scope, params=spec.params, depends=spec.depends, type=spec.type
        )

    @staticmethod
    def wrap(target: type[Any] | Callable[..., Any], name: str | None = None) -> type[Asset]:
        """An asset type for a plain class or function: ``init`` calls it with the
        dependencies (by id) and params as keyword arguments, and its result is ``obj``.
        A context manager is entered at ``init`` and exited at ``deinit``; a generator
        function runs to its ``yield`` (the object) and is resumed at ``deinit``; an
        object with ``close()`` is closed.

        >>> Pair = Asset.wrap(lambda a, b: (a, b), name="pair")
        >>> pair = Pair("p", params={"a": 1, "b": 2}); pair.init(); pair.obj
        (1, 2)
        """
        if isinstance(target, type) and issubclass(target, Asset):
            return target
        label = name or _type_name(target)
        base: type[Asset] = WrapClassAsset if isinstance(target, type) else WrapFuncAsset
        wrapped = staticmethod(target) if base is WrapFuncAsset else target
        return type(
            f"{base.__name__}[{label}]",
            (base,),
            {"target": wrapped, "type_name": label, "__module__": __name__},
        )

    def __repr__(self) -> str:
        spec = self.spec
        return f"<{type(self).__name__} {spec.id!r} type={spec.type!r} scope={spec.scope.value}>"


class _Wrapped(Asset):
    """What both wrappers share: call the target, keep what must be undone."""

    target: ClassVar[Callable[..., Any]]

    @classmethod
    def accepted_params(cls) -> frozenset[str] | None:
        """The target's keyword parameters (the dependencies' among them); None when it
        takes ``**kwargs`` or has no signature to read."""
        try:
            parameters = inspect.signature(cls.target).parameters.values()
        except (TypeError, ValueError):
            return None
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
            return None
        taken = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        return frozenset(p.name for p in parameters if p.kind in taken)

    def init(self) -> None:
        made = self.target(**self.dependencies, **self.params)
        self._undo: Callable[[], Any] | None = None
        if isinstance(made, Generator):
            self.obj = next(made)
            self._undo = lambda: next(made, None)
        elif hasattr(made, "__enter__") and hasattr(made, "__exit__"):
            self.obj = made.__enter__()
            self._undo = lambda: made.__exit__(None, None, None)
        else:
            self.obj = made
            close = getattr(made, "close", None)
            self._undo = close if callable(close) else None

    def deinit(self) -> None:
        undo, self._undo = getattr(self, "_undo", None), None
        self.obj = None
        if undo is not None:
            undo()


class WrapClassAsset(_Wrapped):
    """A class as an asset: instantiated at ``init`` with the params."""


class WrapFuncAsset(_Wrapped):
    """A function as an asset: it takes the role of ``__init__``; its result is ``obj``."""


def _type_name(target: Any) -> str:
    name = getattr(target, "__name__", "") or type(target).__name__
    name = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return name if _TYPE_NAME.match(name) else f"asset_{name}"


def as_spec(value: Any) -> AssetSpec:
    """An ``AssetSpec`` from one, from an ``AssetSpecification`` (anything with
    ``to_spec``), or from a mapping (read through ``AssetSpecification``, pydantic)."""
    if isinstance(value, AssetSpec):
        return value
    if isinstance(value, Asset):
        return value.spec
    to_spec = getattr(value, "to_spec", None)
    if callable(to_spec):
        spec: AssetSpec = to_spec()
        return spec
    if isinstance(value, Mapping):
        from lazyarray.assets.specification import AssetSpecification

        return AssetSpecification.parse(value).to_spec()
    raise AssetSpecError(
        f"an asset is an Asset, an AssetSpec, an AssetSpecification or a dict, not "
        f"{type(value).__name__}"
    )
