"""Version numbers: semantic versioning 2.0.0, read by the ``semver`` package.

A published version is named by its precedence, so build metadata (``1.0.0+build.5``),
which semver ignores when ordering, is refused: two versions that sort as equal would
make "the latest" ambiguous. A version is kept exactly as written, which is its
canonical form (``1.02.0`` is refused by semver itself).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from lazyarray.errors import InvalidVersion

if TYPE_CHECKING:
    import semver

MAX_LENGTH = 128


def _semver() -> Any:
    try:
        import semver
    except ImportError:  # pragma: no cover - the extra is part of the test install
        raise ImportError(
            "workflows need the semver package: pip install 'lazyarray[workflows]'"
        ) from None
    return semver


def parse(text: object) -> semver.Version:
    """The semantic version ``text`` names; ``InvalidVersion`` saying why if none."""
    if not isinstance(text, str):
        raise InvalidVersion(
            f"a version is a str such as '1.2.0' or '2.0.0-rc.1', not {type(text).__name__}"
        )
    if len(text) > MAX_LENGTH:
        raise InvalidVersion(f"a version has at most {MAX_LENGTH} characters")
    if not text.isascii():
        raise InvalidVersion(f"{text!r} is not a semantic version: it is not ASCII")
    try:
        version: semver.Version = _semver().Version.parse(text)
    except (ValueError, TypeError):
        hint = " (without the 'v')" if text[:1] in ("v", "V") else ""
        raise InvalidVersion(
            f"{text!r} is not a semantic version MAJOR.MINOR.PATCH[-PRERELEASE], such as "
            f"'1.2.0' or '2.0.0-rc.1'{hint}"
        ) from None
    if str(version) != text:  # one spelling per version: the text is the key
        raise InvalidVersion(f"{text!r} is not written as semver writes it: {str(version)!r}")
    if version.build is not None:
        raise InvalidVersion(
            f"{text!r} has build metadata ('+{version.build}'), which semantic versioning "
            "ignores when ordering versions; publish it as a distinct version number"
        )
    return version


def check(text: object) -> str:
    """``text`` if it is a valid version number."""
    parse(text)
    return text  # type: ignore[return-value]  # parse checked it is a str


def ordered(versions: Iterable[str]) -> list[str]:
    """Valid version numbers sorted by precedence, oldest first."""
    return sorted(versions, key=parse)


def is_prerelease(text: str) -> bool:
    return parse(text).prerelease is not None


def latest(versions: Iterable[str]) -> str | None:
    """The highest version that is not a pre-release, or None."""
    releases = [version for version in versions if not is_prerelease(version)]
    return max(releases, key=parse) if releases else None
