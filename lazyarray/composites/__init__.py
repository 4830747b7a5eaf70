"""Functions built from several rows: what one row's signature cannot say (several
results, as ``unique_all`` or ``qr``; joins before an op, as ``diff(prepend=)``; another
surface of a row, as the standard's ``linalg.trace``). Each family's module also
registers the numpy functions it answers for NEP 18."""

from lazyarray.composites import indexing, linalg, manipulation, sorting, statistics

# the functions of ``lazyarray`` itself, and of ``lazyarray.linalg``
NAMESPACE = {
    name: getattr(module, name)
    for module in (indexing, manipulation, sorting, statistics)
    for name in module.__all__
}
LINALG = {**linalg.COMPOSITES, **manipulation.LINALG}

__all__ = ["LINALG", "NAMESPACE"]
