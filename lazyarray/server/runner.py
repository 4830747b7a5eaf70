"""One attempt of one job, in a worker process: read the request, compute it on the numpy
backend, keep the lease by heartbeats, write the result, record the end state."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from lazyarray.errors import JobTimeoutError
from lazyarray.jobs import JobStatus
from lazyarray.server.store import Claim, JobStore
from lazyarray.stores.blobs import BlobStore


def read_arguments(raw: dict[str, Any], blobs: BlobStore) -> dict[str, Any]:
    """Arguments as arrays: numbers and nested lists through ``numpy.asarray``, or
    ``{"blob": digest}`` naming an ``.npy`` file in the blob store (never unpickled)."""
    values: dict[str, Any] = {}
    for name, value in raw.items():
        if isinstance(value, dict):
            values[name] = np.load(io.BytesIO(blobs.get(value["blob"])), allow_pickle=False)
        else:
            values[name] = np.asarray(value)
    return values


def write_result(values: list[Any], folder: Path, stem: str) -> str:
    """The values as ``stem.npy`` (one) or ``stem.npz`` (several), written atomically;
    returns the file's name."""
    name = f"{stem}.npy" if len(values) == 1 else f"{stem}.npz"
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            if len(values) == 1:
                np.save(file, np.asarray(values[0]), allow_pickle=False)
            else:
                np.savez(file, *[np.asarray(value) for value in values])
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, folder / name)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return name


def run(
    claim: Claim, store: JobStore, blobs: BlobStore, results: Path, *, trusted: bool
) -> JobStatus | None:
    """Runs the claimed attempt to its end; returns the state recorded, or None when the
    attempt lost its lease (another attempt owns the job now)."""
    from lazyarray import serialize
    from lazyarray.execution.compute import compute

    request = claim.request
    try:
        nodes, _ = serialize.nodes_from_dict(request["graph"], blobs=blobs, trusted=trusted)
        arguments = read_arguments(request.get("arguments") or {}, blobs)
        job = compute(nodes, block=False, backend="numpy", arguments=arguments)
    except Exception as error:
        ok = store.finish(claim, JobStatus.ERRORED, errors=[_describe(error)], message=str(error))
        return JobStatus.ERRORED if ok else None
    beat = store.lease_seconds / 3
    while True:
        try:
            values = job.result(timeout=beat)
            break
        except JobTimeoutError:
            status = job.status()
            asked = store.heartbeat(
                claim, status["completed_steps"], status["total_steps"], status["message"]
            )
            if asked is None:  # the lease was lost: another attempt owns the job
                job.cancel()
                return None
            if asked:
                job.cancel()
        except Exception as error:
            if job.status()["status"] == JobStatus.CANCELLED:
                ok = store.finish(claim, JobStatus.CANCELLED, message="cancelled")
                return JobStatus.CANCELLED if ok else None
            errors = job.errors() or [_describe(error)]
            ok = store.finish(claim, JobStatus.ERRORED, errors=errors, message=str(error))
            return JobStatus.ERRORED if ok else None
    name = write_result(list(values), results, f"{claim.job_id}.{claim.attempt}")
    if store.finish(claim, JobStatus.COMPLETED, result=name):
        return JobStatus.COMPLETED
    (results / name).unlink(missing_ok=True)  # a stale attempt's file is never served
    return None


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"
