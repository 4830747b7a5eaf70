"""Streaming every shard of a dataset split, with the shard cache cold, warm, or off.

The split: 100 000 records of a 32x32 uint8 image and an int64 label (about 100 MB;
1 000 records under ``make test``, timing disabled), in a folder catalog, cut into 8
shards.

Groups:
- dataset-records: every record of every shard through ``stream_split`` (a dict per
  row): ``nocache`` reads each shard from the zarr store, ``cold`` reads it and writes
  its cache file (the cache emptied before each round), ``warm`` reads the cache files
  (each verified by its checksum before use).
- dataset-shards: the same shards as columns (``Dataset.shard``), without the per-record
  Python loop: what the cache itself costs and saves.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("zarr")

from lazyarray.datasets import Catalog, Dataset

NCHUNKS = 8


@pytest.fixture(scope="module")
def dataset(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    rows = 1_000 if request.config.getoption("benchmark_disable") else 100_000
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, size=(rows, 32, 32), dtype=np.uint8)
    labels = rng.integers(0, 10, size=rows, dtype=np.int64)
    root = tmp_path_factory.mktemp("catalog")
    return Catalog(root).create("bench", "images", splits={"train": {"image": images,
                                                                    "label": labels}})  # fmt: skip


def records(ds: Dataset, cache: Path | bool) -> int:
    count = 0
    for chunk in range(NCHUNKS):
        for _ in ds.stream_split("train", chunk=chunk, nchunks=NCHUNKS, cache=cache):
            count += 1
    return count


def columns(ds: Dataset, cache: Path | bool) -> int:
    return sum(
        len(ds.shard("train", chunk=chunk, nchunks=NCHUNKS, cache=cache)["label"])
        for chunk in range(NCHUNKS)
    )


@pytest.mark.parametrize("how", ["nocache", "cold", "warm"])
@pytest.mark.parametrize("reading", [records, columns], ids=["records", "shards"])
def test_stream_all_shards(
    benchmark: Any, dataset: Dataset, tmp_path: Path, how: str, reading: Any
) -> None:
    benchmark.group = f"dataset-{reading.__name__}"
    cache: Path | bool = False if how == "nocache" else tmp_path / "cache"
    if how == "warm":
        reading(dataset, cache)

    def empty() -> None:
        if how == "cold":
            shutil.rmtree(tmp_path / "cache", ignore_errors=True)

    count = benchmark.pedantic(
        reading, args=(dataset, cache), setup=empty, rounds=5, warmup_rounds=0
    )
    assert count == dataset.rows("train")
