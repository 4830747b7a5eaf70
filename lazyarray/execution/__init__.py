"""compute / inspect on nodes; result formats; progress."""

from lazyarray.execution.cache import results as result_cache
from lazyarray.execution.compute import (
    COMPUTE_KEYWORDS,
    ComputeJob,
    check_implicit_compute,
    compute,
)
from lazyarray.execution.formats import FORMATS

__all__ = [
    "COMPUTE_KEYWORDS",
    "FORMATS",
    "ComputeJob",
    "check_implicit_compute",
    "compute",
    "result_cache",
]
