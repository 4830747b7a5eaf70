"""The server's worker processes run jobs with assets: runner assets live as long as a
worker, process assets one job."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

with warnings.catch_warnings():  # starlette's notice that it prefers httpx2
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from lazyarray.server import create_app
from lazyarray.server.workers import WorkerPool
from tests.server_kit import small, wait

HEADERS = {"Authorization": "Bearer t"}


def test_worker_processes_hold_runner_assets_and_open_process_assets_per_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner_dir, jobs_dir = tmp_path / "runner", tmp_path / "jobs"
    runner_dir.mkdir()
    jobs_dir.mkdir()
    os.utime(jobs_dir, (0, 0))  # a folder made and removed in it moves its mtime
    specs = [
        {"id": "worker_tmp", "type": "scratch_dir", "scope": "runner",
         "params": {"dir": str(runner_dir)}},
        {"id": "job_tmp", "type": "scratch_dir", "scope": "process",
         "params": {"dir": str(jobs_dir)}},
    ]  # fmt: skip
    app = create_app(tmp_path / "store", "t", workers=1, assets=specs)
    with TestClient(app, headers=HEADERS) as client:
        for _ in range(2):
            body = {"graph": small(), "arguments": {"x": [[1.0, 2.0], [3.0, 4.0]]}}
            response = client.post("/v1/jobs", json=body)
            assert response.status_code < 300, response.text
            job_id = response.json()["job_id"]
            assert wait(client, job_id)["status"] == "Completed"  # type: ignore[arg-type]
        assert len(list(runner_dir.iterdir())) == 1  # the worker's, open across its jobs
        assert list(jobs_dir.iterdir()) == []  # each job's, removed after it
        assert jobs_dir.stat().st_mtime > 0
    assert list(runner_dir.iterdir()) == []  # removed when the worker stopped


def test_dask_worker_threads_run_jobs_with_assets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    distributed = pytest.importorskip("distributed")
    import lazyarray as la

    jobs_dir = tmp_path / "jobs"
    jobs_dir.mkdir()
    os.utime(jobs_dir, (0, 0))
    specs = [{"id": "job_tmp", "type": "scratch_dir", "scope": "process",
              "params": {"dir": str(jobs_dir)}}]  # fmt: skip
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
    ) as cluster:
        address = cluster.scheduler_address
        app = create_app(tmp_path / "store", "t", workers=1, dask_scheduler=address, assets=specs)
        with TestClient(app, headers=HEADERS) as client:
            assert type(la.get_backend("dask")).__name__ == "AssetBackend"
            body = {"graph": small(), "arguments": {"x": [[1.0, 2.0], [3.0, 4.0]]}}
            job_id = client.post("/v1/jobs", json=body).json()["job_id"]
            state = wait(client, job_id)  # type: ignore[arg-type]
            assert state["status"] == "Completed", client.get(f"/v1/jobs/{job_id}/errors").text
            pool_client = client.app.state.pool.client  # type: ignore[attr-defined]
            assert pool_client.status == "running"
        assert list(jobs_dir.iterdir()) == []
        assert jobs_dir.stat().st_mtime > 0  # the job's scratch folder was made and removed
        assert type(la.get_backend("dask")).__name__ == "DaskBackend"  # given back
        assert pool_client.status == "closed"  # the pool's client asset, closed at stop


def test_bad_assets_are_refused_when_the_pool_is_made(tmp_path: Path) -> None:
    from lazyarray.errors import AssetTypeNotFound
    from lazyarray.server.layout import Layout

    with pytest.raises(AssetTypeNotFound, match="'nope'"):
        WorkerPool(
            Layout.create(tmp_path),
            1,
            lease_seconds=5.0,
            assets=[{"id": "a", "type": "nope", "scope": "runner"}],
        )
