"""Inputs for the differential tests (``lazyarray.testing.samples``, re-exported)."""

from lazyarray.testing.samples import DTYPES, SHAPE, masked_sample, sample

__all__ = ["DTYPES", "SHAPE", "masked_sample", "sample"]
