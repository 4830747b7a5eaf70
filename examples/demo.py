"""The end-to-end demo run by ``make demo``: a realistic analysis written once, lazily.

Sensor readings (a 2,000 x 5,000 grid, 80 MB, with 5% dropouts masked) are standardized
per channel, combined with a lazily generated noise field, reduced, and written out —
first explained (shape, dtype, graph) without running anything, then computed on every
installed backend, compared with the same code run eagerly by numpy; then on a lazyarray
server the demo starts and stops (``lazyarray serve``): as a job, reopened by its id,
and as a published workflow called over plain HTTP.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

import lazyarray as la


def analysis(where, readings, noise):
    """Standardize each channel, damp outliers, add noise, summarize per row.

    Written once for numpy.ma and lazyarray: ``where`` is ``np.ma.where`` or ``la.where``.
    """
    centered = readings - readings.mean(axis=0)
    scaled = centered / readings.std(axis=0)
    damped = where(abs(scaled) > 3, np.sign(scaled) * 3, scaled)
    signal = np.sqrt(damped**2 + noise**2)
    return signal.mean(axis=1), signal.max()


def main() -> None:
    rng = np.random.default_rng(0)
    data = rng.normal(20.0, 4.0, size=(2_000, 5_000))
    dropouts = rng.random(data.shape) < 0.05
    eager_noise = la.random.default_rng(1).normal(0.0, 0.1, size=data.shape).compute()

    print(f"lazyarray {la.__version__}; backends installed: {', '.join(la.available_backends())}")
    start = time.perf_counter()
    readings = la.MaskedArray(data, mask=dropouts)  # 80 MB wrapped: no copy, no pass
    noise = la.random.default_rng(1).normal(0.0, 0.1, size=data.shape)  # generated lazily
    row_means, peak = analysis(la.where, readings, noise)
    built = time.perf_counter() - start
    print(f"\nbuilt the expression in {built * 1e3:.1f} ms, nothing computed yet:")
    print(f"  row_means: {row_means!r}")
    print(f"  peak:      {peak!r}")
    print("\nthe plan for 5 rows: column statistics read every row, the rest only those 5:")
    print(row_means[:5].explain())
    with la.config.set(disabled={"unmask"}):  # masked ops one numpy.ma call each
        unfused = row_means[:5].explain().splitlines()[0]
    print(f"masked ops fuse on their data and masks; with the unmask stage off: {unfused}")

    start = time.perf_counter()
    masked = np.ma.MaskedArray(data, mask=dropouts)
    expected_means, expected_peak = analysis(np.ma.where, masked, eager_noise)
    eager = time.perf_counter() - start
    print(f"\nnumpy.ma eager: {eager:.2f} s")

    for backend in la.available_backends():
        if backend == "remote":  # needs a server: below
            continue
        try:
            la.get_backend(backend)
        except la.errors.BackendNotFound as exc:
            print(f"backend {backend!r}: not installed here ({exc})")
            continue
        start = time.perf_counter()
        means, top = la.compute(row_means, peak, backend=backend, cache=False)
        elapsed = time.perf_counter() - start
        np.testing.assert_allclose(means, expected_means, rtol=1e-10)
        np.testing.assert_allclose(top, expected_peak, rtol=1e-10)
        print(
            f"backend {backend!r}: {elapsed:.2f} s, same values as numpy.ma "
            f"(first row means {np.round(means[:3], 4)}, peak {top:.4f})"
        )

    job = row_means.compute(block=False)
    job.sleep_until_complete(verbose_std_out=False)
    print(f"\nas a job: {job.status()['status']} after {job.status()['total_steps']} steps")

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "row_means.npz"
        row_means.compute(format="npz", file=path)
        print(f"written to {path.name}: {path.stat().st_size:,} bytes (data + mask)")

    threshold = la.parameter("threshold", la.Scalar, dtype="float64")
    exceed = (readings > threshold).sum()
    for value in (25.0, 30.0):
        print(f"readings above {value}: {int(exceed.compute(threshold=value)):,}")

    # the same question for anyone's readings: published once, called with arguments
    grid = la.parameter("grid", la.MaskedArray, dtype="float64", shape=(None, None))
    above = (grid > threshold).sum()
    text = la.to_json(above)
    print(f"\nthe expression as a graph document: {len(text):,} bytes of JSON")
    with tempfile.TemporaryDirectory() as registry:
        above.publish(
            "demo:readings-above",
            "1.0.0",
            title="Readings above a threshold",
            docstring="How many unmasked readings of grid exceed threshold.",
            parameters=["grid", "threshold"],
            registry=registry,
        )
        count_above = la.use("demo:readings-above", registry=registry)
        published = int(count_above(readings, 25.0).compute())
        assert published == int(exceed.compute(threshold=25.0))
        workflow = la.Workflow.get("demo:readings-above", registry=registry)
        print(f"published {workflow.versions[-1]!r}")
        print(f"called with the demo's readings: {published:,} above 25.0")

    from_a_dataset(data, dropouts, expected_means)
    on_a_server(row_means, peak, expected_means, expected_peak, readings, above)


def from_a_dataset(data, dropouts, expected_means) -> None:
    """The readings as a versioned dataset: read lazily by slice, streamed by shard, and
    a result saved as an artifact (``docs/io.md``)."""
    try:
        import zarr  # noqa: F401 - the io extra's
    except ImportError:
        print("\ndatasets: not installed here (pip install 'lazyarray[io]')")
        return
    with tempfile.TemporaryDirectory() as folder:
        catalog = la.datasets.Catalog(Path(folder) / "catalog")
        start = time.perf_counter()
        version = catalog.create(
            "demo", "sensors", tag="v1", splits={"week1": {"readings": data, "dropouts": dropouts}}
        )
        print(
            f"\ndataset demo/sensors@v1 written in {time.perf_counter() - start:.2f} s "
            f"(uid {version.uid[:12]}...)"
        )
        ds = catalog.query("demo", "sensors", tag="v1")
        readings = la.MaskedArray(ds.array("week1", "readings"), mask=ds.array("week1", "dropouts"))
        first = readings[:100].mean(axis=1)  # reads only the chunks holding those rows
        reads = [line.split(": ")[-1] for line in first.explain().splitlines() if "reads" in line]
        print(f"100 rows of it: the plan {', '.join(reads)}")
        rows = np.ma.MaskedArray(data[:100], mask=dropouts[:100]).mean(axis=1)
        np.testing.assert_allclose(first.compute(), rows, rtol=1e-12)
        shard = list(ds.stream_split("week1", chunk=3, nchunks=40, cache=Path(folder) / "cache"))
        print(f"shard 3 of 40 streamed: {len(shard)} records of {sorted(shard[0])}")
        repo = la.artifacts.Repository(Path(folder) / "results")
        saved = first.compute(destination=repo.destination("row-means"))
        back = repo.load_artifact("row-means")
        np.testing.assert_allclose(back, rows, rtol=1e-12)
        print(f"saved as artifact {saved.name} v{saved.version}, loaded back equal")


def on_a_server(row_means, peak, expected_means, expected_peak, readings, above) -> None:
    """The same expressions on a lazyarray server started here, as a user would start it
    (``lazyarray serve``), and stopped at the end."""
    if "remote" not in la.available_backends():
        print("\nserver: not installed here (pip install 'lazyarray[server]')")
        return
    with tempfile.TemporaryDirectory() as folder, serving(Path(folder)) as url:
        start = time.perf_counter()
        means, top = la.compute(row_means, peak, server=url, cache=False)
        elapsed = time.perf_counter() - start
        np.testing.assert_allclose(means, expected_means, rtol=1e-10)
        np.testing.assert_allclose(top, expected_peak, rtol=1e-10)
        print(
            f"backend 'remote' ({url}): {elapsed:.2f} s, same values as numpy.ma "
            f"(the 80 MB readings uploaded once, by digest)"
        )

        job = row_means.compute(server=url, block=False, cache=False)
        again = la.AsyncJob.from_id(job.job_id, client=url)  # as another process would
        np.testing.assert_allclose(again.result(), expected_means, rtol=1e-10)
        print(f"job {job.job_id}: {again.status()['status']}, reopened by its id")

        above.publish(
            "default:readings-above",
            "1.0.0",
            docstring="How many unmasked readings of grid exceed threshold.",
            parameters=["grid", "threshold"],
            registry=url,
        )
        import httpx  # any HTTP client: the call is JSON in, a job id out

        token = {"Authorization": f"Bearer {os.environ['LAZYARRAY_TOKEN']}"}
        grid = [[20.0, 31.5, 26.0], [29.0, 18.0, 25.5]]
        call = httpx.post(
            f"{url}/v1/workflows/default:readings-above/versions/latest/call",
            json={"arguments": {"grid": grid, "threshold": 25.0}, "format": "json"},
            headers=token,
        )
        job_id = call.json()["job_id"]
        while httpx.get(f"{url}/v1/jobs/{job_id}", headers=token).json()["status"] != "Completed":
            time.sleep(0.05)
        answer = httpx.get(f"{url}/v1/jobs/{job_id}/result?format=json", headers=token).json()
        assert answer["data"] == 4, answer
        print(f"published on the server, called over HTTP with JSON: {answer}")


@contextlib.contextmanager
def serving(folder: Path) -> Iterator[str]:
    """``lazyarray serve`` on a free loopback port over a store in ``folder``, with its
    token in the environment (so this process finds it as any client would)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = os.urandom(16).hex()
    os.environ["LAZYARRAY_TOKEN"] = token
    command = [
        sys.executable,
        "-m",
        "lazyarray",
        "serve",
        "--port",
        str(port),
        "--store",
        str(folder / "store"),
        "--workers",
        "2",
    ]
    server = subprocess.Popen(
        command,
        env=os.environ | {"LAZYARRAY_TOKEN": token},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        import httpx

        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"lazyarray serve did not start: {server.stderr.read()}")
            time.sleep(0.1)
        print(f"\nstarted: lazyarray serve --port {port} (pid {server.pid})")
        yield url
    finally:
        server.send_signal(signal.SIGTERM)  # graceful: finishes or releases its jobs
        server.wait(60)
        print("stopped the server (SIGTERM: it finishes or hands back its running jobs)")


if __name__ == "__main__":
    main()
