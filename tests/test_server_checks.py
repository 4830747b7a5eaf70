"""A request's checks (``lazyarray.server.checks``): refusals typed as before, and a
passed check remembered only for the same graph, arguments, format, limit, errstate and
options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("fastapi")

import lazyarray as la
from lazyarray import serialize
from lazyarray.server import checks as checks_module
from lazyarray.server.checks import REMEMBERED, RequestChecks
from lazyarray.server.limits import ServerLimits
from lazyarray.server.responses import ApiError
from lazyarray.server.runner import running_as
from lazyarray.stores.blobs import FolderBlobs, MemoryBlobs


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many documents were read (a check not remembered reads its document)."""
    counted: list[int] = []
    real = checks_module.read_document

    def counting(*args: Any, **kwargs: Any) -> Any:
        counted.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(checks_module, "read_document", counting)
    return counted


def _graph() -> dict[str, Any]:
    x = la.parameter("x", la.Array, dtype="float64", shape=(None,))
    return serialize.to_dict(1.0 / x)


def test_a_passed_check_is_remembered_by_all_that_decides_it(
    tmp_path: Path, reads: list[int]
) -> None:
    checks = RequestChecks(FolderBlobs(tmp_path), ServerLimits(), trusted=False)
    graph = _graph()
    checks.check(graph, {"x": [1.0, 2.0]}, "npy", 1 << 20)
    checks.check(graph, {"x": [1.0, 2.0]}, "npy", 1 << 20)
    assert len(reads) == 1
    document, found = checks.document(graph, {"x": [1.0, 2.0]}, "npy", 1 << 20)  # read each time
    assert found == "npy"
    assert len(reads) == 2 and document.outputs[0].op == "divide"
    checks.check(graph, {"x": [1.0, 3.0]}, "npy", 1 << 20)  # other arguments
    checks.check(graph, {"x": [1.0, 2.0]}, "npz", 1 << 20)  # another format
    checks.check(graph, {"x": [1.0, 2.0]}, "npy", 1 << 10)  # another limit
    with running_as(None, {"fast_math": True}):  # other options
        checks.check(graph, {"x": [1.0, 2.0]}, "npy", 1 << 20)
    assert len(reads) == 6


def test_refusals_are_never_remembered(tmp_path: Path, reads: list[int]) -> None:
    """A document whose blob is not uploaded yet is refused, then passes once it is (a
    refusal is checked again each time); the refusals keep their status codes."""
    sent = MemoryBlobs()
    data = np.arange(20_000.0)
    graph = serialize.to_dict(la.asarray(data) * 2.0, blobs=sent)
    server = FolderBlobs(tmp_path)
    checks = RequestChecks(server, ServerLimits(), trusted=False)
    for _ in range(2):
        with pytest.raises(ApiError) as refused:
            checks.check(graph, {}, "npy", 1 << 20)
        assert refused.value.status_code == 422 and "blob" in str(refused.value.detail)
    for digest in serialize.blob_references(graph):
        server.put(sent.get(digest))
    checks.check(graph, {}, "npy", 1 << 20)
    checks.check(graph, {}, "npy", 1 << 20)
    assert len(reads) == 3
    with pytest.raises(ApiError) as unknown:
        checks.check(graph, {}, "pickle", 1 << 20)
    assert unknown.value.status_code == 422
    with pytest.raises(ApiError) as over:
        checks.check(graph, {}, "npy", 100)  # a 160,000-byte result
    assert over.value.status_code == 413


def test_what_is_remembered_is_bounded(tmp_path: Path) -> None:
    checks = RequestChecks(FolderBlobs(tmp_path), ServerLimits(), trusted=False)
    graph = _graph()
    for value in range(REMEMBERED + 10):
        checks.check(graph, {"x": [float(value)]}, "npy", 1 << 20)
    assert len(checks._passed) == REMEMBERED


def test_a_job_end_wakes_only_its_own_long_polls() -> None:
    """The workers' pipe carries the ids of the jobs that ended; anything else read
    there (a bare wake-up, a message cut by the read) wakes every long poll."""
    from lazyarray.server.workers import ended_jobs, ended_message

    both = ended_message("a1") + ended_message("b2")
    assert ended_jobs(both) == {"a1", "b2"}
    assert ended_jobs(both[:-2]) is None  # the read stopped inside b2's message
    assert ended_jobs(b"\0") is None and ended_jobs(b"") is None
    assert ended_jobs(b"\0" + both) is None
