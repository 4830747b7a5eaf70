"""The array API standard's namespace (revision 2025.12): the version, dtype objects,
dtype functions, constants and ``__array_namespace_info__``. The expected answers are
the standard's own definitions (its dtype kinds, its promotion table within a kind),
written here as tables; where the standard leaves a case unspecified, numpy's."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.errors import LazyArrayError

NAMES = [
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float32",
    "float64",
    "complex64",
    "complex128",
]
SIGNED = ["int8", "int16", "int32", "int64"]
UNSIGNED = ["uint8", "uint16", "uint32", "uint64"]
REAL = ["float32", "float64"]
COMPLEX = ["complex64", "complex128"]
KINDS = {  # the standard's kinds, by their definitions
    "bool": ["bool"],
    "signed integer": SIGNED,
    "unsigned integer": UNSIGNED,
    "integral": SIGNED + UNSIGNED,
    "real floating": REAL,
    "complex floating": COMPLEX,
    "numeric": SIGNED + UNSIGNED + REAL + COMPLEX,
}


def test_lazyarray_is_the_namespace_of_its_arrays() -> None:
    x = la.zeros(3)
    assert la.__array_api_version__ == "2025.12"
    assert x.__array_namespace__() is la
    for version in ("2021.12", "2022.12", "2023.12", "2024.12", "2025.12"):
        assert x.__array_namespace__(api_version=version) is la
    for scalar in (la.asarray(1.0), la.MaskedArray([1.0], mask=[True])):
        assert scalar.__array_namespace__() is la


@pytest.mark.parametrize("version", ["2026.12", "2020.10", "latest", 2025.12])
def test_an_unknown_version_is_refused(version: Any) -> None:
    with pytest.raises(ValueError, match="is not supported") as info:
        la.zeros(2).__array_namespace__(api_version=version)
    assert isinstance(info.value, LazyArrayError)


@pytest.mark.parametrize("name", NAMES)
def test_dtype_objects_are_the_dtypes_of_arrays(name: str) -> None:
    dtype = getattr(la, name)
    numpy_dtype = np.dtype(name)
    x = la.zeros(2, dtype=dtype)
    assert x.dtype == dtype and dtype == numpy_dtype and numpy_dtype == dtype
    assert hash(x.dtype) == hash(dtype)
    assert {dtype: name}[x.dtype] == name
    assert x.compute().dtype == numpy_dtype
    assert np.zeros(2, dtype=dtype).dtype == numpy_dtype  # numpy takes them as dtype=
    assert la.asarray([1], dtype=dtype).dtype == dtype
    assert dtype != (la.float32 if name != "float32" else la.float64)


def test_the_dtype_names_leave_the_builtins_alone() -> None:
    assert la.bool is not bool and la.bool == np.bool_ and la.bool == np.dtype(bool)
    assert isinstance(True, bool)  # the builtin, unshadowed here and in lazyarray itself
    assert la.asarray([1, 0]).astype(la.bool).compute().tolist() == [True, False]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kind", [*KINDS, *NAMES])
def test_isdtype_follows_the_standards_kinds(name: str, kind: str) -> None:
    expected = name in KINDS[kind] if kind in KINDS else name == kind
    given = kind if kind in KINDS else getattr(la, kind)
    assert la.isdtype(getattr(la, name), given) is expected


def test_isdtype_takes_tuples_and_refuses_unknown_kinds() -> None:
    assert la.isdtype(la.int8, ("real floating", la.int8)) is True
    assert la.isdtype(np.dtype("float16"), "real floating")  # numpy's dtypes too
    assert la.isdtype(la.bool, ("numeric", "complex floating")) is False
    with pytest.raises(ValueError, match="not a known kind name"):
        la.isdtype(la.int8, "integer")
    with pytest.raises(TypeError, match="dtype"):
        la.isdtype("int8", "integral")


@pytest.mark.parametrize("name", REAL + COMPLEX)
def test_finfo_gives_python_numbers_of_the_real_part(name: str) -> None:
    for argument in (getattr(la, name), la.zeros(2, dtype=name)):
        info = la.finfo(argument)
        reference = np.finfo(name)
        assert info.bits == reference.bits and type(info.bits) is int
        for field in ("eps", "max", "min", "smallest_normal"):
            assert getattr(info, field) == float(getattr(reference, field))
            assert type(getattr(info, field)) is float
        assert info.dtype == reference.dtype and info.dtype in (la.float32, la.float64)


@pytest.mark.parametrize("name", SIGNED + UNSIGNED)
def test_iinfo_gives_python_integers(name: str) -> None:
    for argument in (getattr(la, name), la.zeros(2, dtype=name)):
        info = la.iinfo(argument)
        reference = np.iinfo(name)
        assert (info.bits, info.min, info.max) == (reference.bits, reference.min, reference.max)
        assert all(type(v) is int for v in (info.bits, info.min, info.max))
        assert info.dtype == getattr(la, name)


def test_finfo_and_iinfo_refuse_the_other_kind() -> None:
    with pytest.raises(ValueError, match="not inexact") as info:
        la.finfo(la.int32)
    assert isinstance(info.value, LazyArrayError)
    with pytest.raises(ValueError, match="Invalid integer data type"):
        la.iinfo(la.float32)
    with pytest.raises(TypeError, match="not understood"):
        la.finfo("no such dtype")


def _same_family_fits(source: str, target: str) -> bool:
    """The standard's casts within a family: the target's range holds the source's."""
    for family in (SIGNED + UNSIGNED, REAL, COMPLEX):
        if source in family and target in family:
            low, high = _range(source)
            wanted_low, wanted_high = _range(target)
            return wanted_low <= low and high <= wanted_high
    return False


def _range(name: str) -> tuple[float, float]:
    if name in REAL + COMPLEX:
        info = np.finfo(name)
        return float(info.min), float(info.max)
    integer = np.iinfo(name)
    return int(integer.min), int(integer.max)


@pytest.mark.parametrize("source", NAMES)
def test_can_cast_within_a_family_follows_the_standard(source: str) -> None:
    for target in NAMES:
        answer = la.can_cast(getattr(la, source), getattr(la, target))
        assert type(answer) is bool
        if source == target or _same_family_fits(source, target):
            assert answer, (source, target)
        else:  # across families the standard says nothing: numpy's 'safe' casting
            assert answer is np.can_cast(source, target)
    assert la.can_cast(la.zeros(2, dtype=source), getattr(la, source))


def test_can_cast_refuses_python_scalars() -> None:
    with pytest.raises(TypeError, match="dtype or an array"):
        la.can_cast(1, la.int8)


# the standard's promotion table within a kind, and numpy's answer across kinds
PROMOTIONS = [
    ((la.int8, la.uint8), la.int16),
    ((la.int32, la.uint32), la.int64),
    ((la.uint16, la.uint64), la.uint64),
    ((la.float32, la.float64), la.float64),
    ((la.float32, la.complex64), la.complex64),
    ((la.float64, la.complex64), la.complex128),
    ((la.bool, la.bool), la.bool),
    ((la.int64, la.uint64), la.float64),  # unspecified: numpy's
    ((la.int16,), la.int16),
]


@pytest.mark.parametrize(("inputs", "expected"), PROMOTIONS)
def test_result_type_of_dtypes_and_arrays(inputs: tuple[Any, ...], expected: Any) -> None:
    assert la.result_type(*inputs) == expected
    arrays = [la.zeros(1, dtype=d) for d in inputs]
    assert la.result_type(*arrays) == expected
    assert la.result_type(arrays[0], *inputs[1:]) == expected
    assert la.result_type(*inputs) == np.result_type(*[np.dtype(str(d)) for d in inputs])


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        ((la.int8, 1), la.int8),  # Python scalars are weak (2024.12)
        ((la.uint8, True), la.uint8),
        ((la.float32, 1.0), la.float32),
        ((la.float32, 1j), la.complex64),
        ((la.float64, 1, 2.5), la.float64),
        ((la.bool, True), la.bool),
        ((la.int16, 2.5), la.float64),  # unspecified: numpy's
    ],
)
def test_result_type_with_python_scalars(inputs: tuple[Any, ...], expected: Any) -> None:
    assert la.result_type(*inputs) == expected
    assert la.result_type(la.zeros(1, dtype=inputs[0]), *inputs[1:]) == expected


def test_result_type_needs_an_array_or_a_dtype() -> None:
    with pytest.raises(ValueError, match="at least one array or dtype"):
        la.result_type(1, 2.0)
    with pytest.raises(ValueError, match="at least one array or dtype"):
        la.result_type()


def test_constants() -> None:
    assert (la.e, la.pi) == (math.e, math.pi)
    assert la.inf == math.inf and math.isnan(la.nan) and la.newaxis is None
    assert la.zeros((2, 3))[:, la.newaxis].shape == (2, 1, 3)


def test_namespace_info() -> None:
    info = la.__array_namespace_info__()
    assert info.capabilities() == {
        "boolean indexing": True,
        "data-dependent shapes": True,
        "max dimensions": 64,
    }
    assert info.devices() == [la.Device("cpu")] and info.default_device() == "cpu"
    assert info.default_device() == la.zeros(1).device
    defaults = info.default_dtypes()
    assert defaults == {
        "real floating": la.float64,
        "complex floating": la.complex128,
        "integral": la.int64,
        "indexing": la.int64,
    }
    assert info.default_dtypes(device=info.default_device()) == defaults
    assert list(info.dtypes()) == NAMES
    assert all(info.dtypes()[name] == getattr(la, name) for name in NAMES)
    for kind, names in KINDS.items():
        assert sorted(info.dtypes(kind=kind)) == sorted(names)
        assert info.dtypes(kind=kind, device="cpu") == info.dtypes(kind=kind)
    both = info.dtypes(kind=("bool", "complex floating"))
    assert sorted(both) == ["bool", "complex128", "complex64"]


def test_the_info_refuses_unknown_devices_and_kinds() -> None:
    info = la.__array_namespace_info__()
    with pytest.raises(ValueError, match="Unsupported device"):
        info.dtypes(device="cuda:0")
    with pytest.raises(ValueError, match="Unsupported device"):
        info.default_dtypes(device="gpu")
    with pytest.raises(ValueError, match="not a known kind"):
        info.dtypes(kind="floating")
    with pytest.raises(ValueError, match="kinds are strings"):
        info.dtypes(kind=la.float64)


def test_device_objects() -> None:
    cpu = la.Device("cpu")
    assert cpu == "cpu" and cpu == la.Device() and hash(cpu) == hash("cpu")
    assert repr(cpu) == "Device('cpu')"
    assert np.zeros(2, device=cpu).device == cpu  # numpy takes it as its own device
    with pytest.raises(ValueError, match="Unsupported device 'gpu'"):
        la.Device("gpu")


@pytest.mark.parametrize("other", ["not a dtype", "format 1", object(), 3.5, (1, 2)])
def test_a_dtype_is_unequal_to_what_is_not_a_dtype(other: object) -> None:
    assert (la.float64 == other) is False
    assert (la.float64 != other) is True
