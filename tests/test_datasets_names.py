"""The validator's additions for datasets: uids, split and field names that are also zarr
node names, and object-store keys that cannot leave their root."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lazyarray.errors import InvalidName
from lazyarray.stores.names import check_dataset_part, check_uid, confined_key

ROOTS = ["memory://catalog", "memory:///catalog/", "s3://bucket/prefix", "/tmp/catalog"]


@pytest.mark.parametrize("root", ROOTS)
def test_keys_join_valid_parts_under_the_root(root: str) -> None:
    key = confined_key(root, "datasets", "demo", "d", "versions", "a" * 64)
    assert key == root.rstrip("/") + "/datasets/demo/d/versions/" + "a" * 64


@given(root=st.sampled_from(ROOTS), parts=st.lists(st.text(max_size=8), min_size=1, max_size=4))
def test_no_key_leaves_its_root(root: str, parts: list[str]) -> None:
    try:
        key = confined_key(root, *parts)
    except InvalidName:
        return
    assert key.startswith(root.rstrip("/") + "/")
    assert ".." not in key.split("/") and "" not in key[len(root.rstrip("/")) + 1 :].split("/")


@pytest.mark.parametrize("bad", ["..", "../x", "a/b", ".", "", "%2e%2e"])
def test_escaping_key_parts_are_refused(bad: str) -> None:
    with pytest.raises(InvalidName):
        confined_key("memory://catalog", "datasets", bad)


def test_uids_are_sha256_hex() -> None:
    assert check_uid("0" * 64) == "0" * 64
    for bad in ["0" * 63, "0" * 65, "G" * 64, "A" * 64, "../" + "0" * 61, None, 7]:
        with pytest.raises(InvalidName, match="64 lowercase hex"):
            check_uid(bad)


def test_split_and_field_names_are_names_zarr_does_not_keep() -> None:
    assert check_dataset_part("train", "split") == "train"
    assert check_dataset_part("zarr.json.bak", "field") == "zarr.json.bak"
    with pytest.raises(InvalidName, match=r"split 'zarr\.json' is a name zarr keeps"):
        check_dataset_part("zarr.json", "split")
    with pytest.raises(InvalidName, match="field 'Label' holds the uppercase letter"):
        check_dataset_part("Label", "field")
