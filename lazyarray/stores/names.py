"""The one validator of user-given names, and paths that cannot leave their root.

A name part (the ``owner`` and ``name`` of a workflow id ``owner:name``, later a
dataset's or an artifact's name) is lowercase ASCII letters, digits and ``._-``,
starting with a letter or a digit, not ending with a dot, without ``..``, at most 64
characters, and not a device name Windows reserves. Everything else is refused, not
repaired: uppercase (no case folding: ``Alice`` and ``alice`` would be one name on some
file systems and two on others), percent-encodings and separators (``%2f``, ``/``,
``\\``), NUL and control characters, and any non-ASCII character (a Cyrillic or a
fullwidth letter a looks like a Latin one). ``confined`` joins validated parts under a
root and checks, after resolving links, that the result is still inside it.

>>> check_workflow_id("alice:ndvi-2.0")
'alice:ndvi-2.0'
>>> check_workflow_id("alice:..")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
lazyarray.errors.InvalidName: invalid workflow id 'alice:..': name '..' must start with a ...
"""

from __future__ import annotations

import os
import posixpath
import re
import unicodedata
from pathlib import Path

from lazyarray.errors import InvalidName

MAX_PART = 64
ALLOWED = "lowercase letters, digits and ._-"
_PART = re.compile(r"[a-z0-9][a-z0-9._-]*")
# names Windows gives to devices, whatever their extension: ``nul.txt`` is the device
_DEVICES = frozenset(
    ["con", "prn", "aux", "nul"]
    + [f"{stem}{digit}" for stem in ("com", "lpt") for digit in "123456789"]
)


def shown(text: str, limit: int = 80) -> str:
    """``repr(text)``, cut short: a name in an error message is never a megabyte."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"... ({len(text)} chars)"


def _problem(text: str) -> str | None:
    """Why ``text`` is not a valid name part, or None if it is."""
    if not text:
        return "is empty"
    if len(text) > MAX_PART:
        return f"is longer than {MAX_PART} characters"
    for char in text:
        if ord(char) > 127:
            what = unicodedata.name(char, f"U+{ord(char):04X}")
            return (
                f"holds the non-ASCII character {char!r} ({what}); names are ASCII, so a "
                "look-alike cannot pass for another name"
            )
        if char == "\x00" or not char.isprintable():
            return f"holds the control character {char!r}"
        if char in "/\\":
            return f"holds the path separator {char!r}"
        if char == "%":
            return "holds '%': percent-encoded characters are not decoded, and not allowed"
        if char.isupper():
            return f"holds the uppercase letter {char!r}; names are lowercase"
    if not _PART.fullmatch(text):
        if not text[0].isalnum():
            return "must start with a lowercase letter or a digit"
        bad = next(char for char in text if not (char.isalnum() or char in "._-"))
        return f"holds {bad!r}; allowed are {ALLOWED}"
    if ".." in text:
        return "holds '..'"
    if text.endswith("."):
        return "ends with a dot"
    if text.split(".", 1)[0] in _DEVICES:
        return f"is a device name Windows reserves ({text.split('.', 1)[0]!r})"
    return None


def check_name(text: object, what: str = "name") -> str:
    """``text`` if it is a valid name part, else ``InvalidName`` saying why."""
    if not isinstance(text, str):
        raise InvalidName(f"a {what} is a str, not {type(text).__name__}")
    problem = _problem(text)
    if problem is not None:
        raise InvalidName(f"{what} {shown(text)} {problem}")
    return text


def check_workflow_id(text: object) -> str:
    """``text`` if it is a workflow id ``owner:name`` of two valid name parts."""
    if not isinstance(text, str):
        raise InvalidName(f"a workflow id is a str 'owner:name', not {type(text).__name__}")
    owner, colon, name = text.partition(":")
    try:
        if not colon:
            raise InvalidName(f"it has no ':'; a workflow id is 'owner:name' ({ALLOWED})")
        check_name(owner, "owner")
        check_name(name, "name")
    except InvalidName as exc:
        raise InvalidName(f"invalid workflow id {shown(text)}: {exc}") from None
    return text


def split_workflow_id(text: object) -> tuple[str, str]:
    """The owner and the name of a valid workflow id."""
    owner, _, name = check_workflow_id(text).partition(":")
    return owner, name


def confined(root: str | os.PathLike[str], *parts: str) -> Path:
    """``root/part/...`` for valid name parts, resolved (links followed) and checked to
    be inside ``root`` resolved; ``InvalidName`` otherwise. Call it on every read,
    write, list and delete: a link placed under the root after a check is caught by the
    next one."""
    base = Path(root).resolve()
    for part in parts:
        check_name(part, "path part")
    target = base.joinpath(*parts).resolve()
    if not target.is_relative_to(base):
        raise InvalidName(f"{shown('/'.join(parts))} leads outside {str(base)!r}")
    return target


# --- datasets: names inside a zarr store, uids, object-store keys ----------------------

_UID = re.compile(r"[0-9a-f]{64}")
# names zarr keeps for itself inside a store (a group's metadata document)
_ZARR_RESERVED = frozenset({"zarr.json"})


def check_dataset_part(text: object, what: str = "name") -> str:
    """``text`` if it is a valid name part that may also name a zarr group or array (a
    dataset's split or field): ``zarr.json`` is the store's own."""
    check_name(text, what)
    assert isinstance(text, str)
    if text in _ZARR_RESERVED:
        raise InvalidName(f"{what} {shown(text)} is a name zarr keeps for its metadata")
    return text


def check_uid(text: object) -> str:
    """``text`` if it is a dataset version's uid: 64 lowercase hex digits (a SHA-256)."""
    if not isinstance(text, str) or not _UID.fullmatch(text):
        shown_text = shown(text) if isinstance(text, str) else type(text).__name__
        raise InvalidName(f"a dataset uid is 64 lowercase hex digits, not {shown_text}")
    return text


def confined_key(root: str, *parts: str) -> str:
    """``root/part/...`` for an object store or fsspec URL ``root`` (no links to follow,
    no rename): each part validated, and the normalized key checked to stay under the
    normalized root."""
    base = root.rstrip("/")
    for part in parts:
        check_name(part, "path part")
    scheme, sep, rest = base.partition("://")
    prefix, path = (scheme + sep, rest) if sep else ("", base)
    joined = posixpath.normpath(posixpath.join(path or "/", *parts))
    anchor = posixpath.normpath(path or "/")
    if joined != anchor and not joined.startswith(anchor.rstrip("/") + "/"):
        raise InvalidName(f"{shown('/'.join(parts))} leads outside {root!r}")
    return prefix + joined.lstrip("/") if sep and not rest.startswith("/") else prefix + joined
