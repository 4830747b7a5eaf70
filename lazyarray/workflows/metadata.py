"""Checks of the metadata users attach to workflows and versions: types and sizes, so
that every registry stores the same well-formed values (and a server bounds what a
client may send)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from lazyarray.errors import InvalidMetadata

MAX_TITLE = 200
MAX_TEXT = 65536  # a description or a docstring (Markdown)
MAX_LABELS = 64
MAX_LABEL_KEY = 128
MAX_LABEL_VALUE = 1024
MAX_TAGS = 64
MAX_TAG = 64


def _string(value: Any, what: str, limit: int) -> str:
    if not isinstance(value, str):
        raise InvalidMetadata(f"{what} is a str, not {type(value).__name__}")
    if len(value) > limit:
        raise InvalidMetadata(f"{what} has {len(value)} characters; at most {limit}")
    if "\x00" in value:
        raise InvalidMetadata(f"{what} holds a NUL character")
    return value


def title(value: Any) -> str:
    text = _string(value, "a title", MAX_TITLE)
    if any(not char.isprintable() for char in text):
        raise InvalidMetadata("a title is one line of printable characters")
    return text


def description(value: Any) -> str:
    return _string(value, "a description", MAX_TEXT)


def docstring(value: Any) -> str:
    return _string(value, "a docstring", MAX_TEXT)


def labels(value: Any, what: str = "labels") -> dict[str, str | int | float | bool]:
    """A dict of str keys to str, int, float (finite) or bool values; None is empty."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidMetadata(
            f"{what} are a dict of str to str or number, not {type(value).__name__}"
        )
    if len(value) > MAX_LABELS:
        raise InvalidMetadata(f"{what}: {len(value)} labels; at most {MAX_LABELS}")
    checked: dict[str, str | int | float | bool] = {}
    for key, item in value.items():
        key = _string(key, f"a key of {what}", MAX_LABEL_KEY)
        if not key:
            raise InvalidMetadata(f"a key of {what} is empty")
        if isinstance(item, str):
            checked[key] = _string(item, f"{what}[{key!r}]", MAX_LABEL_VALUE)
        elif _number(item):
            checked[key] = item
        else:
            raise InvalidMetadata(
                f"{what}[{key!r}] is a str, a bool, an int of 64 bits or a finite float, "
                f"not {item!r}"[:300]
            )
    return checked


def _number(item: Any) -> bool:
    """A bool, an int of 64 bits or a finite float: what every JSON reader keeps exactly."""
    if isinstance(item, bool):
        return True
    if isinstance(item, int):
        return abs(item) < 2**63
    return isinstance(item, float) and math.isfinite(item)


def tags(value: Any) -> tuple[str, ...]:
    """A list of short one-line strings, each once, in the order given; None is none."""
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
        raise InvalidMetadata(f"tags are a list of str, not {type(value).__name__}")
    if len(value) > MAX_TAGS:
        raise InvalidMetadata(f"{len(value)} tags; at most {MAX_TAGS}")
    found: dict[str, None] = {}
    for tag in value:
        tag = _string(tag, "a tag", MAX_TAG)
        if not tag or tag != tag.strip() or not tag.isprintable():
            raise InvalidMetadata(
                f"tag {tag!r} is empty, has spaces around it or unprintable characters"
            )
        found[tag] = None
    return tuple(sorted(found) if isinstance(value, (set, frozenset)) else found)
