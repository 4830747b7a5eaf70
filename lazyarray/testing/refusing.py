"""The backend that refuses to compute: set while building expressions, it proves that
writing one, asking its shape or dtype, and getting its errors computes nothing."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from lazyarray import config
from lazyarray.backend import Backend, Capability, register_backend
from lazyarray.jobs import AsyncJob, RunContext
from lazyarray.planner import Plan

REFUSAL = "an expression was computed while it was only being built"


class RefusingBackend(Backend):
    """Fails any attempt to run a plan, with an ``AssertionError`` (a test failure)."""

    name = "refuse"
    capabilities = frozenset(Capability)  # it refuses by failing, never by a capability

    def execute(self, plan: Plan, arguments: Mapping[str, Any], context: RunContext) -> list[Any]:
        raise AssertionError(REFUSAL)

    def submit(
        self, plan: Plan, arguments: Mapping[str, Any], context: RunContext | None = None
    ) -> AsyncJob:
        raise AssertionError(REFUSAL)


register_backend(RefusingBackend())


@contextlib.contextmanager
def refusing() -> Iterator[None]:
    """Inside, any compute fails: an explicit one with no backend named reaches the
    refusing backend, an implicit one (``bool(x)``, ``np.asarray(x)``) is an error."""
    with config.set(backend=RefusingBackend.name, implicit_compute="error"):
        yield


__all__ = ["REFUSAL", "RefusingBackend", "refusing"]
