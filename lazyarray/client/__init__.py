"""Talking to a lazyarray server: the connection shared by the remote backend and the
http registry. Needs the ``server`` extra (httpx), imported only when a client is made."""

from lazyarray.client.connection import (
    DEFAULT_SERVER,
    Client,
    Retries,
    error_from,
    find_token,
    server_url,
    token_path,
)
from lazyarray.errors import ServerBusy, ServerUnreachable

__all__ = [
    "DEFAULT_SERVER",
    "Client",
    "Retries",
    "ServerBusy",
    "ServerUnreachable",
    "error_from",
    "find_token",
    "server_url",
    "token_path",
]
