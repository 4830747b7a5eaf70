"""Assets on their own: specifications (dicts, YAML, typed errors), types found by name
(built in, registered, entry points), wrappers, and scopes that deinitialize in reverse
order whatever ends them."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest

import lazyarray as la
from lazyarray.assets import (
    Asset,
    AssetScope,
    AssetSet,
    AssetSpec,
    Scope,
    asset_type,
    available_asset_types,
    get,
    register_asset_type,
    unregister_asset_type,
)
from lazyarray.assets import registry as registry_module
from lazyarray.errors import (
    AssetCycleError,
    AssetDependencyError,
    AssetError,
    AssetInitError,
    AssetNotFound,
    AssetScopeError,
    AssetSpecError,
    AssetTypeNotFound,
)
from lazyarray.plugins import named_entry_points

LOG: list[tuple[str, str]] = []


class Recorded(Asset):
    """Logs its init and deinit; its object names what it was given."""

    def init(self) -> None:
        if self.params.get("fail") == "init":
            raise RuntimeError(f"{self.id} cannot start")
        LOG.append(("init", self.id))
        self.obj = (self.id, dict(self.dependencies))

    def deinit(self) -> None:
        LOG.append(("deinit", self.id))
        if self.params.get("fail") == "deinit":
            raise RuntimeError(f"{self.id} cannot stop")


@pytest.fixture(autouse=True)
def _fresh_log() -> None:
    LOG.clear()


def test_dependencies_init_in_order_and_deinit_in_reverse() -> None:
    assets = AssetSet(
        [
            Recorded("c", depends=["b", "a"]),
            Recorded("a"),
            Recorded("b", depends=["a"]),
        ]
    )
    assert [a.id for a in assets] == ["a", "b", "c"]
    with Scope(assets) as scope:
        assert LOG == [("init", "a"), ("init", "b"), ("init", "c")]
        # dependencies are handed over by id
        assert scope["c"][1] == {"b": scope["b"], "a": scope["a"]}
        assert get("a") == ("a", {})
    assert LOG[3:] == [("deinit", "c"), ("deinit", "b"), ("deinit", "a")]
    with pytest.raises(AssetNotFound, match="no assets are open"):
        get("a")


def test_a_failure_inside_the_scope_still_deinitializes_everything() -> None:
    with pytest.raises(ZeroDivisionError), Scope(AssetSet([Recorded("a"), Recorded("b")])):
        1 / 0  # noqa: B018 - the failing work
    assert LOG == [("init", "a"), ("init", "b"), ("deinit", "b"), ("deinit", "a")]


def test_a_failing_init_undoes_those_before_it() -> None:
    assets = AssetSet([Recorded("a"), Recorded("b", params={"fail": "init"}), Recorded("c")])
    with pytest.raises(AssetInitError, match=r"'b'.*failed to initialize.*cannot start"):
        Scope(assets).open()
    assert LOG == [("init", "a"), ("deinit", "a")]


def test_a_failing_deinit_lets_the_others_run_and_is_reported() -> None:
    assets = AssetSet([Recorded("a"), Recorded("b", params={"fail": "deinit"})])
    with pytest.raises(AssetInitError, match=r"'b'.*failed to deinitialize"), Scope(assets):
        pass
    assert LOG[-2:] == [("deinit", "b"), ("deinit", "a")]
    # under a failure of the work, the work's error is the one raised, the other noted
    with pytest.raises(KeyError) as raised, Scope(assets):
        raise KeyError("work")
    assert "failed to deinitialize" in "".join(raised.value.__notes__)


def test_each_opening_gets_its_own_asset() -> None:
    configured = Recorded("a", scope="node")
    with Scope([configured]) as first, Scope([configured]) as second:
        assert first.asset("a") is not second.asset("a")
    assert configured.obj is None  # the configured one is never initialized itself


def test_inner_scopes_see_outer_assets() -> None:
    with Scope([Recorded("r", scope="runner")]) as runner:
        with Scope([Recorded("p", depends=["r"])], runner) as process:
            assert process["p"][1] == {"r": ("r", {})}
            assert "r" in process
            assert process.ids() == ["p", "r"]
        assert "p" not in runner


# --- specifications -------------------------------------------------------------------


def test_dict_specs_make_assets_of_the_named_type() -> None:
    spec = {"id": "tmp", "type": "scratch_dir", "scope": "process", "params": {"prefix": "x-"}}
    asset = Asset.from_specification(spec)
    assert type(asset).type_name == "scratch_dir"
    assert asset.spec == AssetSpec("tmp", "scratch_dir", AssetScope.process, {"prefix": "x-"})
    assert pickle.loads(pickle.dumps(asset.spec)) == asset.spec


def test_yaml_specs(tmp_path: Path) -> None:
    from lazyarray.assets import load

    text = """
assets:
  tmp: {type: scratch_dir, scope: process}
  pool: {type: thread_pool, scope: runner, params: {threads: 2}}
  step: {type: scratch_dir, scope: node, depends: [tmp, pool]}
"""
    specs = load(text)
    assert [(s.id, s.scope.value) for s in specs] == [
        ("tmp", "process"),
        ("pool", "runner"),
        ("step", "node"),
    ]
    assert specs[2].depends == ("tmp", "pool")
    path = tmp_path / "assets.yaml"
    path.write_text(text)
    assert load(path) == specs == load(str(path))
    assert [a.id for a in AssetSet.of(path)] == ["tmp", "pool", "step"]
    listed = "- {id: tmp, type: scratch_dir, scope: process}\n"
    assert load(listed) == specs[:1]
    by_id = {"tmp": {"type": "scratch_dir", "scope": "process"}}
    assert [a.spec for a in AssetSet.of(by_id)] == specs[:1]
    assert [a.spec for a in AssetSet.of({"assets": [{"id": "tmp", **by_id["tmp"]}]})] == specs[:1]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"id": "a b", "type": "scratch_dir", "scope": "process"}, "identifier"),
        ({"id": "assets", "type": "scratch_dir", "scope": "process"}, "reserved"),
        ({"id": "a", "type": "my_pkg.mod.Thing", "scope": "process"}, "never imported"),
        ({"id": "a", "type": "scratch_dir", "scope": "forever"}, "scope"),
        ({"id": "a", "type": "scratch_dir", "scope": "node", "colour": 1}, "colour"),
        ({"id": "a", "scope": "node"}, "type"),
    ],
)
def test_bad_specs_are_refused_naming_the_problem(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(AssetSpecError, match=message):
        Asset.from_specification(spec)


def test_unknown_params_are_refused_when_the_assets_are_given() -> None:
    """Before anything runs: the type's declared params, or a wrapped target's keywords
    (its dependencies among them); a type that declares none, or takes ``**kwargs``,
    takes any."""
    bogus = {"id": "tmp", "type": "scratch_dir", "scope": "process", "params": {"bogus": 1}}
    with pytest.raises(
        AssetSpecError, match=r"'tmp'.*unknown param\(s\) bogus; it takes dir, prefix"
    ):
        AssetSet.of([bogus])
    with pytest.raises(AssetSpecError, match="unknown param"):
        la.arange(3).sum().compute(assets=[bogus], cache=False)
    with pytest.raises(AssetSpecError, match=r"unknown param.*treads"):
        AssetSet.of([{"id": "p", "type": "thread_pool", "scope": "runner",
                      "params": {"treads": 2}}])  # fmt: skip

    def pair(tmp: Any, size: int = 1) -> Any:
        return (tmp, size)

    Pair = Asset.wrap(pair, name="pair")
    assert Pair("ok", params={"size": 2}, depends=["tmp"]).params == {"size": 2}
    with pytest.raises(AssetSpecError, match=r"unknown param.*sise; it takes size, tmp"):
        Pair("p", params={"sise": 2})
    Loose = Asset.wrap(lambda **anything: anything, name="loose")
    assert Loose("l", params={"whatever": 1}).params == {"whatever": 1}
    assert Recorded("r", params={"anything": 1}).params == {"anything": 1}


def test_bad_yaml_is_a_spec_error() -> None:
    from lazyarray.assets import load

    with pytest.raises(AssetSpecError, match="YAML"):
        load("assets: [unclosed")
    with pytest.raises(AssetSpecError, match="list of specifications"):
        load("12")


def test_the_json_schema_names_the_fields() -> None:
    from lazyarray.assets.specification import json_schema

    schema = json_schema()
    assert set(schema["required"]) == {"id", "type", "scope"}
    assert "depends" in schema["properties"]


def test_an_unknown_type_lists_the_known_ones() -> None:
    with pytest.raises(AssetTypeNotFound, match=r"'nope'.*scratch_dir.*thread_pool"):
        Asset.from_specification({"id": "a", "type": "nope", "scope": "node"})


def test_a_missing_dependency() -> None:
    with pytest.raises(AssetDependencyError, match="'a' depends on 'ghost'"):
        AssetSet([Recorded("a", depends=["ghost"])])


def test_duplicate_ids() -> None:
    with pytest.raises(AssetDependencyError, match="two assets have the id 'a'"):
        AssetSet([Recorded("a"), Recorded("a")])


def test_a_cycle_is_named() -> None:
    with pytest.raises(AssetCycleError, match="a -> b -> c -> a"):
        AssetSet(
            [
                Recorded("a", depends=["b"]),
                Recorded("b", depends=["c"]),
                Recorded("c", depends=["a"]),
            ]
        )


@pytest.mark.parametrize(
    ("wide", "narrow"), [("runner", "node"), ("runner", "process"), ("process", "node")]
)
def test_a_wider_asset_cannot_depend_on_a_narrower_one(wide: str, narrow: str) -> None:
    with pytest.raises(AssetScopeError, match=f"'a' \\({wide} scope\\).*'b' \\({narrow}"):
        AssetSet([Recorded("a", scope=wide, depends=["b"]), Recorded("b", scope=narrow)])


def test_errors_share_a_base() -> None:
    for error in (AssetScopeError, AssetCycleError, AssetTypeNotFound, AssetSpecError):
        assert issubclass(error, AssetError)


# --- types by name: wrappers, registration, entry points ------------------------------


def test_a_wrapped_class_gets_params_and_dependencies() -> None:
    class Connection:
        def __init__(self, tmp: Path, url: str) -> None:
            self.tmp, self.url, self.closed = tmp, url, False

        def close(self) -> None:
            self.closed = True

    register_asset_type("connection", Connection)
    try:
        assets = AssetSet(
            [
                {"id": "tmp", "type": "scratch_dir", "scope": "process"},
                {"id": "db", "type": "connection", "scope": "process", "depends": ["tmp"],
                 "params": {"url": "sqlite://"}},
            ]
        )  # fmt: skip
        with Scope(assets) as scope:
            connection = scope["db"]
            assert connection.tmp == scope["tmp"]
            assert connection.url == "sqlite://"
        assert connection.closed
    finally:
        unregister_asset_type("connection")


def test_a_wrapped_generator_runs_to_its_yield_and_resumes_at_deinit() -> None:
    events = []

    @register_asset_type("session")
    def session(token: str = "t") -> Any:
        events.append("open")
        yield f"session {token}"
        events.append("close")

    try:
        with Scope([Asset.from_specification({"id": "s", "type": "session", "scope": "node"})]):
            assert get("s") == "session t"
            assert events == ["open"]
        assert events == ["open", "close"]
    finally:
        unregister_asset_type("session")


def test_a_wrapped_context_manager_is_entered_and_exited(tmp_path: Path) -> None:
    import tempfile

    Temporary = Asset.wrap(tempfile.TemporaryDirectory, "temporary")
    with Scope([Temporary("t", params={"dir": str(tmp_path)})]) as scope:
        made = Path(scope["t"])
        assert made.is_dir()
    assert not made.exists()


def test_scratch_dir_is_removed_with_its_contents() -> None:
    with Scope(
        [Asset.from_specification({"id": "tmp", "type": "scratch_dir", "scope": "node"})]
    ) as scope:
        folder = scope["tmp"]
        (folder / "sub").mkdir()
        (folder / "sub" / "file.bin").write_bytes(b"x")
    assert not folder.exists()


def test_thread_pool_is_shut_down() -> None:
    with Scope([Asset.from_specification({"id": "pool", "type": "thread_pool", "scope": "node",
                                          "params": {"threads": 2}})]) as scope:  # fmt: skip
        pool = scope["pool"]
        assert pool.submit(lambda: 41 + 1).result() == 42
        assert scope.provided("kernel_pool") is pool
    with pytest.raises(RuntimeError, match="shutdown"):
        pool.submit(lambda: 0)


class _Point:
    def __init__(self, name: str, value: str, loaded: Any) -> None:
        self.name, self.value, self.group = name, value, "lazyarray.assets"
        self._loaded = loaded

    def load(self) -> Any:
        return self._loaded


def test_types_from_the_entry_point_group(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    def counter(start: int = 0) -> list[int]:
        return [start]

    def entry_points(group: str) -> list[_Point]:
        assert group == "lazyarray.assets"
        return [_Point("counter", "fake_pkg:counter", counter),
                _Point("broken", "fake_pkg:missing", None)]  # fmt: skip

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    named_entry_points.cache_clear()
    try:
        assert "counter" in available_asset_types()
        kind = asset_type("counter")
        asset = Asset.from_specification(
            {"id": "c", "type": "counter", "scope": "runner", "params": {"start": 5}}
        )
        assert isinstance(asset, kind)
        asset.init()
        assert asset.obj == [5]
    finally:
        registry_module._registered.pop("counter", None)
        named_entry_points.cache_clear()


def test_an_entry_point_that_cannot_load(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    class Broken(_Point):
        def load(self) -> Any:
            raise ImportError("No module named 'fake_pkg'")

    monkeypatch.setattr(
        importlib.metadata, "entry_points", lambda group: [Broken("gone", "fake_pkg:X", None)]
    )
    named_entry_points.cache_clear()
    try:
        with pytest.raises(AssetTypeNotFound, match=r"'gone' is installed.*cannot load"):
            asset_type("gone")
    finally:
        named_entry_points.cache_clear()


def test_importing_lazyarray_assets_loads_no_optional_library() -> None:
    import subprocess
    import sys

    code = (
        "import sys, lazyarray.assets, lazyarray_numpy;"
        "print(sorted(m for m in ('pydantic', 'yaml', 'distributed') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
