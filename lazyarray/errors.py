"""One exception hierarchy.

Errors raised while an expression is *written* subclass the builtin numpy would raise
(``ValueError``, ``TypeError``, ``IndexError``), so ``except ValueError`` works exactly as
it does with eager numpy code; errors raised while it *runs* are ``ComputeError``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class LazyArrayError(Exception):
    """Base of every error lazyarray raises on purpose."""


# --- raised when an expression is written --------------------------------------------


class ShapeError(LazyArrayError, ValueError):
    """Shapes that do not broadcast, reshape or concatenate."""


class AxisError(LazyArrayError, np.exceptions.AxisError):
    """An axis out of range for the array's rank."""

    def __init__(self, message: str) -> None:
        np.exceptions.AxisError.__init__(self, message)
        self.args = (message,)

    def __str__(self) -> str:
        return str(self.args[0])


class CastError(LazyArrayError, TypeError):
    """A dtype combination numpy refuses (``ufunc`` loops, ``same_kind`` casting)."""


class LazyIndexError(LazyArrayError, IndexError):
    """An index that is out of bounds or of an unsupported form."""


class ValueOverflowError(LazyArrayError, OverflowError):
    """A Python integer that does not fit the array's integer dtype."""


class MaskError(LazyArrayError, np.ma.MaskError):
    """A mask that does not fit its data."""


class LinAlgError(LazyArrayError, np.linalg.LinAlgError):
    """An array that is not a matrix (or a stack of them) where numpy.linalg needs one.
    A matrix it cannot factor (singular, not positive definite) is known only when it
    runs: a ``ComputeError`` then chains numpy's own ``LinAlgError``."""


class OpArgumentError(LazyArrayError, TypeError):
    """An op argument of the wrong kind, e.g. a tuple axis where numpy takes one int."""


class OpValueError(LazyArrayError, ValueError):
    """An op argument of the right kind with a value numpy refuses (``where=`` on ``min``
    without ``initial``)."""


class UnsupportedOperation(LazyArrayError, TypeError):
    """An operation lazyarray, or the chosen backend, does not provide."""


class ArgumentError(LazyArrayError, TypeError):
    """Missing, unexpected or ill-typed arguments for a graph's parameters."""


class ZeroStepError(LazyArrayError, ZeroDivisionError):
    """A zero numpy divides by: a step (``arange(0, 10, 0)``), the size of an empty
    ``average``."""


class ImplicitComputeError(LazyArrayError, RuntimeError):
    """An implicit compute (``bool(x)``, ``np.asarray(x)``) while they are disallowed."""


class ImplicitComputeWarning(UserWarning):
    """An implicit compute while ``implicit_compute="warn"``."""


class FormatError(LazyArrayError, ValueError):
    """A result format or destination that does not exist or cannot hold the value."""


class ConfigError(LazyArrayError, ValueError, TypeError):
    """An unknown option, or a value its option cannot take (named in the message)."""


class ComputeArgumentError(LazyArrayError, ValueError, TypeError):
    """A keyword of ``compute``/``inspect`` with a value it cannot take (``timeout=-1``)."""


class ExportError(LazyArrayError, BufferError):
    """Data that DLPack cannot carry (a mask, a read-only buffer for an old consumer)."""


class BackendNotFound(LazyArrayError, LookupError):
    """A backend name that no installed plugin provides."""


class GraphFormatError(LazyArrayError, ValueError):
    """A graph document that cannot be read; ``path`` is the JSON pointer (RFC 6901) of
    the part at fault, ``""`` for the whole document."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(f"{message} (at {path or '/'})")
        self.message = message
        self.path = path

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.message, self.path))


class UnknownOp(GraphFormatError):
    """An op name that is not a row of the op table (nothing else is ever looked up)."""


class BadArity(GraphFormatError):
    """A node with more or fewer inputs than its op takes."""


class BadAttribute(GraphFormatError):
    """An attribute its op does not declare, or a value its declared type refuses."""


class DanglingReference(GraphFormatError):
    """An input, output or literal reference to nothing in the document."""


class GraphCycle(GraphFormatError):
    """A node that reads itself or a later node: the nodes are not in topological
    order, so they may form a cycle."""


class UnsupportedFormatVersion(GraphFormatError):
    """A format or op-set version newer than this lazyarray knows, or an older one no
    upgrader reaches."""


class DocumentTooLarge(GraphFormatError):
    """A document over a limit: bytes, JSON nesting, nodes, graph depth, literal bytes."""


class BadLiteral(GraphFormatError):
    """Literal data that is not a plain npy array of a supported dtype, or that does not
    match its declaration or its digest."""


class UntrustedContent(GraphFormatError):
    """Python code (a custom function) in a document read without ``trusted=True``."""


class CorruptBlob(LazyArrayError, ValueError):
    """Stored bytes whose digest is not their name: never returned."""


# --- sources: arrays read from storage -----------------------------------------------


class SourceError(LazyArrayError, ValueError):
    """Storage that cannot be read as an array: an unknown reader, a zarr group where an
    array was named, a column of a type or with values an array cannot hold."""


class SourceNotFound(SourceError, FileNotFoundError):
    """A source's store, file, array path or column that does not exist."""


class SourceChanged(SourceError, RuntimeError):
    """A source whose storage changed since it was opened (its change token differs):
    reading on would mix old and new data."""


# --- raised when an expression runs --------------------------------------------------


class ComputeError(LazyArrayError, RuntimeError):
    """An operation failed while running; names the node and the line that built it.

    The original exception is chained as ``__cause__`` and kept in ``original``.
    """

    def __init__(self, message: str, *, op: str = "", site: str = "") -> None:
        super().__init__(message)
        self.op = op
        self.site = site

    @classmethod
    def wrapping(cls, error: BaseException, op: str, site: str) -> ComputeError:
        """The error to raise ``from error`` when op ``op`` (built at ``site``) failed."""
        return cls(
            f"{op} failed: {type(error).__name__}: {error} (in the expression built at {site})",
            op=op,
            site=site,
        )

    @property
    def original(self) -> BaseException | None:
        return self.__cause__


class WorkerLost(ComputeError):
    """The server process running a job died in every attempt; the message counts them."""


class JobTimeoutError(LazyArrayError, TimeoutError):
    """A job did not finish within its ``timeout``."""


class JobCancelled(LazyArrayError, RuntimeError):
    """The result of a cancelled job was asked for."""


class ResourceExhausted(LazyArrayError, RuntimeError):
    """Too many outstanding jobs, or not enough memory for a plan."""


class RetryError(LazyArrayError, RuntimeError):
    """Every retry failed; ``exceptions`` holds each attempt's error in order."""

    def __init__(self, message: str, exceptions: Sequence[BaseException]) -> None:
        super().__init__(message)
        self.exceptions = list(exceptions)


class TransientError(LazyArrayError, RuntimeError):
    """A failure worth retrying (lost worker, busy server); backends raise it."""


class SchedulerUnreachable(TransientError):
    """A cluster scheduler that did not answer within its connect timeout; transient (a
    restarting scheduler, a network blip), so retried as ``num_retries`` says."""


# --- names, registries and workflows -------------------------------------------------


class InvalidName(LazyArrayError, ValueError):
    """A user-given name (a workflow id, a path part) that the one name validator
    refuses: names never reach a store unchecked, nor a path outside its root."""


class InvalidVersion(LazyArrayError, ValueError):
    """A version that is not semantic versioning (``1.2.0``, ``2.0.0-rc.1``)."""


class InvalidMetadata(LazyArrayError, ValueError, TypeError):
    """A title, description, label, tag or docstring of the wrong type or size."""


class RegistryNotFound(LazyArrayError, LookupError):
    """A registry location that holds no registry (or that cannot be reached)."""


class RegistryError(LazyArrayError, RuntimeError):
    """A registry that cannot be used as it is: written by a newer lazyarray, or
    damaged."""


class WorkflowNotFound(LazyArrayError, LookupError):
    """A workflow id that the registry does not hold."""


class VersionNotFound(LazyArrayError, LookupError):
    """A version that the workflow does not hold (never published, or deleted)."""


class VersionConflict(LazyArrayError, ValueError):
    """A version published again with a different graph, or a deleted version's number
    published again: a published version never changes, and is never reused."""


# --- servers ---------------------------------------------------------------------------


class Unauthorized(LazyArrayError, PermissionError):
    """A server refused the request's token (none found, wrong, or not this owner's)."""


class JobNotFound(LazyArrayError, LookupError):
    """No job with this id for this owner (another owner's jobs are not visible)."""


class ServerError(LazyArrayError, RuntimeError):
    """A server's answer that no other lazyarray error describes; ``status`` is its HTTP
    status."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class ServerUnreachable(TransientError):
    """No answer from a lazyarray server (refused, reset, timed out); retried."""


class ServerBusy(TransientError, ResourceExhausted):
    """A server (or a proxy before it) answered 429 (too many outstanding jobs), 502, 503
    or 504: retried, after ``retry_after`` seconds where the answer asked for them."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SubmissionConflict(LazyArrayError, ValueError):
    """A job's ``submission_id`` sent again with another request (HTTP 409)."""


# --- assets ----------------------------------------------------------------------------


class AssetError(LazyArrayError):
    """Base of the errors about assets: their specifications, types and lifetimes."""


class AssetSpecError(AssetError, ValueError, TypeError):
    """An asset specification that is not well formed (its id, type name, scope, params
    or depends), or assets that cannot be read as specifications."""


class AssetTypeNotFound(AssetError, LookupError):
    """An asset type name that is neither built in, registered, nor in the entry-point
    group ``lazyarray.assets``; the message lists the known ones."""


class AssetDependencyError(AssetError, ValueError):
    """Assets whose ``depends`` cannot be satisfied: an id none of them has, or two
    assets with the same id."""


class AssetCycleError(AssetDependencyError):
    """Assets that depend on each other in a cycle (the message names it)."""


class AssetScopeError(AssetDependencyError):
    """An asset that depends on one of a narrower scope (a ``runner`` asset on a ``node``
    asset): the dependency would end before the asset that needs it."""


class AssetNotFound(AssetError, LookupError):
    """An asset asked for by id where no live asset has it."""


class AssetInitError(AssetError, RuntimeError):
    """An asset's ``init`` or ``deinit`` raised; the original is chained."""


# --- artifacts -------------------------------------------------------------------------


class ArtifactError(LazyArrayError, ValueError):
    """A value an artifact handler cannot write, or stored bytes it cannot read back."""


class ArtifactNotFound(LazyArrayError, LookupError):
    """An artifact name or version the repository does not hold (never saved, or pruned)."""


class ArtifactExpired(ArtifactNotFound):
    """A version whose expiry has passed: refused, and removed by ``prune()``."""


class HandlerNotFound(LazyArrayError, LookupError):
    """An artifact handler alias that no built-in nor ``lazyarray.artifacts`` entry point
    provides, or a value whose type no handler is inferred for."""


class UntrustedArtifact(LazyArrayError, PermissionError):
    """An artifact whose handler runs code when read (pickle), asked of a repository or a
    server not opened trusted."""


# --- datasets --------------------------------------------------------------------------


class DatasetNotFound(LazyArrayError, LookupError):
    """No dataset ``namespace/name`` in the catalog, or no version with this uid."""


class TagNotFound(DatasetNotFound):
    """A tag the dataset does not hold."""


class SplitNotFound(LazyArrayError, LookupError):
    """A split the dataset's version does not hold (the message lists those it has)."""


class FieldNotFound(LazyArrayError, LookupError):
    """A field the split does not hold (the message lists those it has)."""


class InvalidShard(LazyArrayError, ValueError):
    """A shard outside its range: ``chunk`` must be in ``[0, nchunks)``, ``nchunks >= 1``."""


class CatalogError(LazyArrayError, RuntimeError):
    """A catalog that cannot be used as it is: a manifest that does not match its uid,
    a schema written by a newer lazyarray, data missing under a manifest."""
