"""Artifacts: typed, versioned results in a repository (a folder or an fsspec URL).

>>> import lazyarray as la, tempfile
>>> repo = la.artifacts.Repository(tempfile.mkdtemp())
>>> _ = repo.log_artifact("scores", {"auc": 0.91})
>>> [artifact.version for artifact in repo.save()]
[1]
>>> repo.load_artifact("scores")
{'auc': 0.91}
"""

from lazyarray.artifacts.handlers import (
    ENTRY_POINT_GROUP,
    Artifact,
    available_handlers,
    get_handler,
    infer_handler,
    is_unsafe,
)
from lazyarray.artifacts.repository import Repository


def destination_for(url: str) -> object:
    """The destination ``"artifact://name"`` names: ``name`` in the repository of the
    ``artifacts`` option."""
    from lazyarray.config import snapshot
    from lazyarray.errors import ConfigError

    root = snapshot().artifacts
    if root is None:
        raise ConfigError(
            f"destination {url!r} needs an artifact repository: set the artifacts option "
            "(la.config.set(artifacts=...) or LAZYARRAY_ARTIFACTS) to a folder or a URL"
        )
    return Repository(root).destination(url.partition("://")[2])


__all__ = [
    "ENTRY_POINT_GROUP",
    "Artifact",
    "Repository",
    "available_handlers",
    "destination_for",
    "get_handler",
    "infer_handler",
    "is_unsafe",
]
