"""The caller's floating-point error handling, carried with a job's tasks to a
dask.distributed cluster. ``np.errstate`` is context-local: dask's threaded scheduler
hands the caller's context to its threads, but a cluster's workers run tasks in their
own, so each task is wrapped to run under the caller's state.

The warning filters of the caller cannot travel that way (they are process-wide on a
worker that runs other jobs' tasks beside them): where they make numpy's floating-point
``RuntimeWarning`` an error, that kind is carried as ``"raise"`` instead, and the step
fails with numpy's ``FloatingPointError`` of the same words."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

# a warning numpy gives of each kind, to ask the caller's filters about
_SAMPLES = {
    "divide": "divide by zero encountered in divide",
    "over": "overflow encountered in multiply",
    "under": "underflow encountered in multiply",
    "invalid": "invalid value encountered in divide",
}


def carried(errstate: Mapping[str, str]) -> dict[str, str]:
    """``errstate`` as the cluster's tasks run under: a kind that warns is raised where
    the caller's warning filters make that warning an error."""
    state = dict(errstate)
    for kind, sample in _SAMPLES.items():
        if state.get(kind) == "warn" and _an_error(sample):
            state[kind] = "raise"
    return state


def _an_error(message: str) -> bool:
    """Whether the first of this process's warning filters that matches a numpy
    ``RuntimeWarning`` with ``message`` (from any module, at any line) makes it an error."""
    for action, text, category, module, lineno in warnings.filters:
        if not issubclass(RuntimeWarning, category) or lineno:
            continue
        if text is not None and not text.match(message):
            continue
        if module is not None and module.pattern not in ("", ".*"):
            continue  # a filter of some modules only: the worker's modules differ
        return bool(action == "error")
    return False


def under(collections: Sequence[Any], errstate: Mapping[str, str]) -> list[Any]:
    """``collections`` whose every task runs under ``errstate`` (other values as they
    are); a task several collections share is wrapped once."""
    from dask.base import is_dask_collection

    state = tuple(sorted(errstate.items()))
    wrapped: dict[Any, Any] = {}
    result = []
    for collection in collections:
        if not is_dask_collection(collection):
            result.append(collection)
            continue
        graph = _graph_of(collection)
        for key, node in graph.items():
            if key not in wrapped:
                wrapped[key] = _wrap(node, state)
        rebuild, extra = collection.__dask_postpersist__()
        result.append(rebuild({key: wrapped[key] for key in graph}, *extra))
    return result


def _graph_of(collection: Any) -> dict[Any, Any]:
    from dask._task_spec import convert_legacy_graph

    graph: dict[Any, Any] = convert_legacy_graph(dict(collection.__dask_graph__()))
    return graph


def _wrap(node: Any, state: tuple[tuple[str, Any], ...]) -> Any:
    from dask._task_spec import Task, TaskRef

    if not isinstance(node, Task):  # data and aliases run no numpy
        return node
    keys = tuple(node.dependencies)
    return Task(
        node.key,
        Under(state, node, keys),
        *(TaskRef(key) for key in keys),
        _data_producer=node.data_producer,
    )


class Under:
    """A task run under an errstate: called with its dependencies' values, in order."""

    __slots__ = ("keys", "state", "task")

    def __init__(self, state: tuple[tuple[str, Any], ...], task: Any, keys: tuple[Any, ...]):
        self.state, self.task, self.keys = state, task, keys

    def __call__(self, *values: Any) -> Any:
        errstate: dict[str, Any] = dict(self.state)
        with np.errstate(**errstate):
            return self.task(dict(zip(self.keys, values, strict=True)))

    def __dask_tokenize__(self) -> Any:
        from dask.tokenize import tokenize

        return ("lazyarray-errstate", self.state, tokenize(self.task))
