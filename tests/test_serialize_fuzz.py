"""Hostile documents by the thousand: the golden documents, mutated at random places
(keys dropped, values swapped for other JSON, lists cut, shuffled or grown, op names
exchanged). A server reads documents from anyone and runs what reads, so the reader must
answer each with a graph or a ``GraphFormatError`` subclass, and computing a graph that
reads (small ones) gives a value or a ``LazyArrayError``: never another exception.

``make test`` reads 10,000 documents; ``make soak`` 100,000 more.
"""

from __future__ import annotations

import copy
import json
import math
import random
import warnings
from pathlib import Path
from typing import Any

import pytest

import lazyarray as la
from lazyarray import serialize
from lazyarray.errors import GraphFormatError, LazyArrayError
from lazyarray.ops import OPS
from lazyarray.stores.blobs import FolderBlobs

GOLDEN = Path(__file__).parent / "golden"
SEEDS = [json.loads(path.read_text()) for path in sorted(GOLDEN.glob("*.json"))]
SEEDS = [doc for doc in SEEDS if "format_version" in doc]  # not the manifest
BLOBS = FolderBlobs(GOLDEN / "blobs")
OP_NAMES = sorted(OPS)
LIMITS = serialize.Limits(nodes=10_000, literal_bytes=2**20)


def _json(rng: random.Random, depth: int = 0) -> Any:
    """A random JSON value, biased towards what a reader must weigh: edge numbers,
    op names, type names, short lists."""
    pick = rng.randrange(12 if depth < 3 else 8)
    if pick == 0:
        return None
    if pick == 1:
        return rng.choice([True, False])
    if pick == 2:
        return rng.choice([0, 1, -1, 2, 3, 2**31, 2**63, -(2**63) - 1, 10**30, 7])
    if pick == 3:
        return rng.choice([0.0, -0.0, 0.5, 1e308, -1e-308, 3.0])
    if pick == 4:
        return rng.choice(OP_NAMES)
    if pick == 5:
        return rng.choice(["float64", "<f8", "int8", "bool", "complex128", "O", "V8", "", "x"])
    if pick == 6:
        return rng.choice(["__class__", "sha256:" + "0" * 64, "../../etc/passwd", "\x00", "é"])
    if pick == 7:
        return rng.randrange(-3, 12)
    if pick in (8, 9):
        return [_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(["value", "axis", "shape", "dtype", "op", "x"]): _json(rng, depth + 1)}


def _places(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of every container in a document."""
    found = [path]
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, child in items:
        if isinstance(child, dict | list):
            found.extend(_places(child, (*path, key)))
    return found


def _at(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def mutate(doc: Any, rng: random.Random) -> Any:
    """``doc`` with one to three random changes."""
    doc = copy.deepcopy(doc)
    for _ in range(rng.randrange(1, 4)):
        place = _at(doc, rng.choice(_places(doc)))
        keys = list(place) if isinstance(place, dict) else list(range(len(place)))
        move = rng.randrange(6)
        if not keys or move == 0:  # grow
            if isinstance(place, dict):
                place[rng.choice([*keys, "extra", "nodes", "attrs"])] = _json(rng)
            else:
                place.insert(rng.randrange(len(place) + 1), _json(rng))
        elif move == 1:  # drop
            del place[rng.choice(keys)]
        elif move == 2:  # swap two values
            a, b = rng.choice(keys), rng.choice(keys)
            place[a], place[b] = place[b], place[a]
        elif move == 3 and isinstance(place, list):  # cut
            del place[rng.randrange(len(place)) :]
        elif move == 4:  # duplicate a value elsewhere in the same container
            place[rng.choice(keys)] = copy.deepcopy(place[rng.choice(keys)])
        else:  # replace
            place[rng.choice(keys)] = _json(rng)
    return doc


def read(doc: Any) -> None:
    """Reads ``doc`` as a server does (untrusted, from its JSON text) and computes it
    when it reads and its results are small."""
    try:
        text = json.dumps(doc, allow_nan=False)
    except (ValueError, TypeError):
        return  # not JSON: never reaches a reader
    try:
        read = serialize.from_json(text, blobs=BLOBS, trusted=False, limits=LIMITS)
    except GraphFormatError:
        return
    outputs = read if isinstance(read, tuple) else (read,)
    if any(math.prod(size or SMALL for size in x.shape) >= SMALL for x in outputs):
        return
    try:
        with warnings.catch_warnings():  # overflow and invalid values are numpy's answers
            warnings.simplefilter("ignore", RuntimeWarning)
            la.compute(*outputs)
    except LazyArrayError:
        pass


SMALL = 10**6  # elements: larger results are not computed (unknown sizes count as large)


def run(count: int, seed: int) -> None:
    rng = random.Random(seed)
    for index in range(count):
        doc = mutate(rng.choice(SEEDS), rng)
        try:
            read(doc)
        except Exception as exc:  # the failing document, to replay it
            raise AssertionError(
                f"document {index} (seed {seed}) raised {type(exc).__name__}: {exc}\n"
                f"{json.dumps(doc)[:2000]}"
            ) from exc


def test_the_seeds_read() -> None:
    assert len(SEEDS) >= 8
    for doc in SEEDS:
        serialize.from_dict(doc, blobs=BLOBS)


@pytest.mark.parametrize("seed", range(4))
def test_mutated_documents_read_or_raise_a_format_error(seed: int) -> None:
    run(2_500, seed)


@pytest.mark.soak
@pytest.mark.parametrize("seed", range(100, 120))
def test_mutated_documents_soak(seed: int) -> None:
    run(5_000, seed)
