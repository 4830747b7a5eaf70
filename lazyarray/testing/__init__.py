"""Testing lazyarray and its backends.

- ``equal``: what "equal to numpy" means, per op family (exact, or within a bound
  derived from the inputs; docs/testing.md).
- ``samples``: inputs with the awkward values of each kind (0, -0.0, NaN, inf).
- ``refusing``: the backend that refuses to compute, registered as ``"refuse"`` when this
  package is imported, and ``refusing()``, inside which any compute fails.
- ``conformance``: the backend conformance suite, run by every backend over its entry
  point (docs/writing-a-backend.md); it needs pytest.

Importing this package imports neither pytest nor hypothesis; ``import lazyarray`` does
not import this package.
"""

from lazyarray.testing.equal import (
    assert_equal,
    assert_exact,
    assert_reduction,
    assert_within,
    products_bound,
    reduction_bound,
    scan_bound,
)
from lazyarray.testing.refusing import RefusingBackend, refusing
from lazyarray.testing.samples import DTYPES, SHAPE, masked_sample, sample

__all__ = [
    "DTYPES",
    "SHAPE",
    "RefusingBackend",
    "assert_equal",
    "assert_exact",
    "assert_reduction",
    "assert_within",
    "masked_sample",
    "products_bound",
    "reduction_bound",
    "refusing",
    "sample",
    "scan_bound",
]
