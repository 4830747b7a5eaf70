"""The graph document: a stable, code-free JSON format for expression graphs
(``docs/graph-format.md``).

>>> import lazyarray as la
>>> x = la.parameter("x", la.Array, dtype="float64")
>>> y = (x * 2.0).sum()
>>> text = la.to_json(y)
>>> la.from_json(text).node is y.node
True
>>> la.serialize.graph_digest(la.serialize.to_dict(y)) == y.node.digest
True
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator
from typing import Any

from lazyarray.graph import Literal, Node, canonical_json, encode_attrs, encode_type
from lazyarray.graph import outputs_digest as _outputs_digest
from lazyarray.graph import record_digest as _record_digest
from lazyarray.serialize import reader as _reader
from lazyarray.serialize.limits import DEFAULT as _DEFAULT_LIMITS
from lazyarray.serialize.limits import Limits
from lazyarray.serialize.schema import schema
from lazyarray.serialize.text import parse as _parse
from lazyarray.serialize.versions import (
    FORMAT_VERSION,
    opset,
    register_format_upgrader,
    register_op_upgrader,
)
from lazyarray.serialize.writer import to_dict as _to_dict
from lazyarray.stores.blobs import BlobStore
from lazyarray.version import __version__


def set_wrapper(wrap: Callable[[Node], Any]) -> None:
    """Makes ``from_dict`` return ``wrap(node)``: proxies, once ``lazyarray.proxy`` is
    imported (it calls this; this layer cannot import it)."""
    _reader.WRAP[0] = wrap


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Writing and reading make a few objects per node and no cycles: the cyclic
    collector, run over the whole heap every so many allocations, would make a large
    document cost more per node than a small one."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def to_dict(
    obj: Any, *, blobs: BlobStore | None = None, inline_bytes: int = 65536
) -> dict[str, Any]:
    """The document of a lazy array, or of a tuple or list of them (read back as a
    tuple). Literals of more than ``inline_bytes`` bytes go to ``blobs`` by digest
    (``blob_references`` lists them); without ``blobs`` every literal is inline."""
    with _gc_paused():
        return _to_dict(obj, blobs=blobs, inline_bytes=inline_bytes, version=__version__)


def to_json(obj: Any, *, blobs: BlobStore | None = None, inline_bytes: int = 65536) -> str:
    """``to_dict`` as canonical JSON text: the same graph gives the same text."""
    with _gc_paused():
        return str(canonical_json(to_dict(obj, blobs=blobs, inline_bytes=inline_bytes)))


def nodes_from_dict(
    doc: Any,
    *,
    blobs: BlobStore | None = None,
    trusted: bool = False,
    limits: Limits | None = None,
) -> tuple[list[Node], bool]:
    """The output nodes of a document, and whether it holds one output (not a tuple)."""
    limits = limits or _DEFAULT_LIMITS
    with _gc_paused():
        checked, _ = _reader.check(doc, limits=limits, trusted=trusted)
        literals = _reader.read_literals(checked, blobs, limits, trusted)
        built = _reader.build(checked, literals)
    outputs = checked.outputs
    if isinstance(outputs, int):
        return [built[outputs]], True
    return [built[ref] for ref in outputs], False


def from_dict(
    doc: Any,
    *,
    blobs: BlobStore | None = None,
    trusted: bool = False,
    limits: Limits | None = None,
) -> Any:
    """The lazy array (or tuple of them) a document holds. Nothing is built until the
    whole document is checked; ``GraphFormatError`` names the part at fault. Python
    code (custom functions) is read only with ``trusted=True``."""
    nodes, single = nodes_from_dict(doc, blobs=blobs, trusted=trusted, limits=limits)
    wrap = _reader.WRAP[0]
    return wrap(nodes[0]) if single else tuple([wrap(node) for node in nodes])


def from_json(
    text: str | bytes,
    *,
    blobs: BlobStore | None = None,
    trusted: bool = False,
    limits: Limits | None = None,
) -> Any:
    """``from_dict`` of JSON text, whose size and nesting are checked before it is
    parsed."""
    if not isinstance(text, str | bytes | bytearray):
        raise TypeError(
            f"from_json reads JSON text (str or bytes), not a {type(text).__name__}; a "
            "document already parsed (a dict) is read by la.serialize.from_dict"
        )
    limits = limits or _DEFAULT_LIMITS
    with _gc_paused():
        doc = _parse(text, limits)
    return from_dict(doc, blobs=blobs, trusted=trusted, limits=limits)


def loads(text: str | bytes, limits: Limits | None = None) -> Any:
    """JSON text as a document (a dict), parsed with the reader's checks, unbuilt."""
    with _gc_paused():
        return _parse(text, limits or _DEFAULT_LIMITS)


def graph_digest(doc: Any, *, limits: Limits | None = None) -> str:
    """The identity of a document's graph: its output node's digest (the digest of
    ``outputs_digest`` for a tuple), computed from the document without building it,
    literals named by the content digests the document gives them (functions are
    digested by their pickles, never unpickled)."""
    checked, _ = _reader.check(doc, limits=limits or _DEFAULT_LIMITS, trusted=True)
    stand_ins: dict[str, Literal] = {}
    for digest in checked.literals:
        literal = stand_ins[digest] = Literal(None)
        literal._digest = digest
    in_literals = set(checked.deferred)
    digests: list[str] = []
    for index, (op, refs, attrs, type_) in enumerate(
        zip(checked.ops, checked.inputs, checked.attrs, checked.types, strict=True)
    ):
        if index in in_literals:
            attrs = {
                name: _reader._resolve(value, stand_ins, load=False)
                for name, value in attrs.items()
            }
        digests.append(
            _record_digest(
                op,
                [digests[ref] for ref in refs],
                encode_attrs(tuple(attrs.items())),
                encode_type(type_),
            )
        )
    outputs = checked.outputs
    if isinstance(outputs, int):
        return digests[outputs]
    return _outputs_digest([digests[ref] for ref in outputs])


def blob_references(doc: Any) -> list[str]:
    """The digests of the blobs a document's literals are kept in, each once, sorted."""
    checked, _ = _reader.check(doc, limits=_DEFAULT_LIMITS, trusted=True)
    found = {
        array["blob"]
        for entry in checked.literals.values()
        for key in ("data", "mask")
        if key in entry and "blob" in (array := entry[key])
    }
    return sorted(found)


def parameters(doc: Any) -> dict[str, dict[str, Any]]:
    """A document's parameters: ``{name: {"dtype": str, "shape": [size or None],
    "masked": bool}}``."""
    checked, _ = _reader.check(doc, limits=_DEFAULT_LIMITS, trusted=True)
    return {name: dict(declared) for name, declared in checked.parameters.items()}


__all__ = [
    "FORMAT_VERSION",
    "Limits",
    "blob_references",
    "from_dict",
    "from_json",
    "graph_digest",
    "loads",
    "nodes_from_dict",
    "opset",
    "parameters",
    "register_format_upgrader",
    "register_op_upgrader",
    "schema",
    "set_wrapper",
    "to_dict",
    "to_json",
]
