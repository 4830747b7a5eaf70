"""The rows' signatures: the generic builder binds as Python and numpy do, every surface
is generated from the row, and the same request is one interned node however it is
spelled (normalizers are idempotent, defaults are left out)."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.errors import LazyArrayError, OpArgumentError, OpValueError
from lazyarray.graph import Node, toposort
from lazyarray.ops import OPS, apply
from tests.test_ops_structural import CASES, X


def _nodes() -> list[Node]:
    """Every node the structural cases build, and reductions and scans in every spelling."""
    x = la.Array(X)
    built = [case(la, x) for case in CASES.values()]
    built += [
        la.sum(x, axis=(0, 2), keepdims=True),
        la.std(x, 1, ddof=1),
        la.var(x, correction=2),
        la.argmax(x, axis=-1),
        la.cumulative_sum(x, axis=1, include_initial=True),
        la.cumprod(x, -1),
        la.tensordot(x, x, axes=((0, 1), (0, 1))),
    ]
    return [n for proxy in built for n in toposort([proxy.node]) if OPS[n.op].signature]


@pytest.mark.parametrize("node", _nodes(), ids=lambda n: n.op)
def test_a_node_rebuilt_from_its_attributes_is_itself(node: Node) -> None:
    assert apply(node.op, node.inputs, **node.kwargs) is node


@pytest.mark.parametrize("node", _nodes(), ids=lambda n: n.op)
def test_normalized_attributes_normalize_to_themselves(node: Node) -> None:
    row = OPS[node.op]
    assert row.signature is not None
    signature = next(
        s
        for s in (row.signature, row.numpy_signature)
        if s is not None and set(node.kwargs) <= {p.target for p in s.params}
    )
    by_target = {p.target: p.name for p in signature.params}
    values = {by_target[k]: v for k, v in node.kwargs.items()}
    assert signature.attributes(node.op, values, node.inputs) == dict(node.kwargs)


SAME_REQUEST = [
    (lambda x: la.flip(x, 0), lambda x: la.flip(x, axis=-3)),
    (lambda x: la.transpose(x), lambda x: la.permute_dims(x, (2, 1, 0))),
    (lambda x: x.transpose(2, 1, 0), lambda x: np.transpose(x)),
    (lambda x: la.sum(x, axis=(2, 0)), lambda x: x.sum((-1, 0), keepdims=False)),
    (lambda x: la.std(x, ddof=1), lambda x: la.std(x, correction=1)),
    (lambda x: la.std(x, ddof=0), lambda x: np.std(x)),
    (lambda x: la.concat([x, x]), lambda x: np.concatenate([x, x], 0)),
    (lambda x: la.stack([x, x], axis=-1), lambda x: la.stack([x, x], 3)),
    (lambda x: la.expand_dims(x, axis=-1), lambda x: np.expand_dims(x, 3)),
    (lambda x: la.cumsum(x, 1), lambda x: la.cumulative_sum(x, axis=1)),
]


@pytest.mark.parametrize(("first", "second"), SAME_REQUEST)
def test_one_request_is_one_node_however_spelled(first: Any, second: Any) -> None:
    x = la.Array(X)
    assert first(x).node is second(x).node


def test_signatures_are_inspectable_as_the_standard_writes_them() -> None:
    assert str(inspect.signature(la.flip)) == "(x, /, axis=None)"
    assert str(inspect.signature(la.concat)) == "(arrays, /, axis=0)"
    assert str(inspect.signature(la.cumulative_sum)) == (
        "(x, /, *, axis=None, dtype=None, include_initial=False)"
    )
    assert "correction" in inspect.signature(la.std).parameters
    assert la.linalg.matmul is not la.matmul or la.linalg.matmul.__name__ == "matmul"


BAD_CALLS = [
    (lambda x: la.flip(x, 0, 1), OpArgumentError, "takes 2 positional arguments but 3"),
    (lambda x: la.flip(x, bogus=1), OpArgumentError, "unexpected keyword argument 'bogus'"),
    (lambda x: la.flip(x, 0, axis=0), OpArgumentError, "multiple values for argument 'axis'"),
    (lambda x: la.std(x, ddof=1, correction=1), OpArgumentError, "both 'ddof' and 'correction'"),
    (lambda x: la.moveaxis(x, 0), OpArgumentError, "missing required argument: 'destination'"),
    (lambda x: la.cumulative_sum(x), OpValueError, "axis must be given"),
    (lambda x: la.concat([x, x], out=np.empty(3)), OpArgumentError, "unexpected keyword"),
    (lambda x: np.concatenate([x, x], out=np.empty(3)), LazyArrayError, "out= is not supported"),
]


@pytest.mark.parametrize(("call", "error", "message"), BAD_CALLS)
def test_bad_calls_fail_at_the_users_line(call: Any, error: type, message: str) -> None:
    with la.config.set(backend="refuse"), pytest.raises(error, match=message) as info:
        call(la.Array(X))
    assert "test_signatures.py" in str(info.value)


def test_the_standard_and_numpy_spellings_compute_alike(backend: str) -> None:
    x = la.Array(X)
    expected = np.concatenate([np.zeros((2, 1, 4)), np.cumsum(X, axis=1)], axis=1)
    got = la.cumulative_sum(x, axis=1, include_initial=True).compute(backend=backend)
    np.testing.assert_array_equal(got, expected)
    finite = la.Array(np.arange(24.0).reshape(2, 3, 4))
    assert np.std(finite.compute(), ddof=1) == la.std(finite, correction=1).compute(backend=backend)


# a call binds once per input types and plain arguments; then a call equal to it as a key
# but not as a request (True == 1, (True,) == (1,), 4.0 == 4) must bind anew
REMEMBERED_THEN_DIFFERENT = [
    (lambda x: la.sum(x, axis=(1,)), lambda x: la.sum(x, axis=(True,))),
    (lambda x: la.flip(x, (1,)), lambda x: la.flip(x, (True,))),
    (lambda x: la.reshape(x, (4, 6)), lambda x: la.reshape(x, (4.0, 6))),
    (lambda x: x.sum(axis=1), lambda x: x.sum(axis=1.0)),
    (lambda x: x.std(ddof=1), lambda x: x.std(ddof=True)),
    (lambda x: x.std(ddof=1), lambda x: x.std(ddof=1.0)),
    (lambda x: la.roll(x, 1), lambda x: la.roll(x, 1.0)),
]


@pytest.mark.parametrize(("first", "second"), REMEMBERED_THEN_DIFFERENT)
def test_a_remembered_call_is_not_served_for_an_equal_key(first: Any, second: Any) -> None:
    def outcome(call: Any) -> Any:
        try:
            return repr(call(la.Array(X)).node.attrs)  # repr: True is not 1 here
        except LazyArrayError as exc:
            return type(exc)

    alone = outcome(second)
    for _ in range(2):
        outcome(first)
    assert outcome(second) == alone
    assert outcome(first) != alone


def test_a_remembered_call_holds_for_its_input_types_only() -> None:
    x, y = la.Array(X), la.Array(X[0])
    assert x.sum(axis=2).shape == (2, 3)
    with pytest.raises(LazyArrayError, match="axis 2 is out of bounds"):
        y.sum(axis=2)
    with pytest.raises(LazyArrayError, match="axis 2 is out of bounds"):
        y.sum(axis=2)  # a failed call is never remembered
