"""A worker's attempts in this process (``runner.run``): the documents it keeps between
jobs, and small jobs run before the watch's first beat."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray import serialize
from lazyarray.jobs import JobStatus
from lazyarray.server import runner
from lazyarray.server.layout import Layout
from lazyarray.server.store import JobStore


def _request(lazy: Any, arguments: Any = None) -> tuple[dict[str, Any], str]:
    request = {
        "graph": serialize.to_dict(lazy),
        "arguments": arguments or {},
        "format": "npy",
        "timeout": None,
    }
    return request, hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    made = Layout(tmp_path)
    made.results.mkdir(parents=True, exist_ok=True)
    return made


def _run_all(layout: Layout, store: JobStore, documents: runner.Documents) -> list[JobStatus]:
    ended = []
    watch = runner.Watch(store, lambda: False)
    try:
        while (claim := store.claim()) is not None:
            ended.append(
                runner.run(
                    claim,
                    store,
                    layout.blobs(),
                    layout.results,
                    trusted=False,
                    watch=watch,
                    documents=documents,
                )
            )
    finally:
        watch.close()
    return ended


def test_a_worker_reads_a_graph_it_ran_before_once(
    layout: Layout, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same graph (the same text), with the same or other arguments, runs the nodes
    read the first time; another graph is read; every result is numpy's."""
    reads: list[int] = []
    original = runner.read_document
    monkeypatch.setattr(
        runner, "read_document", lambda *a, **k: reads.append(1) or original(*a, **k)
    )
    store = layout.jobs()
    data = np.linspace(-1.0, 1.0, 50)
    scale = la.parameter("scale", la.Scalar, dtype="float64")
    same = (la.asarray(data) * scale).sum()
    jobs = [store.submit("me", *_request(same, {"scale": k}))[0] for k in (3.0, 3.0, 5.0)]
    jobs.append(store.submit("me", *_request(la.asarray(data)[::2] - 1))[0])
    documents = runner.Documents()
    assert _run_all(layout, store, documents) == [JobStatus.COMPLETED] * 4
    assert len(reads) == 2
    expected = [np.sum(data * 3.0)] * 2 + [np.sum(data * 5.0), data[::2] - 1]
    for job_id, wanted in zip(jobs, expected, strict=True):
        value = np.load(io.BytesIO(store.result_data(job_id)))
        np.testing.assert_array_equal(value, wanted)


def test_a_document_that_fails_to_read_is_not_kept(
    layout: Layout, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read that raised is not remembered: the same graph is read again (and runs
    once what it needs is there)."""
    store = layout.jobs()
    original = runner.read_document
    failing = [True]

    def flaky(*args: Any, **kwargs: Any) -> Any:
        if failing[0]:
            raise la.errors.GraphFormatError("a blob is missing", "/graph/literals")
        return original(*args, **kwargs)

    monkeypatch.setattr(runner, "read_document", flaky)
    request, digest = _request(la.asarray(np.arange(4.0)) + 1)
    store.submit("me", request, digest)
    documents = runner.Documents()
    assert _run_all(layout, store, documents) == [JobStatus.ERRORED]
    failing[0] = False
    store.submit("me", request, digest)
    assert _run_all(layout, store, documents) == [JobStatus.COMPLETED]


def test_the_documents_kept_are_bounded(layout: Layout) -> None:
    store = layout.jobs()
    documents = runner.Documents(size=2)
    for k in range(4):
        store.submit("me", *_request(la.asarray(np.arange(3.0)) + k))
    assert _run_all(layout, store, documents) == [JobStatus.COMPLETED] * 4
    assert len(documents._kept) == 2
