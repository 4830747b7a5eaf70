"""The standard's array object beyond operators: ``device``, ``to_device``,
``__array_namespace__``, DLPack export and the conversions to Python scalars."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.errors import ExportError, ImplicitComputeError, LazyArrayError
from lazyarray.proxy import BaseArray
from tests.cases import sample
from tests.conftest import assert_same

X = sample("float64", (3, 4))


def test_device_and_to_device(no_compute: None) -> None:
    x = la.asarray(X) * 2
    assert x.device == "cpu" and x.device == la.Device("cpu")
    assert la.MaskedArray(X, mask=X > 0).device == x.device == la.asarray(1.0).device
    moved = x.to_device(x.device)
    assert moved is not x and moved.node is x.node  # another handle on the same node
    assert x.to_device("cpu").node is x.node


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda x: x.to_device("gpu"), "Unsupported device 'gpu'"),
        (lambda x: x.to_device(None), "needs a device"),
        (lambda x: x.to_device("cpu", stream=1), "no streams"),
    ],
)
def test_to_device_refuses_what_it_cannot_do(call: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        call(la.zeros(2))
    assert isinstance(info.value, LazyArrayError)


def test_to_device_takes_the_stream_keyword_only() -> None:
    with pytest.raises(TypeError):
        la.zeros(2).to_device("cpu", None)  # type: ignore[call-arg]


@pytest.mark.parametrize("shape", [(3, 4), (), (0, 2)])
def test_dlpack_exports_the_computed_value(shape: tuple[int, ...], backend: str) -> None:
    data = sample("float64", shape) if shape else np.float64(2.5)
    x = la.asarray(data) * 2 + 1
    with la.config.set(backend=backend):
        exported = np.from_dlpack(x)
        versioned = np.from_dlpack(x, copy=True)
        capsule = x.__dlpack__(max_version=(1, 0))
    expected = np.asarray(data) * 2 + 1
    assert_same(exported, expected)
    assert_same(versioned, expected)
    assert "dltensor" in repr(capsule)


def test_dlpack_device_is_known_without_computing(no_compute: None) -> None:
    x = la.asarray(X).sum(axis=0)
    assert x.__dlpack_device__() == np.zeros(1).__dlpack_device__() == (1, 0)


def test_dlpack_computes_implicitly_as_numpy_conversion_does() -> None:
    x = la.asarray(X) + 1
    with la.config.set(implicit_compute="error"), pytest.raises(ImplicitComputeError):
        x.__dlpack__()


def test_dlpack_refuses_masked_arrays() -> None:
    x = la.MaskedArray(X, mask=X > 0)
    with pytest.raises(BufferError, match="carries no mask") as info:
        np.from_dlpack(x)
    assert isinstance(info.value, ExportError)
    assert_same(np.from_dlpack(x.filled(0.0)), np.ma.MaskedArray(X, mask=X > 0).filled(0.0))


def test_dlpack_passes_numpys_checks_through() -> None:
    with pytest.raises(BufferError):
        la.zeros(2).__dlpack__(dl_device=(2, 0))  # no CUDA: numpy refuses
    with pytest.raises(ValueError, match="no streams"):
        la.zeros(2).__dlpack__(stream=1)


def test_a_read_only_result_reaches_an_old_consumer_as_a_copy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A backend may hand back read-only memory; DLPack before 1.0 cannot say so."""
    frozen = np.arange(3.0)
    frozen.flags.writeable = False
    monkeypatch.setattr(BaseArray, "_implicit", lambda self, what: frozen)
    assert_same(np.from_dlpack(la.zeros(3)), frozen)
    la.zeros(3).__dlpack__()  # legacy: a copy is exported
    la.zeros(3).__dlpack__(max_version=(1, 0))  # versioned: exported read-only
    with pytest.raises(BufferError):
        la.zeros(3).__dlpack__(copy=False)


# --- conversions to Python scalars (the standard's special cases) -------------------------


@pytest.mark.parametrize(
    ("value", "convert", "expected"),
    [
        (0.0, bool, False),
        (-0.0, bool, False),
        (np.nan, bool, True),
        (-np.inf, bool, True),
        (1j, bool, True),
        (True, int, 1),
        (-0.0, int, 0),
        (-2.7, int, -2),
        (True, float, 1.0),
        (7, float, 7.0),
        (False, complex, 0j),
        (np.inf, complex, complex(np.inf, 0)),
        (np.int16(5), int, 5),
    ],
)
def test_scalar_conversions(value: Any, convert: type, expected: Any, backend: str) -> None:
    with la.config.set(backend=backend):
        result = convert(la.asarray(value))
    assert type(result) is convert and result == expected


@pytest.mark.parametrize(
    ("value", "convert", "error"),
    [
        (np.inf, int, OverflowError),
        (np.nan, int, ValueError),
        (1j, int, TypeError),
        (1 + 2j, float, TypeError),
        (2.5, lambda x: x.__index__(), TypeError),
    ],
)
def test_scalar_conversions_that_the_standard_refuses(
    value: Any, convert: Any, error: type
) -> None:
    with pytest.raises(error):
        convert(la.asarray(value))


def test_complex_arrays_are_refused_before_computing(no_compute: None) -> None:
    with pytest.raises(TypeError, match="not a complex array"):
        float(la.asarray(X) * 1j)


def test_copies_of_a_handle_are_independent_handles() -> None:
    x = la.asarray(X)
    for other in (copy.copy(x), copy.deepcopy(x), x.to_device("cpu")):
        other[0, 0] = 1.0
        assert x.node.op == "constant" and other.node is not x.node
