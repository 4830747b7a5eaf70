"""Plugins found by name in an entry-point group (backends, asset types, artifact
handlers), read once, when first asked: reading the installed distributions costs about
20 ms, which ``import lazyarray`` does not pay."""

from __future__ import annotations

import functools
import warnings
from typing import Any


@functools.cache
def named_entry_points(group: str, kind: str) -> dict[str, Any]:
    """The entry points of ``group`` by name; of two with one name (``kind`` names
    what they are in the warning), the first."""
    from importlib.metadata import entry_points

    found: dict[str, Any] = {}
    for point in entry_points(group=group):
        if point.name in found and found[point.name].value != point.value:
            warnings.warn(
                f"two {kind} are named {point.name!r} "
                f"({found[point.name].value} and {point.value}); using the first",
                RuntimeWarning,
                stacklevel=2,
            )
            continue
        found[point.name] = point
    return found
