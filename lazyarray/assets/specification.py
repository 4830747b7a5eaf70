"""``AssetSpecification``: asset specifications read from dicts and YAML (pydantic and
pyyaml, the ``assets`` extra), checked by the same rules as ``AssetSpec``.

A YAML file lists the assets, or maps ids to them::

    assets:
      tmp: {type: scratch_dir, scope: process}
      pool: {type: thread_pool, scope: runner, params: {threads: 4}}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from lazyarray.assets.core import AssetScope, AssetSpec, check_id, check_type_name
from lazyarray.errors import AssetSpecError


def _id(value: str) -> str:
    try:
        return check_id(value)
    except AssetSpecError as exc:
        raise ValueError(str(exc)) from None


def _type(value: str) -> str:
    try:
        return check_type_name(value)
    except AssetSpecError as exc:
        raise ValueError(str(exc)) from None


class AssetSpecification(BaseModel):
    """Specification for a single asset: what a YAML file or a dict gives."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    id: Annotated[str, AfterValidator(_id)] = Field(description="The unique identifier")
    type_: Annotated[str, AfterValidator(_type)] = Field(
        alias="type", description="The asset type's name (built in or an entry point)"
    )
    scope: AssetScope = Field(description="How long the asset lives: runner, process, node")
    params: dict[str, Any] | None = Field(default=None, description="Initialization params")
    depends: list[Annotated[str, AfterValidator(_id)]] | None = Field(
        default=None, description="Ids of the assets initialized before this one"
    )

    @classmethod
    def parse(cls, value: Any) -> AssetSpecification:
        """The specification in ``value`` (a dict); ``AssetSpecError`` names what is wrong."""
        if isinstance(value, AssetSpecification):
            return value
        try:
            return cls.model_validate(value)
        except ValidationError as exc:
            what = value.get("id", "?") if isinstance(value, Mapping) else "?"
            problems = "; ".join(
                f"{'.'.join(str(p) for p in error['loc']) or 'spec'}: {error['msg']}"
                for error in exc.errors()
            )
            raise AssetSpecError(f"asset specification {what!r} is not valid: {problems}") from None

    def to_spec(self) -> AssetSpec:
        return AssetSpec(
            self.id, self.type_, self.scope, self.params or {}, tuple(self.depends or ())
        )


def load(source: str | Path | Mapping[str, Any] | Sequence[Any]) -> list[AssetSpec]:
    """Specifications from YAML (text, or a ``.yaml``/``.yml`` path), a dict or a list.

    >>> [s.id for s in load("assets: [{id: tmp, type: scratch_dir, scope: process}]")]
    ['tmp']
    """
    if isinstance(source, Path) or (
        isinstance(source, str) and source.endswith((".yaml", ".yml")) and "\n" not in source
    ):
        source = Path(source).read_text(encoding="utf-8")
    if isinstance(source, str):
        import yaml

        try:
            source = yaml.safe_load(source)
        except yaml.YAMLError as exc:
            raise AssetSpecError(f"cannot read the assets' YAML: {exc}") from None
    if isinstance(source, Mapping) and set(source) == {"assets"}:
        source = source["assets"]
    if isinstance(source, Mapping) and not {"id", "type"} <= set(source):
        # ids mapped to their specifications
        source = [
            {"id": name, **spec} if isinstance(spec, Mapping) else spec
            for name, spec in source.items()
        ]
    if isinstance(source, Mapping):
        source = [source]
    if source is None:
        return []
    if not isinstance(source, Sequence) or isinstance(source, str):
        raise AssetSpecError(
            f"assets are a list of specifications or a mapping of ids to them, not {source!r}"
        )
    return [AssetSpecification.parse(item).to_spec() for item in source]


def json_schema() -> dict[str, Any]:
    """The JSON Schema of one specification (for editors and validators)."""
    return AssetSpecification.model_json_schema(by_alias=True)
