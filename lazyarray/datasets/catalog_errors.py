"""The errors a dataset catalog raises; each subclasses the builtin a Python user would
catch (``LookupError`` for something absent, ``ValueError`` for a bad request).

They belong in ``lazyarray.errors`` (one hierarchy); until they move there they live
here, and ``lazyarray.errors`` may re-export them unchanged."""

from __future__ import annotations

from lazyarray.errors import LazyArrayError


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
