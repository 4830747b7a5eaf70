"""Assets: the scoped resources a run uses (a dask client for a whole session, a scratch
folder per compute, a connection per step); see ``docs/assets.md``.

The machinery is standard library only (backends use it); ``AssetSpecification`` and
``load`` read dicts and YAML through pydantic and pyyaml (``lazyarray[assets]``), imported
when first used.
"""

from typing import Any

from lazyarray.assets.builtin import DaskClient, ScratchDir, ThreadPool
from lazyarray.assets.core import (
    Asset,
    AssetScope,
    AssetSpec,
    WrapClassAsset,
    WrapFuncAsset,
)
from lazyarray.assets.registry import (
    ENTRY_POINT_GROUP,
    asset_type,
    available_asset_types,
    register_asset_type,
    unregister_asset_type,
)
from lazyarray.assets.runner import AssetBackend, Runner, node_assets, process_scope, with_assets
from lazyarray.assets.scopes import AssetSet, Scope, current, get, provided


def __getattr__(name: str) -> Any:
    if name in ("AssetSpecification", "load"):  # pydantic: loaded when first used
        from lazyarray.assets import specification

        return getattr(specification, name)
    raise AttributeError(f"module 'lazyarray.assets' has no attribute {name!r}")


__all__ = [
    "Asset",
    "AssetBackend",
    "AssetScope",
    "AssetSet",
    "AssetSpec",
    "AssetSpecification",
    "DaskClient",
    "ENTRY_POINT_GROUP",
    "Runner",
    "Scope",
    "ScratchDir",
    "ThreadPool",
    "WrapClassAsset",
    "WrapFuncAsset",
    "asset_type",
    "available_asset_types",
    "current",
    "get",
    "load",
    "node_assets",
    "process_scope",
    "provided",
    "register_asset_type",
    "unregister_asset_type",
    "with_assets",
]
