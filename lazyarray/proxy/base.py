"""``BaseArray``: a proxy holding one graph node, and the conversions into nodes.

Proxies are thin: every operation builds a node through ``lazyarray.ops.apply``; methods
and operators are attached from the op tables by ``lazyarray.proxy.methods``.
"""

from __future__ import annotations

import html
import math
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from lazyarray.errors import CastError, ShapeError
from lazyarray.execution import check_implicit_compute, compute
from lazyarray.execution.elements import NOT_READ, read_element
from lazyarray.execution.explain import human_bytes
from lazyarray.graph import Literal, Node, Site, count_nodes, find
from lazyarray.ops import Trait, has
from lazyarray.ops.creation import constant_node
from lazyarray.types import WEAK_PYTHON_TYPES, Shape, shape_text

if TYPE_CHECKING:
    from lazyarray.proxy.dtype import DType

_CLASSES: dict[str, type[BaseArray]] = {}


def wrap(node: Node) -> Any:
    """The proxy class for a node: Scalar for rank 0, MaskedArray or Array otherwise."""
    type_ = node.type
    if not type_.shape:
        cls = _CLASSES["Scalar"]
    elif type_.masked:
        cls = _CLASSES["MaskedArray"]
    else:
        cls = _CLASSES["Array"]
    proxy = _new_proxy(cls)
    proxy._node = node
    return proxy


_new_proxy = object.__new__


def constant(value: Any, site: Site | None = None) -> Node:
    """A literal as a node: no copy, no pass over the data (its digest is computed only
    if a cache key or serialization needs it). ``site``: the user's line, if read."""
    if isinstance(value, (np.ndarray, np.generic)) or type(value) in WEAK_PYTHON_TYPES:
        return constant_node(value, site)
    return constant_node(_as_ndarray(value), site)


def _as_ndarray(value: Any) -> np.ndarray[Any, Any]:
    if isinstance(value, (list, tuple)) and any(hasattr(v, "__lazyarray_node__") for v in value):
        raise CastError(
            "a list mixing lazy arrays cannot become a literal; use la.stack or la.concatenate"
        )
    array = np.asarray(value)
    if isinstance(value, list | tuple | range):  # built here: nobody else can write it
        array.flags.writeable = False
    if array.dtype.kind not in "biufcmM":
        raise CastError(
            f"cannot make a lazyarray literal from {type(value).__name__} "
            f"(numpy dtype {array.dtype})"
        )
    return array


def as_node(value: Any, site: Site | None = None) -> Node:
    """A proxy's node, or a literal's constant node (built at ``site``, if given)."""
    node = getattr(value, "_node", None)
    if type(node) is Node:
        return node
    return constant(value, site)


class BaseArray:
    """Common surface of ``Array``, ``MaskedArray`` and ``Scalar``."""

    __slots__ = ("_chunks", "_node")
    _node: Node
    __hash__: ClassVar[None] = None  # type: ignore[assignment]  # == is elementwise
    __array_priority__ = 1000

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _CLASSES[cls.__name__] = cls

    @property
    def __lazyarray_node__(self) -> Node:
        return self._node

    # --- known without computing ----------------------------------------------------
    @property
    def dtype(self) -> DType:
        from lazyarray.proxy.dtype import DType

        return DType(self._node.type.dtype)

    @property
    def shape(self) -> Shape:
        """Sizes known without computing; ``None`` where only running can tell."""
        return self._node.type.shape

    @property
    def ndim(self) -> int:
        return self._node.type.ndim

    @property
    def size(self) -> int | None:
        return self._node.type.size

    @property
    def nbytes(self) -> int | None:
        size = self.size
        return None if size is None else size * self._node.type.dtype.itemsize

    @property
    def masked(self) -> bool:
        return self._node.type.masked

    @property
    def literal_value(self) -> Any:
        """The Python or numpy value this proxy was built from, or None."""
        if not has(self._node, Trait.LITERAL):
            return None
        value = self._node.attr("value")
        return value.value if isinstance(value, Literal) else value

    @property
    def params(self) -> tuple[Any, ...]:
        """The parameters this expression depends on, sorted by name."""
        if not self._node.has_parameters:
            return ()
        nodes = find([self._node], lambda n: has(n, Trait.ARGUMENT))
        return tuple(wrap(n) for n in sorted(nodes, key=lambda n: n.attr("name")))

    @property
    def node(self) -> Node:
        return self._node

    # --- blocks: how xarray (and dask) see the array cut ------------------------------
    @property
    def chunks(self) -> tuple[tuple[float, ...], ...]:
        """The block sizes along each dimension, as dask spells them: those ``rechunk``
        recorded on this proxy, else the last recorded on its expression (copies keep
        them) or on the nearest input of its shape it is computed from (an elementwise
        chain keeps its inputs' chunks), else one block per dimension (NaN where the
        size is unknown). They are what xarray aligns and writes by; the backends cut
        the work their own way."""
        recorded: tuple[tuple[float, ...], ...] | None = getattr(self, "_chunks", None)
        if recorded is not None:
            return recorded
        inherited = _inherited_chunks(self._node)
        if inherited is not None:
            return inherited
        return tuple((math.nan,) if size is None else (size,) for size in self.shape)

    def rechunk(self, chunks: Any) -> Any:
        """The same expression, recording ``chunks``: one entry per dimension, each a
        block size (the last block may be smaller; -1 or None: the whole dimension) or
        the tuple of the block sizes; one int stands for every dimension. They are also
        recorded on the expression, for its copies and for expressions of its shape
        built from it."""
        proxy = wrap(self._node)
        proxy._chunks = _block_sizes(chunks, self.shape)
        _CHUNKS_OF[self._node] = proxy._chunks
        return proxy

    # --- running ----------------------------------------------------------------------
    def compute(
        self,
        format: str = "pyarrow",  # noqa: A002 - the reference API's keyword
        destination: Any = "download",
        file: Any = None,
        timeout: float | None = None,
        block: bool = True,
        progress_bar: bool | None = None,
        cache: bool = True,
        num_retries: int | None = None,
        backend: Any = None,
        client: Any = None,
        server: str | None = None,
        assets: Any = None,
        **arguments: Any,
    ) -> Any:
        """Runs the expression and returns its value (or a job, with ``block=False``).
        ``client`` is a scheduler handle for backends that take one (a
        ``distributed.Client`` for ``backend="dask"``); ``server`` a lazyarray server's
        URL (``backend="remote"``). ``destination`` sends the result elsewhere and
        returns what it says: ``repo.destination("name")`` (or ``"artifact://name"``
        with the ``artifacts`` option) saves it as the artifact's next version and
        returns that version's record. ``assets`` are the run's scoped resources
        (``lazyarray.assets``: specs, a YAML file; default the ``assets`` option).

        >>> import lazyarray as la
        >>> (la.arange(4) * 2).compute()
        array([0, 2, 4, 6])
        """
        return compute(
            [self._node],
            format=format,
            destination=destination,
            file=file,
            timeout=timeout,
            block=block,
            progress_bar=progress_bar,
            cache=cache,
            num_retries=num_retries,
            backend=backend,
            client=client,
            server=server,
            assets=assets,
            arguments=arguments,
            unpack=True,
        )

    def inspect(
        self,
        format: str = "pyarrow",  # noqa: A002
        file: Any = None,
        cache: bool = True,
        timeout: float | None = None,
        backend: Any = None,
        client: Any = None,
        server: str | None = None,
        **arguments: Any,
    ) -> Any:
        """The quick path: no retries, no progress bar, a default timeout (None: the
        ``inspect_timeout`` option, 60 s); a server answers it synchronously
        (``POST /v1/inspect``). ``client`` and ``server`` mean what they mean to
        ``compute``."""
        from lazyarray.config import options

        return compute(
            [self._node],
            format=format,
            file=file,
            cache=cache,
            progress_bar=False,
            timeout=options.inspect_timeout if timeout is None else timeout,
            num_retries=0,
            backend=backend,
            client=client,
            server=server,
            arguments=arguments,
            unpack=True,
            quick=True,
        )

    def explain(self, stage: str | None = None) -> str:
        """The optimized plan, with its estimates: ``print(x.explain())``. With ``stage``,
        the graph right after that planner stage."""
        from lazyarray.execution.explain import explain

        return explain([self._node], stage)

    def visualize(self) -> Any:
        """The plan as a graph: ``graphviz.Source`` if installed, else DOT text."""
        from lazyarray.execution.explain import visualize

        return visualize([self._node])

    def compute_shape(self, **arguments: Any) -> tuple[int, ...]:
        """The shape, computing the array if some size is unknown."""
        if None not in self.shape:
            return self.shape  # type: ignore[return-value]
        return tuple(np.shape(self.compute(**arguments)))

    def _implicit(self, what: str) -> Any:
        check_implicit_compute(what)
        return self.compute()

    def _implicit_element(self, what: str) -> Any:
        """``_implicit`` for a 0-d array: an element of a small settled array is read
        from that array's value, computed once (``execution/elements.py``)."""
        check_implicit_compute(what)
        value = read_element(self._node)
        return self.compute() if value is NOT_READ else value

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray[Any, Any]:
        value = np.asarray(self._implicit("np.asarray(x)"))
        return value if dtype is None else value.astype(dtype, copy=False)

    def __bool__(self) -> bool:
        if self.size != 1:
            raise ValueError(
                "The truth value of an array with more than one element is ambiguous. "
                "Use a.any() or a.all()"
            )
        return bool(self._implicit_element("bool(x)"))

    def __int__(self) -> int:
        self._refuse_complex("int")
        return int(self._scalar_value("int(x)"))

    def __float__(self) -> float:
        self._refuse_complex("float")
        return float(self._scalar_value("float(x)"))

    def _refuse_complex(self, to: str) -> None:
        if self._node.type.dtype.kind == "c":  # the standard: never drop the imaginary part
            raise CastError(f"{to}() argument must be a real number, not a complex array")

    def __complex__(self) -> complex:
        return complex(self._scalar_value("complex(x)"))

    def __index__(self) -> int:
        if self._node.type.dtype.kind not in "iub":
            raise TypeError("only integer scalar arrays can be converted to a scalar index")
        return int(self._scalar_value("operator.index(x)"))

    def _scalar_value(self, what: str) -> Any:
        if self.size != 1:
            raise TypeError("only length-1 arrays can be converted to Python scalars")
        return np.asarray(self._implicit_element(what)).reshape(())[()]

    def item(self, *index: Any) -> Any:
        """One element as a Python scalar, computed (as ``ndarray.item``)."""
        return np.asanyarray(self.compute()).item(*index)

    def tolist(self) -> Any:
        """Nested Python lists, computed (as ``ndarray.tolist``; masked: ``None``)."""
        return np.asanyarray(self.compute()).tolist()

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of unsized object")
        first = self.shape[0]
        if first is None:
            raise TypeError(
                "len() of an array whose length is known only after computing; "
                "use x.compute_shape()[0]"
            )
        return first

    def __iter__(self) -> Iterator[Any]:
        for index in range(len(self)):
            yield self[index]  # type: ignore[index]

    # --- display ----------------------------------------------------------------------
    def _describe(self) -> str:
        t = self._node.type
        shape = shape_text(t.shape)
        params = ", ".join(p._node.attr("name") for p in self.params)
        extra = f" params=[{params}]" if params else ""
        return (
            f"shape={shape} dtype={t.dtype}{' masked' if t.masked else ''} "
            f"nodes={count_nodes([self._node])}{extra}"
        )

    def __repr__(self) -> str:
        return f"<lazyarray.{type(self).__name__} {self._describe()}>"

    def _repr_inline_(self, max_width: int) -> str:
        """xarray's one-line summary of a variable's data (as dask's), never computing."""
        t = self._node.type
        blocks = tuple(max(sizes) if sizes else 0 for sizes in self.chunks)
        text = (
            f"lazyarray.{type(self).__name__}<{self._node.op}, chunksize={blocks}, "
            f"nodes={count_nodes([self._node])}{', masked' if t.masked else ''}>"
        )
        return text if len(text) <= max_width else text[: max(max_width - 3, 0)] + "..."

    def _repr_html_(self) -> str:
        t = self._node.type
        rows = {
            "op": self._node.op,
            "shape": shape_text(t.shape),
            "dtype": str(t.dtype),
            "masked": "yes" if t.masked else "no",
            "nodes": str(count_nodes([self._node])),
            "size": human_bytes(self.nbytes),
            "built at": self._node.site_text,
        }
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
            f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
            for k, v in rows.items()
        )
        return f"<b>lazyarray.{type(self).__name__}</b><table>{body}</table>"


# the chunks last recorded on each expression (by ``rechunk``), while it lives
_CHUNKS_OF: weakref.WeakKeyDictionary[Node, tuple[tuple[float, ...], ...]] = (
    weakref.WeakKeyDictionary()
)
_INHERIT_LIMIT = 64  # nodes looked at when searching the inputs for recorded chunks


def _inherited_chunks(node: Node) -> tuple[tuple[float, ...], ...] | None:
    """The chunks recorded on ``node`` or on the nearest input of its shape reached
    through nodes of that shape (breadth first, a few dozen nodes at most)."""
    if not _CHUNKS_OF:
        return None
    shape = node.type.shape
    queue, seen = [node], {node}
    for current in queue:
        found = _CHUNKS_OF.get(current)
        if found is not None:
            return found
        if len(seen) > _INHERIT_LIMIT:
            return None
        for child in current.inputs:
            if child not in seen and child.type.shape == shape:
                seen.add(child)
                queue.append(child)
    return None


def _block_sizes(chunks: Any, shape: Shape) -> tuple[tuple[float, ...], ...]:
    """``chunks`` as a tuple of block sizes per dimension, checked against ``shape``
    (dask's wording)."""
    if isinstance(chunks, int) or chunks is None:
        chunks = (chunks,) * len(shape)
    chunks = tuple(chunks)
    if len(chunks) != len(shape):
        raise ShapeError(
            f"Chunks and shape must be of the same length/dimension. Got chunks={chunks}, "
            f"shape={shape}"
        )
    blocks: list[tuple[float, ...]] = []
    for entry, size in zip(chunks, shape, strict=True):
        if size is None:
            blocks.append((math.nan,))
        elif isinstance(entry, tuple | list):
            if any(not isinstance(b, int) or b < 0 for b in entry) or sum(entry) != size:
                raise ShapeError(f"Chunks do not add up to shape. Got chunks={tuple(entry)}, "
                                 f"shape={size}")  # fmt: skip
            blocks.append(tuple(entry))
        elif size == 0:
            blocks.append((0,))
        elif entry is None or entry == -1 or (isinstance(entry, int) and entry >= size > 0):
            blocks.append((size,))
        elif isinstance(entry, int) and entry > 0:
            blocks.append((entry,) * (size // entry) + ((size % entry,) if size % entry else ()))
        else:
            raise ShapeError(f"a block size is a positive int, -1 or None, not {entry!r}")
    return tuple(blocks)
