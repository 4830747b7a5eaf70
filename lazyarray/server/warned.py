"""The warnings a computation on the server raised (numpy's "divide by zero encountered
in divide", ...), kept to be shown where it was asked for: at most ``KEPT`` of them, each
``{"category", "message"}`` once.

A worker process runs one job at a time, so ``in_process`` records every warning of the
process while the job runs (``warnings.catch_warnings`` is process-wide), the numpy
backend's kernel threads' included. The server's own threads (``/v1/inspect``) run
side by side: ``in_context`` records the warnings raised in the caller's context, which
the numpy backend's kernel threads run in (a ``contextvars`` copy), through one hook on
``warnings.showwarning``; there, the process's warning filters decide what is raised (a
warning they ignore is not seen). A job run on a dask cluster raises its warnings on
the cluster's workers: none are recorded.

Under ``raising(True)`` (a client whose warning filters make warnings errors) either
hook raises the warning where it was warned instead, so the step that warned fails as
it would in the client's process, naming its op and node."""

from __future__ import annotations

import builtins
import contextlib
import contextvars
import threading
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

KEPT = 20  # warnings kept for one computation
HELD = 4 * KEPT  # distinct (class, message) held while it runs: a warning per block is one
_SEEN: contextvars.ContextVar[list[tuple[type[Warning], str]] | None] = contextvars.ContextVar(
    "lazyarray_server_warnings", default=None
)
_RAISING: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "lazyarray_server_warnings_raise", default=False
)
_HOOK = threading.Lock()
_replaced: list[Any] = [warnings.showwarning]  # the showwarning the hook passes others to


def category_name(category: type[Warning]) -> str:
    """A builtin warning class's or numpy's name; any other is "UserWarning" (a class
    of the server's libraries means nothing to a client)."""
    module = getattr(category, "__module__", "")
    if (module == "builtins" and getattr(builtins, category.__name__, None) is category) or (
        module.split(".")[0] == "numpy"
    ):
        return category.__name__
    return "UserWarning"


def entries(seen: Sequence[tuple[type[Warning], str]]) -> list[dict[str, str]]:
    """At most ``KEPT`` ``{"category", "message"}``, each once, in the order raised."""
    found: dict[tuple[str, str], None] = {}
    for category, message in seen:
        found.setdefault((category_name(category), message), None)
        if len(found) >= KEPT:
            break
    return [{"category": category, "message": message} for category, message in found]


@contextlib.contextmanager
def in_process() -> Iterator[list[tuple[type[Warning], str]]]:
    """Every warning raised in this process while the block runs (each one, not only
    the first at its line), as ``(category, message)`` added to the list yielded as
    they are raised."""
    seen: list[tuple[type[Warning], str]] = []

    def show(message: Warning | str, category: type[Warning], *where: Any) -> None:
        _raise_if_asked(message, category)
        _add(seen, category, message)

    with warnings.catch_warnings():  # puts back the filters and showwarning at the end
        warnings.simplefilter("always")
        warnings.showwarning = show  # type: ignore[assignment]
        yield seen


@contextlib.contextmanager
def raising(raise_: bool) -> Iterator[None]:
    """With ``raise_``, a warning the hooks see in this context (and its copies) while
    the block runs is raised, not recorded."""
    token = _RAISING.set(raise_)
    try:
        yield
    finally:
        _RAISING.reset(token)


def _raise_if_asked(message: Warning | str, category: type[Warning]) -> None:
    if _RAISING.get():  # out of ``warnings.warn``: a numpy ufunc raises it as its error
        raise message if isinstance(message, Warning) else category(message)


@contextlib.contextmanager
def in_context() -> Iterator[list[tuple[type[Warning], str]]]:
    """The warnings raised in this context (and the copies of it the block hands to
    other threads) while the block runs; others go where they went."""
    _hook()
    with contextlib.suppress(AttributeError):  # the first at a line is shown again
        warnings._filters_mutated()  # type: ignore[attr-defined]
    seen: list[tuple[type[Warning], str]] = []
    token = _SEEN.set(seen)
    try:
        yield seen
    finally:
        _SEEN.reset(token)


def _add(seen: list[tuple[type[Warning], str]], category: type[Warning], message: Any) -> None:
    """Holds a warning once, and no more than ``HELD`` (a warning raised by each of a
    million blocks is one)."""
    found = (category, str(message))
    if len(seen) < HELD and found not in seen:
        seen.append(found)


def _hook() -> None:
    """Puts the hook in place (again, where a ``catch_warnings`` that ended put back
    what it found)."""
    with _HOOK:
        if warnings.showwarning is not _show:
            _replaced[0] = warnings.showwarning
            warnings.showwarning = _show  # type: ignore[assignment]


def _show(message: Warning | str, category: type[Warning], *where: Any) -> None:
    """``warnings.showwarning``'s signature: where (filename, lineno, file, line)."""
    seen = _SEEN.get()
    if seen is None:
        _replaced[0](message, category, *where)
    else:
        _raise_if_asked(message, category)
        _add(seen, category, message)
