"""The ``/v1/datasets`` routes: the server's dataset catalog over HTTP.

A version is created from arrays already uploaded as ``.npy`` blobs (``PUT
/v1/blobs/{digest}``, never unpickled) and named by their digests in a JSON body; the
catalog writes it exactly as a local ``Catalog.create`` does (data, manifest, then
tags). Anyone with a token lists and reads; only the owner a namespace is named after
creates versions or moves tags in it (403 otherwise), as with workflows' ``owner:name``.
Names from URLs and bodies go through the one validator before they reach the catalog;
the catalog's folder never appears in an answer.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from lazyarray.datasets.catalog import Catalog
from lazyarray.errors import (
    CatalogError,
    CorruptBlob,
    DatasetNotFound,
    FieldNotFound,
    LazyArrayError,
    ResourceExhausted,
    SplitNotFound,
    Unauthorized,
)
from lazyarray.server.blobs import read_npy
from lazyarray.server.responses import answered as refusals
from lazyarray.stores.blobs import BlobStore, check_digest
from lazyarray.stores.names import check_name

# the status of each error the catalog raises; any other LazyArrayError is the client's
STATUSES: tuple[tuple[type[LazyArrayError], int], ...] = (
    (DatasetNotFound, 404),  # TagNotFound too
    (SplitNotFound, 404),
    (FieldNotFound, 404),
    (Unauthorized, 403),
    (ResourceExhausted, 413),
    (CatalogError, 500),
)


class BlobField(BaseModel, strict=True, extra="forbid"):
    blob: str = Field(description="sha256:<hex> of an uploaded .npy file")


class CreateBody(BaseModel, strict=True, extra="forbid"):
    splits: dict[str, dict[str, BlobField]] = Field(
        description='{split: {field: {"blob": "sha256:<hex>"}}}'
    )
    tag: str | list[str] | None = "latest"
    latest: bool = True
    description: str = Field(default="", max_length=10_000)
    metadata: dict[str, Any] = Field(default_factory=dict)


class TagBody(BaseModel, strict=True, extra="forbid"):
    uid: str


def router(
    catalog: Catalog,
    owner_dependency: Callable[..., Any],
    blobs: BlobStore,
    *,
    shard_bytes: int | None = None,
) -> APIRouter:
    """The dataset routes over ``catalog``; ``blobs`` is where uploads are, ``owner_dependency``
    names the request's owner (401 without a valid token); a shard download is refused
    over ``shard_bytes`` (None: no bound)."""
    api = APIRouter(tags=["datasets"])
    who_is = Depends(owner_dependency)
    hidden = catalog.location

    def answered() -> contextlib.AbstractContextManager[None]:
        return refusals(STATUSES, {hidden: "<catalog>"})

    def owned(who: str, namespace: str) -> None:
        if check_name(namespace, "namespace") != who:
            raise Unauthorized(
                f"namespace {namespace!r} belongs to {namespace!r}; this token speaks for "
                f"{who!r}, who may create and tag only {who}/<name>"
            )

    def answer(found: Any) -> dict[str, Any]:
        return dict(found.to_dict())

    @api.get("/v1/datasets")
    def list_datasets(namespace: str | None = None, who: str = who_is) -> Any:
        with answered():
            if namespace is not None:  # a bad name is refused, whatever the catalog holds
                check_name(namespace, "namespace")
            listed = [
                {"namespace": ns, "name": name, "tags": catalog.tags(ns, name)}
                for ns, name in catalog.list()
                if namespace in (None, ns)
            ]
            return {"datasets": listed}

    @api.post("/v1/datasets/{namespace}/{name}", status_code=201)
    def create(namespace: str, name: str, body: CreateBody, who: str = who_is) -> Any:
        with answered():
            owned(who, namespace)
            check_name(name, "name")
            splits = {
                split: {field: _array(blobs, entry.blob) for field, entry in fields.items()}
                for split, fields in body.splits.items()
            }
            created = catalog.create(
                namespace,
                name,
                splits=splits,
                tag=body.tag,
                latest=body.latest,
                description=body.description,
                metadata=body.metadata,
            )
            return answer(created)

    @api.get("/v1/datasets/{namespace}/{name}")
    def get_dataset(namespace: str, name: str, who: str = who_is) -> Any:
        with answered():
            versions = catalog.versions(namespace, name)
            if not versions:
                raise DatasetNotFound(f"no dataset {namespace}/{name} in the catalog")
            return {
                "namespace": namespace,
                "name": name,
                "tags": catalog.tags(namespace, name),
                "versions": [
                    {"uid": v.uid, "created": v.created, "tags": list(v.tags)} for v in versions
                ],
            }

    @api.get("/v1/datasets/{namespace}/{name}/tags/{tag}")
    def query(namespace: str, name: str, tag: str, who: str = who_is) -> Any:
        with answered():
            return answer(catalog.query(namespace, name, tag))

    @api.put("/v1/datasets/{namespace}/{name}/tags/{tag}")
    def move_tag(namespace: str, name: str, tag: str, body: TagBody, who: str = who_is) -> Any:
        with answered():
            owned(who, namespace)
            catalog.tag(namespace, name, tag, body.uid)
            return answer(catalog.query(namespace, name, tag))

    @api.get("/v1/dataset-versions/{uid}")
    def version(uid: str, who: str = who_is) -> Any:
        with answered():
            return answer(catalog.version(uid))

    @api.get("/v1/dataset-versions/{uid}/splits/{split}/shard", response_class=Response)
    def shard(
        uid: str,
        split: str,
        chunk: int = Query(..., description="the shard, in [0, nchunks)"),
        nchunks: int = Query(..., description="how many shards the split is cut into"),
        who: str = who_is,
    ) -> Response:
        """Shard ``chunk`` of ``nchunks`` of a split as an ``.npz`` of its fields' rows
        (what ``stream_split`` yields, by column)."""
        with answered():
            found = catalog.version(uid)
            info = found.split(split)
            from lazyarray.datasets.catalog_stream import shard_range

            start, stop = shard_range(info.rows, chunk, nchunks)
            size = sum(f.nbytes // max(1, f.shape[0]) for f in info.fields.values())
            if shard_bytes is not None and size * (stop - start) > shard_bytes:
                raise ResourceExhausted(
                    f"shard {chunk} of {nchunks} holds {size * (stop - start)} bytes, over "
                    f"the server's limit of {shard_bytes}: ask for more, smaller shards"
                )
            columns = found.shard(split, chunk=chunk, nchunks=nchunks, cache=False)
            buffer = io.BytesIO()
            np.savez(buffer, **columns)  # type: ignore[arg-type]
            return Response(buffer.getvalue(), media_type="application/x-npz")

    return api


def _array(blobs: BlobStore, digest: str) -> np.ndarray:
    """An uploaded ``.npy`` blob, mapped read-only (never unpickled)."""
    try:
        return read_npy(blobs, check_digest(digest))
    except KeyError:
        raise CorruptBlob(
            f"no blob {digest[:80]}: upload the field's .npy with PUT /v1/blobs/{{digest}} first"
        ) from None
    except ValueError as error:  # not a digest, not an npy file, an object array
        raise CorruptBlob(f"blob {digest[:80]} is not a plain .npy array: {error}") from None
