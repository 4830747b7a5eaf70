"""Document to graph, in three passes, none recursive:

1. check: the header and its versions (upgrading an older document), then every node
   (its op is a row of the table, its inputs earlier nodes, its arity, each attribute
   declared by the row and of the declared type), the outputs, the parameters and the
   literal declarations, against the limits: nothing is built, no data is read;
2. read the literals' data (inline, or from the blob store), each checked against the
   content digest that names it;
3. build the nodes through the interning table, each typed by its row's rule (which
   checks it as writing the expression would) and compared with the type written.

Every refusal is a ``GraphFormatError`` naming the JSON pointer of the part at fault.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from lazyarray.errors import (
    BadArity,
    BadAttribute,
    BadLiteral,
    DanglingReference,
    DocumentTooLarge,
    GraphCycle,
    GraphFormatError,
    LazyArrayError,
    UnknownOp,
    UntrustedContent,
)
from lazyarray.graph import Literal, Node, Pickled, Value, adopt_literal
from lazyarray.ops import OPS, OpDef, Trait
from lazyarray.ops.attrtypes import AttrType
from lazyarray.ops.registry import attribute_types
from lazyarray.serialize.limits import Limits
from lazyarray.serialize.literals import declared, decode_literal
from lazyarray.serialize.values import Decoder, LiteralRef, type_of
from lazyarray.serialize.versions import upgrade_document, upgrade_node
from lazyarray.stores.blobs import BlobStore
from lazyarray.types import ArrayType

_HEADER = ("format_version", "graph", "opset", "writer")
_DIGEST = re.compile(r"[0-9a-f]{32}")

# what ``from_dict`` turns the nodes it read into: proxies, once ``lazyarray.proxy`` sets
# it (``serialize.set_wrapper``; this layer cannot import the proxies)
WRAP: list[Callable[[Node], Any]] = [lambda node: node]
_GRAPH = ("literals", "nodes", "outputs", "parameters")


class Checked:
    """A document that passed the first pass: decoded nodes, still unbuilt."""

    def __init__(self) -> None:
        self.ops: list[str] = []
        self.inputs: list[list[int]] = []
        self.attrs: list[dict[str, Any]] = []
        self.types: list[ArrayType] = []
        self.outputs: int | list[int] = 0
        # nodes whose attributes hold what is read after this pass: literals, functions
        self.deferred: list[int] = []
        self.literals: dict[str, Any] = {}
        self.parameters: dict[str, dict[str, Any]] = {}


def check(doc: Any, *, limits: Limits, trusted: bool) -> tuple[Checked, dict[str, Any]]:
    """The first pass; returns the decoded graph and the (upgraded) document."""
    doc = _header(doc)
    graph = doc["graph"]
    checked = Checked()
    literal_entries = _literal_table(graph["literals"], limits)
    referenced: set[str] = set()

    def literal(digest: str, path: str) -> LiteralRef:
        if digest not in literal_entries:
            raise DanglingReference(f"no literal {digest} in the document", path)
        referenced.add(digest)
        return LiteralRef(digest)

    decoder = Decoder(literal, trusted, limits.nesting)
    nodes = graph["nodes"]
    if type(nodes) is not list:
        raise GraphFormatError("nodes is an array", "/graph/nodes")
    if len(nodes) > limits.nodes:
        raise DocumentTooLarge(f"{len(nodes)} nodes (the limit is {limits.nodes})", "/graph/nodes")
    written_opset = doc["opset"]
    depths: list[int] = []
    for index, record in enumerate(nodes):
        path = f"/graph/nodes/{index}"
        op, inputs, attrs, type_ = _record(record, path)
        row = OPS.get(op)
        if row is None:
            raise UnknownOp(f"unknown op {op[:80]!r}", f"{path}/0")
        if row.since > written_opset:
            op, inputs, attrs, type_ = _record(
                upgrade_node(record, written_opset, row.since, path), path
            )
        if Trait.NEEDS_PYTHON in row.traits and not trusted:
            raise UntrustedContent(
                f"op {op!r} runs Python code: read this document with trusted=True only if "
                "you trust its author",
                f"{path}/0",
            )
        depth = 0
        for position, ref in enumerate(inputs):
            if type(ref) is not int or not 0 <= ref < len(nodes):
                raise DanglingReference(f"no node {ref!r}", f"{path}/1/{position}")
            if ref >= index:
                raise GraphCycle(
                    f"node {index} reads node {ref}: inputs come before their users",
                    f"{path}/1/{position}",
                )
            depth = max(depth, depths[ref])
        depths.append(depth + 1)
        if depth + 1 > limits.depth:
            raise DocumentTooLarge(
                f"a chain of {depth + 1} nodes (the limit is {limits.depth})", path
            )
        if row.arity is not None and len(inputs) != row.arity:
            raise BadArity(f"op {op!r} takes {row.arity} inputs, not {len(inputs)}", f"{path}/1")
        decoder.deferred = False
        decoded = _attributes(row, attrs, f"{path}/2", decoder, trusted)
        if row.check is not None and not decoder.deferred:
            _check_node(row, decoded, path)
        checked.attrs.append(decoded)
        if decoder.deferred:
            checked.deferred.append(index)
        checked.ops.append(op)
        checked.inputs.append(inputs)
        checked.types.append(type_of(type_, f"{path}/3"))
    unused = set(literal_entries) - referenced
    if unused:
        raise BadLiteral("a literal no node reads", f"/graph/literals/{min(unused)}")
    checked.outputs = _outputs(graph["outputs"], len(nodes))
    checked.parameters = _parameters(graph["parameters"], checked)
    checked.literals = literal_entries
    return checked, doc


def _header(doc: Any) -> dict[str, Any]:
    if type(doc) is not dict:
        raise GraphFormatError("a graph document is a JSON object", "")
    for key in ("format_version", "opset"):
        value = doc.get(key)
        if type(value) is not int or value < 0:
            raise GraphFormatError(f"{key} is a non-negative integer", f"/{key}")
    doc = upgrade_document(doc)
    if tuple(sorted(doc)) != _HEADER:
        raise GraphFormatError(f"a document has the keys {', '.join(_HEADER)}", "")
    if type(doc["writer"]) is not str or len(doc["writer"]) > 200:
        raise GraphFormatError("writer is a short string", "/writer")
    graph = doc["graph"]
    if type(graph) is not dict or tuple(sorted(graph)) != _GRAPH:
        raise GraphFormatError(f"graph is an object with the keys {', '.join(_GRAPH)}", "/graph")
    return doc  # type: ignore[no-any-return]


def _record(record: Any, path: str) -> tuple[str, list[int], dict[str, Any], list[Any]]:
    if type(record) is not list or len(record) != 4:
        raise GraphFormatError("a node is [op, inputs, attributes, type]", path)
    op, inputs, attrs, type_ = record
    if type(op) is not str:
        raise UnknownOp(f"an op is named by a string, not {type(op).__name__}", f"{path}/0")
    if type(inputs) is not list:
        raise GraphFormatError("a node's inputs are an array of node positions", f"{path}/1")
    if type(attrs) is not dict:
        raise GraphFormatError("a node's attributes are an object", f"{path}/2")
    return op, inputs, attrs, type_


def _attributes(
    row: OpDef, attrs: dict[str, Any], path: str, decoder: Decoder, trusted: bool
) -> dict[str, Any]:
    if not attrs:
        return attrs
    declared = attribute_types(row)
    decoded: dict[str, Any] = {}
    for name, value in attrs.items():
        kind = declared.get(name) if type(name) is str else None
        if kind is None:
            shown = str(name)[:80]
            raise BadAttribute(
                f"op {row.name!r} has no attribute {shown!r}", f"{path}/{_step(shown)}"
            )
        if kind.untrusted and not trusted:
            raise UntrustedContent(
                f"attribute {name!r} holds Python code: read it with trusted=True only if "
                "you trust its author",
                f"{path}/{name}",
            )
        before = decoder.deferred
        decoder.deferred = False
        result = decoder.value(value, f"{path}/{name}")
        if not decoder.deferred:  # else checked once its literals are read
            _check_value(kind, result, f"{path}/{name}")
        decoder.deferred = decoder.deferred or before
        decoded[name] = result
    return decoded


def _step(key: str) -> str:
    """``key`` as one step of a JSON pointer (RFC 6901)."""
    return key.replace("~", "~0").replace("/", "~1")


def _check_node(row: OpDef, attrs: dict[str, Any], path: str) -> None:
    problem = row.check(attrs)  # type: ignore[misc]
    if problem is not None:
        raise BadAttribute(problem, f"{path}/2")


def _check_value(kind: AttrType, value: Any, path: str) -> None:
    problem = kind.problem(value)
    if problem is not None:
        raise BadAttribute(problem, path)


def _literal_table(table: Any, limits: Limits) -> dict[str, Any]:
    if type(table) is not dict:
        raise GraphFormatError("literals is an object", "/graph/literals")
    total = 0
    for digest, entry in table.items():
        path = f"/graph/literals/{digest}"
        if type(digest) is not str or not _DIGEST.fullmatch(digest):
            raise BadLiteral("a literal is named by its 32-digit content digest", path)
        total += declared(entry, path)[2]
        if total > limits.literal_bytes:
            raise DocumentTooLarge(f"literals of more than {limits.literal_bytes} bytes", path)
    return table


def _outputs(outputs: Any, count: int) -> int | list[int]:
    single = type(outputs) is int
    refs = [outputs] if single else outputs
    if type(refs) is not list or not refs:
        raise GraphFormatError("outputs is a node position or an array of them", "/graph/outputs")
    for position, ref in enumerate(refs):
        if type(ref) is not int or not 0 <= ref < count:
            path = "/graph/outputs" if single else f"/graph/outputs/{position}"
            raise DanglingReference(f"no node {ref!r}", path)
    return outputs  # type: ignore[no-any-return]


def _parameters(table: Any, checked: Checked) -> dict[str, dict[str, Any]]:
    """The parameters section must list exactly the parameter nodes, as declared."""
    if type(table) is not dict:
        raise GraphFormatError("parameters is an object", "/graph/parameters")
    found: dict[str, dict[str, Any]] = {}
    for op, attrs, type_ in zip(checked.ops, checked.attrs, checked.types, strict=True):
        if Trait.ARGUMENT in OPS[op].traits:
            found[str(attrs.get("name"))] = declaration(type_)
    for name in table:
        if type(name) is not str:
            raise BadAttribute("a parameter is named by a string", "/graph/parameters")
    for name in sorted(set(found) | set(table)):
        if table.get(name) != found.get(name):
            problem = "not a parameter of the graph" if name not in found else "not as declared"
            raise BadAttribute(f"parameter {name!r}: {problem}", f"/graph/parameters/{_step(name)}")
    return table


def declaration(type_: ArrayType) -> dict[str, Any]:
    """A parameter as the parameters section declares it."""
    return {"dtype": type_.dtype.str, "shape": list(type_.shape), "masked": type_.masked}


def read_literals(
    checked: Checked, blobs: BlobStore | None, limits: Limits, trusted: bool
) -> dict[str, Literal]:
    """The second pass: each literal's array, checked against its digest; a literal
    with these contents alive in the process is reused (so are the nodes holding it)."""
    decoder = Decoder(_no_literal, trusted, limits.nesting)
    found: dict[str, Literal] = {}
    for digest, entry in checked.literals.items():
        path = f"/graph/literals/{digest}"
        found[digest] = adopt_literal(
            decode_literal(entry, digest, path, blobs, limits, decoder), digest
        )
    return found


def _no_literal(digest: str, path: str) -> Any:
    raise BadLiteral("a literal's fill value is a scalar", path)


def build(checked: Checked, literals: Mapping[str, Literal]) -> list[Node]:
    """The third pass: the nodes, in order (a custom function unpickled here: only a
    trusted reader's first pass lets one through)."""
    for index in checked.deferred:
        path = f"/graph/nodes/{index}/2"
        attrs = checked.attrs[index]
        declared = attribute_types(OPS[checked.ops[index]])
        for name, value in attrs.items():
            attrs[name] = _resolve(value, literals)
            _check_value(declared[name], attrs[name], f"{path}/{name}")
        row = OPS[checked.ops[index]]
        if row.check is not None:
            _check_node(row, attrs, f"/graph/nodes/{index}")
    built: list[Node] = []
    for index, (op, refs, attrs, type_) in enumerate(
        zip(checked.ops, checked.inputs, checked.attrs, checked.types, strict=True)
    ):
        path = f"/graph/nodes/{index}"
        inputs = tuple([built[ref] for ref in refs])
        key = tuple(sorted(attrs.items())) if len(attrs) > 1 else tuple(attrs.items())
        try:
            node = Node.make(op, inputs, key, _rule(OPS[op], inputs, attrs, type_))
        except Exception as exc:  # a rule given what no builder gives it (no attribute)
            problem = exc if isinstance(exc, LazyArrayError) else f"{type(exc).__name__}: {exc}"
            raise GraphFormatError(f"op {op!r} refuses this node: {problem}", path) from exc
        if node.type != type_ and not _refines(node.type, type_):
            raise GraphFormatError(
                f"the type written, {_shown_type(type_)}, is not the op's {_shown_type(node.type)}",
                f"{path}/3",
            )
        built.append(node)
    return built


def _refines(inferred: ArrayType, written: ArrayType) -> bool:
    """Whether the op's type is the written one with sizes the writer did not know (a
    size that depends on values, known when the data cannot change: the writer's data
    could, the reader's cannot; or a type rule that learned since). The written type
    stands: the document is read to the graph it holds, with its digest."""
    return (
        inferred.with_(shape=written.shape) == written
        and len(inferred.shape) == len(written.shape)
        and all([w is None or w == i for i, w in zip(inferred.shape, written.shape, strict=True)])
    )


def _rule(row: OpDef, inputs: tuple[Node, ...], attrs: dict[str, Any], written: ArrayType) -> Any:
    def infer() -> ArrayType:
        inferred = row.infer(inputs, attrs)
        return written if _refines(inferred, written) else inferred

    return infer


def _resolve(value: Any, literals: Mapping[str, Literal], load: bool = True) -> Any:
    """``value`` with its literal references replaced by the literals read, and its
    functions unpickled (with ``load``)."""
    if isinstance(value, LiteralRef):
        return literals[value.digest]
    if isinstance(value, Pickled):
        return _load(value) if load else value
    if type(value) is tuple:
        return tuple([_resolve(item, literals, load) for item in value])
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a record: a named tuple
        return type(value)(*[_resolve(item, literals, load) for item in value])
    if isinstance(value, Value):
        return type(value)(*[_resolve(item, literals, load) for item in value.values()])
    return value


def _load(pickled: Pickled) -> Any:
    try:
        return pickled.load()
    except Exception as exc:
        raise BadAttribute(f"a function that does not unpickle: {exc}", "") from exc


def _shown_type(type_: ArrayType) -> str:
    masked = " masked" if type_.masked else ""
    return f"{type_.dtype} {type_.shape}{masked}"
