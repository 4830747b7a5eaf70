"""Crash safety: a writer SIGKILLed at random moments while saving version 2 over
version 1 leaves ``load_artifact`` returning exactly v1 or exactly v2, never a part, and
no debris once the next writer (or ``prune``) has run.

The writer is a forked child of this process (no interpreter start per kill), killed
after a random delay drawn over the time one whole save takes. The normal suite kills 8
writers per store; the soak run 50."""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from lazyarray.artifacts import Repository

pytest.importorskip("fsspec")
pytest.importorskip("zarr")

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")

V1 = np.ones(1_000_000)  # 8 MB: a save takes long enough to be cut in the middle
V2 = np.full(1_000_000, 2.0)


def save_v2(root: str, handler: str) -> None:
    repo = Repository(root)
    repo.log_artifact("a", V2, handler=handler)
    repo.save()


def run_writer(root: str, handler: str, delay: float | None) -> bool:
    """Forks a writer of v2; kills it after ``delay`` seconds (None: lets it finish).
    Whether it was killed before it finished."""
    pid = os.fork()
    if pid == 0:  # the child: write, then leave without running the parent's cleanup
        try:
            save_v2(root, handler)
        finally:
            os._exit(0)
    if delay is not None:
        time.sleep(delay)
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    return os.WIFSIGNALED(status)


def visible(root: Path) -> list[str]:
    """Every path under ``root``, relative."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def check_after_kill(root: Path, url: str) -> tuple[int, bool]:
    """The version loaded, and whether the killed writer had left anything behind."""
    repo = Repository(url)
    value = repo.load_artifact("a")
    value = np.asarray(value[...])
    assert value.shape == V1.shape and value.dtype == V1.dtype
    assert np.array_equal(value, V1) or np.array_equal(value, V2), "a partial version"
    versions = [row["version"] for row in repo.artifacts()]
    assert versions in ([1], [1, 2])
    left = [p for p in visible(root / "a") if p.split("/")[0] not in ("v1", "v2")]
    left += [p for p in visible(root / "a") if p.startswith("v2") and versions == [1]]
    repo.prune()  # removes what the killed writer left
    names = [p for p in visible(root) if "lazyarray-" in p or ".part" in p or ".writer" in p]
    assert names == [], names
    for folder in (root / "a").iterdir():  # every version folder left is a committed one
        assert (folder / "manifest.json").exists(), visible(root)
    return versions[-1], bool(left)


def crash_loop(tmp_path: Path, kind: str, handler: str, kills: int) -> None:
    rng = random.Random(1234 + kills)
    # how long one save takes here: the range the kill moments are drawn from
    probe = tmp_path / "probe"
    url_of = (lambda p: str(p)) if kind == "folder" else (lambda p: f"file://{p}")
    start = time.perf_counter()
    run_writer(url_of(probe), handler, None)
    duration = time.perf_counter() - start
    outcomes = {1: 0, 2: 0, "cut": 0}
    for attempt in range(kills):
        root = tmp_path / f"r{attempt}"
        repo = Repository(url_of(root))
        repo.log_artifact("a", V1, handler=handler)
        repo.save()
        # kill moments spread over the whole save, one per stratum
        run_writer(url_of(root), handler, duration * 1.2 * (attempt + rng.random()) / kills)
        version, cut = check_after_kill(root, url_of(root))
        outcomes[version] += 1
        outcomes["cut"] += cut
    print(f"{kind} {handler}: one save {duration * 1000:.0f} ms; {outcomes}")
    assert outcomes[1] > 0, outcomes  # some kills landed before the commit
    if kills >= 50:
        assert outcomes["cut"] > 0, outcomes  # and some in the middle of writing


@pytest.mark.parametrize(
    ("kind", "handler", "kills"),
    [("folder", "numpy", 8), ("fsspec-file", "numpy", 4), ("folder", "zarr", 3)],
)
def test_killed_writer_leaves_v1_or_v2(tmp_path: Path, kind: str, handler: str, kills: int) -> None:
    crash_loop(tmp_path, kind, handler, kills)


@pytest.mark.soak
@pytest.mark.parametrize("kind", ["folder", "fsspec-file"])
@pytest.mark.parametrize("handler", ["numpy", "zarr"])
def test_killed_writer_soak(tmp_path: Path, kind: str, handler: str) -> None:
    crash_loop(tmp_path, kind, handler, kills=50)
