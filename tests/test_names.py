"""The one validator of user-given names, and paths confined to their root: hostile
names (traversal, absolute paths, NUL, percent-encodings, unicode look-alikes) are
refused before they reach a store, and a resolved path never leaves its root."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from lazyarray.errors import InvalidName
from lazyarray.stores.names import (
    MAX_PART,
    check_name,
    check_workflow_id,
    confined,
    split_workflow_id,
)

VALID = ["alice", "a", "0", "ndvi-2.0", "a_b", "x.y-z_1", "9lives", "a" * MAX_PART, "con1"]

# (name, a phrase of the reason given)
HOSTILE = [
    ("", "is empty"),
    ("..", "must start with"),
    (".", "must start with"),
    (".hidden", "must start with"),
    ("-rf", "must start with"),
    ("_x", "must start with"),
    ("a..b", "holds '..'"),
    ("name.", "ends with a dot"),
    ("../etc", "path separator '/'"),
    ("a/b", "path separator '/'"),
    ("/etc/passwd", "path separator '/'"),
    ("a\\b", "path separator '\\\\'"),
    ("..\\..\\windows", "path separator '\\\\'"),
    ("c:", "holds ':'"),
    ("a\x00b", "control character '\\x00'"),
    ("a\nb", "control character '\\n'"),
    ("a\tb", "control character '\\t'"),
    ("a%2fb", "percent-encoded"),
    ("%2e%2e", "percent-encoded"),
    ("a%252fb", "percent-encoded"),
    ("%00", "percent-encoded"),
    ("Alice", "uppercase letter 'A'"),
    ("ALICE", "uppercase"),
    ("\uff41lice", "FULLWIDTH LATIN SMALL LETTER A"),  # fullwidth a
    ("\u0430lice", "CYRILLIC SMALL LETTER A"),  # looks like a Latin a
    ("ali\u0441e", "CYRILLIC SMALL LETTER ES"),  # looks like a Latin c
    ("a\u200bb", "ZERO WIDTH SPACE"),
    ("a\u202eb", "RIGHT-TO-LEFT OVERRIDE"),
    ("e\u0301", "COMBINING ACUTE ACCENT"),
    ("\u2024\u2024", "ONE DOT LEADER"),  # looks like '..'
    ("a\u2215b", "DIVISION SLASH"),  # looks like '/'
    ("a\uff0fb", "FULLWIDTH SOLIDUS"),
    ("a b", "holds ' '"),
    ("a?b", "holds '?'"),
    ("a#b", "holds '#'"),
    ("a*", "holds '*'"),
    ("~", "must start with"),
    ("nul", "device name"),
    ("con.txt", "device name"),
    ("lpt1", "device name"),
    ("a" * (MAX_PART + 1), f"longer than {MAX_PART}"),
]


@pytest.mark.parametrize("name", VALID)
def test_valid_names_pass_unchanged(name: str) -> None:
    assert check_name(name) == name
    assert check_workflow_id(f"{name}:{name}") == f"{name}:{name}"


@pytest.mark.parametrize(("name", "reason"), HOSTILE, ids=[repr(n)[:24] for n, _ in HOSTILE])
def test_hostile_names_are_refused_saying_why(name: str, reason: str) -> None:
    with pytest.raises(InvalidName, match=re.escape(reason)):
        check_name(name)
    with pytest.raises(InvalidName, match="invalid workflow id"):
        check_workflow_id(f"alice:{name}")
    with pytest.raises(InvalidName, match="invalid workflow id"):
        check_workflow_id(f"{name}:ndvi")


@pytest.mark.parametrize("value", [None, b"alice", 3, Path("alice"), ["alice"]])
def test_a_name_is_a_str(value: object) -> None:
    with pytest.raises(InvalidName, match="is a str"):
        check_name(value)
    with pytest.raises(InvalidName, match="is a str"):
        check_workflow_id(value)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("alice", "no ':'"),
        ("alice:ndvi:2", "holds ':'"),
        (":ndvi", "owner '' is empty"),
        ("alice:", "name '' is empty"),
        ("alice/ndvi", "no ':'"),
        ("alice%3andvi", "no ':'"),
    ],
)
def test_a_workflow_id_is_owner_colon_name(text: str, reason: str) -> None:
    with pytest.raises(InvalidName, match=f"invalid workflow id.*{re.escape(reason)}"):
        check_workflow_id(text)


def test_an_id_splits_into_owner_and_name() -> None:
    assert split_workflow_id("alice:ndvi-2.0") == ("alice", "ndvi-2.0")


def test_a_huge_name_is_not_echoed_whole() -> None:
    with pytest.raises(InvalidName, match="longer than") as info:
        check_workflow_id("alice:" + "x" * 10**6)
    assert len(str(info.value)) < 400


# --- paths ----------------------------------------------------------------------------------


def test_confined_joins_valid_parts_under_the_root(tmp_path: Path) -> None:
    assert confined(tmp_path, "blobs", "ab") == (tmp_path / "blobs" / "ab").resolve()
    assert confined(tmp_path) == tmp_path.resolve()


@pytest.mark.parametrize(
    "part", ["..", "../x", "/etc", "/", "a/../..", "a\x00", "%2e%2e", "C:\\x", "\u2024\u2024", ""]
)
def test_confined_refuses_parts_that_are_not_names(tmp_path: Path, part: str) -> None:
    with pytest.raises(InvalidName):
        confined(tmp_path, "ok", part)


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links here")
def test_a_link_out_of_the_root_is_caught_after_resolving(tmp_path: Path) -> None:
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "escape").symlink_to(outside, target_is_directory=True)
    (root / "inside").symlink_to(root / "real", target_is_directory=True)
    with pytest.raises(InvalidName, match="leads outside"):
        confined(root, "escape")
    with pytest.raises(InvalidName, match="leads outside"):
        confined(root, "escape", "file")
    assert confined(root, "inside") == (root / "real").resolve()


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links here")
def test_a_root_that_is_a_link_confines_to_its_target(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.mkdir()
    link = tmp_path / "link"
    link.symlink_to(target, target_is_directory=True)
    assert confined(link, "a") == target.resolve() / "a"
