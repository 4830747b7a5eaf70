"""Versions of the format, after ONNX: a document records the version of its layout
(``format_version``) and the op-set its ops' meanings come from (``opset``).

Each op row carries ``since``, the op-set in which its meaning last changed; the op-set
of this lazyarray is the largest. A writer records the oldest op-set that covers its
graph (the largest ``since`` among the ops it uses), so a document that uses no changed
op stays readable by older readers. A released meaning never changes: a change is a
new ``since`` for the row and an upgrader that rewrites a node of the old meaning into
the new one. A reader refuses a newer format or op-set than it knows (never guessing)
and brings an older document up to date through the chain of upgraders: format
upgraders first (version v to v + 1, on the whole document), then each node's op
upgraders, in op-set order.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from lazyarray.errors import GraphFormatError, UnsupportedFormatVersion
from lazyarray.ops import OPS

FORMAT_VERSION = 1

# a document of format ``v`` -> the same document in format ``v + 1``
DocumentUpgrader = Callable[[dict[str, Any]], dict[str, Any]]
# a node record ``[op, inputs, attributes, type]`` of the op's meaning before op-set
# ``n`` -> the record of its meaning in op-set ``n``
NodeUpgrader = Callable[[list[Any]], list[Any]]

FORMAT_UPGRADERS: dict[int, DocumentUpgrader] = {}
OP_UPGRADERS: dict[str, dict[int, NodeUpgrader]] = {}


def opset() -> int:
    """The op-set of this lazyarray: the newest meaning of any op."""
    return max([row.since for row in OPS.values()], default=1)


@dataclasses.dataclass(frozen=True)
class Registration:
    """Undoes a registration (tests register upgraders for a while)."""

    remove: Callable[[], None]


def register_format_upgrader(version: int, upgrade: DocumentUpgrader) -> Registration:
    """``upgrade`` turns a document of format ``version`` into format ``version + 1``."""
    if version in FORMAT_UPGRADERS:
        raise ValueError(f"an upgrader from format {version} is registered already")
    FORMAT_UPGRADERS[version] = upgrade
    return Registration(lambda: _forget(FORMAT_UPGRADERS, version))


def register_op_upgrader(op: str, opset_: int, upgrade: NodeUpgrader) -> Registration:
    """``upgrade`` turns a node of ``op`` written before op-set ``opset_`` into one of
    the meaning ``op`` has since op-set ``opset_`` (the row's ``since``, when that is its
    last change)."""
    versions = OP_UPGRADERS.setdefault(op, {})
    if opset_ in versions:
        raise ValueError(f"an upgrader of {op!r} to op-set {opset_} is registered already")
    versions[opset_] = upgrade
    return Registration(lambda: _forget(versions, opset_))


def _forget(table: dict[int, Any], key: int) -> None:
    table.pop(key, None)


def upgrade_document(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` in this lazyarray's format (its op-set checked, not yet applied)."""
    version = doc["format_version"]
    if version > FORMAT_VERSION:
        raise UnsupportedFormatVersion(
            f"format version {version} is newer than this lazyarray reads "
            f"({FORMAT_VERSION}): upgrade lazyarray to read it",
            "/format_version",
        )
    while version < FORMAT_VERSION:
        upgrade = FORMAT_UPGRADERS.get(version)
        if upgrade is None:
            raise UnsupportedFormatVersion(
                f"format version {version} has no upgrader to {version + 1}", "/format_version"
            )
        doc = _guarded(upgrade, doc, "/format_version")
        if not isinstance(doc, dict) or doc.get("format_version") != version + 1:
            raise GraphFormatError(f"the upgrader from format {version} failed", "")
        version += 1
    newest = opset()
    if doc["opset"] > newest:
        raise UnsupportedFormatVersion(
            f"op-set {doc['opset']} is newer than this lazyarray knows ({newest}): "
            "upgrade lazyarray to read it",
            "/opset",
        )
    return doc


def upgrade_node(record: list[Any], written: int, since: int, path: str) -> list[Any]:
    """A node record of an op-set ``written`` document whose op's meaning dates from
    op-set ``since`` (> ``written``), through that op's upgraders."""
    op = record[0]
    upgraders = OP_UPGRADERS.get(op, {})
    if since not in upgraders:
        raise UnsupportedFormatVersion(
            f"op {op!r} has its meaning of op-set {since}, and no upgrader brings a node "
            f"written for op-set {written} to it",
            f"{path}/0",
        )
    for version in sorted(upgraders):
        if written < version <= since:
            record = _guarded(upgraders[version], record, path)
            if not isinstance(record, list) or len(record) != 4 or record[0] != op:
                raise GraphFormatError(f"the upgrader of {op!r} to op-set {version} failed", path)
    return record


def _guarded(upgrade: Callable[[Any], Any], value: Any, path: str) -> Any:
    """An upgrader reads unvalidated input: whatever it raises is the document's fault."""
    try:
        return upgrade(value)
    except GraphFormatError:
        raise
    except Exception as exc:
        raise GraphFormatError(f"an upgrader refused the document: {exc}", path) from exc
