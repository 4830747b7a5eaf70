"""``publish``, ``use``, ``Workflow``: the user's side of a registry.

A version's graph is stored as a graph document (``lazyarray.serialize``), its large
literals as blobs; its identity is the graph's digest, the digest of its output node,
which is also what keys the result cache.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Sequence
from typing import Any

from lazyarray import serialize
from lazyarray.errors import (
    ArgumentError,
    BadLiteral,
    CorruptBlob,
    RegistryError,
    UnsupportedOperation,
    VersionConflict,
    VersionNotFound,
    WorkflowNotFound,
)
from lazyarray.graph import Node, find
from lazyarray.ops import Trait, has
from lazyarray.proxy import BaseArray, Function
from lazyarray.proxy.function import describe
from lazyarray.stores.names import check_name, check_workflow_id, split_workflow_id
from lazyarray.types import ArrayType, as_dtype
from lazyarray.workflows import metadata, versions
from lazyarray.workflows.registry import (
    Argument,
    Publication,
    Registry,
    VersionRecord,
    WorkflowRecord,
    conflict,
    open_registry,
)


def _time(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC)


class WorkflowVersion:
    """One published version: its metadata, and its graph (``object``)."""

    def __init__(self, record: VersionRecord, registry: Registry) -> None:
        self._record = record
        self._registry = registry

    @property
    def id(self) -> str:
        """The workflow's id, ``owner:name``."""
        return self._record.id

    @property
    def version(self) -> str:
        return self._record.version

    @property
    def docstring(self) -> str:
        return self._record.docstring

    @property
    def labels(self) -> dict[str, Any]:
        return dict(self._record.labels)

    @property
    def graph_digest(self) -> str:
        """The graph's identity: its output node's digest, the same in every process."""
        return self._record.graph_digest

    @property
    def arguments(self) -> tuple[Argument, ...]:
        """The parameters as declared, in positional order (empty: not a function)."""
        return self._record.arguments

    @property
    def result(self) -> dict[str, Any]:
        """The result's type: ``{"dtype", "shape", "masked"}``."""
        return dict(self._record.result)

    @property
    def created(self) -> datetime.datetime:
        """When it was published (UTC)."""
        return _time(self._record.created)

    @property
    def prerelease(self) -> bool:
        return versions.is_prerelease(self.version)

    @property
    def object(self) -> Any:
        """The published graph: a lazy array, or a ``Function`` of its parameters."""
        return _load(self._registry, self._record)

    @property
    def signature(self) -> str:
        """``(x: Array[float64, (?,)], threshold: Scalar[float64]) -> Scalar[int64]``."""
        arguments = self._record.arguments
        star = "*, " if arguments and not arguments[0].positional else ""
        shown = ", ".join(f"{a.name}: {_declared(a)}" for a in arguments)
        return f"({star}{shown}) -> {_declared(self._record.result)}"

    def update(self, *, docstring: str | None = None, labels: Any = None) -> WorkflowVersion:
        """Changes the docstring or the labels (the graph never changes)."""
        changes: dict[str, Any] = {}
        if docstring is not None:
            changes["docstring"] = metadata.docstring(docstring)
        if labels is not None:
            changes["labels"] = metadata.labels(labels, "version labels")
        if changes:
            self._record = self._registry.update_version(self.id, self.version, changes)
        return self

    def delete(self) -> None:
        """Deletes this version for good: its number can never be published again."""
        self._registry.delete_version(self.id, self.version)

    def __repr__(self) -> str:
        return f"<lazyarray.WorkflowVersion {self.id} {self.version} {self.signature}>"


def _declared(declared: Any) -> str:
    if isinstance(declared, Argument):
        dtype, shape, masked = declared.dtype, declared.shape, declared.masked
    else:
        dtype, shape, masked = declared["dtype"], tuple(declared["shape"]), declared["masked"]
    return describe(ArrayType(as_dtype(dtype), tuple(shape), bool(masked)))


class Workflow:
    """A published workflow: metadata, and its versions, sorted by semver.

    >>> import lazyarray as la, tempfile
    >>> folder = tempfile.TemporaryDirectory()  # a registry is a folder
    >>> x = la.parameter("x", la.Array, dtype="float64")
    >>> (x * 2).publish("alice:double", "1.0.0", title="Double", registry=folder.name)
    <lazyarray.Workflow alice:double title='Double'>
    >>> workflow = la.Workflow.get("alice:double", registry=folder.name)
    >>> [version.version for version in workflow.versions]
    ['1.0.0']
    >>> workflow.use()(x=[1.0, 2.0]).compute()
    array([2., 4.])
    >>> folder.cleanup()
    """

    def __init__(self, record: WorkflowRecord, registry: Registry) -> None:
        self._record = record
        self._registry = registry

    @classmethod
    def get(cls, id: str, registry: Any = None) -> Workflow:
        """The workflow ``id`` (``owner:name``) of the registry (default: the
        ``registry`` option, then a per-user folder)."""
        check_workflow_id(id)
        found = open_registry(registry)
        return cls(found.get_workflow(id), found)

    @property
    def id(self) -> str:
        """``owner:name``."""
        return self._record.id

    @property
    def owner(self) -> str:
        return split_workflow_id(self._record.id)[0]

    @property
    def name(self) -> str:
        return split_workflow_id(self._record.id)[1]

    @property
    def title(self) -> str:
        return self._record.title

    @property
    def description(self) -> str:
        return self._record.description

    @property
    def labels(self) -> dict[str, Any]:
        return dict(self._record.labels)

    @property
    def tags(self) -> list[str]:
        return list(self._record.tags)

    @property
    def created(self) -> datetime.datetime:
        """When it was first published (UTC)."""
        return _time(self._record.created)

    @property
    def updated(self) -> datetime.datetime:
        """When its metadata last changed (UTC)."""
        return _time(self._record.updated)

    @property
    def registry(self) -> Registry:
        """Where it is kept."""
        return self._registry

    @property
    def versions(self) -> tuple[WorkflowVersion, ...]:
        """Its versions (deleted ones left out), oldest first by semver precedence."""
        records = self._registry.list_versions(self.id)
        records.sort(key=lambda record: versions.parse(record.version))
        return tuple(WorkflowVersion(record, self._registry) for record in records)

    @property
    def latest(self) -> WorkflowVersion | None:
        """The highest version that is not a pre-release, or None."""
        return _latest(self._registry, self.id, required=False)

    def get_version(self, version: str) -> WorkflowVersion:
        versions.check(version)
        return WorkflowVersion(self._registry.get_version(self.id, version), self._registry)

    def delete_version(self, version: str) -> None:
        """Deletes a version for good: its number can never be published again."""
        versions.check(version)
        self._registry.delete_version(self.id, version)

    def use(self, version: str | None = None) -> Any:
        """``la.use(self.id, version)``, from this workflow's registry."""
        return use(self.id, version, registry=self._registry)

    def update(
        self,
        *,
        title: str | None = None,
        description: str | None = None,
        labels: Any = None,
        tags: Any = None,
    ) -> Workflow:
        """Changes the metadata given (``None`` keeps a field as it is)."""
        changes: dict[str, Any] = {}
        if title is not None:
            changes["title"] = metadata.title(title)
        if description is not None:
            changes["description"] = metadata.description(description)
        if labels is not None:
            changes["labels"] = metadata.labels(labels)
        if tags is not None:
            changes["tags"] = metadata.tags(tags)
        if changes:
            self._record = self._registry.update_workflow(self.id, changes)
        return self

    def refresh(self) -> Workflow:
        """Reads the metadata again (another process may have changed it)."""
        self._record = self._registry.get_workflow(self.id)
        return self

    def __repr__(self) -> str:
        return f"<lazyarray.Workflow {self.id} title={self.title!r}>"


def _latest(registry: Registry, id: str, required: bool = True) -> WorkflowVersion | None:
    records = {record.version: record for record in registry.list_versions(id)}
    chosen = versions.latest(records)
    if chosen is None:
        if not required:
            return None
        pre = versions.ordered(records)
        raise VersionNotFound(
            f"{id} has no released version"
            + (f" (its pre-releases: {', '.join(pre)}; name one)" if pre else "")
        )
    return WorkflowVersion(records[chosen], registry)


def _load(registry: Registry, record: VersionRecord) -> Any:
    """A version's graph, read from its verified document: a ``Function`` when it has
    arguments, else a lazy array."""
    where = f"{record.id} {record.version}"
    document = registry.read_document(record)
    try:
        obj = serialize.from_dict(document, blobs=registry.blobs)
    except BadLiteral as exc:
        if isinstance(exc.__cause__, CorruptBlob):
            raise CorruptBlob(f"{where}: {exc.__cause__}") from exc
        raise
    if obj.node.digest != record.graph_digest:
        raise RegistryError(
            f"the document of {where} holds the graph {obj.node.digest}, not the one "
            f"published ({record.graph_digest})"
        )
    if not record.arguments:
        return obj
    names = [argument.name for argument in record.arguments]
    positional = record.arguments[0].positional
    return Function(
        obj, names if positional else None, name=f"{record.id}@{record.version}",
        doc=record.docstring,
    )  # fmt: skip


def use(id: str, version: str | None = None, registry: Any = None) -> Any:
    """A published workflow's graph: a lazy array, or, when it has parameters, a
    ``Function`` to call with arguments. ``version=None`` is the highest version that is
    not a pre-release."""
    check_workflow_id(id)
    found = open_registry(registry)
    if version is None:
        chosen = _latest(found, id)
        assert chosen is not None
        record = chosen._record
    else:
        record = found.get_version(id, versions.check(version))
    return _load(found, record)


def list_workflows(
    registry: Any = None, owner: str | None = None, tag: str | None = None
) -> list[Workflow]:
    """The workflows of the registry, sorted by id: those of ``owner`` or with ``tag``
    when given."""
    if owner is not None:
        check_name(owner, "owner")
    if tag is not None:
        metadata.tags([tag])
    found = open_registry(registry)
    return [Workflow(record, found) for record in found.list_workflows(owner=owner, tag=tag)]


def _body(obj: Any, parameters: Sequence[str] | None) -> Function:
    """What ``publish`` stores: the object as a function of its parameters (none for a
    plain expression), in the positional order of ``parameters``."""
    if isinstance(obj, Function):
        if parameters is None and obj.positional:
            parameters = obj.names
        return Function(obj.node, parameters)
    if not isinstance(obj, BaseArray):
        raise ArgumentError(f"publish takes a lazy array or a Function, not {type(obj).__name__}")
    return Function(obj.node, parameters)


def _arguments(function: Function) -> tuple[Argument, ...]:
    return tuple(
        Argument(
            name=name,
            dtype=node.type.dtype.str,
            shape=node.type.shape,
            masked=node.type.masked,
            positional=function.positional,
        )
        for name, node in zip(function.names, (p.node for p in function.params), strict=True)
    )


def _refuse_code(node: Node, id: str) -> None:
    found = find([node], lambda n: has(n, Trait.NEEDS_PYTHON))
    if found:
        raise UnsupportedOperation(
            f"{id} cannot be published: op {found[0].op!r} (built at {found[0].site_text}) "
            "runs Python code, and a published workflow holds none"
        )


def publish(
    obj: Any,
    id: str,
    version: str,
    title: str = "",
    description: str = "",
    labels: Any = None,
    tags: Any = None,
    docstring: str = "",
    version_labels: Any = None,
    registry: Any = None,
    parameters: Sequence[str] | None = None,
) -> Workflow:
    """Publishes ``obj`` (a lazy array or a ``Function``) as version ``version`` of the
    workflow ``id``; an expression with parameters becomes a function of them, by
    keyword, or also by position in the order of ``parameters``.

    A new workflow takes ``title``, ``description``, ``labels`` and ``tags``; for an
    existing one, those given (not empty) replace its own. Publishing a version again
    with the same graph and arguments is a no-op; anything else under a stored or deleted
    version number raises ``VersionConflict``."""
    check_workflow_id(id)
    versions.check(version)
    function = _body(obj, parameters)
    node = function.node
    _refuse_code(node, id)
    result = {"dtype": node.type.dtype.str, "shape": list(node.type.shape),
              "masked": node.type.masked}  # fmt: skip
    draft = Publication(
        id=id,
        version=version,
        document={},
        graph_digest=node.digest,
        arguments=_arguments(function),
        result=result,
        docstring=metadata.docstring(docstring),
        version_labels=metadata.labels(version_labels, "version labels"),
        title=metadata.title(title) or None,  # empty: keeps an existing workflow's
        description=metadata.description(description) or None,
        labels=metadata.labels(labels) or None,
        tags=metadata.tags(tags) or None,
    )
    target = open_registry(registry, create=True)
    try:  # publishing again: a no-op, or a conflict found before any blob is written
        stored = target.get_version(id, version)
    except (WorkflowNotFound, VersionNotFound):
        stored = None
    if stored is not None:
        problem = conflict(stored.graph_digest, stored.arguments, draft)
        if problem is not None:
            raise VersionConflict(problem)
        return Workflow(target.get_workflow(id), target)
    document = serialize.to_dict(function.body, blobs=target.blobs)
    target.publish(dataclasses.replace(draft, document=document))
    return Workflow(target.get_workflow(id), target)
