"""Bearer tokens: which owner a request speaks for. Every known token is compared in
constant time (``secrets.compare_digest``), and tokens are never logged."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path

from lazyarray.errors import ConfigError, InvalidName
from lazyarray.stores.names import check_name

DEFAULT_OWNER = "default"
COOKIE = "lazyarray_token"  # the web page's token, taken once from the link the server prints
COOKIE_METHODS = ("GET", "HEAD")  # a cookie never authorizes a change: no cross-site requests


def read_token_file(path: str | Path) -> dict[str, str]:
    """A token file: one ``owner token`` pair a line; ``#`` starts a comment. Returns
    ``{token: owner}``. Raises ``ConfigError`` for a malformed line, and for a token
    given to two owners (a token names one owner: which one would be a guess)."""
    tokens: dict[str, str] = {}
    lines: dict[str, int] = {}  # {token: the line that gave it}
    try:
        text = Path(path).read_text()
    except OSError as error:
        raise ConfigError(f"--token-file {path}: {error.strerror or error}") from None
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) != 2:
            raise ConfigError(f"{path}:{number}: expected 'owner token'")
        owner, token = words
        try:  # an owner publishes as owner:name: its name is a name part
            check_name(owner, "owner")
        except InvalidName as error:
            raise ConfigError(f"{path}:{number}: {error}") from None
        if token in tokens and tokens[token] != owner:
            raise ConfigError(
                f"{path}: lines {lines[token]} and {number} give one token to two owners "
                f"({tokens[token]!r} and {owner!r}); give each owner its own token"
            )
        tokens[token] = owner
        lines.setdefault(token, number)
    return tokens


def token_table(token: str | Mapping[str, str]) -> dict[str, str]:
    """``{token: owner}`` from one token (the default owner's) or a table."""
    table = {token: DEFAULT_OWNER} if isinstance(token, str) else dict(token)
    if not table or any(not value for value in table):
        raise ValueError("a server needs at least one non-empty token")
    return table


def owner_of(header: str | None, tokens: Mapping[str, str]) -> str | None:
    """The owner an ``Authorization: Bearer <token>`` header names, or None."""
    if header is None:
        return None
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given:
        return None
    return owner_of_token(given.strip(), tokens)


def request_owner(
    header: str | None, cookie: str | None, method: str, tokens: Mapping[str, str]
) -> str | None:
    """The owner of a request: its bearer header, else (reads only) its token cookie."""
    if header is not None:
        return owner_of(header, tokens)
    if cookie and method.upper() in COOKIE_METHODS:
        return owner_of_token(cookie, tokens)
    return None


def owner_of_token(given: str, tokens: Mapping[str, str]) -> str | None:
    """The owner of a token, or None."""
    found = None
    supplied = given.encode()
    for token, owner in tokens.items():  # no early exit: the time does not tell which
        if secrets.compare_digest(supplied, token.encode()):
            found = owner
    return found
