"""Publishing and using workflows: ``publish``, ``use``, ``Workflow``, ``list``; versions
by semver, immutable and never reused; metadata that may change; the registry chosen by
argument, option, environment or per-user default; typed errors for bad input."""

from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray import serialize
from lazyarray.errors import (
    ArgumentError,
    ConfigError,
    InvalidMetadata,
    InvalidName,
    InvalidVersion,
    RegistryNotFound,
    UnsupportedOperation,
    VersionConflict,
    VersionNotFound,
    WorkflowNotFound,
)
from lazyarray.graph import Node
from lazyarray.ops import apply
from lazyarray.proxy import wrap
from tests import kit

X = la.parameter("x", la.Array, dtype="float64")
T = la.parameter("threshold", la.Scalar, dtype="float64")
COUNT = (X > T).sum()
ID = "alice:count-above"


@pytest.fixture
def registry(tmp_path: Path) -> str:
    return str(tmp_path / "registry")


def publish_count(registry: str, version: str = "1.0.0", **metadata: Any) -> la.Workflow:
    return COUNT.publish(ID, version, parameters=["x", "threshold"], registry=registry, **metadata)


# --- publish and use ----------------------------------------------------------------------


def test_a_published_expression_is_used_as_a_function(registry: str, backend: str) -> None:
    workflow = publish_count(registry, title="Count above", docstring="How many exceed it.")
    assert isinstance(workflow, la.Workflow)
    assert (workflow.id, workflow.owner, workflow.name) == (ID, "alice", "count-above")
    count = la.use(ID, registry=registry)
    assert isinstance(count, la.Function)
    assert count.names == ("x", "threshold")
    assert count.name == f"{ID}@1.0.0"
    assert count.__doc__ == "How many exceed it."
    data = np.random.default_rng(0).normal(size=200_000)
    assert count(data, 0.5).compute(backend=backend) == (data > 0.5).sum()
    assert count(x=data[:5], threshold=0.0).compute(backend=backend) == (data[:5] > 0).sum()


def test_the_used_graph_is_the_published_graph(registry: str) -> None:
    publish_count(registry)
    used = la.use(ID, registry=registry)
    assert used.node is COUNT.node
    version = la.Workflow.get(ID, registry=registry).get_version("1.0.0")
    assert version.graph_digest == COUNT.node.digest
    assert version.graph_digest == serialize.graph_digest(serialize.to_dict(COUNT))


def test_an_expression_without_parameters_is_used_as_an_array(registry: str) -> None:
    table = la.Array(np.arange(12.0).reshape(3, 4)).mean(axis=0)
    table.publish("bob:means", "0.1.0", registry=registry)
    used = la.use("bob:means", registry=registry)
    assert isinstance(used, la.Array)
    kit.assert_exact(used.compute(), np.arange(12.0).reshape(3, 4).mean(axis=0))


def test_large_literals_are_kept_once_as_blobs_and_read_mapped(registry: str) -> None:
    weights = np.random.default_rng(1).normal(size=300_000)  # 2.4 MB: a blob
    weights.flags.writeable = False
    (X * la.Array(weights)).sum().publish("alice:dot", "1.0.0", registry=registry)
    (X * la.Array(weights)).publish("alice:scale", "1.0.0", registry=registry)
    blobs = list((Path(registry) / "blobs" / "sha256").rglob("*"))
    big = [path for path in blobs if path.is_file() and path.stat().st_size > weights.nbytes]
    assert len(big) == 1  # one blob for the two workflows
    scale = la.use("alice:scale", registry=registry)
    literal = next(n for n in scale.node.inputs if n.op == "constant").attr("value").value
    assert not literal.flags.writeable
    assert not literal.flags.owndata  # a view of the mapped file
    kit.assert_exact(scale(x=np.ones(300_000)).compute(), weights * 1.0)


def test_x_publish_and_workflows_publish_are_one(registry: str) -> None:
    function = la.Function(COUNT, parameters=["threshold", "x"])
    la.workflows.publish(function, "alice:swapped", "1.0.0", registry=registry)
    used = la.use("alice:swapped", registry=registry)
    assert used.names == ("threshold", "x")
    assert used(0.5, [0.1, 0.9]).compute() == 1
    function.publish("alice:swapped", "1.0.0", registry=registry)  # the same: a no-op


# --- versions ------------------------------------------------------------------------------


ORDER = ["0.9.0", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-rc.1", "1.0.0", "1.2.0", "1.10.0"]


def test_versions_are_sorted_by_semver_and_none_means_the_latest_release(registry: str) -> None:
    for number in ["1.10.0", "1.0.0-rc.1", "0.9.0", "1.0.0", "1.0.0-alpha.1", "1.2.0"]:
        publish_count(registry, number)
    (X > T).any().publish(ID, "2.0.0-rc.1", registry=registry)
    (X > T).any().publish(ID, "1.0.0-alpha", registry=registry)
    workflow = la.Workflow.get(ID, registry=registry)
    assert [v.version for v in workflow.versions] == [*ORDER, "2.0.0-rc.1"]
    assert workflow.latest is not None
    assert workflow.latest.version == "1.10.0"
    assert la.use(ID, registry=registry).name == f"{ID}@1.10.0"
    assert la.use(ID, "2.0.0-rc.1", registry=registry).node.op == "any"
    assert workflow.get_version("2.0.0-rc.1").prerelease


def test_only_prereleases_are_never_chosen_unnamed(registry: str) -> None:
    publish_count(registry, "1.0.0-rc.2")
    publish_count(registry, "1.0.0-rc.10")
    with pytest.raises(VersionNotFound, match=re.escape("pre-releases: 1.0.0-rc.2, 1.0.0-rc.10")):
        la.use(ID, registry=registry)
    assert la.Workflow.get(ID, registry=registry).latest is None


def test_a_version_holds_its_metadata(registry: str) -> None:
    before = datetime.datetime.now(datetime.UTC)
    publish_count(registry, docstring="Counts.", version_labels={"reviewed": True, "n": 3})
    version = la.Workflow.get(ID, registry=registry).get_version("1.0.0")
    assert (version.id, version.version, version.docstring) == (ID, "1.0.0", "Counts.")
    assert version.labels == {"reviewed": True, "n": 3}
    assert before - datetime.timedelta(seconds=1) <= version.created
    assert version.created <= datetime.datetime.now(datetime.UTC)
    assert version.created.tzinfo is datetime.UTC
    assert [a.name for a in version.arguments] == ["x", "threshold"]
    assert version.arguments[0].shape == (None,)
    assert version.result == {"dtype": "<i8", "shape": [], "masked": False}
    assert version.signature == (
        "(x: Array[float64, (?,)], threshold: Scalar[float64]) -> Scalar[int64]"
    )
    assert version.object.node is COUNT.node


# --- immutability ----------------------------------------------------------------------------


def _blob_files(registry: str) -> set[Path]:
    return {path for path in (Path(registry) / "blobs").rglob("*") if path.is_file()}


def test_publishing_the_same_graph_again_is_a_no_op(registry: str) -> None:
    publish_count(registry, docstring="first")
    created = la.Workflow.get(ID, registry=registry).get_version("1.0.0").created
    files = _blob_files(registry)
    rebuilt = (la.parameter("x", la.Array, dtype="float64") > T).sum()  # equal, built again
    workflow = rebuilt.publish(
        ID, "1.0.0", parameters=["x", "threshold"], docstring="second", registry=registry
    )
    version = workflow.get_version("1.0.0")
    assert (version.created, version.docstring) == (created, "first")
    assert _blob_files(registry) == files


def test_publishing_another_graph_under_a_version_is_a_conflict(registry: str) -> None:
    publish_count(registry)
    with pytest.raises(VersionConflict, match="published with another graph"):
        (X >= T).sum().publish(ID, "1.0.0", parameters=["x", "threshold"], registry=registry)
    with pytest.raises(VersionConflict, match=r"arguments \(x, threshold\); this one takes"):
        COUNT.publish(ID, "1.0.0", parameters=["threshold", "x"], registry=registry)
    with pytest.raises(VersionConflict, match=r"this one takes \(\*, threshold, x\)"):
        COUNT.publish(ID, "1.0.0", registry=registry)
    assert la.use(ID, registry=registry).node is COUNT.node


def test_a_deleted_version_is_gone_and_its_number_never_reused(registry: str) -> None:
    publish_count(registry, "1.0.0")
    publish_count(registry, "1.1.0")
    workflow = la.Workflow.get(ID, registry=registry)
    workflow.delete_version("1.1.0")
    assert [v.version for v in workflow.versions] == ["1.0.0"]
    assert la.use(ID, registry=registry).name == f"{ID}@1.0.0"
    with pytest.raises(VersionNotFound, match=r"1\.1\.0 of alice:count-above was deleted"):
        la.use(ID, "1.1.0", registry=registry)
    with pytest.raises(VersionConflict, match="never published again"):
        publish_count(registry, "1.1.0")
    with pytest.raises(VersionConflict, match="never published again"):
        (X < T).sum().publish(ID, "1.1.0", registry=registry)
    with pytest.raises(VersionNotFound, match="was deleted"):
        workflow.delete_version("1.1.0")
    workflow.get_version("1.0.0").delete()
    assert workflow.versions == ()
    with pytest.raises(VersionNotFound, match="has no released version"):
        la.use(ID, registry=registry)


# --- metadata ----------------------------------------------------------------------------------


def test_workflow_metadata_is_kept_and_may_change(registry: str) -> None:
    publish_count(
        registry,
        title="Count above",
        description="# Counts\n\nvalues above a threshold",
        labels={"team": "geo", "cost": 0.5},
        tags=["stats", "threshold", "stats"],
    )
    workflow = la.Workflow.get(ID, registry=registry)
    assert workflow.title == "Count above"
    assert workflow.description.startswith("# Counts")
    assert workflow.labels == {"team": "geo", "cost": 0.5}
    assert workflow.tags == ["stats", "threshold"]
    assert workflow.created == workflow.updated
    workflow.update(title="Count values above", tags=["stats"], labels={})
    again = la.Workflow.get(ID, registry=registry)
    assert (again.title, again.tags, again.labels) == ("Count values above", ["stats"], {})
    assert again.description.startswith("# Counts")
    assert again.updated > again.created


def test_a_new_version_may_replace_metadata_and_keeps_what_is_not_given(registry: str) -> None:
    publish_count(registry, "1.0.0", title="Count", tags=["a"])
    publish_count(registry, "1.1.0")
    workflow = la.Workflow.get(ID, registry=registry)
    assert (workflow.title, workflow.tags) == ("Count", ["a"])
    publish_count(registry, "1.2.0", title="Count v2", description="new")
    assert workflow.refresh().title == "Count v2"
    assert (workflow.description, workflow.tags) == ("new", ["a"])


def test_version_docstrings_and_labels_may_change_graphs_never(registry: str) -> None:
    publish_count(registry, docstring="old", version_labels={"a": "1"})
    version = la.Workflow.get(ID, registry=registry).get_version("1.0.0")
    version.update(docstring="new", labels={"b": "2"})
    again = la.Workflow.get(ID, registry=registry).get_version("1.0.0")
    assert (again.docstring, again.labels) == ("new", {"b": "2"})
    assert again.graph_digest == COUNT.node.digest


def test_workflows_are_listed_by_id_owner_and_tag(registry: str) -> None:
    publish_count(registry, tags=["stats"])
    X.sum().publish("bob:total", "1.0.0", tags=["stats", "sums"], registry=registry)
    X.max().publish("alice:peak", "1.0.0", registry=registry)
    assert [w.id for w in la.workflows.list(registry=registry)] == [
        "alice:count-above",
        "alice:peak",
        "bob:total",
    ]
    assert [w.id for w in la.workflows.list(registry=registry, owner="alice")] == [
        "alice:count-above",
        "alice:peak",
    ]
    assert [w.id for w in la.workflows.list(registry=registry, tag="stats")] == [
        "alice:count-above",
        "bob:total",
    ]
    assert la.workflows.list(registry=registry, owner="carol") == []
    assert [w.id for w in la.workflows.list(registry=registry, owner="bob", tag="sums")] == [
        "bob:total"
    ]


# --- the registry: argument, option, environment, default -----------------------------------


def test_the_registry_option_is_the_default_registry(registry: str) -> None:
    with la.config.set(registry=registry):
        publish_count(registry=None)  # type: ignore[arg-type]
        assert la.use(ID).name == f"{ID}@1.0.0"
        assert [w.id for w in la.workflows.list()] == [ID]
    assert la.use(ID, registry=Path(registry)).name == f"{ID}@1.0.0"


def _run(code: str, env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_environment_then_a_per_user_folder_are_the_defaults(tmp_path: Path) -> None:
    env = {**os.environ, "LAZYARRAY_REGISTRY": str(tmp_path / "shared")}
    publish = (
        "import lazyarray as la\n"
        "x = la.parameter('x', la.Array, dtype='float64')\n"
        "(x * 2).publish('alice:double', '1.0.0')\n"
        "print(la.workflows.default_location())\n"
    )
    _run(publish, env, tmp_path)
    assert (tmp_path / "shared" / "registry.sqlite").exists()
    use = "import lazyarray as la\nprint(la.use('alice:double')(x=[1.5]).compute()[0])\n"
    assert _run(use, env, tmp_path).strip() == "3.0"
    home = {
        **{k: v for k, v in os.environ.items() if k != "LAZYARRAY_REGISTRY"},
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "HOME": str(tmp_path / "home"),
    }
    where = Path(_run(publish, home, tmp_path).strip())
    assert where.is_relative_to(tmp_path)
    assert (where / "registry.sqlite").exists()


def test_a_missing_registry_is_reported_and_publishing_creates_it(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    with pytest.raises(RegistryNotFound, match="no registry in"):
        la.use(ID, registry=missing)
    with pytest.raises(RegistryNotFound, match="no registry in"):
        la.Workflow.get(ID, registry=missing)
    with pytest.raises(RegistryNotFound, match="no registry in"):
        la.workflows.list(registry=missing)
    assert not missing.exists()
    publish_count(str(missing))
    assert la.workflows.list(registry=missing)[0].id == ID


def test_a_folder_that_is_not_a_registry_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(RegistryNotFound, match="not empty and holds no registry"):
        publish_count(str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    with pytest.raises(RegistryNotFound, match="is a file"):
        publish_count(str(tmp_path / "notes.txt"))


@pytest.mark.parametrize(
    ("registry", "error", "message"),
    [
        ("ftp://example.org/x", RegistryNotFound, "no registry for URLs ftp"),
        (42, ConfigError, "not int"),
        ("", RegistryNotFound, "not a registry"),
        ("a\x00b", RegistryNotFound, "not a registry"),
    ],
)
def test_registries_that_cannot_be_opened(registry: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        la.use(ID, registry=registry)


# --- bad input fails before anything is written ------------------------------------------------


@pytest.mark.parametrize(
    "bad_id", ["alice", "Alice:x", "alice:../x", "/etc:passwd", "alice:x%2fy", "\u0430lice:x"]
)
def test_bad_ids_are_refused_everywhere(registry: str, bad_id: str) -> None:
    with pytest.raises(InvalidName):
        COUNT.publish(bad_id, "1.0.0", registry=registry)
    assert not Path(registry).exists()
    publish_count(registry)
    for call in (
        lambda: la.use(bad_id, registry=registry),
        lambda: la.Workflow.get(bad_id, registry=registry),
    ):
        with pytest.raises(InvalidName):
            call()


@pytest.mark.parametrize(
    "bad_version", ["1", "1.0", "v1.0.0", "01.0.0", "1.0.0+build.1", "1.0.0 ", "", "1.0.0\n", 1]
)
def test_bad_versions_are_refused_everywhere(registry: str, bad_version: Any) -> None:
    with pytest.raises(InvalidVersion):
        COUNT.publish(ID, bad_version, registry=registry)
    assert not Path(registry).exists()
    workflow = publish_count(registry)
    for call in (
        lambda: la.use(ID, bad_version, registry=registry),
        lambda: workflow.get_version(bad_version),
        lambda: workflow.delete_version(bad_version),
    ):
        with pytest.raises(InvalidVersion):
            call()


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({"title": 3}, "a title is a str"),
        ({"title": "two\nlines"}, "one line"),
        ({"title": "x" * 201}, "at most 200"),
        ({"description": b"bytes"}, "a description is a str"),
        ({"labels": ["a"]}, "labels are a dict"),
        ({"labels": {"a": [1]}}, "labels['a'] is a str"),
        ({"labels": {"a": float("nan")}}, "finite float"),
        ({"labels": {"a": 2**70}}, "64 bits"),
        ({"labels": {1: "a"}}, "a key of labels is a str"),
        ({"tags": "stats"}, "tags are a list"),
        ({"tags": ["ok", " padded"]}, "spaces around it"),
        ({"tags": [f"t{i}" for i in range(65)]}, "at most 64"),
        ({"docstring": None}, "a docstring is a str"),
        ({"version_labels": {"a": None}}, "version labels['a']"),
    ],
)
def test_bad_metadata_is_refused_before_anything_is_written(
    registry: str, metadata: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidMetadata, match=re.escape(message)):
        publish_count(registry, **metadata)
    assert not Path(registry).exists()


def test_unknown_workflows_and_versions_are_typed_errors(registry: str) -> None:
    publish_count(registry, "1.0.0")
    publish_count(registry, "1.1.0")
    with pytest.raises(WorkflowNotFound, match="no workflow 'alice:nope'"):
        la.use("alice:nope", registry=registry)
    with pytest.raises(WorkflowNotFound):
        la.Workflow.get("alice:nope", registry=registry)
    with pytest.raises(VersionNotFound, match=r"no version 2.0.0 \(its versions: 1.0.0, 1.1.0\)"):
        la.use(ID, "2.0.0", registry=registry)
    with pytest.raises(VersionNotFound):
        la.Workflow.get(ID, registry=registry).delete_version("2.0.0")
    assert isinstance(WorkflowNotFound("x"), LookupError)


def test_only_lazy_arrays_and_functions_are_published(registry: str) -> None:
    with pytest.raises(ArgumentError, match="lazy array or a Function, not ndarray"):
        la.workflows.publish(np.ones(3), ID, "1.0.0", registry=registry)
    with pytest.raises(ArgumentError, match="not listed: threshold"):
        COUNT.publish(ID, "1.0.0", parameters=["x"], registry=registry)
    assert not Path(registry).exists()


def test_a_graph_running_python_code_is_not_published(registry: str, python_row: Any) -> None:
    node: Node = apply(python_row.name, (X.node,), function=np.negative)
    with pytest.raises(UnsupportedOperation, match="runs Python code"):
        wrap(node).publish("alice:code", "1.0.0", registry=registry)
    assert not Path(registry).exists()


def test_the_json_of_a_version_lists_its_arguments(registry: str) -> None:
    publish_count(registry)
    version = la.Workflow.get(ID, registry=registry).get_version("1.0.0")
    assert json.loads(json.dumps([a.to_dict() for a in version.arguments])) == [
        {"name": "x", "dtype": "<f8", "shape": [None], "masked": False, "positional": True},
        {"name": "threshold", "dtype": "<f8", "shape": [], "masked": False, "positional": True},
    ]


def test_the_registry_option_takes_folders_and_urls(tmp_path: Path) -> None:
    with la.config.set(registry=tmp_path) as options:
        assert options.registry == str(tmp_path)
    with la.config.set(registry="") as options:
        assert options.registry is None
    with pytest.raises(ConfigError, match="lazyarray option registry: expected a folder"):
        la.config.set(registry=3)
    found = la.config.from_environment({"LAZYARRAY_REGISTRY": "http://localhost:8700"})
    assert found.registry == "http://localhost:8700"
    assert la.config.from_environment({"LAZYARRAY_REGISTRY": ""}).registry is None


def test_calls_of_a_version_are_cached_like_any_compute(registry: str) -> None:
    publish_count(registry)
    first = la.use(ID, registry=registry)([0.1, 0.7, 0.9], 0.5)
    second = la.use(ID, registry=registry)([0.1, 0.7, 0.9], 0.5)  # used again, called again
    assert first.node.digest == second.node.digest
    other = la.use(ID, registry=registry)([0.1, 0.7, 0.9], 0.8)
    assert other.node.digest != first.node.digest
    cache = la.execution.result_cache
    assert first.compute() == 2
    hits, size = cache.hits, len(cache)
    assert second.compute() == 2
    assert (cache.hits, len(cache)) == (hits + 1, size)


def test_masked_parameters_are_published_as_declared(registry: str, backend: str) -> None:
    m = la.parameter("m", la.MaskedArray, dtype="float32", shape=(None, 3))
    m.sum(axis=1).publish("alice:rows", "1.0.0", parameters=["m"], registry=registry)
    rows = la.use("alice:rows", registry=registry)
    [argument] = la.Workflow.get("alice:rows", registry=registry).get_version("1.0.0").arguments
    assert (argument.dtype, argument.shape, argument.masked) == ("<f4", (None, 3), True)
    data = np.ma.MaskedArray(
        np.arange(6, dtype="float32").reshape(2, 3), mask=[[0, 1, 0], [0, 0, 0]]
    )
    kit.assert_exact(rows(data).compute(backend=backend), data.sum(axis=1))
    with pytest.raises(ArgumentError, match="argument 'm' has shape"):
        rows(np.ones((2, 4), dtype="float32"))
