"""``lazyarray serve``: durable asynchronous jobs over HTTP (``docs/server.md``).

An extra (``lazyarray[server]``): importing this package loads FastAPI only through
``create_app``; ``import lazyarray`` never imports this package.
"""

from __future__ import annotations

from typing import Any


def create_app(*args: Any, **kwargs: Any) -> Any:
    """The FastAPI application of a store folder (``lazyarray.server.app.create_app``)."""
    from lazyarray.server.app import create_app as create

    return create(*args, **kwargs)


__all__ = ["create_app"]
